//! Mail delivery settings: `MAIL_PROVIDERS` (the order providers are tried in) and each
//! provider's own settings. SMTP keeps its one `SMTP_URL`; Amazon SES reads the AWS variables
//! every AWS tool reads, so an operator's existing credentials work unchanged.

use super::load::Reader;
use super::*;
use std::path::PathBuf;

/// A service that can take a mail from the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailProviderKind {
    Smtp,
    Ses,
    SendGrid,
}

impl MailProviderKind {
    pub fn name(self) -> &'static str {
        match self {
            MailProviderKind::Smtp => "smtp",
            MailProviderKind::Ses => "ses",
            MailProviderKind::SendGrid => "sendgrid",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_lowercase().as_str() {
            "smtp" => Some(MailProviderKind::Smtp),
            "ses" => Some(MailProviderKind::Ses),
            "sendgrid" => Some(MailProviderKind::SendGrid),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct MailDelivery {
    /// `MAIL_PROVIDERS`, in the order tried. Empty when unset: then `smtp` if `SMTP_URL` is set,
    /// else mail goes to the log (see [`Config::mail_providers`]).
    pub providers: Vec<MailProviderKind>,
    pub ses: Option<SesSettings>,
    pub sendgrid: Option<SendGridSettings>,
    /// `MAIL_PROVIDER_TIMEOUT`: a provider that has not accepted a mail by then is skipped for
    /// that mail (its answer may still arrive; see the README on duplicates).
    pub timeout: Duration,
    /// `MAIL_TEMPLATES_DIR`: a folder whose `<template>.txt` / `<template>.html` files replace
    /// the built-in ones.
    pub templates_dir: Option<PathBuf>,
}

impl Default for MailDelivery {
    fn default() -> Self {
        Self {
            providers: Vec::new(),
            ses: None,
            sendgrid: None,
            timeout: Duration::seconds(10),
            templates_dir: None,
        }
    }
}

/// Amazon SES, API v2 (`SendEmail`), signed with Signature Version 4.
#[derive(Debug, Clone)]
pub struct SesSettings {
    /// `SES_REGION`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: String,
    /// `SES_ENDPOINT_URL`: default `https://email.<region>.amazonaws.com` (set it for a VPC
    /// endpoint, a FIPS endpoint, or a test stand-in).
    pub endpoint: Url,
    /// `SES_CONFIGURATION_SET`: the configuration set (event publishing, dedicated IPs) to send
    /// through. Unset: the account's default.
    pub configuration_set: Option<String>,
    pub credentials: AwsCredentialSource,
}

/// Where the AWS access key comes from, in the order the AWS CLI and SDKs look.
#[derive(Debug, Clone)]
pub enum AwsCredentialSource {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, for temporary credentials,
    /// `AWS_SESSION_TOKEN`.
    Environment {
        access_key_id: String,
        secret_access_key: SecretString,
        session_token: Option<SecretString>,
    },
    /// A profile (`AWS_PROFILE`, default `default`) of the shared credentials file
    /// (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`). The file is read again for
    /// every mail, so credentials rotated into it are used without a restart.
    Profile { file: PathBuf, profile: String },
}

/// SendGrid's v3 Web API (`POST /v3/mail/send`).
#[derive(Debug, Clone)]
pub struct SendGridSettings {
    /// `SENDGRID_API_KEY`: an API key with the "Mail Send" permission.
    pub api_key: SecretString,
    /// `SENDGRID_API_URL`: default `https://api.sendgrid.com` (`https://api.eu.sendgrid.com`
    /// for EU regional subusers, or a test stand-in).
    pub api_url: Url,
}

const PROVIDER_NAMES: &str =
    "a comma-separated list of smtp, ses and sendgrid in the order to try them, such as ses,smtp";

pub(super) fn mail_delivery(r: &mut Reader<'_>, smtp_url_set: bool) -> MailDelivery {
    let d = MailDelivery::default();
    let mut providers = Vec::new();
    for raw in r.raw("MAIL_PROVIDERS").unwrap_or_default().split(',').map(str::trim) {
        if raw.is_empty() {
            continue;
        }
        match MailProviderKind::parse(raw) {
            Some(kind) if providers.contains(&kind) => {
                r.problems.push(format!("MAIL_PROVIDERS lists {raw} twice"));
            }
            Some(kind) => providers.push(kind),
            None => r
                .problems
                .push(format!("MAIL_PROVIDERS must be {PROVIDER_NAMES} (got {raw:?})")),
        }
    }
    if providers.contains(&MailProviderKind::Smtp) && !smtp_url_set {
        r.problems.push(
            "MAIL_PROVIDERS lists smtp but SMTP_URL is unset: set SMTP_URL (smtp://user:pass@host:587) or remove smtp from MAIL_PROVIDERS".into(),
        );
    }
    let ses = providers.contains(&MailProviderKind::Ses).then(|| ses(r)).flatten();
    let sendgrid = providers
        .contains(&MailProviderKind::SendGrid)
        .then(|| sendgrid(r))
        .flatten();
    MailDelivery {
        providers,
        ses,
        sendgrid,
        timeout: r.duration(
            "MAIL_PROVIDER_TIMEOUT",
            d.timeout,
            Duration::seconds(1),
            Duration::minutes(2),
        ),
        templates_dir: r.raw("MAIL_TEMPLATES_DIR").map(PathBuf::from),
    }
}

fn ses(r: &mut Reader<'_>) -> Option<SesSettings> {
    let region = r
        .raw("SES_REGION")
        .or_else(|| r.raw("AWS_REGION"))
        .or_else(|| r.raw("AWS_DEFAULT_REGION"));
    let region = match region {
        Some(v) if is_region(&v) => Some(v),
        Some(v) => {
            r.problems.push(format!(
                "SES_REGION (or AWS_REGION) must be an AWS region such as eu-west-1 (got {v:?})"
            ));
            None
        }
        None => {
            r.problems.push(
                "MAIL_PROVIDERS lists ses but no region is set: set SES_REGION (or AWS_REGION) to the region your SES identity is verified in, such as eu-west-1".into(),
            );
            None
        }
    };
    let endpoint = r.optional_http_url("SES_ENDPOINT_URL", "https://email.eu-west-1.amazonaws.com");
    let configuration_set = r.optional(
        "SES_CONFIGURATION_SET",
        "a configuration set name (letters, digits, - and _, up to 64)",
        |v| {
            (v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .then(|| v.to_string())
        },
    );
    let credentials = aws_credentials(r)?;
    let region = region?;
    let endpoint = match endpoint {
        Some(url) => url,
        None => Url::parse(&format!("https://email.{region}.amazonaws.com")).ok()?,
    };
    Some(SesSettings {
        region,
        endpoint,
        configuration_set,
        credentials,
    })
}

/// `eu-west-1`, `us-gov-west-1`, `cn-north-1`: lower-case words and digits joined by `-`.
fn is_region(v: &str) -> bool {
    v.len() <= 32
        && v.split('-').count() >= 3
        && v.split('-')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

fn aws_credentials(r: &mut Reader<'_>) -> Option<AwsCredentialSource> {
    match (r.raw("AWS_ACCESS_KEY_ID"), r.raw("AWS_SECRET_ACCESS_KEY")) {
        (Some(access_key_id), Some(secret)) => Some(AwsCredentialSource::Environment {
            access_key_id,
            secret_access_key: SecretString::from(secret),
            session_token: r.raw("AWS_SESSION_TOKEN").map(SecretString::from),
        }),
        (Some(_), None) | (None, Some(_)) => {
            r.problems.push(
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (or neither, to use a profile of the shared credentials file)".into(),
            );
            None
        }
        (None, None) => {
            let file = match r.raw("AWS_SHARED_CREDENTIALS_FILE") {
                Some(path) => PathBuf::from(path),
                None => match r.raw("HOME") {
                    Some(home) => PathBuf::from(home).join(".aws").join("credentials"),
                    None => {
                        r.problems.push(
                            "MAIL_PROVIDERS lists ses but no AWS credentials are set: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_SHARED_CREDENTIALS_FILE".into(),
                        );
                        return None;
                    }
                },
            };
            let profile = r.raw("AWS_PROFILE").unwrap_or_else(|| "default".into());
            Some(AwsCredentialSource::Profile { file, profile })
        }
    }
}

fn sendgrid(r: &mut Reader<'_>) -> Option<SendGridSettings> {
    let api_key = r.raw("SENDGRID_API_KEY");
    if api_key.is_none() {
        r.problems.push(
            "MAIL_PROVIDERS lists sendgrid but SENDGRID_API_KEY is unset: create an API key with the Mail Send permission in SendGrid's settings".into(),
        );
    }
    let api_url = match r.optional_http_url("SENDGRID_API_URL", "https://api.sendgrid.com") {
        Some(url) => url,
        None => Url::parse("https://api.sendgrid.com").ok()?,
    };
    Some(SendGridSettings {
        api_key: SecretString::from(api_key?),
        api_url,
    })
}

impl Config {
    /// The providers mail is offered to, in order: `MAIL_PROVIDERS`, else `smtp` when
    /// `SMTP_URL` is set. Empty means the development log mailer.
    pub fn mail_providers(&self) -> Vec<MailProviderKind> {
        if !self.mail.providers.is_empty() {
            self.mail.providers.clone()
        } else if self.smtp_url.is_some() {
            vec![MailProviderKind::Smtp]
        } else {
            Vec::new()
        }
    }
}
