//! Who may use the admin API. Checks name permissions, never roles: which roles hold a
//! permission is configuration (`ROLE_PERMISSIONS`), so a deployment with its own role set
//! (seed 002's `analyst`, `reviewer`) gets a working admin API without a code change.
//!
//! The role checked is the access token's `role` claim. That is current because every admin
//! role change ends the account's sessions (so no token with the old role stays usable), and the
//! `AuthUser` extractor has already checked the session is live.

use crate::auth::services::Services;
use crate::auth::sessions::AuthUser;
use crate::error::{Error, ErrorCode, Result};

/// List and view users.
pub const USERS_READ: &str = "users:read";
/// Lock, unlock, change roles, end sessions. Accounts with it are "admins" for the last-admin rule.
pub const USERS_WRITE: &str = "users:write";
/// Read the audit log.
pub const AUDIT_READ: &str = "audit:read";

/// `Ok` when the caller's role holds `permission`; otherwise `403 permission_denied`.
pub fn require(state: &Services, caller: &AuthUser, permission: &str) -> Result<()> {
    if state.config.roles.allows(&caller.role, permission) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::PermissionDenied,
            format!("this needs the {permission} permission, which your role does not have"),
        ))
    }
}

/// The configured roles that hold `users:write`: at least one active account must keep one.
pub fn admin_roles(state: &Services) -> Vec<String> {
    state
        .config
        .roles
        .iter()
        .filter(|r| r.permissions.iter().any(|p| p.as_str() == USERS_WRITE))
        .map(|r| r.name.as_str().to_string())
        .collect()
}

/// The refusal of a change that would leave no active account in [`admin_roles`].
pub fn last_admin() -> Error {
    Error::new(
        ErrorCode::LastAdmin,
        "this would leave no active account that can manage users (users:write); give another account such a role first",
    )
}
