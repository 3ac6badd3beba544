//! Counters in this process: the only store without `REDIS_URL`, and the fallback while Redis
//! does not answer.

use super::{Decision, Hit};
use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Mutex;

/// Expired keys removed per hit at most. Each hit adds at most one entry to the expiry queue,
/// so removing a few more than that keeps memory bounded by what is really inside a window,
/// at a small fixed cost per request (no sweep over every key under the lock).
const PRUNE_PER_HIT: usize = 8;

struct Entry {
    window_ms: i64,
    /// When each counted request was let in, oldest first.
    times: VecDeque<i64>,
}

#[derive(Default)]
struct Counters {
    entries: HashMap<String, Entry>,
    /// When each key may have nothing left in its window (its newest request leaves it), soonest
    /// first. A key can be in here more than once; a stale entry finds the key still busy and
    /// is dropped.
    expiries: BinaryHeap<Reverse<(i64, String)>>,
}

#[derive(Default)]
pub(crate) struct MemoryCounters {
    inner: Mutex<Counters>,
}

impl MemoryCounters {
    pub(crate) fn hit(&self, hit: &Hit) -> Decision {
        let mut guard = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let counters = &mut *guard;
        counters.prune(hit.now_ms);
        let entry = counters.entries.entry(hit.key.clone()).or_insert_with(|| Entry {
            window_ms: hit.window_ms,
            times: VecDeque::new(),
        });
        while entry.times.front().is_some_and(|t| *t <= hit.now_ms - hit.window_ms) {
            entry.times.pop_front();
        }
        if entry.times.len() < hit.limit as usize {
            entry.times.push_back(hit.now_ms);
            counters
                .expiries
                .push(Reverse((hit.now_ms + hit.window_ms, hit.key.clone())));
            Decision::Allowed
        } else {
            Decision::Refused {
                oldest_ms: entry.times.front().copied().unwrap_or(hit.now_ms),
            }
        }
    }

    #[cfg(test)]
    fn keys(&self) -> usize {
        self.inner.lock().map(|c| c.entries.len()).unwrap_or(0)
    }
}

impl Counters {
    /// Drops up to [`PRUNE_PER_HIT`] keys whose every counted request has left its window.
    fn prune(&mut self, now_ms: i64) {
        for _ in 0..PRUNE_PER_HIT {
            let Some(soonest) = self.expiries.peek_mut() else {
                return;
            };
            if soonest.0 .0 > now_ms {
                return;
            }
            let Reverse((_, key)) = PeekMut::pop(soonest);
            // A later request of the same key may have been counted since (its own expiry is
            // queued too): the key goes only once its newest request has left the window.
            let idle = self
                .entries
                .get(&key)
                .is_some_and(|e| e.times.back().is_none_or(|newest| newest + e.window_ms <= now_ms));
            if idle {
                self.entries.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(now_ms: i64) -> Hit {
        Hit {
            key: "login:k".into(),
            now_ms,
            window_ms: 60_000,
            limit: 3,
        }
    }

    #[test]
    fn lets_in_up_to_the_limit_in_any_window_then_refuses_without_counting() {
        let c = MemoryCounters::default();
        assert_eq!(c.hit(&at(0)), Decision::Allowed);
        assert_eq!(c.hit(&at(10_000)), Decision::Allowed);
        assert_eq!(c.hit(&at(20_000)), Decision::Allowed);
        assert_eq!(c.hit(&at(30_000)), Decision::Refused { oldest_ms: 0 });
        assert_eq!(c.hit(&at(59_999)), Decision::Refused { oldest_ms: 0 });
        // The first request leaves the window at 60 s: one more fits, not two.
        assert_eq!(c.hit(&at(60_000)), Decision::Allowed);
        assert_eq!(c.hit(&at(60_001)), Decision::Refused { oldest_ms: 10_000 });
    }

    #[test]
    fn keys_are_counted_apart() {
        let c = MemoryCounters::default();
        for t in 0..3 {
            c.hit(&at(t));
        }
        let other = Hit {
            key: "login:other".into(),
            ..at(5)
        };
        assert_eq!(c.hit(&other), Decision::Allowed);
    }

    #[test]
    fn keys_whose_window_has_passed_are_forgotten_a_few_at_a_time() {
        let c = MemoryCounters::default();
        for n in 0..100 {
            c.hit(&Hit {
                key: format!("login:{n}"),
                ..at(0)
            });
        }
        assert_eq!(c.keys(), 100);
        // Still inside the window: nothing is dropped.
        c.hit(&Hit {
            key: "login:busy".into(),
            ..at(59_999)
        });
        assert_eq!(c.keys(), 101);
        // Each later hit drops a few idle keys, never the busy one.
        for t in 0..20 {
            c.hit(&Hit {
                key: "login:busy".into(),
                ..at(60_000 + t)
            });
        }
        assert_eq!(c.keys(), 1);
    }
}
