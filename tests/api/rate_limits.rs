//! Rate limits: 429 with Retry-After and problem+json once a limit is spent, per IP, per
//! account + IP and per address; X-Forwarded-For believed only from TRUSTED_PROXIES; one limit
//! across instances sharing Redis; memory when Redis does not answer, Redis again once it does.

use crate::both;
use crate::common::*;
use chrono::Duration;
use gatehouse::ratelimit::{Rate, RateLimitSettings};
use serde_json::{json, Value};

fn only(settings: impl FnOnce(&mut RateLimitSettings)) -> RateLimitSettings {
    let mut s = RateLimitSettings::off();
    settings(&mut s);
    s
}

/// The whole seconds a 429 asks the client to wait, after checking the answer's shape.
async fn expect_rate_limited(r: reqwest::Response) -> i64 {
    let retry_after: i64 = r
        .headers()
        .get("retry-after")
        .expect("a 429 carries Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is a number of seconds");
    let body = expect_problem(r, 429, "rate_limited").await;
    assert!(retry_after >= 1, "{retry_after}");
    assert!(body["detail"].as_str().unwrap().contains("try again"), "{body}");
    retry_after
}

async fn register_as(app: &TestApp, email: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/api/auth/register"))
        .json(&registration(email));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    app.send(request).await
}

async fn registration_is_limited_per_ip_until_retry_after(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.rate_limits = only(|s| s.register = Some(Rate::per_minute(3)));
    })
    .await;
    for n in 0..3 {
        let r = register_as(&app, &format!("user{n}@example.com"), None).await;
        assert_eq!(r.status(), 201);
    }
    let wait = expect_rate_limited(register_as(&app, "user3@example.com", None).await).await;
    assert!(wait <= 60, "a 3/minute limit never asks for more than a minute: {wait}");
    app.advance(Duration::seconds(wait - 1));
    expect_rate_limited(register_as(&app, "user3@example.com", None).await).await;
    app.advance(Duration::seconds(1));
    assert_eq!(register_as(&app, "user3@example.com", None).await.status(), 201);
}

async fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.rate_limits = only(|s| s.register = Some(Rate::per_minute(1)));
    })
    .await;
    assert_eq!(
        register_as(&app, "a@example.com", Some("198.51.100.1")).await.status(),
        201
    );
    // A client cannot become someone else by sending the header itself.
    expect_rate_limited(register_as(&app, "b@example.com", Some("198.51.100.2")).await).await;

    let proxied = TestApp::spawn_configured(backend, |c| {
        c.rate_limits = only(|s| s.register = Some(Rate::per_minute(1)));
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    assert_eq!(
        register_as(&proxied, "a@example.com", Some("198.51.100.1"))
            .await
            .status(),
        201
    );
    assert_eq!(
        register_as(&proxied, "b@example.com", Some("198.51.100.2"))
            .await
            .status(),
        201
    );
    // A forged first hop does not help: the proxy appended the real client last.
    expect_rate_limited(register_as(&proxied, "c@example.com", Some("203.0.113.9, 198.51.100.2")).await).await;
    // And the resolved address is what the session list and audit trail record.
    proxied.register_verified("d@example.com").await;
    let r = proxied
        .send(
            proxied
                .client
                .post(proxied.url("/api/auth/login"))
                .header("x-forwarded-for", "192.0.2.44")
                .json(&json!({"email": "d@example.com", "password": PASSWORD})),
        )
        .await;
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    let sessions: Vec<Value> = proxied
        .get_auth("/api/auth/sessions", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions[0]["ip"], "192.0.2.44", "{sessions:?}");
}

async fn login_is_limited_per_account_and_ip(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.rate_limits = only(|s| s.login = Some(Rate::per_minute(3)));
    })
    .await;
    app.register_verified("rahim@example.com").await;
    app.register_verified("karim@example.com").await;
    for _ in 0..3 {
        assert_eq!(app.login("rahim@example.com", PASSWORD).await.status(), 200);
    }
    expect_rate_limited(app.login("rahim@example.com", PASSWORD).await).await;
    // The same account by username or another address of the same IP is another account.
    assert_eq!(app.login("karim@example.com", PASSWORD).await.status(), 200);
    // The token endpoint is the same sign-in and shares the count.
    let r = app
        .send(app.client.post(app.url("/api/auth/token")).form(&[
            ("grant_type", "password"),
            ("username", "rahim@example.com"),
            ("password", PASSWORD),
        ]))
        .await;
    expect_rate_limited(r).await;
}

async fn the_overall_per_ip_limit_spares_health_checks(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.rate_limits = only(|s| s.per_ip = Some(Rate::per_minute(4)));
    })
    .await;
    for _ in 0..4 {
        assert_eq!(app.get("/api/auth/me").await.status(), 401);
    }
    expect_rate_limited(app.get("/api/auth/me").await).await;
    expect_rate_limited(app.login("rahim@example.com", PASSWORD).await).await;
    assert_eq!(app.get("/health").await.status(), 200);
    assert_eq!(app.get("/.well-known/jwks.json").await.status(), 200);
    app.advance(Duration::minutes(2));
    assert_eq!(app.get("/api/auth/me").await.status(), 401);
}

async fn mail_requests_are_limited_per_address_whether_or_not_it_has_an_account(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.rate_limits = only(|s| {
            s.password_reset = Some(Rate::per_hour(2));
            s.email = Some(Rate::per_hour(1));
        });
    })
    .await;
    app.register_verified("rahim@example.com").await;
    for address in ["rahim@example.com", "nobody@example.com"] {
        for _ in 0..2 {
            let r = app
                .post_json("/api/auth/forgot-password", &json!({ "email": address }))
                .await;
            assert_eq!(r.status(), 202);
        }
        let wait = expect_rate_limited(
            app.post_json("/api/auth/forgot-password", &json!({ "email": address }))
                .await,
        )
        .await;
        assert!(wait > 60 && wait <= 3600, "{wait}");
    }
    // Another address is counted on its own; case and spelling variants are the same address.
    let r = app
        .post_json("/api/auth/forgot-password", &json!({ "email": "karim@example.com" }))
        .await;
    assert_eq!(r.status(), 202);
    let r = app
        .post_json("/api/auth/forgot-password", &json!({ "email": "RAHIM@example.com" }))
        .await;
    expect_rate_limited(r).await;
    // New verification mails and sign-in codes share RATE_LIMIT_EMAIL.
    let r = app
        .post_json("/api/auth/otp/request", &json!({ "email": "rahim@example.com" }))
        .await;
    assert_eq!(r.status(), 202);
    let r = app
        .post_json(
            "/api/auth/resend-verification",
            &json!({ "email": "rahim@example.com" }),
        )
        .await;
    expect_rate_limited(r).await;
    // A malformed address is a 422, not a count.
    let r = app
        .post_json("/api/auth/otp/request", &json!({ "email": "not an address" }))
        .await;
    expect_problem(r, 422, "validation_failed").await;
}

both!(
    registration_is_limited_per_ip_until_retry_after,
    forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy,
    login_is_limited_per_account_and_ip,
    the_overall_per_ip_limit_spares_health_checks,
    mail_requests_are_limited_per_address_whether_or_not_it_has_an_account,
);
