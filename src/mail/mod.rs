//! Outgoing mail. Every mail goes through the `mail_outbox` table: the request that causes it
//! only inserts a row (in the same request, before answering), and a background worker
//! ([`worker`]) delivers it, retrying with backoff while the SMTP server is down. So a mail the
//! API accepted is never lost, and any instance can deliver any instance's mail.

pub mod smtp;
pub mod templates;
pub mod worker;

use crate::clock::Clock;
use crate::store::{NewMail, OutboxMail, Store};
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::Notify;
use uuid::Uuid;

pub use templates::{Rendered, Template};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later (server down, 4xx reply, timeout).
    #[error("temporary delivery failure: {0}")]
    Transient(String),
    /// Retrying cannot help (5xx reply, malformed address).
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: &OutboxMail) -> Result<(), MailError>;
    fn describe(&self) -> &'static str;
}

/// The development mailer used when `SMTP_URL` is unset: writes each mail, links and codes
/// included, to the log, so a newcomer can finish registration with nothing else installed.
/// It is announced with a warning at every start because those links are secrets.
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: &OutboxMail) -> Result<(), MailError> {
        tracing::info!(
            target: "gatehouse::mail",
            to = %mail.recipient,
            subject = %mail.subject,
            "development mailer (SMTP_URL is unset), mail not sent, its text is:\n{}",
            mail.text_body
        );
        Ok(())
    }

    fn describe(&self) -> &'static str {
        "log"
    }
}

/// Puts mail in the outbox and wakes the local worker.
#[derive(Clone)]
pub struct Outbox {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    heartbeat: Heartbeat,
}

/// When this process's outbox worker last went round its loop (wall time, for `/ready`).
#[derive(Clone, Default)]
pub struct Heartbeat(Arc<std::sync::Mutex<Option<std::time::Instant>>>);

impl Heartbeat {
    pub fn beat(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(std::time::Instant::now());
    }

    /// Time since the last beat; `None` if the worker never ran.
    pub fn age(&self) -> Option<std::time::Duration> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).map(|t| t.elapsed())
    }
}

impl Outbox {
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            wake: Arc::new(Notify::new()),
            heartbeat: Heartbeat::default(),
        }
    }

    pub async fn enqueue(&self, recipient: &str, mail: Rendered) -> anyhow::Result<()> {
        self.store
            .outbox()
            .enqueue(&NewMail {
                id: Uuid::new_v4(),
                recipient: recipient.to_string(),
                subject: mail.subject,
                text_body: mail.text,
                html_body: mail.html,
                created_at: self.clock.now(),
            })
            .await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Wakes the worker now instead of at its next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    pub fn heartbeat(&self) -> Heartbeat {
        self.heartbeat.clone()
    }
}
