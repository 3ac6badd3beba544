use super::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixtures {
    hashes: Vec<Fixture>,
}

#[derive(Deserialize)]
struct Fixture {
    scheme: Option<String>,
    source: String,
    password: String,
    hash: String,
    also_matches: Option<String>,
}

fn fixtures() -> Vec<Fixture> {
    let raw = include_str!("../../../../tests/fixtures/legacy_hashes.json");
    serde_json::from_str::<Fixtures>(raw).unwrap().hashes
}

#[test]
fn every_fixture_is_classified_as_the_library_that_made_it() {
    let all = fixtures();
    assert!(all.len() >= 12);
    for f in &all {
        let got = classify_hash(&f.hash).map(HashScheme::name);
        assert_eq!(got, f.scheme.as_deref(), "{} ({})", f.source, f.hash);
    }
    // Every scheme appears at least once, so none is untested.
    for scheme in [
        HashScheme::Argon2id,
        HashScheme::Argon2i,
        HashScheme::Bcrypt,
        HashScheme::PasslibPbkdf2Sha256,
        HashScheme::PasslibPbkdf2Sha512,
        HashScheme::DjangoPbkdf2Sha256,
    ] {
        assert!(
            all.iter().any(|f| f.scheme.as_deref() == Some(scheme.name())),
            "no fixture for {scheme}"
        );
    }
}

#[test]
fn fixtures_verify_with_their_password_and_not_with_others() {
    for f in fixtures().iter().filter(|f| f.scheme.is_some()) {
        let stored = StoredHash::parse(&f.hash).unwrap();
        assert!(stored.verify(f.password.as_bytes()), "{} did not verify", f.source);
        let wrong = format!("{}x", f.password);
        let matches_wrong = stored.verify(wrong.as_bytes());
        // bcrypt ignores everything after byte 72, so appending to a long password is no change.
        assert_eq!(
            matches_wrong,
            f.scheme.as_deref() == Some("bcrypt") && f.password.len() >= 72,
            "{} with a wrong password",
            f.source
        );
        assert!(!stored.verify(b"correct horse battery stapl"), "{}", f.source);
        if let Some(prefix) = &f.also_matches {
            assert!(stored.verify(prefix.as_bytes()), "{}: 72-byte prefix", f.source);
        }
    }
}

#[test]
fn bcrypt_reads_72_bytes_like_passlib() {
    let f = fixtures().into_iter().find(|f| f.also_matches.is_some()).unwrap();
    assert!(f.password.len() > 72);
    let stored = StoredHash::parse(&f.hash).unwrap();
    assert!(stored.verify(&f.password.as_bytes()[..72]));
    assert!(!stored.verify(&f.password.as_bytes()[..71]));
}

#[test]
fn malformed_and_out_of_bounds_hashes_are_refused() {
    for bad in [
        "$2b$05$short",
        "$2b$5$AB2U00b/wrBkt/Qzekh1N.Ao8toAwobXzvQxJ4lHz3BWDRH24MZ4O",
        "$2b$03$AB2U00b/wrBkt/Qzekh1N.Ao8toAwobXzvQxJ4lHz3BWDRH24MZ4O",
        "$2b$17$AB2U00b/wrBkt/Qzekh1N.Ao8toAwobXzvQxJ4lHz3BWDRH24MZ4O",
        "$2x$05$AB2U00b/wrBkt/Qzekh1N.Ao8toAwobXzvQxJ4lHz3BWDRH24MZ4O",
        "$2b$05$AB2U00b/wrBkt/Qzekh1N.Ao8toAwobXzvQxJ4lHz3BWDRH24MZ4+",
        "$argon2id$v=19$m=1048576,t=2,p=1$2ru3dg7BOOdc651zLmVsLQ$l9gMl98w8QpjBr0+NcAPgWv2DJoja1yD2G72p6kaj68",
        "$argon2id$v=19$m=65536,t=100,p=1$2ru3dg7BOOdc651zLmVsLQ$l9gMl98w8QpjBr0+NcAPgWv2DJoja1yD2G72p6kaj68",
        "$argon2id$v=19$m=65536,t=3,p=4$2ru3dg7BOOdc651zLmVsLQ",
        "$argon2id$v=42$m=65536,t=3,p=4$2ru3dg7BOOdc651zLmVsLQ$l9gMl98w8QpjBr0+NcAPgWv2DJoja1yD2G72p6kaj68",
        "$argon2x$v=19$m=65536,t=3,p=4$2ru3dg7BOOdc651zLmVsLQ$l9gMl98w8QpjBr0+NcAPgWv2DJoja1yD2G72p6kaj68",
        "$pbkdf2-sha256$0$B6B0TimlNOZc672X0rr3Pg$89JCvvFzuEesXZj6qu7oy3geLD7Xv1cc.ZFZnDolhl0",
        "$pbkdf2-sha256$99999999$B6B0TimlNOZc672X0rr3Pg$89JCvvFzuEesXZj6qu7oy3geLD7Xv1cc.ZFZnDolhl0",
        "$pbkdf2-sha256$29000$B6B0TimlNOZc672X0rr3Pg$89JCvvFzuEesXZj6qu7oy3geLD7Xv1cc",
        "$pbkdf2-sha256$29000$B6B0TimlNOZc672X0rr3Pg$89JCvvFzuEesXZj6qu7oy3geLD7Xv1cc.ZFZnDolhl0$x",
        "$pbkdf2-sha512$25000$FyLEuDeG8N57z3lP6V0rZQ$89JCvvFzuEesXZj6qu7oy3geLD7Xv1cc.ZFZnDolhl0",
        "pbkdf2_sha256$29000$$xGN/5nYooscStqvxy2eOtml4Dpv98Vddko4L02KxwbQ=",
        "pbkdf2_sha256$abc$9xlXZjenzHRu$xGN/5nYooscStqvxy2eOtml4Dpv98Vddko4L02KxwbQ=",
        "pbkdf2_sha256$29000$9xlXZjenzHRu$not-base64!",
        "pbkdf2_sha1$29000$9xlXZjenzHRu$xGN/5nYooscStqvxy2eOtml4Dpv98Vddko4L02KxwbQ=",
    ] {
        assert_eq!(classify_hash(bad), None, "{bad}");
    }
}

#[test]
fn gatehouse_parameters_are_recognised_as_current() {
    let own = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8Qvm0mj0Y4d7Pj1kPa1E3Bq7WqZ8yqgkO9cKDHQvH4Q";
    let parsed = StoredHash::parse(own).unwrap();
    assert!(parsed.is_argon2id_with(19456, 2, 1));
    assert!(!parsed.is_argon2id_with(65536, 3, 4));
    let passlib = fixtures()
        .into_iter()
        .find(|f| f.scheme.as_deref() == Some("argon2id"))
        .unwrap();
    assert!(!StoredHash::parse(&passlib.hash).unwrap().is_argon2id_with(19456, 2, 1));
}
