//! SQLite statements for changing the sign-in address.

use super::*;

pub(super) async fn insert_email_change(
    pool: &SqlitePool,
    t: &NewOneTimeToken,
    new_email: &str,
    new_email_canonical: &str,
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    super::one_time_tokens::insert_one_time_token(&mut *tx, t).await?;
    sqlx::query(
        "INSERT INTO email_changes (token_id, user_id, new_email, new_email_canonical) VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(t.id)
    .bind(t.user_id)
    .bind(new_email)
    .bind(new_email_canonical)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn confirm_email_change(
    pool: &SqlitePool,
    token_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<Option<ChangedEmail>> {
    let mut tx = pool.begin().await?;
    let spent = sqlx::query(
        "UPDATE verification_tokens SET used_at = ?2 \
         WHERE id = ?1 AND purpose = 'email_change' AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?2",
    )
    .bind(token_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if spent.rows_affected() != 1 {
        return Ok(None);
    }
    let Some((user_id, new_email, canonical)): Option<(Uuid, String, String)> =
        sqlx::query_as("SELECT user_id, new_email, new_email_canonical FROM email_changes WHERE token_id = ?1")
            .bind(token_id)
            .fetch_optional(&mut *tx)
            .await?
    else {
        return Ok(None);
    };
    let (old_email,): (String,) = sqlx::query_as("SELECT email FROM users WHERE id = ?1")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE users SET email = ?2, email_canonical = ?3, is_email_verified = 1, email_verified_at = ?4, \
         updated_at = ?4 WHERE id = ?1",
    )
    .bind(user_id)
    .bind(&new_email)
    .bind(&canonical)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(map_unique)?;
    tx.commit().await?;
    Ok(Some(ChangedEmail {
        user_id,
        old_email,
        new_email,
    }))
}
