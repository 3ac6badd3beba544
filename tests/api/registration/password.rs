//! The password policy at registration, and how the password is stored.

use super::{accepted, refused, with};
use crate::both;
use crate::common::*;
use serde_json::json;

/// Deterministic, high-entropy text of `len` characters drawn from `alphabet`.
fn noise_from(alphabet: &str, len: usize) -> String {
    let alphabet: Vec<char> = alphabet.chars().collect();
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            alphabet[(state >> 33) as usize % alphabet.len()]
        })
        .collect()
}

/// ASCII noise, strong enough for zxcvbn.
fn noise(len: usize) -> String {
    noise_from("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%&*+=?", len)
}

/// Bengali consonants (each one code point, unchanged by NFKC): three UTF-8 bytes apiece.
fn bengali_noise(len: usize) -> String {
    noise_from("কখগঘঙচছজঝঞটঠডঢণতথদধনপফবভমযরলশষসহ", len)
}

fn with_password(email: &str, password: &str) -> serde_json::Value {
    with(email, "password", password)
}

async fn password_of_seven_characters_is_too_short(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let problem = refused(
        &app,
        &with_password("rahim@example.com", "xK9#mQ2"),
        "password",
        "too_short",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains('8'), "{problem}");
}

async fn password_of_128_characters_is_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let password = noise(128);
    accepted(&app, &with_password("rahim@example.com", &password)).await;
    let token = verification_token(&app.mail_to("rahim@example.com", 0).await);
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.login("rahim@example.com", &password).await.status(), 200);
    // Never truncated: the first 127 characters are not the password.
    expect_problem(
        app.login("rahim@example.com", &password[..127]).await,
        401,
        "invalid_credentials",
    )
    .await;
    // Counted in characters, not bytes: 128 Bengali letters are 384 bytes.
    accepted(&app, &with_password("karim@example.com", &bengali_noise(128))).await;
}

async fn password_of_129_characters_is_too_long(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    refused(
        &app,
        &with_password("rahim@example.com", &noise(129)),
        "password",
        "too_long",
    )
    .await;
    refused(
        &app,
        &with_password("rahim@example.com", &bengali_noise(129)),
        "password",
        "too_long",
    )
    .await;
    // Far beyond the limit is refused the same way (not a 413 or 500).
    refused(
        &app,
        &with_password("rahim@example.com", &noise(10_000)),
        "password",
        "too_long",
    )
    .await;
}

async fn common_password_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for password in ["password123", "iloveyou", "qwertyuiop", "PassWord123"] {
        refused(
            &app,
            &with_password("rahim@example.com", password),
            "password",
            "common_password",
        )
        .await;
    }
}

async fn common_password_in_full_width_letters_is_still_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // NFKC turns full-width "ｐａｓｓｗｏｒｄ１２３" into "password123".
    let full_width = "ｐａｓｓｗｏｒｄ１２３";
    refused(
        &app,
        &with_password("rahim@example.com", full_width),
        "password",
        "common_password",
    )
    .await;
}

async fn password_containing_the_email_local_part_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut body = with_password("shapla.kuri@example.com", "violet SHAPLA.KURI tractor 42");
    body["first_name"] = json!("Nasrin");
    let problem = refused(&app, &body, "password", "contains_personal_info").await;
    assert!(problem["detail"].as_str().unwrap().contains("email"), "{problem}");
    // A +tag does not hide the local part.
    let body = with_password("shapla+shop@example.com", "violet shapla tractor 42");
    refused(&app, &body, "password", "contains_personal_info").await;
}

async fn password_containing_the_name_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for password in ["violet rahim tractor 42", "violet UDDIN tractor 42"] {
        let problem = refused(
            &app,
            &with_password("someone@example.com", password),
            "password",
            "contains_personal_info",
        )
        .await;
        assert!(problem["detail"].as_str().unwrap().contains("your name"), "{problem}");
    }
}

async fn password_containing_the_username_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut body = with_password("someone@example.com", "violet tiger_lily tractor 42");
    body["username"] = json!("Tiger_Lily");
    let problem = refused(&app, &body, "password", "contains_personal_info").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("your username"),
        "{problem}"
    );
}

async fn weak_password_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for password in ["abcabcabcabc", "aaaaaaaaaaaaaaa", "1234512345123"] {
        let problem = refused(
            &app,
            &with_password("someone@example.com", password),
            "password",
            "too_weak",
        )
        .await;
        assert!(
            problem["detail"].as_str().unwrap().contains("too easy to guess"),
            "{problem}"
        );
    }
}

async fn password_is_compared_after_nfkc_normalisation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Full-width letters and the ideographic space fold to the ASCII password.
    let full_width = "ｃｏｒｒｅｃｔ\u{3000}ｈｏｒｓｅ\u{3000}ｂａｔｔｅｒｙ\u{3000}ｓｔａｐｌｅ";
    app.register_verified("rahim@example.com").await;
    assert_eq!(app.login("rahim@example.com", full_width).await.status(), 200);

    accepted(&app, &with_password("karim@example.com", full_width)).await;
    let token = verification_token(&app.mail_to("karim@example.com", 0).await);
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.login("karim@example.com", PASSWORD).await.status(), 200);
}

async fn composition_is_required_when_enabled(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |cfg| cfg.password_require_composition = true).await;
    let problem = refused(&app, &registration("rahim@example.com"), "password", "composition").await;
    // The spaces are its special characters; it lacks upper case and a digit.
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("upper-case") && detail.contains("digit"), "{detail}");
    assert!(
        !detail.contains("lower-case") && !detail.contains("special"),
        "{detail}"
    );
    refused(
        &app,
        &with_password("rahim@example.com", "Correct horse battery staple!"),
        "password",
        "composition",
    )
    .await;
}

async fn mixed_password_is_accepted_when_composition_is_enabled(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |cfg| cfg.password_require_composition = true).await;
    accepted(
        &app,
        &with_password("rahim@example.com", "Correct horse battery staple 9!"),
    )
    .await;
}

async fn password_is_stored_only_as_an_argon2id_hash(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_pending("rahim@example.com").await;
    let hash = app
        .sql_text(
            "SELECT password_hash FROM users WHERE email_canonical = $1",
            "rahim@example.com",
        )
        .await
        .expect("a password hash");
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(!hash.contains(PASSWORD), "{hash}");
    assert!(!hash.contains("correct"), "{hash}");
    // Salted: the same password hashes differently for another account.
    app.register_pending("karim@example.com").await;
    let other = app
        .sql_text(
            "SELECT password_hash FROM users WHERE email_canonical = $1",
            "karim@example.com",
        )
        .await
        .unwrap();
    assert_ne!(hash, other);
    let leaking = app
        .sql_count(
            "SELECT COUNT(*) FROM users WHERE password_hash LIKE '%' || $1 || '%'",
            "horse battery",
        )
        .await;
    assert_eq!(leaking, 0);
}

both!(
    password_of_seven_characters_is_too_short,
    password_of_128_characters_is_accepted,
    password_of_129_characters_is_too_long,
    common_password_is_refused,
    common_password_in_full_width_letters_is_still_refused,
    password_containing_the_email_local_part_is_refused,
    password_containing_the_name_is_refused,
    password_containing_the_username_is_refused,
    weak_password_is_refused,
    password_is_compared_after_nfkc_normalisation,
    composition_is_required_when_enabled,
    mixed_password_is_accepted_when_composition_is_enabled,
    password_is_stored_only_as_an_argon2id_hash,
);
