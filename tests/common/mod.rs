//! The black-box harness: every test starts the real server (the same `Application` `main`
//! runs) on 127.0.0.1:0 with a fresh database, an SMTP capture server and an injected clock,
//! and talks to it over HTTP with reqwest.
//!
//! Each test runs on SQLite (a file in a temp dir) and, when `TEST_DATABASE_URL` names a
//! PostgreSQL server, again on PostgreSQL in a freshly created database: see [`both!`].
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod instances;
pub mod mail_apis;
pub mod oidc;
pub mod sentry_standin;
pub mod smtp;
pub mod social;
pub mod sql;

use chrono::Duration;
use gatehouse::clock::TestClock;
use gatehouse::config::EmailDomainCheck;
use gatehouse::dns::{DomainResolver, StaticResolver};
use gatehouse::mail::worker::OutboxWorker;
use gatehouse::{AppState, Application, Config, Dependencies};
use secrecy::SecretString;
use serde_json::{json, Value};
use smtp::{CapturedMail, SmtpCapture};
use std::sync::{Arc, Once};

pub const PUBLIC_URL: &str = "http://gatehouse.test";
pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Polls `done` every few milliseconds until it holds; fails after about ten seconds. For
/// events in other tasks (a worker storing its outcome, a stand-in receiving a request), never
/// for time to pass: time moves with [`TestApp::advance`].
pub async fn eventually(what: &str, done: impl AsyncFn() -> bool) {
    for _ in 0..1000 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Runs a test body once per backend: `both!(name);` after `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! both {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::common::postgres_available() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            }
        }
    )+};
}

/// Whether the PostgreSQL variant should run; with `GATEHOUSE_REQUIRE_POSTGRES=1` (set by
/// `.ci/run`) a missing `TEST_DATABASE_URL` is a failure, not a skip.
pub fn postgres_available() -> bool {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => true,
        _ => {
            if std::env::var("GATEHOUSE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("GATEHOUSE_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set");
            }
            eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL run");
            false
        }
    }
}

/// The subscriber `main` installs: logs with `TEST_LOG` set, and always the Sentry layer, which
/// reports only for an app whose config has a DSN (sentry.rs), through that app's own client.
fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            gatehouse::telemetry::init(gatehouse::config::LogFormat::Pretty, true);
        } else {
            use tracing_subscriber::layer::SubscriberExt;
            use tracing_subscriber::util::SubscriberInitExt;
            let _ = tracing_subscriber::registry()
                .with(gatehouse::telemetry::error_reporting::tracing_layer())
                .try_init();
        }
    });
}

pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    pub client: reqwest::Client,
    pub clock: TestClock,
    pub smtp: SmtpCapture,
    pub state: AppState,
    pub worker: OutboxWorker,
    pub database_url: String,
    /// Sending (or dropping) this starts the server's graceful shutdown.
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The server task: ends once shutdown has finished in-flight requests and mail.
    pub server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

pub struct Options {
    pub configure: Box<dyn FnOnce(&mut Config) + Send>,
    pub resolver: Option<Arc<dyn DomainResolver>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            configure: Box::new(|_| {}),
            resolver: None,
        }
    }
}

/// A fresh database URL for one test.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("gatehouse.db").display()),
        Backend::Postgres => {
            use sqlx::Connection;
            let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
            let name = format!("gatehouse_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, Options::default()).await
    }

    pub async fn spawn_configured(backend: Backend, configure: impl FnOnce(&mut Config) + Send + 'static) -> TestApp {
        Self::spawn_with(
            backend,
            Options {
                configure: Box::new(configure),
                resolver: None,
            },
        )
        .await
    }

    pub async fn spawn_with(backend: Backend, options: Options) -> TestApp {
        init_logs();
        let dir = tempfile::tempdir().unwrap();
        let smtp = SmtpCapture::start().await;
        let database_url = fresh_database(backend, dir.path()).await;
        let mut config = Config {
            bind_addr: ([127, 0, 0, 1], 0).into(),
            database_url: SecretString::from(database_url.clone()),
            database_max_connections: 5,
            public_url: url::Url::parse(PUBLIC_URL).unwrap(),
            smtp_url: Some(SecretString::from(smtp.url())),
            mail_from: "gatehouse <no-reply@gatehouse.test>".into(),
            // Every test talks from 127.0.0.1; seed 004's limits (50 requests a minute per IP)
            // would throttle the suite itself. The rate-limit tests switch on what they test.
            rate_limits: gatehouse::ratelimit::RateLimitSettings::off(),
            // Tests that share a Redis never share counters, unless two instances of one test do.
            redis_key_prefix: format!("gatehouse-test-{}:", uuid::Uuid::new_v4().simple()),
            // Off so that tests counting an address's mails see only the ones they cause; the
            // welcome tests (welcome.rs) switch it on.
            welcome_mail: false,
            ..Config::default()
        };
        (options.configure)(&mut config);
        let resolver = options.resolver.or_else(|| {
            (config.email_domain_check == EmailDomainCheck::Dns).then(|| {
                Arc::new(StaticResolver {
                    accepting: vec!["example.com".into()],
                }) as Arc<dyn DomainResolver>
            })
        });
        let clock = TestClock::starting_now();
        let app = Application::build(
            config,
            Dependencies {
                clock: Arc::new(clock.clone()),
                resolver,
            },
        )
        .await
        .expect("the application starts");
        let base = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        let worker = app.outbox_worker();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            backend,
            base,
            client,
            clock,
            smtp,
            state,
            worker,
            database_url,
            stop: Some(stop),
            server: Some(server),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request; any 5xx answer fails the test on the spot (every 500 is a bug).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let r = request.send().await.unwrap();
        assert!(
            !r.status().is_server_error(),
            "server error {} from {}",
            r.status(),
            r.url()
        );
        r
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn post_json_auth(&self, path: &str, token: &str, body: &Value) -> reqwest::Response {
        self.send(self.client.post(self.url(path)).bearer_auth(token).json(body))
            .await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.send(self.client.get(self.url(path)).bearer_auth(token)).await
    }

    pub async fn register(&self, body: &Value) -> reqwest::Response {
        self.post_json("/api/auth/register", body).await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json("/api/auth/login", &json!({ "email": email, "password": password }))
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post_json("/api/auth/refresh", &json!({ "refresh_token": refresh_token }))
            .await
    }

    pub async fn me(&self, access_token: &str) -> reqwest::Response {
        self.get_auth("/api/auth/me", access_token).await
    }

    /// The `nth` (0-based) mail to `to`, waiting for the background worker to deliver it.
    pub async fn mail_to(&self, to: &str, nth: usize) -> CapturedMail {
        self.state.outbox.wake();
        self.smtp.wait_for_mail_to(to, nth).await
    }

    /// Registers `email` and returns the verification mail.
    pub async fn register_pending(&self, email: &str) -> CapturedMail {
        let before = self.smtp.messages_to(email).len();
        let r = self.register(&registration(email)).await;
        assert_eq!(
            r.status(),
            201,
            "registration of {email} failed: {}",
            r.text().await.unwrap()
        );
        self.mail_to(email, before).await
    }

    /// Registers and verifies `email` (password [`PASSWORD`]).
    pub async fn register_verified(&self, email: &str) {
        let mail = self.register_pending(email).await;
        let token = verification_token(&mail);
        let r = self
            .post_json("/api/auth/verify-email", &json!({ "token": token }))
            .await;
        assert_eq!(r.status(), 200, "verification failed: {}", r.text().await.unwrap());
    }

    /// Registers, verifies and logs in `email`; returns the token pair.
    pub async fn signed_in(&self, email: &str) -> Tokens {
        self.register_verified(email).await;
        let r = self.login(email, PASSWORD).await;
        assert_eq!(r.status(), 200);
        Tokens::from(r.json::<Value>().await.unwrap())
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The first column of the first row of `sql`, read straight from this test's database
    /// (for what the API never shows, such as password hashes). `$1` is bound to `arg` on both
    /// backends; the value is read as text (`CAST(... AS TEXT)` anything else).
    pub async fn sql_text(&self, sql: &str, arg: &str) -> Option<String> {
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.database_url).await.unwrap();
                let value = sqlx::query_scalar::<_, Option<String>>(sql)
                    .bind(arg)
                    .fetch_optional(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                pool.close().await;
                value.flatten()
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.database_url).await.unwrap();
                let value = sqlx::query_scalar::<_, Option<String>>(sql)
                    .bind(arg)
                    .fetch_optional(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                pool.close().await;
                value.flatten()
            }
        }
    }

    /// `SELECT COUNT(*)` style: a whole number from `sql`, `$1` bound to `arg`.
    pub async fn sql_count(&self, sql: &str, arg: &str) -> i64 {
        let text = self
            .sql_text(&format!("SELECT CAST(({sql}) AS TEXT)"), arg)
            .await
            .unwrap_or_else(|| panic!("{sql} gave no value"));
        text.parse().unwrap_or_else(|_| panic!("{sql} gave {text:?}"))
    }
}

#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub body: Value,
}

impl From<Value> for Tokens {
    fn from(body: Value) -> Self {
        Tokens {
            access: body["access_token"].as_str().expect("access_token").to_string(),
            refresh: body["refresh_token"].as_str().expect("refresh_token").to_string(),
            body,
        }
    }
}

/// A registration body that passes every rule.
pub fn registration(email: &str) -> Value {
    json!({
        "first_name": "Rahim",
        "last_name": "Uddin",
        "date_of_birth": "1998-04-17",
        "gender": "male",
        "email": email,
        "mobile": "01712345678",
        "password": PASSWORD,
    })
}

/// The `token` of the link to gatehouse's page `path` (such as `/verify-email`) in `mail`.
pub fn link_token(mail: &CapturedMail, path: &str) -> String {
    let prefix = format!("{PUBLIC_URL}{path}?token=");
    let link = mail
        .link_starting_with(&prefix)
        .unwrap_or_else(|| panic!("no {path} link in {}", mail.text));
    link[prefix.len()..].to_string()
}

/// The link token of a verification mail.
pub fn verification_token(mail: &CapturedMail) -> String {
    link_token(mail, "/verify-email")
}

/// The link token of a password-reset mail.
pub fn reset_token(mail: &CapturedMail) -> String {
    link_token(mail, "/reset-password")
}

/// Asserts a problem+json answer and returns its body.
pub async fn expect_problem(r: reqwest::Response, status: u16, code: &str) -> Value {
    let got = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "expected {status} {code}, got {got}: {body}");
    assert_eq!(ct, "application/problem+json", "content type of {body}");
    assert_eq!(body["code"], code, "problem code in {body}");
    assert_eq!(body["status"], status, "status field in {body}");
    body
}

/// Asserts the 422 a wrong `current_password` gets (and nothing else wrong).
pub async fn expect_invalid_current_password(r: reqwest::Response) {
    let body = expect_problem(r, 422, "validation_failed").await;
    assert_eq!(
        field_errors(&body),
        vec![("current_password".to_string(), "invalid_current_password".to_string())]
    );
}

/// The field errors of a 422, as `(field, code)` pairs.
pub fn field_errors(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or("").to_string(),
                        e["code"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
