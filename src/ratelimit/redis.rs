//! Counters in Redis, shared by every instance. While Redis does not answer, [`RedisCounters::hit`]
//! returns `None` and the caller counts in memory; a new connection is tried at most every
//! [`RETRY_EVERY`] (by the injected clock), so an outage costs one timeout, not one per request.

use super::{Decision, Hit};
use crate::clock::Clock;
use chrono::{DateTime, Utc};
use redis::aio::MultiplexedConnection;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one Redis round trip may take before this instance counts in memory instead.
const TIMEOUT: Duration = Duration::from_millis(500);
const RETRY_EVERY: chrono::Duration = chrono::Duration::seconds(5);

/// Drops what has left the window, then counts this request only if fewer than the limit
/// remain, atomically (one script run). Scores are gatehouse's clock in milliseconds; the key
/// expires when its newest entry would have left the window anyway.
const HIT: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return -1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2])
";

enum Link {
    Up(MultiplexedConnection),
    Down { retry_at: DateTime<Utc> },
}

pub(crate) struct RedisCounters {
    client: redis::Client,
    prefix: String,
    clock: Arc<dyn Clock>,
    link: Mutex<Link>,
    script: redis::Script,
}

impl RedisCounters {
    /// Fails only on a malformed URL; an unreachable server is logged and retried later.
    pub(crate) async fn connect(url: &str, prefix: &str, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("REDIS_URL could not be used ({:?}): check its form, e.g. redis://host:6379/0 or rediss://user:pass@host:6380", e.kind()))?;
        let counters = Self {
            client,
            prefix: prefix.to_string(),
            link: Mutex::new(Link::Down { retry_at: clock.now() }),
            clock,
            script: redis::Script::new(HIT),
        };
        if counters.connection().await.is_some() {
            tracing::info!("rate limits are shared through Redis (REDIS_URL)");
        } else {
            tracing::warn!("REDIS_URL is set but Redis does not answer: rate limits are counted in this instance's memory until it does (retried every few seconds); check the Redis server and REDIS_URL");
        }
        Ok(counters)
    }

    pub(crate) fn is_up(&self) -> bool {
        matches!(*self.lock(), Link::Up(_))
    }

    pub(crate) async fn ping(&self) -> bool {
        let Some(mut conn) = self.connection().await else {
            return false;
        };
        let pong: Result<Result<String, _>, _> =
            tokio::time::timeout(TIMEOUT, redis::cmd("PING").query_async(&mut conn)).await;
        match pong {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                self.mark_down(&e.to_string());
                false
            }
            Err(_) => {
                self.mark_down("no answer within 500 ms");
                false
            }
        }
    }

    /// `None`: Redis did not answer; count in memory.
    pub(crate) async fn hit(&self, hit: &Hit) -> Option<Decision> {
        let mut conn = self.connection().await?;
        let key = format!("{}rl:{}", self.prefix, hit.key);
        // Two requests in the same millisecond are two members.
        let member = format!("{}-{}", hit.now_ms, uuid::Uuid::new_v4().simple());
        let mut invocation = self.script.key(key);
        invocation.arg(hit.now_ms).arg(hit.window_ms).arg(hit.limit).arg(member);
        let answer: Result<Result<i64, redis::RedisError>, _> =
            tokio::time::timeout(TIMEOUT, invocation.invoke_async(&mut conn)).await;
        match answer {
            Ok(Ok(-1)) => Some(Decision::Allowed),
            Ok(Ok(oldest_ms)) => Some(Decision::Refused { oldest_ms }),
            Ok(Err(e)) => {
                self.mark_down(&e.to_string());
                None
            }
            Err(_) => {
                self.mark_down("no answer within 500 ms");
                None
            }
        }
    }

    /// The live connection, or a new one if the last failure is old enough; `None` otherwise.
    async fn connection(&self) -> Option<MultiplexedConnection> {
        let now = self.clock.now();
        {
            let mut link = self.lock();
            match &*link {
                Link::Up(conn) => return Some(conn.clone()),
                Link::Down { retry_at } if *retry_at > now => return None,
                // Claim this attempt so concurrent requests do not all dial at once.
                Link::Down { .. } => {
                    *link = Link::Down {
                        retry_at: now + RETRY_EVERY,
                    }
                }
            }
        }
        let attempt = tokio::time::timeout(TIMEOUT, self.client.get_multiplexed_async_connection()).await;
        match attempt {
            Ok(Ok(conn)) => {
                let mut link = self.lock();
                if !matches!(*link, Link::Up(_)) {
                    tracing::info!("Redis answers: rate limits are shared by all instances again");
                }
                *link = Link::Up(conn.clone());
                Some(conn)
            }
            Ok(Err(e)) => {
                self.mark_down(&e.to_string());
                None
            }
            Err(_) => {
                self.mark_down("no connection within 500 ms");
                None
            }
        }
    }

    fn mark_down(&self, why: &str) {
        let mut link = self.lock();
        let was_up = matches!(*link, Link::Up(_));
        *link = Link::Down {
            retry_at: self.clock.now() + RETRY_EVERY,
        };
        if was_up {
            tracing::warn!(
                error = why,
                "Redis (REDIS_URL) stopped answering: rate limits are counted in this instance's memory until it answers again; check the Redis server"
            );
        } else {
            tracing::debug!(error = why, "Redis (REDIS_URL) still does not answer");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Link> {
        self.link.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
