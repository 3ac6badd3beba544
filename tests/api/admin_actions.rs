//! Admin actions on accounts: lock and unlock, role changes (never losing the last admin),
//! ending sessions — each taking effect on the user's tokens at once, each audited.

use crate::admin_support::*;
use crate::both;
use crate::common::*;
use crate::roles::claims;
use serde_json::{json, Value};

async fn a_lock_ends_the_sessions_and_stops_sign_in_until_unlocked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = account(&app, "boss@example.com", Some("admin")).await;
    let target = account(&app, "rahim@example.com", None).await;
    let token = &admin.tokens.access;

    let r = admin_post(
        &app,
        &format!("/api/admin/users/{}/lock", target.id),
        token,
        Some(&json!({ "reason": "reported for spam" })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["status"], "disabled");
    assert_eq!(user["live_sessions"], 0);
    expect_problem(app.me(&target.tokens.access).await, 401, "session_revoked").await;
    expect_problem(app.refresh(&target.tokens.refresh).await, 401, "session_revoked").await;
    expect_problem(app.login(&target.email, PASSWORD).await, 403, "account_disabled").await;
    // Still locked a long time later: only an admin lifts it.
    app.advance(chrono::Duration::days(30));
    expect_problem(app.login(&target.email, PASSWORD).await, 403, "account_disabled").await;

    let admin = account_login(&app, &admin.email).await;
    let events = audit(&app, &admin, &format!("type=account_locked&user_id={}", target.id)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["outcome"], "success");
    assert_eq!(e["details"]["reason"], "reported for spam");
    assert_eq!(e["details"]["actor_id"], admin_id(&app, &admin).await);
    assert_eq!(e["details"]["sessions_revoked"], 1);
    assert!(e["ip"].as_str().is_some_and(|ip| ip.starts_with("127.")), "{e}");

    let r = admin_post(&app, &format!("/api/admin/users/{}/unlock", target.id), &admin, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "active");
    assert_eq!(app.login(&target.email, PASSWORD).await.status(), 200);
    let events = audit(&app, &admin, &format!("type=account_unlocked&user_id={}", target.id)).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["details"]["was_active"], false);
}

/// Signs in again (after time moved on) and returns the access token.
async fn account_login(app: &TestApp, email: &str) -> String {
    let r = app.login(email, PASSWORD).await;
    assert_eq!(r.status(), 200);
    Tokens::from(r.json::<Value>().await.unwrap()).access
}

async fn admin_id(app: &TestApp, token: &str) -> Value {
    app.me(token).await.json::<Value>().await.unwrap()["id"].clone()
}

async fn bad_lock_requests_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = account(&app, "boss@example.com", Some("admin")).await;
    let token = &admin.tokens.access;
    expect_problem(
        admin_post(&app, &format!("/api/admin/users/{}/lock", admin.id), token, None).await,
        409,
        "cannot_lock_self",
    )
    .await;
    assert_eq!(app.me(token).await.status(), 200, "a refused lock changes nothing");
    expect_problem(
        admin_post(
            &app,
            &format!("/api/admin/users/{}/lock", uuid::Uuid::new_v4()),
            token,
            None,
        )
        .await,
        404,
        "user_not_found",
    )
    .await;
    let target = account(&app, "rahim@example.com", None).await;
    let body = expect_problem(
        admin_post(
            &app,
            &format!("/api/admin/users/{}/lock", target.id),
            token,
            Some(&json!({ "reason": "x".repeat(501) })),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(field_errors(&body), [("reason".to_string(), "too_long".to_string())]);
    let body = expect_problem(
        admin_post(&app, "/api/admin/users/12345/unlock", token, None).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(field_errors(&body), [("id".to_string(), "invalid_format".to_string())]);
    assert_eq!(
        app.me(&target.tokens.access).await.status(),
        200,
        "refused locks change nothing"
    );
}

async fn a_role_change_is_audited_and_ends_the_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = account(&app, "boss@example.com", Some("admin")).await;
    let target = account(&app, "rahim@example.com", None).await;
    let token = &admin.tokens.access;

    let r = put_role(&app, target.id, token, &json!({ "role": "moderator" })).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["role"], "moderator");
    // The old token said `user`: it stops working, and a new sign-in carries the new role.
    expect_problem(app.me(&target.tokens.access).await, 401, "session_revoked").await;
    let fresh = account_login(&app, &target.email).await;
    assert_eq!(claims(&fresh)["role"], "moderator");
    assert_eq!(claims(&fresh)["permissions"], json!(["audit:read", "users:read"]));
    assert_eq!(admin_get(&app, "/api/admin/users", &fresh).await.status(), 200);

    let events = audit(&app, token, &format!("type=role_changed&user_id={}", target.id)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let d = &events[0]["details"];
    assert_eq!(
        (d["from"].clone(), d["to"].clone()),
        (json!("user"), json!("moderator"))
    );
    assert_eq!(d["actor_id"], admin.id.to_string());

    for (body, code) in [
        (json!({ "role": "emperor" }), "unknown_role"),
        (json!({ "role": "Not A Role" }), "unknown_role"),
        (json!({}), "required"),
    ] {
        let problem = expect_problem(put_role(&app, target.id, token, &body).await, 422, "validation_failed").await;
        assert_eq!(
            field_errors(&problem),
            [("role".to_string(), code.to_string())],
            "{body}"
        );
    }
    expect_problem(
        put_role(&app, uuid::Uuid::new_v4(), token, &json!({ "role": "user" })).await,
        404,
        "user_not_found",
    )
    .await;
}

async fn the_last_admin_cannot_be_demoted_or_locked_away(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = account(&app, "first@example.com", Some("admin")).await;
    expect_problem(
        put_role(&app, first.id, &first.tokens.access, &json!({ "role": "user" })).await,
        409,
        "last_admin",
    )
    .await;
    assert_eq!(app.me(&first.tokens.access).await.status(), 200, "nothing changed");

    let second = account(&app, "second@example.com", Some("admin")).await;
    // With another admin, demoting yourself is allowed (and ends your sessions).
    let r = put_role(&app, first.id, &first.tokens.access, &json!({ "role": "moderator" })).await;
    assert_eq!(r.status(), 200);
    expect_problem(app.me(&first.tokens.access).await, 401, "session_revoked").await;
    // Now `second` is the last one.
    expect_problem(
        put_role(&app, second.id, &second.tokens.access, &json!({ "role": "user" })).await,
        409,
        "last_admin",
    )
    .await;
    let events = audit(&app, &second.tokens.access, "type=role_changed&outcome=failure").await;
    assert_eq!(events.len(), 2, "both refusals are audited: {events:?}");
    assert!(events.iter().all(|e| e["details"]["refused"] == "last_admin"));

    // A locked admin does not count: promote a third, lock it, and `second` is still the last.
    let third = account(&app, "third@example.com", Some("admin")).await;
    let r = admin_post(
        &app,
        &format!("/api/admin/users/{}/lock", third.id),
        &second.tokens.access,
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    expect_problem(
        put_role(&app, second.id, &second.tokens.access, &json!({ "role": "user" })).await,
        409,
        "last_admin",
    )
    .await;
}

async fn ending_sessions_stops_every_token_of_the_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = account(&app, "boss@example.com", Some("admin")).await;
    let target = account(&app, "rahim@example.com", None).await;
    let second = Tokens::from(app.login(&target.email, PASSWORD).await.json::<Value>().await.unwrap());
    let r = delete_sessions(&app, target.id, &admin.tokens.access).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["sessions_revoked"], 2);
    for tokens in [&target.tokens, &second] {
        expect_problem(app.me(&tokens.access).await, 401, "session_revoked").await;
        expect_problem(app.refresh(&tokens.refresh).await, 401, "session_revoked").await;
    }
    // The account itself still works.
    assert_eq!(app.login(&target.email, PASSWORD).await.status(), 200);
    let events = audit(&app, &admin.tokens.access, "type=sessions_revoked").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["user_id"], target.id.to_string());
    assert_eq!(events[0]["details"]["actor_id"], admin.id.to_string());
    expect_problem(
        delete_sessions(&app, uuid::Uuid::new_v4(), &admin.tokens.access).await,
        404,
        "user_not_found",
    )
    .await;
}

both!(
    a_lock_ends_the_sessions_and_stops_sign_in_until_unlocked,
    bad_lock_requests_are_refused,
    a_role_change_is_audited_and_ends_the_sessions,
    the_last_admin_cannot_be_demoted_or_locked_away,
    ending_sessions_stops_every_token_of_the_user,
);
