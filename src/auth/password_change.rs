//! Forgotten, reset and changed passwords (seeds 000, 001, 003, 004; OWASP Forgot Password
//! Cheat Sheet; NIST SP 800-63B §5.1.1.2).
//!
//! - `forgot` answers the same for every address and does its work off the request, so neither
//!   the body nor the timing tells whether an account exists. A real account gets a link with a
//!   single-use 256-bit token (only its SHA-256 stored), valid `RESET_TOKEN_TTL` (15 min); a new
//!   request revokes earlier unused links. The link is built from `PUBLIC_URL` (or
//!   `RESET_PASSWORD_URL`), never from the request's `Host` (reset-link poisoning).
//! - `reset` and `change` apply the full password policy and refuse any of the last
//!   `PASSWORD_HISTORY` passwords (the current one included). History holds hashes only.
//! - After a reset every session and refresh family of the user is revoked; after a change all
//!   but the caller's; either way any pending change of the sign-in address is cancelled, the
//!   user is told by mail and an audit event is written.
//! - A reset proves control of the mailbox, so it also verifies a pending address. It does not
//!   touch MFA settings: a second factor is still needed at the next login.

use crate::audit::{self, EventKind, Outcome};
use crate::auth::one_time::{self, Refusal, Refused};
use crate::auth::secrets::OpaqueToken;
use crate::auth::services::Services;
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::{Email, Password, PasswordContext};
use crate::error::{Error, ErrorCode, Result};
use crate::mail::templates::Template;
use crate::store::{TokenPurpose, UserRecord};
use serde_json::json;

/// Queues a reset mail if `email` belongs to an active account; otherwise does nothing.
pub async fn forgot(state: &Services, email: &Email, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    let Some(user) = state.store.users().by_email(&email.canonical()).await? else {
        return Ok(());
    };
    if !user.is_active {
        return Ok(());
    }
    let cfg = &state.config;
    let token = OpaqueToken::generate();
    one_time::issue(state, user.id, TokenPurpose::PasswordReset, token.hash(), None).await?;
    let link = cfg.mail_link(
        cfg.reset_password_url.as_ref(),
        "/reset-password",
        &[("token", token.expose())],
    );
    let minutes = cfg.reset_token_ttl.num_minutes().max(1).to_string();
    let name = user.first_name.clone().unwrap_or_default();
    let mail = state.outbox.render(
        Template::PasswordReset,
        &[
            ("app", &cfg.app_name),
            ("name", &name),
            ("link", &link),
            ("minutes", &minutes),
        ],
    );
    state.outbox.enqueue(&user.email, mail).await?;
    audit::Event {
        kind: EventKind::PasswordResetRequested,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({}),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(())
}

/// Sets a new password with a reset token.
pub async fn reset(state: &Services, token: &OpaqueToken, new_password: &str, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    let purpose = TokenPurpose::PasswordReset;
    let (record, _) = one_time::find(state, &[purpose], &token.hash()).await??;
    let user = state.store.users().by_id(record.user_id).await?.ok_or(Refused {
        purpose,
        refusal: Refusal::Unknown,
    })?;
    // A link mailed before an admin locked the account must not change its password: the lock
    // holds until an admin lifts it (the link works again afterwards, while it lives).
    if !user.is_active {
        return Err(Error::new(
            ErrorCode::AccountDisabled,
            "this account is disabled; contact the administrator",
        ));
    }
    let password = acceptable_new_password(state, &user, new_password).await?;
    let phc = state.hasher.hash(&password).await?;
    // Spend the token only now, so a refused password leaves the link usable; the conditional
    // update makes two concurrent resets with one token end with exactly one winner.
    one_time::spend(state, &record, purpose).await??;
    state
        .store
        .users()
        .change_password(user.id, &phc, history_to_keep(state), now)
        .await?;
    crate::auth::welcome::confirm_address(state, user.id).await?;
    crate::auth::email_change::cancel_pending(state, user.id).await?;
    let revoked = state.store.sessions().revoke_all_of_user(user.id, None, now).await?;
    notify_changed(state, &user).await?;
    audit::Event {
        kind: EventKind::PasswordReset,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({ "sessions_revoked": revoked }),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(())
}

/// Changes the signed-in user's password; the caller's session stays, all others end.
pub async fn change(
    state: &Services,
    caller: &AuthUser,
    current: &Password,
    new_password: &str,
    client: &ClientInfo,
) -> Result<()> {
    let now = state.now();
    let user = state
        .store
        .users()
        .by_id(caller.user_id)
        .await?
        .ok_or_else(|| Error::new(ErrorCode::SessionRevoked, "this account no longer exists"))?;
    crate::auth::mfa::require_step_up(state, caller, &user)?;
    let Some(stored) = user.password_hash.as_deref() else {
        return Err(Error::new(
            ErrorCode::NoPasswordSet,
            "this account has no password yet (it signs in through a provider); use forgot-password to set one",
        ));
    };
    crate::auth::reauthentication::check_current_password(
        state,
        caller,
        &user,
        stored,
        current,
        EventKind::PasswordChange,
        client,
    )
    .await?;
    let password = acceptable_new_password(state, &user, new_password).await?;
    let phc = state.hasher.hash(&password).await?;
    state
        .store
        .users()
        .change_password(user.id, &phc, history_to_keep(state), now)
        .await?;
    crate::auth::email_change::cancel_pending(state, user.id).await?;
    let revoked = state
        .store
        .sessions()
        .revoke_all_of_user(user.id, Some(caller.session_id), now)
        .await?;
    notify_changed(state, &user).await?;
    audit::Event {
        kind: EventKind::PasswordChange,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({ "sessions_revoked": revoked }),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(())
}

/// History entries beside the current hash: together they are the last `PASSWORD_HISTORY`.
fn history_to_keep(state: &Services) -> u32 {
    state.config.password_history.saturating_sub(1)
}

/// The policy of registration, plus: not one of the last `PASSWORD_HISTORY` passwords.
async fn acceptable_new_password(state: &Services, user: &UserRecord, raw: &str) -> Result<Password> {
    let rules = state.config.password_rules();
    let email = Email::parse(&user.email).ok();
    let ctx = PasswordContext {
        email: email.as_ref(),
        first_name: user.first_name.as_deref(),
        last_name: user.last_name.as_deref(),
        username: user.username.as_deref(),
        rules: &rules,
    };
    let password = Password::parse(raw, &ctx).map_err(|e| Error::Validation(vec![e.at("new_password")]))?;
    let n = state.config.password_history;
    if n > 0 {
        let mut recent: Vec<String> = user.password_hash.iter().cloned().collect();
        recent.extend(
            state
                .store
                .users()
                .password_history(user.id, n.saturating_sub(1))
                .await?,
        );
        for phc in recent.iter().take(n as usize) {
            if state.hasher.verify(&password, Some(phc)).await?.matches {
                return Err(Error::Validation(vec![crate::domain::FieldError {
                    field: "new_password".into(),
                    code: "password_reused",
                    message: format!("must differ from your last {n} passwords"),
                }]));
            }
        }
    }
    Ok(password)
}

async fn notify_changed(state: &Services, user: &UserRecord) -> Result<()> {
    let name = user.first_name.clone().unwrap_or_default();
    let when = crate::mail::templates::mail_time(state.now());
    let mail = state.outbox.render(
        Template::PasswordChanged,
        &[("app", &state.config.app_name), ("name", &name), ("when", &when)],
    );
    state.outbox.enqueue(&user.email, mail).await?;
    Ok(())
}
