//! Security review, item 6: the server's keys are sealed under an operator-supplied
//! key-encryption key, the SQLite file is private to its user, and `gatehouse keys rotate`
//! makes a new signing key while tokens signed by the old one keep working until they expire.

use crate::both;
use crate::common::*;
use base64::Engine;
use gatehouse::auth::key_encryption::{is_sealed, is_sealed_text};
use gatehouse::{Application, Config, Dependencies};
use secrecy::SecretString;
use serde_json::Value;
use std::sync::Arc;

fn kek(byte: u8) -> SecretString {
    SecretString::from(base64::engine::general_purpose::STANDARD.encode([byte; 32]))
}

/// Another instance on `app`'s database with `change` applied to its settings.
async fn restart_with(app: &TestApp, change: impl FnOnce(&mut Config)) -> anyhow::Result<Application> {
    let mut config = (*app.state.config).clone();
    config.bind_addr = ([127, 0, 0, 1], 0).into();
    change(&mut config);
    Application::build(
        config,
        Dependencies {
            clock: Arc::new(app.clock.clone()),
            resolver: None,
        },
    )
    .await
}

async fn every_key_at_rest_is_sealed(app: &TestApp) {
    let store = app.state.store.as_ref();
    for key in store.keys().signing_keys().await.unwrap() {
        assert!(is_sealed_text(&key.private_key), "signing key {} in clear", key.kid);
    }
    let now = gatehouse::clock::Clock::now(&app.clock);
    for name in [
        "refresh_successor_key",
        "code_hash_key",
        "oauth_state_key",
        "rate_limit_key",
        "csrf_key",
    ] {
        let stored = store.keys().get_or_create_secret(name, b"unused", now).await.unwrap();
        assert!(is_sealed(&stored), "{name} in clear");
    }
}

/// Serves `instance` and answers what its `GET /api/auth/me` says to `access`.
async fn me_on(app: &TestApp, instance: Application, access: &str) -> reqwest::StatusCode {
    let base = format!("http://{}", instance.local_addr());
    tokio::spawn(instance.run_until(std::future::pending()));
    let r = app
        .client
        .get(format!("{base}/api/auth/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    r.status()
}

/// The `kid`s `/.well-known/jwks.json` publishes.
async fn published_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

fn kid_of(access: &str) -> String {
    let header = access.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn with_a_key_encryption_key_nothing_secret_is_stored_in_clear(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| c.key_encryption_key = Some(kek(1))).await;
    let t = app.signed_in("rahim@example.com").await;
    assert_eq!(app.me(&t.access).await.status(), 200);
    every_key_at_rest_is_sealed(&app).await;
    // The same key opens them again after a restart: the token still verifies there.
    let again = restart_with(&app, |_| {}).await.unwrap();
    assert_eq!(me_on(&app, again, &t.access).await, 200);
}

async fn a_sealed_database_does_not_start_without_its_key(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| c.key_encryption_key = Some(kek(1))).await;
    let without = restart_with(&app, |c| c.key_encryption_key = None).await.err().unwrap();
    assert!(
        format!("{without:#}").contains("KEY_ENCRYPTION_KEY is not set"),
        "{without:#}"
    );
    let other = restart_with(&app, |c| c.key_encryption_key = Some(kek(2)))
        .await
        .err()
        .unwrap();
    assert!(format!("{other:#}").contains("does not open"), "{other:#}");
    // Changing the key: the old one as KEY_ENCRYPTION_KEY_PREVIOUS, then the new one alone.
    restart_with(&app, |c| {
        c.key_encryption_key = Some(kek(2));
        c.key_encryption_key_previous = Some(kek(1));
    })
    .await
    .unwrap();
    restart_with(&app, |c| c.key_encryption_key = Some(kek(2)))
        .await
        .unwrap();
}

async fn keys_stored_in_clear_are_sealed_when_the_key_is_set(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.signed_in("rahim@example.com").await;
    let key = app.state.store.keys().signing_keys().await.unwrap().remove(0);
    assert!(!is_sealed_text(&key.private_key));
    let sealed = restart_with(&app, |c| c.key_encryption_key = Some(kek(3)))
        .await
        .unwrap();
    every_key_at_rest_is_sealed(&app).await;
    // Same keys, now sealed: tokens issued before still verify.
    assert_eq!(me_on(&app, sealed, &t.access).await, 200);
}

async fn keys_rotate_makes_a_new_signing_key_and_keeps_the_old_one_published(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| c.key_encryption_key = Some(kek(4))).await;
    let before = app.signed_in("rahim@example.com").await;
    let old_kid = kid_of(&before.access);
    let dir = tempfile::tempdir().unwrap();
    let run = |key: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["keys", "rotate"])
            .current_dir(dir.path())
            .env("DATABASE_URL", &app.database_url)
            .env("KEY_ENCRYPTION_KEY", key)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    // With another key-encryption key it refuses (the new key would be sealed differently).
    let wrong = run(&base64::engine::general_purpose::STANDARD.encode([9u8; 32]));
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("does not open"));
    let out = run(&base64::engine::general_purpose::STANDARD.encode([4u8; 32]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("new signing key"));

    // What every instance does within a minute.
    app.state.tokens.keys().reload().await.unwrap();
    let after = Tokens::from(
        app.login("rahim@example.com", PASSWORD)
            .await
            .json::<Value>()
            .await
            .unwrap(),
    );
    let new_kid = kid_of(&after.access);
    assert_ne!(new_kid, old_kid);
    assert_eq!(app.me(&before.access).await.status(), 200, "old tokens still verify");
    let kids = published_kids(&app).await;
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid), "{kids:?}");
    every_key_at_rest_is_sealed(&app).await;

    // Once every token the old key signed has expired, it leaves the JWKS.
    app.advance(app.state.config.access_token_ttl + chrono::Duration::minutes(6));
    app.state.tokens.keys().reload().await.unwrap();
    let kids = published_kids(&app).await;
    assert_eq!(kids, vec![new_kid]);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let path = app.database_url.trim_start_matches("sqlite://").to_string();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{path} is {mode:o}");
    // A file someone left open to all is narrowed at the next start.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    restart_with(&app, |_| {}).await.unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

both!(
    with_a_key_encryption_key_nothing_secret_is_stored_in_clear,
    a_sealed_database_does_not_start_without_its_key,
    keys_stored_in_clear_are_sealed_when_the_key_is_set,
    keys_rotate_makes_a_new_signing_key_and_keeps_the_old_one_published,
);
