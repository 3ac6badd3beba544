//! The README walk-through, end to end: register → mail → verify → login → me → refresh → logout.

use crate::both;
use crate::common::*;
use serde_json::json;

async fn register_verify_login_me_refresh_logout(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mail = app.register_pending("rahim@example.com").await;
    assert!(mail.subject.contains("Confirm your email"), "subject: {}", mail.subject);
    let token = verification_token(&mail);

    // Pending accounts cannot log in, but only a correct password learns that.
    expect_problem(
        app.login("rahim@example.com", PASSWORD).await,
        403,
        "email_not_verified",
    )
    .await;
    expect_problem(
        app.login("rahim@example.com", "wrong password entirely").await,
        401,
        "invalid_credentials",
    )
    .await;

    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);

    let r = app.login("rahim@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<serde_json::Value>().await.unwrap());
    assert_eq!(tokens.body["token_type"], "Bearer");
    assert_eq!(tokens.body["expires_in"], 900);

    let me: serde_json::Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(me["email"], "rahim@example.com");
    assert_eq!(me["mobile"], "+8801712345678");
    assert_eq!(me["is_email_verified"], true);
    assert!(me["last_login"].is_string());

    let r = app.refresh(&tokens.refresh).await;
    assert_eq!(r.status(), 200);
    let fresh = Tokens::from(r.json::<serde_json::Value>().await.unwrap());
    assert_ne!(fresh.refresh, tokens.refresh);
    assert_eq!(app.me(&fresh.access).await.status(), 200);

    let r = app.post_json_auth("/api/auth/logout", &fresh.access, &json!({})).await;
    assert_eq!(r.status(), 204);
    expect_problem(app.me(&fresh.access).await, 401, "session_revoked").await;
    expect_problem(app.refresh(&fresh.refresh).await, 401, "session_revoked").await;
}

both!(register_verify_login_me_refresh_logout);
