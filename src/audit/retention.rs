//! Audit retention: events older than `AUDIT_RETENTION_DAYS` (default 90) are removed, so the
//! trail does not grow without bound and personal data (IPs, user agents) is not kept longer
//! than needed (GDPR art. 5(1)(e)). `0` or `off` keeps everything.
//!
//! With `AUDIT_EXPORT_PATH` every event is first appended to that file as one JSON object per
//! line and the file is fsynced; only then are exactly the exported events deleted (by id, so
//! an event written meanwhile is never lost). If the delete fails after an export, the next
//! sweep exports those events again: the export is at-least-once, never lossy. Each instance
//! sweeps; deletes are idempotent, so several instances on one database only cost duplicate
//! lines if they share one export file.
//!
//! The same sweep drops what expired and is only clutter: failed-login counters past
//! `LOCKOUT_DURATION` and passkey ceremonies that were started and never finished.
//!
//! The job sweeps at start and then every hour, in batches of [`BATCH`] events, against the
//! injected clock. Tests (and operators embedding gatehouse) call [`AuditRetention::sweep`].

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::store::{AuditEvent, Store};
use anyhow::Context;
use chrono::Duration;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{watch, Mutex};
use uuid::Uuid;

/// Events exported and deleted per round trip.
pub const BATCH: i64 = 500;
const INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Clone)]
pub struct AuditRetention {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    keep: Option<Duration>,
    export_path: Option<PathBuf>,
    /// Failed-login counts older than this (`LOCKOUT_DURATION`) no longer count; the sweep
    /// drops them, so names tried against accounts that do not exist do not pile up.
    forget_login_failures_after: Option<Duration>,
    /// One sweep at a time per process, so a sweep called by hand never exports the same
    /// batch as the periodic one.
    running: Arc<Mutex<()>>,
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub exported: u64,
    pub deleted: u64,
    /// Expired failed-login counters removed.
    pub login_failures_pruned: u64,
    /// Passkey ceremonies started and never finished, removed once expired.
    pub ceremonies_pruned: u64,
}

/// One exported line: the event with its `details` as a JSON object, not a string.
#[derive(Serialize)]
struct ExportedEvent<'a> {
    id: Uuid,
    occurred_at: chrono::DateTime<chrono::Utc>,
    #[serde(rename = "type")]
    event_type: &'a str,
    user_id: Option<Uuid>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    outcome: &'a str,
    details: serde_json::Value,
}

impl<'a> ExportedEvent<'a> {
    fn of(e: &'a AuditEvent) -> Self {
        Self {
            id: e.id,
            occurred_at: e.occurred_at,
            event_type: &e.event_type,
            user_id: e.user_id,
            ip: e.ip.as_deref(),
            user_agent: e.user_agent.as_deref(),
            outcome: &e.outcome,
            details: serde_json::from_str(&e.details).unwrap_or_else(|_| e.details.clone().into()),
        }
    }
}

impl AuditRetention {
    pub fn new(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        keep: Option<Duration>,
        export_path: Option<PathBuf>,
    ) -> Self {
        Self {
            store,
            clock,
            metrics,
            keep,
            export_path,
            forget_login_failures_after: None,
            running: Arc::new(Mutex::new(())),
        }
    }

    /// Also drops failed-login counters (and ended locks) older than `window` at each sweep.
    pub fn forgetting_login_failures_after(mut self, window: Duration) -> Self {
        self.forget_login_failures_after = Some(window);
        self
    }

    /// Checks at start-up that the export file can be opened for appending, so a wrong path
    /// stops the server with a clear message instead of failing an hour later.
    pub fn check_export_path(&self) -> anyhow::Result<()> {
        if let Some(path) = &self.export_path {
            open_for_append(path)?;
        }
        Ok(())
    }

    /// Removes (exporting first, if configured) every event older than the retention window.
    pub async fn sweep(&self) -> anyhow::Result<SweepReport> {
        let _one_at_a_time = self.running.lock().await;
        let mut report = SweepReport::default();
        if let Some(window) = self.forget_login_failures_after {
            report.login_failures_pruned = self.store.lockout().prune(self.clock.now() - window).await?;
        }
        report.ceremonies_pruned = self.store.passkeys().prune_ceremonies(self.clock.now()).await?;
        let Some(keep) = self.keep else {
            return Ok(report);
        };
        let cutoff = self.clock.now() - keep;
        loop {
            let batch = self.store.audit().before(cutoff, BATCH).await?;
            if batch.is_empty() {
                break;
            }
            if let Some(path) = &self.export_path {
                report.exported += export(path.clone(), &batch).await? as u64;
            }
            let ids: Vec<Uuid> = batch.iter().map(|e| e.id).collect();
            let deleted = self.store.audit().delete(&ids).await?;
            report.deleted += deleted;
            self.metrics.audit_events_removed(deleted);
            if (batch.len() as i64) < BATCH {
                break;
            }
        }
        if report.deleted > 0 {
            tracing::info!(
                deleted = report.deleted,
                exported = report.exported,
                "audit retention removed old events"
            );
        }
        Ok(report)
    }

    /// Sweeps now, then every hour, until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if self.keep.is_none() {
            // The sweep still drops expired lockout counters and passkey ceremonies.
            tracing::info!("audit retention is off (AUDIT_RETENTION_DAYS=0): audit events are kept forever");
        }
        loop {
            if let Err(e) = self.sweep().await {
                tracing::error!(error = %format!("{e:#}"), "audit retention sweep failed; it is retried in an hour");
            }
            tokio::select! {
                _ = tokio::time::sleep(INTERVAL) => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }
}

fn open_for_append(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| {
            format!(
                "AUDIT_EXPORT_PATH={}: cannot open the file for appending",
                path.display()
            )
        })
}

/// Appends the batch as JSON Lines and fsyncs, off the async runtime (file I/O blocks).
async fn export(path: PathBuf, batch: &[AuditEvent]) -> anyhow::Result<usize> {
    let mut lines = Vec::new();
    for event in batch {
        serde_json::to_writer(&mut lines, &ExportedEvent::of(event))?;
        lines.push(b'\n');
    }
    let count = batch.len();
    tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let mut file = open_for_append(&path)?;
        file.write_all(&lines)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("AUDIT_EXPORT_PATH={}: could not write the export", path.display()))?;
        Ok(count)
    })
    .await?
}
