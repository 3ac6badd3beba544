//! `DATABASE_DIRECT_URL`: on PostgreSQL behind a transaction-mode pooler (Neon's `-pooler` host,
//! PgBouncer), migrations run over a connection of their own to the direct URL.

use crate::common::*;
use gatehouse::{Application, Dependencies};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_over_the_direct_url() {
    if !postgres_available() {
        return;
    }
    // A fresh database, migrated over the direct URL at start; then served from the pool.
    let app = TestApp::spawn_configured(Backend::Postgres, |c| {
        c.database_direct_url = Some(c.database_url.clone());
    })
    .await;
    app.register_verified("rahim@example.com").await;
    assert_eq!(app.login("rahim@example.com", PASSWORD).await.status(), 200);

    // The direct URL is what migrations use: one naming a missing database stops the start,
    // and the error names the setting, though DATABASE_URL itself is fine.
    let mut config = (*app.state.config).clone();
    config.bind_addr = ([127, 0, 0, 1], 0).into();
    let mut missing = url::Url::parse(config.database_url.expose_secret()).unwrap();
    missing.set_path("/gatehouse_test_no_such_database");
    config.database_direct_url = Some(SecretString::from(missing.to_string()));
    let started = Application::build(
        config,
        Dependencies {
            clock: Arc::new(app.clock.clone()),
            resolver: None,
        },
    )
    .await;
    let error = format!(
        "{:#}",
        started.err().expect("a missing direct database stops the start")
    );
    assert!(error.contains("DATABASE_DIRECT_URL"), "{error}");
}
