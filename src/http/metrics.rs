//! `GET /metrics` (Prometheus), and the layer that counts and times every request.
//!
//! With `METRICS_TOKEN` set the endpoint needs `Authorization: Bearer <token>`, compared in
//! constant time (over SHA-256 digests, so not even the length leaks). Unset, it is open: the
//! numbers are operational, not personal, but expose it only on an internal network.

use crate::app::AppState;
use crate::error::{Error, ErrorCode, Problem, Result};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Counts and times one request under its route template (`/api/admin/users/{id}`), never the
/// raw path, so the number of series stays bounded whatever clients send.
pub async fn track_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    state
        .metrics
        .request(&method, route, response.status().as_u16(), started.elapsed());
    response
}

fn authorized(state: &AppState, headers: &HeaderMap) -> Result<()> {
    let Some(expected) = &state.config.metrics_token else {
        return Ok(());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::MissingToken,
                "/metrics needs Authorization: Bearer <METRICS_TOKEN>",
            )
        })?;
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.expose_secret().as_bytes());
    if bool::from(a.ct_eq(&b)) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::InvalidAccessToken,
            "the metrics token is not correct",
        ))
    }
}

/// Prometheus metrics (OpenMetrics text): requests by route and status, latency, sign-ins,
/// rate-limited requests, outbox depth and failed mails, mail attempts and latency by
/// provider, audit events removed.
#[utoipa::path(get, path = "/metrics", tag = "operations", security((), ("bearer" = [])),
    responses(
        (status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text"),
        (status = 401, description = "`METRICS_TOKEN` is set and the bearer token is missing or wrong", body = Problem, content_type = "application/problem+json"),
    ))]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    // Not `AuthUser`: the metrics token is not an access token.
    authorized(&state, &headers)?;
    let depth = state.store.outbox().depth().await?;
    let failed = state.store.outbox().failed_count().await?;
    let body = state
        .metrics
        .render(depth, failed, state.store.cache().is_current())
        .map_err(|e| Error::Internal(anyhow::anyhow!("could not encode metrics: {e}")))?;
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
    Ok(response)
}
