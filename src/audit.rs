//! The audit trail: one row per security event, with who, from where and the outcome, never a
//! secret (no passwords, tokens or codes; emails only where they identify a failed attempt on an
//! unknown account). Writing it must not fail the request it describes, so errors are logged.

pub mod retention;

use crate::client::ClientInfo;
use crate::store::{AuditEvent, Store};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    /// How the outcome is stored and shown: `success` or `failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// What happened: the `type` of an audit event, as stored and as `GET /api/admin/audit-events?type=`
/// filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Login,
    Register,
    Logout,
    EmailVerification,
    SessionRevoked,
    RoleChanged,
    MfaDisabled,
    MfaStepUp,
    ProfileUpdate,
    SessionsRevoked,
    RefreshTokenReuseDetected,
    AccountLocked,
    AccountUnlocked,
    EmailChanged,
    EmailChangeRequested,
    PasswordResetRequested,
    PasswordReset,
    PasswordChange,
    AccountDeleted,
    MfaEnrolment,
    MfaEnabled,
    MfaRecoveryCodesRegenerated,
    MfaChallenge,
    MfaReset,
    IdentityLinked,
    IdentityUnlinked,
    PasskeyAdded,
    PasskeyRenamed,
    PasskeyDeleted,
    /// An assertion whose signature counter did not move forward: the key may have been copied.
    PasskeyCloneSuspected,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Login => "login",
            EventKind::Register => "register",
            EventKind::Logout => "logout",
            EventKind::EmailVerification => "email_verification",
            EventKind::SessionRevoked => "session_revoked",
            EventKind::RoleChanged => "role_changed",
            EventKind::MfaDisabled => "mfa_disabled",
            EventKind::MfaStepUp => "mfa_step_up",
            EventKind::ProfileUpdate => "profile_update",
            EventKind::SessionsRevoked => "sessions_revoked",
            EventKind::RefreshTokenReuseDetected => "refresh_token_reuse_detected",
            EventKind::AccountLocked => "account_locked",
            EventKind::AccountUnlocked => "account_unlocked",
            EventKind::EmailChanged => "email_changed",
            EventKind::EmailChangeRequested => "email_change_requested",
            EventKind::PasswordResetRequested => "password_reset_requested",
            EventKind::PasswordReset => "password_reset",
            EventKind::PasswordChange => "password_change",
            EventKind::AccountDeleted => "account_deleted",
            EventKind::MfaEnrolment => "mfa_enrolment",
            EventKind::MfaEnabled => "mfa_enabled",
            EventKind::MfaRecoveryCodesRegenerated => "mfa_recovery_codes_regenerated",
            EventKind::MfaChallenge => "mfa_challenge",
            EventKind::MfaReset => "mfa_reset",
            EventKind::IdentityLinked => "identity_linked",
            EventKind::IdentityUnlinked => "identity_unlinked",
            EventKind::PasskeyAdded => "passkey_added",
            EventKind::PasskeyRenamed => "passkey_renamed",
            EventKind::PasskeyDeleted => "passkey_deleted",
            EventKind::PasskeyCloneSuspected => "passkey_clone_suspected",
        }
    }
}

/// One audit event, before it is written.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub kind: EventKind,
    /// The account it is about (`None`: a failed attempt on an unknown account).
    pub user_id: Option<Uuid>,
    pub client: &'a ClientInfo,
    pub outcome: Outcome,
    /// Event-specific facts (`{"method": "password"}`, `{"reason": ...}`); never a secret.
    pub details: Value,
}

impl Event<'_> {
    /// Writes the event as of `now`. A failure to write is logged, not returned: the request
    /// the event describes has happened either way.
    pub async fn record(self, store: &Store, now: DateTime<Utc>) {
        let event = AuditEvent {
            id: Uuid::new_v4(),
            occurred_at: now,
            event_type: self.kind.as_str().to_string(),
            user_id: self.user_id,
            ip: self.client.ip.clone(),
            user_agent: self.client.user_agent.clone(),
            outcome: self.outcome.as_str().to_string(),
            details: self.details.to_string(),
        };
        if let Err(e) = store.audit().record(&event).await {
            tracing::error!(error = %e, event_type = self.kind.as_str(), "could not write audit event");
        }
    }
}
