//! `sessions()`: sessions and their refresh-token families: create, read, list, revoke, rotate
//! once, step up, `SINGLE_SESSION` and earlier user agents.

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::{Store, StoreError};
use uuid::Uuid;

async fn revoked_at(store: &Store, hash: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    store
        .sessions()
        .refresh_token_by_hash(hash)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no refresh token {hash}"))
        .revoked_at
}

async fn create_and_read_back(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let s = session(&store, u.id, at(1), "first").await;
    let r = store.sessions().by_id(s.id).await.unwrap().unwrap();
    assert_eq!((r.user_id, r.created_at, r.last_used_at), (u.id, at(1), at(1)));
    assert_eq!((r.expires_at, r.auth_time, r.revoked_at), (s.expires_at, at(1), None));
    assert_eq!(r.amr, r#"["pwd"]"#);
    assert_eq!(
        (r.ip.as_deref(), r.user_agent.as_deref()),
        (Some("192.0.2.1"), Some("agent"))
    );
    let t = store.sessions().refresh_token_by_hash("first").await.unwrap().unwrap();
    assert_eq!((t.session_id, t.user_id, t.parent_id), (s.id, u.id, None));
    assert_eq!((t.created_at, t.used_at, t.revoked_at), (at(1), None, None));
    assert!(store.sessions().by_id(Uuid::new_v4()).await.unwrap().is_none());
    assert!(store
        .sessions()
        .refresh_token_by_hash("unknown")
        .await
        .unwrap()
        .is_none());

    // A refresh-token hash is unique; the session of a failed create is not kept.
    let clash = new_session(u.id, at(2));
    let err = store
        .sessions()
        .create(&clash, &new_refresh(&clash, "first", None, at(2)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate("key")), "{err:?}");
    assert!(store.sessions().by_id(clash.id).await.unwrap().is_none());
}

async fn live_sessions_most_recently_used_first(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    let s1 = session(&store, u.id, at(0), "t1").await;
    let s2 = session(&store, u.id, at(1), "t2").await;
    let s3 = session(&store, u.id, at(2), "t3").await;
    let gone = session(&store, u.id, at(3), "t4").await;
    store.sessions().revoke(gone.id, at(4)).await.unwrap();
    let mut expired = new_session(u.id, at(0));
    expired.expires_at = at(6);
    store
        .sessions()
        .create(&expired, &new_refresh(&expired, "t5", None, at(0)))
        .await
        .unwrap();
    session(&store, other.id, at(0), "t6").await;
    // Using s1 (a rotation) makes it the most recently used.
    let next = new_refresh(&s1, "t1-next", None, at(5));
    store
        .sessions()
        .rotate_refresh_token("t1", &next, at(5))
        .await
        .unwrap()
        .unwrap();
    let r = store.sessions().by_id(s1.id).await.unwrap().unwrap();
    assert_eq!(r.last_used_at, at(5));
    let live: Vec<Uuid> = store
        .sessions()
        .live(u.id, at(10))
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, [s1.id, s3.id, s2.id]);
    assert!(store.sessions().live(Uuid::new_v4(), at(10)).await.unwrap().is_empty());
}

async fn revoke_ends_the_session_and_its_family(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let s = session(&store, u.id, at(0), "t1").await;
    let other = session(&store, u.id, at(0), "other").await;
    let t2 = new_refresh(&s, "t2", None, at(1));
    store
        .sessions()
        .rotate_refresh_token("t1", &t2, at(1))
        .await
        .unwrap()
        .unwrap();
    assert!(store.sessions().revoke(s.id, at(2)).await.unwrap());
    assert_eq!(
        store.sessions().by_id(s.id).await.unwrap().unwrap().revoked_at,
        Some(at(2))
    );
    assert_eq!(revoked_at(&store, "t1").await, Some(at(2)));
    assert_eq!(revoked_at(&store, "t2").await, Some(at(2)));
    assert_eq!(revoked_at(&store, "other").await, None);
    assert!(store
        .sessions()
        .by_id(other.id)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    let next = new_refresh(&s, "t3", None, at(3));
    assert!(store
        .sessions()
        .rotate_refresh_token("t2", &next, at(3))
        .await
        .unwrap()
        .is_none());
    assert!(!store.sessions().revoke(s.id, at(3)).await.unwrap(), "already revoked");
    assert!(!store.sessions().revoke(Uuid::new_v4(), at(3)).await.unwrap());
}

async fn revoke_all_of_user_keeps_one(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let bystander = user(&store, "b@example.com").await;
    let s1 = session(&store, u.id, at(0), "t1").await;
    let kept = session(&store, u.id, at(1), "kept").await;
    session(&store, u.id, at(2), "t3").await;
    session(&store, bystander.id, at(0), "bystander").await;
    assert_eq!(
        store
            .sessions()
            .revoke_all_of_user(u.id, Some(kept.id), at(5))
            .await
            .unwrap(),
        2
    );
    let live: Vec<Uuid> = store
        .sessions()
        .live(u.id, at(6))
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, [kept.id]);
    assert_eq!(revoked_at(&store, "t1").await, Some(at(5)));
    assert_eq!(revoked_at(&store, "t3").await, Some(at(5)));
    assert_eq!(revoked_at(&store, "kept").await, None);
    assert_eq!(revoked_at(&store, "bystander").await, None);
    assert_eq!(
        store.sessions().by_id(s1.id).await.unwrap().unwrap().revoked_at,
        Some(at(5))
    );

    assert_eq!(store.sessions().revoke_all_of_user(u.id, None, at(7)).await.unwrap(), 1);
    assert!(store.sessions().live(u.id, at(8)).await.unwrap().is_empty());
    assert_eq!(revoked_at(&store, "kept").await, Some(at(7)));
    assert_eq!(store.sessions().revoke_all_of_user(u.id, None, at(8)).await.unwrap(), 0);
    assert_eq!(store.sessions().live(bystander.id, at(8)).await.unwrap().len(), 1);
    assert_eq!(
        store
            .sessions()
            .revoke_all_of_user(Uuid::new_v4(), None, at(8))
            .await
            .unwrap(),
        0
    );
}

async fn rotate_claims_a_live_token_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let s = session(&store, u.id, at(0), "t1").await;
    let first = store.sessions().refresh_token_by_hash("t1").await.unwrap().unwrap();
    let t2 = new_refresh(&s, "t2", Some(first.id), at(1));
    let claimed = store
        .sessions()
        .rotate_refresh_token("t1", &t2, at(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (claimed.id, claimed.session_id, claimed.used_at),
        (first.id, s.id, Some(at(1)))
    );
    let successor = store.sessions().refresh_token_by_hash("t2").await.unwrap().unwrap();
    assert_eq!(
        (successor.id, successor.parent_id, successor.used_at),
        (t2.id, Some(first.id), None)
    );

    let t3 = new_refresh(&s, "t3", Some(first.id), at(2));
    assert!(
        store
            .sessions()
            .rotate_refresh_token("t1", &t3, at(2))
            .await
            .unwrap()
            .is_none(),
        "reuse"
    );
    assert!(store
        .sessions()
        .rotate_refresh_token("unknown", &t3, at(2))
        .await
        .unwrap()
        .is_none());
    assert!(
        store.sessions().refresh_token_by_hash("t3").await.unwrap().is_none(),
        "a lost claim inserts no successor"
    );
    // t2 lives a day from at(1): at its expiry instant it cannot be rotated.
    let expired = new_refresh(&s, "t3", Some(t2.id), at(1441));
    assert!(store
        .sessions()
        .rotate_refresh_token("t2", &expired, at(1441))
        .await
        .unwrap()
        .is_none());
}

async fn rotate_with_a_taken_successor_hash_changes_nothing(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let s = session(&store, u.id, at(0), "t1").await;
    session(&store, u.id, at(0), "taken").await;
    let clash = new_refresh(&s, "taken", None, at(1));
    let err = store
        .sessions()
        .rotate_refresh_token("t1", &clash, at(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate("key")), "{err:?}");
    let t1 = store.sessions().refresh_token_by_hash("t1").await.unwrap().unwrap();
    assert_eq!(t1.used_at, None, "the claim was rolled back");
    let t2 = new_refresh(&s, "t2", None, at(2));
    assert!(store
        .sessions()
        .rotate_refresh_token("t1", &t2, at(2))
        .await
        .unwrap()
        .is_some());
}

async fn racing_rotations_leave_one_successor(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let s = session(&store, u.id, at(0), "presented").await;
    let results = race(8, |i| {
        let store = store.clone();
        let successor = new_refresh(&s, &format!("successor-{i}"), None, at(1));
        async move {
            store
                .sessions()
                .rotate_refresh_token("presented", &successor, at(1))
                .await
                .unwrap()
                .is_some()
        }
    })
    .await;
    assert_eq!(winners(&results), 1, "{results:?}");
    let winner = results.iter().position(|won| *won).unwrap();
    for i in 0..8 {
        let row = store
            .sessions()
            .refresh_token_by_hash(&format!("successor-{i}"))
            .await
            .unwrap();
        assert_eq!(row.is_some(), i == winner, "successor-{i}");
    }
}

both!(
    create_and_read_back,
    live_sessions_most_recently_used_first,
    revoke_ends_the_session_and_its_family,
    revoke_all_of_user_keeps_one,
    rotate_claims_a_live_token_once,
    rotate_with_a_taken_successor_hash_changes_nothing,
    racing_rotations_leave_one_successor,
);
