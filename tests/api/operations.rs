//! Operational endpoints and what every answer carries: /health, the OpenAPI document and its
//! interactive docs, problem+json for unknown paths, wrong methods and bad requests, security
//! headers and the request id.

use crate::both;
use crate::common::*;
use serde_json::{json, Value};

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

/// Asserts the RFC 9457 members of a problem answer and that `type` and `title` match it.
async fn assert_problem_shape(r: reqwest::Response, status: u16, code: &str) {
    let reason = r.status().canonical_reason().unwrap().to_string();
    let body = expect_problem(r, status, code).await;
    assert_eq!(body["type"], format!("urn:gatehouse:problem:{code}"), "{body}");
    assert_eq!(body["title"], reason, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    assert!(
        body.get("request_id").is_none(),
        "only 5xx answers carry a request id: {body}"
    );
}

async fn health_reports_the_database_and_its_backend(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.get("/health").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type").as_deref(), Some("application/json"));
    let body: Value = r.json().await.unwrap();
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(
        body,
        json!({ "status": "ok", "database": { "status": "ok", "backend": name }, "rate_limits": "memory" })
    );
}

/// PostgreSQL only: dropping the test database (with its connections) is an outage SQLite
/// cannot stage, since an open SQLite file keeps working after it is unlinked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_when_the_database_is_unreachable() {
    use sqlx::Connection;
    if !postgres_available() {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let name = url::Url::parse(&app.database_url).unwrap().path()[1..].to_string();
    let admin = std::env::var("TEST_DATABASE_URL").unwrap();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();

    let r = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["database"]["status"], "down");
    assert_eq!(body["database"]["backend"], "postgres");
    // /health is public: the driver's message (database names, host names) stays in the log.
    assert!(body["database"]["error"].is_string(), "{body}");
    assert!(!body.to_string().contains(&name), "internal detail leaked: {body}");
}

async fn openapi_documents_every_auth_endpoint(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );

    for (method, path) in [
        ("post", "/api/auth/register"),
        ("post", "/api/auth/verify-email"),
        ("post", "/api/auth/resend-verification"),
        ("post", "/api/auth/login"),
        ("post", "/api/auth/refresh"),
        ("post", "/api/auth/logout"),
        ("get", "/api/auth/me"),
        ("get", "/health"),
        ("get", "/.well-known/jwks.json"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert!(op["responses"].is_object(), "{method} {path} documents no responses");
    }
    // The protected endpoint says how to authenticate.
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert_eq!(
        doc["paths"]["/api/auth/me"]["get"]["security"],
        json!([{ "bearer": [] }, { "oauth2_password": [] }])
    );
    // Error answers are documented as problem+json.
    let refused = &doc["paths"]["/api/auth/login"]["post"]["responses"]["401"]["content"];
    assert!(refused["application/problem+json"].is_object(), "{refused}");
}

async fn docs_serve_the_interactive_html(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.get("/docs/").await;
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").unwrap().starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("swagger-ui"));
    assert_eq!(app.get("/docs/swagger-ui.css").await.status(), 200);

    let r = app.get("/docs").await;
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(header(&r, "location").as_deref(), Some("/docs/"));
}

async fn unknown_path_is_a_404_problem(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/nope", "/api/auth/nope", "/api/auth/login/extra"] {
        assert_problem_shape(app.get(path).await, 404, "not_found").await;
    }
    let r = app.post_json("/api/auth/nope", &json!({})).await;
    assert_problem_shape(r, 404, "not_found").await;
}

async fn wrong_method_is_a_405_problem_naming_the_allowed_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.get("/api/auth/login").await;
    assert_eq!(header(&r, "allow").as_deref(), Some("POST"));
    assert_problem_shape(r, 405, "method_not_allowed").await;

    let r = app.send(app.client.put(app.url("/api/auth/me")).bearer_auth("x")).await;
    assert_eq!(header(&r, "allow").as_deref(), Some("GET,HEAD,PATCH,DELETE"));
    assert_problem_shape(r, 405, "method_not_allowed").await;
}

async fn answers_carry_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let answers = [
        app.get("/health").await,
        app.get("/nope").await,
        app.get("/api/auth/me").await,
        app.post_json("/api/auth/login", &json!({})).await,
        app.get("/docs/").await,
    ];
    for r in answers {
        let at = format!("{} {}", r.url().path(), r.status());
        assert_eq!(header(&r, "x-content-type-options").as_deref(), Some("nosniff"), "{at}");
        assert_eq!(header(&r, "referrer-policy").as_deref(), Some("no-referrer"), "{at}");
        assert_eq!(header(&r, "x-frame-options").as_deref(), Some("DENY"), "{at}");
        let csp = header(&r, "content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{at}: CSP {csp:?}");
        assert_eq!(header(&r, "strict-transport-security"), None, "{at}: HSTS over http");
    }
    // API answers hold tokens and profiles: never cached.
    let r = app.get("/health").await;
    assert_eq!(header(&r, "cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        header(&r, "content-security-policy").as_deref(),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
}

async fn https_deployments_send_hsts(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |cfg| {
        cfg.public_url = url::Url::parse("https://gatehouse.test").unwrap();
    })
    .await;
    let r = app.get("/health").await;
    let hsts = header(&r, "strict-transport-security").unwrap_or_default();
    assert!(hsts.starts_with("max-age="), "{hsts:?}");
}

async fn request_id_is_echoed_or_generated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/health", "/nope"] {
        let r = app
            .send(app.client.get(app.url(path)).header("x-request-id", "trace-me-42"))
            .await;
        assert_eq!(header(&r, "x-request-id").as_deref(), Some("trace-me-42"), "{path}");
    }
    let r = app.get("/health").await;
    let id = header(&r, "x-request-id").expect("a generated request id");
    uuid::Uuid::parse_str(&id).expect("a UUID");
    let other = header(&app.get("/health").await, "x-request-id").unwrap();
    assert_ne!(id, other);
}

async fn client_errors_are_problem_json(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_problem_shape(app.register(&json!({})).await, 422, "validation_failed").await;
    assert_problem_shape(app.get("/api/auth/me").await, 401, "missing_token").await;
    assert_problem_shape(app.get("/nope").await, 404, "not_found").await;

    let r = app
        .send(
            app.client
                .post(app.url("/api/auth/login"))
                .header("content-type", "text/plain")
                .body("email=a&password=b"),
        )
        .await;
    assert_problem_shape(r, 415, "unsupported_media_type").await;
    let r = app
        .send(
            app.client
                .post(app.url("/api/auth/login"))
                .header("content-type", "application/json")
                .body("{\"email\": "),
        )
        .await;
    assert_problem_shape(r, 400, "malformed_json").await;
}

async fn oversized_body_is_a_413_problem(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let big = json!({ "email": "a".repeat(100 * 1024), "password": "x", "refresh_token": "x" });
    for path in [
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/register",
    ] {
        let r = app.post_json(path, &big).await;
        assert_eq!(r.headers()["connection"], "close", "{path}");
        assert_problem_shape(r, 413, "body_too_large").await;
    }
}

async fn validation_problem_lists_each_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = expect_problem(app.register(&json!({})).await, 422, "validation_failed").await;
    let fields: Vec<String> = field_errors(&body).into_iter().map(|(f, _)| f).collect();
    for f in [
        "first_name",
        "last_name",
        "date_of_birth",
        "gender",
        "email",
        "mobile",
        "password",
    ] {
        assert!(fields.contains(&f.to_string()), "{f} missing from {body}");
    }
    for e in body["errors"].as_array().unwrap() {
        assert!(e["message"].is_string(), "{e}");
    }
}

both!(
    health_reports_the_database_and_its_backend,
    openapi_documents_every_auth_endpoint,
    docs_serve_the_interactive_html,
    unknown_path_is_a_404_problem,
    wrong_method_is_a_405_problem_naming_the_allowed_one,
    answers_carry_security_headers,
    https_deployments_send_hsts,
    request_id_is_echoed_or_generated,
    client_errors_are_problem_json,
    oversized_body_is_a_413_problem,
    validation_problem_lists_each_field,
);

async fn ready_reports_database_and_mail_worker(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // The worker beats at each round; wait for its first round (an event, not time passing).
    let mut body = serde_json::Value::Null;
    for _ in 0..200 {
        let r = app.get("/ready").await;
        let status = r.status();
        body = r.json().await.unwrap();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["database"]["status"], "ok");
    assert_eq!(body["mail_worker"]["status"], "ok");
}

both!(ready_reports_database_and_mail_worker);

/// Shutdown waits for the mail being sent: the worker finishes its delivery (and removes it
/// from the outbox) before the server task ends, so a deploy never sends a mail twice or drops it.
async fn shutdown_finishes_the_mail_being_sent(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    app.smtp.hold_mail();
    assert_eq!(app.register(&registration("rahim@example.com")).await.status(), 201);
    app.state.outbox.wake();
    app.smtp.wait_until_mail_is_held().await;
    app.stop.take().unwrap().send(()).unwrap();
    let server = app.server.take().unwrap();
    // Once the listener is closed the HTTP side is done; only the mail holds the task open.
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut closed = false;
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(&addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(closed, "the server stops accepting connections when shutdown starts");
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert!(!server.is_finished(), "shutdown must wait for the mail in flight");
    app.smtp.release_mail();
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(20), server)
        .await
        .expect("shutdown finishes once the mail is sent")
        .unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(app.smtp.messages_to("rahim@example.com").len(), 1);
    assert_eq!(
        app.state.store.outbox().depth().await.unwrap(),
        0,
        "the sent mail left the outbox"
    );
}

both!(shutdown_finishes_the_mail_being_sent);
