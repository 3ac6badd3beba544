//! Offers each mail to the providers of `MAIL_PROVIDERS` in order. A provider that did not take
//! a mail (unreachable, timed out, 5xx, 429, refused credentials) is skipped for [`COOLDOWN`]
//! (on the injected clock), so while it is down every mail goes straight to the next one
//! instead of waiting for its timeout first; after the cooldown it is tried again (and when
//! every provider is cooling down, all are tried). A permanent
//! refusal ends the mail's delivery: another provider would refuse the same recipient, and
//! trying them all would only spread the bounce.
//!
//! Exactly one provider accepts a mail, or none: the next is only tried after the previous one
//! answered "no" or its time ran out. (A provider that accepted but whose answer was lost to
//! the timeout can still deliver it; no API offers a way to ask, so this is the one duplicate
//! left, and `MAIL_PROVIDER_TIMEOUT` keeps it rare.)

use super::{MailError, Mailer};
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::store::OutboxMail;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

/// How long a provider that failed is passed over before it gets mail again.
pub const COOLDOWN: Duration = Duration::seconds(30);

pub struct Failover {
    providers: Vec<Provider>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    timeout: std::time::Duration,
}

struct Provider {
    mailer: Arc<dyn Mailer>,
    health: Mutex<Health>,
}

#[derive(Debug, Clone, Default)]
struct Health {
    /// Set by a failure, cleared by an acceptance.
    failing_since: Option<DateTime<Utc>>,
    retry_at: Option<DateTime<Utc>>,
}

/// One provider as `/ready` shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProviderStatus {
    /// `smtp`, `ses`, `sendgrid` or `log`.
    pub name: &'static str,
    /// `usable`, or `failing` (its last attempt did not deliver; it is passed over until
    /// `retry_in_seconds` have gone by).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_seconds: Option<i64>,
}

impl Failover {
    pub fn new(
        mailers: Vec<Arc<dyn Mailer>>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        timeout: std::time::Duration,
    ) -> Self {
        Self {
            providers: mailers
                .into_iter()
                .map(|mailer| Provider {
                    mailer,
                    health: Mutex::new(Health::default()),
                })
                .collect(),
            clock,
            metrics,
            timeout,
        }
    }

    /// Every provider in order, with whether it is being passed over.
    pub fn status(&self) -> Vec<ProviderStatus> {
        let now = self.clock.now();
        self.providers
            .iter()
            .map(|p| {
                let h = p.health();
                let cooling = h.retry_at.filter(|at| *at > now);
                ProviderStatus {
                    name: p.mailer.describe(),
                    status: if h.failing_since.is_some() { "failing" } else { "usable" },
                    failing_since: h.failing_since,
                    retry_in_seconds: cooling.map(|at| (at - now).num_seconds().max(1)),
                }
            })
            .collect()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.providers.iter().map(|p| p.mailer.describe()).collect()
    }

    async fn attempt(&self, provider: &Provider, mail: &OutboxMail) -> Result<(), MailError> {
        let name = provider.mailer.describe();
        let started = std::time::Instant::now();
        let result = match tokio::time::timeout(self.timeout, provider.mailer.send(mail)).await {
            Ok(result) => result,
            Err(_) => Err(MailError::Transient(format!(
                "no answer within MAIL_PROVIDER_TIMEOUT ({} s)",
                self.timeout.as_secs()
            ))),
        };
        let outcome = match &result {
            Ok(()) => "accepted",
            Err(MailError::Transient(_)) => "failed",
            Err(MailError::Permanent(_)) => "refused",
        };
        self.metrics.mail_attempt(name, outcome, started.elapsed());
        result
    }
}

impl Provider {
    fn health(&self) -> Health {
        self.health.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, update: impl FnOnce(&mut Health)) {
        update(&mut self.health.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

#[async_trait]
impl Mailer for Failover {
    async fn send(&self, mail: &OutboxMail) -> Result<(), MailError> {
        let now = self.clock.now();
        let cooling = |p: &Provider| p.health().retry_at.is_some_and(|at| at > now);
        // When every provider is cooling down, all are tried anyway: passing over only pays
        // when there is another provider to go to, and a recovered one should not wait.
        let all_cooling = self.providers.iter().all(cooling);
        let mut reasons = Vec::new();
        for provider in &self.providers {
            let name = provider.mailer.describe();
            if !all_cooling && cooling(provider) {
                continue;
            }
            match self.attempt(provider, mail).await {
                Ok(()) => {
                    provider.set(|h| *h = Health::default());
                    tracing::debug!(mail_id = %mail.id, provider = name, "mail accepted");
                    return Ok(());
                }
                Err(MailError::Transient(reason)) => {
                    let now = self.clock.now();
                    provider.set(|h| {
                        h.failing_since.get_or_insert(now);
                        h.retry_at = Some(now + COOLDOWN);
                    });
                    tracing::warn!(mail_id = %mail.id, provider = name, %reason,
                        "mail provider did not take the mail; trying the next one and passing this one over for 30 s");
                    reasons.push(format!("{name}: {reason}"));
                }
                Err(MailError::Permanent(reason)) => {
                    // The provider answered, so it works: a bounce is not an outage.
                    provider.set(|h| *h = Health::default());
                    return Err(MailError::Permanent(format!("{name}: {reason}")));
                }
            }
        }
        Err(MailError::Transient(reasons.join("; ")))
    }

    fn describe(&self) -> &'static str {
        "failover"
    }
}
