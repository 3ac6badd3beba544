//! The mail outbox: enqueue, claim with a lease, delete when sent, reschedule on failure.

use super::*;

pub(super) async fn enqueue_mail(pool: &SqlitePool, m: &NewMail) -> StoreResult<()> {
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
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn claim_next_mail(
    pool: &SqlitePool,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> StoreResult<Option<OutboxMail>> {
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
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn delete_mail(pool: &SqlitePool, id: Uuid) -> StoreResult<()> {
    sqlx::query("DELETE FROM mail_outbox WHERE id = ?1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn reschedule_mail(
    pool: &SqlitePool,
    id: Uuid,
    next_attempt_at: DateTime<Utc>,
    error: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE mail_outbox SET next_attempt_at = ?2, leased_until = NULL, last_error = ?3 WHERE id = ?1")
        .bind(id)
        .bind(next_attempt_at)
        .bind(error)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn outbox_depth(pool: &SqlitePool) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox")
        .fetch_one(pool)
        .await?)
}
