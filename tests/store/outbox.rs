//! `outbox()`: enqueue, claim with a lease (once, under concurrency, again after the lease),
//! delete, reschedule and depth.

use crate::both;
use crate::common::Backend;
use crate::support::*;
use std::collections::HashSet;
use uuid::Uuid;

async fn claims_hand_out_the_oldest_due_mail(backend: Backend) {
    let (store, _dir) = open(backend).await;
    assert!(
        store.outbox().claim_next(at(0), at(5)).await.unwrap().is_none(),
        "empty"
    );
    let m1 = new_mail("one@example.com", at(0));
    let m2 = new_mail("two@example.com", at(1));
    store.outbox().enqueue(&m2).await.unwrap();
    store.outbox().enqueue(&m1).await.unwrap();
    assert_eq!(store.outbox().depth().await.unwrap(), 2);

    let c = store.outbox().claim_next(at(5), at(10)).await.unwrap().unwrap();
    assert_eq!(
        (c.id, c.recipient.as_str(), c.subject.as_str()),
        (m1.id, "one@example.com", "for one@example.com")
    );
    assert_eq!((c.text_body.as_str(), c.html_body.as_str()), ("text", "<p>html</p>"));
    assert_eq!((c.created_at, c.attempts), (at(0), 1));
    let c2 = store.outbox().claim_next(at(5), at(10)).await.unwrap().unwrap();
    assert_eq!(c2.id, m2.id);
    assert!(
        store.outbox().claim_next(at(5), at(10)).await.unwrap().is_none(),
        "both leased"
    );
    assert_eq!(
        store.outbox().depth().await.unwrap(),
        2,
        "claimed mail stays until deleted"
    );

    store.outbox().delete(m1.id).await.unwrap();
    assert_eq!(store.outbox().depth().await.unwrap(), 1);
    store.outbox().delete(Uuid::new_v4()).await.unwrap();
    assert_eq!(
        store.outbox().depth().await.unwrap(),
        1,
        "deleting an unknown mail changes nothing"
    );
}

async fn mail_is_not_claimed_before_it_is_due(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let m = new_mail("later@example.com", at(10));
    store.outbox().enqueue(&m).await.unwrap();
    assert!(store.outbox().claim_next(at(9), at(20)).await.unwrap().is_none());
    assert_eq!(
        store.outbox().claim_next(at(10), at(20)).await.unwrap().map(|c| c.id),
        Some(m.id)
    );
}

async fn an_expired_lease_hands_the_mail_on(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let m = new_mail("one@example.com", at(0));
    store.outbox().enqueue(&m).await.unwrap();
    let first = store.outbox().claim_next(at(0), at(5)).await.unwrap().unwrap();
    assert_eq!((first.id, first.attempts), (m.id, 1));
    assert!(
        store.outbox().claim_next(at(3), at(8)).await.unwrap().is_none(),
        "lease running"
    );
    assert!(
        store.outbox().claim_next(at(5), at(10)).await.unwrap().is_none(),
        "lease ends after its instant"
    );
    let again = store.outbox().claim_next(at(6), at(11)).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (m.id, 2));
    assert!(
        store.outbox().claim_next(at(7), at(12)).await.unwrap().is_none(),
        "the new lease holds"
    );
}

async fn reschedule_releases_the_lease_until_the_next_attempt(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let m1 = new_mail("one@example.com", at(0));
    store.outbox().enqueue(&m1).await.unwrap();
    store.outbox().claim_next(at(0), at(100)).await.unwrap().unwrap();
    store.outbox().reschedule(m1.id, at(20), "421 try later").await.unwrap();
    assert!(
        store.outbox().claim_next(at(10), at(30)).await.unwrap().is_none(),
        "not due yet"
    );
    let m2 = new_mail("two@example.com", at(15));
    store.outbox().enqueue(&m2).await.unwrap();
    // Due order is the next attempt, not the age: m2 (due at 15) before m1 (due at 20).
    let c = store.outbox().claim_next(at(25), at(30)).await.unwrap().unwrap();
    assert_eq!((c.id, c.attempts), (m2.id, 1));
    let c = store.outbox().claim_next(at(25), at(30)).await.unwrap().unwrap();
    assert_eq!((c.id, c.attempts), (m1.id, 2), "the lease of 100 was released");
    store
        .outbox()
        .reschedule(Uuid::new_v4(), at(20), "unknown")
        .await
        .unwrap();
    assert_eq!(store.outbox().depth().await.unwrap(), 2);
}

async fn racing_workers_claim_each_mail_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    const MAILS: usize = 24;
    let mut queued = HashSet::new();
    for n in 0..MAILS {
        let m = new_mail(&format!("r{n}@example.com"), at(n as i64 % 3));
        queued.insert(m.id);
        store.outbox().enqueue(&m).await.unwrap();
    }
    let claimed_per_worker = race(4, |_| {
        let store = store.clone();
        async move {
            let mut mine = Vec::new();
            while let Some(m) = store.outbox().claim_next(at(10), at(20)).await.unwrap() {
                mine.push(m.id);
            }
            mine
        }
    })
    .await;
    let all: Vec<Uuid> = claimed_per_worker.into_iter().flatten().collect();
    let distinct: HashSet<Uuid> = all.iter().copied().collect();
    assert_eq!(all.len(), MAILS, "claims: {}", all.len());
    assert_eq!(distinct, queued, "every mail claimed, none twice");
    assert!(store.outbox().claim_next(at(10), at(20)).await.unwrap().is_none());
}

both!(
    claims_hand_out_the_oldest_due_mail,
    mail_is_not_claimed_before_it_is_due,
    an_expired_lease_hands_the_mail_on,
    reschedule_releases_the_lease_until_the_next_attempt,
    racing_workers_claim_each_mail_once,
);
