//! Reading the audit log through the admin API (`audit:read`): filter by user, event type,
//! outcome and a time range `[from, to)`, newest first, one page at a time.

use crate::auth::services::Services;
use crate::domain::Paging;
use crate::error::Result;
use crate::store::{AuditEvent, AuditFilter};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Which audit events to show; every field has been checked by the caller.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub user_id: Option<Uuid>,
    pub event_type: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub outcome: Option<crate::audit::Outcome>,
    pub paging: Paging,
}

pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub total: i64,
    pub paging: Paging,
}

pub async fn query(state: &Services, q: &AuditQuery) -> Result<AuditPage> {
    let filter = AuditFilter {
        user_id: q.user_id,
        event_type: q.event_type.clone(),
        from: q.from,
        to: q.to,
        outcome: q.outcome.map(|o| o.as_str().to_string()),
        limit: q.paging.limit(),
        offset: q.paging.offset(),
    };
    let (events, total) = state.store.audit().query(&filter).await?;
    Ok(AuditPage {
        events,
        total,
        paging: q.paging,
    })
}
