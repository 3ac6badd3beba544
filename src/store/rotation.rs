//! A refresh-token rotation, one version per engine (each dialect module re-exports its own as
//! `d::rotate`). Both do the same in one transaction: mark the presented token used (only if
//! still unused, unrevoked and unexpired), touch its session, and insert the successor, whose
//! life ends at `successor.expires_at` or with the session, whichever comes first. `None` when
//! the claim lost (the token is unknown, used, revoked or expired, possibly by a concurrent
//! request); nothing is written then but, on SQLite, the session's `last_used_at`.

use super::{NewRefreshToken, RefreshTokenRecord, SessionRecord, StoreResult};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What the caller chooses of the successor; the store fills in the family from the claim.
#[derive(Debug, Clone)]
pub struct Successor {
    pub id: Uuid,
    pub token_hash: String,
    /// The successor's own lifetime; the session's end caps it.
    pub expires_at: DateTime<Utc>,
}

pub(crate) type Rotated = Option<(RefreshTokenRecord, SessionRecord, NewRefreshToken)>;

fn successor_of(
    claimed: &RefreshTokenRecord,
    session: &SessionRecord,
    s: &Successor,
    now: DateTime<Utc>,
) -> NewRefreshToken {
    NewRefreshToken {
        id: s.id,
        session_id: session.id,
        user_id: claimed.user_id,
        token_hash: s.token_hash.clone(),
        parent_id: Some(claimed.id),
        created_at: now,
        expires_at: s.expires_at.min(session.expires_at),
    }
}

pub(crate) mod sqlite {
    use super::*;
    use crate::store::shared::{REFRESH_COLUMNS, SESSION_COLUMNS};
    use sqlx::{FromRow, SqlitePool};

    /// The whole rotation is one script, one round trip to the connection's thread: sqlx runs
    /// each SQLite connection on a thread of its own, and under load the hand-offs between that
    /// thread and the request's (five per rotation as separate statements) were most of a
    /// refresh's time, spent while holding the one write lock. `changes()` makes each step
    /// depend on the one before: no session touch without the claim, no successor without both.
    /// The script runs in a task of its own, so a client hanging up cannot stop it halfway and
    /// hand the pool a connection inside a transaction; if a statement fails, the connection is
    /// rolled back and closed.
    pub(crate) async fn rotate(
        pool: &SqlitePool,
        presented_hash: &str,
        successor: &Successor,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotated> {
        let pool = pool.clone();
        let hash = presented_hash.to_string();
        let next = successor.clone();
        let task = tokio::spawn(async move {
            let _writer = crate::store::dialect::sqlite::one_writer().await;
            let mut conn = pool.acquire().await?;
            let ran = sqlx::query(&SCRIPT)
                .bind(&hash)
                .bind(now)
                .bind(next.id)
                .bind(&next.token_hash)
                .bind(next.expires_at)
                .fetch_all(&mut *conn)
                .await;
            match ran {
                Ok(rows) => Ok((rows, next)),
                Err(e) => {
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                    let _ = conn.close().await;
                    Err(e)
                }
            }
        });
        // A panic in the task (it never returns early otherwise) is the pool's error to report.
        let (rows, next) = task
            .await
            .map_err(|_| sqlx::Error::WorkerCrashed)?
            .map_err(crate::store::map_unique)?;
        let [claimed, session] = rows.as_slice() else {
            return Ok(None);
        };
        let claimed = RefreshTokenRecord::from_row(claimed)?;
        let session = SessionRecord::from_row(session)?;
        let successor = successor_of(&claimed, &session, &next, now);
        Ok(Some((claimed, session, successor)))
    }

    /// Built once: it is the same text for every rotation (and so one cached prepared script).
    static SCRIPT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "BEGIN IMMEDIATE; \
             UPDATE refresh_tokens SET used_at = $2 \
               WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
               RETURNING {REFRESH_COLUMNS}; \
             UPDATE sessions SET last_used_at = $2 \
               WHERE changes() = 1 AND id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1) \
               RETURNING {SESSION_COLUMNS}; \
             INSERT INTO refresh_tokens (id, session_id, user_id, token_hash, parent_id, created_at, expires_at) \
               SELECT $3, r.session_id, r.user_id, $4, r.id, $2, min($5, s.expires_at) \
               FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id \
               WHERE changes() = 1 AND r.token_hash = $1; \
             COMMIT;"
        )
    });
}

pub(crate) mod postgres {
    use super::*;
    use crate::store::shared::{insert_refresh, REFRESH_COLUMNS, SESSION_COLUMNS};
    use sqlx::PgPool;

    pub(crate) async fn rotate(
        pool: &PgPool,
        presented_hash: &str,
        successor: &Successor,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotated> {
        let mut tx = pool.begin().await?;
        // The user row (shared), then the session row, then the token: the order of every
        // other change of a session and its family (revoke, step-up, `SINGLE_SESSION`, account
        // changes). Taking the token first and the session second deadlocks against them, and
        // a rotation waiting here then finds its token revoked instead of adding a live
        // successor to an ended session. A lost claim rolls the `last_used_at` back with the
        // rest.
        crate::store::dialect::postgres::share_token_owner(&mut tx, presented_hash).await?;
        let sql = format!(
            "UPDATE sessions SET last_used_at = $2 \
             WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1) \
             RETURNING {SESSION_COLUMNS}"
        );
        let session: Option<SessionRecord> = sqlx::query_as(&sql)
            .bind(presented_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(session) = session else {
            return Ok(None);
        };
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
        let next = successor_of(&claimed, &session, successor, now);
        insert_refresh!(&mut *tx, &next)?;
        tx.commit().await?;
        Ok(Some((claimed, session, next)))
    }
}
