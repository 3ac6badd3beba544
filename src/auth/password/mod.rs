//! Hashing and verifying passwords (OWASP ASVS V6, NIST SP 800-63B §5.1.1.2).
//!
//! Argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1). Each hash holds ~19 MiB and tens
//! of milliseconds of CPU, so it runs on a fixed set of `PASSWORD_HASH_CONCURRENCY` threads
//! (default: the cores): under a login flood requests queue here instead of exhausting memory or
//! starving the runtime, and a client that disconnects mid-login cannot start more hashes than
//! there are threads. Verifying a legacy hash (bcrypt, PBKDF2, foreign Argon2) goes through the
//! same path. (tokio's blocking pool was the first design; under load it grew to dozens of
//! threads, each keeping an Argon2-sized allocator arena: ~500 MiB resident in the benchmark.)
//!
//! # Hashes from other systems
//!
//! [`legacy`] parses and verifies the formats a migrated database holds (bcrypt, passlib's
//! PBKDF2 and Argon2, Django's PBKDF2); [`classify_hash`] is what `gatehouse import` uses to
//! refuse anything else. A hash that verifies but is not gatehouse's current Argon2id (another
//! algorithm, or Argon2id with other parameters — also ours after the constants below are
//! raised) reports `needs_rehash`, and login stores a fresh Argon2id hash in its place.
//!
//! Legacy hashes were made from the password as typed (passlib and Django do not normalise),
//! while gatehouse hashes its NFKC form: for a legacy hash both forms are tried.
//!
//! # Timing — decision
//!
//! A failed login must not tell an attacker whether the account exists, whatever format its
//! hash is in. The rule, applied inside the one blocking task so it cannot be skipped:
//!
//! - **Every verification runs exactly one Argon2id at the current parameters**: against the
//!   account's hash if that is a current gatehouse hash, otherwise against a fixed dummy hash —
//!   for an unknown account, an account without a password, an unparseable stored hash, *and*
//!   after checking a legacy hash (whether it matched or not).
//! - So no failure is cheaper than the unknown-account case. A legacy check is *added* cost:
//!   PBKDF2 at passlib's 29,000 rounds adds a few milliseconds, but an expensive legacy hash
//!   (bcrypt cost 12 takes ~0.35 s on the development machine, about eight Argon2id's worth)
//!   makes a wrong password for that account measurably slower than for an unknown address.
//!   That residual is accepted and bounded: it exists only until the account's first
//!   successful login (which upgrades the hash), nothing extra is done for a wrong password,
//!   and [`legacy`]'s cost bounds cap it.
//!   Padding every failure to the slowest legacy cost would hide it, but would need that cost
//!   known before the first such login, so it is left to a later change if it proves needed.

pub mod legacy;
mod own_argon2;

pub use legacy::{classify_hash, HashScheme};

use crate::domain::Password;
use anyhow::Context;
use argon2::{Algorithm, Argon2, Params, Version};
use legacy::StoredHash;
use std::sync::Arc;

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

impl Verification {
    const NO_MATCH: Verification = Verification {
        matches: false,
        needs_rehash: false,
    };
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs hashes on `PASSWORD_HASH_CONCURRENCY` dedicated threads. A fixed set of threads (rather
/// than tokio's blocking pool, which grows to hundreds of threads under a login flood) bounds
/// how many Argon2 memory blocks (19 MiB each) exist: each thread reuses its own (see
/// [`own_argon2`]). Jobs queue in the channel.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: Arc<std::sync::Mutex<std::sync::mpsc::Sender<Job>>>,
    dummy_hash: Arc<String>,
    /// The longest verification work seen so far (nanoseconds, capped): failed verifications
    /// are padded to it, see [`PasswordHasher::verify`].
    slowest_work_nanos: Arc<std::sync::atomic::AtomicU64>,
}

/// A failure is never padded beyond this, whatever a stored hash costs.
const MAX_FAILURE_PADDING: std::time::Duration = std::time::Duration::from_secs(2);

fn start_workers(concurrency: usize) -> anyhow::Result<std::sync::mpsc::Sender<Job>> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    for i in 0..concurrency.max(1) {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("gatehouse-hash-{i}"))
            .spawn(move || loop {
                // The lock is held only while waiting for the next job, not while running it.
                let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                match job {
                    Ok(job) => job(),
                    // Every PasswordHasher is gone: the server is shutting down.
                    Err(_) => break,
                }
            })
            .context("could not start a password hashing thread")?;
    }
    Ok(tx)
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let jobs = start_workers(concurrency)?;
        // On a hashing thread, so that its memory is one that thread keeps anyway.
        let (done, dummy) = std::sync::mpsc::channel();
        jobs.send(Box::new(move || {
            let _ = done.send(hash_blocking("gatehouse-dummy-password-for-timing"));
        }))
        .map_err(|_| anyhow::anyhow!("password hashing threads have stopped"))?;
        let dummy = dummy.recv().context("the password hashing thread stopped")??;
        Ok(Self {
            jobs: Arc::new(std::sync::Mutex::new(jobs)),
            dummy_hash: Arc::new(dummy),
            slowest_work_nanos: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        })
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let pw = password.expose().to_string();
        self.run(move || hash_blocking(&pw)).await?
    }

    /// Verifies `password` against `stored` (any format [`classify_hash`] accepts), or against
    /// the dummy hash when there is no stored hash (unknown user, account without password), so
    /// the time taken does not reveal which (see the module docs).
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> anyhow::Result<Verification> {
        let candidates = Candidates {
            normalised: password.expose().to_string(),
            typed: password.expose_typed().map(str::to_string),
        };
        let stored = stored.map(str::to_string);
        let dummy = self.dummy_hash.clone();
        let (verification, work) = self
            .run(move || {
                let started = std::time::Instant::now();
                let verification = verify_blocking(&candidates, stored.as_deref(), &dummy);
                (verification, started.elapsed())
            })
            .await?;
        self.pad_failure(&verification, work).await;
        Ok(verification)
    }

    /// Every failed verification answers no sooner than the slowest verification seen so far.
    /// One Argon2id on every path already makes unknown accounts and wrong passwords cost the
    /// same; this also covers a migrated hash that is dearer than Argon2id (bcrypt cost 12 takes
    /// ~0.3 s here), which would otherwise make "wrong password for a migrated account" slower
    /// than "no such account". Only the time of the work itself counts (not waiting in the
    /// queue), the wait is an async sleep (no thread held), and successes are never delayed.
    async fn pad_failure(&self, verification: &Verification, work: std::time::Duration) {
        use std::sync::atomic::Ordering;
        let work_nanos = work.min(MAX_FAILURE_PADDING).as_nanos() as u64;
        let slowest = self
            .slowest_work_nanos
            .fetch_max(work_nanos, Ordering::Relaxed)
            .max(work_nanos);
        let pad = failure_padding(verification.matches, work, std::time::Duration::from_nanos(slowest));
        if !pad.is_zero() {
            tokio::time::sleep(pad).await;
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move || {
            // The requester may have gone away (client disconnected); the work is done anyway.
            let _ = done.send(span.in_scope(work));
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| anyhow::anyhow!("password hashing threads have stopped"))?;
        result.await.context("password hashing job failed")
    }
}

/// How long a verification that took `work` waits before answering, when the slowest so far
/// took `slowest`: failures wait for the difference, successes not at all.
fn failure_padding(matches: bool, work: std::time::Duration, slowest: std::time::Duration) -> std::time::Duration {
    if matches {
        std::time::Duration::ZERO
    } else {
        slowest.min(MAX_FAILURE_PADDING).saturating_sub(work)
    }
}

/// The forms of one login password worth trying.
struct Candidates {
    /// NFKC: what gatehouse hashes.
    normalised: String,
    /// As typed, when NFKC changed it: what other systems hashed.
    typed: Option<String>,
}

fn argon2() -> Argon2<'static> {
    // Constant, valid parameters: `Params::new` only fails on out-of-range values.
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_PARALLELISM, None)
        .unwrap_or_else(|_| unreachable!("constant Argon2 parameters are valid"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    own_argon2::hash(password.as_bytes())
}

/// The timing rule of the module docs: exactly one current-parameter Argon2id on every path.
fn verify_blocking(candidates: &Candidates, stored: Option<&str>, dummy: &str) -> Verification {
    let parsed = stored.and_then(StoredHash::parse);
    match parsed {
        Some(own) if own.is_argon2id_with(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_PARALLELISM) => Verification {
            matches: own.verify(candidates.normalised.as_bytes()),
            needs_rehash: false,
        },
        Some(other) => {
            let matches = candidates
                .typed
                .iter()
                .chain(std::iter::once(&candidates.normalised))
                .any(|c| other.verify(c.as_bytes()));
            burn_dummy(dummy);
            Verification {
                matches,
                needs_rehash: matches,
            }
        }
        None => {
            if stored.is_some() {
                // Import refuses such hashes, so one here was written some other way.
                tracing::warn!("the stored password hash is in no format gatehouse can verify; the login fails");
            }
            burn_dummy(dummy);
            Verification::NO_MATCH
        }
    }
}

/// One Argon2id at the current parameters whose answer is thrown away.
fn burn_dummy(dummy: &str) {
    if let Some(h) = StoredHash::parse(dummy) {
        let _ = h.verify(b"not the dummy password");
    }
}

#[cfg(test)]
mod tests;
