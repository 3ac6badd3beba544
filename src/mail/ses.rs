//! Amazon SES through its v2 API (`SendEmail`, `POST /v2/email/outbound-emails`), signed with
//! Signature Version 4 by AWS's own signer crate. Credentials come from `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, or from a profile of the shared credentials
//! file, which is read again for each mail so that rotated keys are picked up.

use super::{http_api, MailError, Mailer};
use crate::config::{AwsCredentialSource, SesSettings};
use crate::store::OutboxMail;
use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use base64::Engine;
use lettre::message::Mailbox;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

pub struct SesMailer {
    client: reqwest::Client,
    url: String,
    host: String,
    region: String,
    credentials: AwsCredentialSource,
    from: String,
    configuration_set: Option<String>,
}

/// SES errors about the sending account rather than the mail: another provider can send it.
const ACCOUNT_ERRORS: &[&str] = &[
    "AccountSuspendedException",
    "SendingPausedException",
    "MailFromDomainNotVerifiedException",
    "NotFoundException",
    "LimitExceededException",
    "TooManyRequestsException",
];

impl SesMailer {
    /// Fails at start if the credentials cannot be found, rather than at the first mail.
    pub fn new(settings: &SesSettings, from: &str, timeout: std::time::Duration) -> anyhow::Result<Self> {
        let url = url::Url::parse(&format!(
            "{}/v2/email/outbound-emails",
            settings.endpoint.as_str().trim_end_matches('/')
        ))?;
        let host = url[url::Position::BeforeHost..url::Position::AfterPort].to_string();
        let mailer = Self {
            client: http_api::client(timeout)?,
            url: url.to_string(),
            host,
            region: settings.region.clone(),
            credentials: settings.credentials.clone(),
            from: header_mailbox(&http_api::sender(from)?),
            configuration_set: settings.configuration_set.clone(),
        };
        mailer.credentials().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(mailer)
    }

    fn credentials(&self) -> Result<Credentials, String> {
        match &self.credentials {
            AwsCredentialSource::Environment {
                access_key_id,
                secret_access_key,
                session_token,
            } => Ok(Credentials::new(
                access_key_id,
                secret_access_key.expose_secret(),
                session_token.as_ref().map(|t| t.expose_secret().to_string()),
                None,
                "environment",
            )),
            AwsCredentialSource::Profile { file, profile } => profile_credentials(file, profile),
        }
    }

    fn body(&self, to: &lettre::Address, mail: &OutboxMail) -> Value {
        let part = |data: &str| json!({ "Data": data, "Charset": "UTF-8" });
        let mut body = json!({
            "FromEmailAddress": self.from,
            "Destination": { "ToAddresses": [to.to_string()] },
            "Content": { "Simple": {
                "Subject": part(&mail.subject),
                "Body": { "Text": part(&mail.text_body), "Html": part(&mail.html_body) },
            }},
            "EmailTags": [{ "Name": "gatehouse_mail_id", "Value": mail.id.to_string() }],
        });
        if let Some(set) = &self.configuration_set {
            body["ConfigurationSetName"] = json!(set);
        }
        body
    }

    /// The SigV4 headers (`Authorization`, `X-Amz-Date`, `X-Amz-Security-Token`) for `body`.
    fn signature(&self, body: &[u8]) -> Result<Vec<(String, String)>, MailError> {
        let credentials = self.credentials().map_err(MailError::Transient)?;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("ses")
            .time(std::time::SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| MailError::Transient(format!("could not sign the request: {e}")))?
            .into();
        let headers = [("host", self.host.as_str()), ("content-type", "application/json")];
        let request = SignableRequest::new(
            "POST",
            self.url.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| MailError::Transient(format!("could not sign the request: {e}")))?;
        let (instructions, _) = sign(request, &params)
            .map_err(|e| MailError::Transient(format!("could not sign the request: {e}")))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect())
    }
}

/// A profile of the shared credentials file (`[name]` sections with `aws_access_key_id`,
/// `aws_secret_access_key` and optionally `aws_session_token`).
fn profile_credentials(file: &std::path::Path, profile: &str) -> Result<Credentials, String> {
    let hint = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE / AWS_SHARED_CREDENTIALS_FILE";
    let ini = ini::Ini::load_from_file(file).map_err(|e| {
        format!(
            "no AWS credentials for SES: {} cannot be read ({e}); {hint}",
            file.display()
        )
    })?;
    let section = ini.section(Some(profile)).ok_or_else(|| {
        format!(
            "no AWS credentials for SES: {} has no [{profile}] profile; {hint}",
            file.display()
        )
    })?;
    match (section.get("aws_access_key_id"), section.get("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok(Credentials::new(
            id.trim(),
            secret.trim(),
            section.get("aws_session_token").map(|t| t.trim().to_string()),
            None,
            "profile",
        )),
        _ => Err(format!(
            "no AWS credentials for SES: the [{profile}] profile of {} lacks aws_access_key_id or aws_secret_access_key; {hint}",
            file.display()
        )),
    }
}

/// `Name <address>` as a mail header wants it: a quoted name when it is ASCII, an RFC 2047
/// encoded word otherwise (SES refuses raw non-ASCII in `FromEmailAddress`).
fn header_mailbox(mailbox: &Mailbox) -> String {
    match &mailbox.name {
        None => mailbox.email.to_string(),
        Some(name) if name.is_ascii() => {
            let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{quoted}\" <{}>", mailbox.email)
        }
        Some(name) => format!(
            "=?UTF-8?B?{}?= <{}>",
            base64::engine::general_purpose::STANDARD.encode(name),
            mailbox.email
        ),
    }
}

/// SES's error name (`x-amzn-ErrorType: MessageRejected:http://...`) and message.
fn error_of(error_type: Option<&str>, body: &str) -> (String, String) {
    let name = error_type
        .and_then(|t| t.split(':').next())
        .map(str::to_string)
        .or_else(|| {
            let v: Value = serde_json::from_str(body).ok()?;
            Some(v.get("__type")?.as_str()?.rsplit('#').next()?.to_string())
        })
        .unwrap_or_default();
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("Message"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| http_api::short(body));
    (name, message)
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &OutboxMail) -> Result<(), MailError> {
        let to = http_api::recipient(&mail.recipient)?;
        let body = serde_json::to_vec(&self.body(&to, mail))
            .map_err(|e| MailError::Permanent(format!("could not encode the mail: {e}")))?;
        let mut request = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in self.signature(&body)? {
            request = request.header(name, value);
        }
        let response = request.body(body).send().await.map_err(http_api::unreachable)?;
        let status = response.status();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(());
        }
        let (name, message) = error_of(error_type.as_deref(), &text);
        let reason = if name.is_empty() {
            message
        } else {
            format!("{name}: {message}")
        };
        if ACCOUNT_ERRORS.contains(&name.as_str()) {
            return Err(MailError::Transient(format!("{status}: {reason}")));
        }
        http_api::answer(
            status,
            reason,
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the key needs ses:SendEmail) and SES_REGION",
        )
    }

    fn describe(&self) -> &'static str {
        "ses"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_is_quoted_or_encoded() {
        let plain: Mailbox = "Acme Ltd <no-reply@acme.com>".parse().unwrap();
        assert_eq!(header_mailbox(&plain), "\"Acme Ltd\" <no-reply@acme.com>");
        let bangla: Mailbox = "গেটহাউস <no-reply@acme.com>".parse().unwrap();
        assert!(header_mailbox(&bangla).starts_with("=?UTF-8?B?"));
        let bare: Mailbox = "no-reply@acme.com".parse().unwrap();
        assert_eq!(header_mailbox(&bare), "no-reply@acme.com");
    }

    #[test]
    fn errors_are_named_from_the_header_or_the_body() {
        let (name, message) = error_of(
            Some("MessageRejected:http://internal.amazon.com/coral/com.amazonaws.sesv2/"),
            r#"{"message":"Email address is not verified."}"#,
        );
        assert_eq!(
            (name.as_str(), message.as_str()),
            ("MessageRejected", "Email address is not verified.")
        );
        let (name, _) = error_of(
            None,
            r#"{"__type":"com.amazonaws#SendingPausedException","message":"x"}"#,
        );
        assert_eq!(name, "SendingPausedException");
    }

    #[test]
    fn a_profile_is_read_from_the_credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        std::fs::write(
            &file,
            "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n[mail]\naws_access_key_id=AKIDMAIL\naws_secret_access_key=s2\naws_session_token=t\n",
        )
        .unwrap();
        let c = profile_credentials(&file, "mail").unwrap();
        assert_eq!(c.access_key_id(), "AKIDMAIL");
        assert_eq!(c.session_token(), Some("t"));
        assert_eq!(
            profile_credentials(&file, "default").unwrap().access_key_id(),
            "AKIDDEFAULT"
        );
        let missing = profile_credentials(&file, "other").unwrap_err();
        assert!(
            missing.contains("[other]") && missing.contains("AWS_PROFILE"),
            "{missing}"
        );
    }
}
