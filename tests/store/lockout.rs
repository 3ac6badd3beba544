//! `lockout()`: failed sign-ins counted per IP and over all IPs, the locks they set, stale
//! counts restarting, `clear` and `prune`.

use crate::both;
use crate::common::Backend;
use crate::support::*;
use chrono::Duration;
use gatehouse::store::{LockoutChange, LoginFailure, Store};

const IP: &str = "192.0.2.1";
const OTHER_IP: &str = "198.51.100.9";

/// A failure at `minute`: three from one IP or five from all lock for 15 minutes; counts go
/// stale after `window` minutes.
fn failure<'a>(subject: &'a str, ip: &'a str, minute: i64, window: i64) -> LoginFailure<'a> {
    LoginFailure {
        subject,
        ip,
        now: at(minute),
        stale_before: at(minute) - Duration::minutes(window),
        ip_threshold: 3,
        all_threshold: 5,
        lock_until: at(minute + 15),
    }
}

async fn fail(store: &Store, subject: &str, ip: &str, minute: i64) -> LockoutChange {
    store
        .lockout()
        .record_failure(&failure(subject, ip, minute, 60))
        .await
        .unwrap()
}

const NONE: LockoutChange = LockoutChange {
    ip_locked: false,
    all_locked: false,
};

async fn thresholds_lock_the_ip_then_everyone(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let lockout = store.lockout();
    assert_eq!(fail(&store, "s", IP, 0).await, NONE);
    assert_eq!(fail(&store, "s", IP, 1).await, NONE);
    assert_eq!(lockout.locked_until("s", IP, at(2)).await.unwrap(), None);
    let third = fail(&store, "s", IP, 2).await;
    assert_eq!((third.ip_locked, third.all_locked), (true, false));
    assert_eq!(lockout.locked_until("s", IP, at(3)).await.unwrap(), Some(at(17)));
    assert_eq!(
        lockout.locked_until("s", OTHER_IP, at(3)).await.unwrap(),
        None,
        "only that IP"
    );
    assert_eq!(
        lockout.locked_until("other", IP, at(3)).await.unwrap(),
        None,
        "only that subject"
    );

    assert_eq!(fail(&store, "s", OTHER_IP, 3).await, NONE, "four over all IPs");
    let fifth = fail(&store, "s", OTHER_IP, 4).await;
    assert_eq!((fifth.ip_locked, fifth.all_locked), (false, true));
    assert_eq!(
        lockout.locked_until("s", "203.0.113.5", at(5)).await.unwrap(),
        Some(at(19))
    );
    assert_eq!(
        lockout.locked_until("s", IP, at(5)).await.unwrap(),
        Some(at(19)),
        "the later lock"
    );
    assert_eq!(lockout.locked_until("s", IP, at(18)).await.unwrap(), Some(at(19)));
    assert_eq!(
        lockout.locked_until("s", IP, at(19)).await.unwrap(),
        None,
        "ended at its instant"
    );
}

async fn a_running_lock_is_not_extended(backend: Backend) {
    let (store, _dir) = open(backend).await;
    // Only the per-IP lock here: the all-IP count never reaches its threshold.
    let fail_ip = |minute| {
        let store = store.clone();
        async move {
            let f = LoginFailure {
                all_threshold: 100,
                ..failure("s", IP, minute, 60)
            };
            store.lockout().record_failure(&f).await.unwrap().ip_locked
        }
    };
    assert!(!fail_ip(0).await);
    assert!(!fail_ip(1).await);
    assert!(fail_ip(2).await);
    assert_eq!(
        store.lockout().locked_until("s", IP, at(3)).await.unwrap(),
        Some(at(17))
    );
    for minute in 3..6 {
        assert!(!fail_ip(minute).await, "minute {minute}");
    }
    assert_eq!(
        store.lockout().locked_until("s", IP, at(6)).await.unwrap(),
        Some(at(17))
    );
    // After the lock, counting starts again at one: the third failure locks anew.
    assert!(!fail_ip(17).await);
    assert!(!fail_ip(18).await);
    assert!(fail_ip(19).await);
    assert_eq!(
        store.lockout().locked_until("s", IP, at(20)).await.unwrap(),
        Some(at(34))
    );
}

async fn stale_counts_start_again(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let lockout = store.lockout();
    let f = |minute| failure("s", IP, minute, 15);
    assert_eq!(lockout.record_failure(&f(0)).await.unwrap(), NONE);
    assert_eq!(lockout.record_failure(&f(1)).await.unwrap(), NONE);
    // 30 minutes later the two are stale: this is failure one again.
    assert_eq!(lockout.record_failure(&f(30)).await.unwrap(), NONE);
    assert_eq!(lockout.record_failure(&f(31)).await.unwrap(), NONE);
    assert!(lockout.record_failure(&f(32)).await.unwrap().ip_locked);
}

async fn racing_failures_are_all_counted_and_lock_once(backend: Backend) {
    let (store, _dir) = open(backend).await;
    // Eight IPs fail once each at the same instant; the eighth failure over all IPs locks.
    let changes = race(8, |i| {
        let store = store.clone();
        async move {
            let ip = format!("192.0.2.{i}");
            let f = LoginFailure {
                ip_threshold: 100,
                all_threshold: 8,
                ..failure("s", &ip, 0, 60)
            };
            store.lockout().record_failure(&f).await.unwrap()
        }
    })
    .await;
    assert_eq!(changes.iter().filter(|c| c.all_locked).count(), 1, "{changes:?}");
    assert!(changes.iter().all(|c| !c.ip_locked));
    assert_eq!(
        store.lockout().locked_until("s", "203.0.113.5", at(1)).await.unwrap(),
        Some(at(15))
    );
}

async fn clear_forgets_one_ip_or_all(backend: Backend) {
    let (store, _dir) = open(backend).await;
    for minute in 0..3 {
        fail(&store, "s", IP, minute).await;
    }
    fail(&store, "s", OTHER_IP, 3).await;
    fail(&store, "bystander", IP, 3).await;
    // The IP's row and the all-IP row go; the other IP's row stays.
    assert_eq!(store.lockout().clear("s", Some(IP)).await.unwrap(), 2);
    assert_eq!(store.lockout().locked_until("s", IP, at(4)).await.unwrap(), None);
    assert_eq!(store.lockout().clear("s", None).await.unwrap(), 1);
    assert_eq!(store.lockout().clear("s", None).await.unwrap(), 0);
    assert_eq!(store.lockout().clear("nobody", Some(IP)).await.unwrap(), 0);
    assert_eq!(store.lockout().clear("bystander", None).await.unwrap(), 2, "untouched");
}

async fn prune_drops_only_idle_unlocked_rows(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let quiet = |subject, minute| LoginFailure {
        ip_threshold: 10,
        all_threshold: 10,
        ..failure(subject, IP, minute, 60)
    };
    store.lockout().record_failure(&quiet("old", 0)).await.unwrap();
    store.lockout().record_failure(&quiet("recent", 20)).await.unwrap();
    let lock_now = LoginFailure {
        ip_threshold: 1,
        all_threshold: 1,
        lock_until: at(30),
        ..failure("locked", IP, 0, 60)
    };
    let change = store.lockout().record_failure(&lock_now).await.unwrap();
    assert!(change.ip_locked && change.all_locked);

    assert_eq!(store.lockout().prune(at(10)).await.unwrap(), 2, "old's two rows");
    assert_eq!(store.lockout().prune(at(25)).await.unwrap(), 2, "recent's two rows");
    assert_eq!(
        store.lockout().locked_until("locked", IP, at(26)).await.unwrap(),
        Some(at(30))
    );
    assert_eq!(store.lockout().prune(at(40)).await.unwrap(), 2, "the lock ended");
    assert_eq!(store.lockout().prune(at(40)).await.unwrap(), 0);
    assert_eq!(store.lockout().locked_until("locked", IP, at(26)).await.unwrap(), None);
}

both!(
    thresholds_lock_the_ip_then_everyone,
    a_running_lock_is_not_extended,
    stale_counts_start_again,
    racing_failures_are_all_counted_and_lock_once,
    clear_forgets_one_ip_or_all,
    prune_drops_only_idle_unlocked_rows,
);
