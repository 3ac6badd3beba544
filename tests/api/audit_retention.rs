//! Audit retention: events older than `AUDIT_RETENTION_DAYS` are removed by the sweep (after
//! being appended to `AUDIT_EXPORT_PATH` when set), newer ones stay.

use crate::admin_support::*;
use crate::both;
use crate::common::*;
use chrono::{Duration, SecondsFormat};
use serde_json::Value;
use std::collections::BTreeSet;

/// Makes audit events at "now" and returns the ids of every event before `cutoff`.
async fn ids_before(app: &TestApp, token: &str, cutoff: chrono::DateTime<chrono::Utc>) -> BTreeSet<String> {
    let to = cutoff.to_rfc3339_opts(SecondsFormat::Secs, true);
    audit(app, token, &format!("to={to}&per_page=100"))
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

async fn old_events_are_exported_then_removed_and_new_ones_kept(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("audit-export.jsonl");
    let path = export.clone();
    let app = TestApp::spawn_configured(backend, move |c| {
        c.audit_retention = Some(Duration::days(30));
        c.audit_export_path = Some(path);
    })
    .await;
    let start = app.state.now();
    let old = account(&app, "old@example.com", None).await;
    app.login(&old.email, "a wrong password for sure").await;
    app.advance(Duration::days(31));
    let auditor = account(&app, "auditor@example.com", Some("moderator")).await;
    let token = &auditor.tokens.access;
    let cutoff = start + Duration::days(1);
    let old_ids = ids_before(&app, token, cutoff).await;
    assert!(old_ids.len() >= 4, "register, verify, 2 logins: {old_ids:?}");
    let newer_before: usize = audit(&app, token, "per_page=100").await.len() - old_ids.len();

    let report = app.state.audit_retention.sweep().await.unwrap();
    assert_eq!(report.deleted as usize, old_ids.len());
    assert_eq!(report.exported as usize, old_ids.len());
    assert!(ids_before(&app, token, cutoff).await.is_empty(), "old events are gone");
    let remaining = audit(&app, token, "per_page=100").await;
    assert!(remaining.len() >= newer_before, "newer events are kept");
    assert!(remaining
        .iter()
        .all(|e| { chrono::DateTime::parse_from_rfc3339(e["occurred_at"].as_str().unwrap()).unwrap() >= cutoff }));

    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let exported: BTreeSet<String> = lines.iter().map(|l| l["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(exported, old_ids, "exactly the deleted events were exported");
    let failure = lines
        .iter()
        .find(|l| l["type"] == "login" && l["outcome"] == "failure")
        .expect("the failed login is in the export");
    assert_eq!(failure["user_id"], old.id.to_string());
    assert_eq!(
        failure["details"]["reason"], "invalid_credentials",
        "details stay an object"
    );

    // A second sweep finds nothing and writes nothing.
    let again = app.state.audit_retention.sweep().await.unwrap();
    assert_eq!((again.deleted, again.exported), (0, 0));
    assert_eq!(std::fs::read_to_string(&export).unwrap(), text);
}

async fn without_an_export_old_events_are_just_removed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let start = app.state.now();
    account(&app, "old@example.com", None).await;
    app.advance(Duration::days(89));
    let auditor = account(&app, "auditor@example.com", Some("moderator")).await;
    assert_eq!(
        app.state.audit_retention.sweep().await.unwrap().deleted,
        0,
        "90 days by default"
    );
    app.advance(Duration::days(2));
    let token = account_token(&app, &auditor.email).await;
    let old = ids_before(&app, &token, start + Duration::days(1)).await;
    assert!(!old.is_empty());
    let report = app.state.audit_retention.sweep().await.unwrap();
    assert_eq!(report.deleted as usize, old.len());
    assert_eq!(report.exported, 0);
    assert!(ids_before(&app, &token, start + Duration::days(1)).await.is_empty());
    assert!(
        !audit(&app, &token, "per_page=100").await.is_empty(),
        "the newer events stay"
    );
}

async fn account_token(app: &TestApp, email: &str) -> String {
    Tokens::from(app.login(email, PASSWORD).await.json::<Value>().await.unwrap()).access
}

async fn retention_off_keeps_everything(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| c.audit_retention = None).await;
    account(&app, "old@example.com", None).await;
    app.advance(Duration::days(3650));
    let report = app.state.audit_retention.sweep().await.unwrap();
    assert_eq!(report.deleted, 0);
    let auditor = account(&app, "auditor@example.com", Some("moderator")).await;
    let events = audit(&app, &auditor.tokens.access, "user_id=&per_page=100").await;
    assert!(events.iter().any(|e| e["type"] == "login"), "{events:?}");
}

both!(
    old_events_are_exported_then_removed_and_new_ones_kept,
    without_an_export_old_events_are_just_removed,
    retention_off_keeps_everything,
);
