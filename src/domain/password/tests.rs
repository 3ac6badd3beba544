//! Tests of the password policy, one rule per test.

use super::*;

fn rules() -> PasswordRules {
    PasswordRules::default()
}

fn check(raw: &str, rules: &PasswordRules) -> Result<Password, Invalid> {
    Password::parse(raw, &PasswordContext::new(rules))
}

fn code(raw: &str) -> &'static str {
    match check(raw, &rules()) {
        Ok(_) => panic!("{raw:?} was accepted"),
        Err(err) => err.code,
    }
}

/// Deterministic pseudo-random text: strong, and the same on every run.
fn noise(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%&*+=?";
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(ALPHABET[(state >> 33) as usize % ALPHABET.len()])
        })
        .collect()
}

#[test]
fn defaults_follow_asvs() {
    let r = rules();
    assert_eq!((r.min_length, r.max_length, r.min_strength), (8, 128, 3));
    assert!(!r.require_composition);
}

#[test]
fn common_list_is_bundled() {
    assert!(COMMON_PASSWORDS.len() >= 10_000, "{}", COMMON_PASSWORDS.len());
    assert!(COMMON_PASSWORDS.iter().all(|p| !p.starts_with('#')));
    assert!(COMMON_PASSWORDS.iter().all(|p| *p == p.to_lowercase()));
    for p in ["password", "123456789", "qwerty123", "iloveyou"] {
        assert!(COMMON_PASSWORDS.contains(p), "{p}");
    }
}

#[test]
fn accepts_strong_passphrases() {
    for raw in [
        "correct horse battery staple",
        "Tr0ub4dour&3 is not my password",
        "purple-mongoose-eats-17-lychees",
        "আমার সোনার বাংলা আমি তোমায় ভালোবাসি",
        "🦀🌶️🚲🎻🌋🧊🦉🪁🐘🍉🛶🧭",
        "    spaces    around    ok    ",
    ] {
        let pw = check(raw, &rules()).unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
        assert_eq!(pw.expose(), raw.nfkc().collect::<String>());
    }
}

#[test]
fn refuses_breached_passwords() {
    for raw in [
        "password",
        "12345678",
        "iloveyou",
        "sunshine",
        "football",
        "princess",
        "123456789",
        "qwerty123",
        "PassWord",
        "QWERTY123",
    ] {
        assert_eq!(code(raw), "common_password", "{raw:?}");
    }
    let err = check("password", &rules()).err().unwrap();
    assert_eq!(err.message, "is too common: it appears in lists of breached passwords");
}

#[test]
fn nfkc_applies_before_every_rule() {
    // Full-width letters are the ASCII word in disguise.
    assert_eq!(code("ｐａｓｓｗｏｒｄ"), "common_password");
    // The "ﬁ" ligature is two letters after NFKC.
    let pw = check("ﬁve ﬂying ﬁsh over the moon", &rules()).unwrap();
    assert_eq!(pw.expose(), "five flying fish over the moon");
}

#[test]
fn length_is_in_code_points_after_nfkc() {
    assert_eq!(code(""), "required");
    assert_eq!(code("Xk#9vQ2"), "too_short");
    let err = check("Xk#9vQ2", &rules()).err().unwrap();
    assert_eq!(err.message, "must be at least 8 characters");
    assert_eq!(code(&noise(129)), "too_long");
    assert_eq!(
        check(&noise(129), &rules()).err().unwrap().message,
        "must be at most 128 characters"
    );
    assert!(check(&noise(128), &rules()).is_ok());
    // Seven Bengali letters are 21 bytes but still seven characters.
    assert_eq!(code("কখগঘঙচছ"), "too_short");
    // A bounded input: megabytes are refused before any normalising.
    assert_eq!(code(&"a".repeat(MAX_BYTES + 1)), "too_long");
}

#[test]
fn rules_are_configurable() {
    let lax = PasswordRules {
        min_length: 4,
        min_strength: 0,
        ..rules()
    };
    assert!(check("zq7v", &lax).is_ok());
    let long = PasswordRules {
        min_length: 20,
        ..rules()
    };
    assert_eq!(check("correct horse staple", &long).map(|_| ()), Ok(()));
    assert_eq!(
        check("correct horse", &long).err().unwrap().message,
        "must be at least 20 characters"
    );
}

#[test]
fn composition_lists_every_missing_class() {
    let strict = PasswordRules {
        require_composition: true,
        ..rules()
    };
    let msg = |raw: &str| {
        let err = check(raw, &strict).err().unwrap();
        assert_eq!(err.code, "composition", "{raw:?}");
        err.message
    };
    assert_eq!(
        msg("correct horse battery staple"),
        "must contain at least one upper-case letter and one digit"
    );
    assert_eq!(
        msg("abcdefghij"),
        "must contain at least one upper-case letter, one digit and one special character"
    );
    assert_eq!(msg("Abcdefghij1"), "must contain at least one special character");
    assert_eq!(
        msg("        "),
        "must contain at least one upper-case letter, one lower-case letter and one digit"
    );
    // Bengali has no letter case, which is why this rule is off by default.
    assert_eq!(
        msg("আমারসোনারবাংলা"),
        "must contain at least one upper-case letter, one lower-case letter, one digit and one special character"
    );
    assert!(check("Correct horse battery staple 9", &strict).is_ok());
    // Composition is checked before the breached list.
    assert_eq!(check("password", &strict).err().unwrap().code, "composition");
    assert_eq!(check("Sasha_007", &strict).err().unwrap().code, "common_password");
}

#[test]
fn refuses_personal_details() {
    let r = rules();
    let email = Email::parse("Rahim.Uddin+shop@example.com").unwrap();
    let ctx = PasswordContext {
        email: Some(&email),
        first_name: Some("Karim"),
        last_name: Some("Chowdhury"),
        username: Some("night_owl"),
        rules: &r,
    };
    let code_for = |raw: &str| Password::parse(raw, &ctx).err().map(|e| (e.code, e.message));
    let personal = |what: &str| Some(("contains_personal_info", format!("must not contain {what}")));
    assert_eq!(code_for("my RAHIM.UDDIN secret kiwi"), personal("your email address"));
    assert_eq!(code_for("zz rahim.uddin+shop zz"), personal("your email address"));
    assert_eq!(code_for("karimlovesmangoes77"), personal("your name"));
    assert_eq!(code_for("the chowdhury family vault"), personal("your name"));
    assert_eq!(code_for("Night_Owl flies at 3am!"), personal("your username"));
    assert_eq!(code_for("purple-mongoose-eats-17-lychees"), None);

    // Details shorter than three characters are not checked.
    let short = PasswordContext {
        first_name: Some("Al"),
        last_name: Some("Li"),
        ..PasswordContext::new(&r)
    };
    assert!(Password::parse("totally alien lithium valley", &short).is_ok());
    // Names are compared after the same NFKC + lower-casing.
    let bn = PasswordContext {
        first_name: Some("রহিম"),
        ..PasswordContext::new(&r)
    };
    assert_eq!(
        Password::parse("আমি রহিম, তুমি কে?", &bn).err().unwrap().code,
        "contains_personal_info"
    );
}

#[test]
fn refuses_weak_passwords_with_feedback() {
    for raw in ["aaaaaaaaaaaa", "qwertyuiopasdf", "abcdefghijk", "1234567890123"] {
        assert_eq!(code(raw), "too_weak", "{raw:?}");
    }
    let err = check("aaaaaaaaaaaa", &rules()).err().unwrap();
    assert!(err.message.starts_with("is too easy to guess."), "{}", err.message);
    assert!(err.message.contains("Repeats like"), "{}", err.message);
    // zxcvbn is told about the user, so a variant of their name is weak.
    let r = rules();
    let ctx = PasswordContext {
        username: Some("zorblaxian"),
        ..PasswordContext::new(&r)
    };
    assert!(check("naixalbroz", &r).is_ok());
    assert_eq!(Password::parse("naixalbroz", &ctx).err().unwrap().code, "too_weak");
}

#[test]
fn verification_normalises_but_applies_no_policy() {
    assert_eq!(Password::for_verification("a").expose(), "a");
    assert_eq!(Password::for_verification("password").expose(), "password");
    assert_eq!(Password::for_verification("ｐａｓｓ").expose(), "pass");
    assert_eq!(Password::for_verification("").expose(), "");
    for raw in [
        "correct horse battery staple",
        "ﬁve ﬂying ﬁsh over the moon",
        "আমার সোনার বাংলা আমি তোমায় ভালোবাসি",
    ] {
        let set = check(raw, &rules()).unwrap();
        assert_eq!(Password::for_verification(raw).expose(), set.expose());
    }
}

#[test]
fn verification_input_is_bounded() {
    let huge = "ক".repeat(10_000); // 3 bytes each
    let pw = Password::for_verification(&huge);
    assert!(pw.expose().len() <= MAX_BYTES);
    assert!(pw.expose().len() > MAX_BYTES - 4);
    // U+FDFA expands to 18 code points under NFKC: still bounded.
    let expanding = "\u{FDFA}".repeat(1000);
    assert!(Password::for_verification(&expanding).expose().len() <= MAX_BYTES);
}

#[test]
fn never_printed() {
    let pw = check("correct horse battery staple", &rules()).unwrap();
    assert_eq!(format!("{pw:?}"), "Password(REDACTED)");
    assert_eq!(
        format!("{:?}", Password::for_verification("hunter2")),
        "Password(REDACTED)"
    );
}
