//! Random secrets handed to users (link tokens, refresh tokens, one-time codes) and the hashes
//! stored in their place. A stolen database row must not be usable: only SHA-256 of a secret is
//! kept (the secrets are high-entropy, so a fast hash is the right tool — OWASP ASVS V2.10);
//! 6-digit codes are hashed with a server-side key (HMAC) since their space is small enough to
//! enumerate offline, and they are additionally limited to a few guesses.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// A bearer secret given to the client once. `Debug` redacts; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct OpaqueToken(String);

impl OpaqueToken {
    /// 256 bits from the OS RNG, base64url without padding (43 characters).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Wraps a token the client presented.
    pub fn from_presented(raw: &str) -> Self {
        Self(raw.trim().to_string())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }
}

impl fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpaqueToken(REDACTED)")
    }
}

/// A short numeric code typed by a person (email verification, OTP).
#[derive(Clone, PartialEq, Eq)]
pub struct NumericCode(String);

impl NumericCode {
    pub fn generate() -> Self {
        Self(format!("{:06}", OsRng.gen_range(0..1_000_000u32)))
    }

    /// Accepts what a person typed: digits with optional spaces or dashes.
    pub fn from_presented(raw: &str) -> Option<Self> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        (digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())).then_some(Self(digits))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Keyed hash, so a leaked table cannot be reversed by trying all million codes.
    pub fn hash(&self, key: &[u8], user_id: uuid::Uuid) -> String {
        hmac_hex(key, &[user_id.as_bytes(), self.0.as_bytes()])
    }
}

impl fmt::Debug for NumericCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NumericCode(REDACTED)")
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac_bytes(key, parts))
}

pub fn hmac_bytes(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    };
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Compares two secrets (or their hashes) without leaking where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// The server secret `name` (32 random bytes, created on first use and shared by every
/// instance through the database), stored sealed under the key-encryption key when one is
/// set. A secret stored in clear (before the key was set) is sealed now.
pub async fn server_secret(
    store: &crate::store::Store,
    kek: &crate::auth::key_encryption::KeyEncryption,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<u8>> {
    let fresh = kek.seal_bytes(name, &random_bytes::<32>())?;
    let stored = store.keys().get_or_create_secret(name, &fresh, now).await?;
    let opened = kek.open_bytes(name, &stored)?;
    if opened.needs_reseal {
        store
            .keys()
            .replace_secret(name, &kek.seal_bytes(name, &opened.plain)?)
            .await?;
        tracing::info!(secret = name, "sealed a server secret under KEY_ENCRYPTION_KEY");
    }
    Ok(opened.plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_unique_and_redacted() {
        let a = OpaqueToken::generate();
        let b = OpaqueToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert_eq!(format!("{a:?}"), "OpaqueToken(REDACTED)");
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), a.expose());
    }

    #[test]
    fn codes_are_six_digits_and_parse_leniently() {
        for _ in 0..100 {
            let c = NumericCode::generate();
            assert_eq!(c.expose().len(), 6);
        }
        assert_eq!(
            NumericCode::from_presented("123 456").map(|c| c.0),
            Some("123456".into())
        );
        assert!(NumericCode::from_presented("12345").is_none());
        assert!(NumericCode::from_presented("12345a").is_none());
    }

    #[test]
    fn keyed_code_hash_depends_on_key_and_user() {
        let c = NumericCode::from_presented("123456").unwrap();
        let u = uuid::Uuid::new_v4();
        assert_ne!(c.hash(b"k1", u), c.hash(b"k2", u));
        assert_ne!(c.hash(b"k1", u), c.hash(b"k1", uuid::Uuid::new_v4()));
    }
}
