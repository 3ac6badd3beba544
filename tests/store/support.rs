//! Opening a fresh store per test, fixed instants, builders for the store's input records and
//! a helper that races tasks against one store.

use crate::common::{self, Backend};
use chrono::{DateTime, Duration, TimeZone, Utc};
use gatehouse::store::{
    AuditEvent, NewMail, NewMfaFactor, NewOAuthAccount, NewOneTimeToken, NewRefreshToken, NewSession, NewUser,
    SigningKeyRecord, Store, TokenPurpose, UserRecord,
};
use std::future::Future;
use std::sync::Arc;
use uuid::Uuid;

/// Connections per test store: enough for the races below to really run side by side.
const MAX_CONNECTIONS: u32 = 10;

/// A fresh, migrated store on `backend`; the directory guard keeps the SQLite file alive.
pub async fn open(backend: Backend) -> (Arc<Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_database(backend, dir.path()).await;
    let store = gatehouse::store::connect(&url, MAX_CONNECTIONS).await.expect("connect");
    store.migrate().await.expect("migrate");
    (store, dir)
}

/// The suite's fixed "now": 2026-01-01T00:00:00Z. Every instant is an offset from it.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// `t0` plus `minutes`.
pub fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

/// A stand-in PHC string (the store never parses it).
pub fn phc(n: u32) -> String {
    format!("$argon2id$v=19$m=19456,t=2,p=1$salt{n}$hash{n}")
}

/// A user with only an address (as typed; the canonical form is its lower case).
pub fn new_user(email: &str) -> NewUser {
    NewUser {
        id: Uuid::new_v4(),
        email: email.to_string(),
        email_canonical: email.to_lowercase(),
        username: None,
        username_canonical: None,
        first_name: Some("Rahim".into()),
        last_name: Some("Uddin".into()),
        date_of_birth: None,
        gender: Some("male".into()),
        mobile: None,
        password_hash: Some(phc(0)),
        role: "user".into(),
        is_email_verified: false,
        created_at: t0(),
    }
}

/// A user with an address and a username (canonical: lower case).
pub fn new_user_named(email: &str, username: &str) -> NewUser {
    NewUser {
        username: Some(username.to_string()),
        username_canonical: Some(username.to_lowercase()),
        ..new_user(email)
    }
}

/// Creates `new_user(email)`.
pub async fn user(store: &Store, email: &str) -> UserRecord {
    store.users().create(&new_user(email)).await.expect("create user")
}

/// Creates a user with `role`.
pub async fn user_with_role(store: &Store, email: &str, role: &str) -> UserRecord {
    let u = NewUser {
        role: role.to_string(),
        ..new_user(email)
    };
    store.users().create(&u).await.expect("create user")
}

/// The admin roles of the account tests.
pub fn admin_roles() -> Vec<String> {
    vec!["admin".to_string(), "owner".to_string()]
}

/// A session of `user_id` started at `created_at`, ending 30 days later.
pub fn new_session(user_id: Uuid, created_at: DateTime<Utc>) -> NewSession {
    NewSession {
        id: Uuid::new_v4(),
        user_id,
        created_at,
        expires_at: created_at + Duration::days(30),
        auth_time: created_at,
        amr: r#"["pwd"]"#.into(),
        ip: Some("192.0.2.1".into()),
        user_agent: Some("agent".into()),
    }
}

/// A refresh token of `session` with hash `hash`, issued at `created_at`, live for a day.
pub fn new_refresh(
    session: &NewSession,
    hash: &str,
    parent_id: Option<Uuid>,
    created_at: DateTime<Utc>,
) -> NewRefreshToken {
    NewRefreshToken {
        id: Uuid::new_v4(),
        session_id: session.id,
        user_id: session.user_id,
        token_hash: hash.to_string(),
        parent_id,
        created_at,
        expires_at: created_at + Duration::days(1),
    }
}

/// Creates a session of `user_id` at `created_at` whose first refresh token has hash `hash`.
pub async fn session(store: &Store, user_id: Uuid, created_at: DateTime<Utc>, hash: &str) -> NewSession {
    let s = new_session(user_id, created_at);
    store
        .sessions()
        .create(&s, &new_refresh(&s, hash, None, created_at))
        .await
        .expect("create session");
    s
}

/// A one-time token of `purpose`, issued at `created_at`, live for an hour.
pub fn new_token(user_id: Uuid, purpose: TokenPurpose, hash: &str, created_at: DateTime<Utc>) -> NewOneTimeToken {
    NewOneTimeToken {
        id: Uuid::new_v4(),
        user_id,
        purpose,
        token_hash: hash.to_string(),
        expires_at: created_at + Duration::hours(1),
        created_at,
    }
}

/// Inserts `new_token(..)` and returns it.
pub async fn token(
    store: &Store,
    user_id: Uuid,
    purpose: TokenPurpose,
    hash: &str,
    created_at: DateTime<Utc>,
) -> NewOneTimeToken {
    let t = new_token(user_id, purpose, hash, created_at);
    store.tokens().insert(&t).await.expect("insert token");
    t
}

/// A mail to `recipient` queued at `created_at`.
pub fn new_mail(recipient: &str, created_at: DateTime<Utc>) -> NewMail {
    NewMail {
        id: Uuid::new_v4(),
        recipient: recipient.to_string(),
        subject: format!("for {recipient}"),
        text_body: "text".into(),
        html_body: "<p>html</p>".into(),
        created_at,
    }
}

/// An audit event of `event_type` at `occurred_at`.
pub fn event(event_type: &str, user_id: Option<Uuid>, outcome: &str, occurred_at: DateTime<Utc>) -> AuditEvent {
    AuditEvent {
        id: Uuid::new_v4(),
        occurred_at,
        event_type: event_type.to_string(),
        user_id,
        ip: Some("192.0.2.7".into()),
        user_agent: Some("agent".into()),
        outcome: outcome.to_string(),
        details: r#"{"k":"v"}"#.into(),
    }
}

/// A second factor of `method` (`totp` gets a stand-in sealed secret).
pub fn new_factor(user_id: Uuid, method: &str, created_at: DateTime<Utc>) -> NewMfaFactor {
    NewMfaFactor {
        id: Uuid::new_v4(),
        user_id,
        method: method.to_string(),
        secret: (method == "totp").then(|| vec![1, 2, 3, 4]),
        created_at,
    }
}

/// A provider identity `provider`/`subject` for `user_id`.
pub fn new_identity(user_id: Uuid, provider: &str, subject: &str, created_at: DateTime<Utc>) -> NewOAuthAccount {
    NewOAuthAccount {
        id: Uuid::new_v4(),
        user_id,
        provider: provider.to_string(),
        provider_user_id: subject.to_string(),
        email: Some(format!("{subject}@{provider}.example")),
        created_at,
    }
}

/// An active signing key `kid` created at `created_at`.
pub fn signing_key(kid: &str, created_at: DateTime<Utc>) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_string(),
        algorithm: "EdDSA".into(),
        private_key: format!("private-{kid}"),
        public_key: format!("public-{kid}"),
        created_at,
        retired_at: None,
    }
}

/// Runs `n` tasks (`task(0)`, ..., `task(n - 1)`) on the runtime's threads, released together
/// by a barrier, and returns their results in task order.
pub async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let work = task(i);
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    futures::future::join_all(handles)
        .await
        .into_iter()
        .map(|r| r.expect("task panicked"))
        .collect()
}

/// How many of `results` are `true`.
pub fn winners(results: &[bool]) -> usize {
    results.iter().filter(|won| **won).count()
}
