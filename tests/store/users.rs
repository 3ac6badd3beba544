//! `users()`: create, the three look-ups, uniqueness, verification, logins, profile edits and
//! passwords with their history. (Listing and import: `user_listing.rs`, `import.rs`.)

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::{NewUser, ProfileChanges, StoreError, StoredUsername};
use uuid::Uuid;

fn username(typed: &str) -> Option<Option<StoredUsername>> {
    Some(Some(StoredUsername {
        username: typed.to_string(),
        canonical: typed.to_lowercase(),
    }))
}

async fn create_returns_the_stored_row(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let new = new_user_named("Rahim@Example.com", "Rahim_01");
    let u = store.users().create(&new).await.unwrap();
    assert_eq!(u.id, new.id);
    assert_eq!(u.email, "Rahim@Example.com");
    assert_eq!(u.email_canonical, "rahim@example.com");
    assert_eq!(u.username.as_deref(), Some("Rahim_01"));
    assert_eq!(u.first_name.as_deref(), Some("Rahim"));
    assert_eq!(u.gender.as_deref(), Some("male"));
    assert_eq!(u.password_hash, Some(phc(0)));
    assert_eq!(u.role, "user");
    assert!(u.is_active);
    assert!(!u.is_email_verified);
    assert!(!u.mfa_enabled);
    assert_eq!((u.created_at, u.updated_at), (t0(), t0()));
    assert_eq!((u.last_login, u.email_verified_at), (None, None));

    let verified = NewUser {
        is_email_verified: true,
        created_at: at(5),
        password_hash: None,
        ..new_user("verified@example.com")
    };
    let v = store.users().create(&verified).await.unwrap();
    assert!(v.is_email_verified);
    assert_eq!(
        v.email_verified_at,
        Some(at(5)),
        "a verified account is verified when created"
    );
    assert_eq!(v.password_hash, None);
}

async fn an_account_with_a_confirmed_address(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let email = gatehouse::domain::Email::parse("Bob@Example.com").unwrap();
    let new = NewUser::with_confirmed_email(&email, "admin", Some(phc(1)), at(3));
    let u = store.users().create(&new).await.unwrap();
    // `Email` keeps the local part as typed and lower-cases the domain.
    assert_eq!(
        (u.email.as_str(), u.email_canonical.as_str()),
        ("Bob@example.com", "bob@example.com")
    );
    assert_eq!((u.role.as_str(), u.password_hash.clone()), ("admin", Some(phc(1))));
    assert_eq!((u.is_email_verified, u.email_verified_at), (true, Some(at(3))));
    assert_eq!((u.username, u.first_name), (None, None));
    let err = store
        .users()
        .create(&NewUser::with_confirmed_email(&email, "user", None, at(4)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate("email")), "{err:?}");
}

async fn lookups_find_by_id_canonical_email_and_canonical_username(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = store
        .users()
        .create(&new_user_named("Rahim@Example.com", "Rahim_01"))
        .await
        .unwrap();
    let users = store.users();
    assert_eq!(users.by_id(u.id).await.unwrap().map(|r| r.email), Some(u.email.clone()));
    assert_eq!(
        users.by_email("rahim@example.com").await.unwrap().map(|r| r.id),
        Some(u.id)
    );
    assert_eq!(users.by_username("rahim_01").await.unwrap().map(|r| r.id), Some(u.id));
    // Only the canonical forms are keys.
    assert!(users.by_email("Rahim@Example.com").await.unwrap().is_none());
    assert!(users.by_username("Rahim_01").await.unwrap().is_none());
    assert!(users.by_id(Uuid::new_v4()).await.unwrap().is_none());
    assert!(users.by_email("nobody@example.com").await.unwrap().is_none());
    assert!(users.by_username("nobody").await.unwrap().is_none());
}

async fn same_canonical_email_is_a_duplicate(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let first = user(&store, "rahim@example.com").await;
    let err = store.users().create(&new_user("RAHIM@example.COM")).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate("email")), "{err:?}");
    let found = store.users().by_email("rahim@example.com").await.unwrap().unwrap();
    assert_eq!((found.id, found.email), (first.id, "rahim@example.com".to_string()));
}

async fn same_canonical_username_is_a_duplicate(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let first = store
        .users()
        .create(&new_user_named("a@example.com", "Rahim"))
        .await
        .unwrap();
    let err = store
        .users()
        .create(&new_user_named("b@example.com", "rAHIM"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate("username")), "{err:?}");
    assert!(store.users().by_email("b@example.com").await.unwrap().is_none());

    // The same through a profile edit: nothing of the edit is written.
    let other = user(&store, "c@example.com").await;
    let changes = ProfileChanges {
        username: username("RAHIM"),
        first_name: Some("Changed".into()),
        ..ProfileChanges::default()
    };
    let err = store
        .users()
        .update_profile(other.id, &changes, at(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate("username")), "{err:?}");
    let after = store.users().by_id(other.id).await.unwrap().unwrap();
    assert_eq!((after.username, after.first_name.as_deref()), (None, Some("Rahim")));
    assert_eq!(store.users().by_username("rahim").await.unwrap().unwrap().id, first.id);
}

async fn update_profile_sets_only_the_given_fields(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = store
        .users()
        .create(&new_user_named("a@example.com", "Old_Name"))
        .await
        .unwrap();
    let changes = ProfileChanges {
        username: username("New_Name"),
        last_name: Some("Khan".into()),
        mobile: Some("01712345678".into()),
        date_of_birth: chrono::NaiveDate::from_ymd_opt(1998, 4, 17),
        gender: Some("other".into()),
        ..ProfileChanges::default()
    };
    let r = store
        .users()
        .update_profile(u.id, &changes, at(3))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.username.as_deref(), Some("New_Name"));
    assert_eq!(r.first_name.as_deref(), Some("Rahim"), "None leaves a field as it is");
    assert_eq!(r.last_name.as_deref(), Some("Khan"));
    assert_eq!(r.mobile.as_deref(), Some("01712345678"));
    assert_eq!(r.date_of_birth, chrono::NaiveDate::from_ymd_opt(1998, 4, 17));
    assert_eq!(r.gender.as_deref(), Some("other"));
    assert_eq!(r.updated_at, at(3));
    assert_eq!(store.users().by_username("new_name").await.unwrap().unwrap().id, u.id);
    assert!(store.users().by_username("old_name").await.unwrap().is_none());

    // Leaving the username out keeps it; `Some(None)` removes it and frees it for others.
    let kept = store
        .users()
        .update_profile(u.id, &ProfileChanges::default(), at(4))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.username.as_deref(), Some("New_Name"));
    let removed = ProfileChanges {
        username: Some(None),
        ..ProfileChanges::default()
    };
    let r = store
        .users()
        .update_profile(u.id, &removed, at(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.username, None);
    assert!(store.users().by_username("new_name").await.unwrap().is_none());
    store
        .users()
        .create(&new_user_named("b@example.com", "NEW_name"))
        .await
        .expect("a removed username is free again");

    assert!(store
        .users()
        .update_profile(Uuid::new_v4(), &changes, at(6))
        .await
        .unwrap()
        .is_none());
}

async fn mark_email_verified_only_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    assert!(store.users().mark_email_verified(u.id, at(2)).await.unwrap());
    let r = store.users().by_id(u.id).await.unwrap().unwrap();
    assert!(r.is_email_verified);
    assert_eq!((r.email_verified_at, r.updated_at), (Some(at(2)), at(2)));
    assert!(!store.users().mark_email_verified(u.id, at(3)).await.unwrap());
    let r = store.users().by_id(u.id).await.unwrap().unwrap();
    assert_eq!(r.email_verified_at, Some(at(2)), "the first verification stands");
    assert!(!store.users().mark_email_verified(Uuid::new_v4(), at(3)).await.unwrap());
}

async fn record_login_and_rehash(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    store.users().record_login(u.id, at(7)).await.unwrap();
    store.users().update_password_hash(u.id, &phc(9), at(8)).await.unwrap();
    let r = store.users().by_id(u.id).await.unwrap().unwrap();
    assert_eq!(r.last_login, Some(at(7)));
    assert_eq!(r.password_hash, Some(phc(9)));
    assert_eq!(r.updated_at, at(8));
    assert!(
        store.users().password_history(u.id, 10).await.unwrap().is_empty(),
        "a rehash is not a new password"
    );
    // Unknown ids change nothing and are no error.
    store.users().record_login(Uuid::new_v4(), at(7)).await.unwrap();
    store
        .users()
        .update_password_hash(Uuid::new_v4(), &phc(1), at(7))
        .await
        .unwrap();
}

async fn change_password_keeps_the_newest_history_first(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    store
        .users()
        .change_password(other.id, &phc(100), 3, at(1))
        .await
        .unwrap();
    // Every change at the same instant: the order is insertion order, not the timestamp.
    for n in 1..=4 {
        store.users().change_password(u.id, &phc(n), 3, at(1)).await.unwrap();
    }
    let r = store.users().by_id(u.id).await.unwrap().unwrap();
    assert_eq!(r.password_hash, Some(phc(4)));
    let history = store.users().password_history(u.id, 10).await.unwrap();
    assert_eq!(
        history,
        vec![phc(3), phc(2), phc(1)],
        "cut to keep_history, newest first"
    );
    assert_eq!(
        store.users().password_history(u.id, 2).await.unwrap(),
        vec![phc(3), phc(2)]
    );
    assert_eq!(
        store.users().password_history(other.id, 10).await.unwrap(),
        vec![phc(0)],
        "another user's history is not cut"
    );
    store.users().change_password(u.id, &phc(5), 0, at(2)).await.unwrap();
    assert!(store.users().password_history(u.id, 10).await.unwrap().is_empty());
    assert!(store
        .users()
        .password_history(Uuid::new_v4(), 10)
        .await
        .unwrap()
        .is_empty());
}

async fn first_password_leaves_no_history(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let social = NewUser {
        password_hash: None,
        ..new_user("social@example.com")
    };
    let u = store.users().create(&social).await.unwrap();
    store.users().change_password(u.id, &phc(1), 5, at(1)).await.unwrap();
    assert_eq!(
        store.users().by_id(u.id).await.unwrap().unwrap().password_hash,
        Some(phc(1))
    );
    assert!(store.users().password_history(u.id, 10).await.unwrap().is_empty());
}

both!(
    create_returns_the_stored_row,
    an_account_with_a_confirmed_address,
    lookups_find_by_id_canonical_email_and_canonical_username,
    same_canonical_email_is_a_duplicate,
    same_canonical_username_is_a_duplicate,
    update_profile_sets_only_the_given_fields,
    mark_email_verified_only_once,
    record_login_and_rehash,
    change_password_keeps_the_newest_history_first,
    first_password_leaves_no_history,
);
