//! Single-use tokens and codes (verification, reset, MFA, exchange, unlock): issue, find, spend, count guesses, revoke.

use super::*;

pub(super) async fn insert_one_time_token<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Sqlite>,
    t: &NewOneTimeToken,
) -> StoreResult<()> {
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
    .execute(db)
    .await?;
    Ok(())
}

pub(super) async fn one_time_token_by_hash(
    pool: &SqlitePool,
    purpose: TokenPurpose,
    token_hash: &str,
) -> StoreResult<Option<OneTimeTokenRecord>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM verification_tokens WHERE purpose = ?1 AND token_hash = ?2");
    Ok(sqlx::query_as(&sql)
        .bind(purpose.as_str())
        .bind(token_hash)
        .fetch_optional(pool)
        .await?)
}

pub(super) async fn live_one_time_tokens(
    pool: &SqlitePool,
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
        .fetch_all(pool)
        .await?)
}

pub(super) async fn consume_one_time_token(pool: &SqlitePool, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE verification_tokens SET used_at = ?2 \
         WHERE id = ?1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?2",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn record_failed_attempt(
    pool: &SqlitePool,
    id: Uuid,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> StoreResult<u32> {
    let attempts: Option<i32> = sqlx::query_scalar(
        "UPDATE verification_tokens SET attempts = attempts + 1, \
         revoked_at = CASE WHEN attempts + 1 >= ?2 THEN COALESCE(revoked_at, ?3) ELSE revoked_at END \
         WHERE id = ?1 RETURNING attempts",
    )
    .bind(id)
    .bind(max_attempts as i32)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(attempts.unwrap_or(0).max(0) as u32)
}

pub(super) async fn revoke_one_time_tokens(
    pool: &SqlitePool,
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
        .execute(pool)
        .await?;
        revoked += r.rows_affected();
    }
    Ok(revoked)
}
