//! Passwordless sign-in with a mailed code (seed 001), and its meeting with TOTP.

use crate::both;
use crate::common::*;
use crate::mfa_support::*;
use chrono::Duration;
use serde_json::{json, Value};

async fn request(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/auth/otp/request", &json!({ "email": email })).await
}

async fn otp_login(app: &TestApp, email: &str, code: &str) -> reqwest::Response {
    app.post_json("/api/auth/otp/login", &json!({ "email": email, "code": code }))
        .await
}

/// Asks for a code and reads it from the `nth` mail.
async fn mailed_code(app: &TestApp, nth: usize) -> String {
    assert_eq!(request(app, EMAIL).await.status(), 202);
    app.mail_to(EMAIL, nth).await.six_digit_code().unwrap()
}

fn other_than(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

async fn a_mailed_code_signs_in_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified(EMAIL).await;
    let code = mailed_code(&app, 1).await;
    let r = otp_login(&app, EMAIL, &code).await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(amr(&tokens.access), ["email"]);
    assert_eq!(claims(&tokens.access)["mfa"], false);
    assert_eq!(app.me(&tokens.access).await.status(), 200);
    expect_problem(otp_login(&app, EMAIL, &code).await, 400, "invalid_code").await;
}

async fn unknown_addresses_get_the_same_answer_and_no_mail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified(EMAIL).await;
    let unknown = request(&app, "nobody@example.com").await;
    let known = request(&app, EMAIL).await;
    assert_eq!(unknown.status(), 202);
    assert_eq!(known.status(), 202);
    assert_eq!(unknown.text().await.unwrap(), known.text().await.unwrap());
    app.mail_to(EMAIL, 1).await;
    assert!(app.smtp.messages_to("nobody@example.com").is_empty());
    expect_problem(
        otp_login(&app, "nobody@example.com", "123456").await,
        400,
        "invalid_code",
    )
    .await;
}

async fn a_code_dies_after_ten_minutes_and_after_five_wrong_guesses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified(EMAIL).await;
    let code = mailed_code(&app, 1).await;
    app.advance(Duration::minutes(10) + Duration::seconds(1));
    expect_problem(otp_login(&app, EMAIL, &code).await, 400, "invalid_code").await;

    let code = mailed_code(&app, 2).await;
    for _ in 0..5 {
        expect_problem(otp_login(&app, EMAIL, other_than(&code)).await, 400, "invalid_code").await;
    }
    expect_problem(otp_login(&app, EMAIL, &code).await, 400, "invalid_code").await;
    let code = mailed_code(&app, 3).await;
    assert_eq!(otp_login(&app, EMAIL, &code).await.status(), 200);
}

async fn a_totp_user_still_needs_the_app_after_a_mailed_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    // Mails so far: verification, "two-step sign-in is on".
    let code = mailed_code(&app, 2).await;
    let r = otp_login(&app, EMAIL, &code).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body.get("access_token").is_none());
    assert_eq!(body["methods"], json!(["totp", "recovery"]));
    let mfa_token = body["mfa_token"].as_str().unwrap();
    let r = challenge(&app, mfa_token, None, &totp_now(&app, &user.secret)).await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(amr(&tokens.access), ["email", "otp", "mfa"]);
}

both!(
    a_mailed_code_signs_in_once,
    unknown_addresses_get_the_same_answer_and_no_mail,
    a_code_dies_after_ten_minutes_and_after_five_wrong_guesses,
    a_totp_user_still_needs_the_app_after_a_mailed_code,
);
