//! Email verification: the mailed link (`link`), the mailed code (`code`), asking for a new mail
//! (`resend`) and the HTML page the link opens (`page`). Here: what a pending account can do,
//! and malformed verification requests.

mod code;
mod link;
mod page;
mod resend;

use crate::both;
use crate::common::*;
use serde_json::json;

pub(crate) async fn verify_token(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/auth/verify-email", &json!({ "token": token }))
        .await
}

pub(crate) async fn verify_code(app: &TestApp, email: &str, code: &str) -> reqwest::Response {
    app.post_json("/api/auth/verify-email", &json!({ "email": email, "code": code }))
        .await
}

/// The 6-digit code of a verification mail.
pub(crate) fn code_of(mail: &smtp::CapturedMail) -> String {
    mail.six_digit_code()
        .unwrap_or_else(|| panic!("no 6-digit code in {}", mail.text))
}

/// A well-formed code that is not `code`.
pub(crate) fn wrong_code(code: &str, offset: u32) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + offset) % 1_000_000)
}

/// Asserts that `email` (password [`PASSWORD`]) can sign in now.
pub(crate) async fn can_sign_in(app: &TestApp, email: &str) {
    let r = app.login(email, PASSWORD).await;
    assert_eq!(r.status(), 200, "{email} cannot sign in: {}", r.text().await.unwrap());
}

/// Asserts that `email` is still pending verification.
pub(crate) async fn still_pending(app: &TestApp, email: &str) {
    expect_problem(app.login(email, PASSWORD).await, 403, "email_not_verified").await;
}

async fn pending_account_learns_it_is_unverified_only_with_the_right_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_pending("rahim@example.com").await;
    let problem = expect_problem(
        app.login("rahim@example.com", PASSWORD).await,
        403,
        "email_not_verified",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("resend-verification"),
        "{problem}"
    );
    let wrong = expect_problem(
        app.login("rahim@example.com", "not the password at all").await,
        401,
        "invalid_credentials",
    )
    .await;
    let unknown = expect_problem(
        app.login("nobody@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong, unknown, "a wrong password must look like an unknown account");
}

async fn verification_needs_a_token_or_an_email_and_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let problem = expect_problem(
        app.post_json("/api/auth/verify-email", &json!({})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        field_errors(&problem),
        vec![("token".to_string(), "required".to_string())]
    );
    let problem = expect_problem(
        app.post_json("/api/auth/verify-email", &json!({ "code": "123456" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        field_errors(&problem),
        vec![("email".to_string(), "required".to_string())]
    );
}

async fn code_that_is_not_six_digits_is_refused_as_malformed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_pending("rahim@example.com").await;
    for code in ["12345", "1234567", "12a456", "", "١٢٣٤٥٦"] {
        let problem = expect_problem(
            verify_code(&app, "rahim@example.com", code).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(
            field_errors(&problem),
            vec![("code".to_string(), "invalid_format".to_string())],
            "for {code:?}"
        );
    }
    still_pending(&app, "rahim@example.com").await;
}

both!(
    pending_account_learns_it_is_unverified_only_with_the_right_password,
    verification_needs_a_token_or_an_email_and_code,
    code_that_is_not_six_digits_is_refused_as_malformed,
);
