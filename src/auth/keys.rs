//! Signing keys for access tokens: Ed25519 (JWS `EdDSA`), generated on first start and kept in
//! the database so every instance signs and verifies with the same keys and a restart keeps
//! issued tokens valid. Public halves are published at `/.well-known/jwks.json` so other
//! services verify tokens without a shared secret.
//!
//! Several instances starting at once may each create a key; that is harmless: all keys are
//! valid for verification, and an instance that meets a `kid` it has not loaded re-reads the
//! table (at most once every few seconds, so a flood of forged `kid`s cannot hammer the database).

use crate::auth::key_encryption::KeyEncryption;
use crate::clock::Clock;
use crate::store::{SigningKeyRecord, Store};
use anyhow::Context;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{DecodingKey, EncodingKey};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub const ALGORITHM: &str = "EdDSA";
const RELOAD_INTERVAL_SECS: i64 = 5;

#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
}

#[derive(Clone)]
struct Loaded {
    signing: SigningKey,
    verifying: HashMap<String, DecodingKey>,
    jwks: Jwks,
    loaded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Jwks {
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<Jwk>,
}

/// RFC 8037 OKP key.
#[derive(Debug, Clone, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
}

#[derive(Clone)]
pub struct KeySet {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    kek: Arc<KeyEncryption>,
    /// How long a retired key stays published: the longest an access token it signed lives,
    /// plus a margin for instances that have not reloaded yet.
    publish_retired_for: Duration,
    inner: Arc<RwLock<Loaded>>,
}

/// How often a running instance re-reads the keys (so a `gatehouse keys rotate` reaches it).
pub const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl KeySet {
    /// Loads the keys, creating the first one if none is active. Private halves stored in clear
    /// are sealed under the key-encryption key when one is set.
    pub async fn load_or_create(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        kek: Arc<KeyEncryption>,
        access_token_ttl: Duration,
    ) -> anyhow::Result<Self> {
        let mut records = store.keys().signing_keys().await?;
        if !records.iter().any(|k| k.retired_at.is_none()) {
            let record = generate(clock.now(), &kek)?;
            store.keys().insert_signing_key(&record).await?;
            records = store.keys().signing_keys().await?;
            tracing::info!(kid = %record.kid, "generated the first token signing key");
        }
        for record in &records {
            let (plain, needs_reseal) = kek.open_text(&record.kid, &record.private_key)?;
            if needs_reseal {
                store
                    .keys()
                    .replace_signing_private_key(&record.kid, &kek.seal_text(&record.kid, &plain)?)
                    .await?;
                tracing::info!(kid = %record.kid, "sealed a signing key under KEY_ENCRYPTION_KEY");
            }
        }
        let publish_retired_for = access_token_ttl + Duration::minutes(5);
        let loaded = build(&records, clock.now(), &kek, publish_retired_for)?;
        Ok(Self {
            store,
            clock,
            kek,
            publish_retired_for,
            inner: Arc::new(RwLock::new(loaded)),
        })
    }

    /// Re-reads the keys: a key made by `gatehouse keys rotate` starts signing here, and retired
    /// keys leave the JWKS once their tokens have expired.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let records = self.store.keys().signing_keys().await?;
        let fresh = build(&records, self.clock.now(), &self.kek, self.publish_retired_for)?;
        *self.inner.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    /// `gatehouse keys rotate`: a new signing key, sealed like the others; every other key is
    /// retired (it verifies and stays in the JWKS until tokens it signed have expired). Refused
    /// unless `kek` opens the keys already stored, so the new key is never sealed under another
    /// key than the rest.
    pub async fn rotate(store: &Store, kek: &KeyEncryption, now: DateTime<Utc>) -> anyhow::Result<(String, u64)> {
        for record in store.keys().signing_keys().await? {
            kek.open_text(&record.kid, &record.private_key)?;
        }
        let record = generate(now, kek)?;
        store.keys().insert_signing_key(&record).await?;
        let retired = store.keys().retire_signing_keys(&record.kid, now).await?;
        Ok((record.kid, retired))
    }

    pub fn signing_key(&self) -> SigningKey {
        self.read().signing.clone()
    }

    pub fn jwks(&self) -> Jwks {
        self.read().jwks.clone()
    }

    /// Whether `kid` is one of the keys tokens may be signed with now (no reload): a signature
    /// checked earlier under a key that has since been retired must not be trusted any more.
    pub fn knows(&self, kid: &str) -> bool {
        self.read().verifying.contains_key(kid)
    }

    /// The public key for `kid`, re-reading the table once if it is not known yet.
    pub async fn decoding_key(&self, kid: &str) -> Option<DecodingKey> {
        if let Some(key) = self.read().verifying.get(kid) {
            return Some(key.clone());
        }
        let now = self.clock.now();
        if (now - self.read().loaded_at).num_seconds() < RELOAD_INTERVAL_SECS {
            return None;
        }
        match self
            .store
            .keys()
            .signing_keys()
            .await
            .map_err(anyhow::Error::new)
            .and_then(|r| build(&r, now, &self.kek, self.publish_retired_for))
        {
            Ok(fresh) => {
                let key = fresh.verifying.get(kid).cloned();
                *self.inner.write().unwrap_or_else(|p| p.into_inner()) = fresh;
                key
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "could not reload signing keys");
                None
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }
}

fn generate(now: DateTime<Utc>, kek: &KeyEncryption) -> anyhow::Result<SigningKeyRecord> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 =
        Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| anyhow::anyhow!("could not generate an Ed25519 key"))?;
    let pair =
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| anyhow::anyhow!("generated key did not parse"))?;
    let public = pair.public_key().as_ref();
    let kid = crate::auth::secrets::sha256_hex(public)[..16].to_string();
    let private_key = kek.seal_text(&kid, &STANDARD.encode(pkcs8.as_ref()))?;
    Ok(SigningKeyRecord {
        kid,
        algorithm: ALGORITHM.into(),
        private_key,
        public_key: URL_SAFE_NO_PAD.encode(public),
        created_at: now,
        retired_at: None,
    })
}

/// Whether a key still verifies (and is published): active, or retired so recently that tokens
/// it signed may still be alive.
fn published(record: &SigningKeyRecord, now: DateTime<Utc>, publish_retired_for: Duration) -> bool {
    record
        .retired_at
        .is_none_or(|retired| now - retired < publish_retired_for)
}

fn build(
    records: &[SigningKeyRecord],
    now: DateTime<Utc>,
    kek: &KeyEncryption,
    publish_retired_for: Duration,
) -> anyhow::Result<Loaded> {
    let mut verifying = HashMap::new();
    let mut keys = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.algorithm == ALGORITHM && published(r, now, publish_retired_for))
    {
        let public = URL_SAFE_NO_PAD
            .decode(&r.public_key)
            .context("stored public key is not base64url")?;
        verifying.insert(r.kid.clone(), DecodingKey::from_ed_der(&public));
        keys.push(Jwk {
            kty: "OKP",
            crv: "Ed25519",
            x: r.public_key.clone(),
            kid: r.kid.clone(),
            use_: "sig",
            alg: ALGORITHM,
        });
    }
    // Sign with the newest active key; older ones stay published for tokens already issued.
    let active = records
        .iter()
        .filter(|r| r.retired_at.is_none() && r.algorithm == ALGORITHM)
        .max_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.kid.cmp(&b.kid)))
        .context("no active signing key")?;
    let (private_key, _) = kek.open_text(&active.kid, &active.private_key)?;
    let der = STANDARD
        .decode(private_key)
        .context("stored private key is not base64")?;
    Ed25519KeyPair::from_pkcs8(&der)
        .map_err(|_| anyhow::anyhow!("stored private key {} is not PKCS#8 Ed25519", active.kid))?;
    Ok(Loaded {
        signing: SigningKey {
            kid: active.kid.clone(),
            encoding: EncodingKey::from_ed_der(&der),
        },
        verifying,
        jwks: Jwks { keys },
        loaded_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_key_is_published_until_its_tokens_have_expired() {
        let now = Utc::now();
        let mut record = generate(now, &KeyEncryption::none()).unwrap();
        let window = Duration::minutes(20);
        assert!(published(&record, now, window));
        record.retired_at = Some(now - Duration::minutes(19));
        assert!(published(&record, now, window));
        record.retired_at = Some(now - Duration::minutes(20));
        assert!(!published(&record, now, window));
    }
}
