//! Everything that differs between SQLite and PostgreSQL, in one place. Each engine's module
//! has the same items with the same signatures, so code written once in an
//! [`on_engine!`](super::engine::on_engine) block uses `d::ITEM` and gets its engine's version.
//!
//! The differences, one comment each below:
//! - connection settings and migrations;
//! - the order of password-history rows (a sequence column vs SQLite's `rowid`);
//! - the outbox claim (`FOR UPDATE SKIP LOCKED` has no SQLite counterpart);
//! - how a guarded change serialises (advisory and row locks vs SQLite's single writer);
//! - the user-row share lock a rotation or step-up takes first (PostgreSQL's lock order);
//! - a refresh rotation (one script on SQLite, locked statements on PostgreSQL: `rotation`).

/// Statements shared by both modules: the `$N` placeholders work on both drivers.
const ADMIN_CHANGE_TOUCH: &str = "UPDATE users SET updated_at = $2 WHERE id = $1";

pub(crate) mod sqlite {
    use crate::store::AccountState;
    use crate::store::StoreResult;
    use chrono::{DateTime, Utc};
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
    use sqlx::{Sqlite, SqlitePool, Transaction};
    use std::str::FromStr;
    use uuid::Uuid;

    pub(crate) use crate::store::rotation::sqlite::rotate;

    /// WAL mode and a busy timeout let concurrent requests queue for the single writer instead
    /// of failing; foreign keys are switched on per connection (SQLite's default is off). A
    /// connection to a local file does not go stale, so it is not pinged before each use: the
    /// ping is a round trip to the connection's own thread, a sixth of a refresh's.
    pub(crate) async fn connect(url: &str, max_connections: u32) -> Result<SqlitePool, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(10))
            .foreign_keys(true);
        restrict_file(options.get_filename()).map_err(sqlx::Error::Io)?;
        SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(15))
            .test_before_acquire(false)
            .connect_with(options)
            .await
    }

    pub(crate) async fn migrate(pool: &SqlitePool) -> StoreResult<()> {
        sqlx::migrate!("migrations/sqlite").run(pool).await?;
        Ok(())
    }

    pub(crate) type Engine = Sqlite;
    pub(crate) const NAME: &str = "sqlite";

    /// `password_history` has no sequence column here: `rowid` grows with every insert.
    pub(crate) const HISTORY_NEWEST_FIRST: &str = "rowid DESC";

    /// One writer at a time: the UPDATE's write lock already keeps two workers apart, so the
    /// subquery needs no row lock.
    pub(crate) const CLAIM_LOCK: &str = "";

    /// SQLite has one writer. Hot write transactions (refresh rotation) queue for it here, in
    /// process, instead of at the database file, where a waiting connection polls with sleeps
    /// of up to 100 ms (the busy handler): under load that was most of a rotation's latency.
    pub(crate) async fn one_writer() -> tokio::sync::MutexGuard<'static, ()> {
        static WRITER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        WRITER.lock().await
    }

    /// Guarded changes write first: the transaction then holds the database's one write lock,
    /// so the "is this the last admin?" check cannot race another change. `None`: no such user.
    pub(crate) async fn lock_account(
        tx: &mut Transaction<'_, Sqlite>,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AccountState>> {
        let touched = sqlx::query(super::ADMIN_CHANGE_TOUCH)
            .bind(user_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        if touched.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(
            sqlx::query_as("SELECT role, is_active FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(&mut **tx)
                .await?,
        ))
    }

    /// Makes changes to one user's rows take turns (`SINGLE_SESSION` sign-ins, unlinking an
    /// identity, saving a pending factor). Nothing to do here: the transaction's first write
    /// takes the database's one write lock, so two racing changes already take turns.
    pub(crate) async fn lock_user_row(_tx: &mut Transaction<'_, Sqlite>, _user_id: Uuid) -> StoreResult<()> {
        Ok(())
    }

    /// A step-up shares its user's row first on PostgreSQL; nothing to do here (one writer).
    pub(crate) async fn share_session_owner(_tx: &mut Transaction<'_, Sqlite>, _session_id: Uuid) -> StoreResult<()> {
        Ok(())
    }

    /// The database file holds password hashes and (without `KEY_ENCRYPTION_KEY`) the server's
    /// keys: it is created readable by this user only (0600), and a file left readable by others
    /// is narrowed to that. SQLite gives its `-wal` and `-shm` files the same mode.
    fn restrict_file(path: &std::path::Path) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            if path.as_os_str().is_empty() || path.to_string_lossy().starts_with(':') {
                return Ok(()); // in memory
            }
            match std::fs::metadata(path) {
                Ok(meta) => {
                    if meta.permissions().mode() & 0o077 != 0 {
                        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
                        tracing::warn!(path = %path.display(), "the database file was readable by other users; it is 0600 now");
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(path)?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

pub(crate) mod postgres {
    use crate::store::AccountState;
    use crate::store::StoreResult;
    use chrono::{DateTime, Utc};
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use sqlx::{PgPool, Postgres, Transaction};
    use std::str::FromStr;
    use uuid::Uuid;

    pub(crate) use crate::store::rotation::postgres::rotate;

    /// TLS goes through rustls (`sslmode=require` in the URL works for Neon); the application
    /// name shows gatehouse's connections in `pg_stat_activity`.
    pub(crate) async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
        let options = PgConnectOptions::from_str(url)?.application_name("gatehouse");
        PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(options)
            .await
    }

    pub(crate) async fn migrate(pool: &PgPool) -> StoreResult<()> {
        sqlx::migrate!("migrations/postgres").run(pool).await?;
        Ok(())
    }

    /// Migrations over one connection of its own, closed afterwards.
    pub(crate) async fn migrate_direct(url: &str) -> StoreResult<()> {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::migrate!("migrations/postgres").run(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }

    pub(crate) type Engine = Postgres;
    pub(crate) const NAME: &str = "postgres";

    /// `password_history.seq` is a sequence: insertion order, even for rows of the same instant.
    pub(crate) const HISTORY_NEWEST_FIRST: &str = "seq DESC";

    /// Several instances claim at once: `SKIP LOCKED` hands each worker a different mail instead
    /// of making them queue for the same row.
    pub(crate) const CLAIM_LOCK: &str = "FOR UPDATE SKIP LOCKED";

    /// Key of the advisory lock that serialises changes which could remove the last admin.
    const ADMIN_CHANGE_LOCK: i64 = 0x6761_7465_0005;

    /// Under READ COMMITTED two admins demoting each other at once would each still see the
    /// other as an admin and both succeed, leaving none. One transaction-scoped advisory lock
    /// makes the second wait and then see the first. `None`: no such user.
    pub(crate) async fn lock_account(
        tx: &mut Transaction<'_, Postgres>,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AccountState>> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ADMIN_CHANGE_LOCK)
            .execute(&mut **tx)
            .await?;
        let previous = sqlx::query_as("SELECT role, is_active FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
        if previous.is_some() {
            sqlx::query(super::ADMIN_CHANGE_TOUCH)
                .bind(user_id)
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        Ok(previous)
    }

    /// Makes changes to one user's rows take turns (`SINGLE_SESSION` sign-ins, unlinking an
    /// identity, saving a pending factor): the user's row lock makes the second wait, and its
    /// next statement then sees what the first wrote (the session to end, the identity gone).
    pub(crate) async fn lock_user_row(tx: &mut Transaction<'_, Postgres>, user_id: Uuid) -> StoreResult<()> {
        sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Locks are taken user row, then session row, then its refresh tokens. Account changes
    /// (lock, role, deletion, `SINGLE_SESSION`) take the user row `FOR UPDATE` and then end the
    /// sessions; a rotation or step-up inserts a refresh token, whose foreign key needs a
    /// `KEY SHARE` lock on that same user row. Taking the share lock first, before the session
    /// row, makes the two queue at the user row instead of deadlocking, each holding what the
    /// other waits for. (Rotations and step-ups share it: they queue at the session row.)
    pub(crate) async fn share_token_owner(tx: &mut Transaction<'_, Postgres>, token_hash: &str) -> StoreResult<()> {
        sqlx::query(
            "SELECT 1 FROM users WHERE id = (SELECT user_id FROM refresh_tokens WHERE token_hash = $1) FOR KEY SHARE",
        )
        .bind(token_hash)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// As [`share_token_owner`], for a step-up that names the session.
    pub(crate) async fn share_session_owner(tx: &mut Transaction<'_, Postgres>, session_id: Uuid) -> StoreResult<()> {
        sqlx::query("SELECT 1 FROM users WHERE id = (SELECT user_id FROM sessions WHERE id = $1) FOR KEY SHARE")
            .bind(session_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
