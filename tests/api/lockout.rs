//! Failed-login lockout: locked after LOCKOUT_THRESHOLD failures, unlocked by time (injected
//! clock) or by the link mailed to the owner, counted per account + IP before the count over
//! all IPs, and alike for accounts that do not exist.

use crate::both;
use crate::common::*;
use chrono::Duration;
use gatehouse::config::Config;
use serde_json::{json, Value};

const WRONG: &str = "not the password at all";

async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> reqwest::Response {
    app.send(
        app.client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({ "email": email, "password": password })),
    )
    .await
}

async fn fail(app: &TestApp, email: &str, times: usize) {
    for _ in 0..times {
        expect_problem(app.login(email, WRONG).await, 401, "invalid_credentials").await;
    }
}

/// Asserts `429 account_locked` and returns Retry-After in seconds.
async fn expect_locked(r: reqwest::Response) -> i64 {
    let retry_after: i64 = r
        .headers()
        .get("retry-after")
        .expect("a lock says when it ends")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = expect_problem(r, 429, "account_locked").await;
    assert!(body["detail"].as_str().unwrap().contains("unlock link"), "{body}");
    retry_after
}

fn unlock_token(mail: &crate::common::smtp::CapturedMail) -> String {
    link_token(mail, "/unlock-account")
}

async fn event_types(app: &TestApp, email: &str) -> Vec<String> {
    let user = app.state.store.users().by_email(email).await.unwrap().unwrap();
    let events = app.state.store.audit().for_user(user.id, 100).await.unwrap();
    events.into_iter().map(|e| e.event_type).collect()
}

async fn five_failures_lock_the_account_and_mail_an_unlock_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let mails_before = app.smtp.messages_to("rahim@example.com").len();
    fail(&app, "rahim@example.com", 5).await;
    // Now even the right password is refused, and says for how long.
    let wait = expect_locked(app.login("rahim@example.com", PASSWORD).await).await;
    assert!((1790..=1800).contains(&wait), "LOCKOUT_DURATION is 30 minutes: {wait}");
    let mail = app.mail_to("rahim@example.com", mails_before).await;
    assert!(mail.subject.contains("paused"), "{}", mail.subject);
    assert!(mail.text.contains("5 times"), "{}", mail.text);
    assert!(mail.text.contains("127.0.0.1"), "{}", mail.text);
    // The link opens a page with a button; only the POST unlocks (mail scanners use GET).
    let token = unlock_token(&mail);
    let page = app.get(&format!("/unlock-account?token={token}")).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Unlock my account"));
    expect_locked(app.login("rahim@example.com", PASSWORD).await).await;
    let done = app
        .send(
            app.client
                .post(app.url("/unlock-account"))
                .form(&[("token", token.as_str())]),
        )
        .await;
    assert_eq!(done.status(), 200);
    assert_eq!(app.login("rahim@example.com", PASSWORD).await.status(), 200);
    // The link works once.
    let again = app.post_json("/api/auth/unlock", &json!({ "token": token })).await;
    expect_problem(again, 400, "token_used").await;
    let types = event_types(&app, "rahim@example.com").await;
    assert!(types.iter().any(|t| t == "account_locked"), "{types:?}");
    assert!(types.iter().any(|t| t == "account_unlocked"), "{types:?}");
}

async fn the_lock_ends_by_itself_after_lockout_duration(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c: &mut Config| {
        c.lockout.threshold = 3;
        c.lockout.duration = Duration::minutes(10);
    })
    .await;
    app.register_verified("rahim@example.com").await;
    fail(&app, "rahim@example.com", 3).await;
    expect_locked(app.login("rahim@example.com", PASSWORD).await).await;
    app.advance(Duration::minutes(10) - Duration::seconds(2));
    expect_locked(app.login("rahim@example.com", PASSWORD).await).await;
    app.advance(Duration::seconds(3));
    assert_eq!(app.login("rahim@example.com", PASSWORD).await.status(), 200);
    // After the lock the count starts again from zero.
    fail(&app, "rahim@example.com", 2).await;
    assert_eq!(app.login("rahim@example.com", PASSWORD).await.status(), 200);
}

async fn a_successful_login_resets_the_count(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    fail(&app, "rahim@example.com", 4).await;
    assert_eq!(app.login("rahim@example.com", PASSWORD).await.status(), 200);
    fail(&app, "rahim@example.com", 4).await;
    assert_eq!(app.login("rahim@example.com", PASSWORD).await.status(), 200);
    let types = event_types(&app, "rahim@example.com").await;
    assert!(!types.iter().any(|t| t == "account_locked"), "{types:?}");
}

async fn an_attacker_locks_only_their_own_address_out(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c: &mut Config| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        c.lockout.account_threshold = 12;
    })
    .await;
    app.register_verified("rahim@example.com").await;
    for _ in 0..5 {
        let r = login_from(&app, "198.51.100.66", "rahim@example.com", WRONG).await;
        expect_problem(r, 401, "invalid_credentials").await;
    }
    expect_locked(login_from(&app, "198.51.100.66", "rahim@example.com", PASSWORD).await).await;
    // The owner, elsewhere, signs in as usual (which clears the count over all addresses, but
    // not the attacker's own lock).
    assert_eq!(
        login_from(&app, "203.0.113.10", "rahim@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    expect_locked(login_from(&app, "198.51.100.66", "rahim@example.com", PASSWORD).await).await;
    // Only a guessing attack from many addresses locks the account for everyone.
    for n in 0..12 {
        let ip = format!("198.51.100.{}", 100 + n / 4);
        let r = login_from(&app, &ip, "rahim@example.com", WRONG).await;
        assert_eq!(r.status(), 401);
    }
    expect_locked(login_from(&app, "203.0.113.10", "rahim@example.com", PASSWORD).await).await;
    // The owner's unlock link lifts every lock at once.
    // Mail 0 confirmed the address, 1 reported the first lock, 2 this one.
    let newest = app.mail_to("rahim@example.com", 2).await;
    assert!(newest.text.contains("12 times"), "{}", newest.text);
    let token = unlock_token(&newest);
    let r = app.post_json("/api/auth/unlock", &json!({ "token": token })).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        login_from(&app, "198.51.100.66", "rahim@example.com", PASSWORD)
            .await
            .status(),
        200
    );
}

async fn unknown_accounts_lock_exactly_like_real_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    fail(&app, "rahim@example.com", 5).await;
    fail(&app, "ghost@example.com", 5).await;
    let real: Value = app.login("rahim@example.com", WRONG).await.json().await.unwrap();
    let ghost_response = app.login("ghost@example.com", WRONG).await;
    let ghost_wait = ghost_response.headers().get("retry-after").cloned();
    let ghost: Value = ghost_response.json().await.unwrap();
    assert_eq!(real, ghost, "a lock must not reveal whether the account exists");
    assert!(ghost_wait.is_some());
    // Nobody is mailed about an account that does not exist.
    assert!(app.smtp.messages_to("ghost@example.com").is_empty());
}

async fn the_token_endpoint_reports_the_lock_as_an_oauth_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    fail(&app, "rahim@example.com", 5).await;
    let r = app
        .send(app.client.post(app.url("/api/auth/token")).form(&[
            ("grant_type", "password"),
            ("username", "rahim@example.com"),
            ("password", PASSWORD),
        ]))
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert_eq!(body["code"], "account_locked", "{body}");
}

async fn bad_unlock_tokens_are_refused_clearly(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.post_json("/api/auth/unlock", &json!({ "token": "made-up" })).await;
    expect_problem(r, 400, "invalid_token").await;
    let r = app.post_json("/api/auth/unlock", &json!({})).await;
    let body = expect_problem(r, 422, "validation_failed").await;
    assert_eq!(field_errors(&body), vec![("token".to_string(), "required".to_string())]);
    let page = app.get("/unlock-account").await;
    assert_eq!(page.status(), 400);
}

async fn an_admin_unlock_also_lifts_a_failed_login_lock(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = crate::admin_support::account(&app, "boss@example.com", Some("admin")).await;
    let target = crate::admin_support::account(&app, "rahim@example.com", None).await;
    fail(&app, "rahim@example.com", 5).await;
    expect_locked(app.login("rahim@example.com", PASSWORD).await).await;
    let r = crate::admin_support::admin_post(
        &app,
        &format!("/api/admin/users/{}/unlock", target.id),
        &admin.tokens.access,
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.login("rahim@example.com", PASSWORD).await.status(), 200);
}

async fn the_hourly_sweep_forgets_old_failures(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    fail(&app, "ghost@example.com", 2).await;
    let rows = "SELECT COUNT(*) FROM login_failures WHERE subject LIKE $1";
    assert_eq!(
        app.sql_count(rows, "name:%").await,
        2,
        "one row for this IP, one for all"
    );
    app.state.audit_retention.sweep().await.unwrap();
    assert_eq!(app.sql_count(rows, "name:%").await, 2, "recent failures still count");
    app.advance(Duration::minutes(31));
    let report = app.state.audit_retention.sweep().await.unwrap();
    assert_eq!(report.login_failures_pruned, 2);
    assert_eq!(app.sql_count(rows, "name:%").await, 0);
}

both!(
    five_failures_lock_the_account_and_mail_an_unlock_link,
    the_lock_ends_by_itself_after_lockout_duration,
    a_successful_login_resets_the_count,
    an_attacker_locks_only_their_own_address_out,
    unknown_accounts_lock_exactly_like_real_ones,
    the_token_endpoint_reports_the_lock_as_an_oauth_error,
    bad_unlock_tokens_are_refused_clearly,
    an_admin_unlock_also_lifts_a_failed_login_lock,
    the_hourly_sweep_forgets_old_failures,
);
