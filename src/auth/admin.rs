//! Operator actions run from the command line (`gatehouse admin create`): how the first admin
//! comes to exist before there is anyone to call an admin API. Every change is audited.
//!
//! The admin HTTP API's rules live in the submodules: [`access`] (permissions), [`accounts`]
//! (user management) and [`audit_log`] (reading the audit trail).

pub mod access;
pub mod accounts;
pub mod audit_log;

use crate::audit::{self, EventKind, Outcome};
use crate::auth::password::PasswordHasher;
use crate::client::ClientInfo;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{Email, Password, PasswordContext};
use crate::store::{NewUser, Store, UserRecord};
use anyhow::{bail, Context};
use serde_json::json;

/// What `create_admin` did.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminOutcome {
    Created,
    RoleChanged { from: String },
    Unchanged,
}

/// Gives `email` the role `role`: an existing account is promoted; with `password`, a missing
/// account is created (email taken as verified: the operator vouches for it).
pub async fn create_admin(
    store: &Store,
    config: &Config,
    clock: &dyn Clock,
    email: &str,
    role: &str,
    password: Option<&str>,
) -> anyhow::Result<(UserRecord, AdminOutcome)> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email {}", e.message))?;
    if !config.roles.contains(role) {
        let names: Vec<&str> = config.roles.iter().map(|r| r.name.as_str()).collect();
        bail!(
            "--role must be one of the configured roles (ROLES): {}",
            names.join(", ")
        );
    }
    let now = clock.now();
    let cli = ClientInfo {
        ip: None,
        user_agent: Some("gatehouse admin create".into()),
    };
    if let Some(user) = store.users().by_email(&email.canonical()).await? {
        if user.role == role {
            return Ok((user, AdminOutcome::Unchanged));
        }
        // As through the admin API, the account's sessions end: their tokens carry the old role.
        // No last-admin guard here: the CLI is how an operator repairs the roles.
        let sessions_revoked = match store.accounts().change_role(user.id, role, &[], now).await? {
            crate::store::AccountChange::Changed { sessions_revoked, .. } => sessions_revoked,
            _ => bail!("the account {email} disappeared while its role was changed"),
        };
        audit::Event {
            kind: EventKind::RoleChanged,
            user_id: Some(user.id),
            client: &cli,
            outcome: Outcome::Success,
            details: json!({ "from": user.role, "to": role, "by": "cli", "sessions_revoked": sessions_revoked }),
        }
        .record(store, now)
        .await;
        let from = user.role.clone();
        let user = store.users().by_id(user.id).await?.context("the account disappeared")?;
        return Ok((user, AdminOutcome::RoleChanged { from }));
    }
    let Some(raw) = password else {
        bail!("no account has the address {email}; register it first, or pass --password-stdin to create it here");
    };
    let rules = config.password_rules();
    let ctx = PasswordContext {
        email: Some(&email),
        first_name: None,
        last_name: None,
        username: None,
        rules: &rules,
    };
    let password = Password::parse(raw, &ctx).map_err(|e| anyhow::anyhow!("the password {}", e.message))?;
    let hasher = PasswordHasher::new(1)?;
    let user = store
        .users()
        .create(&NewUser::with_confirmed_email(
            &email,
            role,
            Some(hasher.hash(&password).await?),
            now,
        ))
        .await?;
    audit::Event {
        kind: EventKind::RoleChanged,
        user_id: Some(user.id),
        client: &cli,
        outcome: Outcome::Success,
        details: json!({ "from": null, "to": role, "by": "cli", "created": true }),
    }
    .record(store, now)
    .await;
    Ok((user, AdminOutcome::Created))
}
