//! Forgot → mail → reset → login, and the rules around it (issue: password management).

use crate::both;
use crate::common::*;
use chrono::Duration;
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "purple elephant dances quietly";

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/auth/forgot-password", &json!({ "email": email }))
        .await
}

/// Asks for a reset and returns the token from the mail (the nth mail to `email`).
pub(crate) async fn reset_mail_token(app: &TestApp, email: &str) -> String {
    let before = app.smtp.messages_to(email).len();
    assert_eq!(forgot(app, email).await.status(), 202);
    let mail = app.mail_to(email, before).await;
    assert!(mail.subject.contains("Reset"), "subject: {}", mail.subject);
    reset_token(&mail)
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/auth/reset-password",
        &json!({ "token": token, "new_password": password }),
    )
    .await
}

async fn full_forgot_reset_login_path_over_smtp(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let old = app.signed_in("rahim@example.com").await;
    let token = reset_mail_token(&app, "rahim@example.com").await;
    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 200);

    // The owner is told, the old password is dead, the new one works.
    let notice = app.mail_to("rahim@example.com", 2).await;
    assert!(
        notice.subject.contains("password was changed"),
        "subject: {}",
        notice.subject
    );
    expect_problem(
        app.login("rahim@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(app.login("rahim@example.com", NEW_PASSWORD).await.status(), 200);

    // Every earlier session ended: refresh and access tokens of before are refused.
    expect_problem(app.refresh(&old.refresh).await, 401, "session_revoked").await;
    expect_problem(app.me(&old.access).await, 401, "session_revoked").await;
}

async fn reset_token_is_single_use(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let token = reset_mail_token(&app, "rahim@example.com").await;
    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 200);
    expect_problem(
        reset(&app, &token, "another fine passphrase here").await,
        400,
        "token_used",
    )
    .await;
    assert_eq!(app.login("rahim@example.com", NEW_PASSWORD).await.status(), 200);
}

async fn reset_token_expires_after_fifteen_minutes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let token = reset_mail_token(&app, "rahim@example.com").await;
    app.advance(Duration::minutes(15) + Duration::seconds(1));
    expect_problem(reset(&app, &token, NEW_PASSWORD).await, 400, "token_expired").await;
    assert_eq!(app.login("rahim@example.com", PASSWORD).await.status(), 200);
}

async fn reset_token_works_just_before_expiry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let token = reset_mail_token(&app, "rahim@example.com").await;
    app.advance(Duration::minutes(14));
    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 200);
}

async fn unknown_reset_token_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    expect_problem(
        reset(&app, "not-a-real-token", NEW_PASSWORD).await,
        400,
        "invalid_token",
    )
    .await;
}

async fn a_second_request_invalidates_the_first_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let first = reset_mail_token(&app, "rahim@example.com").await;
    let second = reset_mail_token(&app, "rahim@example.com").await;
    assert_ne!(first, second);
    expect_problem(reset(&app, &first, NEW_PASSWORD).await, 400, "token_revoked").await;
    assert_eq!(reset(&app, &second, NEW_PASSWORD).await.status(), 200);
}

async fn forgot_password_answers_the_same_for_unknown_unverified_and_known(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("known@example.com").await;
    app.register_pending("pending@example.com").await;
    let mut answers = Vec::new();
    for email in ["known@example.com", "pending@example.com", "nobody@example.com"] {
        let r = forgot(&app, email).await;
        answers.push((r.status().as_u16(), r.json::<Value>().await.unwrap()));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "answers differ: {answers:?}");
    // Real accounts, verified or not, get the mail; nobody gets nothing.
    app.mail_to("known@example.com", 1).await;
    app.mail_to("pending@example.com", 1).await;
    assert!(app.smtp.messages_to("nobody@example.com").is_empty());
}

async fn reset_links_ignore_the_host_header(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let r = app
        .send(
            app.client
                .post(app.url("/api/auth/forgot-password"))
                .header("host", "evil.example")
                .header("x-forwarded-host", "evil.example")
                .json(&json!({ "email": "rahim@example.com" })),
        )
        .await;
    assert_eq!(r.status(), 202);
    let mail = app.mail_to("rahim@example.com", 1).await;
    assert!(!mail.text.contains("evil.example") && !mail.html.as_deref().unwrap_or("").contains("evil.example"));
    assert!(
        mail.link_starting_with(&format!("{PUBLIC_URL}/reset-password?token="))
            .is_some(),
        "{}",
        mail.text
    );
}

async fn reset_applies_the_password_policy_and_keeps_the_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let token = reset_mail_token(&app, "rahim@example.com").await;
    let body = expect_problem(reset(&app, &token, "short1").await, 422, "validation_failed").await;
    assert_eq!(
        field_errors(&body),
        vec![("new_password".to_string(), "too_short".to_string())]
    );
    let body = expect_problem(reset(&app, &token, "password123").await, 422, "validation_failed").await;
    assert_eq!(
        field_errors(&body),
        vec![("new_password".to_string(), "common_password".to_string())]
    );
    // A refused password does not spend the link.
    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 200);
}

async fn reset_verifies_a_pending_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_pending("pending@example.com").await;
    let token = reset_mail_token(&app, "pending@example.com").await;
    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 200);
    assert_eq!(app.login("pending@example.com", NEW_PASSWORD).await.status(), 200);
}

async fn reset_is_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let me: Value = app.me(&tokens.access).await.json().await.unwrap();
    let token = reset_mail_token(&app, "rahim@example.com").await;
    assert_eq!(reset(&app, &token, NEW_PASSWORD).await.status(), 200);
    let user_id = uuid::Uuid::parse_str(me["id"].as_str().unwrap()).unwrap();
    let events = app.state.store.audit().for_user(user_id, 50).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert!(types.contains(&"password_reset_requested"), "{types:?}");
    assert!(types.contains(&"password_reset"), "{types:?}");
    assert!(
        events.iter().all(|e| !e.details.contains(&token)),
        "a token leaked into the audit log"
    );
}

async fn the_reset_page_shows_a_form_without_spending_the_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let token = reset_mail_token(&app, "rahim@example.com").await;
    let page = app.get(&format!("/reset-password?token={token}")).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"new_password\""), "{html}");
    let r = app
        .send(
            app.client
                .post(app.url("/reset-password"))
                .form(&[("token", token.as_str()), ("new_password", NEW_PASSWORD)]),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.login("rahim@example.com", NEW_PASSWORD).await.status(), 200);
}

both!(
    full_forgot_reset_login_path_over_smtp,
    reset_token_is_single_use,
    reset_token_expires_after_fifteen_minutes,
    reset_token_works_just_before_expiry,
    unknown_reset_token_is_refused,
    a_second_request_invalidates_the_first_link,
    forgot_password_answers_the_same_for_unknown_unverified_and_known,
    reset_links_ignore_the_host_header,
    reset_applies_the_password_policy_and_keeps_the_token,
    reset_verifies_a_pending_email,
    reset_is_audited,
    the_reset_page_shows_a_form_without_spending_the_token,
);
