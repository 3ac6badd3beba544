//! Multi-factor authentication (issue 4; seeds 000, 001, 002).
//!
//! Decisions recorded here (DESIGN.md leaves them open):
//!
//! - **Methods.** `totp` (RFC 6238: SHA-1, 6 digits, 30 s steps, ±1 step of clock skew, so every
//!   common authenticator app works) and `email` (a 6-digit code, 10 minutes, single use, only a
//!   keyed hash stored). A user may have both. Recovery codes (10, shown once, single use, keyed
//!   hash stored) stand in for either.
//! - **TOTP secret at rest.** The 160-bit key is sealed with AES-256-GCM (`ring`), the user id as
//!   associated data, under a key derived (HMAC) from the server secret `code_hash_key`. That key
//!   sits in `server_secrets` in the same database, so this protects against the `mfa_factors`
//!   rows leaking alone (logs, partial exports, support queries) — not against a full dump of the
//!   database; an operator-supplied key is future work. The secret is returned exactly once, by
//!   `mfa/enable`, and never again.
//! - **Replay.** The last accepted TOTP time step is stored per user (`mfa_user_state`) and a code
//!   is only accepted for a later step, claimed with one conditional upsert — so a code used to
//!   finish enrolment cannot be used again at the first login, nor twice in parallel.
//! - **Login challenge.** After a correct password (or passwordless OTP code) an MFA user gets an
//!   `mfa_token`: 256-bit random, only SHA-256 stored (in `verification_tokens`, purpose
//!   `mfa_challenge_*`, which records what the first factor was), valid 5 minutes, single use. It is
//!   not a JWT, so as a bearer token it is refused everywhere.
//! - **Brute force** (NIST SP 800-63B §5.2.2). Wrong codes count per `mfa_token` (after
//!   `MAX_CODE_ATTEMPTS`, 5, it is dead: sign in again) and per user across all challenges and
//!   step-ups (after [`MAX_USER_FAILURES`] MFA is locked for [`USER_LOCK`]), so fresh `mfa_token`s do
//!   not buy fresh guesses. Emailed codes also die after `MAX_CODE_ATTEMPTS` wrong guesses.
//! - **`amr`** (RFC 8176 names where they exist): `pwd` password, `otp` TOTP app, `email` an
//!   emailed code (MFA or passwordless), `recovery` a recovery code, `webauthn` a passkey, plus
//!   `mfa` when two different factors were used. The access token's `mfa` claim is true exactly
//!   when `amr` holds `mfa`.
//! - **Step-up.** For an MFA user, change-password, MFA disable and recovery-code regeneration
//!   need an access token whose `amr` holds `mfa` and whose `auth_time` is within
//!   `MFA_STEP_UP_WINDOW` (10 min); otherwise 403 `mfa_step_up_required`. `mfa/step-up` proves a
//!   factor again and re-issues the session's tokens with a new `auth_time`.
//! - **Passkeys as a second factor.** An MFA account with passkeys may finish a sign-in or a
//!   step-up with one: `…/passkey` starts a WebAuthn ceremony bound to the account, and the
//!   challenge or step-up takes its answer instead of a code. A refused answer counts as a wrong
//!   code (per `mfa_token` and per user). After a passkey sign-in without user verification the
//!   passkey is already the first factor, so it is not offered again.
//! - **Passwordless OTP and MFA.** The emailed OTP is the `email` factor. A user with TOTP must
//!   still pass TOTP (or a recovery code) after it. A user whose only factor is email gets a
//!   single-factor session (`amr: ["email"]`) and signs in with the password for sensitive changes.
//! - **Recovery codes** are replaced by a new set each time an enrolment completes and on
//!   `mfa/recovery-codes`; a password reset leaves MFA as it is (no bypass). An admin (API or
//!   CLI) can remove a user's MFA ([`reset`]): audited, mailed, every session ended.
//! - **Enrolling the first factor** needs the current password or a sign-in within
//!   `MFA_STEP_UP_WINDOW`, so a stolen access token cannot put the thief's authenticator on the
//!   account. Every change (on, off, new recovery codes, admin reset) is mailed to the owner.

pub mod challenge;
pub mod codes;
pub mod enrol;
pub mod otp_login;
pub mod reset;
pub mod totp;

use crate::auth::one_time;
use crate::auth::services::Services;
use crate::auth::sessions::AuthUser;
use crate::error::{Error, ErrorCode, Result};
use crate::store::{MfaFactorRecord, Store, UserRecord};
use chrono::Duration;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Wrong MFA codes a user may enter across all challenges before MFA is locked.
pub const MAX_USER_FAILURES: u32 = 10;
/// How long MFA stays locked after [`MAX_USER_FAILURES`].
pub const USER_LOCK: Duration = Duration::minutes(15);
pub use crate::auth::one_time::policy::{CHALLENGE_TTL, EMAIL_CODE_TTL};

/// A second factor a code can be checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Totp,
    Email,
    Recovery,
    /// One of the account's passkeys, answering a challenge from `…/passkey` (issue 18).
    Passkey,
}

impl Method {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "totp" | "app" | "authenticator" => Some(Method::Totp),
            "email" => Some(Method::Email),
            "recovery" | "recovery_code" => Some(Method::Recovery),
            "passkey" | "webauthn" => Some(Method::Passkey),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::Email => "email",
            Method::Recovery => "recovery",
            Method::Passkey => "passkey",
        }
    }

    /// The `amr` value this factor adds.
    pub fn amr(self) -> &'static str {
        match self {
            Method::Totp => "otp",
            Method::Email => "email",
            Method::Recovery => "recovery",
            Method::Passkey => "webauthn",
        }
    }
}

/// What a caller offers as a second factor: a code (the method named or told by its shape), or
/// a passkey's answer to a ceremony started by `mfa/challenge/passkey` or `mfa/step-up/passkey`.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    Code {
        method: Option<Method>,
        code: &'a str,
    },
    Passkey {
        ceremony_id: &'a str,
        credential: &'a webauthn_rs_core::proto::PublicKeyCredential,
    },
}

/// `amr` after adding `factor` to `first`: the factor, and `mfa` once two differ.
pub fn combined_amr(first: &[String], factor: Method) -> Vec<String> {
    let mut amr: Vec<String> = first.iter().filter(|m| *m != "mfa").cloned().collect();
    if !amr.iter().any(|m| m == factor.amr()) {
        amr.push(factor.amr().to_string());
    }
    if amr.len() >= 2 {
        amr.push("mfa".to_string());
    }
    amr
}

pub(crate) async fn active_factors(state: &Services, user_id: Uuid) -> Result<Vec<MfaFactorRecord>> {
    Ok(state
        .store
        .mfa()
        .factors(user_id)
        .await?
        .into_iter()
        .filter(MfaFactorRecord::is_active)
        .collect())
}

/// The step-up rule (seed 000 "enforce MFA for sensitive operations"): an MFA user's token must
/// carry a second factor proven within `MFA_STEP_UP_WINDOW`.
pub fn require_step_up(state: &Services, caller: &AuthUser, user: &UserRecord) -> Result<()> {
    if !user.mfa_enabled {
        return Ok(());
    }
    let recent = state.now() - caller.auth_time <= state.config.mfa_step_up_window;
    if caller.amr.iter().any(|m| m == "mfa") && recent {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::MfaStepUpRequired,
        "this change needs a recent second factor: POST /api/auth/mfa/step-up with a code, then retry with the new access token",
    ))
}

/// The one-time tokens that belong to MFA: emailed codes and pending login challenges.
/// Deletes every factor and recovery code of the user and revokes MFA's live one-time tokens
/// (the owner turning MFA off, or an admin's [`reset`]).
pub(crate) async fn remove_factors(store: &Store, user_id: Uuid, now: DateTime<Utc>) -> Result<()> {
    store.mfa().disable(user_id, now).await?;
    let purposes = one_time::policy::revoked_by(one_time::Revoker::MfaRemoved);
    store.tokens().revoke(user_id, &purposes, now).await?;
    Ok(())
}

pub(crate) fn user_gone() -> Error {
    Error::new(ErrorCode::SessionRevoked, "this account no longer exists")
}
