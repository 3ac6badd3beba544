//! Sentry (`SENTRY_DSN`, seed 003): a 5xx reaches the project with the request's method, route
//! template and request id, and nothing secret the request carried — not the bearer token, the
//! refresh cookie, the CSRF token, the password, the query's token or the address.

use crate::both;
use crate::common::sentry_standin::SentryStandIn;
use crate::common::*;
use gatehouse::config::ErrorReporting;
use secrecy::SecretString;
use serde_json::json;

async fn reporting_app(backend: Backend, sentry: &SentryStandIn) -> TestApp {
    let dsn = sentry.dsn();
    TestApp::spawn_configured(backend, move |c| {
        c.error_reporting = Some(ErrorReporting {
            dsn: SecretString::from(dsn),
            environment: Some("ci".into()),
            release: "gatehouse@test".into(),
        });
    })
    .await
}

/// Waits until the app's client has sent what it queued.
async fn flushed(app: &TestApp) {
    let reporter = app.state.error_reporter.clone().expect("SENTRY_DSN is set");
    let sent = tokio::task::spawn_blocking(move || reporter.flush(std::time::Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(sent, "the Sentry client sent its queue");
}

async fn a_forced_internal_error_reaches_sentry_without_secrets(backend: Backend) {
    let sentry = SentryStandIn::start().await;
    let app = reporting_app(backend, &sentry).await;
    let email = "rahim@example.com";
    let tokens = app.signed_in(email).await;

    // A client error is the client's business, not an incident.
    let r = app.login(email, "not the password at all").await;
    assert_eq!(r.status(), 401);
    flushed(&app).await;
    assert!(
        sentry.events().is_empty(),
        "a 401 is not reported: {:?}",
        sentry.events()
    );

    // The users table disappears under the running server: the next login is a 500.
    sql::execute(&app, "ALTER TABLE users RENAME TO users_gone").await;
    let query_secret = "reset-secret-4f9a1c";
    let csrf_secret = "csrf-secret-77b2e0";
    // Sent past `TestApp::send`, which fails a test on any 5xx: this one is meant.
    let r = app
        .client
        .post(app.url(&format!("/api/auth/login?token={query_secret}")))
        .bearer_auth(&tokens.access)
        .header(
            "cookie",
            format!("gatehouse_refresh={}; gatehouse_csrf={csrf_secret}", tokens.refresh),
        )
        .header("x-csrf-token", csrf_secret)
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(r, 500, "internal_error").await;
    let request_id = problem["request_id"]
        .as_str()
        .expect("the 500 names its request id")
        .to_string();
    flushed(&app).await;

    let events = sentry.events();
    assert_eq!(events.len(), 1, "one event for one failed request: {events:?}");
    let event = &events[0];
    // Sentry's default level, `error`, is sent by leaving it out.
    assert!(
        event["level"].is_null() || event["level"] == "error",
        "{}",
        event["level"]
    );
    assert_eq!(event["tags"]["request_id"], request_id.as_str(), "{event}");
    assert_eq!(event["tags"]["http.method"], "POST");
    assert_eq!(event["tags"]["http.route"], "/api/auth/login");
    assert_eq!(event["transaction"], "POST /api/auth/login");
    assert_eq!(event["release"], "gatehouse@test");
    assert_eq!(event["environment"], "ci");
    let url = event["request"]["url"].as_str().expect("the request is attached");
    assert!(url.contains("/api/auth/login?token=[Filtered]"), "{url}");
    // The cause is what makes the event useful: the missing table is named.
    assert!(event.to_string().contains("users"), "{event}");

    let raw: Vec<u8> = sentry.raw().concat();
    let raw = String::from_utf8_lossy(&raw);
    for secret in [
        tokens.access.as_str(),
        tokens.refresh.as_str(),
        PASSWORD,
        query_secret,
        csrf_secret,
        email,
    ] {
        assert!(!raw.contains(secret), "{secret:?} reached Sentry");
    }
    assert_eq!(sentry.refused(), 0, "the client authenticates with the DSN's key");
}

both!(a_forced_internal_error_reaches_sentry_without_secrets);
