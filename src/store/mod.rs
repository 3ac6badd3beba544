//! Storage: one [`Store`] trait that names what the flows need, with a PostgreSQL and a SQLite
//! implementation (decision and trade-offs in `../shared/STYLE.md` §4).
//!
//! Rules every implementation keeps:
//! - Time is a parameter from the injected clock; no `now()` in SQL.
//! - Once-only state changes (refresh rotation, single-use tokens, outbox claims) are one
//!   conditional statement, never read-then-write.
//! - Only hashes of tokens and codes are stored (SHA-256 hex); passwords only as PHC strings.
//! - Unique violations come back as [`StoreError::Duplicate`] on both backends.

mod lockout;
mod postgres;
mod records;
mod sqlite;

pub use lockout::{LockoutChange, LoginFailure};
pub use postgres::PgStore;
pub use records::*;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use uuid::Uuid;

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
pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url, max_connections).await?))
    } else {
        Ok(Arc::new(SqliteStore::connect(url, max_connections).await?))
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `"postgres"` or `"sqlite"`, for logs and /health.
    fn backend(&self) -> &'static str;
    async fn migrate(&self) -> StoreResult<()>;
    async fn ping(&self) -> StoreResult<()>;

    // --- users ---
    async fn create_user(&self, user: &NewUser) -> StoreResult<UserRecord>;
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<UserRecord>>;
    /// Looks up by the canonical (lower-cased) address.
    async fn user_by_email(&self, email_canonical: &str) -> StoreResult<Option<UserRecord>>;
    /// Sets the verified flag; `false` if it was already set (or the user is gone).
    async fn mark_email_verified(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn record_login(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Replaces a hash with an equivalent one (rehash on login); history is not touched.
    async fn update_password_hash(&self, user_id: Uuid, phc: &str, now: DateTime<Utc>) -> StoreResult<()>;

    // --- password changes ---
    /// The user's earlier password hashes, newest first (the current one is in `users`).
    async fn password_history(&self, user_id: Uuid, limit: u32) -> StoreResult<Vec<String>>;
    /// Sets a new password in one transaction: the previous hash moves into the history, which
    /// is then cut to the newest `keep_history` entries; `password_changed_at` is set.
    async fn change_password(
        &self,
        user_id: Uuid,
        new_phc: &str,
        keep_history: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    // --- single-use tokens and codes (verification, reset, ...) ---
    async fn insert_one_time_token(&self, token: &NewOneTimeToken) -> StoreResult<()>;
    async fn one_time_token_by_hash(
        &self,
        purpose: TokenPurpose,
        token_hash: &str,
    ) -> StoreResult<Option<OneTimeTokenRecord>>;
    /// Unused, unrevoked, unexpired tokens of one purpose for one user, newest first.
    async fn live_one_time_tokens(
        &self,
        user_id: Uuid,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<OneTimeTokenRecord>>;
    /// Marks the token used if it is still live; `false` if someone else used it first.
    async fn consume_one_time_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Counts a wrong guess; once `max_attempts` is reached the token is revoked. Returns the new count.
    async fn record_failed_attempt(&self, id: Uuid, max_attempts: u32, now: DateTime<Utc>) -> StoreResult<u32>;
    /// Revokes every live token of these purposes for the user (a new one replaces them).
    async fn revoke_one_time_tokens(
        &self,
        user_id: Uuid,
        purposes: &[TokenPurpose],
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;

    // --- sessions and refresh families ---
    async fn create_session(&self, session: &NewSession, first_token: &NewRefreshToken) -> StoreResult<()>;
    async fn session_by_id(&self, id: Uuid) -> StoreResult<Option<SessionRecord>>;
    /// The user's live (unrevoked, unexpired) sessions, most recently used first.
    async fn live_sessions(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<SessionRecord>>;
    /// Revokes the session and every refresh token of its family.
    async fn revoke_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Revokes all of a user's sessions except `keep`; returns how many were revoked.
    async fn revoke_user_sessions(&self, user_id: Uuid, keep: Option<Uuid>, now: DateTime<Utc>) -> StoreResult<u64>;
    async fn refresh_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenRecord>>;
    /// Atomically marks the presented token used (only if still unused, unrevoked and unexpired)
    /// and inserts its successor in the same family. `None` when the claim lost: the token was
    /// already used, revoked or expired, possibly by a concurrent request.
    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        successor: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RefreshTokenRecord>>;

    // --- keys and server secrets ---
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// Inserts `value` under `name` unless one exists, then returns the stored value, so
    /// instances starting together agree on one secret.
    async fn get_or_create_secret(&self, name: &str, value: &[u8], now: DateTime<Utc>) -> StoreResult<Vec<u8>>;
    /// Rewrites a secret's stored form (sealing it under the key-encryption key); the value
    /// it holds does not change.
    async fn replace_secret(&self, name: &str, value: &[u8]) -> StoreResult<()>;
    /// Rewrites a signing key's stored private half (sealing it); the key does not change.
    async fn replace_signing_private_key(&self, kid: &str, private_key: &str) -> StoreResult<()>;
    /// Retires every active signing key but `keep` (they stay published for verification).
    async fn retire_signing_keys(&self, keep: &str, now: DateTime<Utc>) -> StoreResult<u64>;

    // --- mail outbox ---
    async fn enqueue_mail(&self, mail: &NewMail) -> StoreResult<()>;
    /// Leases the oldest due mail until `lease_until`, so no other worker sends it meanwhile.
    async fn claim_next_mail(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> StoreResult<Option<OutboxMail>>;
    /// Deletes a delivered mail: its body may hold a live link, so it is not kept.
    async fn delete_mail(&self, id: Uuid) -> StoreResult<()>;
    async fn reschedule_mail(&self, id: Uuid, next_attempt_at: DateTime<Utc>, error: &str) -> StoreResult<()>;
    async fn outbox_depth(&self) -> StoreResult<i64>;

    // --- import ---
    /// Inserts users in one transaction, row by row: an address that already has an account is
    /// left as it is (`AlreadyPresent`, which makes a re-run a no-op), a taken username is a
    /// `Conflict`. With `all_or_nothing` the first conflict rolls the whole call back.
    async fn import_users(&self, users: &[NewImportedUser], all_or_nothing: bool) -> StoreResult<Vec<ImportOutcome>>;

    // --- audit ---
    async fn record_audit_event(&self, event: &AuditEvent) -> StoreResult<()>;
    async fn audit_events_for_user(&self, user_id: Uuid, limit: i64) -> StoreResult<Vec<AuditEvent>>;

    // --- issue 8: usernames and profile edits (kept at the end of the trait so parallel work
    // --- adding methods elsewhere merges cleanly) ---
    /// Looks up by the canonical (lower-cased) username.
    async fn user_by_username(&self, username_canonical: &str) -> StoreResult<Option<UserRecord>>;
    /// Applies the fields set in `changes` in one statement; `None` if the user is gone. A
    /// username another account holds (ignoring case) is `Duplicate("username")`.
    async fn update_profile(
        &self,
        user_id: Uuid,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>>;

    // --- mfa ---
    /// Stores a pending factor, replacing an earlier pending one of the same method.
    /// `Duplicate("key")` when that method is already active.
    async fn save_pending_mfa_factor(&self, factor: &NewMfaFactor) -> StoreResult<()>;
    /// Every factor of the user, pending and active.
    async fn mfa_factors(&self, user_id: Uuid) -> StoreResult<Vec<MfaFactorRecord>>;
    /// In one transaction: marks the pending factor active, sets `users.mfa_enabled` and, when
    /// `recovery_hashes` is not empty, replaces the user's recovery codes with them. `false` if the
    /// factor was not pending any more (a concurrent verify won).
    async fn activate_mfa_factor(
        &self,
        factor_id: Uuid,
        user_id: Uuid,
        recovery_hashes: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Replaces every recovery code of the user (used or not) with new ones.
    async fn replace_recovery_codes(&self, user_id: Uuid, hashes: &[String], now: DateTime<Utc>) -> StoreResult<()>;
    /// Spends one unused recovery code; `false` if no unused code has this hash.
    async fn consume_recovery_code(&self, user_id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn unused_recovery_codes(&self, user_id: Uuid) -> StoreResult<i64>;
    /// Removes every factor and recovery code and clears `users.mfa_enabled`.
    async fn disable_mfa(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Records `step` as the last accepted TOTP time step if it is later than the stored one;
    /// `false` means the step (or a later one) was already used: a replay.
    async fn claim_totp_step(&self, user_id: Uuid, step: i64) -> StoreResult<bool>;
    /// Counts a wrong MFA code for the user; on reaching `max` the counter restarts and MFA is
    /// locked until `lock_until`. Returns the lock end if one is (now) in force.
    async fn record_mfa_failure(
        &self,
        user_id: Uuid,
        max: u32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>>;
    async fn clear_mfa_failures(&self, user_id: Uuid) -> StoreResult<()>;
    async fn mfa_locked_until(&self, user_id: Uuid) -> StoreResult<Option<DateTime<Utc>>>;
    /// Sets a session's `amr` and `auth_time` after a step-up, revokes its live refresh tokens
    /// and adds `fresh` as the family's new live token, in one transaction.
    async fn step_up_session(
        &self,
        session_id: Uuid,
        amr: &str,
        auth_time: DateTime<Utc>,
        fresh: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    // --- oauth ---
    /// The user a provider identity (provider, subject) is linked to, if any.
    async fn oauth_account_user(&self, provider: &str, provider_user_id: &str) -> StoreResult<Option<Uuid>>;
    /// Links a provider identity to a user; `Duplicate("identity")` if it is linked already.
    async fn insert_oauth_account(&self, account: &NewOAuthAccount) -> StoreResult<()>;
    async fn oauth_accounts_for_user(&self, user_id: Uuid) -> StoreResult<Vec<OAuthAccountRecord>>;
    /// Unlinks one identity, in one statement, only if the user keeps another way to sign in
    /// (a password or another identity). Returns whether a row was deleted.
    async fn unlink_oauth_account(&self, user_id: Uuid, id: Uuid) -> StoreResult<bool>;

    // --- failed-login lockout ---
    /// Counts one failed sign-in in the subject's per-IP and all-IP rows; says which it locked.
    async fn record_login_failure(&self, failure: &LoginFailure<'_>) -> StoreResult<LockoutChange>;
    /// The end of the lock on `subject` for `ip` (its own or the all-IP one), if still running.
    async fn login_locked_until(
        &self,
        subject: &str,
        ip: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>>;
    /// Forgets the failures and locks of `subject`: from `ip` and over all IPs (a successful
    /// sign-in), or all of them (`None`: the unlock link).
    async fn clear_login_failures(&self, subject: &str, ip: Option<&str>) -> StoreResult<u64>;
    /// Drops rows that neither count recent failures nor hold a lock.
    async fn prune_login_failures(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    // --- issue 5: admin API, audit retention, single session (kept together at the end of the
    // --- trait so parallel work adding methods merges cleanly) ---
    /// One page of the users matching `filter`, newest first (ties broken by id, so pages are
    /// stable), and how many match in all.
    async fn list_users(&self, filter: &UserFilter) -> StoreResult<(Vec<UserRecord>, i64)>;
    /// How many live sessions and linked provider identities the user has.
    async fn user_activity(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<UserActivity>;
    /// In one transaction: disables the account and ends all its sessions and refresh tokens,
    /// unless it is the last active account with one of `admin_roles` (`LastAdmin`).
    async fn lock_user(&self, user_id: Uuid, admin_roles: &[String], now: DateTime<Utc>) -> StoreResult<AccountChange>;
    /// Enables the account again. (`auth::admin::accounts::unlock` also clears the failed-login
    /// lockout, with `clear_login_failures`.)
    async fn unlock_user(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<AccountChange>;
    /// In one transaction: sets the role and, if it changed, ends the account's sessions (their
    /// access tokens carry the old role), unless that would leave no active account with one of
    /// `admin_roles` (`LastAdmin`).
    async fn change_user_role(
        &self,
        user_id: Uuid,
        role: &str,
        admin_roles: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<AccountChange>;
    /// One page of the audit events matching `filter`, newest first, and how many match in all.
    async fn query_audit_events(&self, filter: &AuditFilter) -> StoreResult<(Vec<AuditEvent>, i64)>;
    /// The oldest `limit` audit events that occurred before `cutoff`, oldest first.
    async fn audit_events_before(&self, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<Vec<AuditEvent>>;
    /// Deletes exactly these audit events; returns how many were deleted.
    async fn delete_audit_events(&self, ids: &[Uuid]) -> StoreResult<u64>;
    /// `SINGLE_SESSION`: in one transaction, ends every other session of the user and creates
    /// this one, so two sign-ins racing cannot both stay live. Returns how many were ended.
    async fn create_sole_session(
        &self,
        session: &NewSession,
        first_token: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;

    // --- account changes: the sign-in address (statements in `email_change.rs`), deletion ---
    /// Stores an email-change link together with the address it is for.
    async fn insert_email_change(
        &self,
        token: &NewOneTimeToken,
        new_email: &str,
        new_email_canonical: &str,
    ) -> StoreResult<()>;
    /// Spends a live email-change link and moves its account to the address, in one
    /// transaction: `None` if the link is no longer live, `Duplicate("email")` (link left
    /// unspent) if another account has the address by now.
    async fn confirm_email_change(&self, token_id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<ChangedEmail>>;

    /// Deletes the account (its sessions, tokens, factors and identities with it), unless it is
    /// the last active one holding one of `admin_roles` (`LastAdmin`, nothing written).
    async fn delete_user(
        &self,
        user_id: Uuid,
        admin_roles: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<AccountChange>;

    // --- sign-ins from new devices ---
    /// The `User-Agent` of the user's sessions other than `except`, newest first, ended ones
    /// included (at most `limit`).
    async fn earlier_session_user_agents(
        &self,
        user_id: Uuid,
        except: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<Option<String>>>;
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
