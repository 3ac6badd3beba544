//! Emailed codes (MFA and passwordless OTP), recovery codes, and checking any second factor
//! (a code or a passkey) under the per-user limit.

use super::{active_factors, totp, Method, Proof, EMAIL_CODE_TTL, MAX_USER_FAILURES, USER_LOCK};
use crate::auth::one_time;
use crate::auth::passkeys;
use crate::auth::secrets::{hmac_hex, NumericCode};
use crate::auth::services::Services;
use crate::client::ClientInfo;
use crate::error::{Error, ErrorCode, Result};
use crate::mail::templates::Template;
use crate::store::{TokenPurpose, UserRecord};
use rand::rngs::OsRng;
use rand::Rng;
use uuid::Uuid;

/// How many recovery codes a set holds.
pub const RECOVERY_CODES: usize = 10;
/// Unambiguous lower-case letters and digits (no 0/o, 1/l/i): 31 symbols, 10 per code ≈ 49 bits.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Why a code is being mailed: fills the sentence "your code … is".
#[derive(Debug, Clone, Copy)]
pub enum CodeUse {
    Enrol,
    SignIn,
    Confirm,
    Passwordless,
}

impl CodeUse {
    fn sentence(self) -> &'static str {
        match self {
            CodeUse::Enrol => "to turn on two-step sign-in",
            CodeUse::SignIn => "to finish signing in",
            CodeUse::Confirm => "to confirm a security change",
            CodeUse::Passwordless => "to sign in without your password",
        }
    }
}

/// Counts a code mail asked for by whoever holds an `mfa_token` or a session against
/// `RATE_LIMIT_EMAIL` per account and the per-address mail cap, so that neither can flood the
/// owner's mailbox. (The passwordless request is counted per address and network instead.)
pub async fn count_code_mail(state: &Services, user: &UserRecord) -> Result<()> {
    state
        .limits
        .check(crate::ratelimit::Limit::Email, &format!("mfa-code|{}", user.id))
        .await?;
    crate::auth::mail_limit::count_mail_to(state, &user.email_canonical).await
}

/// Issues a new 6-digit code of `purpose` (earlier live ones stop working) and mails it.
pub async fn send_email_code(state: &Services, user: &UserRecord, purpose: TokenPurpose, why: CodeUse) -> Result<()> {
    let code = NumericCode::generate();
    let hash = code.hash(&state.secrets.code_hash_key, user.id);
    one_time::issue(state, user.id, purpose, hash, None).await?;
    let name = user.first_name.clone().unwrap_or_default();
    let minutes = EMAIL_CODE_TTL.num_minutes().to_string();
    let mail = state.outbox.render(
        Template::MfaCode,
        &[
            ("app", &state.config.app_name),
            ("name", &name),
            ("code", code.expose()),
            ("purpose", why.sentence()),
            ("minutes", &minutes),
        ],
    );
    state.outbox.enqueue(&user.email, mail).await?;
    Ok(())
}

/// Checks (and on success spends) an emailed code. A wrong guess counts against the newest live
/// code, which dies after `MAX_CODE_ATTEMPTS`.
pub async fn check_email_code(state: &Services, user_id: Uuid, purpose: TokenPurpose, raw: &str) -> Result<bool> {
    let presented = NumericCode::from_presented(raw).map(|code| code.hash(&state.secrets.code_hash_key, user_id));
    let check = one_time::check_code(state, user_id, purpose, presented.as_deref()).await?;
    Ok(check == one_time::CodeCheck::Accepted)
}

/// A fresh set of recovery codes, formatted `xxxxx-xxxxx`.
pub fn generate_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: String = (0..10)
                .map(|_| RECOVERY_ALPHABET[OsRng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// Keyed hash of a recovery code as a person may type it (any case, with or without the dash).
pub fn hash_recovery_code(state: &Services, user_id: Uuid, raw: &str) -> String {
    let normalised: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hmac_hex(
        &state.secrets.code_hash_key,
        &[b"recovery-code", user_id.as_bytes(), normalised.as_bytes()],
    )
}

pub fn hash_recovery_codes(state: &Services, user_id: Uuid, codes: &[String]) -> Vec<String> {
    codes.iter().map(|c| hash_recovery_code(state, user_id, c)).collect()
}

/// The method a proof is for. A code whose method the client did not name: a 6-digit code is
/// the TOTP app's if the user has one, else the emailed one; anything else is a recovery code.
pub async fn resolve_method(state: &Services, user_id: Uuid, proof: &Proof<'_>) -> Result<Method> {
    let code = match *proof {
        Proof::Passkey { .. } => return Ok(Method::Passkey),
        Proof::Code { method: Some(m), .. } => return Ok(m),
        Proof::Code { method: None, code } => code,
    };
    if NumericCode::from_presented(code).is_none() {
        return Ok(Method::Recovery);
    }
    let factors = active_factors(state, user_id).await?;
    Ok(if factors.iter().any(|f| f.method == "totp") {
        Method::Totp
    } else {
        Method::Email
    })
}

/// Whether a second factor held: `Ok(())`, or the refusal to answer (a wrong code's
/// `invalid_code`, or what was wrong with a passkey's answer).
pub type Checked = std::result::Result<(), Error>;

/// Checks a second factor of an MFA user, spending it on success. Refuses while the user is
/// locked; a refused proof counts towards the per-user limit (and may start the lock).
pub async fn verify_second_factor(
    state: &Services,
    user: &UserRecord,
    method: Method,
    proof: &Proof<'_>,
    client: &ClientInfo,
) -> Result<Checked> {
    let now = state.now();
    if let Some(until) = state.store.mfa().locked_until(user.id).await? {
        if until > now {
            return Err(locked(until - now));
        }
    }
    let checked = match (*proof, method) {
        (
            Proof::Passkey {
                ceremony_id,
                credential,
            },
            Method::Passkey,
        ) => passkeys::second_factor::verify(state, user, ceremony_id, credential, client).await?,
        (Proof::Code { code, .. }, Method::Totp | Method::Email | Method::Recovery) => {
            if check_code(state, user, method, code).await? {
                Ok(())
            } else {
                Err(invalid_code())
            }
        }
        _ => {
            return Err(Error::field(
                "method",
                "invalid_method",
                "passkey goes with ceremony_id and credential, the other methods with code",
            ))
        }
    };
    if checked.is_ok() {
        state.store.mfa().clear_failures(user.id).await?;
        return Ok(checked);
    }
    if let Some(until) = state
        .store
        .mfa()
        .record_failure(user.id, MAX_USER_FAILURES, now + USER_LOCK)
        .await?
    {
        if until > now {
            return Err(locked(until - now));
        }
    }
    Ok(checked)
}

async fn check_code(state: &Services, user: &UserRecord, method: Method, code: &str) -> Result<bool> {
    match method {
        Method::Totp => {
            let factors = active_factors(state, user.id).await?;
            match factors
                .iter()
                .find(|f| f.method == "totp")
                .and_then(|f| f.secret.as_ref())
            {
                Some(sealed) => {
                    let secret = totp::open(state, user.id, sealed)?;
                    totp::verify(state, user.id, &secret, code).await
                }
                None => Err(method_not_enrolled(method)),
            }
        }
        Method::Email => {
            let factors = active_factors(state, user.id).await?;
            if !factors.iter().any(|f| f.method == "email") {
                return Err(method_not_enrolled(method));
            }
            check_email_code(state, user.id, TokenPurpose::MfaEmailCode, code).await
        }
        Method::Recovery => {
            let hash = hash_recovery_code(state, user.id, code);
            Ok(state
                .store
                .mfa()
                .consume_recovery_code(user.id, &hash, state.now())
                .await?)
        }
        Method::Passkey => Err(method_not_enrolled(method)),
    }
}

fn locked(left: chrono::Duration) -> Error {
    Error::RateLimited {
        retry_after_secs: left.num_seconds().max(1) as u64,
        what: "wrong two-step codes for this account",
    }
}

pub fn method_not_enrolled(method: Method) -> Error {
    Error::new(
        ErrorCode::MfaMethodNotEnabled,
        format!("the {} method is not enabled on this account", method.as_str()),
    )
}

pub fn invalid_code() -> Error {
    Error::new(
        ErrorCode::InvalidCode,
        "the code is not correct, was already used or has expired",
    )
}
