//! Rate limits (issue 5): how many requests one client, one account or one route may make in a
//! window, answered with `429` and `Retry-After` once spent.
//!
//! Counting is an exact sliding window: a request is let in when fewer than N requests were let
//! in during the last window (a sorted set of timestamps in Redis, a queue in memory). "5 a
//! minute" then means five in any 60 seconds — no double burst at a window edge — and
//! `Retry-After` is exactly when the oldest counted request leaves the window, never more than
//! the window itself. Refused requests are not counted, so a client that keeps knocking is let
//! in again as soon as its earlier requests age out. The limits are small (a few, or tens, per
//! key), so keeping timestamps costs little.
//!
//! With `REDIS_URL` set, counters live in Redis and every instance enforces one shared limit.
//! When Redis is unset or stops answering, this instance's memory takes over (so limits still
//! hold, per instance) and `/health` says so; Redis is tried again every few seconds and used
//! again once it answers. Windows are numbered by the injected clock, so tests move time
//! instead of waiting.
//!
//! Keys are keyed hashes of what they count (an address, an IP), so neither Redis nor memory
//! holds a list of the email addresses people tried.

mod memory;
mod redis;

use crate::clock::Clock;
use crate::error::Error;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;

/// The largest count a rate may allow.
pub const MAX_LIMIT: u32 = 10_000;

/// `N` requests per `window`: parsed from settings such as `5/minute`, `3/hour`, `50/min`, `10/30s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u32,
    pub window: chrono::Duration,
}

impl Rate {
    pub const fn per_minute(limit: u32) -> Self {
        Self {
            limit,
            window: chrono::Duration::minutes(1),
        }
    }

    pub const fn per_hour(limit: u32) -> Self {
        Self {
            limit,
            window: chrono::Duration::hours(1),
        }
    }

    /// `off` (no limit) → `Ok(None)`.
    pub fn parse(raw: &str) -> Result<Option<Rate>, String> {
        let raw = raw.trim().to_ascii_lowercase();
        if matches!(raw.as_str(), "off" | "none" | "unlimited") {
            return Ok(None);
        }
        let bad = || format!("{raw:?} is not a rate such as 5/minute");
        let (count, per) = raw.split_once('/').ok_or_else(bad)?;
        let limit: u32 = count.trim().parse().map_err(|_| bad())?;
        let window = match per.trim() {
            "s" | "sec" | "second" => chrono::Duration::seconds(1),
            "m" | "min" | "minute" => chrono::Duration::minutes(1),
            "h" | "hour" => chrono::Duration::hours(1),
            "d" | "day" => chrono::Duration::days(1),
            other => crate::config::parse_duration(other).ok_or_else(bad)?,
        };
        // Each counted request is remembered until it leaves the window, so the count is capped
        // (a limit above it is no limit in practice: say `off`).
        if limit == 0
            || limit > MAX_LIMIT
            || window < chrono::Duration::seconds(1)
            || window > chrono::Duration::days(7)
        {
            return Err(format!(
                "{raw:?}: the count must be from 1 to {MAX_LIMIT} and the window from 1s to 7d (or off)"
            ));
        }
        Ok(Some(Rate { limit, window }))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.limit, crate::config::humanize(self.window))
    }
}

/// The limits gatehouse enforces; `None` turns one off. Defaults are seed 004's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// `RATE_LIMIT_LOGIN`: sign-in attempts per account and IP (password login, token endpoint).
    pub login: Option<Rate>,
    /// `RATE_LIMIT_REGISTER`: registrations per IP.
    pub register: Option<Rate>,
    /// `RATE_LIMIT_PASSWORD_RESET`: reset mails asked for per address and client network.
    pub password_reset: Option<Rate>,
    /// `RATE_LIMIT_EMAIL`: other mails asked for per address and client network (new
    /// verification mail, sign-in codes), and MFA codes per account.
    pub email: Option<Rate>,
    /// `RATE_LIMIT_MAIL_PER_ADDRESS`: mails of every kind asked for one address, from anywhere.
    /// Looser than the two above, which count per client network so that strangers cannot use
    /// up the owner's allowance; this cap stops many networks together from flooding a mailbox.
    pub mail_per_address: Option<Rate>,
    /// `RATE_LIMIT_PER_IP`: every API request per IP, whatever the route.
    pub per_ip: Option<Rate>,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            login: Some(Rate::per_minute(5)),
            register: Some(Rate::per_minute(3)),
            password_reset: Some(Rate::per_hour(3)),
            email: Some(Rate::per_hour(5)),
            mail_per_address: Some(Rate::per_hour(20)),
            per_ip: Some(Rate::per_minute(50)),
        }
    }
}

impl RateLimitSettings {
    /// No limits at all (for load tests, or a harness exercising other features).
    pub fn off() -> Self {
        Self {
            login: None,
            register: None,
            password_reset: None,
            email: None,
            mail_per_address: None,
            per_ip: None,
        }
    }
}

/// What is being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Login,
    Register,
    PasswordReset,
    Email,
    MailPerAddress,
    PerIp,
}

impl Limit {
    pub fn name(self) -> &'static str {
        match self {
            Limit::Login => "login",
            Limit::Register => "register",
            Limit::PasswordReset => "password_reset",
            Limit::Email => "email",
            Limit::MailPerAddress => "mail_per_address",
            Limit::PerIp => "per_ip",
        }
    }

    /// What was counted, for the answer's `detail`: "too many {this}".
    fn counted(self) -> &'static str {
        match self {
            Limit::Login => "sign-in attempts for this account from your network",
            Limit::Register => "registrations from your network",
            Limit::PasswordReset => "password-reset requests for this address from your network",
            Limit::Email => "mails asked for this address from your network",
            Limit::MailPerAddress => "mails asked for this address",
            Limit::PerIp => "requests from your network",
        }
    }

    fn rate(self, settings: &RateLimitSettings) -> Option<Rate> {
        match self {
            Limit::Login => settings.login,
            Limit::Register => settings.register,
            Limit::PasswordReset => settings.password_reset,
            Limit::Email => settings.email,
            Limit::MailPerAddress => settings.mail_per_address,
            Limit::PerIp => settings.per_ip,
        }
    }
}

/// Where counters live right now; `/health` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Shared by every instance.
    Redis,
    /// `REDIS_URL` is unset: one instance, counters in memory.
    Memory,
    /// `REDIS_URL` is set but Redis does not answer: this instance counts alone until it does.
    MemoryFallback,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Redis => "redis",
            Backend::Memory => "memory",
            Backend::MemoryFallback => "memory_fallback",
        }
    }
}

/// One request to count, as both counter stores see it.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    /// Stable per (limit, subject).
    pub key: String,
    /// Now, by gatehouse's clock, in milliseconds.
    pub now_ms: i64,
    pub window_ms: i64,
    pub limit: u32,
}

/// A store's answer: let in, or not before the oldest counted request (at `oldest_ms`) leaves
/// the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Allowed,
    Refused { oldest_ms: i64 },
}

/// Seconds until one more request fits (at least 1).
fn retry_after_secs(hit: &Hit, oldest_ms: i64) -> u64 {
    let wait_ms = (oldest_ms + hit.window_ms - hit.now_ms).max(0);
    (wait_ms as u64).div_ceil(1000).max(1)
}

pub struct RateLimiter {
    metrics: Arc<crate::metrics::Metrics>,
    settings: RateLimitSettings,
    clock: Arc<dyn Clock>,
    key: Vec<u8>,
    memory: memory::MemoryCounters,
    redis: Option<redis::RedisCounters>,
}

impl RateLimiter {
    /// `redis_url` unset: memory only. Set: Redis, with memory while it does not answer (the
    /// first connection is tried here, so a bad URL is logged at start).
    pub async fn new(
        metrics: Arc<crate::metrics::Metrics>,
        settings: RateLimitSettings,
        redis_url: Option<&str>,
        key_prefix: &str,
        clock: Arc<dyn Clock>,
        key: Vec<u8>,
    ) -> anyhow::Result<Self> {
        let redis = match redis_url {
            Some(url) => Some(redis::RedisCounters::connect(url, key_prefix, clock.clone()).await?),
            None => None,
        };
        Ok(Self {
            metrics,
            settings,
            clock,
            key,
            memory: memory::MemoryCounters::default(),
            redis,
        })
    }

    pub fn settings(&self) -> &RateLimitSettings {
        &self.settings
    }

    pub fn backend(&self) -> Backend {
        match &self.redis {
            None => Backend::Memory,
            Some(r) if r.is_up() => Backend::Redis,
            Some(_) => Backend::MemoryFallback,
        }
    }

    /// Whether Redis answers a PING now (for `/ready`); `None` without `REDIS_URL`.
    pub async fn redis_answers(&self) -> Option<bool> {
        match &self.redis {
            None => None,
            Some(r) => Some(r.ping().await),
        }
    }

    /// Counts one request of `subject` (an IP, an address + IP, …) against `limit`; `429`
    /// with the wait when it does not fit.
    pub async fn check(&self, limit: Limit, subject: &str) -> Result<(), Error> {
        let Some(rate) = limit.rate(&self.settings) else {
            return Ok(());
        };
        let hit = self.hit(limit, rate, subject, self.clock.now());
        let decision = match &self.redis {
            Some(redis) => match redis.hit(&hit).await {
                Some(decision) => decision,
                None => self.memory.hit(&hit),
            },
            None => self.memory.hit(&hit),
        };
        match decision {
            Decision::Allowed => Ok(()),
            Decision::Refused { oldest_ms } => {
                tracing::info!(limit = limit.name(), rate = %rate, "rate limit reached");
                self.metrics.rate_limited(limit.name());
                Err(Error::RateLimited {
                    retry_after_secs: retry_after_secs(&hit, oldest_ms),
                    what: limit.counted(),
                })
            }
        }
    }

    fn hit(&self, limit: Limit, rate: Rate, subject: &str, now: DateTime<Utc>) -> Hit {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(limit.name().as_bytes());
        mac.update(b"\0");
        mac.update(subject.as_bytes());
        let digest = mac.finalize().into_bytes();
        let window_ms = rate.window.num_milliseconds().max(1);
        Hit {
            key: format!("{}:{}:{}", limit.name(), window_ms, hex::encode(&digest[..16])),
            now_ms: now.timestamp_millis(),
            window_ms,
            limit: rate.limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_as_in_seed_004() {
        assert_eq!(Rate::parse("5/minute"), Ok(Some(Rate::per_minute(5))));
        assert_eq!(Rate::parse("3/hour"), Ok(Some(Rate::per_hour(3))));
        assert_eq!(Rate::parse(" 50 / min "), Ok(Some(Rate::per_minute(50))));
        assert_eq!(
            Rate::parse("10/30s"),
            Ok(Some(Rate {
                limit: 10,
                window: chrono::Duration::seconds(30)
            }))
        );
        assert_eq!(Rate::parse("off"), Ok(None));
        assert!(Rate::parse("0/minute").is_err());
        assert!(Rate::parse("10000/minute").is_ok());
        assert!(Rate::parse("10001/minute").is_err());
        assert!(Rate::parse("five/minute").is_err());
        assert!(Rate::parse("5").is_err());
        assert!(Rate::parse("5/fortnight").is_err());
    }

    #[test]
    fn retry_after_is_when_the_oldest_request_leaves_the_window() {
        let hit = Hit {
            key: "k".into(),
            now_ms: 100_000,
            window_ms: 60_000,
            limit: 5,
        };
        assert_eq!(retry_after_secs(&hit, 50_000), 10);
        assert_eq!(retry_after_secs(&hit, 40_001), 1);
        assert_eq!(retry_after_secs(&hit, 40_000), 1);
        assert_eq!(retry_after_secs(&hit, 99_500), 60);
    }
}
