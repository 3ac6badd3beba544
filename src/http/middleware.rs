//! Cross-cutting layers: security headers on every answer, and the one place where internal
//! errors are logged (with the request id, which is also put into the problem body).

use crate::error::{InternalCause, Problem};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Logs a 500's full cause chain once and returns the problem with the request id filled in.
pub async fn log_internal_errors(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    if let Some(InternalCause(cause)) = response.extensions_mut().remove::<InternalCause>() {
        tracing::error!(request_id = request_id.as_deref().unwrap_or("-"), %method, %path, error = %format!("{cause:#}"), "request failed");
        if let Some(mut problem) = response.extensions_mut().remove::<Problem>() {
            problem.request_id = request_id;
            let status = response.status();
            let mut fresh = problem.into_response_with(status);
            for (name, value) in response.headers() {
                if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
                    fresh.headers_mut().insert(name.clone(), value.clone());
                }
            }
            return fresh.into_response();
        }
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
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
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
