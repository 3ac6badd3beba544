//! A passkey as the second factor of an MFA account: finishing a password sign-in and a
//! step-up, and refusals that count as wrong codes.

use crate::both;
use crate::common::*;
use crate::mfa_support::{amr, password_step, step_up, totp_now, totp_user, EMAIL};
use crate::passkey_support::*;
use chrono::Duration;
use serde_json::{json, Value};

/// An account with a TOTP app and one passkey (user-verifying unless told otherwise).
async fn mfa_passkey_user(app: &TestApp, verifies_user: bool) -> (Tokens, Authenticator, String) {
    let mfa = totp_user(app).await;
    let stepped = step_up(app, &mfa.tokens.access, "totp", &totp_now(app, &mfa.secret)).await;
    assert_eq!(stepped.status(), 200);
    let tokens = Tokens::from(stepped.json::<Value>().await.unwrap());
    let mut authenticator = Authenticator::new();
    authenticator.verifies_user = verifies_user;
    let r = register_passkey(app, &tokens, &mut authenticator).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    (tokens, authenticator, mfa.secret)
}

async fn started(r: reqwest::Response) -> (String, Value) {
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    (
        body["ceremony_id"].as_str().unwrap().to_string(),
        body["options"].clone(),
    )
}

async fn challenge_options(app: &TestApp, mfa_token: &str) -> (String, Value) {
    started(
        app.post_json("/api/auth/mfa/challenge/passkey", &json!({ "mfa_token": mfa_token }))
            .await,
    )
    .await
}

async fn answer_challenge(app: &TestApp, mfa_token: &str, ceremony_id: &str, credential: &Value) -> reqwest::Response {
    app.post_json(
        "/api/auth/mfa/challenge",
        &json!({ "mfa_token": mfa_token, "method": "passkey", "ceremony_id": ceremony_id, "credential": credential }),
    )
    .await
}

async fn a_passkey_finishes_a_password_sign_in_and_a_step_up(backend: Backend) {
    let app = passkey_app(backend).await;
    let (_, mut authenticator, _) = mfa_passkey_user(&app, true).await;

    let (mfa_token, step) = password_step(&app).await;
    assert!(
        step["methods"].as_array().unwrap().contains(&json!("passkey")),
        "{step}"
    );
    let (ceremony, options) = challenge_options(&app, &mfa_token).await;
    assert_eq!(options["publicKey"]["allowCredentials"].as_array().unwrap().len(), 1);
    let r = answer_challenge(&app, &mfa_token, &ceremony, &authenticator.get(&options, 0)).await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(amr(&tokens.access), ["pwd", "webauthn", "mfa"]);
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM audit_events WHERE event_type = 'login' AND details LIKE $1",
            "%\"second_factor\":\"passkey\"%"
        )
        .await,
        1
    );
    // The mfa_token was spent.
    expect_problem(
        app.post_json("/api/auth/mfa/challenge/passkey", &json!({ "mfa_token": mfa_token }))
            .await,
        401,
        "invalid_mfa_token",
    )
    .await;

    // Later, a sensitive change needs the second factor again: the passkey proves it.
    app.advance(Duration::minutes(11));
    let later = Tokens::from(app.refresh(&tokens.refresh).await.json::<Value>().await.unwrap());
    expect_problem(
        app.post_json_auth("/api/auth/mfa/recovery-codes", &later.access, &json!({}))
            .await,
        403,
        "mfa_step_up_required",
    )
    .await;
    let (ceremony, options) = started(
        app.post_json_auth("/api/auth/mfa/step-up/passkey", &later.access, &json!({}))
            .await,
    )
    .await;
    let r = app
        .post_json_auth(
            "/api/auth/mfa/step-up",
            &later.access,
            &json!({ "method": "passkey", "ceremony_id": ceremony, "credential": authenticator.get(&options, 0) }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let stepped = Tokens::from(r.json::<Value>().await.unwrap());
    assert!(amr(&stepped.access).contains(&"webauthn".to_string()));
    let r = app
        .post_json_auth("/api/auth/mfa/recovery-codes", &stepped.access, &json!({}))
        .await;
    assert_eq!(r.status(), 200);
}

async fn a_refused_passkey_answer_counts_as_a_wrong_code(backend: Backend) {
    let app = passkey_app(backend).await;
    let (_, mut authenticator, _) = mfa_passkey_user(&app, true).await;
    let (mfa_token, _) = password_step(&app).await;

    // A sign-in ceremony is not a second-factor one.
    let (ceremony, options) = login_start(&app, Some(EMAIL)).await;
    let r = answer_challenge(&app, &mfa_token, &ceremony, &authenticator.get(&options, 0)).await;
    expect_problem(r, 400, "passkey_challenge_invalid").await;

    authenticator.origin = "https://evil.example".into();
    for _ in 0..3 {
        let (ceremony, options) = challenge_options(&app, &mfa_token).await;
        let r = answer_challenge(&app, &mfa_token, &ceremony, &authenticator.get(&options, 0)).await;
        expect_problem(r, 400, "passkey_origin_mismatch").await;
    }
    let (ceremony, options) = challenge_options(&app, &mfa_token).await;
    let r = answer_challenge(&app, &mfa_token, &ceremony, &authenticator.get(&options, 0)).await;
    expect_problem(r, 401, "too_many_attempts").await;

    // The fifth refusal ended this sign-in attempt, even for the right answer.
    authenticator.origin = ORIGIN.into();
    expect_problem(
        app.post_json("/api/auth/mfa/challenge/passkey", &json!({ "mfa_token": mfa_token }))
            .await,
        401,
        "invalid_mfa_token",
    )
    .await;
}

async fn after_a_passkey_sign_in_without_verification_the_second_factor_is_another(backend: Backend) {
    let app = passkey_app(backend).await;
    let (_, mut authenticator, secret) = mfa_passkey_user(&app, false).await;
    let (ceremony, options) = login_start(&app, Some(EMAIL)).await;
    let r = login_finish(&app, &ceremony, &authenticator.get(&options, 0)).await;
    let step: Value = r.json().await.unwrap();
    let mfa_token = step["mfa_token"].as_str().unwrap();
    assert_eq!(step["methods"], json!(["totp", "recovery"]), "{step}");
    expect_problem(
        app.post_json("/api/auth/mfa/challenge/passkey", &json!({ "mfa_token": mfa_token }))
            .await,
        400,
        "mfa_method_not_enabled",
    )
    .await;
    crate::mfa_support::next_step(&app);
    let r = crate::mfa_support::challenge(&app, mfa_token, Some("totp"), &totp_now(&app, &secret)).await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(amr(&tokens.access), ["webauthn", "otp", "mfa"]);
}

async fn passkey_answers_are_checked_field_by_field(backend: Backend) {
    let app = passkey_app(backend).await;
    let (tokens, _, _) = mfa_passkey_user(&app, true).await;
    let (mfa_token, _) = password_step(&app).await;
    let r = app
        .post_json(
            "/api/auth/mfa/challenge",
            &json!({ "mfa_token": mfa_token, "method": "passkey", "credential": {"id": 1} }),
        )
        .await;
    let body = expect_problem(r, 422, "validation_failed").await;
    let fields: Vec<String> = field_errors(&body).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["ceremony_id", "credential"], "{body}");

    // Without MFA, or without a passkey, there is nothing to start.
    let plain = app.signed_in("karim@example.com").await;
    expect_problem(
        app.post_json_auth("/api/auth/mfa/step-up/passkey", &plain.access, &json!({}))
            .await,
        400,
        "mfa_not_enabled",
    )
    .await;
    let list: Value = app
        .get_auth("/api/auth/passkeys", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    let id = list[0]["id"].as_str().unwrap();
    let r = app
        .send(
            app.client
                .delete(app.url(&format!("/api/auth/passkeys/{id}")))
                .bearer_auth(&tokens.access),
        )
        .await;
    assert_eq!(r.status(), 204);
    let (mfa_token, step) = password_step(&app).await;
    assert!(
        !step["methods"].as_array().unwrap().contains(&json!("passkey")),
        "{step}"
    );
    expect_problem(
        app.post_json("/api/auth/mfa/challenge/passkey", &json!({ "mfa_token": mfa_token }))
            .await,
        400,
        "mfa_method_not_enabled",
    )
    .await;
}

both!(
    a_passkey_finishes_a_password_sign_in_and_a_step_up,
    a_refused_passkey_answer_counts_as_a_wrong_code,
    after_a_passkey_sign_in_without_verification_the_second_factor_is_another,
    passkey_answers_are_checked_field_by_field,
);
