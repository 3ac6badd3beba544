//! `GET /api/admin/audit`: the audit log, filtered and paged, newest first.

use super::{AuditRead, Authorized, QueryParams};
use crate::app::AppState;
use crate::audit::Outcome;
use crate::auth::admin::audit_log::{self, AuditQuery};
use crate::domain::Invalid;
use crate::error::{Problem, Result};
use crate::store::AuditEvent;
use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_events))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// What happened: `login`, `logout`, `password_changed`, `account_locked`, `role_changed` ...
    #[serde(rename = "type")]
    pub event_type: String,
    /// The account the event is about (for admin actions, the target; the admin is
    /// `details.actor_id`).
    pub user_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// Context of the event (never a secret).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        Self {
            details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::String(e.details)),
            id: e.id,
            occurred_at: e.occurred_at,
            event_type: e.event_type,
            user_id: e.user_id,
            ip: e.ip,
            user_agent: e.user_agent,
            outcome: e.outcome,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventList {
    pub items: Vec<AuditEventView>,
    /// Events matching the filters, on all pages.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub total_pages: i64,
}

const PARAMS: &[&str] = &["user_id", "type", "from", "to", "outcome", "page", "per_page"];

fn user_id(raw: &str) -> Result<Uuid, Invalid> {
    Uuid::parse_str(raw.trim()).map_err(|_| Invalid::new("invalid_format", "must be a user id (a UUID)"))
}

fn event_type(raw: &str) -> Result<String, Invalid> {
    let t = raw.trim();
    let ok = t.len() <= 64
        && t.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(t.to_string())
    } else {
        Err(Invalid::new(
            "invalid_format",
            "must be an event type such as login or role_changed (a-z, 0-9, _)",
        ))
    }
}

/// RFC 3339. A `+` offset sent unencoded arrives as a space (form encoding); it is read as `+`.
fn timestamp(raw: &str) -> Result<DateTime<Utc>, Invalid> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_rfc3339(&raw.replace(' ', "+")))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Invalid::new(
                "invalid_format",
                "must be an RFC 3339 time such as 2025-01-31T09:00:00Z",
            )
        })
}

fn outcome(raw: &str) -> Result<Outcome, Invalid> {
    match raw.trim() {
        "success" => Ok(Outcome::Success),
        "failure" => Ok(Outcome::Failure),
        _ => Err(Invalid::new("invalid_choice", "must be success or failure")),
    }
}

/// Audit events, newest first, in `[from, to)`. Needs `audit:read`.
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", security(("bearer" = [])),
    params(
        ("user_id" = Option<Uuid>, Query, description = "Only events about this user"),
        ("type" = Option<String>, Query, description = "Only this event type, e.g. `login`"),
        ("from" = Option<String>, Query, description = "RFC 3339; events at or after it"),
        ("to" = Option<String>, Query, description = "RFC 3339; events before it"),
        ("outcome" = Option<String>, Query, description = "`success` or `failure`"),
        ("page" = Option<u32>, Query, description = "From 1 (default 1)"),
        ("per_page" = Option<u32>, Query, description = "1 to 100 (default 20)"),
    ),
    responses(
        (status = 200, body = AuditEventList),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`permission_denied`: the role lacks `audit:read`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: one entry per bad parameter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_audit_events(
    State(state): State<AppState>,
    _caller: Authorized<AuditRead>,
    RawQuery(raw): RawQuery,
) -> Result<axum::Json<AuditEventList>> {
    let mut params = QueryParams::parse(raw.as_deref(), PARAMS);
    let query = AuditQuery {
        user_id: params.optional("user_id", user_id),
        event_type: params.optional("type", event_type),
        from: params.optional("from", timestamp),
        to: params.optional("to", timestamp),
        outcome: params.optional("outcome", outcome),
        paging: params.paging(),
    };
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if from > to {
            params.push(Invalid::new("before_from", "must not be before from").at("to"));
        }
    }
    params.finish()?;
    let page = audit_log::query(&state, &query).await?;
    Ok(axum::Json(AuditEventList {
        items: page.events.into_iter().map(AuditEventView::from).collect(),
        total: page.total,
        page: page.paging.page(),
        per_page: page.paging.per_page(),
        total_pages: page.paging.total_pages(page.total),
    }))
}
