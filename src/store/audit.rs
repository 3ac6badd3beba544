//! The audit trail: record, read per user, query, and retention.

use super::engine::{on_engine, Db};
use super::shared::*;
use super::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Which audit events an admin query shows, and which page of them.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<Uuid>,
    pub event_type: Option<String>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

pub struct Audit<'a>(pub(super) &'a Db);

const AUDIT_FILTER: &str = "($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR event_type = $2) \
     AND ($3 IS NULL OR occurred_at >= $3) AND ($4 IS NULL OR occurred_at < $4) AND ($5 IS NULL OR outcome = $5)";

impl Audit<'_> {
    pub async fn record(&self, e: &AuditEvent) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            sqlx::query(
                "INSERT INTO audit_events (id, occurred_at, event_type, user_id, ip, user_agent, outcome, details) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(e.id)
            .bind(e.occurred_at)
            .bind(&e.event_type)
            .bind(e.user_id)
            .bind(&e.ip)
            .bind(&e.user_agent)
            .bind(&e.outcome)
            .bind(&e.details)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// The user's newest `limit` events, newest first.
    pub async fn for_user(&self, user_id: Uuid, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE user_id = $1 ORDER BY occurred_at DESC, id LIMIT $2"
        );
        on_engine!(self.0, |pool| Ok(sqlx::query_as(&sql)
            .bind(user_id)
            .bind(limit)
            .fetch_all(pool)
            .await?))
    }

    /// One page of the audit events matching `filter`, newest first, and how many match in all.
    pub async fn query(&self, f: &AuditFilter) -> StoreResult<(Vec<AuditEvent>, i64)> {
        on_engine!(self.0, |pool| {
            let sql = format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE {AUDIT_FILTER} \
             ORDER BY occurred_at DESC, id DESC LIMIT $6 OFFSET $7"
            );
            let events = sqlx::query_as(&sql)
                .bind(f.user_id)
                .bind(&f.event_type)
                .bind(f.from)
                .bind(f.to)
                .bind(&f.outcome)
                .bind(f.limit)
                .bind(f.offset)
                .fetch_all(pool)
                .await?;
            let total = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM audit_events WHERE {AUDIT_FILTER}"))
                .bind(f.user_id)
                .bind(&f.event_type)
                .bind(f.from)
                .bind(f.to)
                .bind(&f.outcome)
                .fetch_one(pool)
                .await?;
            Ok((events, total))
        })
    }

    /// The oldest `limit` audit events that occurred before `cutoff`, oldest first.
    pub async fn before(&self, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        on_engine!(self.0, |pool| {
            let sql = format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE occurred_at < $1 ORDER BY occurred_at, id LIMIT $2"
            );
            Ok(sqlx::query_as(&sql).bind(cutoff).bind(limit).fetch_all(pool).await?)
        })
    }

    /// Deletes exactly these audit events; returns how many were deleted.
    pub async fn delete(&self, ids: &[Uuid]) -> StoreResult<u64> {
        on_engine!(self.0, |pool, d| {
            if ids.is_empty() {
                return Ok(0);
            }
            let mut query = sqlx::QueryBuilder::<d::Engine>::new("DELETE FROM audit_events WHERE id IN ");
            push_in_list(&mut query, ids.iter().copied());
            Ok(query.build().execute(pool).await?.rows_affected())
        })
    }
}
