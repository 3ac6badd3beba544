//! Users: creating (registration, import), finding, profile, password and role changes.

use super::*;

pub(super) async fn create_user(pool: &PgPool, u: &NewUser) -> StoreResult<UserRecord> {
    let sql = format!("{INSERT_USER} RETURNING {USER_COLUMNS}");
    bind_new_user!(sqlx::query_as::<_, UserRecord>(&sql), u)
        .fetch_one(pool)
        .await
        .map_err(map_unique)
}

pub(super) async fn user_by_id(pool: &PgPool, id: Uuid) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?)
}

pub(super) async fn user_by_email(pool: &PgPool, email_canonical: &str) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email_canonical = $1");
    Ok(sqlx::query_as(&sql).bind(email_canonical).fetch_optional(pool).await?)
}

pub(super) async fn mark_email_verified(pool: &PgPool, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE users SET is_email_verified = TRUE, email_verified_at = $2, updated_at = $2 \
         WHERE id = $1 AND is_email_verified = FALSE",
    )
    .bind(user_id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn record_login(pool: &PgPool, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE users SET last_login = $2 WHERE id = $1")
        .bind(user_id)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn update_password_hash(
    pool: &PgPool,
    user_id: Uuid,
    phc: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(phc)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn password_history(pool: &PgPool, user_id: Uuid, limit: u32) -> StoreResult<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY seq DESC LIMIT $2")
            .bind(user_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?,
    )
}

pub(super) async fn change_password(
    pool: &PgPool,
    user_id: Uuid,
    new_phc: &str,
    keep_history: u32,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    // Write first, so this transaction holds the row (PostgreSQL) or the database (SQLite)
    // before it reads the hash it moves into the history.
    sqlx::query("UPDATE users SET updated_at = $2 WHERE id = $1")
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let previous: Option<Option<String>> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
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
    sqlx::query(
        "DELETE FROM password_history WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM password_history WHERE user_id = $1 ORDER BY seq DESC LIMIT $2)",
    )
    .bind(user_id)
    .bind(i64::from(keep_history))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn user_by_username(pool: &PgPool, username_canonical: &str) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username_canonical = $1");
    Ok(sqlx::query_as(&sql)
        .bind(username_canonical)
        .fetch_optional(pool)
        .await?)
}

pub(super) async fn update_profile(
    pool: &PgPool,
    user_id: Uuid,
    changes: &ProfileChanges,
    now: DateTime<Utc>,
) -> StoreResult<Option<UserRecord>> {
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
}

pub(super) async fn import_users(
    pool: &PgPool,
    users: &[NewImportedUser],
    all_or_nothing: bool,
) -> StoreResult<Vec<ImportOutcome>> {
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
            let exists: Option<i64> = sqlx::query_scalar("SELECT 1::BIGINT FROM users WHERE email_canonical = $1")
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
