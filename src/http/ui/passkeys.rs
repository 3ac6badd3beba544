//! Passkeys on the hosted pages: "Sign in with a passkey" on the sign-in page, and adding,
//! renaming and removing them on the account page.
//!
//! WebAuthn is a browser API, so the ceremonies need a script (`/ui/passkeys.js`, served from
//! here, so the pages' CSP allows it). It only fills two hidden fields of an ordinary form —
//! the `ceremony_id` and the browser's answer — and sends it, so the CSRF and origin checks
//! and every answer are the pages' own. Adding is two steps: the first form proves the owner
//! (step-up, password or a recent sign-in) and the server starts the ceremony; the page it
//! answers carries the options, and its button runs `navigator.credentials.create()`.

use super::account::{done, refused, refused_as};
use super::forms::{self, check_form, session_token};
use super::render::page;
use super::signed_in::{csrf_form, SignedInForm};
use super::signin::{after_first_factor, complete_step, login_page, mfa_page, pending_step, shown, PendingStep};
use super::strings::text;
use super::PageForm;
use crate::app::AppState;
use crate::auth::mfa::{challenge, Proof};
use crate::auth::passkeys::{login, manage, register};
use crate::client::ClientInfo;
use crate::domain::{PasskeyName, Password};
use crate::error::{Error, ErrorCode};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use minijinja::context;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use uuid::Uuid;

/// The ceremony id and the browser's answer from a form the script filled; `None` when the
/// script did not run (no JavaScript, or an old browser) or sent something unreadable.
pub(super) fn answer<T: DeserializeOwned>(ceremony_id: Option<&str>, credential: Option<&str>) -> Option<(String, T)> {
    let ceremony = ceremony_id.map(str::trim).filter(|c| !c.is_empty() && c.len() <= 128)?;
    let credential = serde_json::from_str(credential?.trim()).ok()?;
    Some((ceremony.to_string(), credential))
}

/// A refused name, said next to the passkeys (the page has no single name field to mark).
fn bad_name(invalid: crate::domain::Invalid) -> Error {
    Error::new(ErrorCode::ValidationFailed, format!("the name {}", invalid.message))
}

fn needs_script() -> Error {
    Error::new(ErrorCode::PasskeyResponseInvalid, text("passkey_needs_script"))
}

#[derive(Deserialize)]
pub struct SignInForm {
    csrf: Option<String>,
    return_to: Option<String>,
    ceremony_id: Option<String>,
    credential: Option<String>,
}

/// `POST /login/passkey`: the answer to a sign-in ceremony the script started with
/// `/api/auth/passkeys/login/start`. Signed in, or on to the MFA step, as with a password.
pub async fn sign_in(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    PageForm(f): PageForm<SignInForm>,
) -> Response {
    let return_to = forms::return_to_or_default(&state, f.return_to.as_deref());
    let refused = |jar, e: Error| login_page(&state, jar, e.status(), &return_to, "", shown(&e), None);
    if let Err(e) = check_form(&state, &headers, &jar, f.csrf.as_deref()) {
        return refused(jar, e);
    }
    let Some((ceremony, credential)) = answer(f.ceremony_id.as_deref(), f.credential.as_deref()) else {
        return refused(jar, needs_script());
    };
    match login::finish(&state, &ceremony, &credential, &client).await {
        Ok(outcome) => after_first_factor(&state, jar, outcome, &return_to),
        Err(e @ Error::Internal(_)) => e.into_response(),
        Err(e) => refused(jar, e),
    }
}

#[derive(Deserialize)]
pub struct MfaOptionsForm {
    csrf: Option<String>,
}

/// `POST /login/mfa/passkey/options`: a ceremony for the pending MFA step (the step's token is
/// its `HttpOnly` cookie, so the script asks here rather than the API). JSON, for the script.
pub async fn mfa_options(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    PageForm(f): PageForm<MfaOptionsForm>,
) -> Response {
    let token = match pending_step(&state, jar, &headers, f.csrf.as_deref(), None, None) {
        Ok(step) => step.token,
        Err(_) => {
            return Error::new(
                ErrorCode::InvalidMfaToken,
                "this sign-in step has expired or the page is stale; sign in again",
            )
            .into_response()
        }
    };
    match challenge::passkey_options(&state, &token).await {
        Ok(started) => axum::Json(started).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct MfaPasskeyForm {
    csrf: Option<String>,
    return_to: Option<String>,
    methods: Option<String>,
    ceremony_id: Option<String>,
    credential: Option<String>,
}

/// `POST /login/mfa/passkey`: the MFA step finished with a passkey.
pub async fn mfa_finish(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    PageForm(f): PageForm<MfaPasskeyForm>,
) -> Response {
    let PendingStep {
        token,
        methods,
        return_to,
    } = match pending_step(
        &state,
        jar.clone(),
        &headers,
        f.csrf.as_deref(),
        f.methods.as_deref(),
        f.return_to.as_deref(),
    ) {
        Ok(step) => step,
        Err(answer) => return *answer,
    };
    let Some((ceremony_id, credential)) = answer(f.ceremony_id.as_deref(), f.credential.as_deref()) else {
        let e = needs_script();
        return mfa_page(&state, jar, e.status(), &methods, &return_to, shown(&e), None);
    };
    let proof = Proof::Passkey {
        ceremony_id: &ceremony_id,
        credential: &credential,
    };
    complete_step(&state, jar, &token, &proof, &client, &methods, &return_to).await
}

#[derive(Deserialize)]
pub struct AddForm {
    csrf: Option<String>,
    passkey_password: Option<String>,
}

/// `POST /account/passkeys/add`: proves the owner and starts the ceremony; the page it answers
/// creates the passkey.
pub async fn add(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, form: f, .. }: SignedInForm<AddForm>,
) -> Response {
    let password = f
        .passkey_password
        .filter(|p| !p.is_empty())
        .map(|p| Password::for_verification(&p));
    let started = match register::start(&state, &user, password.as_ref(), &client).await {
        Ok(started) => started,
        Err(e) => return refused_as(&state, &user, "passkeys", e, "passkey_password").await,
    };
    page(
        &state,
        StatusCode::OK,
        "passkey_add.html",
        context! {
            csrf => session_token(&state, user.session_id),
            ceremony_id => started.ceremony_id,
            options => started.options.to_string(),
        },
    )
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf: Option<String>,
    ceremony_id: Option<String>,
    credential: Option<String>,
    name: Option<String>,
}

/// `POST /account/passkeys/create`: the browser's new credential. The owner is mailed.
pub async fn create(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, form: f, .. }: SignedInForm<CreateForm>,
) -> Response {
    let name = match f.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        None => None,
        Some(raw) => match PasskeyName::parse(raw) {
            Ok(name) => Some(name),
            Err(invalid) => return refused(&state, &user, "passkeys", bad_name(invalid)).await,
        },
    };
    let Some((ceremony, credential)) = answer(f.ceremony_id.as_deref(), f.credential.as_deref()) else {
        return refused(&state, &user, "passkeys", needs_script()).await;
    };
    match register::finish(&state, &user, &ceremony, &credential, name, &client).await {
        Ok(_) => done(&state, &user, "passkey_added").await,
        Err(e) => refused(&state, &user, "passkeys", e).await,
    }
}

#[derive(Deserialize)]
pub struct RenameForm {
    csrf: Option<String>,
    passkey_id: Option<String>,
    name: Option<String>,
}

fn passkey_id(raw: Option<&str>) -> Uuid {
    raw.and_then(|s| Uuid::parse_str(s.trim()).ok()).unwrap_or_default()
}

/// `POST /account/passkeys/rename`. The owner is mailed.
pub async fn rename(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, form: f, .. }: SignedInForm<RenameForm>,
) -> Response {
    let name = match PasskeyName::parse(f.name.as_deref().unwrap_or_default()) {
        Ok(name) => name,
        Err(invalid) => return refused(&state, &user, "passkeys", bad_name(invalid)).await,
    };
    match manage::rename(&state, &user, passkey_id(f.passkey_id.as_deref()), &name, &client).await {
        Ok(_) => done(&state, &user, "passkey_renamed").await,
        Err(e) => refused(&state, &user, "passkeys", e).await,
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf: Option<String>,
    passkey_id: Option<String>,
}

/// `POST /account/passkeys/delete`: needs the step-up on an MFA account, and is never the last
/// way to sign in. The owner is mailed.
pub async fn delete(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, form: f, .. }: SignedInForm<DeleteForm>,
) -> Response {
    match manage::delete(&state, &user, passkey_id(f.passkey_id.as_deref()), &client).await {
        Ok(()) => done(&state, &user, "passkey_deleted").await,
        Err(e) => refused(&state, &user, "passkeys", e).await,
    }
}

csrf_form!(AddForm, CreateForm, RenameForm, DeleteForm);
