//! Proof that whoever holds a session is the account's owner *now*, for changes a stolen
//! access token must not be enough for (moving the account to another address, deleting it):
//! the current password, plus the MFA step-up for MFA users; an account without a password
//! (it signs in through a provider) instead needs a sign-in within `MFA_STEP_UP_WINDOW`.
//! OWASP ASVS V2.5 / V3.7 (re-authentication before sensitive account changes).

use crate::audit::{self, EventKind, Outcome};
use crate::auth::lockout;
use crate::auth::services::Services;
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::{FieldError, Password};
use crate::error::{Error, ErrorCode, Result};
use crate::store::UserRecord;
use serde_json::json;

/// The caller's account, once they have proven they own it. A wrong password is written to the
/// audit log as a failed `event`.
pub async fn prove_owner(
    state: &Services,
    caller: &AuthUser,
    current_password: Option<&Password>,
    event: EventKind,
    client: &ClientInfo,
) -> Result<UserRecord> {
    let user = state
        .store
        .users()
        .by_id(caller.user_id)
        .await?
        .ok_or_else(crate::auth::mfa::user_gone)?;
    crate::auth::mfa::require_step_up(state, caller, &user)?;
    match (user.password_hash.as_deref(), current_password) {
        (Some(_), None) => Err(Error::Validation(vec![FieldError {
            field: "current_password".into(),
            code: "required",
            message: "is required for this change".into(),
        }])),
        (Some(stored), Some(given)) => {
            check_current_password(state, caller, &user, stored, given, event, client).await?;
            Ok(user)
        }
        (None, _) => {
            let window = state.config.mfa_step_up_window;
            if state.now() - caller.auth_time <= window {
                return Ok(user);
            }
            Err(Error::new(
                ErrorCode::ReauthenticationRequired,
                format!(
                    "this account has no password: sign in again through your provider, then retry within {} minutes",
                    window.num_minutes().max(1)
                ),
            ))
        }
    }
}

/// For turning on the first second factor of an account without MFA: the current password,
/// or a sign-in within `MFA_STEP_UP_WINDOW`. A stolen access token is otherwise enough to put
/// an authenticator the thief holds on the account and keep its owner out for good.
pub async fn prove_recent_owner(
    state: &Services,
    caller: &AuthUser,
    user: &UserRecord,
    current_password: Option<&Password>,
    event: EventKind,
    client: &ClientInfo,
) -> Result<()> {
    if let (Some(stored), Some(given)) = (user.password_hash.as_deref(), current_password) {
        return check_current_password(state, caller, user, stored, given, event, client).await;
    }
    let window = state.config.mfa_step_up_window;
    if state.now() - caller.auth_time <= window {
        return Ok(());
    }
    let minutes = window.num_minutes().max(1);
    Err(Error::new(
        ErrorCode::ReauthenticationRequired,
        if user.password_hash.is_some() {
            format!(
                "send your current password as current_password, or sign in again and retry within {minutes} minutes"
            )
        } else {
            format!("sign in again through your provider, then retry within {minutes} minutes")
        },
    ))
}

/// For a change that adds a way into the account (linking a provider, adding a passkey): the
/// MFA step-up for an MFA user, then [`prove_recent_owner`]. Answers the caller's account.
pub async fn prove_owner_adding_a_way_in(
    state: &Services,
    caller: &AuthUser,
    current_password: Option<&Password>,
    event: EventKind,
    client: &ClientInfo,
) -> Result<UserRecord> {
    let user = state
        .store
        .users()
        .by_id(caller.user_id)
        .await?
        .ok_or_else(crate::auth::mfa::user_gone)?;
    crate::auth::mfa::require_step_up(state, caller, &user)?;
    prove_recent_owner(state, caller, &user, current_password, event, client).await?;
    Ok(user)
}

/// `Ok` when `given` is the password `stored` is the hash of; otherwise the failure is written
/// to the audit log as a failed `event` and answered as a field error on `current_password`.
///
/// A session must not become a password-guessing oracle: each attempt counts in the login rate
/// limit (`RATE_LIMIT_LOGIN`) and each wrong one in the failed-login lockout of the account's
/// address, exactly as a wrong password at sign-in. The wrong guess that locks also ends the
/// session it came from (its owner signs in again, with the unlock link if needed); while a
/// lock runs no password is checked.
pub async fn check_current_password(
    state: &Services,
    caller: &AuthUser,
    user: &UserRecord,
    stored: &str,
    given: &Password,
    event: EventKind,
    client: &ClientInfo,
) -> Result<()> {
    let subject = lockout::Subject::of(state, &user.email);
    if let Some(locked) = lockout::active_lock(state, &subject, client).await? {
        return Err(locked);
    }
    lockout::count_attempt(state, &subject, client).await?;
    if state.hasher.verify(given, Some(stored)).await?.matches {
        lockout::reset(state, &subject, client).await?;
        return Ok(());
    }
    audit::Event {
        kind: event,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Failure,
        details: json!({ "reason": "invalid_current_password" }),
    }
    .record(state.store.as_ref(), state.now())
    .await;
    if lockout::record_failure(state, &subject, Some(user), client).await? {
        state.store.sessions().revoke(caller.session_id, state.now()).await?;
        audit::Event {
            kind: EventKind::SessionRevoked,
            user_id: Some(user.id),
            client,
            outcome: Outcome::Success,
            details: json!({ "session_id": caller.session_id, "reason": "too_many_wrong_passwords" }),
        }
        .record(state.store.as_ref(), state.now())
        .await;
    }
    Err(Error::Validation(vec![FieldError {
        field: "current_password".into(),
        code: "invalid_current_password",
        message: "is not your current password".into(),
    }]))
}
