//! Adding a passkey to the signed-in account. It adds a way in, so it asks what linking a
//! provider does: the MFA step-up for MFA users, and the current password or a recent sign-in.

use super::ceremony::{self, Purpose, Started};
use super::{credential_id_text, internal, refused, relying_party};
use crate::audit::EventKind;
use crate::auth::services::Services;
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::{PasskeyName, Password};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{NewPasskey, PasskeyRecord, StoreError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use uuid::Uuid;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, COSEAlgorithm, Credential, RegisterPublicKeyCredential, RegistrationState,
    RequestRegistrationExtensions, ResidentKeyRequirement, UserVerificationPolicy,
};

/// Starts registering a passkey: the options for `navigator.credentials.create()`.
pub async fn start(
    state: &Services,
    caller: &AuthUser,
    current_password: Option<&Password>,
    client: &ClientInfo,
) -> Result<Started> {
    let user = crate::auth::reauthentication::prove_owner_adding_a_way_in(
        state,
        caller,
        current_password,
        EventKind::PasskeyAdded,
        client,
    )
    .await?;
    let existing: Vec<Vec<u8>> = state
        .store
        .passkeys()
        .of_user(user.id)
        .await?
        .iter()
        .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
        .collect();
    let display = match (&user.first_name, &user.last_name) {
        (Some(first), Some(last)) => format!("{first} {last}"),
        (Some(first), None) => first.clone(),
        _ => user.email.clone(),
    };
    let rp = relying_party(state);
    let builder = rp
        .new_challenge_register_builder(user.id.as_bytes(), &user.email, &display)
        .map_err(internal)?
        .attestation(AttestationConveyancePreference::None)
        .credential_algorithms(COSEAlgorithm::secure_algs())
        .require_resident_key(false)
        .user_verification_policy(UserVerificationPolicy::Preferred)
        .exclude_credentials(Some(existing))
        .extensions(Some(RequestRegistrationExtensions {
            cred_protect: None,
            uvm: None,
            cred_props: Some(true),
            min_pin_length: None,
            hmac_create_secret: None,
        }));
    let (mut options, challenge) = rp.generate_challenge_register(builder).map_err(internal)?;
    // webauthn-rs says "required" or "discouraged"; "preferred" makes a discoverable passkey
    // where the authenticator can, and still lets a security key without storage register.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Preferred);
        selection.require_resident_key = false;
    }
    ceremony::begin(state, Purpose::Register, Some(user.id), &options, &challenge).await
}

/// Finishes a registration: checks the authenticator's answer and stores the passkey.
pub async fn finish(
    state: &Services,
    caller: &AuthUser,
    ceremony_id: &str,
    answer: &RegisterPublicKeyCredential,
    name: Option<PasskeyName>,
    client: &ClientInfo,
) -> Result<PasskeyRecord> {
    let now = state.now();
    let (owner, challenge): (_, RegistrationState) = ceremony::take(state, ceremony_id, Purpose::Register).await?;
    if owner != Some(caller.user_id) {
        return Err(Error::new(
            ErrorCode::PasskeyChallengeInvalid,
            "this ceremony was started by another account: start again",
        ));
    }
    let user = state
        .store
        .users()
        .by_id(caller.user_id)
        .await?
        .ok_or_else(crate::auth::mfa::user_gone)?;
    let credential: Credential = relying_party(state)
        .register_credential(answer, &challenge, None)
        .map_err(refused)?;
    let name =
        name.unwrap_or_else(|| PasskeyName::from_device(&crate::auth::devices::label(client.user_agent.as_deref())));
    let passkey = NewPasskey {
        id: Uuid::new_v4(),
        user_id: user.id,
        credential_id: credential_id_text(&credential.cred_id),
        credential: serde_json::to_string(&credential).map_err(anyhow::Error::new)?,
        name: name.as_str().to_string(),
        sign_count: i64::from(credential.counter),
        user_verified: credential.user_verified,
        backup_eligible: credential.backup_eligible,
        backup_state: credential.backup_state,
        // The browser's own list (`getTransports()`) when the authenticator data had none.
        transports: serde_json::to_string(
            &credential
                .transports
                .clone()
                .or_else(|| answer.response.transports.clone())
                .unwrap_or_default(),
        )
        .map_err(anyhow::Error::new)?,
        created_at: now,
    };
    match state.store.passkeys().insert(&passkey).await {
        Ok(()) => {}
        Err(StoreError::Duplicate(_)) => {
            return Err(Error::new(
                ErrorCode::PasskeyAlreadyRegistered,
                "this passkey is registered already",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    super::manage::changed(
        state,
        &user,
        EventKind::PasskeyAdded,
        "added",
        &passkey.name,
        passkey.id,
        client,
    )
    .await?;
    Ok(PasskeyRecord::from(passkey))
}
