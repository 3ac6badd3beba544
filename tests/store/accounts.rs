//! `accounts()`: lock, unlock, role change and deletion, the sessions they end, and the
//! last-admin rule (also when two changes race).

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::store::{AccountChange, AccountState, Store, TokenPurpose, UserFilter};
use uuid::Uuid;

fn changed(role: &str, is_active: bool, sessions_revoked: u64) -> AccountChange {
    AccountChange::Changed {
        previous: AccountState {
            role: role.to_string(),
            is_active,
        },
        sessions_revoked,
    }
}

/// How many active accounts hold an admin role.
async fn active_admins(store: &Store) -> i64 {
    let mut total = 0;
    for role in admin_roles() {
        let f = UserFilter {
            role: Some(role),
            active: Some(true),
            ..UserFilter::default()
        };
        total += store.users().list(&f).await.unwrap().1;
    }
    total
}

async fn lock_ends_every_session_and_unlock_restores(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    session(&store, u.id, at(0), "t1").await;
    session(&store, u.id, at(1), "t2").await;
    let roles = admin_roles();
    assert_eq!(
        store.accounts().lock(u.id, &roles, at(5)).await.unwrap(),
        changed("user", true, 2)
    );
    let r = store.users().by_id(u.id).await.unwrap().unwrap();
    assert_eq!((r.is_active, r.updated_at), (false, at(5)));
    assert!(store.sessions().live(u.id, at(6)).await.unwrap().is_empty());
    for hash in ["t1", "t2"] {
        let t = store.sessions().refresh_token_by_hash(hash).await.unwrap().unwrap();
        assert_eq!(t.revoked_at, Some(at(5)), "{hash}");
    }
    assert_eq!(
        store.accounts().lock(u.id, &roles, at(6)).await.unwrap(),
        changed("user", false, 0)
    );

    assert_eq!(
        store.accounts().unlock(u.id, at(7)).await.unwrap(),
        changed("user", false, 0)
    );
    let r = store.users().by_id(u.id).await.unwrap().unwrap();
    assert_eq!((r.is_active, r.updated_at), (true, at(7)));
}

async fn unknown_accounts_are_not_found(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let roles = admin_roles();
    let ghost = Uuid::new_v4();
    let accounts = store.accounts();
    assert_eq!(
        accounts.lock(ghost, &roles, at(0)).await.unwrap(),
        AccountChange::NotFound
    );
    assert_eq!(accounts.unlock(ghost, at(0)).await.unwrap(), AccountChange::NotFound);
    assert_eq!(
        accounts.change_role(ghost, "admin", &roles, at(0)).await.unwrap(),
        AccountChange::NotFound
    );
    assert_eq!(
        accounts.delete(ghost, &roles, at(0)).await.unwrap(),
        AccountChange::NotFound
    );
}

async fn change_role_ends_sessions_only_when_it_changes(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    session(&store, u.id, at(0), "t1").await;
    let roles = admin_roles();
    assert_eq!(
        store
            .accounts()
            .change_role(u.id, "auditor", &roles, at(1))
            .await
            .unwrap(),
        changed("user", true, 1)
    );
    let r = store.users().by_id(u.id).await.unwrap().unwrap();
    assert_eq!((r.role.as_str(), r.updated_at), ("auditor", at(1)));
    assert!(store.sessions().live(u.id, at(2)).await.unwrap().is_empty());

    session(&store, u.id, at(2), "t2").await;
    assert_eq!(
        store
            .accounts()
            .change_role(u.id, "auditor", &roles, at(3))
            .await
            .unwrap(),
        changed("auditor", true, 0),
        "the same role ends nothing"
    );
    assert_eq!(store.sessions().live(u.id, at(4)).await.unwrap().len(), 1);
}

async fn delete_removes_the_account_and_what_hangs_on_it(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let s = session(&store, u.id, at(0), "t1").await;
    store
        .identities()
        .link(&new_identity(u.id, "github", "1", at(0)))
        .await
        .unwrap();
    store
        .mfa()
        .save_pending_factor(&new_factor(u.id, "totp", at(0)))
        .await
        .unwrap();
    token(&store, u.id, TokenPurpose::PasswordReset, "reset", at(0)).await;
    store
        .audit()
        .record(&event("login", Some(u.id), "success", at(0)))
        .await
        .unwrap();

    assert_eq!(
        store.accounts().delete(u.id, &admin_roles(), at(1)).await.unwrap(),
        changed("user", true, 0)
    );
    assert!(store.users().by_id(u.id).await.unwrap().is_none());
    assert!(store.sessions().by_id(s.id).await.unwrap().is_none());
    assert!(store.sessions().refresh_token_by_hash("t1").await.unwrap().is_none());
    assert_eq!(store.identities().user_of("github", "1").await.unwrap(), None);
    assert!(store.mfa().factors(u.id).await.unwrap().is_empty());
    let reset = store
        .tokens()
        .by_hash(TokenPurpose::PasswordReset, "reset")
        .await
        .unwrap();
    assert!(reset.is_none());
    assert_eq!(
        store.audit().for_user(u.id, 10).await.unwrap().len(),
        1,
        "the audit trail stays"
    );
    user(&store, "a@example.com").await;
}

async fn the_last_active_admin_stays(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let roles = admin_roles();
    let a = user_with_role(&store, "a@example.com", "admin").await;
    session(&store, a.id, at(0), "t1").await;
    let accounts = store.accounts();
    assert_eq!(
        accounts.lock(a.id, &roles, at(1)).await.unwrap(),
        AccountChange::LastAdmin
    );
    assert_eq!(
        accounts.change_role(a.id, "user", &roles, at(1)).await.unwrap(),
        AccountChange::LastAdmin
    );
    assert_eq!(
        accounts.delete(a.id, &roles, at(1)).await.unwrap(),
        AccountChange::LastAdmin
    );
    let r = store.users().by_id(a.id).await.unwrap().unwrap();
    assert_eq!(
        (r.role.as_str(), r.is_active, r.updated_at),
        ("admin", true, t0()),
        "nothing written"
    );
    assert_eq!(store.sessions().live(a.id, at(2)).await.unwrap().len(), 1);
    // Another admin role keeps it an admin.
    assert_eq!(
        accounts.change_role(a.id, "owner", &roles, at(2)).await.unwrap(),
        changed("admin", true, 1)
    );

    // A locked admin is no admin: it does not let the last active one go.
    let b = user_with_role(&store, "b@example.com", "admin").await;
    assert_eq!(
        accounts.lock(b.id, &roles, at(3)).await.unwrap(),
        changed("admin", true, 0)
    );
    assert_eq!(
        accounts.change_role(a.id, "user", &roles, at(4)).await.unwrap(),
        AccountChange::LastAdmin
    );
    assert_eq!(accounts.unlock(b.id, at(5)).await.unwrap(), changed("admin", false, 0));
    assert_eq!(
        accounts.change_role(a.id, "user", &roles, at(6)).await.unwrap(),
        changed("owner", true, 0)
    );
    assert_eq!(active_admins(&store).await, 1);
    // Changes that keep the admins are never refused.
    let c = user(&store, "c@example.com").await;
    assert_eq!(
        accounts.delete(c.id, &roles, at(7)).await.unwrap(),
        changed("user", true, 0)
    );
}

async fn racing_demotions_leave_an_admin(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let a = user_with_role(&store, "a@example.com", "admin").await;
    let b = user_with_role(&store, "b@example.com", "admin").await;
    let admins = [a.id, b.id];
    let results = race(2, |i| {
        let store = store.clone();
        let id = admins[i];
        async move {
            store
                .accounts()
                .change_role(id, "user", &admin_roles(), at(1))
                .await
                .unwrap()
        }
    })
    .await;
    let refused = results.iter().filter(|r| **r == AccountChange::LastAdmin).count();
    assert_eq!(refused, 1, "{results:?}");
    assert!(results.contains(&changed("admin", true, 0)), "{results:?}");
    assert_eq!(active_admins(&store).await, 1);
}

async fn racing_lock_and_delete_leave_an_admin(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let a = user_with_role(&store, "a@example.com", "admin").await;
    let b = user_with_role(&store, "b@example.com", "owner").await;
    let results = race(2, |i| {
        let store = store.clone();
        async move {
            let roles = admin_roles();
            if i == 0 {
                store.accounts().lock(a.id, &roles, at(1)).await.unwrap()
            } else {
                store.accounts().delete(b.id, &roles, at(1)).await.unwrap()
            }
        }
    })
    .await;
    assert_eq!(
        results.iter().filter(|r| **r == AccountChange::LastAdmin).count(),
        1,
        "{results:?}"
    );
    assert_eq!(active_admins(&store).await, 1);
}

both!(
    lock_ends_every_session_and_unlock_restores,
    unknown_accounts_are_not_found,
    change_role_ends_sessions_only_when_it_changes,
    delete_removes_the_account_and_what_hangs_on_it,
    the_last_active_admin_stays,
    racing_demotions_leave_an_admin,
    racing_lock_and_delete_leave_an_admin,
);
