//! `/metrics`: Prometheus text with request, latency and sign-in counters labelled by route
//! template, the outbox depth, and the optional `METRICS_TOKEN`.

use crate::both;
use crate::common::*;

async fn scrape(app: &TestApp) -> String {
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(r
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    r.text().await.unwrap()
}

/// The value of the sample whose line starts with `series` (name and labels, exactly).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.split(' ').next().unwrap().parse().unwrap())
}

async fn logins_and_requests_are_counted_by_route_template(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    app.login("rahim@example.com", PASSWORD).await;
    app.login("rahim@example.com", "not the password at all").await;
    app.login("nobody@example.com", "not the password at all").await;
    let session = uuid::Uuid::new_v4();
    app.send(
        app.client
            .delete(app.url(&format!("/api/auth/sessions/{session}")))
            .bearer_auth(&tokens.access),
    )
    .await;
    app.get("/no/such/page/12345").await;

    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, r#"gatehouse_logins_total{outcome="success",method="pwd"}"#),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"gatehouse_logins_total{outcome="failure",method="pwd"}"#),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"gatehouse_http_requests_total{method="POST",route="/api/auth/login",status="200"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"gatehouse_http_requests_total{method="POST",route="/api/auth/login",status="401"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"gatehouse_http_request_duration_seconds_count{method="POST",route="/api/auth/login"}"#
        ),
        Some(4.0)
    );
    // Route templates, never raw paths: the ids sent do not become label values.
    assert_eq!(
        sample(
            &text,
            r#"gatehouse_http_requests_total{method="DELETE",route="/api/auth/sessions/{id}",status="404"}"#
        ),
        Some(1.0)
    );
    assert!(
        !text.contains(&session.to_string()) && !text.contains("12345"),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"gatehouse_http_requests_total{method="GET",route="unmatched",status="404"}"#
        ),
        Some(1.0)
    );
    assert!(sample(&text, "gatehouse_outbox_depth").is_some(), "{text}");
    assert_eq!(
        sample(&text, "gatehouse_rate_limited_requests_total"),
        Some(0.0),
        "exposed even if 0"
    );
}

async fn rate_limited_requests_are_counted_by_limit(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.rate_limits.register = Some(gatehouse::ratelimit::Rate::per_minute(1));
    })
    .await;
    assert_eq!(app.register(&registration("a@example.com")).await.status(), 201);
    assert_eq!(app.register(&registration("b@example.com")).await.status(), 429);
    assert_eq!(app.register(&registration("c@example.com")).await.status(), 429);
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, "gatehouse_rate_limited_requests_total"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"gatehouse_rate_limited_requests_by_limit_total{limit="register"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"gatehouse_http_requests_total{method="POST",route="/api/auth/register",status="429"}"#
        ),
        Some(2.0)
    );
}

async fn a_metrics_token_guards_the_endpoint(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.metrics_token = Some(secrecy::SecretString::from("scrape-token-0123456789"));
    })
    .await;
    expect_problem(app.get("/metrics").await, 401, "missing_token").await;
    expect_problem(
        app.get_auth("/metrics", "scrape-token-0123456788").await,
        401,
        "invalid_token",
    )
    .await;
    let r = app.get_auth("/metrics", "scrape-token-0123456789").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("gatehouse_http_requests"));
}

both!(
    logins_and_requests_are_counted_by_route_template,
    rate_limited_requests_are_counted_by_limit,
    a_metrics_token_guards_the_endpoint
);
