//! Envelope encryption of the server's own keys at rest: the token signing keys, the HMAC keys
//! (`server_secrets`) and, through `code_hash_key`, the key that seals TOTP secrets.
//!
//! The operator supplies the key-encryption key (`KEY_ENCRYPTION_KEY`, 32 random bytes in
//! base64, e.g. `openssl rand -base64 32`) from outside the database: a secret manager, the
//! service's environment. A copy of the database alone (a backup, a leaked dump, a read-only
//! SQL injection) then holds no key that signs tokens, forges codes or opens TOTP secrets.
//!
//! Each value is sealed with AES-256-GCM (`ring`), with the value's name (secret name or `kid`)
//! as associated data so sealed values cannot be swapped between rows. Stored form: a version
//! marker, the 96-bit nonce, ciphertext and tag. Values written before the key was set are
//! sealed on the first start with it; `KEY_ENCRYPTION_KEY_PREVIOUS` opens values sealed with
//! the key before, which are then sealed again with the new one (changing the key).

use crate::auth::secrets::random_bytes;
use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use secrecy::{ExposeSecret, SecretString};

/// Marks a sealed binary value (`server_secrets.value`).
const BYTES_MARKER: &[u8] = b"gatehouse-kek-v1:";
/// Marks a sealed text value (`signing_keys.private_key`, otherwise base64 PKCS#8).
const TEXT_MARKER: &str = "kek-v1:";

/// What opening a stored value found. (Not `Debug`: it holds the key in clear.)
pub struct Opened {
    pub plain: Vec<u8>,
    /// It was stored in clear or under the previous key: write it back sealed with the current.
    pub needs_reseal: bool,
}

pub struct KeyEncryption {
    current: Option<LessSafeKey>,
    previous: Option<LessSafeKey>,
}

/// Parses a key-encryption key as written in the settings: 32 bytes in base64 (standard or
/// URL-safe, padded or not) or 64 hex digits.
pub fn parse_key(raw: &str) -> Option<[u8; 32]> {
    let raw = raw.trim();
    let bytes = if raw.len() == 64 && raw.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(raw).ok()?
    } else {
        STANDARD
            .decode(raw)
            .or_else(|_| URL_SAFE_NO_PAD.decode(raw.trim_end_matches('=')))
            .ok()?
    };
    bytes.try_into().ok()
}

fn aead_key(raw: &SecretString) -> anyhow::Result<LessSafeKey> {
    let bytes = parse_key(raw.expose_secret()).context("the key-encryption key is not 32 bytes in base64")?;
    let unbound = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| anyhow!("AES-256-GCM key of the wrong length"))?;
    Ok(LessSafeKey::new(unbound))
}

impl KeyEncryption {
    pub fn new(current: Option<&SecretString>, previous: Option<&SecretString>) -> anyhow::Result<Self> {
        Ok(Self {
            current: current.map(aead_key).transpose()?,
            previous: previous.map(aead_key).transpose()?,
        })
    }

    /// The keys `KEY_ENCRYPTION_KEY` and `KEY_ENCRYPTION_KEY_PREVIOUS` name.
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        Self::new(
            config.key_encryption_key.as_ref(),
            config.key_encryption_key_previous.as_ref(),
        )
    }

    /// No key: values are stored (and expected) in clear.
    pub fn none() -> Self {
        Self {
            current: None,
            previous: None,
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.current.is_some()
    }

    /// `plain` as it is to be stored: sealed under the current key, or as it is without one.
    pub fn seal_bytes(&self, name: &str, plain: &[u8]) -> anyhow::Result<Vec<u8>> {
        let Some(key) = &self.current else {
            return Ok(plain.to_vec());
        };
        let nonce = random_bytes::<NONCE_LEN>();
        let mut in_out = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(name.as_bytes()),
            &mut in_out,
        )
        .map_err(|_| anyhow!("could not seal {name}"))?;
        let mut out = BYTES_MARKER.to_vec();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// The value `stored` holds. Refuses a sealed value it cannot open, naming the setting.
    pub fn open_bytes(&self, name: &str, stored: &[u8]) -> anyhow::Result<Opened> {
        let Some(sealed) = stored.strip_prefix(BYTES_MARKER) else {
            return Ok(Opened {
                plain: stored.to_vec(),
                needs_reseal: self.current.is_some(),
            });
        };
        if self.current.is_none() {
            bail!(
                "the database's keys are sealed with a key-encryption key, and KEY_ENCRYPTION_KEY is not set: set it to the key this database was started with"
            );
        }
        if sealed.len() < NONCE_LEN {
            bail!("the stored value of {name} is damaged (too short)");
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        for (key, is_previous) in [(&self.current, false), (&self.previous, true)] {
            let Some(key) = key else { continue };
            let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow!("bad nonce"))?;
            let mut in_out = ciphertext.to_vec();
            if let Ok(plain) = key.open_in_place(nonce, Aad::from(name.as_bytes()), &mut in_out) {
                return Ok(Opened {
                    plain: plain.to_vec(),
                    needs_reseal: is_previous,
                });
            }
        }
        bail!(
            "KEY_ENCRYPTION_KEY does not open {name} in the database: it is not the key this database was sealed with (when changing the key, put the old one in KEY_ENCRYPTION_KEY_PREVIOUS)"
        )
    }

    /// [`Self::seal_bytes`] for a text column.
    pub fn seal_text(&self, name: &str, plain: &str) -> anyhow::Result<String> {
        if self.current.is_none() {
            return Ok(plain.to_string());
        }
        let sealed = self.seal_bytes(name, plain.as_bytes())?;
        Ok(format!(
            "{TEXT_MARKER}{}",
            STANDARD.encode(&sealed[BYTES_MARKER.len()..])
        ))
    }

    /// [`Self::open_bytes`] for a text column.
    pub fn open_text(&self, name: &str, stored: &str) -> anyhow::Result<(String, bool)> {
        let opened = match stored.strip_prefix(TEXT_MARKER) {
            None => self.open_bytes(name, stored.as_bytes())?,
            Some(encoded) => {
                let mut bytes = BYTES_MARKER.to_vec();
                bytes.extend(STANDARD.decode(encoded).context("a sealed key is not base64")?);
                self.open_bytes(name, &bytes)?
            }
        };
        let text = String::from_utf8(opened.plain).context("an opened key is not text")?;
        Ok((text, opened.needs_reseal))
    }
}

/// Whether a stored binary value is sealed (the tests check what reaches the database).
pub fn is_sealed(stored: &[u8]) -> bool {
    stored.starts_with(BYTES_MARKER)
}

/// Whether a stored text value is sealed.
pub fn is_sealed_text(stored: &str) -> bool {
    stored.starts_with(TEXT_MARKER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretString {
        SecretString::from(STANDARD.encode([byte; 32]))
    }

    #[test]
    fn sealed_values_open_with_the_key_and_name_they_were_sealed_with() {
        let kek = KeyEncryption::new(Some(&key(1)), None).unwrap();
        let sealed = kek.seal_bytes("csrf_key", b"secret bytes").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(12).any(|w| w == b"secret bytes"));
        let opened = kek.open_bytes("csrf_key", &sealed).unwrap();
        assert_eq!(opened.plain, b"secret bytes");
        assert!(!opened.needs_reseal);
        // Another row's name, another key, no key: refused.
        assert!(kek.open_bytes("code_hash_key", &sealed).is_err());
        let other = KeyEncryption::new(Some(&key(2)), None).unwrap();
        assert!(other.open_bytes("csrf_key", &sealed).is_err());
        let err = KeyEncryption::none()
            .open_bytes("csrf_key", &sealed)
            .err()
            .expect("refused without the key");
        assert!(err.to_string().contains("KEY_ENCRYPTION_KEY is not set"), "{err}");
    }

    #[test]
    fn clear_values_are_resealed_and_so_are_values_under_the_previous_key() {
        let kek = KeyEncryption::new(Some(&key(1)), None).unwrap();
        let opened = kek.open_bytes("n", b"plain").unwrap();
        assert!(opened.needs_reseal && opened.plain == b"plain");
        let old = kek.seal_text("kid1", "pkcs8").unwrap();
        assert!(is_sealed_text(&old));
        let rotated = KeyEncryption::new(Some(&key(2)), Some(&key(1))).unwrap();
        assert_eq!(rotated.open_text("kid1", &old).unwrap(), ("pkcs8".to_string(), true));
        let without = KeyEncryption::none();
        assert_eq!(
            without.open_text("kid1", "pkcs8").unwrap(),
            ("pkcs8".to_string(), false)
        );
    }

    #[test]
    fn keys_parse_as_base64_or_hex() {
        assert!(parse_key(&STANDARD.encode([7u8; 32])).is_some());
        assert!(parse_key(&URL_SAFE_NO_PAD.encode([7u8; 32])).is_some());
        assert!(parse_key(&"ab".repeat(32)).is_some());
        assert!(parse_key("too short").is_none());
        assert!(parse_key(&STANDARD.encode([7u8; 16])).is_none());
    }
}
