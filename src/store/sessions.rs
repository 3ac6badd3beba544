//! Sessions and their refresh-token families: start, list, revoke, rotate, step up, `SINGLE_SESSION`.

use super::cache::Change;
use super::engine::{on_engine, Db};
use super::shared::*;
use super::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub struct Sessions<'a>(pub(super) &'a Db);

impl Sessions<'_> {
    /// `SINGLE_SESSION`: in one transaction, ends every other session of the user and creates
    /// this one, so two sign-ins racing cannot both stay live. Returns how many were ended.
    pub async fn create_sole(&self, s: &NewSession, first: &NewRefreshToken, now: DateTime<Utc>) -> StoreResult<u64> {
        self.0
            .changing(Change::SessionsOf(s.user_id), async {
                on_engine!(self.0, |pool, d| {
                    let mut tx = pool.begin().await?;
                    d::lock_user_row(&mut tx, s.user_id).await?;
                    let ended = end_all_sessions!(tx, s.user_id, now);
                    insert_session!(&mut *tx, s)?;
                    insert_refresh!(&mut *tx, first)?;
                    tx.commit().await?;
                    Ok(ended)
                })
            })
            .await
    }

    /// Sets a session's `amr` and `auth_time` after a step-up, revokes its live refresh tokens
    /// and adds `fresh` as the family's new live token, in one transaction.
    pub async fn step_up(
        &self,
        session_id: Uuid,
        amr: &str,
        auth_time: DateTime<Utc>,
        fresh: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.0.changing(Change::Session(session_id), async {
        on_engine!(self.0, |pool, d| {
            let mut tx = pool.begin().await?;
            // The user row (shared) before the session row: see `rotate_refresh_token`.
            d::share_session_owner(&mut tx, session_id).await?;
            sqlx::query("UPDATE sessions SET amr = $2, auth_time = $3, last_used_at = $4 WHERE id = $1")
                .bind(session_id)
                .bind(amr)
                .bind(auth_time)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE session_id = $1 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(session_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
            insert_refresh!(&mut *tx, fresh)?;
            tx.commit().await?;
            Ok(())
        })
        }).await
    }

    pub async fn create(&self, s: &NewSession, first: &NewRefreshToken) -> StoreResult<()> {
        on_engine!(self.0, |pool| {
            let mut tx = pool.begin().await?;
            insert_session!(&mut *tx, s)?;
            insert_refresh!(&mut *tx, first)?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn by_id(&self, id: Uuid) -> StoreResult<Option<SessionRecord>> {
        on_engine!(self.0, |pool| {
            let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1");
            Ok(sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?)
        })
    }

    /// [`by_id`](Self::by_id) from this instance's copies while the change feed is current:
    /// the read of every request with an access token.
    pub async fn by_id_cached(&self, id: Uuid) -> StoreResult<Option<std::sync::Arc<SessionRecord>>> {
        self.0.cache.session(id, self.by_id(id)).await
    }

    /// The user's live (unrevoked, unexpired) sessions, most recently used first.
    pub async fn live(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<SessionRecord>> {
        on_engine!(self.0, |pool| {
            let sql = format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
             ORDER BY last_used_at DESC, created_at DESC"
            );
            Ok(sqlx::query_as(&sql).bind(user_id).bind(now).fetch_all(pool).await?)
        })
    }

    /// Revokes the session and every refresh token of its family.
    pub async fn revoke(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        self.0
            .changing(Change::Session(id), async {
                on_engine!(self.0, |pool| {
                    let mut tx = pool.begin().await?;
                    let r = sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "UPDATE refresh_tokens SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(r.rows_affected() == 1)
                })
            })
            .await
    }

    /// Revokes all of a user's sessions except `keep`; returns how many were revoked.
    pub async fn revoke_all_of_user(&self, user_id: Uuid, keep: Option<Uuid>, now: DateTime<Utc>) -> StoreResult<u64> {
        self.0
            .changing(Change::SessionsOf(user_id), async {
                on_engine!(self.0, |pool| {
                    let mut tx = pool.begin().await?;
                    let r = sqlx::query(
                        "UPDATE sessions SET revoked_at = $3 WHERE user_id = $1 AND revoked_at IS NULL \
             AND ($2 IS NULL OR id <> $2)",
                    )
                    .bind(user_id)
                    .bind(keep)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE refresh_tokens SET revoked_at = $3 WHERE user_id = $1 AND revoked_at IS NULL \
             AND ($2 IS NULL OR session_id <> $2)",
                    )
                    .bind(user_id)
                    .bind(keep)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(r.rows_affected())
                })
            })
            .await
    }

    pub async fn refresh_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<RefreshTokenRecord>> {
        on_engine!(self.0, |pool| {
            let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
            Ok(sqlx::query_as(&sql).bind(token_hash).fetch_optional(pool).await?)
        })
    }

    /// The whole of a rotation in one transaction (see [`rotation`](super::rotation)): the
    /// claimed token, its session and the successor, or `None` when the claim lost.
    pub async fn rotate_with(
        &self,
        presented_hash: &str,
        successor: &Successor,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<(RefreshTokenRecord, SessionRecord, NewRefreshToken)>> {
        on_engine!(self.0, |pool, d| d::rotate(pool, presented_hash, successor, now).await)
    }

    /// [`rotate_with`](Self::rotate_with) with a successor built beforehand; the claimed token.
    pub async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        successor: &NewRefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        let next = Successor {
            id: successor.id,
            token_hash: successor.token_hash.clone(),
            expires_at: successor.expires_at,
        };
        let rotated = self.rotate_with(presented_hash, &next, now).await?;
        Ok(rotated.map(|(claimed, _, _)| claimed))
    }

    /// The `User-Agent` of the user's sessions other than `except`, newest first, ended ones
    /// included (at most `limit`).
    pub async fn earlier_user_agents(
        &self,
        user_id: Uuid,
        except: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<Option<String>>> {
        on_engine!(self.0, |pool| {
            Ok(sqlx::query_scalar(
                "SELECT user_agent FROM sessions WHERE user_id = $1 AND id <> $2 ORDER BY created_at DESC LIMIT $3",
            )
            .bind(user_id)
            .bind(except)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }
}
