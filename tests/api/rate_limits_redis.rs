//! Rate limits through Redis: one limit across instances, memory while Redis is down, Redis
//! again once it answers. Needs `TEST_REDIS_URL` (set by `.ci/run`); the recovery test also
//! starts a `redis-server` of its own on a free port.

use crate::both;
use crate::common::*;
use chrono::Duration;
use gatehouse::ratelimit::{Rate, RateLimitSettings};
use secrecy::SecretString;
use serde_json::Value;

fn redis_url() -> Option<String> {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var("GATEHOUSE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("GATEHOUSE_REQUIRE_POSTGRES=1 (CI) but TEST_REDIS_URL is not set");
            }
            eprintln!("TEST_REDIS_URL is not set: skipping a Redis test");
            None
        }
    }
}

fn register_limit(limit: u32) -> RateLimitSettings {
    RateLimitSettings {
        register: Some(Rate::per_minute(limit)),
        ..RateLimitSettings::off()
    }
}

async fn register(base: &str, app: &TestApp, email: &str) -> reqwest::Response {
    app.send(
        app.client
            .post(format!("{base}/api/auth/register"))
            .json(&registration(email)),
    )
    .await
}

async fn health(app: &TestApp) -> Value {
    app.get("/health").await.json().await.unwrap()
}

async fn two_instances_sharing_redis_enforce_one_limit(backend: Backend) {
    let Some(url) = redis_url() else { return };
    let app = TestApp::spawn_configured(backend, move |c| {
        c.redis_url = Some(SecretString::from(url));
        c.rate_limits = register_limit(3);
    })
    .await;
    let second = app.second_instance().await;
    assert_eq!(health(&app).await["rate_limits"], "redis");
    assert_eq!(register(&app.base, &app, "a@example.com").await.status(), 201);
    assert_eq!(register(&second.base, &app, "b@example.com").await.status(), 201);
    assert_eq!(register(&app.base, &app, "c@example.com").await.status(), 201);
    // The fourth, on either instance, is over the one shared limit.
    let r = register(&second.base, &app, "d@example.com").await;
    expect_problem(r, 429, "rate_limited").await;
    let r = register(&app.base, &app, "d@example.com").await;
    expect_problem(r, 429, "rate_limited").await;
    let ready: Value = app.get("/ready").await.json().await.unwrap();
    assert_eq!(ready["redis"], "ok", "{ready}");
}

/// A port nothing listens on (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn limits_fall_back_to_memory_while_redis_is_down(backend: Backend) {
    let port = free_port();
    let app = TestApp::spawn_configured(backend, move |c| {
        c.redis_url = Some(SecretString::from(format!("redis://127.0.0.1:{port}")));
        c.rate_limits = register_limit(2);
    })
    .await;
    let h = health(&app).await;
    assert_eq!(h["rate_limits"], "memory_fallback", "{h}");
    assert_eq!(h["status"], "degraded", "{h}");
    let ready: Value = app.get("/ready").await.json().await.unwrap();
    assert_eq!(ready["redis"], "down", "{ready}");
    // Limits still hold, counted by this instance.
    assert_eq!(register(&app.base, &app, "a@example.com").await.status(), 201);
    assert_eq!(register(&app.base, &app, "b@example.com").await.status(), 201);
    expect_problem(register(&app.base, &app, "c@example.com").await, 429, "rate_limited").await;
}

/// A private `redis-server` for the recovery test, stopped when dropped.
struct OwnRedis(std::process::Child);

impl OwnRedis {
    fn start(port: u16) -> Option<OwnRedis> {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn();
        match child {
            Ok(child) => Some(OwnRedis(child)),
            Err(e) if std::env::var("GATEHOUSE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
                panic!("redis-server could not be started: {e}")
            }
            Err(e) => {
                eprintln!("redis-server could not be started ({e}): skipping");
                None
            }
        }
    }

    /// Waits until the server accepts connections (a start-up, not the passing of time).
    async fn wait_until_listening(&self, port: u16) {
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("redis-server did not start listening on {port}");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn redis_is_used_again_once_it_answers(backend: Backend) {
    if redis_url().is_none() {
        return;
    }
    let port = free_port();
    let app = TestApp::spawn_configured(backend, move |c| {
        c.redis_url = Some(SecretString::from(format!("redis://127.0.0.1:{port}")));
        c.rate_limits = register_limit(10);
    })
    .await;
    assert_eq!(health(&app).await["rate_limits"], "memory_fallback");
    let Some(server) = OwnRedis::start(port) else { return };
    server.wait_until_listening(port).await;
    // Reconnection is tried every few seconds of gatehouse's clock.
    app.advance(Duration::seconds(6));
    assert_eq!(register(&app.base, &app, "a@example.com").await.status(), 201);
    assert_eq!(health(&app).await["rate_limits"], "redis");
    // And when it goes away again, the next request notices and falls back.
    drop(server);
    assert_eq!(register(&app.base, &app, "b@example.com").await.status(), 201);
    assert_eq!(health(&app).await["rate_limits"], "memory_fallback");
}

both!(
    two_instances_sharing_redis_enforce_one_limit,
    limits_fall_back_to_memory_while_redis_is_down,
    redis_is_used_again_once_it_answers,
);
