//! Direct reads of the test's database, for the few assertions about stored state that no
//! endpoint shows (how many refresh tokens are live, what the outbox recorded). Statements
//! take no parameters (each test has a fresh database, so a whole-table count is precise), so
//! the same text runs on both backends.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::{Backend, TestApp};

/// The single `BIGINT` (e.g. `COUNT(*)`) a statement returns.
pub async fn scalar(app: &TestApp, sql: &str) -> i64 {
    value(app, sql).await
}

/// The single `TEXT` a statement returns.
pub async fn text(app: &TestApp, sql: &str) -> String {
    value(app, sql).await
}

/// Runs a statement that returns nothing (to break the database under a running app).
pub async fn execute(app: &TestApp, sql: &str) {
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

async fn value<T>(app: &TestApp, sql: &str) -> T
where
    T: Send + Unpin,
    T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            let value = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            value
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let value = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            pool.close().await;
            value
        }
    }
}
