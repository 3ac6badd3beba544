//! `GET /api/admin/mail/failed`: the mails a provider refused for good, so an operator can tell
//! a user why their mail never came (and fix a typo in their address).

use super::{Authorized, UsersRead};
use crate::app::AppState;
use crate::error::{Problem, Result};
use crate::store::FailedMail;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(failed_mail))
}

/// How many newest failed mails one answer lists.
const LIMIT: i64 = 100;

#[derive(Debug, Serialize, ToSchema)]
pub struct FailedMailList {
    /// The newest failed mails (at most 100); their bodies are not kept.
    pub items: Vec<FailedMail>,
    /// Failed mails in all.
    pub failed: i64,
    /// Mails still waiting in the outbox for a provider to take them.
    pub pending: i64,
}

#[utoipa::path(get, path = "/api/admin/mail/failed", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, body = FailedMailList),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`permission_denied`: the role lacks `users:read`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn failed_mail(
    State(state): State<AppState>,
    _caller: Authorized<UsersRead>,
) -> Result<axum::Json<FailedMailList>> {
    let outbox = state.store.outbox();
    Ok(axum::Json(FailedMailList {
        items: outbox.failed(LIMIT).await?,
        failed: outbox.failed_count().await?,
        pending: outbox.depth().await?,
    }))
}
