//! Roles are configuration: seed 002's `analyst` and `reviewer` are declared with `ROLES`, and
//! the role (with `mfa` beside `amr`) is in every access token.

use crate::both;
use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse::domain::Roles;
use serde_json::Value;

/// The claims of a JWT (no signature check: `/api/auth/me` accepting it is the check).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn a_custom_role_set_names_new_users_and_their_tokens(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.roles = Roles::from_settings(
            Some("analyst,reviewer"),
            Some("analyst=drafts:write;reviewer=drafts:write,drafts:commit"),
            None,
        )
        .unwrap();
    })
    .await;
    let tokens = app.signed_in("analyst@example.com").await;
    let c = claims(&tokens.access);
    assert_eq!(c["role"], "analyst", "{c}");
    // An app's own API checks permissions from the token alone.
    assert_eq!(c["permissions"], serde_json::json!(["drafts:write"]));
    assert_eq!(c["amr"], serde_json::json!(["pwd"]));
    assert_eq!(c["mfa"], false);
    let me: Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(me["role"], "analyst");
    // The role survives a refresh.
    let r = app.refresh(&tokens.refresh).await;
    assert_eq!(r.status(), 200);
    let fresh = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(claims(&fresh.access)["role"], "analyst");
}

async fn the_default_role_set_gives_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    assert_eq!(claims(&tokens.access)["role"], "user");
    // `user` holds no permission by default.
    assert_eq!(claims(&tokens.access)["permissions"], serde_json::json!([]));
}

async fn default_role_picks_the_role_of_new_users(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.roles = Roles::from_settings(Some("analyst,reviewer"), None, Some("reviewer")).unwrap();
    })
    .await;
    let tokens = app.signed_in("reviewer@example.com").await;
    assert_eq!(claims(&tokens.access)["role"], "reviewer");
}

both!(
    a_custom_role_set_names_new_users_and_their_tokens,
    the_default_role_set_gives_user,
    default_role_picks_the_role_of_new_users
);
