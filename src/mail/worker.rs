//! The outbox worker: claims one due mail by a short lease (so no transaction stays open across
//! an SMTP conversation, and a crashed worker's mail is picked up again when the lease ends),
//! offers it to the providers ([`super::failover`]), deletes it once one accepted it; when none
//! did, keeps it with exponential backoff (30 s, 1 min, 2 min … capped at 1 h). A permanent
//! refusal (an invalid recipient) marks it failed with the provider's reason: retrying cannot
//! help, and the row tells the operator why a user never got their mail.

use super::{MailError, Mailer};
use crate::clock::Clock;
use crate::store::Store;
use chrono::Duration;
use std::sync::Arc;
use tokio::sync::{watch, Notify};

const LEASE: i64 = 60;
const IDLE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Clone)]
pub struct OutboxWorker {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
    wake: Arc<Notify>,
    heartbeat: super::Heartbeat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Idle,
    Sent,
    Retrying,
    Failed,
}

pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 8) - 1;
    Duration::seconds((30i64 << exp).min(3600))
}

impl OutboxWorker {
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>, mailer: Arc<dyn Mailer>, wake: Arc<Notify>) -> Self {
        Self {
            store,
            clock,
            mailer,
            wake,
            heartbeat: super::Heartbeat::default(),
        }
    }

    /// Delivers at most one due mail.
    pub async fn step(&self) -> anyhow::Result<Step> {
        let now = self.clock.now();
        let Some(mail) = self
            .store
            .outbox()
            .claim_next(now, now + Duration::seconds(LEASE))
            .await?
        else {
            return Ok(Step::Idle);
        };
        match self.mailer.send(&mail).await {
            Ok(()) => {
                self.store.outbox().delete(mail.id).await?;
                tracing::info!(mail_id = %mail.id, attempts = mail.attempts, "mail delivered");
                Ok(Step::Sent)
            }
            Err(MailError::Transient(reason)) => {
                let next = self.clock.now() + backoff(mail.attempts);
                self.store.outbox().reschedule(mail.id, next, &reason).await?;
                tracing::warn!(mail_id = %mail.id, attempts = mail.attempts, next_attempt_at = %next, %reason,
                    "no mail provider took the mail, it stays in the outbox and is tried again then; check the settings of MAIL_PROVIDERS (SMTP_URL, SES_REGION and the AWS keys, SENDGRID_API_KEY) and that the providers are reachable");
                Ok(Step::Retrying)
            }
            Err(MailError::Permanent(reason)) => {
                self.store
                    .outbox()
                    .mark_failed(mail.id, self.clock.now(), &reason)
                    .await?;
                tracing::error!(mail_id = %mail.id, %reason,
                    "mail refused for good (it is kept as failed, not retried; GET /api/admin/mail/failed lists such mails)");
                Ok(Step::Failed)
            }
        }
    }

    /// Reports each round of [`run`](Self::run) to `heartbeat` (read by `/ready`).
    pub fn with_heartbeat(mut self, heartbeat: super::Heartbeat) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Delivers until nothing is due. Returns how many steps did work.
    pub async fn drain(&self) -> anyhow::Result<usize> {
        let mut n = 0;
        loop {
            match self.step().await? {
                Step::Idle => return Ok(n),
                Step::Retrying => return Ok(n + 1),
                _ => n += 1,
            }
        }
    }

    /// Runs until `shutdown` turns true; a mail being sent is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("outbox worker started");
        loop {
            self.heartbeat.beat();
            if *shutdown.borrow() {
                break;
            }
            let idle = match self.step().await {
                Ok(Step::Idle) | Ok(Step::Retrying) => true,
                Ok(_) => false,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "outbox worker could not reach the database");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        tracing::info!("outbox worker stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use chrono::Duration;

    #[test]
    fn backoff_doubles_and_caps_at_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(50), Duration::seconds(3600));
    }
}
