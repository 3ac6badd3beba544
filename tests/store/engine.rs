//! The store handle itself: which engine it opened, `ping`, and migrations run twice.

use crate::both;
use crate::common::Backend;
use crate::support::*;

async fn backend_names_the_engine(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(store.backend(), expected);
    store.ping().await.expect("ping");
}

async fn migrate_twice_is_a_no_op(backend: Backend) {
    let (store, _dir) = open(backend).await;
    user(&store, "kept@example.com").await;
    store.migrate().await.expect("second migrate");
    let kept = store.users().by_email("kept@example.com").await.unwrap();
    assert_eq!(kept.map(|u| u.email), Some("kept@example.com".to_string()));
}

both!(backend_names_the_engine, migrate_twice_is_a_no_op);
