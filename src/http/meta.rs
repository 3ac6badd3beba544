//! Operational endpoints: the service's card (`GET /`), health, public keys.

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
        .routes(routes!(index))
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(jwks))
}

/// What `GET /` answers: which service this is and where to go next (seed 003).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceInfo {
    /// `gatehouse`.
    pub name: &'static str,
    /// The running version (the crate version).
    pub version: &'static str,
    /// `APP_NAME`: the product this instance signs users in to.
    pub app: String,
    pub links: ServiceLinks,
}

/// Absolute URLs, built from `PUBLIC_URL`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceLinks {
    /// Swagger UI.
    pub docs: String,
    /// ReDoc.
    pub redoc: String,
    pub openapi: String,
    pub health: String,
    pub ready: String,
    pub jwks: String,
}

/// The service's name, version and links to its documentation, health and public keys.
#[utoipa::path(get, path = "/", tag = "operations", responses((status = 200, body = ServiceInfo)))]
async fn index(State(state): State<AppState>) -> axum::Json<ServiceInfo> {
    let link = |path: &str| state.config.public_link(path, &[]);
    axum::Json(ServiceInfo {
        name: "gatehouse",
        version: env!("CARGO_PKG_VERSION"),
        app: state.config.app_name.clone(),
        links: ServiceLinks {
            docs: link("/docs"),
            redoc: link("/redoc"),
            openapi: link("/openapi.json"),
            health: link("/health"),
            ready: link("/ready"),
            jwks: link("/.well-known/jwks.json"),
        },
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when the database or (with `REDIS_URL`) Redis does not answer.
    pub status: &'static str,
    pub database: ComponentHealth,
    /// Where rate-limit counters live: `redis` (shared by all instances), `memory` (no
    /// `REDIS_URL`: one instance), or `memory_fallback` (Redis does not answer; this instance
    /// counts alone until it does).
    pub rate_limits: &'static str,
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

/// Liveness, database status and where rate limits are counted. 503 when the database does not
/// answer; a Redis outage is reported (`rate_limits: memory_fallback`) but the instance serves on.
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
    let rate_limits = state.limits.backend();
    let healthy = ok && rate_limits != crate::ratelimit::Backend::MemoryFallback;
    (
        code,
        axum::Json(Health {
            status: if healthy { "ok" } else { "degraded" },
            database,
            rate_limits: rate_limits.as_str(),
        }),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    pub database: ComponentHealth,
    pub mail_worker: WorkerHealth,
    /// The mail providers in the order tried, each `usable` or `failing`. A failing provider
    /// does not make the instance unready: mail waits in the outbox (or goes to the next
    /// provider), and taking instances out of rotation would not bring it back.
    pub mail_providers: Vec<crate::mail::failover::ProviderStatus>,
    /// `ok`, `down` (rate limits are counted in memory meanwhile; not a reason to take the
    /// instance out of rotation) or `not_configured` (no `REDIS_URL`).
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
/// 503 otherwise (the instance can still serve /health). Redis is reported but does not make
/// an instance unready: without it limits fall back to memory, and failing every instance at
/// once over a cache outage would turn it into a full outage.
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
        mail_providers: state.outbox.provider_status(),
        redis: match state.limits.redis_answers().await {
            None => "not_configured",
            Some(true) => "ok",
            Some(false) => "down",
        },
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
