//! Users moved over from another system keep their passwords: each hash format of
//! `tests/fixtures/legacy_hashes.json` (made by passlib / Python bcrypt, see its script) logs in
//! with the old password and is replaced by gatehouse's Argon2id; wrong passwords and refused
//! formats fail exactly like an unknown account.

use crate::both;
use crate::common::*;
use gatehouse::store::NewUser;
use serde_json::Value;

const CURRENT_ARGON2: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

struct Fixture {
    scheme: Option<String>,
    source: String,
    password: String,
    hash: String,
}

fn fixtures() -> Vec<Fixture> {
    let all: Value = serde_json::from_str(include_str!("../fixtures/legacy_hashes.json")).unwrap();
    all["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Fixture {
            scheme: f["scheme"].as_str().map(str::to_string),
            source: f["source"].as_str().unwrap().to_string(),
            password: f["password"].as_str().unwrap().to_string(),
            hash: f["hash"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// Inserts a verified account holding `hash`, as an import would.
pub async fn insert_user_with_hash(app: &TestApp, email: &str, hash: &str) {
    let now = app.state.now();
    app.state
        .store
        .users()
        .create(&NewUser {
            id: uuid::Uuid::new_v4(),
            email: email.to_string(),
            email_canonical: email.to_string(),
            username: None,
            username_canonical: None,
            first_name: Some("Legacy".into()),
            last_name: Some("User".into()),
            date_of_birth: None,
            gender: None,
            mobile: None,
            password_hash: Some(hash.to_string()),
            role: "user".into(),
            is_email_verified: true,
            created_at: now,
        })
        .await
        .unwrap();
}

async fn stored_hash(app: &TestApp, email: &str) -> String {
    app.state
        .store
        .users()
        .by_email(email)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap()
}

async fn body_of(r: reqwest::Response, status: u16) -> Value {
    expect_problem(r, status, "invalid_credentials").await
}

async fn every_legacy_format_logs_in_and_is_upgraded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let unknown = body_of(app.login("nobody@example.com", "whatever it is").await, 401).await;
    let supported: Vec<_> = fixtures().into_iter().filter(|f| f.scheme.is_some()).collect();
    assert!(supported.len() >= 10);
    for (i, f) in supported.iter().enumerate() {
        let email = format!("legacy{i}@example.com");
        insert_user_with_hash(&app, &email, &f.hash).await;

        // A wrong password: the very answer an unknown address gets, and nothing is changed.
        let wrong = body_of(app.login(&email, "not the old password").await, 401).await;
        assert_eq!(wrong, unknown, "{}", f.source);
        assert_eq!(stored_hash(&app, &email).await, f.hash, "{}", f.source);

        // The old password works and the hash becomes gatehouse's Argon2id.
        let r = app.login(&email, &f.password).await;
        assert_eq!(r.status(), 200, "{}: {}", f.source, r.text().await.unwrap());
        let upgraded = stored_hash(&app, &email).await;
        assert!(upgraded.starts_with(CURRENT_ARGON2), "{}: {upgraded}", f.source);

        // ... and keeps working against the new hash.
        let r = app.login(&email, &f.password).await;
        assert_eq!(r.status(), 200, "{} after the upgrade", f.source);
        assert_eq!(
            stored_hash(&app, &email).await,
            upgraded,
            "{}: rehashed twice",
            f.source
        );
        let wrong = body_of(app.login(&email, "not the old password").await, 401).await;
        assert_eq!(wrong, unknown, "{} after the upgrade", f.source);
    }
}

async fn refused_formats_never_log_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let unknown = body_of(app.login("nobody@example.com", "whatever it is").await, 401).await;
    let refused: Vec<_> = fixtures().into_iter().filter(|f| f.scheme.is_none()).collect();
    assert!(!refused.is_empty());
    for (i, f) in refused.iter().enumerate() {
        let email = format!("refused{i}@example.com");
        insert_user_with_hash(&app, &email, &f.hash).await;
        // Even the right password (and, for the plaintext row, the stored text itself).
        let body = body_of(app.login(&email, &f.password).await, 401).await;
        assert_eq!(body, unknown, "{}", f.source);
        assert_eq!(stored_hash(&app, &email).await, f.hash, "{}", f.source);
    }
}

async fn a_bcrypt_password_over_72_bytes_logs_in_whole(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = fixtures()
        .into_iter()
        .find(|f| f.scheme.as_deref() == Some("bcrypt") && f.password.len() > 72)
        .unwrap();
    insert_user_with_hash(&app, "long@example.com", &f.hash).await;
    assert_eq!(app.login("long@example.com", &f.password).await.status(), 200);
    // After the upgrade every byte counts: the 72-byte prefix that bcrypt accepted no longer does.
    let prefix = std::str::from_utf8(&f.password.as_bytes()[..72]).unwrap();
    expect_problem(app.login("long@example.com", prefix).await, 401, "invalid_credentials").await;
    assert_eq!(app.login("long@example.com", &f.password).await.status(), 200);
}

both!(
    every_legacy_format_logs_in_and_is_upgraded,
    refused_formats_never_log_in,
    a_bcrypt_password_over_72_bytes_logs_in_whole
);
