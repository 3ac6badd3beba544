//! Helpers shared by the MFA tests: real TOTP codes computed from the secret gatehouse returned,
//! at the injected clock's time, and the steps of enrolling and signing in.

use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse::clock::Clock;
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};

pub const EMAIL: &str = "rahim@example.com";

/// The 6-digit code an authenticator app shows for `secret` (base32) at `unix` seconds.
pub fn totp_at(secret: &str, unix: i64) -> String {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().unwrap();
    let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, Some("test".into()), "user".into()).unwrap();
    totp.generate(unix as u64)
}

/// The code for the server's current (injected) time.
pub fn totp_now(app: &TestApp, secret: &str) -> String {
    totp_at(secret, app.clock.now().timestamp())
}

/// A code that is wrong now (differs from every code in the ±1 step window).
pub fn wrong_totp(app: &TestApp, secret: &str) -> String {
    let now = app.clock.now().timestamp();
    let valid: Vec<String> = [-30, 0, 30].iter().map(|d| totp_at(secret, now + d)).collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !valid.contains(c))
        .unwrap()
}

/// Moves the clock to the next 30-second step, so a fresh TOTP code is not a replay.
pub fn next_step(app: &TestApp) {
    app.advance(chrono::Duration::seconds(30));
}

pub async fn enable(app: &TestApp, access: &str, method: &str) -> reqwest::Response {
    app.post_json_auth("/api/auth/mfa/enable", access, &json!({ "method": method }))
        .await
}

pub async fn verify(app: &TestApp, access: &str, method: &str, code: &str) -> reqwest::Response {
    app.post_json_auth(
        "/api/auth/mfa/verify",
        access,
        &json!({ "method": method, "code": code }),
    )
    .await
}

pub struct TotpUser {
    pub tokens: Tokens,
    pub secret: String,
    pub recovery_codes: Vec<String>,
}

/// Registers, signs in and enrols a TOTP app; the clock is then moved one step on.
pub async fn totp_user(app: &TestApp) -> TotpUser {
    let tokens = app.signed_in(EMAIL).await;
    let r = enable(app, &tokens.access, "totp").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap().to_string();
    let r = verify(app, &tokens.access, "totp", &totp_now(app, &secret)).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let recovery_codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    // Mails: verification, then "two-step sign-in is on" (waited for, so later counts are stable).
    assert!(app.mail_to(EMAIL, 1).await.subject.contains("Two-step sign-in is on"));
    next_step(app);
    TotpUser {
        tokens,
        secret,
        recovery_codes,
    }
}

/// Registers, signs in and enrols email codes; returns the session's tokens.
pub async fn email_user(app: &TestApp) -> Tokens {
    let tokens = app.signed_in(EMAIL).await;
    let before = app.smtp.messages_to(EMAIL).len();
    assert_eq!(enable(app, &tokens.access, "email").await.status(), 200);
    let code = app.mail_to(EMAIL, before).await.six_digit_code().unwrap();
    assert_eq!(verify(app, &tokens.access, "email", &code).await.status(), 200);
    assert!(app
        .mail_to(EMAIL, before + 1)
        .await
        .subject
        .contains("Two-step sign-in is on"));
    tokens
}

/// Logs in with the password and returns the `mfa_token` (asserting no tokens came back).
pub async fn password_step(app: &TestApp) -> (String, Value) {
    let r = app.login(EMAIL, PASSWORD).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(
        body.get("access_token").is_none(),
        "tokens before the second factor: {body}"
    );
    assert!(
        body.get("refresh_token").is_none(),
        "tokens before the second factor: {body}"
    );
    (body["mfa_token"].as_str().unwrap().to_string(), body)
}

pub async fn challenge(app: &TestApp, mfa_token: &str, method: Option<&str>, code: &str) -> reqwest::Response {
    let mut body = json!({ "mfa_token": mfa_token, "code": code });
    if let Some(m) = method {
        body["method"] = json!(m);
    }
    app.post_json("/api/auth/mfa/challenge", &body).await
}

pub async fn step_up(app: &TestApp, access: &str, method: &str, code: &str) -> reqwest::Response {
    app.post_json_auth(
        "/api/auth/mfa/step-up",
        access,
        &json!({ "method": method, "code": code }),
    )
    .await
}

pub async fn change_password(app: &TestApp, access: &str, new: &str) -> reqwest::Response {
    app.send(
        app.client
            .put(app.url("/api/auth/change-password"))
            .bearer_auth(access)
            .json(&json!({ "current_password": PASSWORD, "new_password": new })),
    )
    .await
}

/// The claims of an access token (signature is checked by the server, not here).
pub fn claims(access: &str) -> Value {
    let payload = access.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn amr(access: &str) -> Vec<String> {
    claims(access)["amr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}
