//! Passwordless sign-in with a mailed 6-digit code (seed 001): the code is hashed (keyed), valid
//! 10 minutes, single use, spent on use and dead after `MAX_CODE_ATTEMPTS` wrong guesses. A user
//! with a TOTP app must still pass it (or a recovery code) afterwards.

use super::active_factors;
use super::challenge::{self, LoginOutcome};
use super::codes::{self, CodeUse};
use crate::audit::{self, EventKind, Outcome};
use crate::auth::services::Services;
use crate::auth::sessions;
use crate::client::ClientInfo;
use crate::domain::Email;
use crate::error::Result;
use crate::store::TokenPurpose;
use serde_json::json;

/// Mails a sign-in code if `email` belongs to an active, confirmed account; otherwise nothing.
/// The caller answers the same either way (and runs this off the request).
pub async fn request(state: &Services, email: &Email) -> Result<()> {
    match state.store.users().by_email(&email.canonical()).await? {
        Some(user) if user.is_active && user.is_email_verified => {
            codes::send_email_code(state, &user, TokenPurpose::OtpLogin, CodeUse::Passwordless).await
        }
        _ => Ok(()),
    }
}

pub async fn login(state: &Services, email: &Email, code: &str, client: &ClientInfo) -> Result<LoginOutcome> {
    let now = state.now();
    let user = state.store.users().by_email(&email.canonical()).await?;
    let ok = match &user {
        Some(u) => codes::check_email_code(state, u.id, TokenPurpose::OtpLogin, code).await?,
        None => false,
    };
    let user = match user {
        Some(u) if ok => u,
        other => {
            audit::Event {
                kind: EventKind::Login,
                user_id: other.as_ref().map(|u| u.id),
                client,
                outcome: Outcome::Failure,
                details: json!({ "method": "email_otp", "reason": "invalid_code" }),
            }
            .record(state.store.as_ref(), now)
            .await;
            state.metrics.login_failed("email");
            return Err(codes::invalid_code());
        }
    };
    crate::auth::login::admit(state, &user, "email_otp", client).await?;
    if user.mfa_enabled && active_factors(state, user.id).await?.iter().any(|f| f.method == "totp") {
        let step = challenge::begin(state, &user, TokenPurpose::MfaChallengeAfterEmailOtp).await?;
        return Ok(LoginOutcome::MfaRequired(step));
    }
    let pair = sessions::start_session(state, &user, &["email"], client).await?;
    state.store.users().record_login(user.id, now).await?;
    audit::Event {
        kind: EventKind::Login,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({ "method": "email_otp" }),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(LoginOutcome::Tokens(pair))
}
