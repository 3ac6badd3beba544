//! `identities()`: link (once per provider subject), look up, list and unlink (never the last
//! way to sign in).

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::{NewUser, StoreError, UserRecord};
use uuid::Uuid;

async fn passwordless(store: &gatehouse::store::Store, email: &str) -> UserRecord {
    let u = NewUser {
        password_hash: None,
        ..new_user(email)
    };
    store.users().create(&u).await.unwrap()
}

async fn link_and_find(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let later = new_identity(u.id, "google", "g-1", at(2));
    let first = new_identity(u.id, "github", "123", at(1));
    store.identities().link(&later).await.unwrap();
    store.identities().link(&first).await.unwrap();
    assert_eq!(store.identities().user_of("github", "123").await.unwrap(), Some(u.id));
    assert_eq!(store.identities().user_of("google", "g-1").await.unwrap(), Some(u.id));
    assert_eq!(
        store.identities().user_of("google", "123").await.unwrap(),
        None,
        "another provider"
    );
    assert_eq!(store.identities().user_of("github", "999").await.unwrap(), None);

    let linked = store.identities().of_user(u.id).await.unwrap();
    let seen: Vec<_> = linked
        .iter()
        .map(|a| (a.id, a.provider.as_str(), a.email.as_deref(), a.created_at))
        .collect();
    assert_eq!(
        seen,
        [
            (first.id, "github", Some("123@github.example"), at(1)),
            (later.id, "google", Some("g-1@google.example"), at(2))
        ],
        "oldest first"
    );
    assert!(store.identities().of_user(Uuid::new_v4()).await.unwrap().is_empty());
}

async fn an_identity_links_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    store
        .identities()
        .link(&new_identity(u.id, "github", "123", at(0)))
        .await
        .unwrap();
    for owner in [other.id, u.id] {
        let err = store
            .identities()
            .link(&new_identity(owner, "github", "123", at(1)))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Duplicate("identity")), "{err:?}");
    }
    assert_eq!(store.identities().user_of("github", "123").await.unwrap(), Some(u.id));
    assert!(store.identities().of_user(other.id).await.unwrap().is_empty());
    store
        .identities()
        .link(&new_identity(other.id, "google", "123", at(1)))
        .await
        .expect("the same subject at another provider is another identity");
}

async fn unlink_keeps_a_way_to_sign_in(backend: Backend) {
    let (store, _dir) = open(backend).await;
    // With a password, the only identity can go.
    let with_password = user(&store, "a@example.com").await;
    let only = new_identity(with_password.id, "github", "1", at(0));
    store.identities().link(&only).await.unwrap();
    assert!(store.identities().unlink(with_password.id, only.id).await.unwrap());
    assert!(store.identities().of_user(with_password.id).await.unwrap().is_empty());
    assert!(
        !store.identities().unlink(with_password.id, only.id).await.unwrap(),
        "gone"
    );

    // Without one, all but the last.
    let social = passwordless(&store, "b@example.com").await;
    let g = new_identity(social.id, "github", "2", at(0));
    let o = new_identity(social.id, "google", "2", at(1));
    store.identities().link(&g).await.unwrap();
    store.identities().link(&o).await.unwrap();
    assert!(
        !store.identities().unlink(with_password.id, g.id).await.unwrap(),
        "another user's identity"
    );
    assert!(store.identities().unlink(social.id, g.id).await.unwrap());
    assert!(
        !store.identities().unlink(social.id, o.id).await.unwrap(),
        "the last sign-in method"
    );
    let left: Vec<Uuid> = store
        .identities()
        .of_user(social.id)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(left, [o.id]);
    assert!(!store.identities().unlink(social.id, Uuid::new_v4()).await.unwrap());
}

async fn racing_unlinks_keep_the_last_identity(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let social = passwordless(&store, "a@example.com").await;
    let mut ids = Vec::new();
    for n in 0..8 {
        let a = new_identity(social.id, "github", &format!("sub-{n}"), at(n));
        store.identities().link(&a).await.unwrap();
        ids.push(a.id);
    }
    // Each task unlinks another identity: all but one may go, never the last.
    let results = race(8, |i| {
        let store = store.clone();
        let id = ids[i];
        async move { store.identities().unlink(social.id, id).await.unwrap() }
    })
    .await;
    assert_eq!(winners(&results), 7, "{results:?}");
    assert_eq!(store.identities().of_user(social.id).await.unwrap().len(), 1);
}

both!(
    link_and_find,
    an_identity_links_once,
    unlink_keeps_a_way_to_sign_in,
    racing_unlinks_keep_the_last_identity,
);
