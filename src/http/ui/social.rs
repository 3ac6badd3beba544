//! Social sign-in on the hosted pages, and linking or unlinking a provider on the account page.
//! The provider round trip is the API's own (`/api/auth/oauth/callback`, state + PKCE + nonce
//! in the signed cookie); only the ends differ: the sign-in ends in the page session (or its
//! MFA step) and at `return_to`, never with a code in a URL, and a refusal is a page.

use super::account::{done, refused_as, HERE};
use super::forms;
use super::render::page;
use super::session::{login_path, urlencode, ReturnQuery};
use super::signed_in::SignedInForm;
use super::signin::{finish, shown, with_pending_step};
use super::strings::{text, with_provider};
use crate::app::AppState;
use crate::auth::mfa::challenge::LoginOutcome;
use crate::auth::oauth::flow;
use crate::auth::oauth::identities;
use crate::auth::oauth::state_cookie::Purpose;
use crate::client::ClientInfo;
use crate::domain::Password;
use crate::error::Error;
use crate::http::oauth::to_provider;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use minijinja::context;
use serde::Deserialize;

/// `GET /login/social/{provider}`: off to the provider. A plain link: starting is harmless, and
/// the callback only works in the browser that holds the signed cookie set here.
pub async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(q): Query<ReturnQuery>,
    jar: CookieJar,
) -> Response {
    let return_to = forms::return_to_or_default(&state, q.return_to.as_deref());
    match flow::start_for(
        &state,
        &provider,
        Purpose::Page {
            return_to: return_to.clone(),
        },
    )
    .await
    {
        Ok(started) => to_provider(&state, jar, started),
        Err(e) => failed(
            &state,
            "social_failed",
            &provider,
            e,
            &login_path(&return_to),
            text("back_to_sign_in"),
        ),
    }
}

/// The provider vouched for the user: the page session, or the MFA step first.
pub fn signed_in(state: &AppState, jar: CookieJar, outcome: LoginOutcome, return_to: &str) -> Response {
    match outcome {
        LoginOutcome::Tokens(pair) => finish(state, jar, &pair, return_to),
        LoginOutcome::MfaRequired(step) => {
            let methods: Vec<&str> = step.methods.iter().map(|m| m.as_str()).collect();
            let to = format!(
                "/login/mfa?methods={}&return_to={}",
                urlencode(&methods.join(",")),
                urlencode(return_to)
            );
            (with_pending_step(state, jar, &step), Redirect::to(&to)).into_response()
        }
    }
}

/// A page's sign-in or link that the callback refused, as a page saying why.
pub fn refused_callback(state: &AppState, provider: &str, purpose: &Purpose, e: Error) -> Response {
    match purpose {
        Purpose::Link { .. } => failed(state, "link_failed", provider, e, HERE, text("back_to_account")),
        Purpose::Page { return_to } => failed(
            state,
            "social_failed",
            provider,
            e,
            &login_path(return_to),
            text("back_to_sign_in"),
        ),
        Purpose::Api => e.into_response(),
    }
}

/// The page of a refused sign-in (`title_key` `social_failed`) or link (`link_failed`).
fn failed(state: &AppState, title_key: &str, provider: &str, e: Error, back: &str, back_text: &str) -> Response {
    if let Error::Internal(_) = e {
        return e.into_response();
    }
    page(
        state,
        e.status(),
        "message.html",
        context! {
            title => with_provider(title_key, provider),
            message => shown(&e),
            link => back,
            link_text => back_text,
        },
    )
}

#[derive(Deserialize)]
pub struct LinkForm {
    csrf: Option<String>,
    provider: Option<String>,
    link_password: Option<String>,
}

/// `POST /account/identities/link`: off to the provider, to come back linked.
pub async fn link(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, form: f, jar }: SignedInForm<LinkForm>,
) -> Response {
    let provider = f.provider.unwrap_or_default();
    let password = f
        .link_password
        .filter(|p| !p.is_empty())
        .map(|p| Password::for_verification(&p));
    match identities::start_link(&state, &user, &provider, password.as_ref(), HERE.into(), &client).await {
        Ok(started) => to_provider(&state, jar, started),
        Err(e) => refused_as(&state, &user, "identities", e, "link_password").await,
    }
}

#[derive(Deserialize)]
pub struct UnlinkForm {
    csrf: Option<String>,
    identity_id: Option<String>,
}

/// `POST /account/identities/unlink`: never the last way to sign in.
pub async fn unlink(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, form: f, .. }: SignedInForm<UnlinkForm>,
) -> Response {
    let id = f
        .identity_id
        .as_deref()
        .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
        .unwrap_or_default();
    match identities::unlink(&state, user.user_id, id, &client).await {
        Ok(()) => done(&state, &user, "identity_unlinked").await,
        Err(e) => refused_as(&state, &user, "identities", e, "link_password").await,
    }
}

super::signed_in::csrf_form!(LinkForm, UnlinkForm);
