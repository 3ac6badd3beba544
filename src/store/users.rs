//! Accounts: creating (registration, import), finding, listing, profile and password changes.

use super::cache::Change;
use super::engine::{on_engine, Db};
use super::shared::*;
use super::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Which users an admin listing shows, and which page of them.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// A `LIKE` pattern (already lower-cased, wildcards escaped with `\`, wrapped in `%`)
    /// matched against email, username, first, last and full name.
    pub search: Option<String>,
    pub role: Option<String>,
    /// `Some(true)`: only active accounts; `Some(false)`: only disabled (locked) ones.
    pub active: Option<bool>,
    pub limit: i64,
    pub offset: i64,
}

/// Counts an admin sees beside a user's record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserActivity {
    pub live_sessions: i64,
    pub linked_identities: i64,
    pub passkeys: i64,
}

pub struct Users<'a>(pub(super) &'a Db);

/// Case-insensitive through `LOWER` on both sides (PostgreSQL's `LIKE` is case-sensitive).
/// On SQLite `LOWER` and `LIKE` fold ASCII letters only, so "ÉMILE" does not find "Émile"
/// there (as before the engines shared this statement); PostgreSQL folds every letter.
/// `ESCAPE` keeps the `\%` and `\_` of
/// [`SearchText::like_pattern`](crate::domain::admin::SearchText::like_pattern) literal.
const USER_FILTER: &str = "($1 IS NULL OR LOWER(email) LIKE LOWER($1) ESCAPE '\\' \
     OR username_canonical LIKE LOWER($1) ESCAPE '\\' \
     OR LOWER(COALESCE(first_name, '') || ' ' || COALESCE(last_name, '')) LIKE LOWER($1) ESCAPE '\\') \
     AND ($2 IS NULL OR role = $2) AND ($3 IS NULL OR is_active = $3)";

impl Users<'_> {
    /// One page of the users matching `filter`, newest first (ties broken by id, so pages are
    /// stable), and how many match in all.
    pub async fn list(&self, f: &UserFilter) -> StoreResult<(Vec<UserRecord>, i64)> {
        on_engine!(self.0, |pool| {
            let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {USER_FILTER} ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
        );
            let users = sqlx::query_as(&sql)
                .bind(&f.search)
                .bind(&f.role)
                .bind(f.active)
                .bind(f.limit)
                .bind(f.offset)
                .fetch_all(pool)
                .await?;
            let total = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM users WHERE {USER_FILTER}"))
                .bind(&f.search)
                .bind(&f.role)
                .bind(f.active)
                .fetch_one(pool)
                .await?;
            Ok((users, total))
        })
    }

    /// How many live sessions, linked provider identities and passkeys the user has.
    pub async fn activity(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<UserActivity> {
        on_engine!(self.0, |pool| {
            let (live_sessions, linked_identities, passkeys): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2), \
                    (SELECT COUNT(*) FROM oauth_accounts WHERE user_id = $1), \
                    (SELECT COUNT(*) FROM passkeys WHERE user_id = $1)",
        )
        .bind(user_id)
        .bind(now)
        .fetch_one(pool)
        .await?;
            Ok(UserActivity {
                live_sessions,
                linked_identities,
                passkeys,
            })
        })
    }

    pub async fn create(&self, u: &NewUser) -> StoreResult<UserRecord> {
        on_engine!(self.0, |pool| {
            let sql = format!("{INSERT_USER} RETURNING {USER_COLUMNS}");
            bind_new_user!(sqlx::query_as::<_, UserRecord>(&sql), u)
                .fetch_one(pool)
                .await
                .map_err(map_unique)
        })
    }

    pub async fn by_id(&self, id: Uuid) -> StoreResult<Option<UserRecord>> {
        on_engine!(self.0, |pool| {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
            Ok(sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?)
        })
    }

    /// [`by_id`](Self::by_id) from this instance's copies while the change feed is current:
    /// the read of every `GET /api/auth/me`.
    pub async fn by_id_cached(&self, id: Uuid) -> StoreResult<Option<std::sync::Arc<UserRecord>>> {
        self.0.cache.user(id, self.by_id(id)).await
    }

    /// Looks up by the canonical (lower-cased) address.
    pub async fn by_email(&self, email_canonical: &str) -> StoreResult<Option<UserRecord>> {
        on_engine!(self.0, |pool| {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email_canonical = $1");
            Ok(sqlx::query_as(&sql).bind(email_canonical).fetch_optional(pool).await?)
        })
    }

    /// Sets the verified flag; `false` if it was already set (or the user is gone).
    pub async fn mark_email_verified(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        self.0
            .changing(Change::User(user_id), async {
                on_engine!(self.0, |pool| {
                    let r = sqlx::query(
                        "UPDATE users SET is_email_verified = TRUE, email_verified_at = $2, updated_at = $2 \
             WHERE id = $1 AND is_email_verified = FALSE",
                    )
                    .bind(user_id)
                    .bind(now)
                    .execute(pool)
                    .await?;
                    Ok(r.rows_affected() == 1)
                })
            })
            .await
    }

    pub async fn record_login(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        self.0
            .changing(Change::User(user_id), async {
                on_engine!(self.0, |pool| {
                    sqlx::query("UPDATE users SET last_login = $2 WHERE id = $1")
                        .bind(user_id)
                        .bind(now)
                        .execute(pool)
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    /// Replaces a hash with an equivalent one (rehash on login); history is not touched.
    pub async fn update_password_hash(&self, user_id: Uuid, phc: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.0
            .changing(Change::User(user_id), async {
                on_engine!(self.0, |pool| {
                    sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                        .bind(user_id)
                        .bind(phc)
                        .bind(now)
                        .execute(pool)
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    /// The user's earlier password hashes, newest first (the current one is in `users`).
    pub async fn password_history(&self, user_id: Uuid, limit: u32) -> StoreResult<Vec<String>> {
        on_engine!(self.0, |pool, d| {
            Ok(sqlx::query_scalar(&format!(
                "SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY {} LIMIT $2",
                d::HISTORY_NEWEST_FIRST
            ))
            .bind(user_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?)
        })
    }

    /// Sets a new password in one transaction: the previous hash moves into the history, which
    /// is then cut to the newest `keep_history` entries; `password_changed_at` is set.
    pub async fn change_password(
        &self,
        user_id: Uuid,
        new_phc: &str,
        keep_history: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.0
            .changing(Change::User(user_id), async {
                on_engine!(self.0, |pool, d| {
                    let mut tx = pool.begin().await?;
                    // Write first, so this transaction holds the row (PostgreSQL) or the database (SQLite)
                    // before it reads the hash it moves into the history.
                    sqlx::query("UPDATE users SET updated_at = $2 WHERE id = $1")
                        .bind(user_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    let previous: Option<Option<String>> =
                        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                            .bind(user_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    sqlx::query("UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE id = $1")
                        .bind(user_id)
                        .bind(new_phc)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    if let Some(Some(previous)) = previous {
                        if keep_history > 0 {
                            sqlx::query(
                        "INSERT INTO password_history (id, user_id, password_hash, created_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(Uuid::new_v4())
                    .bind(user_id)
                    .bind(previous)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                        }
                    }
                    sqlx::query(&format!(
                        "DELETE FROM password_history WHERE user_id = $1 AND id NOT IN \
             (SELECT id FROM password_history WHERE user_id = $1 ORDER BY {} LIMIT $2)",
                        d::HISTORY_NEWEST_FIRST
                    ))
                    .bind(user_id)
                    .bind(i64::from(keep_history))
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                })
            })
            .await
    }

    /// Looks up by the canonical (lower-cased) username.
    pub async fn by_username(&self, username_canonical: &str) -> StoreResult<Option<UserRecord>> {
        on_engine!(self.0, |pool| {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username_canonical = $1");
            Ok(sqlx::query_as(&sql)
                .bind(username_canonical)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Applies the fields set in `changes` in one statement; `None` if the user is gone. A
    /// username another account holds (ignoring case) is `Duplicate("username")`.
    pub async fn update_profile(
        &self,
        user_id: Uuid,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRecord>> {
        self.0
            .changing(Change::User(user_id), async {
                on_engine!(self.0, |pool| {
                    let sql = format!(
                        "UPDATE users SET \
             username = CASE WHEN $2 THEN $3 ELSE username END, \
             username_canonical = CASE WHEN $2 THEN $4 ELSE username_canonical END, \
             first_name = COALESCE($5, first_name), last_name = COALESCE($6, last_name), \
             date_of_birth = COALESCE($7, date_of_birth), gender = COALESCE($8, gender), \
             mobile = COALESCE($9, mobile), updated_at = $10 \
             WHERE id = $1 RETURNING {USER_COLUMNS}"
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
                        .fetch_optional(pool)
                        .await
                        .map_err(map_unique)
                })
            })
            .await
    }

    /// Inserts users in one transaction, row by row: an address that already has an account is
    /// left as it is (`AlreadyPresent`, which makes a re-run a no-op), a taken username is a
    /// `Conflict`. With `all_or_nothing` the first conflict rolls the whole call back.
    pub async fn import(&self, users: &[NewImportedUser], all_or_nothing: bool) -> StoreResult<Vec<ImportOutcome>> {
        on_engine!(self.0, |pool| {
            let mut tx = pool.begin().await?;
            let mut outcomes = Vec::with_capacity(users.len());
            for NewImportedUser { user: u, active_totp } in users {
                let sql = format!("{INSERT_USER} ON CONFLICT DO NOTHING RETURNING id");
                let inserted: Option<Uuid> = bind_new_user!(sqlx::query_scalar(&sql), u)
                    .fetch_optional(&mut *tx)
                    .await?;
                let outcome = if inserted.is_some() {
                    if let Some(f) = active_totp {
                        sqlx::query(
                            "INSERT INTO mfa_factors (id, user_id, method, secret, status, created_at, activated_at) \
                         VALUES ($1, $2, $3, $4, 'active', $5, $5)",
                        )
                        .bind(f.id)
                        .bind(f.user_id)
                        .bind(&f.method)
                        .bind(&f.secret)
                        .bind(f.created_at)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query("UPDATE users SET mfa_enabled = TRUE WHERE id = $1")
                            .bind(f.user_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    ImportOutcome::Inserted
                } else {
                    let exists: Option<i64> =
                        sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM users WHERE email_canonical = $1")
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
        })
    }
}
