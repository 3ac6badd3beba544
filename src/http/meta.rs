//! Operational endpoints: health, public keys.

use crate::app::AppState;
use crate::auth::keys::Jwks;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(jwks))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: &'static str,
    pub database: ComponentHealth,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentHealth {
    /// `ok` or `down`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Liveness and database status. 503 when the database does not answer.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn health(State(state): State<AppState>) -> (StatusCode, axum::Json<Health>) {
    let backend = state.store.backend();
    let ping = tokio::time::timeout(std::time::Duration::from_secs(3), state.store.ping()).await;
    let database = match ping {
        Ok(Ok(())) => ComponentHealth {
            status: "ok",
            backend,
            error: None,
        },
        Ok(Err(e)) => {
            // The driver's message names databases and hosts; /health is public, so it goes to
            // the log only.
            tracing::warn!(error = %e, "health check: the database did not answer");
            ComponentHealth {
                status: "down",
                backend,
                error: Some("the database did not answer; see the server log".into()),
            }
        }
        Err(_) => ComponentHealth {
            status: "down",
            backend,
            error: Some("timed out after 3 s".into()),
        },
    };
    let ok = database.status == "ok";
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        axum::Json(Health {
            status: if ok { "ok" } else { "degraded" },
            database,
        }),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    pub database: ComponentHealth,
    pub mail_worker: WorkerHealth,
    /// `not_configured` until REDIS_URL is used.
    pub redis: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerHealth {
    /// `ok`, `stalled` (no round for 30 s) or `not_started`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_round_seconds_ago: Option<u64>,
}

/// Readiness for a load balancer: the database answers and this instance's mail worker runs.
/// 503 otherwise (the instance can still serve /health).
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
async fn ready(State(state): State<AppState>) -> (StatusCode, axum::Json<Readiness>) {
    let (db_code, health) = health(State(state.clone())).await;
    let age = state.outbox.heartbeat().age();
    let mail_worker = match age {
        None => WorkerHealth {
            status: "not_started",
            last_round_seconds_ago: None,
        },
        Some(a) if a > std::time::Duration::from_secs(30) => WorkerHealth {
            status: "stalled",
            last_round_seconds_ago: Some(a.as_secs()),
        },
        Some(a) => WorkerHealth {
            status: "ok",
            last_round_seconds_ago: Some(a.as_secs()),
        },
    };
    let ok = db_code == StatusCode::OK && mail_worker.status == "ok";
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if ok { "ready" } else { "not_ready" },
        database: health.0.database,
        mail_worker,
        redis: "not_configured",
    };
    (code, axum::Json(body))
}

/// Public keys that verify gatehouse's access tokens (RFC 7517).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "operations", responses((status = 200, body = Jwks)))]
async fn jwks(State(state): State<AppState>) -> ([(axum::http::HeaderName, &'static str); 1], axum::Json<Jwks>) {
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(state.tokens.keys().jwks()),
    )
}
