//! An operator removing a user's MFA (`POST /api/admin/users/{id}/mfa/reset` and
//! `gatehouse admin reset-mfa`): the way back in for an owner who lost every factor, or whose
//! account someone else enrolled an authenticator on. A password reset deliberately leaves MFA
//! on (it must not be a bypass), so this is the only other way off.
//!
//! Every session of the account ends with it (whoever enrolled the factor may hold one), the
//! owner is mailed, and the action is audited with who did it.

use super::challenge::CHALLENGES;
use crate::audit::{self, Outcome};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::extract::ClientInfo;
use crate::mail::templates::{mail_time, render, Template};
use crate::store::{NewMail, Store, TokenPurpose, UserRecord};
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
    store: &dyn Store,
    clock: &dyn Clock,
    app_name: &str,
    user: &UserRecord,
    by: ResetBy,
    client: &ClientInfo,
) -> Result<u64> {
    if !user.mfa_enabled {
        return Err(Error::bad_request(
            "mfa_not_enabled",
            "two-step sign-in is not enabled on this account; there is nothing to reset",
        ));
    }
    let now = clock.now();
    store.disable_mfa(user.id, now).await?;
    let mut purposes = CHALLENGES.to_vec();
    purposes.push(TokenPurpose::MfaEmailCode);
    store.revoke_one_time_tokens(user.id, &purposes, now).await?;
    let sessions_revoked = store.revoke_user_sessions(user.id, None, now).await?;
    let name = user.first_name.clone().unwrap_or_default();
    let mail = render(
        Template::MfaReset,
        &[("app", app_name), ("name", &name), ("when", &mail_time(now))],
    );
    store
        .enqueue_mail(&NewMail {
            id: Uuid::new_v4(),
            recipient: user.email.clone(),
            subject: mail.subject,
            text_body: mail.text,
            html_body: mail.html,
            created_at: now,
        })
        .await?;
    let details = match by {
        ResetBy::Admin(actor) => json!({ "by": "admin", "actor_id": actor, "sessions_revoked": sessions_revoked }),
        ResetBy::Cli => json!({ "by": "cli", "sessions_revoked": sessions_revoked }),
    };
    audit::record(
        store,
        now,
        "mfa_reset",
        Some(user.id),
        client,
        Outcome::Success,
        details,
    )
    .await;
    Ok(sessions_revoked)
}
