//! Gatehouse's own Argon2id (current parameters) computed in memory each hashing thread keeps.
//!
//! The `argon2` crate's `hash_password` allocates the whole memory cost (19 MiB) for every hash
//! and frees it afterwards. Under glibc that memory either stays resident as fragments (about
//! four stale blocks per thread were measured: ~235 MiB after a few hundred sign-ins) or, if
//! every such block is mapped and unmapped, costs a page fault per 4 KiB on every hash (a quarter
//! of the sign-in throughput was measured lost). Instead each hashing thread allocates its block
//! once and the crate fills it again for every hash (`hash_password_into_with_memory`, which
//! overwrites the memory in the first pass). Resident memory is then one block per thread that
//! ever hashed, whatever the load. Salt, output and PHC string are exactly what
//! `PasswordHasher::hash_password` produces (tested against it).

use super::{argon2, ARGON2_ITERATIONS, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM};
use crate::auth::secrets::random_bytes;
use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Block, ARGON2ID_IDENT};
use std::cell::RefCell;

/// Output length of gatehouse's hashes (the crate's default).
const OUTPUT_LEN: usize = 32;

thread_local! {
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs Argon2id at the current parameters into `out`, on this thread's memory.
fn compute(password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), argon2::Error> {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let blocks = (ARGON2_MEMORY_KIB as usize).max(8 * ARGON2_PARALLELISM as usize);
        if memory.len() != blocks {
            *memory = vec![Block::default(); blocks];
        }
        argon2().hash_password_into_with_memory(password, salt, out, &mut memory[..])
    })
}

/// A new PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) for `password`.
pub(super) fn hash(password: &[u8]) -> anyhow::Result<String> {
    let salt_bytes = random_bytes::<16>();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?;
    let mut out = [0u8; OUTPUT_LEN];
    compute(password, &salt_bytes, &mut out).map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))?;
    let params = argon2::Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        Some(OUTPUT_LEN),
    )
    .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(0x13),
        params: (&params)
            .try_into()
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches `stored`, a hash at the current parameters (the caller checked).
pub(super) fn verify(password: &[u8], stored: &PasswordHash<'_>) -> bool {
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    if expected.len() != OUTPUT_LEN {
        // Our parameters with another output length (another system's hash): the crate's path.
        use argon2::password_hash::PasswordVerifier as _;
        return argon2().verify_password(password, stored).is_ok();
    }
    let mut out = [0u8; OUTPUT_LEN];
    let computed = compute(password, salt, &mut out).is_ok();
    // Output's equality is constant-time.
    computed && Output::new(&out).is_ok_and(|o| o == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    #[test]
    fn hashes_verify_with_the_crate_and_the_crate_s_with_these() {
        let ours = hash(b"correct horse battery staple").unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2()
            .verify_password(b"correct horse battery staple", &parsed)
            .is_ok());
        assert!(argon2()
            .verify_password(b"correct horse battery stapler", &parsed)
            .is_err());

        let salt = SaltString::encode_b64(&random_bytes::<16>()).unwrap();
        let theirs = argon2()
            .hash_password(b"seventeen lazy otters", &salt)
            .unwrap()
            .to_string();
        let theirs = PasswordHash::new(&theirs).unwrap();
        // Twice on the same thread: the reused memory gives the same answer.
        assert!(verify(b"seventeen lazy otters", &theirs));
        assert!(verify(b"seventeen lazy otters", &theirs));
        assert!(!verify(b"seventeen lazy otter", &theirs));
        assert!(verify(b"correct horse battery staple", &parsed));
    }
}
