//! `tokens()`: single-use tokens and codes: insert, find, list live ones, spend once, count
//! wrong guesses, revoke by purpose.

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::TokenPurpose::{self, *};
use uuid::Uuid;

async fn insert_and_find_by_purpose_and_hash(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let t = token(&store, u.id, PasswordReset, "hash-1", at(1)).await;
    let r = store.tokens().by_hash(PasswordReset, "hash-1").await.unwrap().unwrap();
    assert_eq!((r.id, r.user_id, r.token_hash.as_str()), (t.id, u.id, "hash-1"));
    assert_eq!((r.created_at, r.expires_at), (at(1), at(61)));
    assert_eq!((r.used_at, r.revoked_at, r.attempts), (None, None, 0));
    assert!(
        store
            .tokens()
            .by_hash(EmailVerificationLink, "hash-1")
            .await
            .unwrap()
            .is_none(),
        "the purpose is part of the key"
    );
    assert!(store
        .tokens()
        .by_hash(PasswordReset, "unknown")
        .await
        .unwrap()
        .is_none());
}

async fn live_tokens_are_newest_first(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    let older = token(&store, u.id, OtpLogin, "older", at(1)).await;
    let newest = token(&store, u.id, OtpLogin, "newest", at(3)).await;
    let middle = token(&store, u.id, OtpLogin, "middle", at(2)).await;
    let used = token(&store, u.id, OtpLogin, "used", at(2)).await;
    assert!(store.tokens().consume(used.id, at(4)).await.unwrap());
    token(&store, u.id, OtpLogin, "expired", at(-120)).await;
    token(&store, u.id, MfaEmailCode, "other-purpose", at(2)).await;
    token(&store, other.id, OtpLogin, "other-user", at(2)).await;
    let ids: Vec<Uuid> = store
        .tokens()
        .live(u.id, OtpLogin, at(5))
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, [newest.id, middle.id, older.id]);
    assert!(store
        .tokens()
        .live(Uuid::new_v4(), OtpLogin, at(5))
        .await
        .unwrap()
        .is_empty());
}

async fn consume_spends_a_live_token_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let t = token(&store, u.id, EmailVerificationLink, "link", at(0)).await;
    assert!(store.tokens().consume(t.id, at(10)).await.unwrap());
    let r = store
        .tokens()
        .by_hash(EmailVerificationLink, "link")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.used_at, Some(at(10)));
    assert!(!store.tokens().consume(t.id, at(11)).await.unwrap(), "already used");
    assert!(
        !store.tokens().consume(Uuid::new_v4(), at(11)).await.unwrap(),
        "unknown"
    );

    let expiring = token(&store, u.id, EmailVerificationLink, "expiring", at(0)).await;
    assert!(
        !store.tokens().consume(expiring.id, at(60)).await.unwrap(),
        "not live at its expiry instant"
    );
    let revoked = token(&store, u.id, EmailVerificationLink, "revoked", at(0)).await;
    assert_eq!(
        store
            .tokens()
            .revoke(u.id, &[EmailVerificationLink], at(1))
            .await
            .unwrap(),
        2
    );
    assert!(!store.tokens().consume(revoked.id, at(2)).await.unwrap(), "revoked");
}

async fn racing_consumers_spend_a_token_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let t = token(&store, u.id, OAuthExchange, "exchange", at(0)).await;
    let results = race(8, |_| {
        let store = store.clone();
        async move { store.tokens().consume(t.id, at(1)).await.unwrap() }
    })
    .await;
    assert_eq!(winners(&results), 1, "{results:?}");
    let r = store
        .tokens()
        .by_hash(OAuthExchange, "exchange")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.used_at, Some(at(1)));
}

async fn failed_attempts_revoke_at_the_limit(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let t = token(&store, u.id, EmailVerificationCode, "code", at(0)).await;
    let tokens = store.tokens();
    assert_eq!(tokens.record_failed_attempt(t.id, 3, at(1)).await.unwrap(), 1);
    assert_eq!(tokens.record_failed_attempt(t.id, 3, at(2)).await.unwrap(), 2);
    let r = tokens.by_hash(EmailVerificationCode, "code").await.unwrap().unwrap();
    assert_eq!((r.attempts, r.revoked_at), (2, None), "below the limit: still live");
    assert_eq!(tokens.record_failed_attempt(t.id, 3, at(3)).await.unwrap(), 3);
    let r = tokens.by_hash(EmailVerificationCode, "code").await.unwrap().unwrap();
    assert_eq!((r.attempts, r.revoked_at), (3, Some(at(3))));
    assert!(!tokens.consume(t.id, at(4)).await.unwrap(), "revoked at the limit");
    assert_eq!(tokens.record_failed_attempt(t.id, 3, at(5)).await.unwrap(), 4);
    let r = tokens.by_hash(EmailVerificationCode, "code").await.unwrap().unwrap();
    assert_eq!(r.revoked_at, Some(at(3)), "the first revocation time stays");
    assert_eq!(tokens.record_failed_attempt(Uuid::new_v4(), 3, at(5)).await.unwrap(), 0);
}

async fn racing_wrong_guesses_are_all_counted(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let t = token(&store, u.id, MfaEmailCode, "code", at(0)).await;
    let mut counts = race(8, |_| {
        let store = store.clone();
        async move { store.tokens().record_failed_attempt(t.id, 100, at(1)).await.unwrap() }
    })
    .await;
    counts.sort_unstable();
    assert_eq!(counts, (1..=8).collect::<Vec<u32>>());
}

async fn revoke_by_purpose_list(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    token(&store, u.id, EmailVerificationLink, "link", at(0)).await;
    token(&store, u.id, EmailVerificationCode, "code", at(0)).await;
    token(&store, u.id, PasswordReset, "reset", at(0)).await;
    let spent = token(&store, u.id, EmailVerificationLink, "spent", at(0)).await;
    assert!(store.tokens().consume(spent.id, at(1)).await.unwrap());
    token(&store, other.id, EmailVerificationLink, "other", at(0)).await;

    let verification: [TokenPurpose; 2] = [EmailVerificationLink, EmailVerificationCode];
    assert_eq!(
        store.tokens().revoke(u.id, &[], at(2)).await.unwrap(),
        0,
        "no purposes: nothing"
    );
    assert_eq!(
        store
            .tokens()
            .live(u.id, EmailVerificationLink, at(2))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.tokens().revoke(u.id, &verification, at(2)).await.unwrap(), 2);
    assert_eq!(
        store.tokens().revoke(u.id, &verification, at(3)).await.unwrap(),
        0,
        "already revoked"
    );

    let revoked = |hash: &'static str, purpose| {
        let store = store.clone();
        async move { store.tokens().by_hash(purpose, hash).await.unwrap().unwrap().revoked_at }
    };
    assert_eq!(revoked("link", EmailVerificationLink).await, Some(at(2)));
    assert_eq!(revoked("code", EmailVerificationCode).await, Some(at(2)));
    assert_eq!(revoked("reset", PasswordReset).await, None, "another purpose");
    assert_eq!(
        revoked("spent", EmailVerificationLink).await,
        None,
        "a used token stays used"
    );
    assert_eq!(revoked("other", EmailVerificationLink).await, None, "another user");
    assert_eq!(
        store
            .tokens()
            .revoke(Uuid::new_v4(), &verification, at(3))
            .await
            .unwrap(),
        0
    );
}

both!(
    insert_and_find_by_purpose_and_hash,
    live_tokens_are_newest_first,
    consume_spends_a_live_token_once,
    racing_consumers_spend_a_token_once,
    failed_attempts_revoke_at_the_limit,
    racing_wrong_guesses_are_all_counted,
    revoke_by_purpose_list,
);
