//! Where the user is signed in, from the account page: ending one session (this device's own
//! signs it out here too) or every other one.

use super::account::{done, refused};
use super::session::signed_out_cookies;
use super::signed_in::SignedInForm;
use crate::app::AppState;
use crate::auth::sessions;
use crate::client::ClientInfo;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct SessionForm {
    csrf: Option<String>,
    session_id: Option<String>,
}

pub async fn revoke_session(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, form: f, jar }: SignedInForm<SessionForm>,
) -> Response {
    let id = f
        .session_id
        .as_deref()
        .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok());
    let result = match id {
        Some(id) => sessions::end_own(&state, &user, id, &client).await.map(|_| id),
        None => Err(sessions::session_not_found()),
    };
    match result {
        // This device's own session: signed out here too.
        Ok(id) if id == user.session_id => (signed_out_cookies(&state, jar), Redirect::to("/login")).into_response(),
        Ok(_) => done(&state, &user, "session_revoked").await,
        Err(e) => refused(&state, &user, "sessions", e).await,
    }
}

pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, .. }: SignedInForm<SessionForm>,
) -> Response {
    match sessions::end_others(&state, &user, &client).await {
        Ok(_) => done(&state, &user, "sessions_revoked").await,
        Err(e) => refused(&state, &user, "sessions", e).await,
    }
}

super::signed_in::csrf_form!(SessionForm);
