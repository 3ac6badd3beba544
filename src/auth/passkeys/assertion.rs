//! Checking a passkey's answer to a `get()` ceremony, shared by signing in and by the second
//! factor: the signature and flags (webauthn-rs), then the counter, which must move forward.

use super::{refused, relying_party};
use crate::audit::{self, EventKind, Outcome};
use crate::auth::services::Services;
use crate::client::ClientInfo;
use crate::error::{Error, ErrorCode, Result};
use crate::store::{PasskeyRecord, PasskeyUse};
use serde_json::json;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AuthenticationResult, AuthenticationState, Credential, PublicKeyCredential, UserVerificationPolicy,
};

/// webauthn-rs's credential as stored, with the counter from its own column (the stored JSON
/// keeps the one from registration).
pub(super) fn stored_credential(p: &PasskeyRecord) -> Result<Credential> {
    let mut credential: Credential = serde_json::from_str(&p.credential).map_err(anyhow::Error::new)?;
    credential.counter = u32::try_from(p.sign_count).unwrap_or(u32::MAX);
    Ok(credential)
}

pub(super) fn unknown() -> Error {
    Error::new(
        ErrorCode::PasskeyUnknown,
        "this passkey is not registered here (or not to this account): sign in another way, then add it from your account",
    )
}

/// The request options and challenge state for a ceremony naming `credentials` (user
/// verification preferred; a key that became backed up since registration is still accepted).
pub(super) fn request(
    rp: &webauthn_rs_core::WebauthnCore,
    credentials: Vec<Credential>,
) -> Result<(webauthn_rs_core::proto::RequestChallengeResponse, AuthenticationState)> {
    let builder = rp
        .new_challenge_authenticate_builder(credentials, Some(UserVerificationPolicy::Preferred))
        .map_err(super::internal)?
        .allow_backup_eligible_upgrade(true);
    rp.generate_challenge_authenticate(builder).map_err(super::internal)
}

/// Whether the authenticator's userHandle, when it sends one, names `passkey`'s owner.
pub(super) fn handle_names_owner(answer: &PublicKeyCredential, passkey: &PasskeyRecord) -> bool {
    answer
        .get_user_unique_id()
        .is_none_or(|handle| handle == passkey.user_id.as_bytes())
}

/// Verifies `answer` against `passkey` and records the use. `Ok(Err(_))` is the refusal to
/// answer; a counter that did not move forward (or lost a race to the same value) is also
/// audited as a possible clone.
pub(super) async fn check(
    state: &Services,
    passkey: &PasskeyRecord,
    answer: &PublicKeyCredential,
    challenge: &AuthenticationState,
    client: &ClientInfo,
) -> Result<std::result::Result<AuthenticationResult, Error>> {
    let credential = stored_credential(passkey)?;
    let result = match relying_party(state).authenticate_single_credential(answer, challenge, &credential) {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            return Ok(Err(clone_suspected(state, passkey, client).await))
        }
        Err(e) => return Ok(Err(refused(e))),
    };
    let used = PasskeyUse {
        sign_count: i64::from(result.counter()),
        backup_eligible: result.backup_eligible(),
        backup_state: result.backup_state(),
        at: state.now(),
    };
    if !state.store.passkeys().record_use(passkey.id, &used).await? {
        // Another use with this counter value was recorded a moment ago.
        return Ok(Err(clone_suspected(state, passkey, client).await));
    }
    Ok(Ok(result))
}

async fn clone_suspected(state: &Services, passkey: &PasskeyRecord, client: &ClientInfo) -> Error {
    audit::Event {
        kind: EventKind::PasskeyCloneSuspected,
        user_id: Some(passkey.user_id),
        client,
        outcome: Outcome::Failure,
        details: json!({ "passkey_id": passkey.id, "name": passkey.name, "stored_sign_count": passkey.sign_count }),
    }
    .record(state.store.as_ref(), state.now())
    .await;
    refused(WebauthnError::CredentialPossibleCompromise)
}
