//! PostgreSQL statements of the admin API, audit retention and `SINGLE_SESSION` (issue 5), kept
//! apart from the rest of the backend so that file stays readable.
//!
//! Guarded changes (lock, role change) take one transaction-scoped advisory lock first: under
//! READ COMMITTED two admins demoting each other at once would each still see the other as an
//! admin and both succeed, leaving none. With the lock the second waits and then sees the first.

use super::super::*;
use sqlx::{PgPool, Postgres};

/// Key of the advisory lock that serialises changes which could remove the last admin.
const ADMIN_CHANGE_LOCK: i64 = 0x6761_7465_0005;
const AUDIT_COLUMNS: &str = "id, occurred_at, event_type, user_id, ip, user_agent, outcome, details";
const USER_FILTER: &str = "($1::text IS NULL OR email ILIKE $1 OR username_canonical ILIKE $1 \
     OR (COALESCE(first_name, '') || ' ' || COALESCE(last_name, '')) ILIKE $1) \
     AND ($2::text IS NULL OR role = $2) AND ($3::boolean IS NULL OR is_active = $3)";
const AUDIT_FILTER: &str = "($1::uuid IS NULL OR user_id = $1) AND ($2::text IS NULL OR event_type = $2) \
     AND ($3::timestamptz IS NULL OR occurred_at >= $3) AND ($4::timestamptz IS NULL OR occurred_at < $4) \
     AND ($5::text IS NULL OR outcome = $5)";

pub(super) async fn list_users(pool: &PgPool, f: &UserFilter) -> StoreResult<(Vec<UserRecord>, i64)> {
    let sql = format!(
        "SELECT {} FROM users WHERE {USER_FILTER} ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5",
        super::USER_COLUMNS
    );
    let users = sqlx::query_as(&sql)
        .bind(&f.search)
        .bind(&f.role)
        .bind(f.active)
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(pool)
        .await?;
    let total = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM users WHERE {USER_FILTER}"))
        .bind(&f.search)
        .bind(&f.role)
        .bind(f.active)
        .fetch_one(pool)
        .await?;
    Ok((users, total))
}

pub(super) async fn user_activity(pool: &PgPool, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<UserActivity> {
    let (live_sessions, linked_identities): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2), \
                (SELECT COUNT(*) FROM oauth_accounts WHERE user_id = $1)",
    )
    .bind(user_id)
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok(UserActivity {
        live_sessions,
        linked_identities,
    })
}

/// Lock, unlock, role change and deletion: one transaction that checks the last-admin rule and applies
/// the change (and the session revocation it implies) together.
pub(super) async fn change_account(
    pool: &PgPool,
    user_id: Uuid,
    update: AccountUpdate<'_>,
    admin_roles: &[String],
    now: DateTime<Utc>,
) -> StoreResult<AccountChange> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ADMIN_CHANGE_LOCK)
        .execute(&mut *tx)
        .await?;
    let previous: Option<AccountState> = sqlx::query_as("SELECT role, is_active FROM users WHERE id = $1 FOR UPDATE")
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(previous) = previous else {
        return Ok(AccountChange::NotFound);
    };
    if update.removes_admin(&previous, admin_roles) {
        let others: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id <> $1 AND is_active AND role = ANY($2)")
                .bind(user_id)
                .bind(admin_roles)
                .fetch_one(&mut *tx)
                .await?;
        if others == 0 {
            return Ok(AccountChange::LastAdmin);
        }
    }
    match update {
        AccountUpdate::Lock => {
            sqlx::query("UPDATE users SET is_active = FALSE, updated_at = $2 WHERE id = $1")
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        AccountUpdate::Unlock => {
            // The failed-login lockout (`login_failures`) is lifted by the caller.
            sqlx::query(
                "UPDATE users SET is_active = TRUE, updated_at = $2 \
                 WHERE id = $1",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        AccountUpdate::SetRole(role) => {
            sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")
                .bind(user_id)
                .bind(role)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        AccountUpdate::Delete => {
            sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    let sessions_revoked = if update.ends_sessions(&previous) {
        end_all_sessions(&mut tx, user_id, now).await?
    } else {
        0
    };
    tx.commit().await?;
    Ok(AccountChange::Changed {
        previous,
        sessions_revoked,
    })
}

/// Revokes every live session and refresh token of the user; returns the sessions ended.
async fn end_all_sessions(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let ended = sqlx::query(
        "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(ended.rows_affected())
}

pub(super) async fn query_audit_events(pool: &PgPool, f: &AuditFilter) -> StoreResult<(Vec<AuditEvent>, i64)> {
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
}

pub(super) async fn audit_events_before(
    pool: &PgPool,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<AuditEvent>> {
    let sql =
        format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE occurred_at < $1 ORDER BY occurred_at, id LIMIT $2");
    Ok(sqlx::query_as(&sql).bind(cutoff).bind(limit).fetch_all(pool).await?)
}

pub(super) async fn delete_audit_events(pool: &PgPool, ids: &[Uuid]) -> StoreResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query("DELETE FROM audit_events WHERE id = ANY($1)")
        .bind(ids)
        .execute(pool)
        .await?
        .rows_affected())
}

pub(super) async fn create_sole_session(
    pool: &PgPool,
    s: &NewSession,
    first: &NewRefreshToken,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let mut tx = pool.begin().await?;
    // The user's row lock makes two racing sign-ins take turns: the second then sees (and ends)
    // the first one's session.
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(s.user_id)
        .execute(&mut *tx)
        .await?;
    let ended = end_all_sessions(&mut tx, s.user_id, now).await?;
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
    super::insert_refresh(&mut tx, first).await?;
    tx.commit().await?;
    Ok(ended)
}
