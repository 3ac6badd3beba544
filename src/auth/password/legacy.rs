//! Every stored-hash format gatehouse verifies: its own Argon2id, and the formats a system being
//! migrated to gatehouse wrote (issue 8) — so users keep their passwords, without a reset.
//!
//! | format | written by | example prefix |
//! |---|---|---|
//! | Argon2id / Argon2i / Argon2d (PHC string) | gatehouse; passlib `argon2`; argon2-cffi | `$argon2id$v=19$m=65536,t=3,p=4$` |
//! | bcrypt `$2a$` `$2b$` `$2y$` | passlib `bcrypt`; Python `bcrypt`; PHP; most frameworks | `$2b$12$` |
//! | passlib PBKDF2-SHA256 / -SHA512 | passlib `pbkdf2_sha256`, `pbkdf2_sha512` | `$pbkdf2-sha256$29000$` |
//! | Django PBKDF2-SHA256 | Django's default `PBKDF2PasswordHasher` | `pbkdf2_sha256$1000000$` |
//!
//! [`classify_hash`] is the single judge of what is accepted: `gatehouse import` calls it to
//! refuse a row whose hash is in any other format (md5-crypt, sha256-crypt, passlib's
//! `bcrypt_sha256`, salted SHA-1, plaintext…), so such a hash never reaches the database and
//! login never has to refuse one. It also refuses parameters so costly that one login would tie
//! up a worker for seconds or take hundreds of MiB (bounds below), since import copies hashes
//! from outside and a hostile or broken row must not turn login into a denial of service.
//!
//! Format details matched exactly:
//! - **bcrypt reads only the first 72 bytes** of the password (UTF-8). passlib and Python
//!   `bcrypt` ≤ 4 truncate silently, so a longer password was accepted at sign-up and its first
//!   72 bytes are what was hashed; we truncate the same way (the `bcrypt` crate's `verify`), so
//!   the user's full password verifies. After the upgrade to Argon2id the whole password counts.
//! - **passlib's "adapted base64"** (ab64) is standard base64 with `.` instead of `+` and no
//!   padding; the salt is the decoded bytes.
//! - **Django** stores `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`; the salt is used as
//!   the UTF-8 text it is, not decoded.

use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
use argon2::{Argon2, Params};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq as _;

/// Highest Argon2 memory cost accepted (KiB): 256 MiB per concurrent verification.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
/// Highest Argon2 time cost (passes) accepted.
pub const MAX_ARGON2_ITERATIONS: u32 = 32;
/// Highest Argon2 parallelism accepted (lanes; computed one after another here).
pub const MAX_ARGON2_PARALLELISM: u32 = 16;
/// Highest bcrypt cost accepted: 2^16 rounds, a few seconds per verification.
pub const MAX_BCRYPT_COST: u32 = 16;
/// Lowest bcrypt cost the format allows.
pub const MIN_BCRYPT_COST: u32 = 4;
/// Highest PBKDF2 iteration count accepted (Django 5.2 uses 1,000,000).
pub const MAX_PBKDF2_ITERATIONS: u32 = 5_000_000;

/// The family of a stored password hash. Gatehouse's own hashes are [`HashScheme::Argon2id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashScheme {
    Argon2id,
    Argon2i,
    Argon2d,
    /// `$2a$`, `$2b$` or `$2y$` (the same algorithm; the letters record old implementation bugs).
    Bcrypt,
    PasslibPbkdf2Sha256,
    PasslibPbkdf2Sha512,
    DjangoPbkdf2Sha256,
}

impl HashScheme {
    /// A stable name, for import reports and logs.
    pub fn name(self) -> &'static str {
        match self {
            HashScheme::Argon2id => "argon2id",
            HashScheme::Argon2i => "argon2i",
            HashScheme::Argon2d => "argon2d",
            HashScheme::Bcrypt => "bcrypt",
            HashScheme::PasslibPbkdf2Sha256 => "passlib-pbkdf2-sha256",
            HashScheme::PasslibPbkdf2Sha512 => "passlib-pbkdf2-sha512",
            HashScheme::DjangoPbkdf2Sha256 => "django-pbkdf2-sha256",
        }
    }
}

impl std::fmt::Display for HashScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which format `stored` is in, or `None` if gatehouse cannot verify it (unknown format,
/// malformed, or parameters beyond the bounds in this module). Import refuses `None`.
pub fn classify_hash(stored: &str) -> Option<HashScheme> {
    StoredHash::parse(stored).map(|h| h.scheme())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Prf {
    Sha256,
    Sha512,
}

/// A stored hash that parsed, with what verifying it needs.
pub(super) enum StoredHash<'a> {
    Argon2 {
        hash: PasswordHash<'a>,
        scheme: HashScheme,
    },
    /// The whole `$2?$cc$` string: the `bcrypt` crate parses it again (cheap) when verifying.
    Bcrypt(&'a str),
    Pbkdf2 {
        scheme: HashScheme,
        prf: Prf,
        rounds: u32,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
}

impl<'a> StoredHash<'a> {
    pub(super) fn parse(stored: &'a str) -> Option<StoredHash<'a>> {
        if stored.starts_with("$argon2") {
            parse_argon2(stored)
        } else if stored.starts_with("$2") {
            parse_bcrypt(stored)
        } else if let Some(rest) = stored.strip_prefix("$pbkdf2-sha256$") {
            parse_passlib_pbkdf2(rest, HashScheme::PasslibPbkdf2Sha256, Prf::Sha256)
        } else if let Some(rest) = stored.strip_prefix("$pbkdf2-sha512$") {
            parse_passlib_pbkdf2(rest, HashScheme::PasslibPbkdf2Sha512, Prf::Sha512)
        } else if let Some(rest) = stored.strip_prefix("pbkdf2_sha256$") {
            parse_django_pbkdf2(rest)
        } else {
            None
        }
    }

    pub(super) fn scheme(&self) -> HashScheme {
        match self {
            StoredHash::Argon2 { scheme, .. } | StoredHash::Pbkdf2 { scheme, .. } => *scheme,
            StoredHash::Bcrypt(_) => HashScheme::Bcrypt,
        }
    }

    /// Whether this is gatehouse's own Argon2id with exactly the given parameters.
    pub(super) fn is_argon2id_with(&self, m_cost: u32, t_cost: u32, p_cost: u32) -> bool {
        match self {
            StoredHash::Argon2 {
                hash,
                scheme: HashScheme::Argon2id,
            } => {
                hash.version == Some(0x13)
                    && Params::try_from(hash)
                        .is_ok_and(|p| p.m_cost() == m_cost && p.t_cost() == t_cost && p.p_cost() == p_cost)
            }
            _ => false,
        }
    }

    /// Verifies one candidate password (its UTF-8 bytes). CPU-heavy: call on a blocking thread.
    pub(super) fn verify(&self, password: &[u8]) -> bool {
        match self {
            // `verify_password` recomputes with the algorithm, version and parameters recorded
            // in the hash, not those of the `Argon2` value it is called on.
            StoredHash::Argon2 { hash, .. } => {
                if self.is_argon2id_with(
                    super::ARGON2_MEMORY_KIB,
                    super::ARGON2_ITERATIONS,
                    super::ARGON2_PARALLELISM,
                ) {
                    #[cfg(test)]
                    CURRENT_ARGON2_RUNS.with(|c| c.set(c.get() + 1));
                    // Ours: on this thread's reused memory.
                    return super::own_argon2::verify(password, hash);
                }
                Argon2::default().verify_password(password, hash).is_ok()
            }
            // `verify` (not `non_truncating_verify`) truncates to 72 bytes, as passlib did.
            StoredHash::Bcrypt(full) => bcrypt::verify(password, full).unwrap_or(false),
            StoredHash::Pbkdf2 {
                prf,
                rounds,
                salt,
                expected,
                ..
            } => {
                let mut derived = vec![0u8; expected.len()];
                match prf {
                    Prf::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, *rounds, &mut derived),
                    Prf::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *rounds, &mut derived),
                }
                bool::from(derived.ct_eq(expected))
            }
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Argon2id verifications at the current parameters on this thread (the timing rule's unit).
    pub(super) static CURRENT_ARGON2_RUNS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

fn parse_argon2(stored: &str) -> Option<StoredHash<'_>> {
    let hash = PasswordHash::new(stored).ok()?;
    let scheme = match hash.algorithm.as_str() {
        "argon2id" => HashScheme::Argon2id,
        "argon2i" => HashScheme::Argon2i,
        "argon2d" => HashScheme::Argon2d,
        _ => return None,
    };
    if !matches!(hash.version, None | Some(0x10) | Some(0x13)) {
        return None;
    }
    hash.salt?;
    let output = hash.hash?;
    let params = Params::try_from(&hash).ok()?;
    let within_bounds = params.m_cost() <= MAX_ARGON2_MEMORY_KIB
        && params.t_cost() <= MAX_ARGON2_ITERATIONS
        && params.p_cost() <= MAX_ARGON2_PARALLELISM
        && (16..=64).contains(&output.len());
    within_bounds.then_some(StoredHash::Argon2 { hash, scheme })
}

fn parse_bcrypt(stored: &str) -> Option<StoredHash<'_>> {
    // `$2b$12$` + 22 salt characters + 31 hash characters, bcrypt's own base64 alphabet.
    let rest = stored
        .strip_prefix("$2a$")
        .or_else(|| stored.strip_prefix("$2b$"))
        .or_else(|| stored.strip_prefix("$2y$"))?;
    let (cost, tail) = rest.split_once('$')?;
    if cost.len() != 2 || !cost.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cost: u32 = cost.parse().ok()?;
    let alphabet_ok = tail
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
    ((MIN_BCRYPT_COST..=MAX_BCRYPT_COST).contains(&cost) && tail.len() == 53 && alphabet_ok)
        .then_some(StoredHash::Bcrypt(stored))
}

fn parse_rounds(raw: &str) -> Option<u32> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok().filter(|n| (1..=MAX_PBKDF2_ITERATIONS).contains(n))
}

/// Base64 that accepts padding or none, and trailing bits (passlib and Django never write
/// them, but refusing them would only strand a user).
fn lenient_base64() -> GeneralPurpose {
    GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
}

/// passlib's `ab64_decode`: `.` stands for `+`, no padding.
fn ab64_decode(raw: &str) -> Option<Vec<u8>> {
    if raw.contains('+') {
        return None;
    }
    lenient_base64().decode(raw.replace('.', "+")).ok()
}

/// `<rounds>$<ab64 salt>$<ab64 checksum>` after `$pbkdf2-sha256$` / `$pbkdf2-sha512$`.
fn parse_passlib_pbkdf2(rest: &str, scheme: HashScheme, prf: Prf) -> Option<StoredHash<'static>> {
    let mut parts = rest.split('$');
    let (rounds, salt, checksum) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let rounds = parse_rounds(rounds)?;
    let salt = ab64_decode(salt)?;
    let expected = ab64_decode(checksum)?;
    let digest_len = match prf {
        Prf::Sha256 => 32,
        Prf::Sha512 => 64,
    };
    (expected.len() == digest_len && salt.len() <= 1024).then_some(StoredHash::Pbkdf2 {
        scheme,
        prf,
        rounds,
        salt,
        expected,
    })
}

/// `<iterations>$<salt>$<base64 hash>` after `pbkdf2_sha256$`.
fn parse_django_pbkdf2(rest: &str) -> Option<StoredHash<'static>> {
    let mut parts = rest.split('$');
    let (rounds, salt, hash) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || salt.is_empty() || salt.len() > 1024 {
        return None;
    }
    let rounds = parse_rounds(rounds)?;
    let expected = lenient_base64().decode(hash).ok()?;
    (expected.len() == 32).then(|| StoredHash::Pbkdf2 {
        scheme: HashScheme::DjangoPbkdf2Sha256,
        prf: Prf::Sha256,
        rounds,
        salt: salt.as_bytes().to_vec(),
        expected,
    })
}

#[cfg(test)]
mod tests;
