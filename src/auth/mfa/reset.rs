//! An operator removing a user's MFA (`DELETE /api/admin/users/{id}/mfa` and
//! `gatehouse admin reset-mfa`): the way back in for an owner who lost every factor, or whose
//! account someone else enrolled an authenticator on. A password reset deliberately leaves MFA
//! on (it must not be a bypass), so this is the only other way off.
//!
//! Every session of the account ends with it (whoever enrolled the factor may hold one), the
//! owner is mailed, and the action is audited with who did it.

use crate::audit::{self, EventKind, Outcome};
use crate::client::ClientInfo;
use crate::clock::Clock;
use crate::error::{Error, ErrorCode, Result};
use crate::mail::templates::{mail_time, Template};
use crate::mail::Outbox;
use crate::store::{Store, UserRecord};
use serde_json::json;
use uuid::Uuid;

/// Who removed the factors, for the audit trail.
#[derive(Debug, Clone, Copy)]
pub enum ResetBy {
    /// An admin through the API.
    Admin(Uuid),
    /// An operator on the command line.
    Cli,
}

/// Removes every factor and recovery code of `user`, ends its sessions and mails the owner.
/// Answers how many sessions ended. `400 mfa_not_enabled` when there is nothing to remove.
pub async fn reset(
    store: &Store,
    outbox: &Outbox,
    clock: &dyn Clock,
    app_name: &str,
    user: &UserRecord,
    by: ResetBy,
    client: &ClientInfo,
) -> Result<u64> {
    if !user.mfa_enabled {
        return Err(Error::new(
            ErrorCode::MfaNotEnabled,
            "two-step sign-in is not enabled on this account; there is nothing to reset",
        ));
    }
    let now = clock.now();
    super::remove_factors(store, user.id, now).await?;
    let sessions_revoked = store.sessions().revoke_all_of_user(user.id, None, now).await?;
    let name = user.first_name.clone().unwrap_or_default();
    let mail = outbox.render(
        Template::MfaReset,
        &[("app", app_name), ("name", &name), ("when", &mail_time(now))],
    );
    outbox.enqueue(&user.email, mail).await?;
    let details = match by {
        ResetBy::Admin(actor) => json!({ "by": "admin", "actor_id": actor, "sessions_revoked": sessions_revoked }),
        ResetBy::Cli => json!({ "by": "cli", "sessions_revoked": sessions_revoked }),
    };
    audit::Event {
        kind: EventKind::MfaReset,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details,
    }
    .record(store, now)
    .await;
    Ok(sessions_revoked)
}
