//! CORS: only origins on CORS_ALLOWED_ORIGINS may call the API from a browser.

use crate::both;
use crate::common::*;

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.send(
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type"),
    )
    .await
}

async fn an_allowed_origin_may_call_the_api(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.cors_allowed_origins = vec!["https://app.example.com".into()]
    })
    .await;
    let r = preflight(&app, "https://app.example.com").await;
    assert_eq!(
        r.headers().get("access-control-allow-origin").unwrap(),
        "https://app.example.com"
    );
    assert_eq!(r.headers().get("access-control-allow-credentials").unwrap(), "true");
    let r = app
        .send(
            app.client
                .get(app.url("/health"))
                .header("origin", "https://app.example.com"),
        )
        .await;
    assert_eq!(
        r.headers().get("access-control-allow-origin").unwrap(),
        "https://app.example.com"
    );
}

async fn other_origins_get_no_cors_headers(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.cors_allowed_origins = vec!["https://app.example.com".into()]
    })
    .await;
    for origin in ["https://evil.example", "https://app.example.com.evil.example", "null"] {
        let r = preflight(&app, origin).await;
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{origin} was allowed"
        );
    }
}

async fn cors_is_closed_by_default(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = preflight(&app, "http://localhost:3000").await;
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

both!(
    an_allowed_origin_may_call_the_api,
    other_origins_get_no_cors_headers,
    cors_is_closed_by_default
);
