//! `GET /`, `/redoc` and `gatehouse healthcheck` (seed 003's service card and second docs UI,
//! the container's HEALTHCHECK).

use crate::both;
use crate::common::*;
use serde_json::Value;
use std::process::Command;

async fn the_root_names_the_service_and_links_onwards(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.get("/").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["name"], "gatehouse");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["links"]["docs"], format!("{PUBLIC_URL}/docs"));
    assert_eq!(body["links"]["redoc"], format!("{PUBLIC_URL}/redoc"));
    assert_eq!(body["links"]["health"], format!("{PUBLIC_URL}/health"));
    assert_eq!(body["links"]["jwks"], format!("{PUBLIC_URL}/.well-known/jwks.json"));
    // Every link it gives is served.
    for path in [
        "/docs/",
        "/redoc",
        "/openapi.json",
        "/health",
        "/ready",
        "/.well-known/jwks.json",
    ] {
        let status = app.get(path).await.status();
        assert!(status == 200 || (path == "/ready" && status == 503), "{path}: {status}");
    }
}

async fn redoc_serves_the_same_document_without_a_cdn(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.get("/redoc").await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("worker-src 'self' blob:") && !csp.contains("http"),
        "{csp}"
    );
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"<redoc spec-url="/openapi.json">"#), "{page}");
    assert!(page.contains(r#"<script src="/redoc/redoc.standalone.js">"#), "{page}");
    let bundle = app.get("/redoc/redoc.standalone.js").await;
    assert_eq!(bundle.status(), 200);
    assert!(bundle.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(bundle.bytes().await.unwrap().len() > 500_000);
}

fn healthcheck(args: &[&str], bind_addr: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command.arg("healthcheck").args(args).env_remove("BIND_ADDR");
    if let Some(addr) = bind_addr {
        command.env("BIND_ADDR", addr);
    }
    command.output().unwrap()
}

async fn the_healthcheck_command_exits_by_the_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let health = app.url("/health");
    let ok = tokio::task::spawn_blocking(move || healthcheck(&["--url", &health], None))
        .await
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    // Without --url it asks BIND_ADDR (0.0.0.0 meaning this machine).
    let port = url::Url::parse(&app.base).unwrap().port().unwrap();
    let bind = format!("0.0.0.0:{port}");
    let ok = tokio::task::spawn_blocking(move || healthcheck(&[], Some(&bind)))
        .await
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    // A port nobody listens on: non-zero, saying why.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}/health");
    let down = tokio::task::spawn_blocking(move || healthcheck(&["--url", &url], None))
        .await
        .unwrap();
    assert!(!down.status.success());
    assert!(String::from_utf8_lossy(&down.stderr).contains("did not answer"));
    // A path that is not 200 (here 404) fails too.
    let missing = app.url("/no-such-health");
    let bad = tokio::task::spawn_blocking(move || healthcheck(&["--url", &missing], None))
        .await
        .unwrap();
    assert!(!bad.status.success());
}

both!(
    the_root_names_the_service_and_links_onwards,
    redoc_serves_the_same_document_without_a_cdn,
    the_healthcheck_command_exits_by_the_answer,
);
