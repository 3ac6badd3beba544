//! `audit()`: record, per-user reads, the admin query (filters, order, pages) and retention
//! (`before` and `delete`).

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::{AuditEvent, AuditFilter, Store};
use uuid::Uuid;

fn ids(events: &[AuditEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.id).collect()
}

async fn query(store: &Store, f: AuditFilter) -> (Vec<Uuid>, i64) {
    let f = AuditFilter {
        limit: if f.limit == 0 { 50 } else { f.limit },
        ..f
    };
    let (events, total) = store.audit().query(&f).await.unwrap();
    (ids(&events), total)
}

async fn record_and_read_per_user_newest_first(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    let e0 = event("login", Some(u.id), "success", at(0));
    let e2 = event("logout", Some(u.id), "success", at(2));
    let e1 = event("login", Some(u.id), "failure", at(1));
    for e in [&e0, &e2, &e1] {
        store.audit().record(e).await.unwrap();
    }
    store
        .audit()
        .record(&event("login", Some(other.id), "success", at(3)))
        .await
        .unwrap();
    store
        .audit()
        .record(&event("login", None, "failure", at(3)))
        .await
        .unwrap();

    let mine = store.audit().for_user(u.id, 10).await.unwrap();
    assert_eq!(ids(&mine), [e2.id, e1.id, e0.id]);
    let first = &mine[0];
    assert_eq!(
        (first.event_type.as_str(), first.outcome.as_str()),
        ("logout", "success")
    );
    assert_eq!((first.user_id, first.occurred_at), (Some(u.id), at(2)));
    assert_eq!(
        (first.ip.as_deref(), first.user_agent.as_deref()),
        (Some("192.0.2.7"), Some("agent"))
    );
    assert_eq!(first.details, r#"{"k":"v"}"#);
    assert_eq!(ids(&store.audit().for_user(u.id, 2).await.unwrap()), [e2.id, e1.id]);
    assert!(store.audit().for_user(Uuid::new_v4(), 10).await.unwrap().is_empty());
}

async fn query_filters_and_pages(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u1 = Some(Uuid::new_v4());
    let u2 = Some(Uuid::new_v4());
    let e1 = event("login", u1, "success", at(0));
    let e2 = event("login", u1, "failure", at(1));
    let e3 = event("logout", u2, "success", at(2));
    let e4 = event("login", None, "success", at(3));
    let e5 = event("login", u2, "failure", at(4));
    for e in [&e3, &e1, &e5, &e2, &e4] {
        store.audit().record(e).await.unwrap();
    }
    let all = AuditFilter::default();
    assert_eq!(
        query(&store, all.clone()).await,
        (vec![e5.id, e4.id, e3.id, e2.id, e1.id], 5)
    );
    let by_user = AuditFilter {
        user_id: u1,
        ..all.clone()
    };
    assert_eq!(query(&store, by_user).await, (vec![e2.id, e1.id], 2));
    let by_type = AuditFilter {
        event_type: Some("login".into()),
        ..all.clone()
    };
    assert_eq!(query(&store, by_type).await, (vec![e5.id, e4.id, e2.id, e1.id], 4));
    let failures = AuditFilter {
        outcome: Some("failure".into()),
        ..all.clone()
    };
    assert_eq!(query(&store, failures).await, (vec![e5.id, e2.id], 2));
    let window = AuditFilter {
        from: Some(at(1)),
        to: Some(at(4)),
        ..all.clone()
    };
    assert_eq!(
        query(&store, window).await,
        (vec![e4.id, e3.id, e2.id], 3),
        "from is inclusive, to exclusive"
    );
    let combined = AuditFilter {
        user_id: u2,
        event_type: Some("login".into()),
        outcome: Some("failure".into()),
        from: Some(at(4)),
        ..all.clone()
    };
    assert_eq!(query(&store, combined).await, (vec![e5.id], 1));
    let page = AuditFilter {
        limit: 2,
        offset: 1,
        ..all.clone()
    };
    assert_eq!(query(&store, page).await, (vec![e4.id, e3.id], 5));
    let past_the_end = AuditFilter {
        limit: 2,
        offset: 5,
        ..all.clone()
    };
    assert_eq!(query(&store, past_the_end).await, (vec![], 5));
    let nothing = AuditFilter {
        event_type: Some("never".into()),
        ..all
    };
    assert_eq!(query(&store, nothing).await, (vec![], 0));
}

async fn query_breaks_ties_by_id_descending(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let mut same_instant: Vec<Uuid> = Vec::new();
    for _ in 0..4 {
        let e = event("login", None, "success", at(1));
        store.audit().record(&e).await.unwrap();
        same_instant.push(e.id);
    }
    same_instant.sort();
    same_instant.reverse();
    assert_eq!(query(&store, AuditFilter::default()).await, (same_instant, 4));
}

async fn retention_reads_the_oldest_and_deletes_exactly_those(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let events: Vec<AuditEvent> = [3, 0, 2, 1]
        .into_iter()
        .map(|minute| event("login", None, "success", at(minute)))
        .collect();
    for e in &events {
        store.audit().record(e).await.unwrap();
    }
    let by_minute = |m: i64| events.iter().find(|e| e.occurred_at == at(m)).unwrap().id;
    let old = store.audit().before(at(2), 10).await.unwrap();
    assert_eq!(
        ids(&old),
        [by_minute(0), by_minute(1)],
        "oldest first, before the cutoff only"
    );
    assert_eq!(
        ids(&store.audit().before(at(10), 3).await.unwrap()),
        [by_minute(0), by_minute(1), by_minute(2)]
    );
    assert!(store.audit().before(at(0), 10).await.unwrap().is_empty());

    assert_eq!(store.audit().delete(&ids(&old)).await.unwrap(), 2);
    assert_eq!(
        ids(&store.audit().before(at(10), 10).await.unwrap()),
        [by_minute(2), by_minute(3)]
    );
    assert_eq!(store.audit().delete(&[]).await.unwrap(), 0);
    assert_eq!(store.audit().delete(&[Uuid::new_v4()]).await.unwrap(), 0);
    assert_eq!(
        store
            .audit()
            .delete(&[by_minute(2), Uuid::new_v4(), by_minute(0)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(query(&store, AuditFilter::default()).await, (vec![by_minute(3)], 1));
}

both!(
    record_and_read_per_user_newest_first,
    query_filters_and_pages,
    query_breaks_ties_by_id_descending,
    retention_reads_the_oldest_and_deletes_exactly_those,
);
