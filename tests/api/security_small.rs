//! Security review, item 7: the smaller findings, each as an attacker would try it.

use crate::admin_support::{account, admin_post};
use crate::both;
use crate::common::*;
use serde_json::json;
use std::time::Duration as StdDuration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OLD: &str = "rahim@example.com";
const NEW: &str = "rahim.uddin@example.org";
const WRONG: &str = "not the password at all";

fn behind_proxy(c: &mut gatehouse::Config) {
    c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
}

async fn login_from(app: &TestApp, ip: &str, identifier: &str, password: &str) -> reqwest::Response {
    app.send(
        app.client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({ "email": identifier, "password": password })),
    )
    .await
}

async fn an_unlock_link_mailed_to_the_old_address_dies_with_the_address_change(backend: Backend) {
    let app = TestApp::spawn_configured(backend, behind_proxy).await;
    let t = app.signed_in(OLD).await;
    for _ in 0..5 {
        login_from(&app, "198.51.100.7", OLD, WRONG).await;
    }
    let lock_mail = app.mail_to(OLD, 1).await;
    let unlock = link_token(&lock_mail, "/unlock-account");
    let r = app
        .post_json_auth(
            "/api/auth/change-email",
            &t.access,
            &json!({ "new_email": NEW, "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), 202);
    let confirm = link_token(&app.mail_to(NEW, 0).await, "/confirm-email-change");
    let r = app
        .post_json("/api/auth/confirm-email-change", &json!({ "token": confirm }))
        .await;
    assert_eq!(r.status(), 200);
    let r = app.post_json("/api/auth/unlock", &json!({ "token": unlock })).await;
    expect_problem(r, 400, "token_revoked").await;
}

async fn a_reset_link_from_before_an_admin_lock_does_not_change_the_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = account(&app, "admin@example.com", Some("admin")).await;
    let user = account(&app, OLD, None).await;
    let r = app
        .post_json("/api/auth/forgot-password", &json!({ "email": OLD }))
        .await;
    assert_eq!(r.status(), 202);
    let token = reset_token(&app.mail_to(OLD, 1).await);
    let r = admin_post(
        &app,
        &format!("/api/admin/users/{}/lock", user.id),
        &admin.tokens.access,
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let reset = json!({ "token": token, "new_password": "violet tractor sings opera" });
    let r = app.post_json("/api/auth/reset-password", &reset).await;
    expect_problem(r, 403, "account_disabled").await;
    // The password did not change: after the unlock the old one still works.
    let r = admin_post(
        &app,
        &format!("/api/admin/users/{}/unlock", user.id),
        &admin.tokens.access,
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.login(OLD, PASSWORD).await.status(), 200);
}

async fn too_many_wrong_verification_codes_answer_like_an_unknown_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_pending(OLD).await;
    let try_code = |email: &'static str| {
        let app = &app;
        async move {
            app.post_json("/api/auth/verify-email", &json!({ "email": email, "code": "000000" }))
                .await
        }
    };
    for _ in 0..8 {
        let known = expect_problem(try_code(OLD).await, 400, "invalid_code").await;
        let unknown = expect_problem(try_code("nobody@example.com").await, 400, "invalid_code").await;
        assert_eq!(known, unknown);
    }
}

async fn a_username_and_its_address_are_locked_apart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut body = registration(OLD);
    body["username"] = json!("rahim_uddin");
    assert_eq!(app.register(&body).await.status(), 201);
    let token = verification_token(&app.mail_to(OLD, 0).await);
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);
    for _ in 0..5 {
        expect_problem(app.login("rahim_uddin", WRONG).await, 401, "invalid_credentials").await;
    }
    expect_problem(app.login("rahim_uddin", PASSWORD).await, 429, "account_locked").await;
    // Whether the address belongs to the locked username is not observable: it has its own count.
    assert_eq!(app.login(OLD, PASSWORD).await.status(), 200);
    // The owner's unlock link lifts the lock on both names.
    let unlock = link_token(&app.mail_to(OLD, 1).await, "/unlock-account");
    assert_eq!(
        app.post_json("/api/auth/unlock", &json!({ "token": unlock }))
            .await
            .status(),
        200
    );
    assert_eq!(app.login("rahim_uddin", PASSWORD).await.status(), 200);
}

/// Reads until the server closes the connection; `None` if it has not within 10 s.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(StdDuration::from_secs(10), stream.read_to_end(&mut received)).await;
    read.ok().map(|_| String::from_utf8_lossy(&received).into_owned())
}

async fn a_client_that_never_finishes_its_headers_is_disconnected(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.http_header_timeout = chrono::Duration::seconds(1);
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: gatehouse\r\nX-Slow: ")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut stream).await.is_some(),
        "the connection is still open long after HTTP_HEADER_TIMEOUT"
    );
    // Other clients are served as usual.
    assert_eq!(app.get("/health").await.status(), 200);
}

async fn a_body_that_never_arrives_is_answered_408(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.http_request_timeout = chrono::Duration::seconds(1);
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: gatehouse\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream)
        .await
        .expect("the server answers and closes within the request timeout");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
}

async fn a_public_deployment_without_smtp_does_not_start(_backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.arg("migrate")
            .current_dir(dir.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("g.db").display()),
            )
            .env("PUBLIC_URL", "https://auth.example.com")
            .env("RUST_LOG", "error");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no mail provider is set") && stderr.contains("SMTP_URL") && stderr.contains("MAIL_LOG_ONLY"),
        "{stderr}"
    );
    let out = run(&[("MAIL_LOG_ONLY", "true")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

both!(
    an_unlock_link_mailed_to_the_old_address_dies_with_the_address_change,
    a_reset_link_from_before_an_admin_lock_does_not_change_the_password,
    too_many_wrong_verification_codes_answer_like_an_unknown_address,
    a_username_and_its_address_are_locked_apart,
    a_client_that_never_finishes_its_headers_is_disconnected,
    a_body_that_never_arrives_is_answered_408,
);

#[tokio::test]
async fn a_public_deployment_without_smtp_refuses_to_start() {
    a_public_deployment_without_smtp_does_not_start(Backend::Sqlite).await;
}
