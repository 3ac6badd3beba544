//! Deleting an account: by its owner with proof of ownership, or by an admin; never the last
//! admin; every token dead at once; the address told and free to register again.

use crate::admin_support::{account, audit};
use crate::both;
use crate::common::social::Kind;
use crate::common::*;
use crate::{mfa_support, social_support};
use chrono::Duration;
use serde_json::{json, Value};
use uuid::Uuid;

const EMAIL: &str = "rahim@example.com";

async fn delete_me(app: &TestApp, access: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = app.client.delete(app.url("/api/auth/me")).bearer_auth(access);
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await
}

async fn admin_delete(app: &TestApp, token: &str, user: Uuid) -> reqwest::Response {
    app.send(
        app.client
            .delete(app.url(&format!("/api/admin/users/{user}")))
            .bearer_auth(token),
    )
    .await
}

async fn the_owner_deletes_the_account_and_every_token_dies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.signed_in(EMAIL).await;
    let other = Tokens::from(app.login(EMAIL, PASSWORD).await.json::<Value>().await.unwrap());
    let id = app.state.store.users().by_email(EMAIL).await.unwrap().unwrap().id;

    let r = delete_me(&app, &t.access, Some(json!({ "current_password": PASSWORD }))).await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    expect_problem(app.me(&t.access).await, 401, "session_revoked").await;
    expect_problem(app.me(&other.access).await, 401, "session_revoked").await;
    assert_eq!(app.refresh(&other.refresh).await.status(), 401);
    expect_problem(app.login(EMAIL, PASSWORD).await, 401, "invalid_credentials").await;
    let mail = app.mail_to(EMAIL, 1).await;
    assert!(mail.subject.contains("was deleted"), "{}", mail.subject);

    // The trail stays; the address is free again.
    let events = app.state.store.audit().for_user(id, 50).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event_type == "account_deleted" && e.outcome == "success"),
        "{events:?}"
    );
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM sessions WHERE amr <> $1", "").await,
        0
    );
    app.register_verified(EMAIL).await;
    assert_eq!(app.login(EMAIL, PASSWORD).await.status(), 200);
}

async fn deleting_needs_the_current_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.signed_in(EMAIL).await;
    let body = expect_problem(delete_me(&app, &t.access, None).await, 422, "validation_failed").await;
    assert_eq!(
        field_errors(&body),
        vec![("current_password".into(), "required".into())]
    );
    let wrong = json!({ "current_password": "not the password at all" });
    let body = expect_problem(delete_me(&app, &t.access, Some(wrong)).await, 422, "validation_failed").await;
    assert_eq!(
        field_errors(&body),
        vec![("current_password".into(), "invalid_current_password".into())]
    );
    let r = app
        .send(
            app.client
                .delete(app.url("/api/auth/me"))
                .bearer_auth(&t.access)
                .header("content-type", "text/plain")
                .body("current_password"),
        )
        .await;
    expect_problem(r, 415, "unsupported_media_type").await;
    expect_problem(
        app.send(app.client.delete(app.url("/api/auth/me"))).await,
        401,
        "missing_token",
    )
    .await;
    assert_eq!(app.me(&t.access).await.status(), 200);
    assert_eq!(app.login(EMAIL, PASSWORD).await.status(), 200);
}

async fn an_mfa_user_needs_a_recent_second_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = mfa_support::totp_user(&app).await;
    app.advance(Duration::minutes(11));
    let body = json!({ "current_password": PASSWORD });
    expect_problem(
        delete_me(&app, &user.tokens.access, Some(body.clone())).await,
        403,
        "mfa_step_up_required",
    )
    .await;
    let code = mfa_support::totp_now(&app, &user.secret);
    let stepped: Value = mfa_support::step_up(&app, &user.tokens.access, "totp", &code)
        .await
        .json()
        .await
        .unwrap();
    let r = delete_me(&app, stepped["access_token"].as_str().unwrap(), Some(body)).await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM mfa_factors WHERE method <> $1", "")
            .await,
        0
    );
}

async fn an_account_without_a_password_needs_a_fresh_provider_sign_in(backend: Backend) {
    let (app, _standin) = social_support::spawn(backend, Kind::GitHub).await;
    let exchange = |code: String| {
        let app = &app;
        async move {
            let r = app
                .post_json("/api/auth/oauth/exchange", &json!({ "code": code }))
                .await;
            let body: Value = r.json().await.unwrap();
            body["access_token"].as_str().unwrap().to_string()
        }
    };
    let stale = exchange(social_support::sign_in_code(&app, Kind::GitHub).await).await;
    app.advance(Duration::minutes(11));
    expect_problem(delete_me(&app, &stale, None).await, 403, "reauthentication_required").await;

    let fresh = exchange(social_support::sign_in_code(&app, Kind::GitHub).await).await;
    assert_eq!(delete_me(&app, &fresh, None).await.status(), 204);
    assert_eq!(social_support::identities(&app, "github").await, 0);
    // Signing in through the provider again makes a new account.
    let profile = social_support::signed_in_profile(&app, Kind::GitHub).await;
    assert_eq!(profile["email"], "social@example.com");
}

async fn the_last_admin_cannot_delete_themselves(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = account(&app, "admin@example.com", Some("admin")).await;
    let body = json!({ "current_password": PASSWORD });
    expect_problem(
        delete_me(&app, &admin.tokens.access, Some(body.clone())).await,
        409,
        "last_admin",
    )
    .await;
    assert_eq!(app.me(&admin.tokens.access).await.status(), 200);

    account(&app, "second.admin@example.com", Some("admin")).await;
    assert_eq!(delete_me(&app, &admin.tokens.access, Some(body)).await.status(), 204);
}

async fn an_admin_deletes_an_account_and_others_may_not(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = account(&app, "admin@example.com", Some("admin")).await;
    let moderator = account(&app, "mod@example.com", Some("moderator")).await;
    let user = account(&app, EMAIL, None).await;

    expect_problem(
        admin_delete(&app, &user.tokens.access, admin.id).await,
        403,
        "permission_denied",
    )
    .await;
    expect_problem(
        admin_delete(&app, &moderator.tokens.access, user.id).await,
        403,
        "permission_denied",
    )
    .await;
    expect_problem(
        admin_delete(&app, &admin.tokens.access, admin.id).await,
        409,
        "cannot_delete_self",
    )
    .await;
    expect_problem(
        admin_delete(&app, &admin.tokens.access, Uuid::new_v4()).await,
        404,
        "user_not_found",
    )
    .await;
    assert_eq!(app.me(&user.tokens.access).await.status(), 200);

    assert_eq!(admin_delete(&app, &admin.tokens.access, user.id).await.status(), 204);
    expect_problem(app.me(&user.tokens.access).await, 401, "session_revoked").await;
    expect_problem(
        admin_delete(&app, &admin.tokens.access, user.id).await,
        404,
        "user_not_found",
    )
    .await;
    let events = audit(
        &app,
        &admin.tokens.access,
        &format!("type=account_deleted&user_id={}", user.id),
    )
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["details"]["by"], "admin");
    assert_eq!(events[0]["details"]["actor_id"], admin.id.to_string());
    assert!(app.mail_to(EMAIL, 1).await.subject.contains("was deleted"));
}

both!(
    the_owner_deletes_the_account_and_every_token_dies,
    deleting_needs_the_current_password,
    an_mfa_user_needs_a_recent_second_factor,
    an_account_without_a_password_needs_a_fresh_provider_sign_in,
    the_last_admin_cannot_delete_themselves,
    an_admin_deletes_an_account_and_others_may_not,
);
