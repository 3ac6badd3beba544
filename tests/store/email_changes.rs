//! `email_changes()`: the pending change stored with its link, and the confirmation that spends
//! the link and moves the account (once; never onto another account's address).

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::{NewOneTimeToken, Store, StoreError, TokenPurpose};
use uuid::Uuid;

/// Stores an email-change link `hash` of `user_id` for `new_email` (issued at t0, live an hour).
async fn change(store: &Store, user_id: Uuid, hash: &str, new_email: &str) -> NewOneTimeToken {
    let t = new_token(user_id, TokenPurpose::EmailChange, hash, at(0));
    store
        .email_changes()
        .insert(&t, new_email, &new_email.to_lowercase())
        .await
        .unwrap();
    t
}

async fn used_at(store: &Store, purpose: TokenPurpose, hash: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    store.tokens().by_hash(purpose, hash).await.unwrap().unwrap().used_at
}

async fn confirm_moves_the_account_to_the_new_address(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "old@example.com").await;
    let t = change(&store, u.id, "link", "New@Example.com").await;
    let live = store
        .tokens()
        .live(u.id, TokenPurpose::EmailChange, at(1))
        .await
        .unwrap();
    assert_eq!(
        live.iter().map(|l| l.id).collect::<Vec<_>>(),
        [t.id],
        "the link is a one-time token"
    );

    let moved = store.email_changes().confirm(t.id, at(5)).await.unwrap().unwrap();
    assert_eq!(moved.user_id, u.id);
    assert_eq!(
        (moved.old_email.as_str(), moved.new_email.as_str()),
        ("old@example.com", "New@Example.com")
    );
    let r = store.users().by_id(u.id).await.unwrap().unwrap();
    assert_eq!(
        (r.email.as_str(), r.email_canonical.as_str()),
        ("New@Example.com", "new@example.com")
    );
    assert_eq!(
        (r.is_email_verified, r.email_verified_at, r.updated_at),
        (true, Some(at(5)), at(5))
    );
    assert!(store.users().by_email("old@example.com").await.unwrap().is_none());
    assert_eq!(
        store.users().by_email("new@example.com").await.unwrap().map(|r| r.id),
        Some(u.id)
    );
    assert_eq!(used_at(&store, TokenPurpose::EmailChange, "link").await, Some(at(5)));

    assert!(
        store.email_changes().confirm(t.id, at(6)).await.unwrap().is_none(),
        "spent"
    );
    assert!(store
        .email_changes()
        .confirm(Uuid::new_v4(), at(6))
        .await
        .unwrap()
        .is_none());
    user(&store, "old@example.com").await;
}

async fn only_a_live_email_change_link_confirms(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "old@example.com").await;
    let expiring = change(&store, u.id, "expiring", "a@example.com").await;
    assert!(
        store
            .email_changes()
            .confirm(expiring.id, at(60))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert_eq!(used_at(&store, TokenPurpose::EmailChange, "expiring").await, None);

    let revoked = change(&store, u.id, "revoked", "b@example.com").await;
    assert_eq!(
        store
            .tokens()
            .revoke(u.id, &[TokenPurpose::EmailChange], at(1))
            .await
            .unwrap(),
        2
    );
    assert!(
        store
            .email_changes()
            .confirm(revoked.id, at(2))
            .await
            .unwrap()
            .is_none(),
        "revoked"
    );

    // A token of another purpose is no email-change link, and it is not spent by trying.
    let reset = token(&store, u.id, TokenPurpose::PasswordReset, "reset", at(0)).await;
    assert!(store.email_changes().confirm(reset.id, at(2)).await.unwrap().is_none());
    assert_eq!(used_at(&store, TokenPurpose::PasswordReset, "reset").await, None);
    assert_eq!(
        store.users().by_id(u.id).await.unwrap().unwrap().email,
        "old@example.com"
    );
}

async fn a_taken_address_is_a_duplicate_and_leaves_the_link_unspent(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "old@example.com").await;
    let t = change(&store, u.id, "link", "taken@example.com").await;
    let squatter = user(&store, "TAKEN@example.com").await;
    let err = store.email_changes().confirm(t.id, at(5)).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate("email")), "{err:?}");
    assert_eq!(used_at(&store, TokenPurpose::EmailChange, "link").await, None);
    let r = store.users().by_id(u.id).await.unwrap().unwrap();
    assert_eq!((r.email.as_str(), r.updated_at), ("old@example.com", t0()));

    // Once the address is free again the same link still works.
    store
        .accounts()
        .delete(squatter.id, &admin_roles(), at(6))
        .await
        .unwrap();
    let moved = store.email_changes().confirm(t.id, at(7)).await.unwrap().unwrap();
    assert_eq!(moved.new_email, "taken@example.com");
}

async fn racing_confirmations_move_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "old@example.com").await;
    let t = change(&store, u.id, "link", "new@example.com").await;
    let results = race(8, |_| {
        let store = store.clone();
        async move { store.email_changes().confirm(t.id, at(1)).await.unwrap().is_some() }
    })
    .await;
    assert_eq!(winners(&results), 1, "{results:?}");
    assert_eq!(
        store.users().by_id(u.id).await.unwrap().unwrap().email,
        "new@example.com"
    );
}

both!(
    confirm_moves_the_account_to_the_new_address,
    only_a_live_email_change_link_confirms,
    a_taken_address_is_a_duplicate_and_leaves_the_link_unspent,
    racing_confirmations_move_once,
);
