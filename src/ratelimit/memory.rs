//! Counters in this process: the only store without `REDIS_URL`, and the fallback while Redis
//! does not answer.

use super::{Decision, Hit};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Above this many keys, keys with nothing left in their window are dropped on the next hit,
/// so a flood of distinct addresses cannot grow memory without bound.
const PRUNE_ABOVE: usize = 50_000;

struct Entry {
    window_ms: i64,
    /// When each counted request was let in, oldest first.
    times: VecDeque<i64>,
}

#[derive(Default)]
pub(crate) struct MemoryCounters {
    entries: Mutex<HashMap<String, Entry>>,
}

impl MemoryCounters {
    pub(crate) fn hit(&self, hit: &Hit) -> Decision {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() > PRUNE_ABOVE {
            entries.retain(|_, e| e.times.back().is_some_and(|t| *t > hit.now_ms - e.window_ms));
        }
        let entry = entries.entry(hit.key.clone()).or_insert_with(|| Entry {
            window_ms: hit.window_ms,
            times: VecDeque::new(),
        });
        while entry.times.front().is_some_and(|t| *t <= hit.now_ms - hit.window_ms) {
            entry.times.pop_front();
        }
        if entry.times.len() < hit.limit as usize {
            entry.times.push_back(hit.now_ms);
            Decision::Allowed
        } else {
            Decision::Refused {
                oldest_ms: entry.times.front().copied().unwrap_or(hit.now_ms),
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
}
