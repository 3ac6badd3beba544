//! The signed-in user's linked provider identities: linking one on purpose, listing them, and
//! unlinking one — never the last way to sign in (an account with no password and no identity
//! could never be entered again).
//!
//! Linking adds a way into the account, so it asks what setting a password would: the MFA
//! step-up for MFA users, and the current password or a recent sign-in. The session that started
//! it must still be live when the provider sends the browser back, and an identity that already
//! signs in to another account is never moved (that account's owner would be locked out).

use super::flow::{self, Started};
use super::state_cookie::Purpose;
use super::ProviderProfile;
use crate::audit::{self, EventKind, Outcome};
use crate::auth::services::Services;
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::Password;
use crate::error::{Error, ErrorCode, Result};
use crate::store::{NewOAuthAccount, OAuthAccountRecord, StoreError};
use serde_json::json;
use uuid::Uuid;

pub async fn list(state: &Services, user_id: Uuid) -> Result<Vec<OAuthAccountRecord>> {
    Ok(state.store.identities().of_user(user_id).await?)
}

/// Starts linking `provider` to the caller's account; the browser then goes to the provider.
/// `return_to` (an own path or an allowed URL) is where it comes back, with `linked=<provider>`.
pub async fn start_link(
    state: &Services,
    caller: &AuthUser,
    provider: &str,
    current_password: Option<&Password>,
    return_to: String,
    client: &ClientInfo,
) -> Result<Started> {
    state.oauth.get(provider)?;
    crate::auth::reauthentication::prove_owner_adding_a_way_in(
        state,
        caller,
        current_password,
        EventKind::IdentityLinked,
        client,
    )
    .await?;
    let purpose = Purpose::Link {
        user_id: caller.user_id,
        session_id: caller.session_id,
        return_to,
    };
    flow::start_for(state, provider, purpose).await
}

/// The provider's callback for a link: `profile` now also signs in `user_id`.
pub(super) async fn link(
    state: &Services,
    user_id: Uuid,
    session_id: Uuid,
    provider: &str,
    profile: &ProviderProfile,
    client: &ClientInfo,
) -> Result<()> {
    let now = state.now();
    let live = state
        .store
        .sessions()
        .by_id(session_id)
        .await?
        .is_some_and(|s| s.user_id == user_id && s.revoked_at.is_none() && s.expires_at > now);
    if !live {
        return Err(Error::new(
            ErrorCode::SessionRevoked,
            "the session that started this link has ended; sign in again and link from your account",
        ));
    }
    let user = state
        .store
        .users()
        .by_id(user_id)
        .await?
        .ok_or_else(crate::auth::mfa::user_gone)?;
    let in_use = || {
        Error::new(
            ErrorCode::IdentityInUse,
            format!("this {provider} account already signs in to another account; unlink it there first"),
        )
    };
    match state.store.identities().user_of(provider, &profile.subject).await? {
        Some(owner) if owner == user_id => return Ok(()),
        Some(_) => return Err(in_use()),
        None => {}
    }
    let account = NewOAuthAccount {
        id: Uuid::new_v4(),
        user_id,
        provider: provider.to_string(),
        provider_user_id: profile.subject.clone(),
        email: profile.email.clone(),
        created_at: now,
    };
    match state.store.identities().link(&account).await {
        Ok(()) => {}
        // Linked to someone else a moment ago.
        Err(StoreError::Duplicate(_)) => return Err(in_use()),
        Err(e) => return Err(e.into()),
    }
    record(state, user_id, EventKind::IdentityLinked, provider, client).await;
    flow::notify_linked(state, &user, provider).await
}

pub async fn unlink(state: &Services, user_id: Uuid, id: Uuid, client: &ClientInfo) -> Result<()> {
    let linked = state.store.identities().of_user(user_id).await?;
    let Some(provider) = linked.iter().find(|a| a.id == id).map(|a| a.provider.clone()) else {
        return Err(Error::new(ErrorCode::IdentityNotFound, "no such linked identity"));
    };
    if state.store.identities().unlink(user_id, id).await? {
        record(state, user_id, EventKind::IdentityUnlinked, &provider, client).await;
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::LastSignInMethod,
        "this is your only way to sign in; set a password (forgot-password) or link another provider first",
    ))
}

async fn record(state: &Services, user_id: Uuid, kind: EventKind, provider: &str, client: &ClientInfo) {
    audit::Event {
        kind,
        user_id: Some(user_id),
        client,
        outcome: Outcome::Success,
        details: json!({ "provider": provider }),
    }
    .record(state.store.as_ref(), state.now())
    .await;
}
