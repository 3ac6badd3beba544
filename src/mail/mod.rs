//! Outgoing mail. Every mail goes through the `mail_outbox` table: the request that causes it
//! only inserts a row (in the same request, before answering), and a background worker
//! ([`worker`]) delivers it through the providers of `MAIL_PROVIDERS` in order ([`failover`]),
//! retrying with backoff while none of them takes it. So a mail the API accepted is never lost,
//! and any instance can deliver any instance's mail.

pub mod failover;
mod http_api;
pub mod sendgrid;
pub mod ses;
pub mod smtp;
pub mod templates;
pub mod worker;

use crate::clock::Clock;
use crate::store::{NewMail, OutboxMail, Store};
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::Notify;
use uuid::Uuid;

pub use templates::{Rendered, Template, Templates};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The provider did not take the mail, for reasons of its own: unreachable, timed out,
    /// overloaded (5xx, 429, SMTP 4xx) or misconfigured (refused credentials). Another
    /// provider, or this one later, may take it.
    #[error("temporary delivery failure: {0}")]
    Transient(String),
    /// The provider refused this mail for what it is (an invalid recipient, a malformed
    /// message): no provider will take it, so it is marked failed instead of retried.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: &OutboxMail) -> Result<(), MailError>;
    /// The provider's name in logs, metrics and `/ready`: `smtp`, `ses`, `sendgrid`, `log`.
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
            "development mailer (no mail provider is set), mail not sent, its text is:\n{}",
            mail.text_body
        );
        Ok(())
    }

    fn describe(&self) -> &'static str {
        "log"
    }
}

/// The providers of `MAIL_PROVIDERS` (or `SMTP_URL` alone, or the log mailer when neither is
/// set), behind the failover that offers each mail to them in order.
pub fn providers_from_config(
    config: &crate::config::Config,
    clock: Arc<dyn Clock>,
    metrics: Arc<crate::metrics::Metrics>,
) -> anyhow::Result<failover::Failover> {
    use crate::config::MailProviderKind;
    use secrecy::ExposeSecret;
    let timeout = config
        .mail
        .timeout
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(10));
    let mut mailers: Vec<Arc<dyn Mailer>> = Vec::new();
    for kind in config.mail_providers() {
        let missing = || anyhow::anyhow!("MAIL_PROVIDERS lists {} but its settings are missing", kind.name());
        mailers.push(match kind {
            MailProviderKind::Smtp => {
                let url = config.smtp_url.as_ref().ok_or_else(missing)?;
                let settings =
                    smtp::SmtpSettings::parse(url.expose_secret()).map_err(|e| anyhow::anyhow!("SMTP_URL: {e}"))?;
                Arc::new(smtp::SmtpMailer::new(&settings, &config.mail_from, timeout)?)
            }
            MailProviderKind::Ses => Arc::new(ses::SesMailer::new(
                config.mail.ses.as_ref().ok_or_else(missing)?,
                &config.mail_from,
                timeout,
            )?),
            MailProviderKind::SendGrid => Arc::new(sendgrid::SendGridMailer::new(
                config.mail.sendgrid.as_ref().ok_or_else(missing)?,
                &config.mail_from,
                timeout,
            )?),
        });
    }
    if mailers.is_empty() {
        tracing::warn!("no mail provider is set (SMTP_URL, MAIL_PROVIDERS): mail is written to this log instead of being sent (development mode). Set one before real users sign up.");
        mailers.push(Arc::new(LogMailer));
    }
    let failover = failover::Failover::new(mailers, clock, metrics, timeout);
    tracing::info!(providers = ?failover.names(), "mail is offered to these providers in this order");
    Ok(failover)
}

/// The templates `MAIL_TEMPLATES_DIR` asks for (the built-in ones when it is unset).
pub fn templates_from_config(config: &crate::config::Config) -> anyhow::Result<Templates> {
    let Some(dir) = &config.mail.templates_dir else {
        return Ok(Templates::default());
    };
    let templates = Templates::load(dir)?;
    tracing::info!(dir = %dir.display(), overridden = ?templates.overridden(), "mail templates read from MAIL_TEMPLATES_DIR");
    Ok(templates)
}

/// Puts mail in the outbox and wakes the local worker.
#[derive(Clone)]
pub struct Outbox {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    templates: Arc<Templates>,
    wake: Arc<Notify>,
    heartbeat: Heartbeat,
    /// The running worker's providers, for `/ready` (none in a one-off command).
    providers: Option<Arc<failover::Failover>>,
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
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>, templates: Templates) -> Self {
        Self {
            store,
            clock,
            templates: Arc::new(templates),
            wake: Arc::new(Notify::new()),
            heartbeat: Heartbeat::default(),
            providers: None,
        }
    }

    pub fn with_providers(mut self, providers: Arc<failover::Failover>) -> Self {
        self.providers = Some(providers);
        self
    }

    /// Each provider of the worker, in order, and whether it is being passed over.
    pub fn provider_status(&self) -> Vec<failover::ProviderStatus> {
        self.providers.as_ref().map(|p| p.status()).unwrap_or_default()
    }

    /// Fills in `template` (an override from `MAIL_TEMPLATES_DIR` if there is one).
    pub fn render(&self, template: Template, vars: &[(&str, &str)]) -> Rendered {
        self.templates.render(template, vars)
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
