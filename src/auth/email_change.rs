//! Changing the sign-in address (OWASP ASVS 3.0 V2.5/V3.7: re-authentication before changing
//! an account's identifier; notification of the old address).
//!
//! - Asking needs the signed-in session *and* proof it is the owner now
//!   ([`reauthentication::prove_owner`]). A stolen access token alone cannot move an account.
//! - Nothing changes until the link mailed to the new address is used (it proves that mailbox),
//!   so a typo cannot lock the owner out. The old address is told at once and again when the
//!   change happens. Changing or resetting the password cancels every pending change.
//! - The answer is the same `202` whether or not the new address already has an account: the
//!   owner of that address gets a "someone tried" mail instead of a link, so this endpoint cannot
//!   be used to find out who is registered.
//! - When the link is used, links and codes already mailed to the old address (password reset,
//!   verification, sign-in codes) stop working: they would otherwise keep a way in through a
//!   mailbox the account has left.

use crate::audit::{self, EventKind, Outcome};
use crate::auth::one_time::{self, Refusal, Refused, Revoker};
use crate::auth::reauthentication;
use crate::auth::secrets::OpaqueToken;
use crate::auth::services::Services;
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::{Email, FieldError, Password};
use crate::error::{Error, ErrorCode, Result};
use crate::mail::templates::Template;
use crate::store::{StoreError, TokenPurpose, UserRecord};
use serde_json::json;
use uuid::Uuid;

/// Checks that the caller may move their account to `new_email`. What follows (the mails) is
/// [`send_change_mails`], which the handler runs off the request.
pub async fn authorize(
    state: &Services,
    caller: &AuthUser,
    new_email: &Email,
    current_password: Option<&Password>,
    client: &ClientInfo,
) -> Result<UserRecord> {
    let user =
        reauthentication::prove_owner(state, caller, current_password, EventKind::EmailChangeRequested, client).await?;
    if new_email.canonical() == user.email_canonical {
        return Err(Error::Validation(vec![FieldError {
            field: "new_email".into(),
            code: "email_unchanged",
            message: "is already this account's address".into(),
        }]));
    }
    Ok(user)
}

/// Mails the confirmation link to the new address and a notice to the old one — or, when the
/// new address already has an account, a "someone tried" mail to it and nothing else.
pub async fn send_change_mails(
    state: &Services,
    user: &UserRecord,
    new_email: &Email,
    client: &ClientInfo,
) -> Result<()> {
    let now = state.now();
    let cfg = &state.config;
    if state.store.users().by_email(&new_email.canonical()).await?.is_some() {
        let mail = state.outbox.render(Template::EmailInUse, &[("app", &cfg.app_name)]);
        state.outbox.enqueue(new_email.as_str(), mail).await?;
        record(
            state,
            user,
            client,
            Outcome::Failure,
            json!({ "reason": "email_exists" }),
        )
        .await;
        return Ok(());
    }
    let token = OpaqueToken::generate();
    let ttl = cfg.verification_link_ttl;
    let link = one_time::prepare(state, user.id, TokenPurpose::EmailChange, token.hash(), None).await?;
    state
        .store
        .email_changes()
        .insert(&link, new_email.as_str(), &new_email.canonical())
        .await?;
    let link = cfg.mail_link(
        cfg.confirm_email_change_url.as_ref(),
        "/confirm-email-change",
        &[("token", token.expose())],
    );
    let name = user.first_name.clone().unwrap_or_default();
    let hours = ttl.num_hours().max(1).to_string();
    let when = crate::mail::templates::mail_time(now);
    let confirm = state.outbox.render(
        Template::EmailChangeConfirm,
        &[
            ("app", &cfg.app_name),
            ("name", &name),
            ("link", &link),
            ("hours", &hours),
        ],
    );
    state.outbox.enqueue(new_email.as_str(), confirm).await?;
    let notice = state.outbox.render(
        Template::EmailChangeRequested,
        &[
            ("app", &cfg.app_name),
            ("name", &name),
            ("new_email", new_email.as_str()),
            ("hours", &hours),
            ("when", &when),
        ],
    );
    state.outbox.enqueue(&user.email, notice).await?;
    record(state, user, client, Outcome::Success, json!({})).await;
    Ok(())
}

/// Uses the link from the mail to the new address: the account signs in with it from now on.
pub async fn confirm(state: &Services, token: &OpaqueToken, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    let purpose = TokenPurpose::EmailChange;
    let (link, _) = one_time::find(state, &[purpose], &token.hash()).await??;
    let gone = Refused {
        purpose,
        refusal: Refusal::Unknown,
    };
    let user = state.store.users().by_id(link.user_id).await?.ok_or(gone)?;
    // An account an admin locked after the link was sent stays as it is until unlocked.
    if !user.is_active {
        return Err(Error::new(
            ErrorCode::AccountDisabled,
            "this account is disabled; nothing was changed (the link works again once an admin unlocks it)",
        ));
    }
    let changed = match state.store.email_changes().confirm(link.id, now).await {
        Ok(Some(changed)) => changed,
        // Spent or revoked since `find` (a concurrent confirm, a password change).
        Ok(None) => {
            return Err(Refused {
                purpose,
                refusal: Refusal::Used,
            }
            .into())
        }
        Err(StoreError::Duplicate(_)) => {
            return Err(Error::new(
                ErrorCode::EmailTaken,
                "another account uses this address by now; nothing was changed",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    one_time::revoke_on(state, changed.user_id, Revoker::AddressChange).await?;
    let name = user.first_name.clone().unwrap_or_default();
    let when = crate::mail::templates::mail_time(now);
    let mail = state.outbox.render(
        Template::EmailChanged,
        &[
            ("app", &state.config.app_name),
            ("name", &name),
            ("new_email", &changed.new_email),
            ("when", &when),
        ],
    );
    state.outbox.enqueue(&changed.old_email, mail).await?;
    audit::Event {
        kind: EventKind::EmailChanged,
        user_id: Some(changed.user_id),
        client,
        outcome: Outcome::Success,
        details: json!({}),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(())
}

/// Ends every pending change of the account: before a newer request, and when its password
/// changes (whoever asked may have been an intruder who knew the old one).
pub async fn cancel_pending(state: &Services, user_id: Uuid) -> Result<()> {
    one_time::revoke_on(state, user_id, Revoker::PasswordChange).await
}

async fn record(
    state: &Services,
    user: &UserRecord,
    client: &ClientInfo,
    outcome: Outcome,
    details: serde_json::Value,
) {
    audit::Event {
        kind: EventKind::EmailChangeRequested,
        user_id: Some(user.id),
        client,
        outcome,
        details,
    }
    .record(state.store.as_ref(), state.now())
    .await;
}
