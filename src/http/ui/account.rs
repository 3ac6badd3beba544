//! The account page: the profile, the password, the sign-in address and deleting the account.
//! Each form posts back here and the page shows the outcome; every action is the API's own
//! rule. Sessions, two-step sign-in, passkeys and linked providers have their own modules.

use super::forms::session_token;
use super::register::field_messages;
use super::render::page;
use super::session::{page_user, signed_out_cookies};
use super::signed_in::SignedInForm;
use super::signin::shown;
use super::strings::{provider_label, text};
use crate::app::AppState;
use crate::auth::sessions::AuthUser;
use crate::auth::{account_deletion, password_change, profile};
use crate::client::ClientInfo;
use crate::domain::Password;
use crate::error::{Error, ErrorCode};
use crate::http::profile::UpdateProfileRequest;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use minijinja::context;
use serde::Deserialize;
use std::collections::BTreeMap;

pub(super) use super::signed_in::HERE;

/// What a form on the page reports back.
#[derive(Default)]
pub(super) struct Outcome {
    pub notice: Option<&'static str>,
    pub error: Option<String>,
    /// Which form the error belongs to, so it is shown next to it.
    pub section: &'static str,
    pub fields: BTreeMap<String, String>,
    /// The address typed into the change-address form, kept after a refusal.
    pub new_email: Option<String>,
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
    let linked = match crate::auth::oauth::identities::list(state, user.user_id).await {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let identities: Vec<_> = linked
        .iter()
        .map(|i| {
            context! {
                id => i.id.to_string(),
                label => provider_label(&i.provider),
                email => i.email.clone(),
                linked_at => i.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            }
        })
        .collect();
    let providers: Vec<_> = state
        .oauth
        .names()
        .into_iter()
        .filter(|name| !linked.iter().any(|i| &i.provider == name))
        .map(|name| context! { label => provider_label(&name), name })
        .collect();
    let passkeys = match crate::auth::passkeys::manage::list(state, user.user_id).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let passkeys: Vec<_> = passkeys
        .iter()
        .map(|p| {
            context! {
                id => p.id.to_string(),
                name => p.name.clone(),
                backed_up => p.backup_state,
                created_at => p.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                last_used_at => p.last_used_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
            }
        })
        .collect();
    let profile = context! {
        has_password => record.password_hash.is_some(),
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
            identities,
            providers,
            passkeys,
            new_email => outcome.new_email,
            notice => outcome.notice,
            error => outcome.error,
            section => outcome.section,
            fields => outcome.fields,
        },
    )
}

#[derive(Deserialize)]
pub struct ShowQuery {
    /// Set by the callback of a link started here.
    linked: Option<String>,
    /// `step_up`: back from the step-up form.
    done: Option<String>,
}

/// The account page after a form's change went through, with `notice` (a strings key) on top.
pub(super) async fn done(state: &AppState, user: &AuthUser, notice: &str) -> Response {
    let outcome = Outcome {
        notice: Some(text(notice)),
        ..Default::default()
    };
    render(state, user, StatusCode::OK, outcome).await
}

pub async fn show(State(state): State<AppState>, jar: CookieJar, Query(q): Query<ShowQuery>) -> Response {
    let user = match page_user(&state, &jar, HERE).await {
        Ok(user) => user,
        Err(redirect) => return redirect,
    };
    // Only fixed texts: nothing from the URL is shown.
    let notice = if q.linked.is_some_and(|p| state.oauth.names().contains(&p)) {
        Some(text("identity_linked"))
    } else if q.done.as_deref() == Some("step_up") {
        Some(text("step_up_done"))
    } else {
        None
    };
    let outcome = Outcome {
        notice,
        ..Default::default()
    };
    render(&state, &user, StatusCode::OK, outcome).await
}

/// `refused`, for a form whose password box is `password_field` (the rules call it
/// `current_password`, which is the change-password form's box).
pub(super) async fn refused_as(
    state: &AppState,
    user: &AuthUser,
    section: &'static str,
    e: Error,
    password_field: &str,
) -> Response {
    refused(state, user, section, renamed(e, password_field)).await
}

fn renamed(e: Error, password_field: &str) -> Error {
    match e {
        Error::Validation(mut errors) => {
            for f in errors.iter_mut().filter(|f| f.field == "current_password") {
                f.field = password_field.into();
            }
            Error::Validation(errors)
        }
        other => other,
    }
}

/// The account page again with the refusal next to its form, or the step-up form when the
/// change needs a fresh second factor first.
pub(super) async fn refused(state: &AppState, user: &AuthUser, section: &'static str, e: Error) -> Response {
    refused_keeping(state, user, section, e, Outcome::default()).await
}

/// `refused`, keeping what `kept` carries (what was typed).
async fn refused_keeping(
    state: &AppState,
    user: &AuthUser,
    section: &'static str,
    e: Error,
    kept: Outcome,
) -> Response {
    if let Error::Internal(_) = e {
        return e.into_response();
    }
    if e.code() == ErrorCode::MfaStepUpRequired.as_str() {
        return super::step_up::form(state, user, StatusCode::FORBIDDEN, None, None).await;
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
            ..kept
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
    client: ClientInfo,
    SignedInForm { user, form: f, .. }: SignedInForm<ProfileForm>,
) -> Response {
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
        Ok(()) => done(&state, &user, "profile_saved").await,
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
    client: ClientInfo,
    SignedInForm { user, form: f, .. }: SignedInForm<PasswordForm>,
) -> Response {
    let current = Password::for_verification(f.current_password.as_deref().unwrap_or_default());
    let new_password = f.new_password.unwrap_or_default();
    match password_change::change(&state, &user, &current, &new_password, &client).await {
        Ok(()) => done(&state, &user, "password_changed").await,
        Err(e) => refused(&state, &user, "password", e).await,
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
    client: ClientInfo,
    SignedInForm { user, form: f, jar }: SignedInForm<DeleteForm>,
) -> Response {
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
        Err(e) => refused_as(&state, &user, "delete", e, "delete_password").await,
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    csrf: Option<String>,
    new_email: Option<String>,
    email_password: Option<String>,
}

/// `POST /account/email`: a link to the new address; nothing changes until it is used.
pub async fn change_email(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, form: f, .. }: SignedInForm<EmailForm>,
) -> Response {
    let password = f.email_password.filter(|p| !p.is_empty());
    let typed = f.new_email.unwrap_or_default();
    let result = crate::http::email_change::request(
        &state,
        &user,
        Some(typed.trim()).filter(|t| !t.is_empty()),
        password.as_deref(),
        &client,
    )
    .await;
    match result {
        Ok(()) => done(&state, &user, "email_change_sent").await,
        Err(e) => {
            let kept = Outcome {
                new_email: Some(typed),
                ..Default::default()
            };
            refused_keeping(&state, &user, "email", renamed(e, "email_password"), kept).await
        }
    }
}

super::signed_in::csrf_form!(DeleteForm, EmailForm, PasswordForm, ProfileForm);
