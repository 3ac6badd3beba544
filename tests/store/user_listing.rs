//! `users().list` (search, role and status filters, order, pages) and `users().activity`.

use crate::both;
use crate::common::Backend;
use crate::support::*;
use gatehouse::domain::admin::SearchText;
use gatehouse::store::{NewUser, Store, UserFilter, UserRecord};
use uuid::Uuid;

/// The pattern callers build from what an admin typed.
fn search(typed: &str) -> Option<String> {
    SearchText::parse(typed).unwrap().map(|s| s.like_pattern())
}

fn filter(search_for: Option<String>, role: Option<&str>, active: Option<bool>) -> UserFilter {
    UserFilter {
        search: search_for,
        role: role.map(str::to_string),
        active,
        limit: 50,
        offset: 0,
    }
}

async fn emails(store: &Store, f: &UserFilter) -> (Vec<String>, i64) {
    let (users, total) = store.users().list(f).await.unwrap();
    (users.into_iter().map(|u: UserRecord| u.email).collect(), total)
}

/// Five accounts created a minute apart (oldest first): one admin, one locked.
async fn population(store: &Store) {
    let people = [
        ("Alice@Example.com", Some("Alice_W"), "Alice", "Smith", "user"),
        ("bob@example.com", None, "Bob", "Jones", "admin"),
        ("fifty@example.com", None, "Fifty", "50%_Off", "user"),
        ("lookalike@example.com", None, "Fifty", "50xyOff", "user"),
        ("zed@example.com", Some("Zed_Q"), "Zed", "Quinn", "user"),
    ];
    for (i, (email, username, first, last, role)) in people.into_iter().enumerate() {
        let u = NewUser {
            username: username.map(str::to_string),
            username_canonical: username.map(str::to_lowercase),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            role: role.into(),
            created_at: at(i as i64),
            ..new_user(email)
        };
        store.users().create(&u).await.unwrap();
    }
    let zed = store.users().by_email("zed@example.com").await.unwrap().unwrap();
    store.accounts().lock(zed.id, &admin_roles(), at(10)).await.unwrap();
}

async fn list_is_newest_first_with_the_total(backend: Backend) {
    let (store, _dir) = open(backend).await;
    population(&store).await;
    let (all, total) = emails(&store, &filter(None, None, None)).await;
    assert_eq!(
        all,
        [
            "zed@example.com",
            "lookalike@example.com",
            "fifty@example.com",
            "bob@example.com",
            "Alice@Example.com"
        ]
    );
    assert_eq!(total, 5);

    let page = |offset| UserFilter {
        limit: 2,
        offset,
        ..filter(None, None, None)
    };
    assert_eq!(
        emails(&store, &page(0)).await,
        (vec!["zed@example.com".into(), "lookalike@example.com".into()], 5)
    );
    assert_eq!(
        emails(&store, &page(2)).await,
        (vec!["fifty@example.com".into(), "bob@example.com".into()], 5)
    );
    assert_eq!(emails(&store, &page(4)).await, (vec!["Alice@Example.com".into()], 5));
    assert_eq!(
        emails(&store, &page(6)).await,
        (vec![], 5),
        "past the end: no rows, same total"
    );
}

async fn list_breaks_ties_by_id_descending(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let mut ids = Vec::new();
    for n in 0..4 {
        let u = store
            .users()
            .create(&new_user(&format!("u{n}@example.com")))
            .await
            .unwrap();
        ids.push(u.id);
    }
    ids.sort();
    ids.reverse();
    let (users, total) = store.users().list(&filter(None, None, None)).await.unwrap();
    assert_eq!(users.iter().map(|u| u.id).collect::<Vec<Uuid>>(), ids);
    assert_eq!(total, 4);
}

async fn search_ignores_case_across_email_username_and_names(backend: Backend) {
    let (store, _dir) = open(backend).await;
    population(&store).await;
    let only = |email: &str| (vec![email.to_string()], 1);
    assert_eq!(
        emails(&store, &filter(search("ALICE@example"), None, None)).await,
        only("Alice@Example.com")
    );
    assert_eq!(
        emails(&store, &filter(search("alice_w"), None, None)).await,
        only("Alice@Example.com")
    );
    assert_eq!(
        emails(&store, &filter(search("ZED_q"), None, None)).await,
        only("zed@example.com")
    );
    assert_eq!(
        emails(&store, &filter(search("JONES"), None, None)).await,
        only("bob@example.com")
    );
    assert_eq!(
        emails(&store, &filter(search("bob jon"), None, None)).await,
        only("bob@example.com"),
        "full name"
    );
    assert_eq!(emails(&store, &filter(search("nobody"), None, None)).await, (vec![], 0));
}

async fn search_wildcards_are_literal(backend: Backend) {
    let (store, _dir) = open(backend).await;
    population(&store).await;
    // Unescaped, `50%_off` would also match "50xyOff".
    assert_eq!(
        emails(&store, &filter(search("50%_OFF"), None, None)).await,
        (vec!["fifty@example.com".to_string()], 1)
    );
    assert_eq!(emails(&store, &filter(search("%"), None, None)).await.1, 1);
    // `_` alone matches only the names and usernames that contain one.
    let (underscored, total) = emails(&store, &filter(search("_"), None, None)).await;
    assert_eq!(
        underscored,
        ["zed@example.com", "fifty@example.com", "Alice@Example.com"]
    );
    assert_eq!(total, 3);
    let backslash = NewUser {
        first_name: Some(r"Back\Slash".into()),
        ..new_user("slash@example.com")
    };
    store.users().create(&backslash).await.unwrap();
    assert_eq!(
        emails(&store, &filter(search(r"k\s"), None, None)).await,
        (vec!["slash@example.com".to_string()], 1)
    );
}

async fn role_and_status_filters(backend: Backend) {
    let (store, _dir) = open(backend).await;
    population(&store).await;
    assert_eq!(
        emails(&store, &filter(None, Some("admin"), None)).await,
        (vec!["bob@example.com".to_string()], 1)
    );
    assert_eq!(emails(&store, &filter(None, Some("auditor"), None)).await, (vec![], 0));
    assert_eq!(
        emails(&store, &filter(None, None, Some(false))).await,
        (vec!["zed@example.com".to_string()], 1)
    );
    let (active, total) = emails(&store, &filter(None, None, Some(true))).await;
    assert_eq!(total, 4);
    assert!(!active.contains(&"zed@example.com".to_string()));
    // Filters combine.
    assert_eq!(
        emails(&store, &filter(search("fifty"), Some("user"), Some(true)))
            .await
            .1,
        2
    );
    assert_eq!(
        emails(&store, &filter(search("zed"), None, Some(true))).await,
        (vec![], 0)
    );
}

async fn activity_counts_live_sessions_and_identities(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let u = user(&store, "a@example.com").await;
    let other = user(&store, "b@example.com").await;
    session(&store, u.id, at(0), "live-1").await;
    session(&store, u.id, at(1), "live-2").await;
    let revoked = session(&store, u.id, at(2), "revoked").await;
    store.sessions().revoke(revoked.id, at(3)).await.unwrap();
    let mut expired = new_session(u.id, at(0));
    expired.expires_at = at(5);
    store
        .sessions()
        .create(&expired, &new_refresh(&expired, "expired", None, at(0)))
        .await
        .unwrap();
    session(&store, other.id, at(0), "other").await;
    for sub in ["s1", "s2"] {
        store
            .identities()
            .link(&new_identity(u.id, "github", sub, at(0)))
            .await
            .unwrap();
    }
    let a = store.users().activity(u.id, at(10)).await.unwrap();
    assert_eq!((a.live_sessions, a.linked_identities), (2, 2));
    let none = store.users().activity(Uuid::new_v4(), at(10)).await.unwrap();
    assert_eq!((none.live_sessions, none.linked_identities), (0, 0));
}

both!(
    list_is_newest_first_with_the_total,
    list_breaks_ties_by_id_descending,
    search_ignores_case_across_email_username_and_names,
    search_wildcards_are_literal,
    role_and_status_filters,
    activity_counts_live_sessions_and_identities,
);
