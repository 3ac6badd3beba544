//! Hashing and verifying passwords (OWASP ASVS V6, NIST SP 800-63B §5.1.1.2).
//!
//! Argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1). Each hash holds ~19 MiB and tens
//! of milliseconds of CPU, so it runs on the blocking pool behind a semaphore sized to the cores:
//! under a login flood requests queue here instead of exhausting memory or starving the runtime.
//! The owned permit moves into the blocking closure, so a client that disconnects mid-login
//! cannot release it while its hash still runs.
//!
//! An unknown account is verified against a fixed dummy hash so that "no such user" and "wrong
//! password" cost the same time (no user enumeration by timing).

use crate::domain::Password;
use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// OWASP Password Storage Cheat Sheet, Argon2id first option.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_PARALLELISM: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub matches: bool,
    /// The stored hash uses other parameters or another algorithm: store a fresh one.
    pub needs_rehash: bool,
}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let dummy = hash_blocking("gatehouse-dummy-password-for-timing")?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: Arc::new(dummy),
        })
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let pw = password.expose().to_string();
        self.run(move || hash_blocking(&pw)).await?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no stored
    /// hash (unknown user, account without password) so the time taken is the same.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> anyhow::Result<Verification> {
        let pw = password.expose().to_string();
        let (phc, real) = match stored {
            Some(s) => (s.to_string(), true),
            None => (self.dummy_hash.as_ref().clone(), false),
        };
        let outcome = self.run(move || verify_blocking(&pw, &phc)).await??;
        Ok(if real {
            outcome
        } else {
            Verification {
                matches: false,
                needs_rehash: false,
            }
        })
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .context("password hasher closed")?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            span.in_scope(work)
        })
        .await
        .context("password hashing task failed")
    }
}

fn argon2() -> Argon2<'static> {
    // Constant, valid parameters: `Params::new` only fails on out-of-range values.
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_PARALLELISM, None)
        .unwrap_or_else(|_| unreachable!("constant Argon2 parameters are valid"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))?;
    Ok(hash.to_string())
}

fn verify_blocking(password: &str, stored: &str) -> anyhow::Result<Verification> {
    let parsed = match PasswordHash::new(stored) {
        Ok(p) => p,
        // A malformed stored hash never matches; it is reported at import, not here.
        Err(_) => {
            return Ok(Verification {
                matches: false,
                needs_rehash: false,
            })
        }
    };
    let matches = argon2().verify_password(password.as_bytes(), &parsed).is_ok();
    Ok(Verification {
        matches,
        needs_rehash: matches && !is_current(&parsed),
    })
}

fn is_current(hash: &PasswordHash<'_>) -> bool {
    hash.algorithm.as_str() == "argon2id"
        && Params::try_from(hash).is_ok_and(|p| {
            p.m_cost() == ARGON2_MEMORY_KIB && p.t_cost() == ARGON2_ITERATIONS && p.p_cost() == ARGON2_PARALLELISM
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_do_not() {
        let hasher = PasswordHasher::new(2).unwrap();
        let pw = Password::for_verification("correct horse battery staple");
        let phc = hasher.hash(&pw).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let ok = hasher.verify(&pw, Some(&phc)).await.unwrap();
        assert_eq!(
            ok,
            Verification {
                matches: true,
                needs_rehash: false
            }
        );
        let bad = hasher
            .verify(&Password::for_verification("wrong"), Some(&phc))
            .await
            .unwrap();
        assert!(!bad.matches);
        let unknown = hasher.verify(&pw, None).await.unwrap();
        assert!(!unknown.matches);
    }

    #[tokio::test]
    async fn weaker_argon2_parameters_ask_for_a_rehash() {
        let params = Params::new(4096, 1, 1, None).unwrap();
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"s3cret-pass", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        let hasher = PasswordHasher::new(1).unwrap();
        let v = hasher
            .verify(&Password::for_verification("s3cret-pass"), Some(&weak))
            .await
            .unwrap();
        assert_eq!(
            v,
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
    }
}
