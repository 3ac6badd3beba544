//! `mfa()`: pending and active factors, recovery codes (spent once), TOTP step claims (once,
//! never backwards) and the failure lock.

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::StoreError;
use uuid::Uuid;

fn hashes(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

async fn a_pending_factor_replaces_the_earlier_pending_one(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    store
        .mfa()
        .save_pending_factor(&new_factor(u.id, "totp", at(0)))
        .await
        .unwrap();
    let second = new_factor(u.id, "totp", at(1));
    store.mfa().save_pending_factor(&second).await.unwrap();
    let email = new_factor(u.id, "email", at(2));
    store.mfa().save_pending_factor(&email).await.unwrap();
    let factors = store.mfa().factors(u.id).await.unwrap();
    let seen: Vec<(Uuid, &str, &str)> = factors
        .iter()
        .map(|f| (f.id, f.method.as_str(), f.status.as_str()))
        .collect();
    assert_eq!(seen, [(second.id, "totp", "pending"), (email.id, "email", "pending")]);
    assert_eq!((factors[0].user_id, factors[0].created_at), (u.id, at(1)));
    assert_eq!(
        (factors[0].secret.clone(), factors[0].activated_at),
        (Some(vec![1, 2, 3, 4]), None)
    );
    assert!(!factors[0].is_active());
    assert_eq!(factors[1].secret, None);
    assert!(store.mfa().factors(Uuid::new_v4()).await.unwrap().is_empty());
}

async fn racing_enrolments_keep_one_pending_factor(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let results = race(4, |_| {
        let store = store.clone();
        let f = new_factor(u.id, "totp", at(0));
        async move { store.mfa().save_pending_factor(&f).await.map_err(|e| format!("{e:?}")) }
    })
    .await;
    assert!(
        results.iter().all(Result::is_ok),
        "nothing is active: no duplicate: {results:?}"
    );
    let factors = store.mfa().factors(u.id).await.unwrap();
    assert_eq!(factors.len(), 1);
    assert_eq!(factors[0].status, "pending");
}

async fn activate_factor_once_with_recovery_codes(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    let totp = new_factor(u.id, "totp", at(0));
    store.mfa().save_pending_factor(&totp).await.unwrap();
    assert!(
        !store
            .mfa()
            .activate_factor(totp.id, other.id, &[], at(1))
            .await
            .unwrap(),
        "not the owner"
    );
    assert!(!store
        .mfa()
        .activate_factor(Uuid::new_v4(), u.id, &[], at(1))
        .await
        .unwrap());
    let codes = hashes(&["c1", "c2", "c3"]);
    assert!(store.mfa().activate_factor(totp.id, u.id, &codes, at(2)).await.unwrap());
    let f = &store.mfa().factors(u.id).await.unwrap()[0];
    assert!(f.is_active());
    assert_eq!(f.activated_at, Some(at(2)));
    let r = store.users().by_id(u.id).await.unwrap().unwrap();
    assert_eq!((r.mfa_enabled, r.updated_at), (true, at(2)));
    assert_eq!(store.mfa().unused_recovery_codes(u.id).await.unwrap(), 3);
    assert!(
        !store.mfa().activate_factor(totp.id, u.id, &codes, at(3)).await.unwrap(),
        "already active"
    );

    // An active method cannot get a pending twin; the active factor stays.
    let err = store
        .mfa()
        .save_pending_factor(&new_factor(u.id, "totp", at(4)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate("key")), "{err:?}");
    let factors = store.mfa().factors(u.id).await.unwrap();
    assert_eq!((factors.len(), factors[0].id), (1, totp.id));

    // Activating without codes keeps the ones there are.
    let email = new_factor(u.id, "email", at(5));
    store.mfa().save_pending_factor(&email).await.unwrap();
    assert!(store.mfa().activate_factor(email.id, u.id, &[], at(6)).await.unwrap());
    assert_eq!(store.mfa().unused_recovery_codes(u.id).await.unwrap(), 3);
}

async fn recovery_codes_are_spent_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    store
        .mfa()
        .replace_recovery_codes(u.id, &hashes(&["a", "b"]), at(0))
        .await
        .unwrap();
    store
        .mfa()
        .replace_recovery_codes(other.id, &hashes(&["x"]), at(0))
        .await
        .unwrap();
    assert_eq!(store.mfa().unused_recovery_codes(u.id).await.unwrap(), 2);
    assert!(store.mfa().consume_recovery_code(u.id, "a", at(1)).await.unwrap());
    assert!(
        !store.mfa().consume_recovery_code(u.id, "a", at(2)).await.unwrap(),
        "spent"
    );
    assert!(!store.mfa().consume_recovery_code(u.id, "nope", at(2)).await.unwrap());
    assert!(
        !store.mfa().consume_recovery_code(u.id, "x", at(2)).await.unwrap(),
        "another user's code"
    );
    assert_eq!(store.mfa().unused_recovery_codes(u.id).await.unwrap(), 1);
    assert_eq!(store.mfa().unused_recovery_codes(other.id).await.unwrap(), 1);

    // Replacing drops every old code, used or not.
    store
        .mfa()
        .replace_recovery_codes(u.id, &hashes(&["c", "d", "e"]), at(3))
        .await
        .unwrap();
    assert_eq!(store.mfa().unused_recovery_codes(u.id).await.unwrap(), 3);
    assert!(!store.mfa().consume_recovery_code(u.id, "b", at(4)).await.unwrap());
    assert!(store.mfa().consume_recovery_code(u.id, "e", at(4)).await.unwrap());
    assert_eq!(store.mfa().unused_recovery_codes(Uuid::new_v4()).await.unwrap(), 0);
}

async fn racing_recovery_code_spends_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    store
        .mfa()
        .replace_recovery_codes(u.id, &hashes(&["only", "spare"]), at(0))
        .await
        .unwrap();
    let results = race(8, |_| {
        let store = store.clone();
        async move { store.mfa().consume_recovery_code(u.id, "only", at(1)).await.unwrap() }
    })
    .await;
    assert_eq!(winners(&results), 1, "{results:?}");
    assert_eq!(store.mfa().unused_recovery_codes(u.id).await.unwrap(), 1);
}

async fn disable_removes_factors_and_codes(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    for owner in [u.id, other.id] {
        let f = new_factor(owner, "totp", at(0));
        store.mfa().save_pending_factor(&f).await.unwrap();
        assert!(store
            .mfa()
            .activate_factor(f.id, owner, &hashes(&["a", "b"]), at(1))
            .await
            .unwrap());
    }
    store
        .mfa()
        .save_pending_factor(&new_factor(u.id, "email", at(2)))
        .await
        .unwrap();
    store.mfa().disable(u.id, at(3)).await.unwrap();
    assert!(store.mfa().factors(u.id).await.unwrap().is_empty());
    assert_eq!(store.mfa().unused_recovery_codes(u.id).await.unwrap(), 0);
    let r = store.users().by_id(u.id).await.unwrap().unwrap();
    assert_eq!((r.mfa_enabled, r.updated_at), (false, at(3)));
    assert_eq!(store.mfa().factors(other.id).await.unwrap().len(), 1);
    assert_eq!(store.mfa().unused_recovery_codes(other.id).await.unwrap(), 2);
    assert!(store.users().by_id(other.id).await.unwrap().unwrap().mfa_enabled);
}

async fn totp_steps_are_claimed_once_and_only_forwards(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    let mfa = store.mfa();
    assert!(mfa.claim_totp_step(u.id, 100).await.unwrap());
    assert!(!mfa.claim_totp_step(u.id, 100).await.unwrap(), "replay");
    assert!(
        !mfa.claim_totp_step(u.id, 99).await.unwrap(),
        "a lower step after a higher one"
    );
    assert!(mfa.claim_totp_step(u.id, 101).await.unwrap());
    assert!(mfa.claim_totp_step(other.id, 100).await.unwrap(), "steps are per user");
}

async fn racing_totp_claims_of_one_step(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    // The first claim inserts the state row, later ones update it: race both cases.
    for step in [50, 51] {
        let results = race(8, |_| {
            let store = store.clone();
            async move { store.mfa().claim_totp_step(u.id, step).await.unwrap() }
        })
        .await;
        assert_eq!(winners(&results), 1, "step {step}: {results:?}");
    }
}

async fn failures_lock_at_the_maximum(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let mfa = store.mfa();
    assert_eq!(mfa.locked_until(u.id).await.unwrap(), None, "no state yet");
    assert_eq!(mfa.record_failure(u.id, 3, at(15)).await.unwrap(), None);
    assert_eq!(mfa.record_failure(u.id, 3, at(15)).await.unwrap(), None);
    assert_eq!(mfa.locked_until(u.id).await.unwrap(), None);
    assert_eq!(mfa.record_failure(u.id, 3, at(15)).await.unwrap(), Some(at(15)));
    assert_eq!(mfa.locked_until(u.id).await.unwrap(), Some(at(15)));
    // The count restarted: the next failure keeps the standing lock and does not extend it.
    assert_eq!(mfa.record_failure(u.id, 3, at(30)).await.unwrap(), Some(at(15)));
    assert_eq!(mfa.locked_until(u.id).await.unwrap(), Some(at(15)));

    mfa.clear_failures(u.id).await.unwrap();
    assert_eq!(mfa.locked_until(u.id).await.unwrap(), None);
    assert_eq!(mfa.record_failure(u.id, 3, at(45)).await.unwrap(), None);
    assert_eq!(
        mfa.record_failure(u.id, 3, at(45)).await.unwrap(),
        None,
        "cleared: counting from zero"
    );
    assert_eq!(mfa.record_failure(u.id, 3, at(45)).await.unwrap(), Some(at(45)));

    let strict = user(&store, "b@example.com").await;
    assert_eq!(
        mfa.record_failure(strict.id, 1, at(5)).await.unwrap(),
        Some(at(5)),
        "max 1"
    );
    mfa.clear_failures(Uuid::new_v4()).await.unwrap();
    assert_eq!(mfa.locked_until(Uuid::new_v4()).await.unwrap(), None);
}

both!(
    a_pending_factor_replaces_the_earlier_pending_one,
    racing_enrolments_keep_one_pending_factor,
    activate_factor_once_with_recovery_codes,
    recovery_codes_are_spent_once,
    racing_recovery_code_spends_once,
    disable_removes_factors_and_codes,
    totp_steps_are_claimed_once_and_only_forwards,
    racing_totp_claims_of_one_step,
    failures_lock_at_the_maximum,
);
