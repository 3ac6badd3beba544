use super::*;
use argon2::password_hash::{PasswordHasher as _, SaltString};
use rand::rngs::OsRng;

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

fn fixture(scheme: &str) -> (String, String) {
    let raw = include_str!("../../../tests/fixtures/legacy_hashes.json");
    let all: serde_json::Value = serde_json::from_str(raw).unwrap();
    let f = all["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["scheme"] == scheme)
        .unwrap_or_else(|| panic!("no {scheme} fixture"));
    (
        f["password"].as_str().unwrap().to_string(),
        f["hash"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn legacy_hashes_verify_as_typed_and_ask_for_a_rehash() {
    let hasher = PasswordHasher::new(2).unwrap();
    // The argon2i and pbkdf2-sha512 fixtures are of a Bengali password whose NFKC form differs.
    for scheme in [
        "bcrypt",
        "argon2id",
        "argon2i",
        "passlib-pbkdf2-sha512",
        "django-pbkdf2-sha256",
    ] {
        let (password, hash) = fixture(scheme);
        let v = hasher
            .verify(&Password::for_verification(&password), Some(&hash))
            .await
            .unwrap();
        assert_eq!(
            v,
            Verification {
                matches: true,
                needs_rehash: true
            },
            "{scheme}"
        );
        let wrong = hasher
            .verify(&Password::for_verification("not the password at all"), Some(&hash))
            .await
            .unwrap();
        assert_eq!(wrong, Verification::NO_MATCH, "{scheme}");
    }
    let (bengali, _) = fixture("argon2i");
    assert!(Password::for_verification(&bengali).expose_typed().is_some());
}

#[tokio::test]
async fn unverifiable_stored_hashes_never_match() {
    let hasher = PasswordHasher::new(1).unwrap();
    for stored in ["correct horse battery staple", "$1$37105UzP$pXaDGmXEtK7HjF4johRG01", ""] {
        let v = hasher
            .verify(
                &Password::for_verification("correct horse battery staple"),
                Some(stored),
            )
            .await
            .unwrap();
        assert_eq!(v, Verification::NO_MATCH, "{stored:?}");
    }
}

#[test]
fn failures_wait_for_the_slowest_verification_and_successes_do_not() {
    use std::time::Duration as D;
    assert_eq!(
        failure_padding(false, D::from_millis(40), D::from_millis(300)),
        D::from_millis(260)
    );
    assert_eq!(failure_padding(true, D::from_millis(40), D::from_millis(300)), D::ZERO);
    assert_eq!(
        failure_padding(false, D::from_millis(300), D::from_millis(300)),
        D::ZERO
    );
    assert_eq!(
        failure_padding(false, D::from_millis(10), D::from_secs(60)),
        MAX_FAILURE_PADDING - D::from_millis(10)
    );
}

/// A failure after a dear legacy verification is padded: with tokio's clock paused, the
/// wait shows up as virtual time (no real sleeping in the test).
#[tokio::test(start_paused = true)]
async fn a_cheap_failure_after_a_dear_one_waits() {
    let hasher = PasswordHasher::new(1).unwrap();
    hasher
        .slowest_work_nanos
        .store(D300.as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
    let before = tokio::time::Instant::now();
    let v = hasher.verify(&Password::for_verification("wrong"), None).await.unwrap();
    assert!(!v.matches);
    let waited = before.elapsed();
    assert!(
        waited > std::time::Duration::ZERO && waited <= D300,
        "waited {waited:?}"
    );
}

const D300: std::time::Duration = std::time::Duration::from_millis(300);

/// The timing rule, held without a clock: every path — own hash, each legacy format, an
/// unknown account, a malformed stored hash — runs exactly one Argon2id at the current
/// parameters, so none of them answers faster than an unknown account.
#[test]
fn every_path_runs_exactly_one_current_argon2id() {
    let dummy = hash_blocking("dummy for the test").unwrap();
    let own = hash_blocking("the right password").unwrap();
    let (password, cheap) = fixture("passlib-pbkdf2-sha256");
    let candidates = |p: &str| Candidates {
        normalised: p.to_string(),
        typed: None,
    };
    let cases: [(&str, Option<&str>); 5] = [
        ("own hash", Some(&own)),
        ("legacy hash", Some(&cheap)),
        ("unknown account", None),
        ("malformed stored hash", Some("md5$not-a-hash")),
        (
            "weaker argon2",
            Some("$argon2id$v=19$m=4096,t=1,p=1$c29tZXNhbHQ$eSTH2z3NZn3qvXqs+BvOH2DDx4Vl3ieKEN+Gp1RoHMc"),
        ),
    ];
    for (name, stored) in cases {
        for attempt in ["a wrong password", password.as_str(), "the right password"] {
            legacy::CURRENT_ARGON2_RUNS.with(|c| c.set(0));
            verify_blocking(&candidates(attempt), stored, &dummy);
            let runs = legacy::CURRENT_ARGON2_RUNS.with(|c| c.get());
            assert_eq!(runs, 1, "{name} with {attempt:?} ran {runs} current Argon2id");
        }
    }
    assert!(verify_blocking(&candidates(&password), Some(&cheap), &dummy).matches);
}
