//! Single-use tokens and codes (verification, reset, MFA, exchange, unlock): issue, find, spend, count guesses, revoke.

use super::engine::{on_engine, Db};
use super::shared::*;
use super::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub struct Tokens<'a>(pub(super) &'a Db);

impl Tokens<'_> {
    pub async fn insert(&self, t: &NewOneTimeToken) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            insert_one_time_token!(pool, t)?;
            Ok(())
        })
    }

    pub async fn by_hash(&self, purpose: TokenPurpose, token_hash: &str) -> StoreResult<Option<OneTimeTokenRecord>> {
        on_engine!(self.0, |pool| {
            let sql = format!("SELECT {TOKEN_COLUMNS} FROM verification_tokens WHERE purpose = $1 AND token_hash = $2");
            Ok(sqlx::query_as(&sql)
                .bind(purpose.as_str())
                .bind(token_hash)
                .fetch_optional(pool)
                .await?)
        })
    }

    /// Unused, unrevoked, unexpired tokens of one purpose for one user, newest first.
    pub async fn live(
        &self,
        user_id: Uuid,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<OneTimeTokenRecord>> {
        on_engine!(self.0, |pool| {
            let sql = format!(
                "SELECT {TOKEN_COLUMNS} FROM verification_tokens WHERE user_id = $1 AND purpose = $2 \
             AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3 ORDER BY created_at DESC"
            );
            Ok(sqlx::query_as(&sql)
                .bind(user_id)
                .bind(purpose.as_str())
                .bind(now)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Marks the token used if it is still live; `false` if someone else used it first.
    pub async fn consume(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        on_engine!(self.0, |pool| {
            let r = sqlx::query(
                "UPDATE verification_tokens SET used_at = $2 \
             WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
            )
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Counts a wrong guess; once `max_attempts` is reached the token is revoked. Returns the new count.
    pub async fn record_failed_attempt(&self, id: Uuid, max_attempts: u32, now: DateTime<Utc>) -> StoreResult<u32> {
        on_engine!(self.0, |pool| {
            let attempts: Option<i32> = sqlx::query_scalar(
                "UPDATE verification_tokens SET attempts = attempts + 1, \
             revoked_at = CASE WHEN attempts + 1 >= $2 THEN COALESCE(revoked_at, $3) ELSE revoked_at END \
             WHERE id = $1 RETURNING attempts",
            )
            .bind(id)
            .bind(max_attempts as i32)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(attempts.unwrap_or(0).max(0) as u32)
        })
    }

    /// Revokes every live token of these purposes for the user (a new one replaces them).
    pub async fn revoke(&self, user_id: Uuid, purposes: &[TokenPurpose], now: DateTime<Utc>) -> StoreResult<u64> {
        on_engine!(self.0, |pool, d| {
            let mut query = sqlx::QueryBuilder::<d::Engine>::new("UPDATE verification_tokens SET revoked_at = ");
            query.push_bind(now);
            query.push(" WHERE user_id = ");
            query.push_bind(user_id);
            query.push(" AND used_at IS NULL AND revoked_at IS NULL AND purpose IN ");
            push_in_list(&mut query, purposes.iter().map(|p| p.as_str()));
            Ok(query.build().execute(pool).await?.rows_affected())
        })
    }
}
