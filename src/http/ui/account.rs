//! The account page: the profile, the password, and where the user is signed in. Each form
//! posts back here and the page shows the outcome; every action is the API's own rule.

use super::forms::{check_session_form, session_token};
use super::register::field_messages;
use super::render::page;
use super::session::{page_user, signed_out_cookies};
use super::signin::shown;
use super::strings::text;
use crate::app::AppState;
use crate::auth::sessions::{self, AuthUser};
use crate::auth::{account_deletion, password_change, profile};
use crate::client::ClientInfo;
use crate::domain::Password;
use crate::error::Error;
use crate::http::profile::UpdateProfileRequest;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use minijinja::context;
use serde::Deserialize;
use std::collections::BTreeMap;

pub(super) const HERE: &str = "/account";

/// What a form on the page reports back.
#[derive(Default)]
pub(super) struct Outcome {
    pub notice: Option<&'static str>,
    pub error: Option<String>,
    /// Which form the error belongs to, so it is shown next to it.
    pub section: &'static str,
    pub fields: BTreeMap<String, String>,
}

pub(super) async fn render(state: &AppState, user: &AuthUser, status: StatusCode, outcome: Outcome) -> Response {
    let record = match state.store.users().by_id(user.user_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(e) => return Error::from(e).into_response(),
    };
    let sessions = match crate::http::sessions::views(state, user).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let factors = match state.store.mfa().factors(user.user_id).await {
        Ok(f) => f,
        Err(e) => return Error::from(e).into_response(),
    };
    let active: Vec<String> = factors
        .iter()
        .filter(|f| f.is_active())
        .map(|f| f.method.clone())
        .collect();
    let sessions: Vec<_> = sessions
        .iter()
        .map(|s| {
            context! {
                id => s.id.to_string(),
                device => s.device.clone(),
                ip => s.ip.clone(),
                created_at => s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                last_used_at => s.last_used_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                current => s.current,
            }
        })
        .collect();
    let profile = context! {
        email => record.email.clone(),
        username => record.username.clone(),
        first_name => record.first_name.clone(),
        last_name => record.last_name.clone(),
        date_of_birth => record.date_of_birth.map(|d| d.to_string()),
        gender => record.gender.clone(),
        mobile => record.mobile.clone(),
        mfa_enabled => record.mfa_enabled,
    };
    let mfa = context! {
        enabled => record.mfa_enabled,
        totp => active.iter().any(|m| m == "totp"),
        email => active.iter().any(|m| m == "email"),
        methods => active,
    };
    page(
        state,
        status,
        "account.html",
        context! {
            csrf => session_token(state, user.session_id),
            profile,
            mfa,
            sessions,
            notice => outcome.notice,
            error => outcome.error,
            section => outcome.section,
            fields => outcome.fields,
        },
    )
}

pub async fn show(State(state): State<AppState>, jar: CookieJar) -> Response {
    match page_user(&state, &jar, HERE).await {
        Ok(user) => render(&state, &user, StatusCode::OK, Outcome::default()).await,
        Err(redirect) => redirect,
    }
}

/// The signed-in user of a posted form whose CSRF token checks out, or the answer instead.
pub(super) async fn poster(
    state: &AppState,
    jar: &CookieJar,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<AuthUser, Response> {
    let user = page_user(state, jar, HERE).await?;
    check_session_form(state, headers, user.session_id, csrf).map_err(|e| form_refused(state, e))?;
    Ok(user)
}

/// A signed-in form that failed its CSRF or origin check: a page saying so, not JSON.
pub(super) fn form_refused(state: &AppState, e: Error) -> Response {
    page(
        state,
        e.status(),
        "message.html",
        context! {
            title => text("form_refused"),
            message => shown(&e),
            link => HERE,
            link_text => text("back_to_account"),
        },
    )
}

pub(super) async fn refused(state: &AppState, user: &AuthUser, section: &'static str, e: Error) -> Response {
    if let Error::Internal(_) = e {
        return e.into_response();
    }
    let status = e.status();
    let fields = field_messages(&e);
    let error = if fields.is_empty() {
        shown(&e)
    } else {
        Some(text("fix_fields").to_string())
    };
    render(
        state,
        user,
        status,
        Outcome {
            error,
            section,
            fields,
            ..Default::default()
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    csrf: Option<String>,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    date_of_birth: Option<String>,
    gender: Option<String>,
    mobile: Option<String>,
}

pub async fn update_profile(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    Form(f): Form<ProfileForm>,
) -> Response {
    let user = match poster(&state, &jar, &headers, f.csrf.as_deref()).await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    // A form sends every field; an empty one is "not given" except the username, which an
    // empty box removes.
    let given = |v: Option<String>| v.filter(|s| !s.trim().is_empty()).map(Some);
    let request = UpdateProfileRequest {
        username: Some(f.username.filter(|s| !s.trim().is_empty())),
        first_name: given(f.first_name),
        last_name: given(f.last_name),
        date_of_birth: given(f.date_of_birth),
        gender: given(f.gender),
        mobile: given(f.mobile),
    };
    let result = match request.parse(&state) {
        Ok(update) => profile::update_profile(&state, &user, update, &client)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            render(
                &state,
                &user,
                StatusCode::OK,
                Outcome {
                    notice: Some(text("profile_saved")),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => refused(&state, &user, "profile", e).await,
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
}

pub async fn change_password(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    Form(f): Form<PasswordForm>,
) -> Response {
    let user = match poster(&state, &jar, &headers, f.csrf.as_deref()).await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    let current = Password::for_verification(f.current_password.as_deref().unwrap_or_default());
    let new_password = f.new_password.unwrap_or_default();
    match password_change::change(&state, &user, &current, &new_password, &client).await {
        Ok(()) => {
            render(
                &state,
                &user,
                StatusCode::OK,
                Outcome {
                    notice: Some(text("password_changed")),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => refused(&state, &user, "password", e).await,
    }
}

#[derive(Deserialize)]
pub struct SessionForm {
    csrf: Option<String>,
    session_id: Option<String>,
}

pub async fn revoke_session(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    Form(f): Form<SessionForm>,
) -> Response {
    let user = match poster(&state, &jar, &headers, f.csrf.as_deref()).await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
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
        Ok(_) => {
            render(
                &state,
                &user,
                StatusCode::OK,
                Outcome {
                    notice: Some(text("session_revoked")),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => refused(&state, &user, "sessions", e).await,
    }
}

pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    Form(f): Form<SessionForm>,
) -> Response {
    let user = match poster(&state, &jar, &headers, f.csrf.as_deref()).await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    match sessions::end_others(&state, &user, &client).await {
        Ok(_) => {
            render(
                &state,
                &user,
                StatusCode::OK,
                Outcome {
                    notice: Some(text("sessions_revoked")),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => refused(&state, &user, "sessions", e).await,
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf: Option<String>,
    delete_password: Option<String>,
}

/// `POST /account/delete`: the account and everything in it, after the current password (or,
/// for an account without one, a recent sign-in). Signed out here at once.
pub async fn delete_account(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    Form(f): Form<DeleteForm>,
) -> Response {
    let user = match poster(&state, &jar, &headers, f.csrf.as_deref()).await {
        Ok(user) => user,
        Err(answer) => return answer,
    };
    let password = f
        .delete_password
        .filter(|p| !p.is_empty())
        .map(|p| Password::for_verification(&p));
    match account_deletion::delete_own(&state, &user, password.as_ref(), &client).await {
        Ok(()) => {
            let body = page(
                &state,
                StatusCode::OK,
                "message.html",
                context! { title => text("account_deleted_title"), message => text("account_deleted"), link => "/register", link_text => text("create_account") },
            );
            (signed_out_cookies(&state, jar), body).into_response()
        }
        // The rule names the password `current_password`; here its box is `delete_password`.
        Err(Error::Validation(mut errors)) => {
            for e in errors.iter_mut().filter(|e| e.field == "current_password") {
                e.field = "delete_password".into();
            }
            refused(&state, &user, "delete", Error::Validation(errors)).await
        }
        Err(e) => refused(&state, &user, "delete", e).await,
    }
}
