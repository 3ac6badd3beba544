//! `gatehouse admin create`: how the first admin comes to exist.

use crate::both;
use crate::common::*;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn admin_create(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["admin", "create"])
        .args(args)
        .current_dir(dir.path())
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn role_in(access: &str) -> String {
    let payload = access.split('.').nth(1).unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["role"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn an_existing_account_is_promoted_and_the_change_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = app.signed_in("boss@example.com").await;
    assert_eq!(role_in(&before.access), "user");
    let out = admin_create(&app, &["--email", "boss@example.com", "--role", "admin"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("role user -> admin"));
    // The old session carried the old role in its tokens: it ended with the change.
    expect_problem(app.me(&before.access).await, 401, "session_revoked").await;
    expect_problem(app.refresh(&before.refresh).await, 401, "session_revoked").await;
    let after = Tokens::from(
        app.login("boss@example.com", PASSWORD)
            .await
            .json::<serde_json::Value>()
            .await
            .unwrap(),
    );
    assert_eq!(role_in(&after.access), "admin");
    let me: serde_json::Value = app.me(&after.access).await.json().await.unwrap();
    let id = uuid::Uuid::parse_str(me["id"].as_str().unwrap()).unwrap();
    let events = app.state.store.audit().for_user(id, 50).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event_type == "role_changed" && e.details.contains("\"to\":\"admin\"")),
        "{events:?}"
    );
}

async fn a_missing_account_is_created_with_a_password_from_stdin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let out = admin_create(
        &app,
        &["--email", "root.admin@example.com", "--password-stdin"],
        Some("an admin passphrase of some length\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = app
        .login("root.admin@example.com", "an admin passphrase of some length")
        .await;
    assert_eq!(r.status(), 200);
    let t = Tokens::from(r.json::<serde_json::Value>().await.unwrap());
    assert_eq!(role_in(&t.access), "admin");
}

async fn unknown_roles_and_missing_accounts_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let out = admin_create(&app, &["--email", "x@example.com", "--role", "emperor"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ROLES"));
    let out = admin_create(&app, &["--email", "nobody@example.com"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password-stdin"));
    let out = admin_create(
        &app,
        &["--email", "weak@example.com", "--password-stdin"],
        Some("password\n"),
    );
    assert!(!out.status.success());
    expect_problem(
        app.login("weak@example.com", "password").await,
        401,
        "invalid_credentials",
    )
    .await;
}

both!(
    an_existing_account_is_promoted_and_the_change_audited,
    a_missing_account_is_created_with_a_password_from_stdin,
    unknown_roles_and_missing_accounts_are_refused,
);
