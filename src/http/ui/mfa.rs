//! Two-step sign-in on the account page: enrolling an authenticator app (QR code and the secret
//! as text) or emailed codes, the recovery codes shown once with a download, new recovery
//! codes, and turning it off. The rules are the API's: the first factor needs a recent sign-in
//! or the current password, later changes need the step-up.

use super::account::{done, refused};
use super::forms::session_token;
use super::render::page;
use super::signed_in::SignedInForm;
use super::signin::shown;
use crate::app::AppState;
use crate::auth::mfa::enrol::{self, RecoveryCodes};
use crate::auth::mfa::Method;
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::Password;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use minijinja::context;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct MfaForm {
    csrf: Option<String>,
    #[serde(alias = "mfa_totp_password")]
    current_password: Option<String>,
    code: Option<String>,
    method: Option<String>,
    /// The key the enrolment page showed, to show it again after a wrong code.
    secret: Option<String>,
}

fn method_of(raw: &str) -> Option<Method> {
    Method::parse(raw).filter(|m| *m != Method::Recovery)
}

fn codes_page(state: &AppState, user: &AuthUser, codes: RecoveryCodes) -> Response {
    let file = format!(
        "{} recovery codes\nEach code signs you in once if you lose your second factor.\n\n{}\n",
        state.config.ui.app_name,
        codes.recovery_codes.join("\n")
    );
    let download = format!("data:text/plain;charset=utf-8;base64,{}", STANDARD.encode(file));
    page(
        state,
        StatusCode::OK,
        "recovery_codes.html",
        context! { csrf => session_token(state, user.session_id), codes => codes.recovery_codes, download },
    )
}

/// `POST /account/mfa/{method}`: starts enrolling `totp` or `email`.
pub async fn start(
    State(state): State<AppState>,
    Path(method): Path<String>,
    client: ClientInfo,
    SignedInForm { user, form: f, .. }: SignedInForm<MfaForm>,
) -> Response {
    let Some(method) = method_of(&method) else {
        return refused(
            &state,
            &user,
            "mfa",
            crate::error::Error::field("method", "invalid_method", "must be totp or email"),
        )
        .await;
    };
    let password = f
        .current_password
        .filter(|p| !p.is_empty())
        .map(|p| Password::for_verification(&p));
    match enrol::enable(&state, &user, method, password.as_ref(), &client).await {
        Ok(enrolment) => enrol_page(
            &state,
            &user,
            method,
            enrolment.secret.as_deref(),
            enrolment.qr_code,
            None,
        ),
        Err(e) => refused(&state, &user, "mfa", e).await,
    }
}

/// The enrolment step: the QR code and the key (TOTP) or the mailed code's form, with `error`
/// after a wrong code. The key stays the one the user has already scanned.
fn enrol_page(
    state: &AppState,
    user: &AuthUser,
    method: Method,
    secret: Option<&str>,
    qr_code: Option<String>,
    error: Option<String>,
) -> Response {
    let plain = secret.map(|s| s.replace(' ', ""));
    // The key in groups of four, as authenticator apps show keys.
    let grouped = plain.as_deref().map(|s| {
        s.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page(
        state,
        status,
        "mfa_enrol.html",
        context! {
            csrf => session_token(state, user.session_id),
            method => method.as_str(),
            qr_code,
            secret => grouped,
            plain_secret => plain,
            error,
        },
    )
}

/// The QR code again for a key shown before (after a wrong code): only drawn from what the page
/// itself carried, so at worst a tampered page shows its author a wrong picture.
async fn qr_again(state: &AppState, user: &AuthUser, secret: &str) -> Option<String> {
    let email = state.store.users().by_id(user.user_id).await.ok().flatten()?.email;
    let totp = crate::auth::mfa::totp::TotpSecret::from_base32(secret)?
        .totp(&state.config.app_name, &email)
        .ok()?;
    let png = tokio::task::spawn_blocking(move || totp.get_qr_png())
        .await
        .ok()?
        .ok()?;
    Some(format!("data:image/png;base64,{}", STANDARD.encode(png)))
}

/// `POST /account/mfa/{method}/verify`: the first code from the new factor turns it on.
pub async fn confirm(
    State(state): State<AppState>,
    Path(method): Path<String>,
    client: ClientInfo,
    SignedInForm { user, form: f, .. }: SignedInForm<MfaForm>,
) -> Response {
    let Some(method) = method_of(&method) else {
        return refused(
            &state,
            &user,
            "mfa",
            crate::error::Error::field("method", "invalid_method", "must be totp or email"),
        )
        .await;
    };
    let code = f.code.unwrap_or_default();
    match enrol::verify(&state, &user, method, code.trim(), &client).await {
        Ok(codes) => codes_page(&state, &user, codes),
        // A wrong code: the same step again, with the key already scanned.
        Err(e) if e.status() == StatusCode::BAD_REQUEST || e.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let secret = f.secret.filter(|s| !s.trim().is_empty());
            let qr = match &secret {
                Some(s) if method == Method::Totp => qr_again(&state, &user, s).await,
                _ => None,
            };
            enrol_page(&state, &user, method, secret.as_deref(), qr, shown(&e))
        }
        Err(e) => refused(&state, &user, "mfa", e).await,
    }
}

/// `POST /account/mfa/recovery-codes`: a new set; the old codes stop working.
pub async fn new_recovery_codes(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, .. }: SignedInForm<MfaForm>,
) -> Response {
    match enrol::regenerate_recovery_codes(&state, &user, &client).await {
        Ok(codes) => codes_page(&state, &user, codes),
        Err(e) => refused(&state, &user, "mfa", e).await,
    }
}

/// `POST /account/mfa/disable`: a current code (the step-up) turns two-step sign-in off.
pub async fn disable(
    State(state): State<AppState>,
    client: ClientInfo,
    SignedInForm { user, form: f, .. }: SignedInForm<MfaForm>,
) -> Response {
    let method = f.method.as_deref().and_then(Method::parse);
    let code = f.code.unwrap_or_default();
    match enrol::disable(&state, &user, method, code.trim(), &client).await {
        Ok(()) => done(&state, &user, "mfa_disabled").await,
        Err(e) => refused(&state, &user, "mfa", e).await,
    }
}

super::signed_in::csrf_form!(MfaForm);
