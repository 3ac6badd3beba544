//! Security review, item 1: a stolen access token cannot enrol the first second factor; an
//! admin (API or CLI) can remove a user's MFA; every MFA change is mailed to the owner.

use crate::admin_support::{account, audit};
use crate::both;
use crate::common::*;
use crate::mfa_support::{enable, totp_now, totp_user, verify, EMAIL};
use chrono::Duration;
use serde_json::{json, Value};
use std::process::Command;

/// An access token of a session that signed in more than `MFA_STEP_UP_WINDOW` ago (refreshed,
/// so still valid): what a thief holds.
async fn old_session(app: &TestApp) -> Tokens {
    let tokens = app.signed_in(EMAIL).await;
    app.advance(Duration::minutes(11));
    let r = app.refresh(&tokens.refresh).await;
    assert_eq!(r.status(), 200);
    Tokens::from(r.json::<Value>().await.unwrap())
}

async fn enable_with(app: &TestApp, access: &str, method: &str, password: &str) -> reqwest::Response {
    app.post_json_auth(
        "/api/auth/mfa/enable",
        access,
        &json!({ "method": method, "current_password": password }),
    )
    .await
}

async fn a_token_without_a_recent_sign_in_cannot_enrol_the_first_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let stolen = old_session(&app).await;
    for method in ["totp", "email"] {
        let body = expect_problem(
            enable(&app, &stolen.access, method).await,
            403,
            "reauthentication_required",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains("current_password"), "{body}");
    }
    expect_invalid_current_password(enable_with(&app, &stolen.access, "totp", "a guess of the password").await).await;
    // Nothing was enrolled: the password alone still signs in.
    let r = app.login(EMAIL, PASSWORD).await;
    let login: Value = r.json().await.unwrap();
    assert!(login.get("access_token").is_some(), "{login}");
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM mfa_factors f JOIN users u ON u.id = f.user_id WHERE u.email = $1",
            EMAIL
        )
        .await,
        0
    );
}

async fn the_owner_enrols_with_the_current_password_or_a_fresh_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let old = old_session(&app).await;
    let r = enable_with(&app, &old.access, "totp", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let secret = r.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_string();
    assert_eq!(
        verify(&app, &old.access, "totp", &totp_now(&app, &secret))
            .await
            .status(),
        200
    );

    // A fresh sign-in needs no password (the helper enrols right after signing in).
    let app = TestApp::spawn(backend).await;
    totp_user(&app).await;
}

async fn an_admin_removes_a_users_mfa_ends_their_sessions_and_mails_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = account(&app, "admin@example.com", Some("admin")).await;
    let user = totp_user(&app).await;
    let me: Value = app.me(&user.tokens.access).await.json().await.unwrap();
    let id = me["id"].as_str().unwrap().to_string();
    let mails = app.smtp.messages_to(EMAIL).len();

    let path = format!("/api/admin/users/{id}/mfa");
    let r = app
        .send(app.client.delete(app.url(&path)).bearer_auth(&user.tokens.access))
        .await;
    expect_problem(r, 403, "permission_denied").await;
    let r = app
        .send(app.client.delete(app.url(&path)).bearer_auth(&admin.tokens.access))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["sessions_revoked"], 1);

    expect_problem(app.me(&user.tokens.access).await, 401, "session_revoked").await;
    let login: Value = app.login(EMAIL, PASSWORD).await.json().await.unwrap();
    assert!(login.get("access_token").is_some(), "MFA is gone: {login}");
    let mail = app.mail_to(EMAIL, mails).await;
    assert!(
        mail.subject.contains("administrator turned off two-step sign-in"),
        "{}",
        mail.subject
    );
    let events = audit(&app, &admin.tokens.access, &format!("type=mfa_reset&user_id={id}")).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["details"]["actor_id"], admin.id.to_string());

    // Nothing left to remove.
    let r = app
        .send(app.client.delete(app.url(&path)).bearer_auth(&admin.tokens.access))
        .await;
    expect_problem(r, 400, "mfa_not_enabled").await;
}

async fn the_cli_removes_a_users_mfa(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["admin", "reset-mfa", "--email", EMAIL])
        .current_dir(dir.path())
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("two-step sign-in removed"));
    expect_problem(app.me(&user.tokens.access).await, 401, "session_revoked").await;
    let login: Value = app.login(EMAIL, PASSWORD).await.json().await.unwrap();
    assert!(login.get("access_token").is_some(), "MFA is gone: {login}");
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM audit_events a JOIN users u ON u.id = a.user_id WHERE u.email = $1 AND a.event_type = 'mfa_reset'",
            EMAIL
        )
        .await,
        1
    );
    assert!(app.mail_to(EMAIL, 2).await.subject.contains("administrator"));
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["admin", "reset-mfa", "--email", "nobody@example.com"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account has the address"));
}

async fn new_recovery_codes_are_mailed_to_the_owner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    // Step up so the change is allowed.
    let r = app
        .post_json_auth(
            "/api/auth/mfa/step-up",
            &user.tokens.access,
            &json!({ "method": "totp", "code": totp_now(&app, &user.secret) }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let access = Tokens::from(r.json::<Value>().await.unwrap()).access;
    let mails = app.smtp.messages_to(EMAIL).len();
    let r = app
        .post_json_auth("/api/auth/mfa/recovery-codes", &access, &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    assert!(app.mail_to(EMAIL, mails).await.subject.contains("New recovery codes"));
}

both!(
    a_token_without_a_recent_sign_in_cannot_enrol_the_first_factor,
    the_owner_enrols_with_the_current_password_or_a_fresh_sign_in,
    an_admin_removes_a_users_mfa_ends_their_sessions_and_mails_them,
    the_cli_removes_a_users_mfa,
    new_recovery_codes_are_mailed_to_the_owner,
);
