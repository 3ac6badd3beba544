//! Cross-cutting layers: security headers on every answer, and the one place where internal
//! errors are logged (with the request id, which is also put into the problem body) — and so
//! reported, when `SENTRY_DSN` is set.

use crate::error::{InternalCause, Problem};
use crate::telemetry::error_reporting::{tag_request, ALREADY_REPORTED};
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Marks the 500 made from a panic: the panic hook has reported it with its stack already.
#[derive(Clone, Copy)]
pub struct Panicked;

/// The answer to a handler that panicked: a plain 500 problem (with the request id, added by
/// [`log_internal_errors`]) instead of a dropped connection.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    let mut response =
        crate::error::Error::Internal(anyhow::anyhow!("the handler panicked: {message}")).into_response();
    response.extensions_mut().insert(Panicked);
    response
}

/// Logs a 5xx once — a 500's full cause chain — and returns the problem with the request id
/// filled in. Error logs are what Sentry reports, so every 5xx reaches it, tagged with the
/// request's method, route template and request id.
pub async fn log_internal_errors(request: Request, next: Next) -> Response {
    // Kept as cheap clones (shared buffers), made into text only when a 5xx is logged.
    let request_id = request.headers().get("x-request-id").cloned();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let request_id_text = || request_id.as_ref().and_then(|v| v.to_str().ok());
    tag_request(
        method.as_str(),
        route.as_ref().map(MatchedPath::as_str),
        request_id_text(),
    );
    let mut response = next.run(request).await;
    if !response.status().is_server_error() {
        return response;
    }
    let path = uri.path();
    let request_id_shown = request_id_text().unwrap_or("-");
    let route_shown = route.as_ref().map_or("-", MatchedPath::as_str);
    if let Some(InternalCause(cause)) = response.extensions_mut().remove::<InternalCause>() {
        let error = format!("{cause:#}");
        if response.extensions().get::<Panicked>().is_some() {
            tracing::error!(target: ALREADY_REPORTED, request_id = request_id_shown, %method, %path, route = route_shown, %error, "request failed");
        } else {
            tracing::error!(request_id = request_id_shown, %method, %path, route = route_shown, %error, "request failed");
        }
        if let Some(mut problem) = response.extensions_mut().remove::<Problem>() {
            problem.request_id = request_id_text().map(str::to_string);
            let status = response.status();
            let mut fresh = problem.into_response_with(status);
            for (name, value) in response.headers() {
                if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
                    fresh.headers_mut().insert(name.clone(), value.clone());
                }
            }
            return fresh.into_response();
        }
    } else if response.status().is_server_error() {
        // A 5xx the handler meant (a provider or the database unavailable): no cause chain.
        let problem = response.extensions().get::<Problem>().map(|p| p.code.clone());
        tracing::error!(request_id = request_id_shown, %method, %path, route = route_shown, status = response.status().as_u16(), problem = problem.as_deref().unwrap_or("-"), "request answered a server error");
    }
    response
}

/// Answers `408 request_timeout` when a request (reading its body included) is not done within
/// `HTTP_REQUEST_TIMEOUT`; the connection is closed after it, so a client trickling a body
/// cannot hold a worker. Dropping the handler rolls back any transaction it had open.
pub async fn request_timeout(limit: std::time::Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = crate::error::Error::RequestTimeout.into_response();
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            response
        }
    }
}

/// OWASP secure headers. HTML pages get their own stricter CSP in `pages`.
pub async fn security_headers(https: bool, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    // The hosted pages send `same-origin` instead: a form's POST must carry its `Origin`.
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if https {
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt as _;

    async fn panics() -> &'static str {
        let detail = std::hint::black_box("the database password is hunter2");
        if !detail.is_empty() {
            std::panic::panic_any(detail.to_string());
        }
        "unreachable"
    }

    /// The same two layers as the router, in the same order: a panicking handler answers a 500
    /// problem with the request id, and what the panic said stays out of the answer.
    #[tokio::test]
    async fn a_panicking_handler_answers_a_500_problem() {
        let app = Router::new()
            .route("/boom", get(panics))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
            .layer(axum::middleware::from_fn(log_internal_errors));
        let request = Request::builder()
            .uri("/boom")
            .header("x-request-id", "req-42")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "internal_error");
        assert_eq!(problem["status"], 500);
        assert_eq!(problem["request_id"], "req-42");
        assert!(!String::from_utf8_lossy(&body).contains("hunter2"), "{problem}");
    }
}
