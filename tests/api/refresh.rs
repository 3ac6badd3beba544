//! POST /api/auth/refresh and /api/auth/logout: rotation, theft detection by reuse, the grace
//! window for retries (and for concurrent refreshes), refresh-token expiry, the absolute session
//! lifetime, and logout by access token or by refresh token.

use crate::both;
use crate::common::sql::scalar;
use crate::common::*;
use chrono::Duration;
use serde_json::{json, Value};

const LIVE_REFRESH_TOKENS: &str = "SELECT COUNT(*) FROM refresh_tokens WHERE used_at IS NULL AND revoked_at IS NULL";

async fn refreshed(app: &TestApp, refresh_token: &str) -> Tokens {
    let r = app.refresh(refresh_token).await;
    assert_eq!(r.status(), 200, "refresh failed: {}", r.text().await.unwrap());
    Tokens::from(r.json::<Value>().await.unwrap())
}

async fn logged_in_again(app: &TestApp, email: &str) -> Tokens {
    let r = app.login(email, PASSWORD).await;
    assert_eq!(r.status(), 200);
    Tokens::from(r.json::<Value>().await.unwrap())
}

fn claims(access: &str) -> Value {
    use base64::Engine;
    let payload = access.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn refresh_rotates_to_a_new_pair(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.signed_in("rahim@example.com").await;

    let second = refreshed(&app, &first.refresh).await;
    assert_ne!(second.refresh, first.refresh);
    assert_ne!(second.access, first.access);
    assert_eq!(second.body["token_type"], "Bearer");
    assert_eq!(second.body["expires_in"], 900);
    assert_eq!(second.body["refresh_expires_in"], 7 * 24 * 3600);
    assert_eq!(app.me(&second.access).await.status(), 200);
    assert_eq!(scalar(&app, LIVE_REFRESH_TOKENS).await, 1, "the old token is used up");
}

async fn refresh_keeps_the_session_and_auth_time_but_reissues_the_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.signed_in("rahim@example.com").await;
    let login_time = app.state.now().timestamp();

    app.advance(Duration::minutes(5));
    let second = refreshed(&app, &first.refresh).await;
    let (before, after) = (claims(&first.access), claims(&second.access));
    assert_eq!(after["sid"], before["sid"]);
    assert_eq!(
        after["auth_time"].as_i64(),
        Some(login_time),
        "refreshing is not signing in"
    );
    assert_eq!(after["iat"].as_i64(), Some(app.state.now().timestamp()));
    assert_ne!(after["jti"], before["jti"]);
}

async fn rotated_token_is_refused_after_the_grace_window(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.signed_in("rahim@example.com").await;
    refreshed(&app, &first.refresh).await;

    app.advance(Duration::seconds(11));
    expect_problem(app.refresh(&first.refresh).await, 401, "refresh_token_reused").await;
}

async fn reuse_after_the_grace_window_ends_the_whole_family(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.signed_in("rahim@example.com").await;
    let second = refreshed(&app, &first.refresh).await;
    app.advance(Duration::minutes(1));
    let newest = refreshed(&app, &second.refresh).await;

    app.advance(Duration::seconds(11));
    // Someone replays the stolen first token: the thief and the user both lose the session.
    expect_problem(app.refresh(&first.refresh).await, 401, "refresh_token_reused").await;
    expect_problem(app.refresh(&newest.refresh).await, 401, "session_revoked").await;
    expect_problem(app.me(&newest.access).await, 401, "session_revoked").await;
    assert_eq!(scalar(&app, LIVE_REFRESH_TOKENS).await, 0);

    let user = app
        .state
        .store
        .users()
        .by_email("rahim@example.com")
        .await
        .unwrap()
        .unwrap();
    let events = app.state.store.audit().for_user(user.id, 50).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event_type == "refresh_token_reuse_detected" && e.outcome == "failure"),
        "{events:?}"
    );
}

async fn retry_inside_the_grace_window_returns_the_same_pair(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.signed_in("rahim@example.com").await;
    let second = refreshed(&app, &first.refresh).await;

    app.advance(Duration::seconds(10));
    let retry = refreshed(&app, &first.refresh).await;
    assert_eq!(retry.access, second.access);
    assert_eq!(retry.refresh, second.refresh);
    assert_eq!(scalar(&app, LIVE_REFRESH_TOKENS).await, 1, "no second successor");
    // The session lives on: the successor rotates as usual.
    refreshed(&app, &second.refresh).await;
}

async fn retry_after_the_successor_was_rotated_is_reuse(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.signed_in("rahim@example.com").await;
    let second = refreshed(&app, &first.refresh).await;
    let third = refreshed(&app, &second.refresh).await;

    // Inside the grace window of `first`, but its successor is already spent: handing `second`
    // out again would bring a used family member back to life.
    expect_problem(app.refresh(&first.refresh).await, 401, "refresh_token_reused").await;
    expect_problem(app.refresh(&third.refresh).await, 401, "session_revoked").await;
}

async fn concurrent_refreshes_of_one_token_share_one_successor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.signed_in("rahim@example.com").await;

    let answers = futures::future::join_all((0..10).map(|_| app.refresh(&first.refresh))).await;
    let mut pairs = Vec::new();
    for r in answers {
        assert_eq!(r.status(), 200, "a parallel refresh was refused");
        pairs.push(Tokens::from(r.json::<Value>().await.unwrap()));
    }
    assert!(pairs.iter().all(|p| p.refresh == pairs[0].refresh), "successors differ");
    assert!(
        pairs.iter().all(|p| p.access == pairs[0].access),
        "access tokens differ"
    );
    assert_eq!(scalar(&app, LIVE_REFRESH_TOKENS).await, 1, "exactly one live successor");

    let next = refreshed(&app, &pairs[0].refresh).await;
    app.advance(Duration::seconds(11));
    expect_problem(app.refresh(&pairs[0].refresh).await, 401, "refresh_token_reused").await;
    expect_problem(app.refresh(&next.refresh).await, 401, "session_revoked").await;
}

async fn refresh_token_expires_after_seven_days(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let early = app.signed_in("rahim@example.com").await;
    let late = logged_in_again(&app, "rahim@example.com").await;

    app.advance(Duration::days(7) - Duration::seconds(1));
    refreshed(&app, &early.refresh).await;
    app.advance(Duration::seconds(2));
    expect_problem(app.refresh(&late.refresh).await, 401, "refresh_token_expired").await;
}

async fn session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |cfg| {
        cfg.session_max_lifetime = Duration::days(1);
        cfg.refresh_token_ttl = Duration::hours(1);
    })
    .await;
    let mut tokens = app.signed_in("rahim@example.com").await;
    let end = app.state.now() + Duration::days(1);

    while app.state.now() + Duration::minutes(50) < end {
        app.advance(Duration::minutes(50));
        tokens = refreshed(&app, &tokens.refresh).await;
    }
    // The last refresh token may not outlive the session.
    let left = (end - app.state.now()).num_seconds();
    assert_eq!(tokens.body["refresh_expires_in"], left);

    app.advance(Duration::minutes(50));
    expect_problem(app.refresh(&tokens.refresh).await, 401, "session_expired").await;
}

async fn logout_with_the_access_token_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;

    let r = app.post_json_auth("/api/auth/logout", &tokens.access, &json!({})).await;
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    expect_problem(app.refresh(&tokens.refresh).await, 401, "session_revoked").await;
    expect_problem(app.me(&tokens.access).await, 401, "session_revoked").await;
}

async fn logout_with_only_the_refresh_token_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;

    let r = app
        .post_json("/api/auth/logout", &json!({ "refresh_token": tokens.refresh }))
        .await;
    assert_eq!(r.status(), 204);
    expect_problem(app.me(&tokens.access).await, 401, "session_revoked").await;
    expect_problem(app.refresh(&tokens.refresh).await, 401, "session_revoked").await;
}

async fn logout_leaves_the_users_other_sessions_working(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let phone = app.signed_in("rahim@example.com").await;
    let laptop = logged_in_again(&app, "rahim@example.com").await;

    let r = app.post_json_auth("/api/auth/logout", &phone.access, &json!({})).await;
    assert_eq!(r.status(), 204);
    expect_problem(app.me(&phone.access).await, 401, "session_revoked").await;
    assert_eq!(app.me(&laptop.access).await.status(), 200);
    refreshed(&app, &laptop.refresh).await;
}

async fn logout_without_a_token_is_missing_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.send(app.client.post(app.url("/api/auth/logout"))).await;
    expect_problem(r, 401, "missing_token").await;
}

async fn logout_with_an_unknown_refresh_token_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app
        .post_json("/api/auth/logout", &json!({ "refresh_token": "not-a-token-we-issued" }))
        .await;
    expect_problem(r, 401, "invalid_refresh_token").await;
}

async fn unknown_refresh_token_is_invalid_refresh_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let r = app.refresh(&format!("{}x", tokens.refresh)).await;
    expect_problem(r, 401, "invalid_refresh_token").await;
    // An access token is not a refresh token either.
    expect_problem(app.refresh(&tokens.access).await, 401, "invalid_refresh_token").await;
}

async fn refresh_without_a_token_is_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for body in [json!({}), json!({ "refresh_token": "  " })] {
        let body = expect_problem(
            app.post_json("/api/auth/refresh", &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(
            field_errors(&body),
            vec![("refresh_token".to_string(), "required".to_string())]
        );
    }
}

both!(
    refresh_rotates_to_a_new_pair,
    refresh_keeps_the_session_and_auth_time_but_reissues_the_token,
    rotated_token_is_refused_after_the_grace_window,
    reuse_after_the_grace_window_ends_the_whole_family,
    retry_inside_the_grace_window_returns_the_same_pair,
    retry_after_the_successor_was_rotated_is_reuse,
    concurrent_refreshes_of_one_token_share_one_successor,
    refresh_token_expires_after_seven_days,
    session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed,
    logout_with_the_access_token_ends_the_session,
    logout_with_only_the_refresh_token_ends_the_session,
    logout_leaves_the_users_other_sessions_working,
    logout_without_a_token_is_missing_token,
    logout_with_an_unknown_refresh_token_is_refused,
    unknown_refresh_token_is_invalid_refresh_token,
    refresh_without_a_token_is_422,
);
