//! POST /api/auth/resend-verification: a new mail for a pending account, and an answer that
//! does not tell whether an address has an account.

use super::{can_sign_in, code_of, still_pending, verify_code, verify_token};
use crate::both;
use crate::common::*;
use serde_json::{json, Value};

async fn resend(app: &TestApp, email: &str) -> (u16, Value) {
    let r = app
        .post_json("/api/auth/resend-verification", &json!({ "email": email }))
        .await;
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn resend_answers_the_same_for_unknown_verified_and_pending_addresses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("verified@example.com").await;
    app.register_pending("pending@example.com").await;
    let unknown = resend(&app, "unknown@example.com").await;
    assert_eq!(unknown.0, 202);
    assert_eq!(resend(&app, "verified@example.com").await, unknown);
    assert_eq!(resend(&app, "pending@example.com").await, unknown);
}

async fn resend_mails_a_new_link_and_code_and_revokes_the_old_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let old = app.register_pending("rahim@example.com").await;
    assert_eq!(resend(&app, "Rahim@Example.com").await.0, 202);
    let new = app.mail_to("rahim@example.com", 1).await;
    assert!(new.subject.contains("Confirm your email"), "subject: {}", new.subject);
    let (old_token, new_token) = (verification_token(&old), verification_token(&new));
    assert_ne!(old_token, new_token);

    expect_problem(verify_token(&app, &old_token).await, 400, "token_revoked").await;
    if code_of(&old) != code_of(&new) {
        expect_problem(
            verify_code(&app, "rahim@example.com", &code_of(&old)).await,
            400,
            "invalid_code",
        )
        .await;
    }
    still_pending(&app, "rahim@example.com").await;
    assert_eq!(verify_token(&app, &new_token).await.status(), 200);
    can_sign_in(&app, "rahim@example.com").await;
}

async fn resend_to_an_unknown_or_verified_address_sends_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("verified@example.com").await;
    app.register_pending("pending@example.com").await;
    resend(&app, "verified@example.com").await;
    resend(&app, "unknown@example.com").await;
    // Resending runs off the request. A mail the two requests above queued would be queued
    // before the pending account's first resend finishes, so, one (clock) second later than
    // that, before its second; the outbox delivers oldest first, so by the time the second
    // arrives any such mail would have arrived too.
    resend(&app, "pending@example.com").await;
    app.mail_to("pending@example.com", 1).await;
    app.advance(chrono::Duration::seconds(1));
    resend(&app, "pending@example.com").await;
    app.mail_to("pending@example.com", 2).await;
    assert_eq!(app.smtp.messages_to("verified@example.com").len(), 1);
    assert!(app.smtp.messages_to("unknown@example.com").is_empty());
    // The verified account is unaffected.
    can_sign_in(&app, "verified@example.com").await;
}

async fn resend_needs_a_well_formed_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (body, code) in [
        (json!({}), "required"),
        (json!({ "email": "" }), "required"),
        (json!({ "email": "not-an-email" }), "invalid_format"),
    ] {
        let r = app.post_json("/api/auth/resend-verification", &body).await;
        let problem = expect_problem(r, 422, "validation_failed").await;
        assert_eq!(field_errors(&problem), vec![("email".to_string(), code.to_string())]);
    }
}

both!(
    resend_answers_the_same_for_unknown_verified_and_pending_addresses,
    resend_mails_a_new_link_and_code_and_revokes_the_old_ones,
    resend_to_an_unknown_or_verified_address_sends_nothing,
    resend_needs_a_well_formed_email,
);
