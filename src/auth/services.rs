//! What the rules in `auth` work with: the store, the clock, the mail outbox, the limits and the
//! rest, built once at start by `app` and handed to every rule. Defined here, below the web
//! layer, so `auth` depends on nothing in `http` or `app` (checked by `tests/layers.rs`).

use crate::auth::password::PasswordHasher;
use crate::auth::tokens::TokenIssuer;
use crate::clock::Clock;
use crate::config::Config;
use crate::dns::DomainResolver;
use crate::mail::Outbox;
use crate::store::Store;
use std::sync::Arc;

/// Keys derived from server-side secrets that all instances share (stored in `server_secrets`).
pub struct ServerSecrets {
    /// Derives a refresh token's successor, so a retry in the grace window gets the same token.
    pub refresh_successor_key: Vec<u8>,
    /// Keys the hashes of short numeric codes.
    pub code_hash_key: Vec<u8>,
    /// Signs the cookie that binds a social login's `state` to the browser.
    pub oauth_state_key: Vec<u8>,
    /// Keys the hashes that rate-limit counters and lockout rows are filed under (IPs,
    /// addresses), so neither Redis nor the database holds the plain values.
    pub rate_limit_key: Vec<u8>,
    /// Derives the CSRF token that goes with a refresh-token cookie.
    pub csrf_key: Vec<u8>,
}

/// The services the rules use (see the module doc).
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    pub hasher: PasswordHasher,
    pub tokens: TokenIssuer,
    pub outbox: Outbox,
    pub resolver: Option<Arc<dyn DomainResolver>>,
    pub secrets: Arc<ServerSecrets>,
    pub oauth: crate::auth::oauth::Providers,
    pub limits: Arc<crate::ratelimit::RateLimiter>,
    /// Prometheus counters (`/metrics`), one registry per server.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl Services {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
