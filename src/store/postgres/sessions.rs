//! Sessions and their refresh tokens: start, list, revoke, rotate.

use super::*;

pub(super) async fn create_session(pool: &PgPool, s: &NewSession, first: &NewRefreshToken) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, auth_time, amr, ip, user_agent) \
         VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)",
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

pub(super) async fn session_by_id(pool: &PgPool, id: Uuid) -> StoreResult<Option<SessionRecord>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?)
}

pub(super) async fn live_sessions(pool: &PgPool, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<SessionRecord>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         ORDER BY last_used_at DESC, created_at DESC"
    );
    Ok(sqlx::query_as(&sql).bind(user_id).bind(now).fetch_all(pool).await?)
}

pub(super) async fn revoke_session(pool: &PgPool, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
    let mut tx = pool.begin().await?;
    let r = sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn revoke_user_sessions(
    pool: &PgPool,
    user_id: Uuid,
    keep: Option<Uuid>,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let mut tx = pool.begin().await?;
    let r = sqlx::query(
        "UPDATE sessions SET revoked_at = $3 WHERE user_id = $1 AND revoked_at IS NULL \
         AND ($2::uuid IS NULL OR id <> $2)",
    )
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $3 WHERE user_id = $1 AND revoked_at IS NULL \
         AND ($2::uuid IS NULL OR session_id <> $2)",
    )
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(r.rows_affected())
}

pub(super) async fn refresh_token_by_hash(pool: &PgPool, token_hash: &str) -> StoreResult<Option<RefreshTokenRecord>> {
    let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
    Ok(sqlx::query_as(&sql).bind(token_hash).fetch_optional(pool).await?)
}

pub(super) async fn rotate_refresh_token(
    pool: &PgPool,
    presented_hash: &str,
    successor: &NewRefreshToken,
    now: DateTime<Utc>,
) -> StoreResult<Option<RefreshTokenRecord>> {
    let mut tx = pool.begin().await?;
    // The row lock taken by this UPDATE makes a concurrent rotation of the same token wait,
    // then re-check `used_at IS NULL` and find nothing: exactly one request wins.
    let sql = format!(
        "UPDATE refresh_tokens SET used_at = $2 \
         WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
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
    sqlx::query("UPDATE sessions SET last_used_at = $2 WHERE id = $1")
        .bind(claimed.session_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(claimed))
}

pub(super) async fn earlier_session_user_agents(
    pool: &PgPool,
    user_id: Uuid,
    except: Uuid,
    limit: i64,
) -> StoreResult<Vec<Option<String>>> {
    Ok(sqlx::query_scalar(
        "SELECT user_agent FROM sessions WHERE user_id = $1 AND id <> $2 ORDER BY created_at DESC LIMIT $3",
    )
    .bind(user_id)
    .bind(except)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}
