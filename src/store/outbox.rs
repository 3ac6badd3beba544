//! The mail outbox: enqueue, claim with a lease, delete when sent, reschedule on failure.

use super::engine::{on_engine, Db};
use super::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub struct Outbox<'a>(pub(super) &'a Db);

impl Outbox<'_> {
    pub async fn enqueue(&self, m: &NewMail) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            sqlx::query(
                "INSERT INTO mail_outbox (id, recipient, subject, text_body, html_body, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
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
        })
    }

    /// Leases the oldest due mail until `lease_until`, so no other worker sends it meanwhile.
    pub async fn claim_next(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> StoreResult<Option<OutboxMail>> {
        on_engine!(self.0, |pool, d| {
            // The outer condition repeats the inner one: a claim that lost a race updates nothing.
            Ok(sqlx::query_as(&format!(
                "UPDATE mail_outbox SET leased_until = $2, attempts = attempts + 1 \
                 WHERE id = (SELECT id FROM mail_outbox WHERE next_attempt_at <= $1 \
                             AND (leased_until IS NULL OR leased_until < $1) \
                             ORDER BY next_attempt_at, created_at LIMIT 1 {}) \
                 AND (leased_until IS NULL OR leased_until < $1) \
                 RETURNING id, recipient, subject, text_body, html_body, created_at, attempts",
                d::CLAIM_LOCK
            ))
            .bind(now)
            .bind(lease_until)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// Deletes a delivered mail: its body may hold a live link, so it is not kept.
    pub async fn delete(&self, id: Uuid) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            sqlx::query("DELETE FROM mail_outbox WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    pub async fn reschedule(&self, id: Uuid, next_attempt_at: DateTime<Utc>, error: &str) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            sqlx::query(
                "UPDATE mail_outbox SET next_attempt_at = $2, leased_until = NULL, last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(next_attempt_at)
            .bind(error)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    pub async fn depth(&self) -> StoreResult<i64> {
        on_engine!(self.0, |pool| {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox")
                .fetch_one(pool)
                .await?)
        })
    }
}
