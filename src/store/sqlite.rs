//! SQLite backend: the embedded default. WAL mode and a busy timeout let concurrent requests
//! queue for the single writer instead of failing; foreign keys are switched on per connection.

use super::*;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;

pub struct SqliteStore {
    pool: SqlitePool,
}

const USER_COLUMNS: &str = "id, email, email_canonical, username, first_name, last_name, date_of_birth, gender, mobile, \
    password_hash, role, is_active, is_email_verified, mfa_enabled, created_at, updated_at, last_login, email_verified_at";
/// The one INSERT of a user (registration and import), bound by `bind_new_user!`.
const INSERT_USER: &str = "INSERT INTO users (id, email, email_canonical, username, username_canonical, first_name, \
    last_name, date_of_birth, gender, mobile, password_hash, role, is_email_verified, email_verified_at, created_at, updated_at) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, CASE WHEN ?13 THEN ?14 END, ?14, ?14)";

macro_rules! bind_new_user {
    ($query:expr, $u:expr) => {
        $query
            .bind($u.id)
            .bind(&$u.email)
            .bind(&$u.email_canonical)
            .bind(&$u.username)
            .bind(&$u.username_canonical)
            .bind(&$u.first_name)
            .bind(&$u.last_name)
            .bind($u.date_of_birth)
            .bind(&$u.gender)
            .bind(&$u.mobile)
            .bind(&$u.password_hash)
            .bind(&$u.role)
            .bind($u.is_email_verified)
            .bind($u.created_at)
    };
}

// Statements by area; declared after `bind_new_user!` so they can use it.
mod admin;
mod email_change;
mod mfa;
mod oauth;
mod one_time_tokens;
mod outbox;
mod sessions;
mod users;

const TOKEN_COLUMNS: &str = "id, user_id, token_hash, expires_at, created_at, used_at, revoked_at, attempts";
const SESSION_COLUMNS: &str =
    "id, user_id, created_at, last_used_at, expires_at, revoked_at, auth_time, amr, ip, user_agent";
const REFRESH_COLUMNS: &str =
    "id, session_id, user_id, token_hash, parent_id, created_at, expires_at, used_at, revoked_at";

impl SqliteStore {
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(10))
            .foreign_keys(true);
        restrict_file(options.get_filename()).map_err(sqlx::Error::Io)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(15))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// The database file holds password hashes and (without `KEY_ENCRYPTION_KEY`) the server's keys:
/// it is created readable by this user only (0600), and a file left readable by others is
/// narrowed to that. SQLite gives its `-wal` and `-shm` files the same mode.
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

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/sqlite").run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_user(&self, u: &NewUser) -> StoreResult<UserRecord> {
        users::create_user(&self.pool, u).await
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<UserRecord>> {
        users::user_by_id(&self.pool, id).await
    }

    async fn user_by_email(&self, email_canonical: &str) -> StoreResult<Option<UserRecord>> {
        users::user_by_email(&self.pool, email_canonical).await
    }

    async fn mark_email_verified(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        users::mark_email_verified(&self.pool, user_id, now).await
    }

    async fn record_login(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        users::record_login(&self.pool, user_id, now).await
    }

    async fn update_password_hash(&self, user_id: Uuid, phc: &str, now: DateTime<Utc>) -> StoreResult<()> {
        users::update_password_hash(&self.pool, user_id, phc, now).await
    }

    async fn password_history(&self, user_id: Uuid, limit: u32) -> StoreResult<Vec<String>> {
        users::password_history(&self.pool, user_id, limit).await
    }

    async fn change_password(
        &self,
        user_id: Uuid,
        new_phc: &str,
        keep_history: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        users::change_password(&self.pool, user_id, new_phc, keep_history, now).await
    }

    async fn insert_one_time_token(&self, t: &NewOneTimeToken) -> StoreResult<()> {
        one_time_tokens::insert_one_time_token(&self.pool, t).await
    }

    async fn one_time_token_by_hash(
        &self,
        purpose: TokenPurpose,
        token_hash: &str,
    ) -> StoreResult<Option<OneTimeTokenRecord>> {
        one_time_tokens::one_time_token_by_hash(&self.pool, purpose, token_hash).await
    }

    async fn live_one_time_tokens(
        &self,
        user_id: Uuid,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<OneTimeTokenRecord>> {
        one_time_tokens::live_one_time_tokens(&self.pool, user_id, purpose, now).await
    }

    async fn consume_one_time_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        one_time_tokens::consume_one_time_token(&self.pool, id, now).await
    }

    async fn record_failed_attempt(&self, id: Uuid, max_attempts: u32, now: DateTime<Utc>) -> StoreResult<u32> {
        one_time_tokens::record_failed_attempt(&self.pool, id, max_attempts, now).await
    }

    async fn revoke_one_time_tokens(
        &self,
        user_id: Uuid,
        purposes: &[TokenPurpose],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        one_time_tokens::revoke_one_time_tokens(&self.pool, user_id, purposes, now).await
    }

    async fn create_session(&self, s: &NewSession, first: &NewRefreshToken) -> StoreResult<()> {
        sessions::create_session(&self.pool, s, first).await
    }

    async fn session_by_id(&self, id: Uuid) -> StoreResult<Option<SessionRecord>> {
        sessions::session_by_id(&self.pool, id).await
    }

    async fn live_sessions(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<SessionRecord>> {
        sessions::live_sessions(&self.pool, user_id, now).await
    }

    async fn revoke_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        sessions::revoke_session(&self.pool, id, now).await
    }

    async fn revoke_user_sessions(&self, user_id: Uuid, keep: Option<Uuid>, now: DateTime<Utc>) -> StoreResult<u64> {
        sessions::revoke_user_sessions(&self.pool, user_id, keep, now).await
    }

    async fn refresh_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenRecord>> {
        sessions::refresh_token_by_hash(&self.pool, token_hash).await
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        successor: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        sessions::rotate_refresh_token(&self.pool, presented_hash, successor, now).await
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        Ok(sqlx::query_as(
            "SELECT kid, algorithm, private_key, public_key, created_at, retired_at FROM signing_keys ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, private_key, public_key, created_at, retired_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(&k.kid)
        .bind(&k.algorithm)
        .bind(&k.private_key)
        .bind(&k.public_key)
        .bind(k.created_at)
        .bind(k.retired_at)
        .execute(&self.pool)
        .await
        .map_err(map_unique)?;
        Ok(())
    }

    async fn get_or_create_secret(&self, name: &str, value: &[u8], now: DateTime<Utc>) -> StoreResult<Vec<u8>> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = ?1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn replace_secret(&self, name: &str, value: &[u8]) -> StoreResult<()> {
        sqlx::query("UPDATE server_secrets SET value = ?2 WHERE name = ?1")
            .bind(name)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn replace_signing_private_key(&self, kid: &str, private_key: &str) -> StoreResult<()> {
        sqlx::query("UPDATE signing_keys SET private_key = ?2 WHERE kid = ?1")
            .bind(kid)
            .bind(private_key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn retire_signing_keys(&self, keep: &str, now: DateTime<Utc>) -> StoreResult<u64> {
        let r = sqlx::query("UPDATE signing_keys SET retired_at = ?2 WHERE kid <> ?1 AND retired_at IS NULL")
            .bind(keep)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn enqueue_mail(&self, m: &NewMail) -> StoreResult<()> {
        outbox::enqueue_mail(&self.pool, m).await
    }

    async fn claim_next_mail(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> StoreResult<Option<OutboxMail>> {
        outbox::claim_next_mail(&self.pool, now, lease_until).await
    }

    async fn delete_mail(&self, id: Uuid) -> StoreResult<()> {
        outbox::delete_mail(&self.pool, id).await
    }

    async fn reschedule_mail(&self, id: Uuid, next_attempt_at: DateTime<Utc>, error: &str) -> StoreResult<()> {
        outbox::reschedule_mail(&self.pool, id, next_attempt_at, error).await
    }

    async fn outbox_depth(&self) -> StoreResult<i64> {
        outbox::outbox_depth(&self.pool).await
    }

    async fn import_users(&self, users: &[NewImportedUser], all_or_nothing: bool) -> StoreResult<Vec<ImportOutcome>> {
        users::import_users(&self.pool, users, all_or_nothing).await
    }

    async fn record_audit_event(&self, e: &AuditEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (id, occurred_at, event_type, user_id, ip, user_agent, outcome, details) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(e.id)
        .bind(e.occurred_at)
        .bind(&e.event_type)
        .bind(e.user_id)
        .bind(&e.ip)
        .bind(&e.user_agent)
        .bind(&e.outcome)
        .bind(&e.details)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit_events_for_user(&self, user_id: Uuid, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        Ok(sqlx::query_as(
            "SELECT id, occurred_at, event_type, user_id, ip, user_agent, outcome, details FROM audit_events \
             WHERE user_id = ?1 ORDER BY occurred_at DESC, id LIMIT ?2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn user_by_username(&self, username_canonical: &str) -> StoreResult<Option<UserRecord>> {
        users::user_by_username(&self.pool, username_canonical).await
    }

    async fn update_profile(
        &self,
        user_id: Uuid,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>> {
        users::update_profile(&self.pool, user_id, changes, now).await
    }

    // --- mfa ---

    async fn save_pending_mfa_factor(&self, f: &NewMfaFactor) -> StoreResult<()> {
        mfa::save_pending_mfa_factor(&self.pool, f).await
    }

    async fn mfa_factors(&self, user_id: Uuid) -> StoreResult<Vec<MfaFactorRecord>> {
        mfa::mfa_factors(&self.pool, user_id).await
    }

    async fn activate_mfa_factor(
        &self,
        factor_id: Uuid,
        user_id: Uuid,
        recovery_hashes: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        mfa::activate_mfa_factor(&self.pool, factor_id, user_id, recovery_hashes, now).await
    }

    async fn replace_recovery_codes(&self, user_id: Uuid, hashes: &[String], now: DateTime<Utc>) -> StoreResult<()> {
        mfa::replace_recovery_codes(&self.pool, user_id, hashes, now).await
    }

    async fn consume_recovery_code(&self, user_id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        mfa::consume_recovery_code(&self.pool, user_id, hash, now).await
    }

    async fn unused_recovery_codes(&self, user_id: Uuid) -> StoreResult<i64> {
        mfa::unused_recovery_codes(&self.pool, user_id).await
    }

    async fn disable_mfa(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        mfa::disable_mfa(&self.pool, user_id, now).await
    }

    async fn claim_totp_step(&self, user_id: Uuid, step: i64) -> StoreResult<bool> {
        mfa::claim_totp_step(&self.pool, user_id, step).await
    }

    async fn record_mfa_failure(
        &self,
        user_id: Uuid,
        max: u32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        mfa::record_mfa_failure(&self.pool, user_id, max, lock_until).await
    }

    async fn clear_mfa_failures(&self, user_id: Uuid) -> StoreResult<()> {
        mfa::clear_mfa_failures(&self.pool, user_id).await
    }

    async fn mfa_locked_until(&self, user_id: Uuid) -> StoreResult<Option<DateTime<Utc>>> {
        mfa::mfa_locked_until(&self.pool, user_id).await
    }

    async fn step_up_session(
        &self,
        session_id: Uuid,
        amr: &str,
        auth_time: DateTime<Utc>,
        fresh: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        mfa::step_up_session(&self.pool, session_id, amr, auth_time, fresh, now).await
    }

    // --- oauth ---
    async fn oauth_account_user(&self, provider: &str, provider_user_id: &str) -> StoreResult<Option<Uuid>> {
        oauth::oauth_account_user(&self.pool, provider, provider_user_id).await
    }

    async fn insert_oauth_account(&self, account: &NewOAuthAccount) -> StoreResult<()> {
        oauth::insert_oauth_account(&self.pool, account).await
    }

    async fn oauth_accounts_for_user(&self, user_id: Uuid) -> StoreResult<Vec<OAuthAccountRecord>> {
        oauth::oauth_accounts_for_user(&self.pool, user_id).await
    }

    async fn unlink_oauth_account(&self, user_id: Uuid, id: Uuid) -> StoreResult<bool> {
        oauth::unlink_oauth_account(&self.pool, user_id, id).await
    }

    async fn record_login_failure(&self, failure: &super::LoginFailure<'_>) -> StoreResult<super::LockoutChange> {
        super::lockout::sqlite::record_failure(&self.pool, failure).await
    }

    async fn login_locked_until(
        &self,
        subject: &str,
        ip: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        super::lockout::sqlite::locked_until(&self.pool, subject, ip, now).await
    }

    async fn clear_login_failures(&self, subject: &str, ip: Option<&str>) -> StoreResult<u64> {
        super::lockout::sqlite::clear(&self.pool, subject, ip).await
    }

    async fn prune_login_failures(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        super::lockout::sqlite::prune(&self.pool, before).await
    }

    // --- issue 5: admin API, audit retention, single session (statements in `admin.rs`) ---
    async fn list_users(&self, filter: &UserFilter) -> StoreResult<(Vec<UserRecord>, i64)> {
        admin::list_users(&self.pool, filter).await
    }

    async fn user_activity(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<UserActivity> {
        admin::user_activity(&self.pool, user_id, now).await
    }

    async fn lock_user(&self, user_id: Uuid, admin_roles: &[String], now: DateTime<Utc>) -> StoreResult<AccountChange> {
        admin::change_account(&self.pool, user_id, AccountUpdate::Lock, admin_roles, now).await
    }

    async fn unlock_user(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<AccountChange> {
        admin::change_account(&self.pool, user_id, AccountUpdate::Unlock, &[], now).await
    }

    async fn change_user_role(
        &self,
        user_id: Uuid,
        role: &str,
        admin_roles: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<AccountChange> {
        admin::change_account(&self.pool, user_id, AccountUpdate::SetRole(role), admin_roles, now).await
    }

    async fn query_audit_events(&self, filter: &AuditFilter) -> StoreResult<(Vec<AuditEvent>, i64)> {
        admin::query_audit_events(&self.pool, filter).await
    }

    async fn audit_events_before(&self, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        admin::audit_events_before(&self.pool, cutoff, limit).await
    }

    async fn delete_audit_events(&self, ids: &[Uuid]) -> StoreResult<u64> {
        admin::delete_audit_events(&self.pool, ids).await
    }

    async fn create_sole_session(
        &self,
        session: &NewSession,
        first_token: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        admin::create_sole_session(&self.pool, session, first_token, now).await
    }

    async fn insert_email_change(
        &self,
        token: &NewOneTimeToken,
        new_email: &str,
        new_email_canonical: &str,
    ) -> StoreResult<()> {
        email_change::insert_email_change(&self.pool, token, new_email, new_email_canonical).await
    }

    async fn confirm_email_change(&self, token_id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<ChangedEmail>> {
        email_change::confirm_email_change(&self.pool, token_id, now).await
    }

    async fn delete_user(
        &self,
        user_id: Uuid,
        admin_roles: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<AccountChange> {
        admin::change_account(&self.pool, user_id, AccountUpdate::Delete, admin_roles, now).await
    }

    async fn earlier_session_user_agents(
        &self,
        user_id: Uuid,
        except: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<Option<String>>> {
        sessions::earlier_session_user_agents(&self.pool, user_id, except, limit).await
    }
}

async fn insert_refresh(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, t: &NewRefreshToken) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, session_id, user_id, token_hash, parent_id, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(t.id)
    .bind(t.session_id)
    .bind(t.user_id)
    .bind(&t.token_hash)
    .bind(t.parent_id)
    .bind(t.created_at)
    .bind(t.expires_at)
    .execute(&mut **tx)
    .await
    .map_err(map_unique)?;
    Ok(())
}

/// Replaces the user's recovery codes inside the caller's transaction.
async fn insert_recovery_codes(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    user_id: Uuid,
    hashes: &[String],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = ?1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for hash in hashes {
        sqlx::query("INSERT INTO mfa_recovery_codes (id, user_id, code_hash, created_at) VALUES (?1, ?2, ?3, ?4)")
            .bind(Uuid::new_v4())
            .bind(user_id)
            .bind(hash)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
