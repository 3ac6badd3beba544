//! Signing in with a passkey: usernameless (the authenticator offers the account's passkey) or
//! after the name is typed (the browser is told which credentials the account has).
//!
//! Every refusal that follows a found credential is counted by the failed-login lockout under
//! the account's address, as a wrong password would be, and a locked account is refused before
//! the signature is checked. Account state (disabled, unverified) is told only after the passkey
//! proved itself, as on every other path.

use super::assertion::{self, stored_credential, unknown};
use super::ceremony::{self, Purpose, Started};
use super::{credential_id_text, internal, relying_party};
use crate::audit::{self, EventKind, Outcome};
use crate::auth::mfa::challenge::{self, LoginOutcome};
use crate::auth::services::Services;
use crate::auth::{lockout, login, sessions};
use crate::client::ClientInfo;
use crate::error::Result;
use crate::ratelimit::Limit;
use crate::store::{PasskeyRecord, TokenPurpose, UserRecord};
use serde_json::json;
use webauthn_rs_core::proto::{
    AllowCredentials, AuthenticationState, Credential, PublicKeyCredential, UserVerificationPolicy,
};

/// Starts a sign-in. With `identifier` (an address or a username) the options list that
/// account's passkeys; without, the authenticator chooses (discoverable credentials).
pub async fn start(state: &Services, identifier: Option<&str>, client: &ClientInfo) -> Result<Started> {
    state.limits.check(Limit::Login, &client.limit_subject()).await?;
    let rp = relying_party(state);
    let Some(identifier) = identifier else {
        let builder = rp
            .new_challenge_authenticate_builder(Vec::new(), Some(UserVerificationPolicy::Preferred))
            .map_err(internal)?;
        let (options, challenge) = rp.generate_challenge_authenticate(builder).map_err(internal)?;
        return ceremony::begin(state, Purpose::Login, None, &options, &challenge).await;
    };
    let user = login::find_account(state, identifier).await?;
    let passkeys = match &user {
        Some(u) => state.store.passkeys().of_user(u.id).await?,
        None => Vec::new(),
    };
    let credentials: Vec<Credential> = passkeys.iter().filter_map(|p| stored_credential(p).ok()).collect();
    let known = !credentials.is_empty();
    let (mut options, challenge) = assertion::request(&rp, credentials)?;
    if !known {
        // The same shape as for an account with one passkey, and the same id every time for
        // this name: whether the account exists, or has passkeys, does not show. The ceremony
        // names no account, so a discoverable passkey can still answer it.
        let subject = lockout::Subject::of(state, identifier);
        let decoy = crate::auth::secrets::hmac_bytes(
            &state.secrets.rate_limit_key,
            &[b"passkey-decoy", subject.as_str().as_bytes()],
        );
        options.public_key.allow_credentials = vec![AllowCredentials {
            type_: "public-key".into(),
            id: decoy.to_vec(),
            transports: None,
        }];
    }
    let owner = if known { user.map(|u| u.id) } else { None };
    ceremony::begin(state, Purpose::Login, owner, &options, &challenge).await
}

/// Finishes a sign-in: the same answer as a password sign-in (tokens, or the MFA step).
pub async fn finish(
    state: &Services,
    ceremony_id: &str,
    answer: &PublicKeyCredential,
    client: &ClientInfo,
) -> Result<LoginOutcome> {
    let now = state.now();
    let (expected, challenge): (_, AuthenticationState) = ceremony::take(state, ceremony_id, Purpose::Login).await?;
    let found = state
        .store
        .passkeys()
        .by_credential_id(&credential_id_text(answer.get_credential_id()))
        .await?;
    let Some(passkey) = found else {
        fail(state, None, "passkey_unknown", client).await;
        return Err(unknown());
    };
    // The account the ceremony was started for, and the one the authenticator names, must be
    // the key's owner: another account's passkey never signs in here.
    if expected.is_some_and(|id| id != passkey.user_id) || !assertion::handle_names_owner(answer, &passkey) {
        fail(state, Some(passkey.user_id), "passkey_of_another_account", client).await;
        return Err(unknown());
    }
    let Some(user) = state.store.users().by_id(passkey.user_id).await? else {
        return Err(unknown());
    };
    let subject = lockout::Subject::of(state, &user.email);
    if let Some(locked) = lockout::active_lock(state, &subject, client).await? {
        fail(state, Some(user.id), "account_locked", client).await;
        return Err(locked);
    }
    lockout::count_attempt(state, &subject, client).await?;
    let result = match assertion::check(state, &passkey, answer, &challenge, client).await? {
        Ok(result) => result,
        Err(error) => {
            fail(state, Some(user.id), error.code(), client).await;
            lockout::record_failure(state, &subject, Some(&user), client).await?;
            return Err(error);
        }
    };
    login::admit(state, &user, "webauthn", client).await?;
    lockout::reset(state, &subject, client).await?;
    let verified = result.user_verified();
    if user.mfa_enabled && !verified {
        let step = challenge::begin(state, &user, TokenPurpose::MfaChallengeAfterPasskey).await?;
        succeeded(state, &user, &passkey, false, true, client).await;
        return Ok(LoginOutcome::MfaRequired(step));
    }
    let amr: &[&str] = if verified { &["webauthn", "mfa"] } else { &["webauthn"] };
    let pair = sessions::start_session(state, &user, amr, client).await?;
    state.store.users().record_login(user.id, now).await?;
    succeeded(state, &user, &passkey, verified, false, client).await;
    Ok(LoginOutcome::Tokens(pair))
}

async fn fail(state: &Services, user_id: Option<uuid::Uuid>, reason: &str, client: &ClientInfo) {
    state.metrics.login_failed("webauthn");
    audit::Event {
        kind: EventKind::Login,
        user_id,
        client,
        outcome: Outcome::Failure,
        details: json!({ "method": "webauthn", "reason": reason }),
    }
    .record(state.store.as_ref(), state.now())
    .await;
}

async fn succeeded(
    state: &Services,
    user: &UserRecord,
    passkey: &PasskeyRecord,
    verified: bool,
    mfa_required: bool,
    client: &ClientInfo,
) {
    audit::Event {
        kind: EventKind::Login,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({
            "method": "webauthn",
            "passkey_id": passkey.id,
            "user_verified": verified,
            "mfa_required": mfa_required,
        }),
    }
    .record(state.store.as_ref(), state.now())
    .await;
}
