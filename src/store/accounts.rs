//! Guarded account changes: lock, unlock, role change and deletion. Each is one transaction
//! that checks the last-admin rule and applies the change (and the session revocation it
//! implies) together; how the transaction serialises is the engine's
//! ([`dialect`](super::dialect) `lock_account`).

use super::cache::Change;
use super::engine::{on_engine, Db};
use super::shared::*;
use super::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The role and status of an account before an admin changed it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountState {
    pub role: String,
    pub is_active: bool,
}

/// What an admin's lock, unlock or role change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    NotFound,
    /// Refused: the account is the last active one holding an admin role (`users:write`), and
    /// the change would take that away. Nothing was written.
    LastAdmin,
    Changed {
        previous: AccountState,
        /// Sessions ended by the change (a lock or role change ends them all).
        sessions_revoked: u64,
    },
}

/// A change an admin makes to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountUpdate<'a> {
    Lock,
    Unlock,
    SetRole(&'a str),
    /// Removes the account and everything that hangs on it (sessions, tokens, factors,
    /// identities); its audit events stay, naming a user id that no longer exists.
    Delete,
}

impl AccountUpdate<'_> {
    /// Whether an account in `before` stops being an active admin (one of `admin_roles`).
    pub fn removes_admin(&self, before: &AccountState, admin_roles: &[String]) -> bool {
        let was_admin = before.is_active && admin_roles.contains(&before.role);
        let stays_admin = match self {
            AccountUpdate::Lock | AccountUpdate::Delete => false,
            AccountUpdate::Unlock => true,
            AccountUpdate::SetRole(role) => admin_roles.iter().any(|r| r == role),
        };
        was_admin && !stays_admin
    }

    /// Lock and role change end every session: the first so that a locked account's tokens
    /// stop working at once, the second because access tokens carry the old role. (A deleted
    /// account's sessions go with its row.)
    pub fn ends_sessions(&self, before: &AccountState) -> bool {
        match self {
            AccountUpdate::Lock => true,
            AccountUpdate::Unlock | AccountUpdate::Delete => false,
            AccountUpdate::SetRole(role) => *role != before.role,
        }
    }
}

pub struct Accounts<'a>(pub(super) &'a Db);

impl Accounts<'_> {
    /// Disables the account and ends all its sessions and refresh tokens, unless it is the last
    /// active account with one of `admin_roles` (`LastAdmin`).
    pub async fn lock(&self, user_id: Uuid, admin_roles: &[String], now: DateTime<Utc>) -> StoreResult<AccountChange> {
        self.change(user_id, AccountUpdate::Lock, admin_roles, now).await
    }

    /// Enables the account again. (`auth::admin::accounts::unlock` also clears the failed-login
    /// lockout, with `lockout().clear`.)
    pub async fn unlock(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<AccountChange> {
        self.change(user_id, AccountUpdate::Unlock, &[], now).await
    }

    /// Sets the role and, if it changed, ends the account's sessions (their access tokens carry
    /// the old role), unless that would leave no active account with one of `admin_roles`.
    pub async fn change_role(
        &self,
        user_id: Uuid,
        role: &str,
        admin_roles: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<AccountChange> {
        self.change(user_id, AccountUpdate::SetRole(role), admin_roles, now)
            .await
    }

    /// Deletes the account (its sessions, tokens, factors and identities with it), unless it is
    /// the last active one holding one of `admin_roles` (`LastAdmin`, nothing written).
    pub async fn delete(
        &self,
        user_id: Uuid,
        admin_roles: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<AccountChange> {
        self.change(user_id, AccountUpdate::Delete, admin_roles, now).await
    }

    async fn change(
        &self,
        user_id: Uuid,
        update: AccountUpdate<'_>,
        admin_roles: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<AccountChange> {
        self.0
            .changing(Change::User(user_id), async {
                on_engine!(self.0, |pool, d| {
                    let mut tx = pool.begin().await?;
                    let Some(previous) = d::lock_account(&mut tx, user_id, now).await? else {
                        return Ok(AccountChange::NotFound);
                    };
                    if update.removes_admin(&previous, admin_roles) {
                        let mut count = sqlx::QueryBuilder::<d::Engine>::new("SELECT COUNT(*) FROM users WHERE id <> ");
                        count.push_bind(user_id);
                        count.push(" AND is_active = TRUE AND role IN ");
                        push_in_list(&mut count, admin_roles.iter().map(String::as_str));
                        let others: i64 = count.build_query_scalar().fetch_one(&mut *tx).await?;
                        if others == 0 {
                            return Ok(AccountChange::LastAdmin);
                        }
                    }
                    let statement = match update {
                        AccountUpdate::Lock => "UPDATE users SET is_active = FALSE WHERE id = $1",
                        // The failed-login lockout (`login_failures`) is lifted by the caller.
                        AccountUpdate::Unlock => "UPDATE users SET is_active = TRUE WHERE id = $1",
                        AccountUpdate::SetRole(_) => "UPDATE users SET role = $2 WHERE id = $1",
                        AccountUpdate::Delete => "DELETE FROM users WHERE id = $1",
                    };
                    let mut query = sqlx::query(statement).bind(user_id);
                    if let AccountUpdate::SetRole(role) = update {
                        query = query.bind(role);
                    }
                    query.execute(&mut *tx).await?;
                    let sessions_revoked = if update.ends_sessions(&previous) {
                        end_all_sessions!(tx, user_id, now)
                    } else {
                        0
                    };
                    tx.commit().await?;
                    Ok(AccountChange::Changed {
                        previous,
                        sessions_revoked,
                    })
                })
            })
            .await
    }
}
