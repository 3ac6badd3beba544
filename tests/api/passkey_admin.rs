//! Passkeys seen from outside the owner's session: the admin API's count, the account's
//! deletion, and ceremonies left unfinished.

use crate::admin_support::{account, admin_get};
use crate::both;
use crate::common::*;
use crate::passkey_support::*;
use chrono::Duration;
use serde_json::{json, Value};

async fn the_admin_sees_how_many_passkeys_and_deleting_the_account_deletes_them(backend: Backend) {
    let app = passkey_app(backend).await;
    let admin = account(&app, "boss@example.com", Some("moderator")).await;
    let mut user = passkey_user(&app, "rahim@example.com").await;
    let me: Value = app.me(&user.tokens.access).await.json().await.unwrap();
    let id = me["id"].as_str().unwrap().to_string();
    let detail: Value = admin_get(&app, &format!("/api/admin/users/{id}"), &admin.tokens.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["passkeys"], 1, "{detail}");

    let r = app
        .send(
            app.client
                .delete(app.url("/api/auth/me"))
                .bearer_auth(&user.tokens.access)
                .json(&json!({ "current_password": PASSWORD })),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM passkeys WHERE name = $1", "Laptop")
            .await,
        0
    );
    let (ceremony, options) = login_start(&app, None).await;
    let r = login_finish(&app, &ceremony, &user.authenticator.get(&options, 0)).await;
    expect_problem(r, 401, "passkey_unknown").await;
}

async fn unfinished_ceremonies_are_swept_once_expired(backend: Backend) {
    let app = passkey_app(backend).await;
    login_start(&app, None).await;
    login_start(&app, Some("nobody@example.com")).await;
    let pending = "SELECT COUNT(*) FROM webauthn_ceremonies WHERE purpose = $1";
    assert_eq!(app.sql_count(pending, "login").await, 2);
    let report = app.state.audit_retention.sweep().await.unwrap();
    assert_eq!(report.ceremonies_pruned, 0, "live ceremonies stay");
    app.advance(Duration::minutes(6));
    let (ceremony, _) = login_start(&app, None).await;
    let report = app.state.audit_retention.sweep().await.unwrap();
    assert_eq!(report.ceremonies_pruned, 2);
    assert_eq!(app.sql_count(pending, "login").await, 1);
    assert!(!ceremony.is_empty());
}

both!(
    the_admin_sees_how_many_passkeys_and_deleting_the_account_deletes_them,
    unfinished_ceremonies_are_swept_once_expired,
);
