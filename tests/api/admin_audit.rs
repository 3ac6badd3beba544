//! `GET /api/admin/audit`: filters, time range, paging, newest first; bad values are 422.

use crate::admin_support::*;
use crate::both;
use crate::common::*;
use chrono::SecondsFormat;
use serde_json::Value;

async fn the_audit_log_is_filtered_and_paged_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let auditor = account(&app, "auditor@example.com", Some("moderator")).await;
    let rahim = account(&app, "rahim@example.com", None).await;
    let before_failures = app.state.now();
    app.advance(chrono::Duration::minutes(5));
    for _ in 0..3 {
        app.login(&rahim.email, "not the password at all").await;
        app.advance(chrono::Duration::seconds(10));
    }
    let token = &auditor.tokens.access;

    let failures = audit(&app, token, &format!("type=login&outcome=failure&user_id={}", rahim.id)).await;
    assert_eq!(failures.len(), 3);
    let times: Vec<&str> = failures.iter().map(|e| e["occurred_at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    assert!(failures.iter().all(|e| e["details"]["reason"] == "invalid_credentials"));

    let successes = audit(&app, token, &format!("type=login&outcome=success&user_id={}", rahim.id)).await;
    assert_eq!(successes.len(), 1);

    // [from, to): only the first failure lies in this window.
    let from = (before_failures + chrono::Duration::minutes(5)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let to = (before_failures + chrono::Duration::minutes(5) + chrono::Duration::seconds(10))
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let window = audit(&app, token, &format!("user_id={}&from={from}&to={to}", rahim.id)).await;
    assert_eq!(window.len(), 1, "{window:?}");
    // An offset written with an unencoded + (read as a space) still works.
    let from_plus = (before_failures + chrono::Duration::minutes(5))
        .with_timezone(&chrono::FixedOffset::east_opt(6 * 3600).unwrap())
        .to_rfc3339_opts(SecondsFormat::Secs, false);
    assert!(from_plus.contains("+06:00"));
    let since = audit(&app, token, &format!("user_id={}&from={from_plus}", rahim.id)).await;
    assert_eq!(since.len(), 3);

    let all = audit(&app, token, &format!("user_id={}&per_page=100", rahim.id)).await;
    assert!(all.len() >= 5, "registration, verification, 1 + 3 logins: {all:?}");
    let r = admin_get(
        &app,
        &format!("/api/admin/audit?user_id={}&per_page=2&page=2", rahim.id),
        token,
    )
    .await;
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["total"], all.len(), "{page}");
    assert_eq!(page["total_pages"], all.len().div_ceil(2));
    assert_eq!((page["page"].clone(), page["per_page"].clone()), (2.into(), 2.into()));
    let ids = |events: &[Value]| -> Vec<Value> { events.iter().map(|e| e["id"].clone()).collect() };
    assert_eq!(ids(page["items"].as_array().unwrap()), ids(&all[2..4]));
}

async fn bad_audit_query_values_get_one_entry_each(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let auditor = account(&app, "auditor@example.com", Some("moderator")).await;
    let r = admin_get(
        &app,
        "/api/admin/audit?user_id=nobody&type=Login!&from=yesterday&to=2025-13-01T00:00:00Z&outcome=maybe&per_page=0&page=x",
        &auditor.tokens.access,
    )
    .await;
    let body = expect_problem(r, 422, "validation_failed").await;
    let mut fields: Vec<String> = field_errors(&body).into_iter().map(|(f, _)| f).collect();
    fields.sort();
    assert_eq!(
        fields,
        ["from", "outcome", "page", "per_page", "to", "type", "user_id"],
        "{body}"
    );
    let body = expect_problem(
        admin_get(
            &app,
            "/api/admin/audit?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z",
            &auditor.tokens.access,
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(field_errors(&body), [("to".to_string(), "before_from".to_string())]);
}

both!(
    the_audit_log_is_filtered_and_paged_newest_first,
    bad_audit_query_values_get_one_entry_each,
);
