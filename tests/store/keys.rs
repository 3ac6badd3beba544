//! `keys()`: signing keys (insert once per kid, list, reseal, retire) and server secrets
//! (first value wins, also when instances race; reseal).

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::{SigningKeyRecord, Store, StoreError};

async fn listed(store: &Store) -> Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> {
    store
        .keys()
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.kid, k.retired_at))
        .collect()
}

fn kid_list(
    keys: &[(&str, Option<chrono::DateTime<chrono::Utc>>)],
) -> Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> {
    keys.iter().map(|(k, r)| (k.to_string(), *r)).collect()
}

async fn signing_keys_oldest_first(backend: Backend) {
    let (store, _dir) = open(backend).await;
    assert!(store.keys().signing_keys().await.unwrap().is_empty());
    let retired = SigningKeyRecord {
        retired_at: Some(at(1)),
        ..signing_key("k0", at(0))
    };
    for k in [signing_key("k2", at(2)), retired, signing_key("k1", at(1))] {
        store.keys().insert_signing_key(&k).await.unwrap();
    }
    assert_eq!(
        listed(&store).await,
        kid_list(&[("k0", Some(at(1))), ("k1", None), ("k2", None)])
    );
    let k1 = &store.keys().signing_keys().await.unwrap()[1];
    assert_eq!(
        (k1.algorithm.as_str(), k1.private_key.as_str()),
        ("EdDSA", "private-k1")
    );
    assert_eq!((k1.public_key.as_str(), k1.created_at), ("public-k1", at(1)));
}

async fn a_kid_is_inserted_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    store
        .keys()
        .insert_signing_key(&signing_key("k1", at(0)))
        .await
        .unwrap();
    let twin = SigningKeyRecord {
        public_key: "another".into(),
        ..signing_key("k1", at(1))
    };
    let err = store.keys().insert_signing_key(&twin).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate("key")), "{err:?}");
    let keys = store.keys().signing_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!((keys[0].public_key.as_str(), keys[0].created_at), ("public-k1", at(0)));
}

async fn retire_all_but_the_kept_key(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let old = SigningKeyRecord {
        retired_at: Some(at(1)),
        ..signing_key("k0", at(0))
    };
    store.keys().insert_signing_key(&old).await.unwrap();
    for (kid, minute) in [("k1", 1), ("k2", 2), ("k3", 3)] {
        store
            .keys()
            .insert_signing_key(&signing_key(kid, at(minute)))
            .await
            .unwrap();
    }
    assert_eq!(store.keys().retire_signing_keys("k3", at(5)).await.unwrap(), 2);
    assert_eq!(
        listed(&store).await,
        kid_list(&[
            ("k0", Some(at(1))),
            ("k1", Some(at(5))),
            ("k2", Some(at(5))),
            ("k3", None)
        ]),
        "a retired key keeps its first retirement"
    );
    assert_eq!(store.keys().retire_signing_keys("k3", at(6)).await.unwrap(), 0);
    assert_eq!(store.keys().retire_signing_keys("unknown", at(7)).await.unwrap(), 1);
    assert_eq!(listed(&store).await[3], ("k3".to_string(), Some(at(7))));
}

async fn replace_signing_private_key_reseals_one_key(backend: Backend) {
    let (store, _dir) = open(backend).await;
    store
        .keys()
        .insert_signing_key(&signing_key("k1", at(0)))
        .await
        .unwrap();
    store
        .keys()
        .insert_signing_key(&signing_key("k2", at(1)))
        .await
        .unwrap();
    store
        .keys()
        .replace_signing_private_key("k1", "sealed-k1")
        .await
        .unwrap();
    store
        .keys()
        .replace_signing_private_key("unknown", "sealed")
        .await
        .unwrap();
    let keys = store.keys().signing_keys().await.unwrap();
    let private: Vec<(&str, &str, &str)> = keys
        .iter()
        .map(|k| (k.kid.as_str(), k.private_key.as_str(), k.public_key.as_str()))
        .collect();
    assert_eq!(
        private,
        [("k1", "sealed-k1", "public-k1"), ("k2", "private-k2", "public-k2")]
    );
}

async fn the_first_secret_wins(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let keys = store.keys();
    assert_eq!(
        keys.get_or_create_secret("hmac", b"first", at(0)).await.unwrap(),
        b"first"
    );
    assert_eq!(
        keys.get_or_create_secret("hmac", b"second", at(1)).await.unwrap(),
        b"first"
    );
    assert_eq!(
        keys.get_or_create_secret("cookie", b"other", at(1)).await.unwrap(),
        b"other"
    );

    keys.replace_secret("hmac", b"sealed").await.unwrap();
    assert_eq!(
        keys.get_or_create_secret("hmac", b"third", at(2)).await.unwrap(),
        b"sealed"
    );
    assert_eq!(
        keys.get_or_create_secret("cookie", b"x", at(2)).await.unwrap(),
        b"other"
    );
    keys.replace_secret("unknown", b"nothing").await.unwrap();
    assert_eq!(
        keys.get_or_create_secret("unknown", b"created", at(3)).await.unwrap(),
        b"created",
        "replace creates nothing"
    );
}

async fn racing_instances_agree_on_one_secret(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let values = race(8, |i| {
        let store = store.clone();
        async move {
            let mine = vec![i as u8; 32];
            store.keys().get_or_create_secret("hmac", &mine, at(0)).await.unwrap()
        }
    })
    .await;
    let first = values[0].clone();
    assert!(values.iter().all(|v| *v == first), "{values:?}");
    assert!((0..8u8).any(|i| first == vec![i; 32]));
}

both!(
    signing_keys_oldest_first,
    a_kid_is_inserted_once,
    retire_all_but_the_kept_key,
    replace_signing_private_key_reseals_one_key,
    the_first_secret_wins,
    racing_instances_agree_on_one_secret,
);
