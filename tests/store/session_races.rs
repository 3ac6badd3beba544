//! `sessions()` under concurrency with the other changes of a session family: a rotation or a
//! step-up racing a revocation, a `SINGLE_SESSION` sign-in or an account change. None may fail
//! (PostgreSQL aborts one side of a deadlock) and none may leave a live successor behind the
//! end of its session.

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::{Store, StoreError};
use std::sync::Arc;
use uuid::Uuid;

/// Whether the refresh token `hash` exists and is neither used nor revoked.
async fn is_live(store: &Store, hash: &str) -> bool {
    let t = store.sessions().refresh_token_by_hash(hash).await.unwrap();
    t.is_some_and(|t| t.used_at.is_none() && t.revoked_at.is_none())
}

/// Ten rounds of a rotation racing `other` (0: revoke, 1: step-up) on a new session; the
/// hashes of each round are `t-R` (presented), `next-R` (successor), `fresh-R` (step-up).
async fn race_with_rotation(store: &Arc<Store>, user_id: Uuid, other: usize) {
    for round in 0..10 {
        let s = session(store, user_id, at(0), &format!("t-{round}")).await;
        let results = race(2, |i| {
            let store = store.clone();
            let s = s.clone();
            async move {
                let sessions = store.sessions();
                if i == 0 {
                    let next = new_refresh(&s, &format!("next-{round}"), None, at(1));
                    let hash = format!("t-{round}");
                    sessions.rotate_refresh_token(&hash, &next, at(1)).await.map(|_| ())
                } else if other == 0 {
                    sessions.revoke(s.id, at(1)).await.map(|_| ())
                } else {
                    let fresh = new_refresh(&s, &format!("fresh-{round}"), None, at(1));
                    sessions.step_up(s.id, r#"["pwd","otp"]"#, at(1), &fresh, at(1)).await
                }
            }
        })
        .await;
        let errors: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "round {round}: {errors:?}");
        assert!(!is_live(store, &format!("t-{round}")).await, "round {round}");
        assert!(
            !is_live(store, &format!("next-{round}")).await,
            "round {round}: successor outlived it"
        );
        assert_eq!(
            is_live(store, &format!("fresh-{round}")).await,
            other == 1,
            "round {round}"
        );
    }
}

async fn racing_rotation_and_revocation_leave_no_live_token(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    race_with_rotation(&store, u.id, 0).await;
}

async fn racing_rotation_and_step_up_leave_the_fresh_token(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    race_with_rotation(&store, u.id, 1).await;
}

/// The account-side change that races a rotation or step-up of one of the user's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountSide {
    SoleSignIn,
    Lock,
    Delete,
    RevokeAll,
}

const ACCOUNT_SIDES: [AccountSide; 4] = [
    AccountSide::SoleSignIn,
    AccountSide::Lock,
    AccountSide::Delete,
    AccountSide::RevokeAll,
];

async fn account_side(store: &Store, side: AccountSide, user_id: Uuid, tag: &str) -> Result<(), StoreError> {
    let roles = admin_roles();
    match side {
        AccountSide::SoleSignIn => {
            let s = new_session(user_id, at(1));
            let first = new_refresh(&s, &format!("sole-{tag}"), None, at(1));
            store.sessions().create_sole(&s, &first, at(1)).await.map(|_| ())
        }
        AccountSide::Lock => store.accounts().lock(user_id, &roles, at(1)).await.map(|_| ()),
        AccountSide::Delete => store.accounts().delete(user_id, &roles, at(1)).await.map(|_| ()),
        AccountSide::RevokeAll => store
            .sessions()
            .revoke_all_of_user(user_id, None, at(1))
            .await
            .map(|_| ()),
    }
}

/// Five rounds per account side of `step_up` (or, if false, a rotation) racing it on a new
/// user's only session. Returns the errors of the family side, per round, for the caller to
/// judge, after checking the account side never failed and no successor outlived it.
async fn family_against_accounts(store: &Arc<Store>, step_up: bool) -> Vec<(AccountSide, String)> {
    let mut family_errors = Vec::new();
    for side in ACCOUNT_SIDES {
        for round in 0..5 {
            let tag = format!("{side:?}-{round}-{step_up}").to_lowercase();
            let u = user(store, &format!("{tag}@example.com")).await;
            let s = session(store, u.id, at(0), &format!("t-{tag}")).await;
            let results = race(2, |i| {
                let store = store.clone();
                let (s, tag) = (s.clone(), tag.clone());
                async move {
                    if i == 1 {
                        return account_side(&store, side, s.user_id, &tag).await;
                    }
                    let next = new_refresh(&s, &format!("next-{tag}"), None, at(1));
                    if step_up {
                        store
                            .sessions()
                            .step_up(s.id, r#"["pwd","otp"]"#, at(1), &next, at(1))
                            .await
                    } else {
                        let hash = format!("t-{tag}");
                        store
                            .sessions()
                            .rotate_refresh_token(&hash, &next, at(1))
                            .await
                            .map(|_| ())
                    }
                }
            })
            .await;
            if let Err(e) = &results[1] {
                panic!("{tag}: the {side:?} failed: {e}");
            }
            if let Err(e) = &results[0] {
                family_errors.push((side, e.to_string()));
            }
            if !step_up {
                assert!(
                    !is_live(store, &format!("next-{tag}")).await,
                    "{tag}: successor outlived its session"
                );
            }
        }
    }
    family_errors
}

async fn racing_rotations_and_account_changes(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let errors = family_against_accounts(&store, false).await;
    assert!(errors.is_empty(), "{errors:?}");
}

async fn racing_step_ups_and_account_changes(backend: Backend) {
    let (store, _dir) = open(backend).await;
    // A step-up of a session deleted with its account under it cannot insert its token (the
    // foreign key); nothing else may fail.
    let errors = family_against_accounts(&store, true).await;
    let unexpected: Vec<_> = errors
        .iter()
        .filter(|(side, e)| *side != AccountSide::Delete || e.contains("deadlock"))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:?}");
}

both!(
    racing_rotation_and_revocation_leave_no_live_token,
    racing_rotation_and_step_up_leave_the_fresh_token,
    racing_rotations_and_account_changes,
    racing_step_ups_and_account_changes,
);
