//! The mail outbox: enqueue, claim with a lease, delete when sent, reschedule on failure, keep
//! as failed when refused for good.

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
                 WHERE id = (SELECT id FROM mail_outbox WHERE next_attempt_at <= $1 AND failed_at IS NULL \
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

    /// Keeps a mail that was refused for good, with the reason, and blanks its bodies: they
    /// may hold a live link, and nobody will send them now.
    pub async fn mark_failed(&self, id: Uuid, now: DateTime<Utc>, reason: &str) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            sqlx::query(
                "UPDATE mail_outbox SET failed_at = $2, last_error = $3, leased_until = NULL, \
                 text_body = '', html_body = '' WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .bind(reason)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// Mails waiting to be delivered (failed ones not counted).
    pub async fn depth(&self) -> StoreResult<i64> {
        on_engine!(self.0, |pool| {
            Ok(
                sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE failed_at IS NULL")
                    .fetch_one(pool)
                    .await?,
            )
        })
    }

    /// The mails refused for good, newest first.
    pub async fn failed(&self, limit: i64) -> StoreResult<Vec<FailedMail>> {
        on_engine!(self.0, |pool| {
            Ok(sqlx::query_as(
                "SELECT id, recipient, subject, created_at, failed_at, attempts, last_error AS reason \
                 FROM mail_outbox WHERE failed_at IS NOT NULL ORDER BY failed_at DESC, id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    pub async fn failed_count(&self) -> StoreResult<i64> {
        on_engine!(self.0, |pool| {
            Ok(
                sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE failed_at IS NOT NULL")
                    .fetch_one(pool)
                    .await?,
            )
        })
    }
}
