//! Registering an address or username that already has an account.

use super::{accepted, with};
use crate::both;
use crate::common::*;
use serde_json::{json, Value};

const OTHER_PASSWORD: &str = "second unrelated passphrase here";

async fn status_and_body(app: &TestApp, body: &Value) -> (u16, Value) {
    let r = app.register(body).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn accounts_with_email(app: &TestApp, canonical: &str) -> i64 {
    app.sql_count("SELECT COUNT(*) FROM users WHERE email_canonical = $1", canonical)
        .await
}

async fn duplicate_email_is_answered_exactly_like_a_new_registration(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = status_and_body(&app, &registration("rahim@example.com")).await;
    assert_eq!(first.0, 201);
    let again = status_and_body(&app, &registration("rahim@example.com")).await;
    assert_eq!(again, first);
    // Also once the first account is verified, and with other details.
    let token = verification_token(&app.mail_to("rahim@example.com", 0).await);
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);
    let mut other = with("rahim@example.com", "password", OTHER_PASSWORD);
    other["first_name"] = json!("Karim");
    assert_eq!(status_and_body(&app, &other).await, first);
}

async fn duplicate_email_creates_no_second_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let mut other = with("rahim@example.com", "password", OTHER_PASSWORD);
    other["first_name"] = json!("Karim");
    accepted(&app, &other).await;

    assert_eq!(accounts_with_email(&app, "rahim@example.com").await, 1);
    expect_problem(
        app.login("rahim@example.com", OTHER_PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    let r = app.login("rahim@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    let me: Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(me["first_name"], "Rahim", "the account was not overwritten");
}

async fn duplicate_email_owner_is_told_someone_tried_to_sign_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    accepted(&app, &registration("rahim@example.com")).await;
    let mail = app.mail_to("rahim@example.com", 1).await;
    assert!(mail.subject.contains("tried to sign up"), "subject: {}", mail.subject);
    assert!(mail.text.contains("account already exists"), "{}", mail.text);
    assert!(
        mail.link_starting_with(&format!("{PUBLIC_URL}/verify-email")).is_none(),
        "an account-exists mail must not carry a verification link: {}",
        mail.text
    );
    assert!(mail.six_digit_code().is_none(), "nor a code: {}", mail.text);
    assert_eq!(app.smtp.messages_to("rahim@example.com").len(), 2);
}

async fn email_differing_only_in_case_is_the_same_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let (status, _) = status_and_body(&app, &with("x@example.com", "email", "RAHIM@Example.COM")).await;
    assert_eq!(status, 201);
    let mail = app.mail_to("rahim@example.com", 1).await;
    assert!(mail.subject.contains("tried to sign up"), "subject: {}", mail.subject);
    assert_eq!(accounts_with_email(&app, "rahim@example.com").await, 1);
    // Signing in ignores case too.
    assert_eq!(app.login("RAHIM@example.com", PASSWORD).await.status(), 200);
}

async fn taken_username_is_refused_with_username_taken(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    accepted(&app, &with("rahim@example.com", "username", "rahim_u")).await;
    for taken in ["rahim_u", "Rahim_U", " RAHIM_U "] {
        let problem = expect_problem(
            app.register(&with("karim@example.com", "username", taken)).await,
            409,
            "username_taken",
        )
        .await;
        assert_eq!(
            field_errors(&problem),
            vec![("username".to_string(), "username_taken".to_string())]
        );
    }
    assert_eq!(accounts_with_email(&app, "karim@example.com").await, 0);
    assert!(app.smtp.messages_to("karim@example.com").is_empty());
    accepted(&app, &with("karim@example.com", "username", "karim_u")).await;
}

both!(
    duplicate_email_is_answered_exactly_like_a_new_registration,
    duplicate_email_creates_no_second_account,
    duplicate_email_owner_is_told_someone_tried_to_sign_up,
    email_differing_only_in_case_is_the_same_account,
    taken_username_is_refused_with_username_taken,
);
