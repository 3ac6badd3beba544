//! Following `row_changes` (written by triggers, see the `0011_row_changes` migrations) so that
//! this instance's copies of sessions and accounts ([`RowCache`](super::cache::RowCache)) drop
//! whatever another instance, the admin CLI or an operator changed.
//!
//! Every [`POLL_EVERY`] one indexed query reads the rows newer than the newest seen minus
//! [`OVERLAP_MS`]: a PostgreSQL transaction can commit a row with a lower `seq` and `at_ms`
//! after a later one was read, so the recent past is read again (already applied rows are
//! skipped by `seq`). A read that fails or takes longer than [`READ_TIMEOUT`] leaves the feed
//! behind; once the last successful read started more than [`STALE_AFTER`](super::cache::STALE_AFTER) ago, the copies
//! are not used until one succeeds. So a change is seen everywhere within about `POLL_EVERY`
//! plus the query time, and never later than `STALE_AFTER`.

use super::cache::{Change, POLL_EVERY};
use super::engine::on_engine;
use super::{Store, StoreResult};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

/// How far back each read looks again, for commits that land out of order.
const OVERLAP_MS: i64 = 5_000;
const READ_LIMIT: usize = 10_000;
const READ_TIMEOUT: Duration = Duration::from_millis(500);
/// Rows older than this (behind the newest) are deleted; an instance cut off for longer
/// starts over with no copies (becoming current always drops them).
const KEEP_MS: i64 = 3_600_000;
const PRUNE_EVERY: Duration = Duration::from_secs(60);

type Row = (i64, String, Uuid, i64);

impl Store {
    async fn changes_since(&self, since_ms: i64) -> StoreResult<Vec<Row>> {
        on_engine!(&self.db, |pool| {
            Ok(sqlx::query_as(
                "SELECT seq, kind, row_id, at_ms FROM row_changes WHERE at_ms > $1 ORDER BY seq LIMIT $2",
            )
            .bind(since_ms)
            .bind(READ_LIMIT as i64)
            .fetch_all(pool)
            .await?)
        })
    }

    async fn newest_change_ms(&self) -> StoreResult<Option<i64>> {
        on_engine!(&self.db, |pool| {
            Ok(sqlx::query_scalar("SELECT MAX(at_ms) FROM row_changes")
                .fetch_one(pool)
                .await?)
        })
    }

    async fn prune_changes(&self, before_ms: i64) -> StoreResult<u64> {
        on_engine!(&self.db, |pool| {
            Ok(sqlx::query("DELETE FROM row_changes WHERE at_ms < $1")
                .bind(before_ms)
                .execute(pool)
                .await?
                .rows_affected())
        })
    }

    /// Follows the change feed until `stop` turns true. Run it once per serving instance; the
    /// copies are used only while it keeps up.
    pub async fn follow_changes(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut feed = Follower::default();
        let mut last_prune = Instant::now();
        let mut failing = false;
        loop {
            let started = Instant::now();
            let was_current = self.db.cache.is_current();
            match tokio::time::timeout(READ_TIMEOUT, self.read_once(&mut feed)).await {
                Ok(Ok(())) => {
                    self.db.cache.feed_read(started);
                    if failing {
                        tracing::info!("the change feed can be read again");
                        failing = false;
                    }
                }
                Ok(Err(e)) => {
                    if !failing {
                        tracing::warn!(error = %e, "could not read the change feed (row_changes); retrying");
                    }
                    failing = true;
                }
                Err(_) => {
                    if !failing {
                        tracing::warn!("reading the change feed (row_changes) took longer than 500 ms; retrying");
                    }
                    failing = true;
                }
            }
            if failing {
                self.db.cache.feed_failed(was_current);
            }
            if last_prune.elapsed() > PRUNE_EVERY {
                last_prune = Instant::now();
                if let Some(newest) = feed.newest_ms {
                    if let Err(e) = self.prune_changes(newest - KEEP_MS).await {
                        tracing::warn!(error = %e, "could not delete old rows of row_changes");
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn read_once(&self, feed: &mut Follower) -> StoreResult<()> {
        let since = match feed.newest_ms {
            Some(newest) => newest - OVERLAP_MS,
            // First read: only what is recent can matter, nothing is copied yet.
            None => self.newest_change_ms().await?.unwrap_or(0) - OVERLAP_MS,
        };
        let rows = self.changes_since(since).await?;
        let truncated = rows.len() >= READ_LIMIT;
        for change in feed.take(rows) {
            self.db.cache.changed(change);
        }
        if truncated {
            // More changed than one read returns: drop every copy rather than miss one.
            self.db.cache.clear();
        }
        if feed.newest_ms.is_none() {
            feed.newest_ms = Some(since + OVERLAP_MS);
        }
        Ok(())
    }
}

/// What has been applied: the newest `at_ms`, and the `seq`s inside the overlap.
#[derive(Default)]
struct Follower {
    newest_ms: Option<i64>,
    applied: BTreeMap<i64, i64>,
}

impl Follower {
    fn take(&mut self, rows: Vec<Row>) -> Vec<Change> {
        let mut fresh = Vec::new();
        for (seq, kind, id, at_ms) in rows {
            if self.applied.insert(seq, at_ms).is_some() {
                continue;
            }
            self.newest_ms = Some(self.newest_ms.map_or(at_ms, |n| n.max(at_ms)));
            fresh.push(match kind.as_str() {
                "session" => Change::Session(id),
                _ => Change::User(id),
            });
        }
        if let Some(newest) = self.newest_ms {
            let horizon = newest - OVERLAP_MS;
            self.applied.retain(|_, at| *at >= horizon);
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_again_in_the_overlap_are_applied_once() {
        let mut f = Follower::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let first = f.take(vec![(1, "user".into(), a, 10_000), (2, "session".into(), b, 10_005)]);
        assert_eq!(first, vec![Change::User(a), Change::Session(b)]);
        assert_eq!(f.newest_ms, Some(10_005));
        // Seq 3 committed late with an older time; 1 and 2 come back in the overlap.
        let again = f.take(vec![
            (1, "user".into(), a, 10_000),
            (2, "session".into(), b, 10_005),
            (3, "session".into(), a, 10_001),
        ]);
        assert_eq!(again, vec![Change::Session(a)]);
        assert_eq!(f.newest_ms, Some(10_005));
        // Far later: the old seqs are forgotten.
        f.take(vec![(9, "user".into(), b, 30_000)]);
        assert!(f.applied.keys().all(|s| *s == 9));
    }
}
