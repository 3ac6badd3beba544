//! A passkey as the second factor of an MFA account: the `mfa_token` step of a sign-in, and
//! step-up. The ceremony is bound to the account and lists only its passkeys; what is refused
//! is answered to the caller, which counts it as a wrong code.

use super::assertion::{self, stored_credential};
use super::ceremony::{self, Purpose, Started};
use crate::auth::mfa::codes::{method_not_enrolled, Checked};
use crate::auth::mfa::Method;
use crate::auth::services::Services;
use crate::client::ClientInfo;
use crate::error::{Error, ErrorCode, Result};
use crate::store::UserRecord;
use webauthn_rs_core::proto::{AuthenticationState, Credential, PublicKeyCredential};

/// Starts a ceremony for `user`'s passkeys.
pub async fn start(state: &Services, user: &UserRecord) -> Result<Started> {
    let passkeys = state.store.passkeys().of_user(user.id).await?;
    let credentials: Vec<Credential> = passkeys.iter().filter_map(|p| stored_credential(p).ok()).collect();
    if credentials.is_empty() {
        return Err(method_not_enrolled(Method::Passkey));
    }
    let (options, challenge) = assertion::request(&super::relying_party(state), credentials)?;
    ceremony::begin(state, Purpose::SecondFactor, Some(user.id), &options, &challenge).await
}

/// Checks `answer` to a ceremony from [`start`] for `user`.
pub async fn verify(
    state: &Services,
    user: &UserRecord,
    ceremony_id: &str,
    answer: &PublicKeyCredential,
    client: &ClientInfo,
) -> Result<Checked> {
    let (owner, challenge): (_, AuthenticationState) =
        match ceremony::take(state, ceremony_id, Purpose::SecondFactor).await {
            Ok(taken) => taken,
            Err(refusal @ Error::Problem { .. }) => return Ok(Err(refusal)),
            Err(e) => return Err(e),
        };
    if owner != Some(user.id) {
        return Ok(Err(Error::new(
            ErrorCode::PasskeyChallengeInvalid,
            "this ceremony was started for another account: start again from this sign-in",
        )));
    }
    let found = state
        .store
        .passkeys()
        .by_credential_id(&super::credential_id_text(answer.get_credential_id()))
        .await?;
    let Some(passkey) = found.filter(|p| p.user_id == user.id && assertion::handle_names_owner(answer, p)) else {
        return Ok(Err(assertion::unknown()));
    };
    Ok(assertion::check(state, &passkey, answer, &challenge, client)
        .await?
        .map(|_| ()))
}
