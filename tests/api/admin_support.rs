//! Helpers shared by the admin API tests: accounts with a given role, and admin requests.

use crate::common::*;
use serde_json::Value;
use uuid::Uuid;

pub struct Account {
    pub email: String,
    pub id: Uuid,
    pub tokens: Tokens,
}

/// Registers, verifies and signs in `email`; with a `role`, it is given first, the way an
/// operator does it (`gatehouse admin create`), so the token carries it.
pub async fn account(app: &TestApp, email: &str, role: Option<&str>) -> Account {
    app.register_verified(email).await;
    if let Some(role) = role {
        gatehouse::auth::admin::create_admin(
            app.state.store.as_ref(),
            &app.state.config,
            app.state.clock.as_ref(),
            email,
            role,
            None,
        )
        .await
        .unwrap();
    }
    let r = app.login(email, PASSWORD).await;
    assert_eq!(r.status(), 200, "login of {email}");
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    let me: Value = app.me(&tokens.access).await.json().await.unwrap();
    Account {
        email: email.to_string(),
        id: Uuid::parse_str(me["id"].as_str().unwrap()).unwrap(),
        tokens,
    }
}

pub async fn admin_get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.get_auth(path, token).await
}

pub async fn admin_post(app: &TestApp, path: &str, token: &str, body: Option<&Value>) -> reqwest::Response {
    let mut request = app.client.post(app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    app.send(request).await
}

pub async fn put_role(app: &TestApp, user: Uuid, token: &str, body: &Value) -> reqwest::Response {
    app.send(
        app.client
            .put(app.url(&format!("/api/admin/users/{user}/role")))
            .bearer_auth(token)
            .json(body),
    )
    .await
}

pub async fn delete_sessions(app: &TestApp, user: Uuid, token: &str) -> reqwest::Response {
    app.send(
        app.client
            .delete(app.url(&format!("/api/admin/users/{user}/sessions")))
            .bearer_auth(token),
    )
    .await
}

/// The audit events the admin API lists for `query` (e.g. `type=login&user_id=…`).
pub async fn audit(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let r = admin_get(app, &format!("/api/admin/audit?{query}"), token).await;
    assert_eq!(r.status(), 200, "audit query {query}");
    let body: Value = r.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}
