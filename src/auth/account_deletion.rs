//! Deleting an account, by its owner (`DELETE /api/auth/me`) or by an admin
//! (`DELETE /api/admin/users/{id}`).
//!
//! - The owner proves they own the account now ([`reauthentication::prove_owner`]): a stolen
//!   access token cannot delete it.
//! - No deletion may leave the deployment without an active account holding `users:write`
//!   (`409 last_admin`), checked in the transaction that deletes.
//! - The row goes with everything that hangs on it, in that one transaction: sessions (so every
//!   token of the account stops working at once), one-time links and codes, MFA factors,
//!   provider identities, pending address changes, password history. The address can register
//!   again. Audit events stay, naming an id that no longer exists, until `AUDIT_RETENTION_DAYS`
//!   removes them: the trail of who did what must outlive the account.
//! - The address is told by mail, so an owner whose session was abused hears of it.

use crate::audit::{self, EventKind, Outcome};
use crate::auth::admin::access;
use crate::auth::reauthentication;
use crate::auth::services::Services;
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::Password;
use crate::error::Result;
use crate::mail::templates::Template;
use crate::store::{AccountChange, UserRecord};
use serde_json::{json, Value};

/// The caller deletes their own account.
pub async fn delete_own(
    state: &Services,
    caller: &AuthUser,
    current_password: Option<&Password>,
    client: &ClientInfo,
) -> Result<()> {
    let user =
        reauthentication::prove_owner(state, caller, current_password, EventKind::AccountDeleted, client).await?;
    match delete(state, &user).await? {
        AccountChange::Changed { .. } | AccountChange::NotFound => {
            record(state, &user, client, Outcome::Success, json!({ "by": "self" })).await;
            Ok(())
        }
        AccountChange::LastAdmin => {
            record(
                state,
                &user,
                client,
                Outcome::Failure,
                json!({ "by": "self", "refused": "last_admin" }),
            )
            .await;
            Err(access::last_admin())
        }
    }
}

/// Deletes `user` and, if it was deleted, tells their address. Audit is the caller's: it knows
/// who asked.
pub(crate) async fn delete(state: &Services, user: &UserRecord) -> Result<AccountChange> {
    let now = state.now();
    let change = state
        .store
        .accounts()
        .delete(user.id, &access::admin_roles(state), now)
        .await?;
    if !matches!(change, AccountChange::Changed { .. }) {
        return Ok(change);
    }
    crate::auth::lockout::clear_all(state, user).await?;
    let name = user.first_name.clone().unwrap_or_default();
    let when = crate::mail::templates::mail_time(now);
    let mail = state.outbox.render(
        Template::AccountDeleted,
        &[("app", &state.config.app_name), ("name", &name), ("when", &when)],
    );
    state.outbox.enqueue(&user.email, mail).await?;
    Ok(change)
}

async fn record(state: &Services, user: &UserRecord, client: &ClientInfo, outcome: Outcome, details: Value) {
    audit::Event {
        kind: EventKind::AccountDeleted,
        user_id: Some(user.id),
        client,
        outcome,
        details,
    }
    .record(state.store.as_ref(), state.now())
    .await;
}
