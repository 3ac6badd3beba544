//! Storing a ceremony between its start and its finish.

use crate::auth::secrets::{sha256_hex, OpaqueToken};
use crate::auth::services::Services;
use crate::error::{Error, ErrorCode, Result};
use crate::store::NewCeremony;
use chrono::Duration;
use serde::{de::DeserializeOwned, Serialize};
use uuid::Uuid;

/// How long a ceremony may take, and the `timeout` the browser is given.
pub const CEREMONY_TTL: Duration = Duration::minutes(5);

/// The answer of every `…/start`: pass `options` to `navigator.credentials.create()` or
/// `.get()` (binary fields are base64url), then send its answer with `ceremony_id` to the
/// matching `…/finish` within `expires_in` seconds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Started {
    pub ceremony_id: String,
    pub expires_in: i64,
    /// `{ "publicKey": { … } }`: WebAuthn's `PublicKeyCredentialCreationOptions` or
    /// `PublicKeyCredentialRequestOptions`.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// What a ceremony is for; a finish accepts only its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    Register,
    Login,
    /// A second factor (MFA challenge or step-up) of the ceremony's account.
    SecondFactor,
}

/// How many unfinished ceremonies of one purpose an account keeps where the caller has proven
/// something about it (a session, or the password behind an `mfa_token`): enough for a few open
/// tabs, and a bound on what one caller can make the server store. Sign-in ceremonies are not
/// bounded per account, since anyone can name an account and would cancel its owner's sign-in;
/// they are rate-limited per client instead.
const KEEP_PER_USER: u32 = 5;

impl Purpose {
    fn keep_per_user(self) -> Option<u32> {
        match self {
            Purpose::Register | Purpose::SecondFactor => Some(KEEP_PER_USER),
            Purpose::Login => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Login => "login",
            Purpose::SecondFactor => "second_factor",
        }
    }
}

/// Stores `state` and answers the client's half.
pub(super) async fn begin(
    state: &Services,
    purpose: Purpose,
    user_id: Option<Uuid>,
    options: &impl Serialize,
    challenge_state: &impl Serialize,
) -> Result<Started> {
    let now = state.now();
    let id = OpaqueToken::generate();
    let ceremony = NewCeremony {
        id_hash: sha256_hex(id.expose().as_bytes()),
        purpose: purpose.as_str(),
        user_id,
        state: serde_json::to_string(challenge_state).map_err(anyhow::Error::new)?,
        created_at: now,
        expires_at: now + CEREMONY_TTL,
        keep_per_user: purpose.keep_per_user(),
    };
    state.store.passkeys().start_ceremony(&ceremony).await?;
    Ok(Started {
        ceremony_id: id.expose().to_string(),
        expires_in: CEREMONY_TTL.num_seconds(),
        options: serde_json::to_value(options).map_err(anyhow::Error::new)?,
    })
}

/// Takes the ceremony named by `presented` (it can be answered once only) and answers whom it
/// was started for and webauthn-rs's state.
pub(super) async fn take<S: DeserializeOwned>(
    state: &Services,
    presented: &str,
    purpose: Purpose,
) -> Result<(Option<Uuid>, S)> {
    let invalid = || {
        Error::new(
            ErrorCode::PasskeyChallengeInvalid,
            "this ceremony_id is unknown or was already used: start again",
        )
    };
    let hash = sha256_hex(presented.trim().as_bytes());
    let record = state.store.passkeys().take_ceremony(&hash).await?.ok_or_else(invalid)?;
    if record.purpose != purpose.as_str() {
        return Err(invalid());
    }
    if record.expires_at <= state.now() {
        return Err(Error::new(
            ErrorCode::PasskeyChallengeExpired,
            format!(
                "this ceremony ended (they last {} minutes): start again",
                CEREMONY_TTL.num_minutes()
            ),
        ));
    }
    let challenge_state = serde_json::from_str(&record.state).map_err(anyhow::Error::new)?;
    Ok((record.user_id, challenge_state))
}
