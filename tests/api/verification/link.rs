//! The link token in the verification mail (valid 24 hours, single use).

use super::{can_sign_in, still_pending, verify_token};
use crate::both;
use crate::common::*;
use chrono::Duration;
use serde_json::Value;

async fn link_confirms_the_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = verification_token(&app.register_pending("rahim@example.com").await);
    let r = verify_token(&app, &token).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("confirmed"), "{body}");
    can_sign_in(&app, "rahim@example.com").await;
}

async fn link_works_only_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = verification_token(&app.register_pending("rahim@example.com").await);
    assert_eq!(verify_token(&app, &token).await.status(), 200);
    expect_problem(verify_token(&app, &token).await, 400, "token_used").await;
    can_sign_in(&app, "rahim@example.com").await;
}

async fn unknown_link_token_is_invalid(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = verification_token(&app.register_pending("rahim@example.com").await);
    let mut tampered: Vec<char> = token.chars().collect();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    for bad in [tampered.as_str(), "not-a-token", &token[..token.len() - 1], "x"] {
        expect_problem(verify_token(&app, bad).await, 400, "invalid_token").await;
    }
    still_pending(&app, "rahim@example.com").await;
}

async fn link_expires_after_24_hours(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = verification_token(&app.register_pending("rahim@example.com").await);
    app.advance(Duration::hours(24) + Duration::seconds(1));
    let problem = expect_problem(verify_token(&app, &token).await, 400, "token_expired").await;
    assert!(problem["detail"].as_str().unwrap().contains("expired"), "{problem}");
    still_pending(&app, "rahim@example.com").await;
}

async fn link_still_works_just_before_it_expires(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = verification_token(&app.register_pending("rahim@example.com").await);
    app.advance(Duration::hours(24) - Duration::seconds(1));
    assert_eq!(verify_token(&app, &token).await.status(), 200);
    can_sign_in(&app, "rahim@example.com").await;
}

async fn link_lifetime_follows_the_setting(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |cfg| cfg.verification_link_ttl = Duration::hours(2)).await;
    let mail = app.register_pending("rahim@example.com").await;
    assert!(mail.text.contains("valid for 2 hours"), "{}", mail.text);
    app.advance(Duration::hours(2) + Duration::seconds(1));
    expect_problem(
        verify_token(&app, &verification_token(&mail)).await,
        400,
        "token_expired",
    )
    .await;
}

both!(
    link_confirms_the_address,
    link_works_only_once,
    unknown_link_token_is_invalid,
    link_expires_after_24_hours,
    link_still_works_just_before_it_expires,
    link_lifetime_follows_the_setting,
);
