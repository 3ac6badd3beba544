//! `/redoc`: the same OpenAPI document as `/docs`, read with ReDoc (seed 003). ReDoc 2.5.4's
//! standalone bundle (MIT, `assets/redoc/`) is compiled in and served from here, so the page
//! works without reaching a CDN and under a CSP that allows only this origin.

use crate::app::AppState;
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

const BUNDLE: &[u8] = include_bytes!("../../assets/redoc/redoc.standalone.js");
/// ReDoc renders in a web worker started from a `blob:` URL and styles itself inline.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
    script-src 'self'; worker-src 'self' blob:; font-src 'self' data:; frame-ancestors 'none'";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gatehouse API reference</title>
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="/redoc/redoc.standalone.js"></script>
</body>
</html>
"#;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/redoc", get(|| async { Html(PAGE) }))
        .route(
            "/redoc/redoc.standalone.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        // The file changes only with gatehouse itself.
                        (header::CACHE_CONTROL, "public, max-age=86400"),
                    ],
                    BUNDLE,
                )
                    .into_response()
            }),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
}
