//! The step-up on the account page: a change that needs a fresh second factor (new recovery
//! codes, turning MFA off, the password or address of an MFA account after the step-up window)
//! shows this form instead; a correct code renews the session's tokens with a fresh `auth_time`
//! (the API's `/api/auth/mfa/step-up`), and the user makes the change again.

use super::render::page;
use super::session::signed_in_cookies;
use super::signed_in::SignedInForm;
use super::signin::shown;
use super::strings::text;
use crate::app::AppState;
use crate::auth::mfa::challenge;
use crate::auth::mfa::{Method, Proof};
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::error::Error;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use minijinja::context;
use serde::Deserialize;

/// The step-up form, listing the user's active factors (and recovery codes).
pub(super) async fn form(
    state: &AppState,
    user: &AuthUser,
    status: StatusCode,
    error: Option<String>,
    notice: Option<&str>,
) -> Response {
    let factors = match state.store.mfa().factors(user.user_id).await {
        Ok(f) => f,
        Err(e) => return Error::from(e).into_response(),
    };
    let mut methods: Vec<String> = factors
        .iter()
        .filter(|f| f.is_active())
        .map(|f| f.method.clone())
        .collect();
    methods.push(Method::Recovery.as_str().to_string());
    // With a passkey, the page also carries a ceremony for it (the script runs it on a click).
    let passkey = match state.store.passkeys().count_of_user(user.user_id).await {
        Ok(0) => None,
        Ok(_) => match challenge::step_up_passkey_options(state, user).await {
            Ok(started) => Some(context! {
                ceremony_id => started.ceremony_id,
                options => started.options.to_string(),
            }),
            Err(e @ Error::Internal(_)) => return e.into_response(),
            Err(_) => None,
        },
        Err(e) => return Error::from(e).into_response(),
    };
    page(
        state,
        status,
        "step_up.html",
        context! {
            csrf => super::forms::session_token(state, user.session_id),
            method_list => methods,
            passkey,
            error,
            notice,
        },
    )
}

#[derive(Deserialize)]
pub struct StepUpForm {
    csrf: Option<String>,
    method: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize)]
pub struct PasskeyStepUpForm {
    csrf: Option<String>,
    ceremony_id: Option<String>,
    credential: Option<String>,
}

super::signed_in::csrf_form!(StepUpForm, PasskeyStepUpForm);

/// `POST /account/step-up`.
pub async fn confirm(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, form: f, jar }: SignedInForm<StepUpForm>,
) -> Response {
    let method = f.method.as_deref().and_then(Method::parse);
    let code = f.code.unwrap_or_default();
    let outcome = challenge::step_up(
        &state,
        &user,
        &Proof::Code {
            method,
            code: code.trim(),
        },
        &client,
    )
    .await;
    confirmed(&state, &user, jar, outcome).await
}

/// Where a step-up goes: the renewed tokens and back to the account page, or the form again.
async fn confirmed(
    state: &AppState,
    user: &AuthUser,
    jar: CookieJar,
    outcome: crate::error::Result<crate::auth::sessions::TokenPair>,
) -> Response {
    match outcome {
        Ok(pair) => (
            signed_in_cookies(state, jar, &pair),
            Redirect::to("/account?done=step_up"),
        )
            .into_response(),
        Err(e @ Error::Internal(_)) => e.into_response(),
        Err(e) => form(state, user, e.status(), shown(&e), None).await,
    }
}

/// `POST /account/step-up/passkey`: the answer to the ceremony the form carried.
pub async fn confirm_passkey(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, form: f, jar }: SignedInForm<PasskeyStepUpForm>,
) -> Response {
    let Some((ceremony_id, credential)) = super::passkeys::answer(f.ceremony_id.as_deref(), f.credential.as_deref())
    else {
        return form(
            &state,
            &user,
            StatusCode::BAD_REQUEST,
            Some(text("passkey_needs_script").into()),
            None,
        )
        .await;
    };
    let proof = Proof::Passkey {
        ceremony_id: &ceremony_id,
        credential: &credential,
    };
    let outcome = challenge::step_up(&state, &user, &proof, &client).await;
    confirmed(&state, &user, jar, outcome).await
}

/// `POST /account/step-up/send-code`: a code by mail, for an account with emailed codes.
pub async fn send_code(State(state): State<AppState>, SignedInForm { user, .. }: SignedInForm<StepUpForm>) -> Response {
    match challenge::send_code_to_caller(&state, &user).await {
        Ok(()) => form(&state, &user, StatusCode::OK, None, Some(text("code_sent"))).await,
        Err(e @ Error::Internal(_)) => e.into_response(),
        Err(e) => form(&state, &user, e.status(), shown(&e), None).await,
    }
}
