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

pub async fn record(
    store: &Store,
    now: DateTime<Utc>,
    event_type: &str,
    user_id: Option<Uuid>,
    client: &ClientInfo,
    outcome: Outcome,
    details: Value,
) {
    let event = AuditEvent {
        id: Uuid::new_v4(),
        occurred_at: now,
        event_type: event_type.to_string(),
        user_id,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        outcome: match outcome {
            Outcome::Success => "success".into(),
            Outcome::Failure => "failure".into(),
        },
        details: details.to_string(),
    };
    if let Err(e) = store.audit().record(&event).await {
        tracing::error!(error = %e, event_type, "could not write audit event");
    }
}
