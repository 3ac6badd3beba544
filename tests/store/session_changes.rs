//! `sessions()` beyond the family basics: `create_sole` (`SINGLE_SESSION`), `step_up` and
//! `earlier_user_agents`.

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::StoreError;
use uuid::Uuid;

async fn create_sole_ends_the_other_sessions(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let bystander = user(&store, "b@example.com").await;
    let old1 = session(&store, u.id, at(0), "old-1").await;
    session(&store, u.id, at(1), "old-2").await;
    let mut expired = new_session(u.id, at(0));
    expired.expires_at = at(2);
    store
        .sessions()
        .create(&expired, &new_refresh(&expired, "expired", None, at(0)))
        .await
        .unwrap();
    session(&store, bystander.id, at(0), "bystander").await;

    let sole = new_session(u.id, at(5));
    let first = new_refresh(&sole, "sole", None, at(5));
    assert_eq!(store.sessions().create_sole(&sole, &first, at(5)).await.unwrap(), 2);
    let live: Vec<Uuid> = store
        .sessions()
        .live(u.id, at(6))
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, [sole.id]);
    assert_eq!(
        store.sessions().by_id(old1.id).await.unwrap().unwrap().revoked_at,
        Some(at(5))
    );
    let token = |hash: &'static str| {
        let store = store.clone();
        async move { store.sessions().refresh_token_by_hash(hash).await.unwrap().unwrap() }
    };
    assert_eq!(token("old-1").await.revoked_at, Some(at(5)));
    assert_eq!(token("old-2").await.revoked_at, Some(at(5)));
    assert_eq!(token("sole").await.revoked_at, None);
    assert_eq!(token("bystander").await.revoked_at, None);
    assert_eq!(store.sessions().live(bystander.id, at(6)).await.unwrap().len(), 1);

    // Alone, it ends nothing.
    let lonely = user(&store, "c@example.com").await;
    let s = new_session(lonely.id, at(5));
    assert_eq!(
        store
            .sessions()
            .create_sole(&s, &new_refresh(&s, "lonely", None, at(5)), at(5))
            .await
            .unwrap(),
        0
    );
}

async fn racing_sole_sign_ins_leave_one_session(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let ended = race(4, |i| {
        let store = store.clone();
        let s = new_session(u.id, at(1));
        let first = new_refresh(&s, &format!("sole-{i}"), None, at(1));
        async move { store.sessions().create_sole(&s, &first, at(1)).await.unwrap() }
    })
    .await;
    assert_eq!(store.sessions().live(u.id, at(2)).await.unwrap().len(), 1, "{ended:?}");
    assert_eq!(
        ended.iter().sum::<u64>(),
        3,
        "each later sign-in ended the one before: {ended:?}"
    );
}

async fn step_up_renews_the_family(backend: Backend) {
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

    let fresh = new_refresh(&s, "fresh", None, at(3));
    store
        .sessions()
        .step_up(s.id, r#"["pwd","otp"]"#, at(2), &fresh, at(3))
        .await
        .unwrap();
    let r = store.sessions().by_id(s.id).await.unwrap().unwrap();
    assert_eq!(
        (r.amr.as_str(), r.auth_time, r.last_used_at),
        (r#"["pwd","otp"]"#, at(2), at(3))
    );
    assert_eq!((r.created_at, r.revoked_at), (at(0), None));
    let hash = |h: &'static str| {
        let store = store.clone();
        async move { store.sessions().refresh_token_by_hash(h).await.unwrap().unwrap() }
    };
    assert_eq!(hash("t2").await.revoked_at, Some(at(3)), "the live token is replaced");
    assert_eq!(hash("t1").await.revoked_at, None, "a used token stays as it was");
    assert_eq!(hash("fresh").await.revoked_at, None);
    assert_eq!(hash("other").await.revoked_at, None, "another session");
    assert_eq!(
        store.sessions().by_id(other.id).await.unwrap().unwrap().amr,
        r#"["pwd"]"#
    );
    let t4 = new_refresh(&s, "t4", None, at(4));
    assert!(store
        .sessions()
        .rotate_refresh_token("t2", &t4, at(4))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .sessions()
        .rotate_refresh_token("fresh", &t4, at(4))
        .await
        .unwrap()
        .is_some());
}

async fn step_up_of_an_unknown_session_fails(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let ghost = new_session(u.id, at(0));
    let fresh = new_refresh(&ghost, "fresh", None, at(1));
    let err = store
        .sessions()
        .step_up(ghost.id, r#"["pwd","otp"]"#, at(1), &fresh, at(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    assert!(store.sessions().refresh_token_by_hash("fresh").await.unwrap().is_none());
}

async fn earlier_user_agents_newest_first(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let bystander = user(&store, "b@example.com").await;
    for (minute, agent) in [(0, Some("ua-1")), (1, Some("ua-2")), (2, None)] {
        let mut s = new_session(u.id, at(minute));
        s.user_agent = agent.map(str::to_string);
        store
            .sessions()
            .create(&s, &new_refresh(&s, &format!("t{minute}"), None, at(minute)))
            .await
            .unwrap();
        if minute == 1 {
            store.sessions().revoke(s.id, at(2)).await.unwrap();
        }
    }
    session(&store, bystander.id, at(5), "bystander").await;
    let current = session(&store, u.id, at(3), "current").await;
    let agents = store
        .sessions()
        .earlier_user_agents(u.id, current.id, 10)
        .await
        .unwrap();
    assert_eq!(
        agents,
        [None, Some("ua-2".to_string()), Some("ua-1".to_string())],
        "ended ones too"
    );
    let agents = store.sessions().earlier_user_agents(u.id, current.id, 2).await.unwrap();
    assert_eq!(agents, [None, Some("ua-2".to_string())]);
    assert!(store
        .sessions()
        .earlier_user_agents(Uuid::new_v4(), current.id, 10)
        .await
        .unwrap()
        .is_empty());
}

both!(
    create_sole_ends_the_other_sessions,
    racing_sole_sign_ins_leave_one_session,
    step_up_renews_the_family,
    step_up_of_an_unknown_session_fails,
    earlier_user_agents_newest_first,
);
