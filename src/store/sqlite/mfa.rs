//! MFA: factors, recovery codes, TOTP step claims, failure counts and step-up.

use super::*;

pub(super) async fn save_pending_mfa_factor(pool: &SqlitePool, f: &NewMfaFactor) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
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

pub(super) async fn mfa_factors(pool: &SqlitePool, user_id: Uuid) -> StoreResult<Vec<MfaFactorRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, method, secret, status, created_at, activated_at FROM mfa_factors \
         WHERE user_id = ?1 ORDER BY created_at, method",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?)
}

pub(super) async fn activate_mfa_factor(
    pool: &SqlitePool,
    factor_id: Uuid,
    user_id: Uuid,
    recovery_hashes: &[String],
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = pool.begin().await?;
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

pub(super) async fn replace_recovery_codes(
    pool: &SqlitePool,
    user_id: Uuid,
    hashes: &[String],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    insert_recovery_codes(&mut tx, user_id, hashes, now).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn consume_recovery_code(
    pool: &SqlitePool,
    user_id: Uuid,
    hash: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE mfa_recovery_codes SET used_at = ?3 WHERE id = \
         (SELECT id FROM mfa_recovery_codes WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL LIMIT 1) \
         AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn unused_recovery_codes(pool: &SqlitePool, user_id: Uuid) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = ?1 AND used_at IS NULL")
            .bind(user_id)
            .fetch_one(pool)
            .await?,
    )
}

pub(super) async fn disable_mfa(pool: &SqlitePool, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
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

pub(super) async fn claim_totp_step(pool: &SqlitePool, user_id: Uuid, step: i64) -> StoreResult<bool> {
    // One conditional upsert: two requests with the same code cannot both win.
    let r = sqlx::query(
        "INSERT INTO mfa_user_state (user_id, last_totp_step) VALUES (?1, ?2) \
         ON CONFLICT (user_id) DO UPDATE SET last_totp_step = excluded.last_totp_step \
         WHERE mfa_user_state.last_totp_step IS NULL OR mfa_user_state.last_totp_step < excluded.last_totp_step",
    )
    .bind(user_id)
    .bind(step)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn record_mfa_failure(
    pool: &SqlitePool,
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
    .fetch_optional(pool)
    .await?;
    Ok(locked.flatten())
}

pub(super) async fn clear_mfa_failures(pool: &SqlitePool, user_id: Uuid) -> StoreResult<()> {
    sqlx::query("UPDATE mfa_user_state SET failed_count = 0, locked_until = NULL WHERE user_id = ?1")
        .bind(user_id)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn mfa_locked_until(pool: &SqlitePool, user_id: Uuid) -> StoreResult<Option<DateTime<Utc>>> {
    let locked: Option<Option<DateTime<Utc>>> =
        sqlx::query_scalar("SELECT locked_until FROM mfa_user_state WHERE user_id = ?1")
            .bind(user_id)
            .fetch_optional(pool)
            .await?;
    Ok(locked.flatten())
}

pub(super) async fn step_up_session(
    pool: &SqlitePool,
    session_id: Uuid,
    amr: &str,
    auth_time: DateTime<Utc>,
    fresh: &NewRefreshToken,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
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
