//! SMTP delivery through lettre, configured by one URL (`SMTP_URL`):
//!
//! | URL | transport |
//! |---|---|
//! | `smtp://user:pass@host:587` | STARTTLS required (the default for `smtp://`; port 587 if omitted) |
//! | `smtps://user:pass@host:465` | implicit TLS (port 465 if omitted) |
//! | `smtp://127.0.0.1:2525?tls=none` | plain text, for a local relay or capture server only |
//! | `smtp://host:25?tls=opportunistic` | STARTTLS when offered |
//!
//! User name and password are percent-decoded, so `@` or `:` in an API key can be written as `%40`.
//! Amazon SES and SendGrid both accept SMTP this way.

use super::{MailError, Mailer};
use crate::store::OutboxMail;
use async_trait::async_trait;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Implicit,
    StartTlsRequired,
    StartTlsOpportunistic,
    None,
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

impl SmtpSettings {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(format!("unsupported scheme {other}: use smtp:// or smtps://")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("missing host")?
            .to_string();
        let mut tls = if implicit {
            TlsMode::Implicit
        } else {
            TlsMode::StartTlsRequired
        };
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "none") if !implicit => tls = TlsMode::None,
                ("tls", "opportunistic") if !implicit => tls = TlsMode::StartTlsOpportunistic,
                ("tls", "required" | "starttls") if !implicit => tls = TlsMode::StartTlsRequired,
                ("tls", "implicit" | "wrapper") => tls = TlsMode::Implicit,
                (k, v) => return Err(format!("unknown parameter {k}={v}")),
            }
        }
        let port = url.port().unwrap_or(if tls == TlsMode::Implicit { 465 } else { 587 });
        let decode = |s: &str| percent_decode(s);
        let username = (!url.username().is_empty()).then(|| decode(url.username()));
        let password = url.password().map(decode);
        Ok(Self {
            host,
            port,
            tls,
            username,
            password,
        })
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(settings: &SmtpSettings, from: &str, timeout: std::time::Duration) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("MAIL_FROM is not a mailbox: {e}"))?;
        let tls_params = || TlsParameters::new(settings.host.clone());
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host).port(settings.port);
        builder = match settings.tls {
            TlsMode::None => builder.tls(Tls::None),
            TlsMode::Implicit => builder.tls(Tls::Wrapper(tls_params()?)),
            TlsMode::StartTlsRequired => builder.tls(Tls::Required(tls_params()?)),
            TlsMode::StartTlsOpportunistic => builder.tls(Tls::Opportunistic(tls_params()?)),
        };
        if let (Some(user), Some(pass)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        let transport = builder.timeout(Some(timeout)).build();
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutboxMail) -> Result<(), MailError> {
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|e| MailError::Permanent(format!("bad recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{}@gatehouse>", mail.id)))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text_body.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html_body.clone()),
                    ),
            )
            .map_err(|e| MailError::Permanent(format!("could not build message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }

    fn describe(&self) -> &'static str {
        "smtp"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_tls_mode_and_port() {
        let s = SmtpSettings::parse("smtp://user:p%40ss@mail.example.com").unwrap();
        assert_eq!((s.port, s.tls), (587, TlsMode::StartTlsRequired));
        assert_eq!(s.password.as_deref(), Some("p@ss"));
        let s = SmtpSettings::parse("smtps://mail.example.com").unwrap();
        assert_eq!((s.port, s.tls), (465, TlsMode::Implicit));
        let s = SmtpSettings::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((s.port, s.tls), (2525, TlsMode::None));
        assert!(SmtpSettings::parse("http://x").is_err());
        assert!(SmtpSettings::parse("smtp://x?tls=maybe").is_err());
        assert!(!format!("{:?}", SmtpSettings::parse("smtp://u:secret@h").unwrap()).contains("secret"));
    }
}
