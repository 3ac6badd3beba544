//! The welcome mail (seed 001): once per account, when its address is first confirmed.

use crate::both;
use crate::common::{expect_problem, reset_token, verification_token, Backend, TestApp, PASSWORD};
use serde_json::json;

const EMAIL: &str = "nadia@example.com";

async fn spawn(backend: Backend, welcome_mail: bool) -> TestApp {
    TestApp::spawn_configured(backend, move |c| c.welcome_mail = welcome_mail).await
}

/// Asks for a reset link and returns how many mails the address has had once it arrived: the
/// outbox sends oldest first, so every mail queued before it has been delivered by then.
async fn mails_after_a_reset_request(app: &TestApp, nth: usize) -> usize {
    let r = app
        .post_json("/api/auth/forgot-password", &json!({ "email": EMAIL }))
        .await;
    assert_eq!(r.status(), 202);
    let reset = app.mail_to(EMAIL, nth).await;
    assert!(reset.subject.contains("password"), "mail {nth} is {:?}", reset.subject);
    app.smtp.messages_to(EMAIL).len()
}

async fn the_link_welcomes_once_and_nothing_else_does(backend: Backend) {
    let app = spawn(backend, true).await;
    let verification = app.register_pending(EMAIL).await;
    let token = verification_token(&verification);
    let code = verification.six_digit_code().unwrap();
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);
    let welcome = app.mail_to(EMAIL, 1).await;
    assert_eq!(welcome.subject, "Welcome to gatehouse");
    assert!(welcome.text.contains(EMAIL) && welcome.html.as_deref().unwrap().contains("Rahim"));
    // A second confirmation (the link again, the code) and a login welcome nobody.
    expect_problem(
        app.post_json("/api/auth/verify-email", &json!({ "token": token }))
            .await,
        400,
        "token_used",
    )
    .await;
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "email": EMAIL, "code": code }))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(app.login(EMAIL, PASSWORD).await.status(), 200);
    assert_eq!(
        mails_after_a_reset_request(&app, 2).await,
        3,
        "verification, welcome, reset"
    );
}

async fn the_code_welcomes_too(backend: Backend) {
    let app = spawn(backend, true).await;
    let code = app.register_pending(EMAIL).await.six_digit_code().unwrap();
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "email": EMAIL, "code": code }))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.mail_to(EMAIL, 1).await.subject, "Welcome to gatehouse");
}

async fn a_reset_that_confirms_the_address_welcomes(backend: Backend) {
    let app = spawn(backend, true).await;
    app.register_pending(EMAIL).await;
    let r = app
        .post_json("/api/auth/forgot-password", &json!({ "email": EMAIL }))
        .await;
    assert_eq!(r.status(), 202);
    let token = reset_token(&app.mail_to(EMAIL, 1).await);
    let r = app
        .post_json(
            "/api/auth/reset-password",
            &json!({ "token": token, "new_password": "violet tractor sings opera" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    // The reset proved the address, which the verification mail had not: welcome.
    assert_eq!(app.mail_to(EMAIL, 2).await.subject, "Welcome to gatehouse");
}

async fn welcome_mail_false_sends_none(backend: Backend) {
    let app = spawn(backend, false).await;
    app.register_verified(EMAIL).await;
    assert_eq!(mails_after_a_reset_request(&app, 1).await, 2, "verification, reset");
}

both!(
    the_link_welcomes_once_and_nothing_else_does,
    the_code_welcomes_too,
    a_reset_that_confirms_the_address_welcomes,
    welcome_mail_false_sends_none,
);
