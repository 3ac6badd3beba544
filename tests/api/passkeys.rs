//! Passkeys: registration and sign-in ceremonies driven by a software authenticator that makes
//! real key pairs and signs real `authenticatorData` / `clientDataJSON`, and everything that
//! must be refused.

use crate::both;
use crate::common::*;
use crate::mfa_support::{amr, totp_user, EMAIL as MFA_EMAIL};
use crate::passkey_support::*;
use chrono::Duration;
use serde_json::{json, Value};

async fn registered_passkey_signs_in_with_and_without_a_name(backend: Backend) {
    let app = passkey_app(backend).await;
    let mut user = passkey_user(&app, "rahim@example.com").await;
    assert_eq!(user.passkey["name"], "Laptop");
    assert_eq!(user.passkey["user_verified"], true);
    assert_eq!(user.passkey["transports"], json!(["internal"]));
    let mail = app.mail_to("rahim@example.com", 1).await;
    assert!(mail.subject.contains("passkey was added"), "{}", mail.subject);
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM audit_events WHERE event_type = $1",
            "passkey_added"
        )
        .await,
        1
    );

    // Usernameless: the options name no credential, the authenticator picks its own.
    let (ceremony, options) = login_start(&app, None).await;
    assert_eq!(options["publicKey"]["allowCredentials"], json!([]));
    assert_eq!(options["publicKey"]["rpId"], RP_ID);
    let r = login_finish(&app, &ceremony, &user.authenticator.get(&options, 0)).await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(
        amr(&tokens.access),
        ["webauthn", "mfa"],
        "user verification makes it two factors"
    );
    assert_eq!(app.me(&tokens.access).await.status(), 200);

    // After the name is typed: the options list the account's credential.
    let (ceremony, options) = login_start(&app, Some("rahim@example.com")).await;
    let listed = options["publicKey"]["allowCredentials"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    let answer = user.authenticator.get(&options, 0);
    assert_eq!(listed[0]["id"], answer["id"]);
    assert_eq!(login_finish(&app, &ceremony, &answer).await.status(), 200);

    let list: Value = app
        .get_auth("/api/auth/passkeys", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0]["last_used_at"].is_string());
}

async fn packed_self_attestation_registers(backend: Backend) {
    let app = passkey_app(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let mut authenticator = Authenticator::new();
    authenticator.packed = true;
    assert_eq!(register_passkey(&app, &tokens, &mut authenticator).await.status(), 201);
    let (ceremony, options) = login_start(&app, None).await;
    assert_eq!(
        login_finish(&app, &ceremony, &authenticator.get(&options, 0))
            .await
            .status(),
        200
    );
}

async fn the_start_answer_does_not_tell_which_accounts_exist(backend: Backend) {
    let app = passkey_app(backend).await;
    passkey_user(&app, "rahim@example.com").await;
    app.register_verified("karim@example.com").await;
    for name in ["nobody@example.com", "karim@example.com", "no_such_user"] {
        let (_, first) = login_start(&app, Some(name)).await;
        let (_, again) = login_start(&app, Some(name)).await;
        let listed = first["publicKey"]["allowCredentials"].as_array().unwrap();
        assert_eq!(listed.len(), 1, "{name}: shaped like an account with one passkey");
        assert_eq!(
            listed,
            again["publicKey"]["allowCredentials"].as_array().unwrap(),
            "{name}: stable"
        );
    }
}

async fn answers_for_another_origin_or_rp_id_or_badly_signed_are_refused(backend: Backend) {
    let app = passkey_app(backend).await;
    let mut user = passkey_user(&app, "rahim@example.com").await;

    user.authenticator.origin = "https://evil.example".into();
    let (ceremony, options) = login_start(&app, None).await;
    let answer = user.authenticator.get(&options, 0);
    expect_problem(
        login_finish(&app, &ceremony, &answer).await,
        400,
        "passkey_origin_mismatch",
    )
    .await;
    user.authenticator.origin = ORIGIN.into();

    user.authenticator.rp_id = "evil.example".into();
    let (ceremony, options) = login_start(&app, None).await;
    let answer = user.authenticator.get(&options, 0);
    expect_problem(
        login_finish(&app, &ceremony, &answer).await,
        400,
        "passkey_rp_id_mismatch",
    )
    .await;
    user.authenticator.rp_id = RP_ID.into();

    let (ceremony, options) = login_start(&app, None).await;
    let mut answer = user.authenticator.get(&options, 0);
    answer["response"]["signature"] = json!(corrupt_signature(&answer));
    expect_problem(
        login_finish(&app, &ceremony, &answer).await,
        401,
        "passkey_signature_invalid",
    )
    .await;

    // A registration answer for another origin is refused the same way.
    let mut evil = Authenticator::new();
    evil.origin = "https://evil.example".into();
    expect_problem(
        register_passkey(&app, &user.tokens, &mut evil).await,
        400,
        "passkey_origin_mismatch",
    )
    .await;
}

/// The answer's DER signature with the last byte of `s` changed: well-formed, but wrong.
fn corrupt_signature(answer: &Value) -> String {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut der = engine
        .decode(answer["response"]["signature"].as_str().unwrap())
        .unwrap();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    engine.encode(der)
}

async fn a_challenge_is_answered_once_and_only_in_time(backend: Backend) {
    let app = passkey_app(backend).await;
    let mut user = passkey_user(&app, "rahim@example.com").await;

    let (ceremony, options) = login_start(&app, None).await;
    let answer = user.authenticator.get(&options, 0);
    assert_eq!(login_finish(&app, &ceremony, &answer).await.status(), 200);
    expect_problem(
        login_finish(&app, &ceremony, &answer).await,
        400,
        "passkey_challenge_invalid",
    )
    .await;

    // The same answer replayed into a fresh ceremony signed the old challenge.
    let (fresh, _) = login_start(&app, None).await;
    expect_problem(
        login_finish(&app, &fresh, &answer).await,
        400,
        "passkey_challenge_mismatch",
    )
    .await;

    let (ceremony, options) = login_start(&app, None).await;
    let answer = user.authenticator.get(&options, 0);
    app.advance(Duration::minutes(5) + Duration::seconds(1));
    expect_problem(
        login_finish(&app, &ceremony, &answer).await,
        400,
        "passkey_challenge_expired",
    )
    .await;

    expect_problem(
        login_finish(&app, "made-up", &answer).await,
        400,
        "passkey_challenge_invalid",
    )
    .await;
    let r = app
        .post_json(
            "/api/auth/passkeys/login/finish",
            &json!({ "ceremony_id": ceremony, "credential": {"id": 1} }),
        )
        .await;
    let body = expect_problem(r, 422, "validation_failed").await;
    assert_eq!(field_errors(&body)[0].0, "credential");
}

async fn a_counter_that_goes_back_is_refused_as_a_possible_clone(backend: Backend) {
    let app = passkey_app(backend).await;
    let mut user = passkey_user(&app, "rahim@example.com").await;
    user.authenticator.keys[0].counter = 1;
    let (ceremony, options) = login_start(&app, None).await;
    let answer = user.authenticator.get(&options, 0); // counter 2
    assert_eq!(login_finish(&app, &ceremony, &answer).await.status(), 200);

    user.authenticator.keys[0].counter = 1; // the copy reports 2 again
    let (ceremony, options) = login_start(&app, None).await;
    let answer = user.authenticator.get(&options, 0);
    expect_problem(
        login_finish(&app, &ceremony, &answer).await,
        401,
        "passkey_clone_suspected",
    )
    .await;
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM audit_events WHERE event_type = $1",
            "passkey_clone_suspected"
        )
        .await,
        1
    );
    // The real key, further on, still works.
    user.authenticator.keys[0].counter = 9;
    let (ceremony, options) = login_start(&app, None).await;
    assert_eq!(
        login_finish(&app, &ceremony, &user.authenticator.get(&options, 0))
            .await
            .status(),
        200
    );
}

async fn another_accounts_or_a_deleted_passkey_does_not_sign_in(backend: Backend) {
    let app = passkey_app(backend).await;
    let mut rahim = passkey_user(&app, "rahim@example.com").await;
    let karim = passkey_user(&app, "karim@example.com").await;

    // A ceremony started for Karim answered with Rahim's key.
    let (ceremony, options) = login_start(&app, Some("karim@example.com")).await;
    let answer = rahim.authenticator.get(&options, 0);
    expect_problem(login_finish(&app, &ceremony, &answer).await, 401, "passkey_unknown").await;

    // Rahim's key claiming to be Karim's account (user handle).
    let (ceremony, options) = login_start(&app, None).await;
    let mut answer = rahim.authenticator.get(&options, 0);
    let karim_id = crate::mfa_support::claims(&karim.tokens.access)["sub"]
        .as_str()
        .unwrap()
        .to_string();
    let handle = uuid::Uuid::parse_str(&karim_id).unwrap();
    answer["response"]["userHandle"] = json!(base64_url(handle.as_bytes()));
    expect_problem(login_finish(&app, &ceremony, &answer).await, 401, "passkey_unknown").await;

    // Renamed, then deleted: the key no longer signs in.
    let id = rahim.passkey["id"].as_str().unwrap().to_string();
    let path = format!("/api/auth/passkeys/{id}");
    let r = app
        .send(
            app.client
                .patch(app.url(&path))
                .bearer_auth(&rahim.tokens.access)
                .json(&json!({"name": "  "})),
        )
        .await;
    expect_problem(r, 422, "validation_failed").await;
    let r = app
        .send(
            app.client
                .patch(app.url(&path))
                .bearer_auth(&rahim.tokens.access)
                .json(&json!({"name": "Old phone"})),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "Old phone");
    let r = app
        .send(app.client.delete(app.url(&path)).bearer_auth(&rahim.tokens.access))
        .await;
    assert_eq!(r.status(), 204);
    let r = app
        .send(app.client.delete(app.url(&path)).bearer_auth(&rahim.tokens.access))
        .await;
    expect_problem(r, 404, "passkey_not_found").await;
    let subjects: Vec<String> = [2, 3].iter().map(|n| n.to_string()).collect();
    for (nth, what) in subjects.iter().zip(["renamed", "deleted"]) {
        let mail = app.mail_to("rahim@example.com", nth.parse().unwrap()).await;
        assert!(mail.subject.contains(what), "{}", mail.subject);
    }
    let (ceremony, options) = login_start(&app, None).await;
    let answer = rahim.authenticator.get(&options, 0);
    expect_problem(login_finish(&app, &ceremony, &answer).await, 401, "passkey_unknown").await;
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn locked_disabled_and_unverified_accounts_are_refused(backend: Backend) {
    let app = passkey_app(backend).await;
    let mut user = passkey_user(&app, "rahim@example.com").await;
    for _ in 0..5 {
        assert_eq!(
            app.login("rahim@example.com", "not the password at all").await.status(),
            401
        );
    }
    let (ceremony, options) = login_start(&app, None).await;
    let answer = user.authenticator.get(&options, 0);
    expect_problem(login_finish(&app, &ceremony, &answer).await, 429, "account_locked").await;

    app.advance(Duration::minutes(31));
    app.sql_text(
        "UPDATE users SET is_active = FALSE WHERE email = $1 RETURNING email",
        "rahim@example.com",
    )
    .await;
    let (ceremony, options) = login_start(&app, None).await;
    let answer = user.authenticator.get(&options, 0);
    expect_problem(login_finish(&app, &ceremony, &answer).await, 403, "account_disabled").await;

    app.sql_text(
        "UPDATE users SET is_active = TRUE, is_email_verified = FALSE WHERE email = $1 RETURNING email",
        "rahim@example.com",
    )
    .await;
    let (ceremony, options) = login_start(&app, None).await;
    let answer = user.authenticator.get(&options, 0);
    expect_problem(login_finish(&app, &ceremony, &answer).await, 403, "email_not_verified").await;
}

/// A passkey that is the account's only way in (no password, no linked provider) stays until
/// another way exists.
async fn the_only_way_to_sign_in_is_not_deleted(backend: Backend) {
    let app = passkey_app(backend).await;
    let rahim = passkey_user(&app, "rahim@example.com").await;
    app.sql_text(
        "UPDATE users SET password_hash = NULL WHERE email = $1 RETURNING email",
        "rahim@example.com",
    )
    .await;
    let id = rahim.passkey["id"].as_str().unwrap().to_string();
    let delete = |id: String| {
        app.send(
            app.client
                .delete(app.url(&format!("/api/auth/passkeys/{id}")))
                .bearer_auth(&rahim.tokens.access),
        )
    };
    expect_problem(delete(id.clone()).await, 409, "last_sign_in_method").await;
    let listed: Value = app
        .get_auth("/api/auth/passkeys", &rahim.tokens.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    // With a second passkey, the first may go.
    let mut other = Authenticator::new();
    let r = register_passkey(&app, &rahim.tokens, &mut other).await;
    assert_eq!(r.status(), 201);
    assert_eq!(delete(id).await.status(), 204);
    let (ceremony, options) = login_start(&app, None).await;
    let answer = other.get(&options, 0);
    assert_eq!(login_finish(&app, &ceremony, &answer).await.status(), 200);
}

/// A signed-in caller can keep five registrations open (tabs); a sixth start ends the oldest.
async fn only_the_newest_unfinished_registrations_are_kept(backend: Backend) {
    let app = passkey_app(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let mut started = Vec::new();
    for _ in 0..6 {
        let r = app
            .post_json_auth("/api/auth/passkeys/register/start", &tokens.access, &json!({}))
            .await;
        assert_eq!(r.status(), 200);
        started.push(r.json::<Value>().await.unwrap());
        app.advance(Duration::seconds(1));
    }
    let mut authenticator = Authenticator::new();
    let finish = |s: &Value, credential: Value| {
        let body = json!({ "ceremony_id": s["ceremony_id"], "credential": credential, "name": "Laptop" });
        let access = tokens.access.clone();
        let app = &app;
        async move {
            app.post_json_auth("/api/auth/passkeys/register/finish", &access, &body)
                .await
        }
    };
    let oldest = authenticator.create(&started[0]["options"]);
    expect_problem(finish(&started[0], oldest).await, 400, "passkey_challenge_invalid").await;
    let newest = authenticator.create(&started[5]["options"]);
    assert_eq!(finish(&started[5], newest).await.status(), 201);
}

async fn without_user_verification_an_mfa_account_still_needs_its_second_factor(backend: Backend) {
    let app = passkey_app(backend).await;
    let mfa = totp_user(&app).await;
    let step_up = crate::mfa_support::step_up(
        &app,
        &mfa.tokens.access,
        "totp",
        &crate::mfa_support::totp_now(&app, &mfa.secret),
    )
    .await;
    let tokens = Tokens::from(step_up.json::<Value>().await.unwrap());
    let mut authenticator = Authenticator::new();
    authenticator.verifies_user = false;
    let r = register_passkey(&app, &tokens, &mut authenticator).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["user_verified"], false);
    let (ceremony, options) = login_start(&app, Some(MFA_EMAIL)).await;
    let r = login_finish(&app, &ceremony, &authenticator.get(&options, 0)).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body["mfa_token"].is_string());
}

async fn adding_a_passkey_needs_a_recent_sign_in_or_the_password(backend: Backend) {
    let app = passkey_app(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    app.advance(Duration::minutes(11));
    let refreshed = Tokens::from(app.refresh(&tokens.refresh).await.json::<Value>().await.unwrap());
    let r = app
        .post_json_auth("/api/auth/passkeys/register/start", &refreshed.access, &json!({}))
        .await;
    expect_problem(r, 403, "reauthentication_required").await;
    let r = app
        .post_json_auth(
            "/api/auth/passkeys/register/start",
            &refreshed.access,
            &json!({ "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.post_json("/api/auth/passkeys/register/start", &json!({}))
            .await
            .status(),
        401
    );
}

both!(
    registered_passkey_signs_in_with_and_without_a_name,
    packed_self_attestation_registers,
    the_start_answer_does_not_tell_which_accounts_exist,
    answers_for_another_origin_or_rp_id_or_badly_signed_are_refused,
    a_challenge_is_answered_once_and_only_in_time,
    a_counter_that_goes_back_is_refused_as_a_possible_clone,
    another_accounts_or_a_deleted_passkey_does_not_sign_in,
    locked_disabled_and_unverified_accounts_are_refused,
    the_only_way_to_sign_in_is_not_deleted,
    only_the_newest_unfinished_registrations_are_kept,
    without_user_verification_an_mfa_account_still_needs_its_second_factor,
    adding_a_passkey_needs_a_recent_sign_in_or_the_password,
);

#[test]
fn every_passkey_endpoint_is_in_the_openapi_document() {
    let doc = serde_json::to_value(gatehouse::http::openapi()).unwrap();
    for (method, path) in [
        ("post", "/api/auth/passkeys/register/start"),
        ("post", "/api/auth/passkeys/register/finish"),
        ("post", "/api/auth/passkeys/login/start"),
        ("post", "/api/auth/passkeys/login/finish"),
        ("get", "/api/auth/passkeys"),
        ("patch", "/api/auth/passkeys/{id}"),
        ("delete", "/api/auth/passkeys/{id}"),
        ("post", "/api/auth/mfa/challenge/passkey"),
        ("post", "/api/auth/mfa/step-up/passkey"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing from /openapi.json");
        assert!(op["responses"].is_object(), "{method} {path} documents no responses");
    }
}
