//! Listing and ending one's own sessions.

use crate::both;
use crate::common::*;
use serde_json::Value;

async fn sessions(app: &TestApp, access: &str) -> Vec<Value> {
    let r = app.get_auth("/api/auth/sessions", access).await;
    assert_eq!(r.status(), 200);
    r.json::<Vec<Value>>().await.unwrap()
}

async fn sessions_list_each_login_with_its_device(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.signed_in("rahim@example.com").await;
    let r = app
        .send(
            app.client
                .post(app.url("/api/auth/login"))
                .header("user-agent", "PhoneApp/2.0")
                .json(&serde_json::json!({"email": "rahim@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let list = sessions(&app, &first.access).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(
        list.iter()
            .any(|s| s["user_agent"] == "PhoneApp/2.0" && s["device"] == "PhoneApp"),
        "{list:?}"
    );
    assert!(list
        .iter()
        .all(|s| s["ip"] == "127.0.0.1" && s["created_at"].is_string() && s["last_used_at"].is_string()));
}

async fn ending_a_session_revokes_its_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.signed_in("rahim@example.com").await;
    let second = Tokens::from(
        app.login("rahim@example.com", PASSWORD)
            .await
            .json::<Value>()
            .await
            .unwrap(),
    );
    let other = sessions(&app, &first.access)
        .await
        .into_iter()
        .find(|s| s["current"] == false)
        .unwrap();
    let r = app
        .send(
            app.client
                .delete(app.url(&format!("/api/auth/sessions/{}", other["id"].as_str().unwrap())))
                .bearer_auth(&first.access),
        )
        .await;
    assert_eq!(r.status(), 204);
    expect_problem(app.me(&second.access).await, 401, "session_revoked").await;
    expect_problem(app.refresh(&second.refresh).await, 401, "session_revoked").await;
    assert_eq!(app.me(&first.access).await.status(), 200);
    assert_eq!(sessions(&app, &first.access).await.len(), 1);
}

async fn another_users_session_cannot_be_ended(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mine = app.signed_in("rahim@example.com").await;
    let theirs = app.signed_in("karim@example.com").await;
    let their_id = sessions(&app, &theirs.access).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .send(
            app.client
                .delete(app.url(&format!("/api/auth/sessions/{their_id}")))
                .bearer_auth(&mine.access),
        )
        .await;
    expect_problem(r, 404, "session_not_found").await;
    assert_eq!(app.me(&theirs.access).await.status(), 200);
    let r = app
        .send(
            app.client
                .delete(app.url("/api/auth/sessions/not-a-uuid"))
                .bearer_auth(&mine.access),
        )
        .await;
    expect_problem(r, 404, "session_not_found").await;
}

both!(
    sessions_list_each_login_with_its_device,
    ending_a_session_revokes_its_tokens,
    another_users_session_cannot_be_ended
);
