//! `/api/auth/sessions`: the signed-in user's logins (devices), and ending one of them.

use crate::app::AppState;
use crate::auth::sessions::{self, AuthUser};
use crate::client::ClientInfo;
use crate::error::{Problem, Result};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(end_session))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    /// The device the login came from, without versions: "Chrome on Windows 10", or an app's
    /// product name ("PhoneApp").
    pub device: String,
    /// The `User-Agent` the login came from.
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last sign-in or refresh.
    pub last_used_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// How the user signed in (RFC 8176), e.g. `["pwd"]`.
    pub amr: Vec<String>,
    /// This is the session of the token making the request.
    pub current: bool,
}

/// The signed-in user's live sessions, most recently used first.
#[utoipa::path(get, path = "/api/auth/sessions", tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<SessionView>),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_sessions(State(state): State<AppState>, user: AuthUser) -> Result<axum::Json<Vec<SessionView>>> {
    Ok(axum::Json(views(&state, &user).await?))
}

/// The caller's live sessions as the API and the account page show them.
pub(crate) async fn views(state: &AppState, user: &AuthUser) -> Result<Vec<SessionView>> {
    let sessions = state.store.sessions().live(user.user_id, state.now()).await?;
    Ok(sessions
        .into_iter()
        .map(|s| SessionView {
            current: s.id == user.session_id,
            amr: serde_json::from_str(&s.amr).unwrap_or_default(),
            id: s.id,
            device: crate::auth::devices::label(s.user_agent.as_deref()),
            user_agent: s.user_agent,
            ip: s.ip,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
        })
        .collect())
}

/// End one of the signed-in user's sessions (its refresh and access tokens stop working).
#[utoipa::path(delete, path = "/api/auth/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session id from GET /api/auth/sessions")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "`session_not_found`: no live session with this id belongs to you", body = Problem, content_type = "application/problem+json"),
    ))]
async fn end_session(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id = Uuid::parse_str(&id).map_err(|_| sessions::session_not_found())?;
    sessions::end_own(&state, &user, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
