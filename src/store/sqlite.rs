//! SQLite backend: the embedded default. WAL mode and a busy timeout let concurrent requests
//! queue for the single writer instead of failing; foreign keys are switched on per connection.

use super::*;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;

mod admin;

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
        let sql = format!("{INSERT_USER} RETURNING {USER_COLUMNS}");
        bind_new_user!(sqlx::query_as::<_, UserRecord>(&sql), u)
            .fetch_one(&self.pool)
            .await
            .map_err(map_unique)
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
        Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
    }

    async fn user_by_email(&self, email_canonical: &str) -> StoreResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email_canonical = ?1");
        Ok(sqlx::query_as(&sql)
            .bind(email_canonical)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn mark_email_verified(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE users SET is_email_verified = 1, email_verified_at = ?2, updated_at = ?2 \
             WHERE id = ?1 AND is_email_verified = 0",
        )
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn record_login(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE users SET last_login = ?2, failed_login_count = 0 WHERE id = ?1")
            .bind(user_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn update_password_hash(&self, user_id: Uuid, phc: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1")
            .bind(user_id)
            .bind(phc)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn password_history(&self, user_id: Uuid, limit: u32) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT password_hash FROM password_history WHERE user_id = ?1 ORDER BY rowid DESC LIMIT ?2",
        )
        .bind(user_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn change_password(
        &self,
        user_id: Uuid,
        new_phc: &str,
        keep_history: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // Write first, so this transaction holds the row (PostgreSQL) or the database (SQLite)
        // before it reads the hash it moves into the history.
        sqlx::query("UPDATE users SET updated_at = ?2 WHERE id = ?1")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let previous: Option<Option<String>> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?1")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        sqlx::query("UPDATE users SET password_hash = ?2, password_changed_at = ?3 WHERE id = ?1")
            .bind(user_id)
            .bind(new_phc)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if let Some(Some(previous)) = previous {
            if keep_history > 0 {
                sqlx::query(
                    "INSERT INTO password_history (id, user_id, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                )
                .bind(Uuid::new_v4())
                .bind(user_id)
                .bind(previous)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query(
            "DELETE FROM password_history WHERE user_id = ?1 AND id NOT IN \
             (SELECT id FROM password_history WHERE user_id = ?1 ORDER BY rowid DESC LIMIT ?2)",
        )
        .bind(user_id)
        .bind(i64::from(keep_history))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_one_time_token(&self, t: &NewOneTimeToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO verification_tokens (id, user_id, purpose, token_hash, expires_at, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(t.id)
        .bind(t.user_id)
        .bind(t.purpose.as_str())
        .bind(&t.token_hash)
        .bind(t.expires_at)
        .bind(t.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn one_time_token_by_hash(
        &self,
        purpose: TokenPurpose,
        token_hash: &str,
    ) -> StoreResult<Option<OneTimeTokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM verification_tokens WHERE purpose = ?1 AND token_hash = ?2");
        Ok(sqlx::query_as(&sql)
            .bind(purpose.as_str())
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn live_one_time_tokens(
        &self,
        user_id: Uuid,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<OneTimeTokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM verification_tokens WHERE user_id = ?1 AND purpose = ?2 \
             AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?3 ORDER BY created_at DESC"
        );
        Ok(sqlx::query_as(&sql)
            .bind(user_id)
            .bind(purpose.as_str())
            .bind(now)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn consume_one_time_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE verification_tokens SET used_at = ?2 \
             WHERE id = ?1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?2",
        )
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn record_failed_attempt(&self, id: Uuid, max_attempts: u32, now: DateTime<Utc>) -> StoreResult<u32> {
        let attempts: Option<i32> = sqlx::query_scalar(
            "UPDATE verification_tokens SET attempts = attempts + 1, \
             revoked_at = CASE WHEN attempts + 1 >= ?2 THEN COALESCE(revoked_at, ?3) ELSE revoked_at END \
             WHERE id = ?1 RETURNING attempts",
        )
        .bind(id)
        .bind(max_attempts as i32)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(attempts.unwrap_or(0).max(0) as u32)
    }

    async fn revoke_one_time_tokens(
        &self,
        user_id: Uuid,
        purposes: &[TokenPurpose],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut revoked = 0;
        for purpose in purposes {
            let r = sqlx::query(
                "UPDATE verification_tokens SET revoked_at = ?3 \
                 WHERE user_id = ?1 AND purpose = ?2 AND used_at IS NULL AND revoked_at IS NULL",
            )
            .bind(user_id)
            .bind(purpose.as_str())
            .bind(now)
            .execute(&self.pool)
            .await?;
            revoked += r.rows_affected();
        }
        Ok(revoked)
    }

    async fn create_session(&self, s: &NewSession, first: &NewRefreshToken) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, auth_time, amr, ip, user_agent) \
             VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(s.id)
        .bind(s.user_id)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.auth_time)
        .bind(&s.amr)
        .bind(&s.ip)
        .bind(&s.user_agent)
        .execute(&mut *tx)
        .await?;
        insert_refresh(&mut tx, first).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_by_id(&self, id: Uuid) -> StoreResult<Option<SessionRecord>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1");
        Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
    }

    async fn live_sessions(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<SessionRecord>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 \
             ORDER BY last_used_at DESC, created_at DESC"
        );
        Ok(sqlx::query_as(&sql)
            .bind(user_id)
            .bind(now)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn revoke_session(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE refresh_tokens SET revoked_at = ?2 WHERE session_id = ?1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    async fn revoke_user_sessions(&self, user_id: Uuid, keep: Option<Uuid>, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE sessions SET revoked_at = ?3 WHERE user_id = ?1 AND revoked_at IS NULL \
             AND (?2 IS NULL OR id <> ?2)",
        )
        .bind(user_id)
        .bind(keep)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ?3 WHERE user_id = ?1 AND revoked_at IS NULL \
             AND (?2 IS NULL OR session_id <> ?2)",
        )
        .bind(user_id)
        .bind(keep)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.rows_affected())
    }

    async fn refresh_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenRecord>> {
        let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = ?1");
        Ok(sqlx::query_as(&sql).bind(token_hash).fetch_optional(&self.pool).await?)
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        successor: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        let mut tx = self.pool.begin().await?;
        // SQLite has one writer: this UPDATE takes the write lock, so a concurrent rotation of the
        // same token waits (busy timeout) and then finds `used_at` set: exactly one request wins.
        let sql = format!(
            "UPDATE refresh_tokens SET used_at = ?2 \
             WHERE token_hash = ?1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?2 \
             RETURNING {REFRESH_COLUMNS}"
        );
        let claimed: Option<RefreshTokenRecord> = sqlx::query_as(&sql)
            .bind(presented_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(claimed) = claimed else {
            return Ok(None);
        };
        insert_refresh(&mut tx, successor).await?;
        sqlx::query("UPDATE sessions SET last_used_at = ?2 WHERE id = ?1")
            .bind(claimed.session_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(claimed))
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

    async fn enqueue_mail(&self, m: &NewMail) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO mail_outbox (id, recipient, subject, text_body, html_body, created_at, next_attempt_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )
        .bind(m.id)
        .bind(&m.recipient)
        .bind(&m.subject)
        .bind(&m.text_body)
        .bind(&m.html_body)
        .bind(m.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn claim_next_mail(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> StoreResult<Option<OutboxMail>> {
        Ok(sqlx::query_as(
            "UPDATE mail_outbox SET leased_until = ?2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM mail_outbox WHERE next_attempt_at <= ?1 \
                         AND (leased_until IS NULL OR leased_until < ?1) \
                         ORDER BY next_attempt_at, created_at LIMIT 1) \
             AND (leased_until IS NULL OR leased_until < ?1) \
             RETURNING id, recipient, subject, text_body, html_body, created_at, attempts",
        )
        .bind(now)
        .bind(lease_until)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn delete_mail(&self, id: Uuid) -> StoreResult<()> {
        sqlx::query("DELETE FROM mail_outbox WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn reschedule_mail(&self, id: Uuid, next_attempt_at: DateTime<Utc>, error: &str) -> StoreResult<()> {
        sqlx::query("UPDATE mail_outbox SET next_attempt_at = ?2, leased_until = NULL, last_error = ?3 WHERE id = ?1")
            .bind(id)
            .bind(next_attempt_at)
            .bind(error)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn outbox_depth(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn import_users(&self, users: &[NewUser], all_or_nothing: bool) -> StoreResult<Vec<ImportOutcome>> {
        let mut tx = self.pool.begin().await?;
        let mut outcomes = Vec::with_capacity(users.len());
        for u in users {
            let sql = format!("{INSERT_USER} ON CONFLICT DO NOTHING RETURNING id");
            let inserted: Option<Uuid> = bind_new_user!(sqlx::query_scalar(&sql), u)
                .fetch_optional(&mut *tx)
                .await?;
            let outcome = if inserted.is_some() {
                ImportOutcome::Inserted
            } else {
                let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE email_canonical = ?1")
                    .bind(&u.email_canonical)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_some() {
                    ImportOutcome::AlreadyPresent
                } else {
                    ImportOutcome::Conflict("username")
                }
            };
            if all_or_nothing && matches!(outcome, ImportOutcome::Conflict(_)) {
                tx.rollback().await?;
                outcomes.push(outcome);
                return Ok(outcomes);
            }
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
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

    async fn set_role(&self, user_id: Uuid, role: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let r = sqlx::query("UPDATE users SET role = ?2, updated_at = ?3 WHERE id = ?1")
            .bind(user_id)
            .bind(role)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn user_by_username(&self, username_canonical: &str) -> StoreResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username_canonical = ?1");
        Ok(sqlx::query_as(&sql)
            .bind(username_canonical)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn update_profile(
        &self,
        user_id: Uuid,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>> {
        let sql = format!(
            "UPDATE users SET \
             username = CASE WHEN ?2 THEN ?3 ELSE username END, \
             username_canonical = CASE WHEN ?2 THEN ?4 ELSE username_canonical END, \
             first_name = COALESCE(?5, first_name), last_name = COALESCE(?6, last_name), \
             date_of_birth = COALESCE(?7, date_of_birth), gender = COALESCE(?8, gender), \
             mobile = COALESCE(?9, mobile), updated_at = ?10 \
             WHERE id = ?1 RETURNING {USER_COLUMNS}"
        );
        let username = changes.username.as_ref();
        sqlx::query_as(&sql)
            .bind(user_id)
            .bind(username.is_some())
            .bind(username.and_then(|u| u.as_ref()).map(|u| u.username.as_str()))
            .bind(username.and_then(|u| u.as_ref()).map(|u| u.canonical.as_str()))
            .bind(&changes.first_name)
            .bind(&changes.last_name)
            .bind(changes.date_of_birth)
            .bind(&changes.gender)
            .bind(&changes.mobile)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_unique)
    }

    // --- mfa ---

    async fn save_pending_mfa_factor(&self, f: &NewMfaFactor) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM mfa_factors WHERE user_id = ?1 AND method = ?2 AND status = 'pending'")
            .bind(f.user_id)
            .bind(&f.method)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO mfa_factors (id, user_id, method, secret, status, created_at) \
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
        )
        .bind(f.id)
        .bind(f.user_id)
        .bind(&f.method)
        .bind(&f.secret)
        .bind(f.created_at)
        .execute(&mut *tx)
        .await
        .map_err(map_unique)?;
        tx.commit().await?;
        Ok(())
    }

    async fn mfa_factors(&self, user_id: Uuid) -> StoreResult<Vec<MfaFactorRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, method, secret, status, created_at, activated_at FROM mfa_factors \
             WHERE user_id = ?1 ORDER BY created_at, method",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn activate_mfa_factor(
        &self,
        factor_id: Uuid,
        user_id: Uuid,
        recovery_hashes: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE mfa_factors SET status = 'active', activated_at = ?3 \
             WHERE id = ?1 AND user_id = ?2 AND status = 'pending'",
        )
        .bind(factor_id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("UPDATE users SET mfa_enabled = 1, updated_at = ?2 WHERE id = ?1")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if !recovery_hashes.is_empty() {
            insert_recovery_codes(&mut tx, user_id, recovery_hashes, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn replace_recovery_codes(&self, user_id: Uuid, hashes: &[String], now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert_recovery_codes(&mut tx, user_id, hashes, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn consume_recovery_code(&self, user_id: Uuid, hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE mfa_recovery_codes SET used_at = ?3 WHERE id = \
             (SELECT id FROM mfa_recovery_codes WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL LIMIT 1) \
             AND used_at IS NULL",
        )
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn unused_recovery_codes(&self, user_id: Uuid) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = ?1 AND used_at IS NULL")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn disable_mfa(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM mfa_factors WHERE user_id = ?1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = ?1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE users SET mfa_enabled = 0, updated_at = ?2 WHERE id = ?1")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn claim_totp_step(&self, user_id: Uuid, step: i64) -> StoreResult<bool> {
        // One conditional upsert: two requests with the same code cannot both win.
        let r = sqlx::query(
            "INSERT INTO mfa_user_state (user_id, last_totp_step) VALUES (?1, ?2) \
             ON CONFLICT (user_id) DO UPDATE SET last_totp_step = excluded.last_totp_step \
             WHERE mfa_user_state.last_totp_step IS NULL OR mfa_user_state.last_totp_step < excluded.last_totp_step",
        )
        .bind(user_id)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn record_mfa_failure(
        &self,
        user_id: Uuid,
        max: u32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let max = i32::try_from(max).unwrap_or(i32::MAX);
        let locked: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
            "INSERT INTO mfa_user_state (user_id, failed_count, locked_until) \
             VALUES (?1, CASE WHEN 1 >= ?2 THEN 0 ELSE 1 END, CASE WHEN 1 >= ?2 THEN ?3 END) \
             ON CONFLICT (user_id) DO UPDATE SET \
             locked_until = CASE WHEN mfa_user_state.failed_count + 1 >= ?2 THEN ?3 ELSE mfa_user_state.locked_until END, \
             failed_count = CASE WHEN mfa_user_state.failed_count + 1 >= ?2 THEN 0 ELSE mfa_user_state.failed_count + 1 END \
             RETURNING locked_until",
        )
        .bind(user_id)
        .bind(max)
        .bind(lock_until)
        .fetch_optional(&self.pool)
        .await?;
        Ok(locked.flatten())
    }

    async fn clear_mfa_failures(&self, user_id: Uuid) -> StoreResult<()> {
        sqlx::query("UPDATE mfa_user_state SET failed_count = 0, locked_until = NULL WHERE user_id = ?1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mfa_locked_until(&self, user_id: Uuid) -> StoreResult<Option<DateTime<Utc>>> {
        let locked: Option<Option<DateTime<Utc>>> =
            sqlx::query_scalar("SELECT locked_until FROM mfa_user_state WHERE user_id = ?1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(locked.flatten())
    }

    async fn step_up_session(
        &self,
        session_id: Uuid,
        amr: &str,
        auth_time: DateTime<Utc>,
        fresh: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE sessions SET amr = ?2, auth_time = ?3, last_used_at = ?4 WHERE id = ?1")
            .bind(session_id)
            .bind(amr)
            .bind(auth_time)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ?2 WHERE session_id = ?1 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(session_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_refresh(&mut tx, fresh).await?;
        tx.commit().await?;
        Ok(())
    }

    // --- oauth ---
    async fn oauth_account_user(&self, provider: &str, provider_user_id: &str) -> StoreResult<Option<Uuid>> {
        Ok(
            sqlx::query_scalar("SELECT user_id FROM oauth_accounts WHERE provider = ?1 AND provider_user_id = ?2")
                .bind(provider)
                .bind(provider_user_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn insert_oauth_account(&self, account: &NewOAuthAccount) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oauth_accounts (id, user_id, provider, provider_user_id, email, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(account.id)
        .bind(account.user_id)
        .bind(&account.provider)
        .bind(&account.provider_user_id)
        .bind(&account.email)
        .bind(account.created_at)
        .execute(&self.pool)
        .await
        .map_err(map_unique)?;
        Ok(())
    }

    async fn oauth_accounts_for_user(&self, user_id: Uuid) -> StoreResult<Vec<OAuthAccountRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, provider, email, created_at FROM oauth_accounts WHERE user_id = ?1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn unlink_oauth_account(&self, user_id: Uuid, id: Uuid) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM oauth_accounts WHERE id = ?2 AND user_id = ?1 AND ( \
               EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password_hash IS NOT NULL) \
               OR (SELECT COUNT(*) FROM oauth_accounts WHERE user_id = ?1) > 1)",
        )
        .bind(user_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
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
