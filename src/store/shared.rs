//! Column lists and the statements several areas run inside their own transactions.
//!
//! The in-transaction helpers are macros, not functions: inside an
//! [`on_engine!`](super::engine::on_engine) block the transaction is a concrete
//! `Transaction<'_, Sqlite>` or `Transaction<'_, Postgres>`, and a macro expands into whichever
//! it is, where a function would need the generic bounds `engine.rs` explains we avoid.

pub(super) const USER_COLUMNS: &str = "id, email, email_canonical, username, first_name, last_name, date_of_birth, \
    gender, mobile, password_hash, role, is_active, is_email_verified, mfa_enabled, created_at, updated_at, \
    last_login, email_verified_at";
/// The one INSERT of a user (registration and import), bound by `bind_new_user!`.
pub(super) const INSERT_USER: &str = "INSERT INTO users (id, email, email_canonical, username, username_canonical, \
    first_name, last_name, date_of_birth, gender, mobile, password_hash, role, is_email_verified, email_verified_at, \
    created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, CASE WHEN $13 THEN $14 END, $14, $14)";
pub(super) const TOKEN_COLUMNS: &str = "id, user_id, token_hash, expires_at, created_at, used_at, revoked_at, attempts";
pub(super) const SESSION_COLUMNS: &str =
    "id, user_id, created_at, last_used_at, expires_at, revoked_at, auth_time, amr, ip, user_agent";
pub(super) const REFRESH_COLUMNS: &str =
    "id, session_id, user_id, token_hash, parent_id, created_at, expires_at, used_at, revoked_at";
pub(super) const AUDIT_COLUMNS: &str = "id, occurred_at, event_type, user_id, ip, user_agent, outcome, details";

pub(super) const INSERT_SESSION: &str = "INSERT INTO sessions \
    (id, user_id, created_at, last_used_at, expires_at, auth_time, amr, ip, user_agent) \
    VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)";
pub(super) const INSERT_REFRESH: &str = "INSERT INTO refresh_tokens \
    (id, session_id, user_id, token_hash, parent_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(super) const INSERT_ONE_TIME_TOKEN: &str = "INSERT INTO verification_tokens \
    (id, user_id, purpose, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

/// Binds a `NewUser` to [`INSERT_USER`].
macro_rules! bind_new_user {
    ($query:expr, $u:expr) => {
        $query
            .bind($u.id)
            .bind(&$u.email)
            .bind(&$u.email_canonical)
            .bind(&$u.username)
            .bind(&$u.username_canonical)
            .bind(&$u.first_name)
            .bind(&$u.last_name)
            .bind($u.date_of_birth)
            .bind(&$u.gender)
            .bind(&$u.mobile)
            .bind(&$u.password_hash)
            .bind(&$u.role)
            .bind($u.is_email_verified)
            .bind($u.created_at)
    };
}
pub(super) use bind_new_user;

/// Inserts a session (`&NewSession`) on `$conn`.
macro_rules! insert_session {
    ($conn:expr, $s:expr) => {{
        let s: &$crate::store::NewSession = $s;
        sqlx::query($crate::store::shared::INSERT_SESSION)
            .bind(s.id)
            .bind(s.user_id)
            .bind(s.created_at)
            .bind(s.expires_at)
            .bind(s.auth_time)
            .bind(&s.amr)
            .bind(&s.ip)
            .bind(&s.user_agent)
            .execute($conn)
            .await
    }};
}
pub(super) use insert_session;

/// Inserts a refresh token (`&NewRefreshToken`) on `$conn`.
macro_rules! insert_refresh {
    ($conn:expr, $t:expr) => {{
        let t: &$crate::store::NewRefreshToken = $t;
        sqlx::query($crate::store::shared::INSERT_REFRESH)
            .bind(t.id)
            .bind(t.session_id)
            .bind(t.user_id)
            .bind(&t.token_hash)
            .bind(t.parent_id)
            .bind(t.created_at)
            .bind(t.expires_at)
            .execute($conn)
            .await
            .map_err($crate::store::map_unique)
    }};
}
pub(super) use insert_refresh;

/// Inserts a one-time token (`&NewOneTimeToken`) on `$conn`.
macro_rules! insert_one_time_token {
    ($conn:expr, $t:expr) => {{
        let t: &$crate::store::NewOneTimeToken = $t;
        sqlx::query($crate::store::shared::INSERT_ONE_TIME_TOKEN)
            .bind(t.id)
            .bind(t.user_id)
            .bind(t.purpose.as_str())
            .bind(&t.token_hash)
            .bind(t.expires_at)
            .bind(t.created_at)
            .execute($conn)
            .await
    }};
}
pub(super) use insert_one_time_token;

/// Replaces every recovery code of `$user_id` with `$hashes` inside transaction `$tx`.
macro_rules! insert_recovery_codes {
    ($tx:expr, $user_id:expr, $hashes:expr, $now:expr) => {{
        let (user_id, hashes, now): (uuid::Uuid, &[String], chrono::DateTime<chrono::Utc>) = ($user_id, $hashes, $now);
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *$tx)
            .await?;
        for hash in hashes {
            sqlx::query("INSERT INTO mfa_recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)")
                .bind(uuid::Uuid::new_v4())
                .bind(user_id)
                .bind(hash)
                .bind(now)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}
pub(super) use insert_recovery_codes;

/// Revokes every live session and refresh token of `$user_id` inside transaction `$tx`;
/// evaluates to the number of sessions ended.
macro_rules! end_all_sessions {
    ($tx:expr, $user_id:expr, $now:expr) => {{
        let (user_id, now): (uuid::Uuid, chrono::DateTime<chrono::Utc>) = ($user_id, $now);
        let ended = sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(user_id)
        .bind(now)
        .execute(&mut *$tx)
        .await?;
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user_id)
            .bind(now)
            .execute(&mut *$tx)
            .await?;
        ended.rows_affected()
    }};
}
pub(super) use end_all_sessions;

/// Appends `(item, item, ...)` as binds, or `(NULL)` for no items (matching nothing: `x IN ()`
/// is not valid SQL). One way to bind a list on both engines: SQLite has no arrays.
pub(super) fn push_in_list<'args, DB, T>(q: &mut sqlx::QueryBuilder<'args, DB>, items: impl IntoIterator<Item = T>)
where
    DB: sqlx::Database,
    T: 'args + sqlx::Encode<'args, DB> + sqlx::Type<DB>,
{
    let mut items = items.into_iter().peekable();
    if items.peek().is_none() {
        q.push("(NULL)");
        return;
    }
    q.push("(");
    let mut list = q.separated(", ");
    for item in items {
        list.push_bind(item);
    }
    list.push_unseparated(")");
}

/// A way into an account besides its password: a linked identity or a passkey.
#[derive(Clone, Copy)]
pub(super) enum WayIn {
    Identity,
    Passkey,
}

/// Deletes one of the user's identities or passkeys, in one statement, only if the user keeps
/// another way to sign in (a password, or another identity or passkey). Returns whether a row
/// was deleted. The user's row lock makes two removals for the same user take turns: under
/// PostgreSQL's READ COMMITTED each would otherwise still count the other's row and both would
/// delete.
pub(super) async fn remove_way_in(
    db: &super::engine::Db,
    way: WayIn,
    user_id: uuid::Uuid,
    id: uuid::Uuid,
) -> super::StoreResult<bool> {
    let table = match way {
        WayIn::Identity => "oauth_accounts",
        WayIn::Passkey => "passkeys",
    };
    let sql = format!(
        "DELETE FROM {table} WHERE id = $2 AND user_id = $1 AND ( \
         EXISTS (SELECT 1 FROM users WHERE id = $1 AND password_hash IS NOT NULL) \
         OR (SELECT COUNT(*) FROM oauth_accounts WHERE user_id = $1) \
            + (SELECT COUNT(*) FROM passkeys WHERE user_id = $1) > 1)"
    );
    super::engine::on_engine!(db, |pool, d| {
        let mut tx = pool.begin().await?;
        d::lock_user_row(&mut tx, user_id).await?;
        let done = sqlx::query(&sql).bind(user_id).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    })
}
