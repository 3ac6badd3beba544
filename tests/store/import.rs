//! `users().import`: inserted, already present, username conflicts, and all-or-nothing.

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::{ImportOutcome, NewImportedUser, NewUser};

fn imported(user: NewUser) -> NewImportedUser {
    NewImportedUser {
        user,
        active_totp: None,
    }
}

fn imported_with_totp(user: NewUser) -> NewImportedUser {
    let totp = new_factor(user.id, "totp", user.created_at);
    NewImportedUser {
        user,
        active_totp: Some(totp),
    }
}

async fn import_inserts_new_users_and_their_factor(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let plain = new_user("plain@example.com");
    let with_mfa = new_user_named("Mfa@Example.com", "Mfa_User");
    let batch = [imported(plain.clone()), imported_with_totp(with_mfa.clone())];
    let outcomes = store.users().import(&batch, false).await.unwrap();
    assert_eq!(outcomes, [ImportOutcome::Inserted, ImportOutcome::Inserted]);

    let p = store.users().by_email("plain@example.com").await.unwrap().unwrap();
    assert_eq!((p.id, p.mfa_enabled), (plain.id, false));
    let m = store.users().by_username("mfa_user").await.unwrap().unwrap();
    assert_eq!((m.id, m.mfa_enabled), (with_mfa.id, true));
    let factors = store.mfa().factors(m.id).await.unwrap();
    assert_eq!(factors.len(), 1);
    assert_eq!(factors[0].method, "totp");
    assert!(factors[0].is_active());
    assert_eq!(factors[0].secret, Some(vec![1, 2, 3, 4]));
    assert_eq!(factors[0].activated_at, Some(with_mfa.created_at));
    assert!(store.mfa().factors(p.id).await.unwrap().is_empty());
}

async fn import_again_leaves_present_users_alone(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let first = new_user("a@example.com");
    store.users().import(&[imported(first.clone())], false).await.unwrap();
    // The same address (another case, another id and name): left as it is.
    let again = NewUser {
        first_name: Some("Other".into()),
        ..new_user("A@EXAMPLE.com")
    };
    let fresh = new_user("b@example.com");
    let outcomes = store
        .users()
        .import(
            &[
                imported(again),
                imported(fresh.clone()),
                imported(new_user("B@example.com")),
            ],
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        [
            ImportOutcome::AlreadyPresent,
            ImportOutcome::Inserted,
            ImportOutcome::AlreadyPresent
        ]
    );
    let b = store.users().by_email("b@example.com").await.unwrap().unwrap();
    assert_eq!(b.id, fresh.id, "the first row of a batch wins");
    let a = store.users().by_email("a@example.com").await.unwrap().unwrap();
    assert_eq!((a.id, a.first_name.as_deref()), (first.id, Some("Rahim")));
    assert_eq!(store.users().list(&Default::default()).await.unwrap().1, 2);
}

async fn import_reports_a_taken_username(backend: Backend) {
    let (store, _dir) = open(backend).await;
    store
        .users()
        .create(&new_user_named("owner@example.com", "Taken"))
        .await
        .unwrap();
    let batch = [
        imported(new_user("one@example.com")),
        imported_with_totp(new_user_named("clash@example.com", "TAKEN")),
        imported(new_user("two@example.com")),
    ];
    let outcomes = store.users().import(&batch, false).await.unwrap();
    assert_eq!(
        outcomes,
        [
            ImportOutcome::Inserted,
            ImportOutcome::Conflict("username"),
            ImportOutcome::Inserted
        ]
    );
    assert!(store.users().by_email("one@example.com").await.unwrap().is_some());
    assert!(store.users().by_email("two@example.com").await.unwrap().is_some());
    assert!(store.users().by_email("clash@example.com").await.unwrap().is_none());
}

async fn import_all_or_nothing_rolls_back_at_the_first_conflict(backend: Backend) {
    let (store, _dir) = open(backend).await;
    store
        .users()
        .create(&new_user_named("owner@example.com", "taken"))
        .await
        .unwrap();
    let before_conflict = new_user("one@example.com");
    let batch = [
        imported_with_totp(before_conflict.clone()),
        imported(new_user_named("clash@example.com", "Taken")),
        imported(new_user("two@example.com")),
    ];
    let outcomes = store.users().import(&batch, true).await.unwrap();
    assert_eq!(outcomes, [ImportOutcome::Inserted, ImportOutcome::Conflict("username")]);
    for email in ["one@example.com", "clash@example.com", "two@example.com"] {
        assert!(
            store.users().by_email(email).await.unwrap().is_none(),
            "{email} was rolled back"
        );
    }
    assert!(store.mfa().factors(before_conflict.id).await.unwrap().is_empty());
    assert_eq!(store.users().list(&Default::default()).await.unwrap().1, 1);

    // Without the conflict the same call commits everything.
    let clean = [
        imported(new_user("one@example.com")),
        imported(new_user("two@example.com")),
    ];
    let outcomes = store.users().import(&clean, true).await.unwrap();
    assert_eq!(outcomes, [ImportOutcome::Inserted, ImportOutcome::Inserted]);
    assert_eq!(store.users().list(&Default::default()).await.unwrap().1, 3);
}

both!(
    import_inserts_new_users_and_their_factor,
    import_again_leaves_present_users_alone,
    import_reports_a_taken_username,
    import_all_or_nothing_rolls_back_at_the_first_conflict,
);
