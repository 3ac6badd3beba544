//! `passkeys()`: credentials (stored once, counter only forward, never the last way to sign in)
//! and ceremonies (taken once, bounded per account where asked).

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::{NewCeremony, NewPasskey, NewUser, PasskeyUse, Store, StoreError};
use uuid::Uuid;

fn new_passkey(user_id: Uuid, credential_id: &str, minutes: i64) -> NewPasskey {
    NewPasskey {
        id: Uuid::new_v4(),
        user_id,
        credential_id: credential_id.to_string(),
        credential: "{}".into(),
        name: format!("key {credential_id}"),
        sign_count: 3,
        user_verified: true,
        backup_eligible: false,
        backup_state: false,
        transports: r#"["usb"]"#.into(),
        created_at: at(minutes),
    }
}

fn ceremony(id: &str, purpose: &'static str, user_id: Option<Uuid>, keep: Option<u32>) -> NewCeremony {
    NewCeremony {
        id_hash: id.to_string(),
        purpose,
        user_id,
        state: format!("state of {id}"),
        created_at: at(0),
        expires_at: at(5),
        keep_per_user: keep,
    }
}

async fn taken(store: &Store, id: &str) -> bool {
    store.passkeys().take_ceremony(id).await.unwrap().is_some()
}

async fn a_credential_is_stored_once_and_counts_only_forward(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    let later = new_passkey(u.id, "cred-2", 2);
    let first = new_passkey(u.id, "cred-1", 1);
    store.passkeys().insert(&later).await.unwrap();
    store.passkeys().insert(&first).await.unwrap();
    let err = store
        .passkeys()
        .insert(&new_passkey(other.id, "cred-1", 3))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err:?}");

    let listed: Vec<_> = store
        .passkeys()
        .of_user(u.id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(listed, [first.id, later.id], "oldest first");
    assert_eq!(store.passkeys().count_of_user(u.id).await.unwrap(), 2);
    assert_eq!(store.passkeys().count_of_user(other.id).await.unwrap(), 0);

    let used = |sign_count, minutes| PasskeyUse {
        sign_count,
        backup_eligible: true,
        backup_state: true,
        at: at(minutes),
    };
    assert!(store.passkeys().record_use(first.id, &used(4, 10)).await.unwrap());
    assert!(
        !store.passkeys().record_use(first.id, &used(4, 11)).await.unwrap(),
        "the same counter again"
    );
    assert!(
        !store.passkeys().record_use(first.id, &used(2, 12)).await.unwrap(),
        "backwards"
    );
    let read = store.passkeys().by_credential_id("cred-1").await.unwrap().unwrap();
    assert_eq!(
        (read.sign_count, read.backup_state, read.last_used_at),
        (4, true, Some(at(10)))
    );
    assert!(store.passkeys().by_credential_id("cred-9").await.unwrap().is_none());

    assert!(store.passkeys().rename(u.id, first.id, "Phone").await.unwrap());
    assert!(
        !store.passkeys().rename(other.id, first.id, "Mine").await.unwrap(),
        "another user's passkey"
    );
    let read = store.passkeys().by_credential_id("cred-1").await.unwrap().unwrap();
    assert_eq!(read.name, "Phone");
}

async fn a_counterless_authenticator_stays_at_zero(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let key = NewPasskey {
        sign_count: 0,
        ..new_passkey(u.id, "cred-0", 0)
    };
    store.passkeys().insert(&key).await.unwrap();
    for minutes in [1, 2] {
        let used = PasskeyUse {
            sign_count: 0,
            backup_eligible: false,
            backup_state: false,
            at: at(minutes),
        };
        assert!(store.passkeys().record_use(key.id, &used).await.unwrap());
    }
}

async fn the_last_way_to_sign_in_stays(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let passwordless = store
        .users()
        .create(&NewUser {
            password_hash: None,
            ..new_user("a@example.com")
        })
        .await
        .unwrap();
    let one = new_passkey(passwordless.id, "cred-1", 0);
    let two = new_passkey(passwordless.id, "cred-2", 1);
    store.passkeys().insert(&one).await.unwrap();
    store.passkeys().insert(&two).await.unwrap();
    assert!(store.passkeys().delete(passwordless.id, one.id).await.unwrap());
    assert!(
        !store.passkeys().delete(passwordless.id, two.id).await.unwrap(),
        "the last sign-in method"
    );
    assert_eq!(store.passkeys().count_of_user(passwordless.id).await.unwrap(), 1);

    // With a password, the last passkey can go; never someone else's.
    let with_password = user(&store, "b@example.com").await;
    let three = new_passkey(with_password.id, "cred-3", 0);
    store.passkeys().insert(&three).await.unwrap();
    assert!(!store.passkeys().delete(passwordless.id, three.id).await.unwrap());
    assert!(store.passkeys().delete(with_password.id, three.id).await.unwrap());
    assert!(
        !store.passkeys().delete(with_password.id, three.id).await.unwrap(),
        "gone"
    );
}

async fn a_ceremony_is_taken_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    store
        .passkeys()
        .start_ceremony(&ceremony("c-1", "register", Some(u.id), None))
        .await
        .unwrap();
    let record = store.passkeys().take_ceremony("c-1").await.unwrap().unwrap();
    assert_eq!(
        (
            record.purpose.as_str(),
            record.user_id,
            record.state.as_str(),
            record.expires_at
        ),
        ("register", Some(u.id), "state of c-1", at(5))
    );
    assert!(!taken(&store, "c-1").await, "taken already");
    store
        .passkeys()
        .start_ceremony(&ceremony("c-2", "login", None, None))
        .await
        .unwrap();
    let results = race(8, |_| {
        let store = store.clone();
        async move { store.passkeys().take_ceremony("c-2").await.unwrap().is_some() }
    })
    .await;
    assert_eq!(winners(&results), 1, "{results:?}");
}

async fn starting_more_than_the_bound_drops_the_oldest(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    for n in 0..5 {
        let mut c = ceremony(&format!("r-{n}"), "register", Some(u.id), Some(3));
        c.created_at = at(n);
        store.passkeys().start_ceremony(&c).await.unwrap();
    }
    // Other purposes, other accounts and unbounded starts are not touched.
    for c in [
        ceremony("f-0", "second_factor", Some(u.id), Some(3)),
        ceremony("o-0", "register", Some(other.id), Some(3)),
        ceremony("l-0", "login", Some(u.id), None),
    ] {
        store.passkeys().start_ceremony(&c).await.unwrap();
    }
    let mut kept = Vec::new();
    for n in 0..5 {
        kept.push(taken(&store, &format!("r-{n}")).await);
    }
    assert_eq!(kept, [false, false, true, true, true], "the newest three");
    for id in ["f-0", "o-0", "l-0"] {
        assert!(taken(&store, id).await, "{id}");
    }
}

async fn expired_ceremonies_are_pruned(backend: Backend) {
    let (store, _dir) = open(backend).await;
    for (id, minutes) in [("old", 0), ("new", 10)] {
        let mut c = ceremony(id, "login", None, None);
        c.expires_at = at(minutes);
        store.passkeys().start_ceremony(&c).await.unwrap();
    }
    assert_eq!(store.passkeys().prune_ceremonies(at(5)).await.unwrap(), 1);
    assert!(!taken(&store, "old").await);
    assert!(taken(&store, "new").await);
}

both!(
    a_credential_is_stored_once_and_counts_only_forward,
    a_counterless_authenticator_stays_at_zero,
    the_last_way_to_sign_in_stays,
    a_ceremony_is_taken_once,
    starting_more_than_the_bound_drops_the_oldest,
    expired_ceremonies_are_pruned,
);
