//! The hosted pages: sign in (password, the MFA step, an emailed code, a passkey), register,
//! forgotten password, and the account page. Server-rendered from templates, usable without
//! JavaScript (but for passkeys, a browser API: one same-origin script, [`passkeys`]), so a
//! team with a browser app can use gatehouse before building a single screen.
//!
//! The browser's session is cookie mode's: the refresh token in the `HttpOnly` cookie scoped to
//! `/api/auth`, plus the short-lived access token in an `HttpOnly` cookie the pages read
//! ([`session`]). Every form carries a CSRF token and must come from `PUBLIC_URL`'s origin
//! ([`forms`]). Every string a user reads is in [`strings`].

mod account;
mod code_login;
mod forms;
mod mfa;
mod page_form;
mod passkeys;
mod register;
mod render;
mod session;
mod sessions;
mod signed_in;
mod signin;
mod social;
mod step_up;
mod strings;

use crate::app::AppState;
use axum::routing::{get, post};
use axum::Router;

pub use page_form::PageForm;
pub use register::field_messages;
pub use render::{page, SCRIPT_PATH, STYLESHEET_PATH};
pub use signin::sentence;
pub use social::{refused_callback as social_refused, signed_in as social_sign_in};
pub use strings::text;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(signin::show).post(signin::submit))
        .route("/login/mfa", get(signin::show_mfa).post(signin::submit_mfa))
        .route("/login/social/{provider}", get(social::start))
        .route("/login/mfa/send-code", post(signin::send_mfa_code))
        .route("/login/mfa/passkey", post(passkeys::mfa_finish))
        .route("/login/mfa/passkey/options", post(passkeys::mfa_options))
        .route("/login/passkey", post(passkeys::sign_in))
        .route("/login/code", get(code_login::show_code).post(code_login::request_code))
        .route("/login/code/verify", post(code_login::submit_code))
        .route("/logout", post(signin::logout))
        .route("/register", get(register::show).post(register::submit))
        .route(
            "/forgot-password",
            get(register::show_forgot).post(register::submit_forgot),
        )
        .route("/account", get(account::show))
        .route("/account/profile", post(account::update_profile))
        .route("/account/password", post(account::change_password))
        .route("/account/delete", post(account::delete_account))
        .route("/account/email", post(account::change_email))
        .route("/account/step-up", post(step_up::confirm))
        .route("/account/step-up/send-code", post(step_up::send_code))
        .route("/account/step-up/passkey", post(step_up::confirm_passkey))
        .route("/account/identities/link", post(social::link))
        .route("/account/identities/unlink", post(social::unlink))
        .route("/account/passkeys/add", post(passkeys::add))
        .route("/account/passkeys/create", post(passkeys::create))
        .route("/account/passkeys/rename", post(passkeys::rename))
        .route("/account/passkeys/delete", post(passkeys::delete))
        .route("/account/sessions/revoke", post(sessions::revoke_session))
        .route("/account/sessions/revoke-others", post(sessions::revoke_other_sessions))
        .route("/account/mfa/recovery-codes", post(mfa::new_recovery_codes))
        .route("/account/mfa/disable", post(mfa::disable))
        .route("/account/mfa/{method}", post(mfa::start))
        .route("/account/mfa/{method}/verify", post(mfa::confirm))
        .route(session::RESUME_PATH, get(session::resume))
        .route(STYLESHEET_PATH, get(render::stylesheet))
        .route(SCRIPT_PATH, get(render::script))
}
