//! Access tokens checked from in-memory copies (AUTH_CACHE): two instances on one database,
//! each keeping its own copies. A change on one instance, or made outside gatehouse, must be
//! refused on the other within the documented bound (1 s), and while the change feed cannot be
//! read every request must read the database again.

use crate::both;
use crate::common::instances::Instance;
use crate::common::sql::execute;
use crate::common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The bound the README promises.
const BOUND: Duration = Duration::from_secs(1);

async fn me_on(app: &TestApp, on: &Instance, access: &str) -> reqwest::Response {
    app.send(app.client.get(on.url("/api/auth/me")).bearer_auth(access))
        .await
}

/// Whether `on` answers from its copies now (the gauge in /metrics).
async fn current(app: &TestApp, on: &Instance) -> bool {
    let text = app.send(app.client.get(on.url("/metrics"))).await.text().await.unwrap();
    text.lines().any(|l| l == "gatehouse_auth_cache_current 1")
}

/// The other instance, once its change feed is current, with `access` copied there.
async fn warm(app: &TestApp, access: &str) -> Instance {
    let other = app.second_instance().await;
    eventually("the second instance's feed to be current", async || {
        current(app, &other).await
    })
    .await;
    for _ in 0..2 {
        assert_eq!(me_on(app, &other, access).await.status(), 200);
    }
    other
}

/// Polls `/api/auth/me` on `on` until it stops answering 200; returns how long that took.
async fn refused_within(app: &TestApp, on: &Instance, access: &str) -> (Duration, reqwest::Response) {
    let started = Instant::now();
    loop {
        let r = me_on(app, on, access).await;
        if r.status() != 200 || started.elapsed() > Duration::from_secs(10) {
            return (started.elapsed(), r);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn a_logout_on_one_instance_is_refused_on_the_other_within_the_bound(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let other = warm(&app, &tokens.access).await;
    let r = app
        .send(app.client.post(app.url("/api/auth/logout")).bearer_auth(&tokens.access))
        .await;
    assert_eq!(r.status(), 204);
    let (took, r) = refused_within(&app, &other, &tokens.access).await;
    expect_problem(r, 401, "session_revoked").await;
    assert!(took < BOUND, "the other instance refused the token after {took:?}");
    // On the instance that logged out, at once.
    expect_problem(app.me(&tokens.access).await, 401, "session_revoked").await;
}

async fn password_and_profile_changes_reach_the_other_copies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.signed_in("rahim@example.com").await;
    let second: Value = app.login("rahim@example.com", PASSWORD).await.json().await.unwrap();
    let second = Tokens::from(second);
    let other = warm(&app, &first.access).await;
    assert_eq!(me_on(&app, &other, &second.access).await.status(), 200);

    // A profile change on this instance: the other's copy of the account is dropped too.
    let r = app
        .send(
            app.client
                .patch(app.url("/api/auth/me"))
                .bearer_auth(&first.access)
                .json(&json!({ "first_name": "Karima" })),
        )
        .await;
    assert_eq!(r.status(), 200);
    let started = Instant::now();
    eventually("the new name on the other instance", async || {
        let me: Value = me_on(&app, &other, &first.access).await.json().await.unwrap();
        me["first_name"] == "Karima"
    })
    .await;
    assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());

    // A password change from the first session ends the second one, everywhere.
    let r = app
        .send(
            app.client
                .put(app.url("/api/auth/change-password"))
                .bearer_auth(&first.access)
                .json(&json!({ "current_password": PASSWORD, "new_password": "a brand new passphrase 42" })),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let (took, r) = refused_within(&app, &other, &second.access).await;
    expect_problem(r, 401, "session_revoked").await;
    assert!(took < BOUND, "{took:?}");
    assert_eq!(me_on(&app, &other, &first.access).await.status(), 200);
}

async fn a_change_made_outside_gatehouse_reaches_the_copies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let other = warm(&app, &tokens.access).await;
    assert_eq!(app.me(&tokens.access).await.status(), 200);
    // An operator's SQL (or the admin CLI beside the server): no gatehouse write path ran.
    execute(&app, "UPDATE users SET is_active = FALSE").await;
    execute(&app, "UPDATE sessions SET revoked_at = expires_at").await;
    for on in [None, Some(&other)] {
        let started = Instant::now();
        let r = loop {
            let r = match on {
                Some(on) => me_on(&app, on, &tokens.access).await,
                None => app.me(&tokens.access).await,
            };
            if r.status() != 200 || started.elapsed() > Duration::from_secs(10) {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        expect_problem(r, 401, "session_revoked").await;
        assert!(started.elapsed() < BOUND, "{:?}", started.elapsed());
    }
}

async fn while_the_feed_cannot_be_read_every_request_reads_the_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let other = warm(&app, &tokens.access).await;
    // The feed's reads fail (the column they order by is gone); the triggers still record.
    execute(&app, "ALTER TABLE row_changes RENAME COLUMN seq TO seq_cut").await;
    eventually("the other instance to stop trusting its copies", async || {
        !current(&app, &other).await
    })
    .await;
    // A logout now is refused on the other instance at the very next request: it reads the
    // database, since it cannot know what changed.
    let r = app
        .send(app.client.post(app.url("/api/auth/logout")).bearer_auth(&tokens.access))
        .await;
    assert_eq!(r.status(), 204);
    expect_problem(me_on(&app, &other, &tokens.access).await, 401, "session_revoked").await;

    // The feed back: the copies are used again, and changes still arrive.
    execute(&app, "ALTER TABLE row_changes RENAME COLUMN seq_cut TO seq").await;
    eventually("the other instance to trust its copies again", async || {
        current(&app, &other).await
    })
    .await;
    let fresh = app.signed_in("karim@example.com").await;
    assert_eq!(me_on(&app, &other, &fresh.access).await.status(), 200);
    let r = app
        .send(app.client.post(app.url("/api/auth/logout")).bearer_auth(&fresh.access))
        .await;
    assert_eq!(r.status(), 204);
    let (took, r) = refused_within(&app, &other, &fresh.access).await;
    expect_problem(r, 401, "session_revoked").await;
    assert!(took < BOUND, "{took:?}");
}

both!(
    a_logout_on_one_instance_is_refused_on_the_other_within_the_bound,
    password_and_profile_changes_reach_the_other_copies,
    a_change_made_outside_gatehouse_reaches_the_copies,
    while_the_feed_cannot_be_read_every_request_reads_the_database,
);
