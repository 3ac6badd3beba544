//! SendGrid's v3 Web API: `POST /v3/mail/send` with the API key as a bearer token. It answers
//! `202 Accepted` once it has queued the mail; refusals come as `{"errors": [{"message",
//! "field"}]}`.

use super::{http_api, MailError, Mailer};
use crate::config::SendGridSettings;
use crate::store::OutboxMail;
use async_trait::async_trait;
use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

pub struct SendGridMailer {
    client: reqwest::Client,
    url: String,
    api_key: SecretString,
    from: Mailbox,
}

impl SendGridMailer {
    pub fn new(settings: &SendGridSettings, from: &str, timeout: std::time::Duration) -> anyhow::Result<Self> {
        Ok(Self {
            client: http_api::client(timeout)?,
            url: format!("{}/v3/mail/send", settings.api_url.as_str().trim_end_matches('/')),
            api_key: settings.api_key.clone(),
            from: http_api::sender(from)?,
        })
    }

    fn body(&self, to: &lettre::Address, mail: &OutboxMail) -> Value {
        let mut from = json!({ "email": self.from.email.to_string() });
        if let Some(name) = &self.from.name {
            from["name"] = json!(name);
        }
        json!({
            "personalizations": [{ "to": [{ "email": to.to_string() }] }],
            "from": from,
            "subject": mail.subject,
            // SendGrid requires text/plain before text/html.
            "content": [
                { "type": "text/plain", "value": mail.text_body },
                { "type": "text/html", "value": mail.html_body },
            ],
            "custom_args": { "gatehouse_mail_id": mail.id.to_string() },
            // Links in these mails are one-time secrets: no click-tracking redirect may see them.
            "tracking_settings": { "click_tracking": { "enable": false, "enable_text": false } },
        })
    }
}

/// The messages of SendGrid's `errors` list, or the body as it came.
fn reason(body: &str) -> String {
    let messages: Vec<String> = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("errors").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            let message = e.get("message")?.as_str()?;
            Some(match e.get("field").and_then(Value::as_str) {
                Some(field) => format!("{message} ({field})"),
                None => message.to_string(),
            })
        })
        .collect();
    if messages.is_empty() {
        http_api::short(body)
    } else {
        http_api::short(&messages.join("; "))
    }
}

#[async_trait]
impl Mailer for SendGridMailer {
    async fn send(&self, mail: &OutboxMail) -> Result<(), MailError> {
        let to = http_api::recipient(&mail.recipient)?;
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(self.api_key.expose_secret())
            .json(&self.body(&to, mail))
            .send()
            .await
            .map_err(http_api::unreachable)?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        http_api::answer(
            status,
            reason(&body),
            "SENDGRID_API_KEY (it needs the Mail Send permission)",
        )
    }

    fn describe(&self) -> &'static str {
        "sendgrid"
    }
}

#[cfg(test)]
mod tests {
    use super::reason;

    #[test]
    fn refusals_are_read_from_the_errors_list() {
        let body = r#"{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.0.to.0.email","help":null}]}"#;
        assert_eq!(
            reason(body),
            "Does not contain a valid address. (personalizations.0.to.0.email)"
        );
        assert_eq!(reason("upstream connect error"), "upstream connect error");
    }
}
