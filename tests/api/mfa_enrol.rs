//! Enrolling TOTP and email codes (issue 4 "enrolment of each method").

use crate::both;
use crate::common::*;
use crate::mfa_support::*;
use base64::Engine;
use serde_json::Value;

async fn totp_enrolment_shows_secret_uri_and_qr_then_a_code_turns_it_on(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in(EMAIL).await;
    let r = enable(&app, &tokens.access, "totp").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160-bit secret in base32: {secret}");
    let uri = body["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with(&format!("otpauth://totp/gatehouse:rahim%40example.com?secret={secret}")),
        "{uri}"
    );
    assert!(uri.contains("issuer=gatehouse"), "{uri}");
    let qr = body["qr_code"].as_str().unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(qr.strip_prefix("data:image/png;base64,").expect("PNG data URI"))
        .unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // Not on until a code proves the app has the secret.
    let me: Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], false);
    expect_problem(
        verify(&app, &tokens.access, "totp", &wrong_totp(&app, secret)).await,
        400,
        "invalid_code",
    )
    .await;
    let r = verify(&app, &tokens.access, "totp", &totp_now(&app, secret)).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let codes: Vec<&str> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 10);
    let unique: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), 10);
    let me: Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], true);
    let mail = app.mail_to(EMAIL, 1).await;
    assert!(mail.subject.contains("Two-step sign-in is on"), "{}", mail.subject);

    // The secret is never shown again, and the method cannot be enrolled twice.
    next_step(&app);
    let code = totp_now(&app, secret);
    let r = step_up(&app, &tokens.access, "totp", &code).await;
    let fresh = Tokens::from(r.json::<Value>().await.unwrap());
    expect_problem(enable(&app, &fresh.access, "totp").await, 409, "mfa_already_enabled").await;
}

async fn an_unfinished_enrolment_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in(EMAIL).await;
    assert_eq!(enable(&app, &tokens.access, "totp").await.status(), 200);
    let r = app.login(EMAIL, PASSWORD).await;
    let body: Value = r.json().await.unwrap();
    assert!(
        body["access_token"].is_string(),
        "pending TOTP must not gate login: {body}"
    );
}

async fn email_enrolment_mails_a_code_that_turns_it_on(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in(EMAIL).await;
    let r = enable(&app, &tokens.access, "email").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body.get("secret").is_none());
    let mail = app.mail_to(EMAIL, 1).await;
    let code = mail.six_digit_code().expect("code in the mail");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    expect_problem(verify(&app, &tokens.access, "email", wrong).await, 400, "invalid_code").await;
    let r = verify(&app, &tokens.access, "email", &code).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["recovery_codes"].as_array().unwrap().len(), 10);
    let me: Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], true);
    // Single use: the same code does not verify again.
    expect_problem(
        verify(&app, &tokens.access, "email", &code).await,
        400,
        "mfa_not_pending",
    )
    .await;
}

both!(
    totp_enrolment_shows_secret_uri_and_qr_then_a_code_turns_it_on,
    an_unfinished_enrolment_changes_nothing,
    email_enrolment_mails_a_code_that_turns_it_on,
);

#[test]
fn every_mfa_endpoint_is_in_the_openapi_document() {
    let doc = serde_json::to_value(gatehouse::http::openapi()).unwrap();
    for path in [
        "/api/auth/mfa/enable",
        "/api/auth/mfa/verify",
        "/api/auth/mfa/challenge",
        "/api/auth/mfa/challenge/send",
        "/api/auth/mfa/step-up",
        "/api/auth/mfa/send-code",
        "/api/auth/mfa/disable",
        "/api/auth/mfa/recovery-codes",
        "/api/auth/otp/request",
        "/api/auth/otp/login",
    ] {
        assert!(
            doc["paths"][path]["post"].is_object(),
            "{path} missing from /openapi.json"
        );
    }
}
