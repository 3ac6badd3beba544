//! Copies, in memory, of the two rows every authenticated request needs: its session (is it
//! live?) and its account (`GET /api/auth/me`). With them the common path of a bearer token is
//! a signature check and two map lookups, no database round trip.
//!
//! A copy must never outlive the row it copies by more than a bounded moment:
//! - This process's own writes drop the copies they touch before they return (the write
//!   methods call [`RowCache::changed`]), so a logout is refused at once on the same instance.
//! - Every change, whoever makes it (another instance, the admin CLI beside the server, an
//!   operator's SQL), is recorded in `row_changes` by a trigger in the same transaction, and
//!   [`ChangeFeed`](super::feed) reads that table every [`POLL_EVERY`] and drops the copies.
//! - Only while the feed is current is a copy used at all: each request checks that the last
//!   successful read of `row_changes` started less than [`STALE_AFTER`] ago; otherwise (the
//!   reads fail or hang) it reads the database, until a read succeeds again
//!   ([`RowCache::feed_read`]). So no copy is used more than `STALE_AFTER` after a change
//!   committed, whatever happens to the feed, and nothing revoked is accepted quietly.
//! - A read racing a change cannot store the old row: each copy is stored only if no change was
//!   applied between the start of its read and its end (the epoch check).
//! - Each copy also expires after [`TTL`], however current the feed.

use super::{SessionRecord, StoreResult, UserRecord};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How often the feed reads new changes.
pub const POLL_EVERY: Duration = Duration::from_millis(200);
/// With no successful read for this long, copies are not used.
pub const STALE_AFTER: Duration = Duration::from_secs(1);
/// The longest a copy is kept, as a backstop.
const TTL: Duration = Duration::from_secs(60);
/// Sessions and accounts held; beyond this the least used go first.
const CAPACITY: u64 = 200_000;

/// A row some copy may depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    User(Uuid),
    Session(Uuid),
    /// Every session of this user (sign out everywhere, an admin lock).
    SessionsOf(Uuid),
}

impl Default for RowCache {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug)]
pub struct RowCache {
    users: moka::sync::Cache<Uuid, Arc<UserRecord>>,
    sessions: moka::sync::Cache<Uuid, Arc<SessionRecord>>,
    /// Bumped by every change applied: a read that saw it move stores nothing.
    epoch: AtomicU64,
    /// Until when (nanoseconds after [`clock_origin`]) copies may be used: `STALE_AFTER` after
    /// the start of the last successful feed read. 0 until the first; nothing moves it in a
    /// one-off command (the CLI) or with `AUTH_CACHE=off`, where no feed runs.
    current_until: AtomicU64,
}

/// The process's monotonic origin, so an `Instant` fits an atomic.
fn clock_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn nanos(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(clock_origin()).as_nanos()).unwrap_or(u64::MAX)
}

impl RowCache {
    /// A cache that is used once a feed says it is current.
    pub fn new() -> Self {
        Self {
            users: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TTL)
                .build(),
            sessions: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TTL)
                .support_invalidation_closures()
                .build(),
            epoch: AtomicU64::new(0),
            current_until: AtomicU64::new(0),
        }
    }

    /// Whether requests are answered from the copies now (a gauge in /metrics).
    pub fn is_current(&self) -> bool {
        nanos(Instant::now()) < self.current_until.load(Ordering::Acquire)
    }

    /// A read of the feed that started at `started` succeeded and its changes are applied:
    /// copies may be used until `STALE_AFTER` after `started`. After a gap every copy is dropped
    /// first: the gap's changes were applied, but a copy stored just before it may predate them.
    pub fn feed_read(&self, started: Instant) {
        let was_current = self.is_current();
        let until = nanos(started + STALE_AFTER);
        if !was_current {
            self.clear();
            tracing::info!("the change feed is current: access tokens are checked from memory");
        }
        self.current_until.fetch_max(until, Ordering::AcqRel);
    }

    /// Logs the moment the feed fell behind (requests already read the database by then).
    pub fn feed_failed(&self, was_current: bool) {
        if was_current && !self.is_current() {
            tracing::warn!(
                "the change feed is behind (row_changes could not be read): every request reads its session from the database until it can"
            );
        }
    }

    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.users.invalidate_all();
        self.sessions.invalidate_all();
    }

    /// Drops the copies `change` makes stale.
    pub fn changed(&self, change: Change) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        match change {
            Change::User(id) => {
                self.users.invalidate(&id);
                self.drop_sessions_of(id);
            }
            Change::Session(id) => self.sessions.invalidate(&id),
            Change::SessionsOf(user_id) => self.drop_sessions_of(user_id),
        }
    }

    fn drop_sessions_of(&self, user_id: Uuid) {
        // Only fails if closures were not enabled at build time, which `new` does.
        if let Err(e) = self.sessions.invalidate_entries_if(move |_, s| s.user_id == user_id) {
            tracing::error!(error = %e, "could not drop cached sessions; clearing them all");
            self.sessions.invalidate_all();
        }
    }

    pub(super) async fn user<F>(&self, id: Uuid, read: F) -> StoreResult<Option<Arc<UserRecord>>>
    where
        F: Future<Output = StoreResult<Option<UserRecord>>>,
    {
        self.through(&self.users, id, read).await
    }

    pub(super) async fn session<F>(&self, id: Uuid, read: F) -> StoreResult<Option<Arc<SessionRecord>>>
    where
        F: Future<Output = StoreResult<Option<SessionRecord>>>,
    {
        self.through(&self.sessions, id, read).await
    }

    async fn through<T, F>(
        &self,
        map: &moka::sync::Cache<Uuid, Arc<T>>,
        id: Uuid,
        read: F,
    ) -> StoreResult<Option<Arc<T>>>
    where
        T: Send + Sync + 'static,
        F: Future<Output = StoreResult<Option<T>>>,
    {
        if !self.is_current() {
            return Ok(read.await?.map(Arc::new));
        }
        if let Some(hit) = map.get(&id) {
            return Ok(Some(hit));
        }
        let before = self.epoch.load(Ordering::Acquire);
        let row = read.await?.map(Arc::new);
        if let Some(row) = &row {
            if self.is_current() && self.epoch.load(Ordering::Acquire) == before {
                map.insert(id, row.clone());
            }
        }
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn session(user_id: Uuid) -> SessionRecord {
        let now = Utc::now();
        SessionRecord {
            id: Uuid::new_v4(),
            user_id,
            created_at: now,
            last_used_at: now,
            expires_at: now,
            revoked_at: None,
            auth_time: now,
            amr: "[]".into(),
            ip: None,
            user_agent: None,
        }
    }

    async fn read(cache: &RowCache, s: &SessionRecord, reads: &AtomicU64) -> Option<Arc<SessionRecord>> {
        cache
            .session(s.id, async {
                reads.fetch_add(1, Ordering::SeqCst);
                Ok(Some(s.clone()))
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn copies_are_used_only_while_the_feed_is_current() {
        let cache = RowCache::new();
        let s = session(Uuid::new_v4());
        let reads = AtomicU64::new(0);
        read(&cache, &s, &reads).await;
        read(&cache, &s, &reads).await;
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "not current yet: every read goes through"
        );
        cache.feed_read(Instant::now());
        read(&cache, &s, &reads).await;
        read(&cache, &s, &reads).await;
        assert_eq!(reads.load(Ordering::SeqCst), 3, "current: one read, then the copy");
        // The last successful read started longer ago than STALE_AFTER.
        cache.current_until.store(nanos(Instant::now()), Ordering::Release);
        read(&cache, &s, &reads).await;
        assert_eq!(reads.load(Ordering::SeqCst), 4, "stale feed: the database again");
    }

    #[tokio::test]
    async fn a_change_drops_the_copies_it_touches() {
        let cache = RowCache::new();
        cache.feed_read(Instant::now());
        let user = Uuid::new_v4();
        let (a, b, other) = (session(user), session(user), session(Uuid::new_v4()));
        let reads = AtomicU64::new(0);
        for s in [&a, &b, &other] {
            read(&cache, s, &reads).await;
        }
        cache.changed(Change::Session(a.id));
        read(&cache, &a, &reads).await;
        assert_eq!(reads.load(Ordering::SeqCst), 4);
        cache.changed(Change::User(user));
        for s in [&a, &b, &other] {
            read(&cache, s, &reads).await;
        }
        assert_eq!(
            reads.load(Ordering::SeqCst),
            6,
            "both of the user's sessions, not the other"
        );
    }

    #[tokio::test]
    async fn a_read_racing_a_change_stores_nothing() {
        let cache = RowCache::new();
        cache.feed_read(Instant::now());
        let s = session(Uuid::new_v4());
        let stale = cache
            .session(s.id, async {
                // The row was read, then changed before the read returned.
                cache.changed(Change::Session(s.id));
                Ok(Some(s.clone()))
            })
            .await
            .unwrap();
        assert!(stale.is_some());
        let reads = AtomicU64::new(0);
        read(&cache, &s, &reads).await;
        assert_eq!(reads.load(Ordering::SeqCst), 1, "the raced copy was not kept");
    }
}
