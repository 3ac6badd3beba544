//! TOTP (RFC 6238) with `totp-rs`: SHA-1, 6 digits, 30-second steps, ±1 step. Codes are checked
//! at the injected clock's time, never the wall clock, and each accepted time step is claimed so
//! it cannot be accepted again (RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt
//! of the OTP after the successful validation has been issued for the first OTP").

use crate::auth::secrets::{constant_time_eq, hmac_bytes, random_bytes};
use crate::auth::services::Services;
use crate::error::Result;
use anyhow::anyhow;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use totp_rs::{Algorithm, TOTP};
use uuid::Uuid;

pub const DIGITS: usize = 6;
pub const STEP_SECONDS: u64 = 30;
/// Accepted clock difference, in steps, either way.
pub const SKEW: i64 = 1;
/// RFC 4226 §4 recommends 160 bits.
const SECRET_BYTES: usize = 20;

/// A TOTP key in the clear; only ever held in memory. `Debug` redacts.
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(REDACTED)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        Self(random_bytes::<SECRET_BYTES>().to_vec())
    }

    /// A key exported from another system (base32, as in otpauth URIs; spaces and padding
    /// ignored). `None` unless it decodes to at least 80 bits (Google Authenticator's size).
    pub fn from_base32(raw: &str) -> Option<Self> {
        let cleaned: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .collect::<String>()
            .to_ascii_uppercase();
        let bytes = totp_rs::Secret::Encoded(cleaned).to_bytes().ok()?;
        (bytes.len() >= 10).then_some(Self(bytes))
    }

    /// A `totp-rs` generator labelled `issuer:account` for the otpauth URI.
    pub fn totp(&self, issuer: &str, account: &str) -> Result<TOTP> {
        // The otpauth label forbids ':' in issuer and account.
        let issuer = issuer.replace(':', " ");
        let account = account.replace(':', " ");
        TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            SKEW as u8,
            STEP_SECONDS,
            self.0.clone(),
            Some(issuer),
            account,
        )
        .map_err(|e| anyhow!("TOTP parameters rejected: {e}").into())
    }
}

fn sealing_key(state: &Services) -> Result<LessSafeKey> {
    sealing_key_from(&state.secrets.code_hash_key)
}

fn sealing_key_from(server_key: &[u8]) -> Result<LessSafeKey> {
    let key = hmac_bytes(server_key, &[b"totp-secret-encryption-v1"]);
    let unbound = UnboundKey::new(&AES_256_GCM, &key).map_err(|_| anyhow!("AES-256-GCM key of the wrong length"))?;
    Ok(LessSafeKey::new(unbound))
}

/// Seals a secret for storage: `nonce || ciphertext || tag`, bound to the user.
pub fn seal(state: &Services, user_id: Uuid, secret: &TotpSecret) -> Result<Vec<u8>> {
    seal_with(&state.secrets.code_hash_key, user_id, secret)
}

/// [`seal`] with the server key given directly (for `gatehouse import`, which has no Services).
pub fn seal_with(server_key: &[u8], user_id: Uuid, secret: &TotpSecret) -> Result<Vec<u8>> {
    let key = sealing_key_from(server_key)?;
    let nonce_bytes = random_bytes::<NONCE_LEN>();
    let mut in_out = secret.0.clone();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(user_id.as_bytes()),
        &mut in_out,
    )
    .map_err(|_| anyhow!("could not seal a TOTP secret"))?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&in_out);
    Ok(out)
}

pub fn open(state: &Services, user_id: Uuid, sealed: &[u8]) -> Result<TotpSecret> {
    if sealed.len() < NONCE_LEN {
        return Err(anyhow!("sealed TOTP secret too short").into());
    }
    let key = sealing_key(state)?;
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow!("bad nonce"))?;
    let mut in_out = ciphertext.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(user_id.as_bytes()), &mut in_out)
        .map_err(|_| anyhow!("could not open a TOTP secret (wrong key or tampered row)"))?;
    Ok(TotpSecret(plain.to_vec()))
}

/// Checks `code` against `secret` at the clock's time (±[`SKEW`] steps) and claims the matching
/// step. `false` for a wrong code and for a replay of an already accepted step.
pub async fn verify(state: &Services, user_id: Uuid, secret: &TotpSecret, code: &str) -> Result<bool> {
    let code = code.trim().replace([' ', '-'], "");
    if code.len() != DIGITS || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(false);
    }
    let totp = secret.totp("gatehouse", "user")?;
    let now = state.now().timestamp();
    let current = now.div_euclid(STEP_SECONDS as i64);
    let mut matched = None;
    for step in (current - SKEW)..=(current + SKEW) {
        let Ok(at) = u64::try_from(step * STEP_SECONDS as i64) else {
            continue;
        };
        if constant_time_eq(&totp.generate(at), &code) {
            matched = Some(step);
        }
    }
    match matched {
        Some(step) => Ok(state.store.mfa().claim_totp_step(user_id, step).await?),
        None => Ok(false),
    }
}
