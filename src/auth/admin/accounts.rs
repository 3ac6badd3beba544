//! User management for the admin API: list and view accounts, lock and unlock them, change
//! their role, end their sessions, delete them.
//!
//! Callers have passed the permission check of the route (`users:read` to view, `users:write`
//! to change; see [`super::access`]). Rules kept here:
//! - A lock disables the account (`is_active = false`, so sign-in answers `account_disabled`)
//!   and ends all its sessions in the same transaction, so its tokens stop working at once.
//!   It lasts until an admin unlocks the account.
//! - An admin cannot lock themselves, and no lock or role change may leave the deployment
//!   without an active account holding `users:write` (`409 last_admin`), checked in the same
//!   transaction as the change so two admins demoting each other cannot both succeed.
//! - A role change ends the account's sessions: access tokens carry the role, so a demoted
//!   admin's token must not keep its powers for its remaining lifetime. The user signs in again
//!   and gets a token with the new role.
//! - Every action is audited with the acting admin (`actor_id`), the target (`user_id`), IP,
//!   user agent and outcome; refused actions are audited as failures.

use crate::audit::{self, EventKind, Outcome};
use crate::auth::account_deletion;
use crate::auth::admin::access::{self, last_admin};
use crate::auth::services::Services;
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::{AccountStatus, AdminReason, Paging, RoleName, SearchText};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{AccountChange, UserActivity, UserFilter, UserRecord};
use serde_json::{json, Value};
use uuid::Uuid;

/// Which users to list.
#[derive(Debug, Clone, Default)]
pub struct UserListQuery {
    pub search: Option<SearchText>,
    pub role: Option<RoleName>,
    pub status: Option<AccountStatus>,
    pub paging: Paging,
}

pub struct UserPage {
    pub users: Vec<UserRecord>,
    pub total: i64,
    pub paging: Paging,
}

pub struct UserDetail {
    pub user: UserRecord,
    pub activity: UserActivity,
}

fn user_not_found() -> Error {
    Error::new(ErrorCode::UserNotFound, "no user has this id")
}

pub async fn list_users(state: &Services, query: &UserListQuery) -> Result<UserPage> {
    let filter = UserFilter {
        search: query.search.as_ref().map(SearchText::like_pattern),
        role: query.role.as_ref().map(|r| r.as_str().to_string()),
        active: query.status.map(AccountStatus::is_active),
        limit: query.paging.limit(),
        offset: query.paging.offset(),
    };
    let (users, total) = state.store.users().list(&filter).await?;
    Ok(UserPage {
        users,
        total,
        paging: query.paging,
    })
}

pub async fn user_detail(state: &Services, id: Uuid) -> Result<UserDetail> {
    let user = state.store.users().by_id(id).await?.ok_or_else(user_not_found)?;
    let activity = state.store.users().activity(id, state.now()).await?;
    Ok(UserDetail { user, activity })
}

/// Records an admin action on `target`, naming the admin who did it.
async fn audit_action(
    state: &Services,
    event_type: EventKind,
    actor: &AuthUser,
    target: Uuid,
    client: &ClientInfo,
    outcome: Outcome,
    mut details: Value,
) {
    details["actor_id"] = json!(actor.user_id);
    audit::Event {
        kind: event_type,
        user_id: Some(target),
        client,
        outcome,
        details,
    }
    .record(state.store.as_ref(), state.now())
    .await;
}

fn reason_json(reason: Option<&AdminReason>) -> Value {
    reason.map_or(Value::Null, |r| json!(r.as_str()))
}

/// Disables the account until an admin unlocks it and ends its sessions.
pub async fn lock(
    state: &Services,
    actor: &AuthUser,
    target: Uuid,
    reason: Option<AdminReason>,
    client: &ClientInfo,
) -> Result<UserDetail> {
    let reason_value = reason_json(reason.as_ref());
    if target == actor.user_id {
        audit_action(
            state,
            EventKind::AccountLocked,
            actor,
            target,
            client,
            Outcome::Failure,
            json!({ "reason": reason_value, "refused": "cannot_lock_self" }),
        )
        .await;
        return Err(Error::new(
            ErrorCode::CannotLockSelf,
            "you cannot lock your own account; ask another admin",
        ));
    }
    let change = state
        .store
        .accounts()
        .lock(target, &access::admin_roles(state), state.now())
        .await?;
    match change {
        AccountChange::NotFound => Err(user_not_found()),
        AccountChange::LastAdmin => {
            audit_action(
                state,
                EventKind::AccountLocked,
                actor,
                target,
                client,
                Outcome::Failure,
                json!({ "reason": reason_value, "refused": "last_admin" }),
            )
            .await;
            Err(last_admin())
        }
        AccountChange::Changed {
            previous,
            sessions_revoked,
        } => {
            audit_action(
                state,
                EventKind::AccountLocked,
                actor,
                target,
                client,
                Outcome::Success,
                json!({ "reason": reason_value, "was_active": previous.is_active, "sessions_revoked": sessions_revoked }),
            )
            .await;
            user_detail(state, target).await
        }
    }
}

/// Enables the account again (and lifts a failed-login lockout: see `Store::unlock_user`).
pub async fn unlock(
    state: &Services,
    actor: &AuthUser,
    target: Uuid,
    reason: Option<AdminReason>,
    client: &ClientInfo,
) -> Result<UserDetail> {
    match state.store.accounts().unlock(target, state.now()).await? {
        AccountChange::NotFound => Err(user_not_found()),
        // Unlocking never removes an admin; the store does not refuse it.
        AccountChange::LastAdmin => Err(last_admin()),
        AccountChange::Changed { previous, .. } => {
            // Lift every failed-login lock too (what the owner's unlock link does).
            if let Some(user) = state.store.users().by_id(target).await? {
                crate::auth::lockout::clear_all(state, &user).await?;
            }
            audit_action(
                state,
                EventKind::AccountUnlocked,
                actor,
                target,
                client,
                Outcome::Success,
                json!({ "reason": reason_json(reason.as_ref()), "was_active": previous.is_active }),
            )
            .await;
            user_detail(state, target).await
        }
    }
}

/// Gives the account `role` (one of `ROLES`) and ends its sessions if the role changed.
pub async fn change_role(
    state: &Services,
    actor: &AuthUser,
    target: Uuid,
    role: &RoleName,
    client: &ClientInfo,
) -> Result<UserDetail> {
    if !state.config.roles.contains(role.as_str()) {
        let names: Vec<&str> = state.config.roles.iter().map(|r| r.name.as_str()).collect();
        return Err(Error::field(
            "role",
            "unknown_role",
            format!("must be one of the configured roles: {}", names.join(", ")),
        ));
    }
    let change = state
        .store
        .accounts()
        .change_role(target, role.as_str(), &access::admin_roles(state), state.now())
        .await?;
    match change {
        AccountChange::NotFound => Err(user_not_found()),
        AccountChange::LastAdmin => {
            audit_action(
                state,
                EventKind::RoleChanged,
                actor,
                target,
                client,
                Outcome::Failure,
                json!({ "to": role.as_str(), "by": "admin", "refused": "last_admin" }),
            )
            .await;
            Err(last_admin())
        }
        AccountChange::Changed {
            previous,
            sessions_revoked,
        } => {
            if previous.role != role.as_str() {
                audit_action(
                    state,
                    EventKind::RoleChanged,
                    actor,
                    target,
                    client,
                    Outcome::Success,
                    json!({ "from": previous.role, "to": role.as_str(), "by": "admin", "sessions_revoked": sessions_revoked }),
                )
                .await;
            }
            user_detail(state, target).await
        }
    }
}

/// Ends every session of the account (its refresh and access tokens stop working at once).
pub async fn revoke_sessions(state: &Services, actor: &AuthUser, target: Uuid, client: &ClientInfo) -> Result<u64> {
    if state.store.users().by_id(target).await?.is_none() {
        return Err(user_not_found());
    }
    let ended = state
        .store
        .sessions()
        .revoke_all_of_user(target, None, state.now())
        .await?;
    audit_action(
        state,
        EventKind::SessionsRevoked,
        actor,
        target,
        client,
        Outcome::Success,
        json!({ "reason": "admin", "sessions_revoked": ended }),
    )
    .await;
    Ok(ended)
}

/// Removes the account's MFA (see [`crate::auth::mfa::reset`]).
pub async fn reset_mfa(state: &Services, actor: &AuthUser, target: Uuid, client: &ClientInfo) -> Result<u64> {
    use crate::auth::mfa::reset::{reset, ResetBy};
    let user = state.store.users().by_id(target).await?.ok_or_else(user_not_found)?;
    reset(
        state.store.as_ref(),
        &state.outbox,
        state.clock.as_ref(),
        &state.config.app_name,
        &user,
        ResetBy::Admin(actor.user_id),
        client,
    )
    .await
}

/// Deletes the account (see [`crate::auth::account_deletion`]); admins delete their own
/// through `DELETE /api/auth/me`, which asks for their password.
pub async fn delete(state: &Services, actor: &AuthUser, target: Uuid, client: &ClientInfo) -> Result<()> {
    if target == actor.user_id {
        return Err(Error::new(
            ErrorCode::CannotDeleteSelf,
            "delete your own account with DELETE /api/auth/me (it asks for your password)",
        ));
    }
    let user = state.store.users().by_id(target).await?.ok_or_else(user_not_found)?;
    match account_deletion::delete(state, &user).await? {
        AccountChange::NotFound => Err(user_not_found()),
        AccountChange::LastAdmin => {
            audit_action(
                state,
                EventKind::AccountDeleted,
                actor,
                target,
                client,
                Outcome::Failure,
                json!({ "by": "admin", "refused": "last_admin" }),
            )
            .await;
            Err(last_admin())
        }
        AccountChange::Changed { .. } => {
            audit_action(
                state,
                EventKind::AccountDeleted,
                actor,
                target,
                client,
                Outcome::Success,
                json!({ "by": "admin" }),
            )
            .await;
            Ok(())
        }
    }
}
