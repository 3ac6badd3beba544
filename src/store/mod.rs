//! Storage: one [`Store`] over SQLite or PostgreSQL, its queries written once per area
//! (`users.rs`, `sessions.rs`, ...) and run on either engine through [`engine::on_engine!`];
//! what really differs between the engines is in [`dialect`].
//!
//! Rules every query keeps:
//! - Time is a parameter from the injected clock; no `now()` in SQL.
//! - Once-only state changes (refresh rotation, single-use tokens, outbox claims) are one
//!   conditional statement, never read-then-write.
//! - Only hashes of tokens and codes are stored (SHA-256 hex); passwords only as PHC strings.
//! - Unique violations come back as [`StoreError::Duplicate`] on both engines.
//!
//! A new query goes into its area's file (and, if it returns a new shape, `records.rs`).

mod accounts;
mod audit;
pub mod cache;
mod dialect;
mod email_changes;
mod engine;
mod feed;
mod identities;
mod keys;
mod lockout;
mod mfa;
mod outbox;
mod passkeys;
mod records;
mod rotation;
mod sessions;
mod shared;
mod tokens;
mod users;

pub use accounts::{AccountChange, AccountState, AccountUpdate, Accounts};
pub use audit::{Audit, AuditFilter};
pub use email_changes::{ChangedEmail, EmailChanges};
pub use identities::Identities;
pub use keys::Keys;
pub use lockout::{Lockout, LockoutChange, LoginFailure};
pub use mfa::Mfa;
pub use outbox::Outbox;
pub use passkeys::{CeremonyRecord, NewCeremony, NewPasskey, PasskeyRecord, PasskeyUse, Passkeys};
pub use records::*;
pub use rotation::Successor;
pub use sessions::Sessions;
pub use tokens::Tokens;
pub use users::{UserActivity, UserFilter, Users};

use engine::{on_engine, Db};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique column already holds this value; `.0` names it (`email`, `username`, ...).
    #[error("duplicate value for {0}")]
    Duplicate(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Opens the database named by `url` (`sqlite:` or `postgres://`) without migrating it.
pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Arc<Store>> {
    Ok(Arc::new(Store {
        db: Db::connect(url, max_connections).await?,
    }))
}

/// The database, one accessor per area: `store.users().by_email(..)`, `store.sessions()...`.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

impl Store {
    /// `"postgres"` or `"sqlite"`, for logs and /health.
    pub fn backend(&self) -> &'static str {
        on_engine!(&self.db, |_pool, d| d::NAME)
    }

    /// The in-memory copies of sessions and accounts (see [`cache`]).
    pub fn cache(&self) -> &cache::RowCache {
        &self.db.cache
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        on_engine!(&self.db, |pool, d| d::migrate(pool).await)
    }

    /// Applies migrations over one connection to `direct` (PostgreSQL: a URL past any
    /// transaction-mode pooler, see `DATABASE_DIRECT_URL`), or over the pool without one.
    pub async fn migrate_via(&self, direct: Option<&str>) -> StoreResult<()> {
        match (&self.db.pool, direct) {
            (engine::Pool::Postgres(_), Some(url)) => dialect::postgres::migrate_direct(url).await,
            _ => self.migrate().await,
        }
    }

    pub async fn ping(&self) -> StoreResult<()> {
        on_engine!(&self.db, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
            Ok(())
        })
    }

    /// Accounts: creating (registration, import), finding, listing, profile and password.
    pub fn users(&self) -> Users<'_> {
        Users(&self.db)
    }

    /// Single-use tokens and codes (verification, reset, MFA, exchange, unlock).
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens(&self.db)
    }

    /// Sessions and their refresh-token families.
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions(&self.db)
    }

    /// Signing keys and server secrets.
    pub fn keys(&self) -> Keys<'_> {
        Keys(&self.db)
    }

    /// The mail outbox.
    pub fn outbox(&self) -> Outbox<'_> {
        Outbox(&self.db)
    }

    /// The audit trail.
    pub fn audit(&self) -> Audit<'_> {
        Audit(&self.db)
    }

    /// MFA factors, recovery codes, TOTP replay and failure counts.
    pub fn mfa(&self) -> Mfa<'_> {
        Mfa(&self.db)
    }

    /// Linked provider identities (OAuth / OIDC sign-in).
    pub fn identities(&self) -> Identities<'_> {
        Identities(&self.db)
    }

    /// The failed-login lockout.
    pub fn lockout(&self) -> Lockout<'_> {
        Lockout(&self.db)
    }

    /// Guarded account changes (lock, unlock, role, deletion) and their last-admin rule.
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts(&self.db)
    }

    /// Passkeys (WebAuthn credentials) and their pending ceremonies.
    pub fn passkeys(&self) -> Passkeys<'_> {
        Passkeys(&self.db)
    }

    /// Changes of the sign-in address.
    pub fn email_changes(&self) -> EmailChanges<'_> {
        EmailChanges(&self.db)
    }
}

/// Maps a unique violation to `Duplicate`, naming the column from the constraint or message.
pub(crate) fn map_unique(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.kind() == sqlx::error::ErrorKind::UniqueViolation {
            let text = format!("{} {}", db.constraint().unwrap_or(""), db.message());
            let field = if text.contains("username") {
                "username"
            } else if text.contains("email") {
                "email"
            } else if text.contains("provider") {
                "identity"
            } else {
                "key"
            };
            return StoreError::Duplicate(field);
        }
    }
    StoreError::Database(e)
}
