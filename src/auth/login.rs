//! Password login. The order of checks is what keeps it enumeration-safe: the password is
//! verified first — against the account's hash, or a dummy hash for an unknown address, so both
//! take the same Argon2 time — and only a caller who knows the password learns anything more
//! (`email_not_verified`, `account_disabled`). Every attempt is audited with IP and user agent.
//!
//! The identifier is an email address or a username, in the same field (seed 004 signs in by
//! username): with an `@` it is an address, otherwise a username (which can never contain `@`).
//! An unknown username is treated exactly like an unknown address.

use crate::audit::{self, EventKind, Outcome};
use crate::auth::mfa::challenge::{self, LoginOutcome};
use crate::auth::services::Services;
use crate::auth::{lockout, sessions};
use crate::client::ClientInfo;
use crate::domain::{Email, Password, Username};
use crate::error::{Error, ErrorCode, Result};
use crate::store::UserRecord;
use serde_json::json;

pub async fn login(
    state: &Services,
    identifier: &str,
    password: &Password,
    client: &ClientInfo,
) -> Result<LoginOutcome> {
    let now = state.now();
    let user = find_account(state, identifier).await?;
    // A running lock is answered before any password is checked (guesses during a lock learn
    // nothing), and before the rate limit, so a locked account says why it is refused.
    let subject = lockout::Subject::of(state, identifier);
    if let Some(locked) = lockout::active_lock(state, &subject, client).await? {
        audit::Event {
            kind: EventKind::Login,
            user_id: user.as_ref().map(|u| u.id),
            client,
            outcome: Outcome::Failure,
            details: json!({ "reason": "account_locked" }),
        }
        .record(state.store.as_ref(), now)
        .await;
        return Err(locked);
    }
    lockout::count_attempt(state, &subject, client).await?;
    let verification = state
        .hasher
        .verify(password, user.as_ref().and_then(|u| u.password_hash.as_deref()))
        .await?;
    if verification.matches {
        lockout::reset(state, &subject, client).await?;
    }
    let user = match user {
        Some(u) if verification.matches => u,
        other => {
            let user_id = other.as_ref().map(|u| u.id);
            audit::Event {
                kind: EventKind::Login,
                user_id,
                client,
                outcome: Outcome::Failure,
                details: json!({ "reason": "invalid_credentials" }),
            }
            .record(state.store.as_ref(), now)
            .await;
            lockout::record_failure(state, &subject, other.as_ref(), client).await?;
            state.metrics.login_failed("pwd");
            return Err(Error::InvalidCredentials);
        }
    };
    admit(state, &user, "password", client).await?;
    if verification.needs_rehash {
        let phc = state.hasher.hash(password).await?;
        state.store.users().update_password_hash(user.id, &phc, now).await?;
    }
    if user.mfa_enabled {
        // No tokens yet: the second factor finishes the login at /api/auth/mfa/challenge.
        let step = challenge::begin(state, &user, crate::store::TokenPurpose::MfaChallengeAfterPassword).await?;
        audit::Event {
            kind: EventKind::Login,
            user_id: Some(user.id),
            client,
            outcome: Outcome::Success,
            details: json!({ "method": "password", "mfa_required": true }),
        }
        .record(state.store.as_ref(), now)
        .await;
        return Ok(LoginOutcome::MfaRequired(step));
    }
    let pair = sessions::start_session(state, &user, &["pwd"], client).await?;
    state.store.users().record_login(user.id, now).await?;
    audit::Event {
        kind: EventKind::Login,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({ "method": "password" }),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(LoginOutcome::Tokens(pair))
}

/// The checks every way of signing in makes once the first factor is proven (password, mailed
/// code): the account is enabled and its address confirmed. Refusals are audited with `method`.
/// They come only after the factor, so they tell nothing to someone who does not hold it.
pub(crate) async fn admit(state: &Services, user: &UserRecord, method: &str, client: &ClientInfo) -> Result<()> {
    let refusal = if !user.is_active {
        Some((
            ErrorCode::AccountDisabled,
            "this account is disabled; contact the administrator",
        ))
    } else if !user.is_email_verified {
        Some((
            ErrorCode::EmailNotVerified,
            "confirm your email address first: open the link or enter the code from the verification mail (POST /api/auth/resend-verification sends a new one)",
        ))
    } else {
        None
    };
    let Some((code, message)) = refusal else {
        return Ok(());
    };
    state.metrics.login_failed(match method {
        "password" => "pwd",
        "email_otp" => "email",
        other => other,
    });
    audit::Event {
        kind: EventKind::Login,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Failure,
        details: json!({ "method": method, "reason": code.as_str() }),
    }
    .record(state.store.as_ref(), state.now())
    .await;
    Err(Error::new(code, message))
}

/// The account named by an email address or a username. (Malformed input simply finds
/// nothing: the answer must not differ from an unknown account.)
pub(crate) async fn find_account(state: &Services, identifier: &str) -> Result<Option<UserRecord>> {
    if identifier.contains('@') {
        match Email::parse(identifier) {
            Ok(email) => Ok(state.store.users().by_email(&email.canonical()).await?),
            Err(_) => Ok(None),
        }
    } else {
        match Username::parse(identifier) {
            Ok(username) => Ok(state.store.users().by_username(&username.canonical()).await?),
            Err(_) => Ok(None),
        }
    }
}
