//! What SES's and SendGrid's HTTP APIs share: one client per provider with the timeout, the
//! sender as both APIs want it, and how an answer is taken (accepted, try another provider,
//! or refused for good).

use super::MailError;
use lettre::message::Mailbox;
use reqwest::StatusCode;

pub(super) fn client(timeout: std::time::Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(5)))
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

pub(super) fn sender(from: &str) -> anyhow::Result<Mailbox> {
    from.parse()
        .map_err(|e| anyhow::anyhow!("MAIL_FROM is not a mailbox such as \"Acme <no-reply@acme.com>\": {e}"))
}

/// The recipient, or a permanent refusal: no provider can deliver to a malformed address.
pub(super) fn recipient(raw: &str) -> Result<lettre::Address, MailError> {
    raw.parse()
        .map_err(|e| MailError::Permanent(format!("the recipient {raw:?} is not an address: {e}")))
}

/// An error before any answer came: nothing was accepted, so another provider may try.
pub(super) fn unreachable(e: reqwest::Error) -> MailError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    MailError::Transient(format!("{what}: {e}"))
}

/// Takes an API's answer. 401/403 mean the credentials were refused: the mail is fine, so it
/// goes to the next provider (and `credentials_hint` names the settings to check). 408, 429
/// and 5xx are the provider's trouble too. Any other 4xx refuses this mail for good.
pub(super) fn answer(status: StatusCode, reason: String, credentials_hint: &str) -> Result<(), MailError> {
    match status.as_u16() {
        200..=299 => Ok(()),
        401 | 403 => Err(MailError::Transient(format!(
            "credentials refused ({status}): {reason}; check {credentials_hint}"
        ))),
        408 | 429 | 500..=599 => Err(MailError::Transient(format!("{status}: {reason}"))),
        _ => Err(MailError::Permanent(format!("{status}: {reason}"))),
    }
}

/// Enough of an error body to say what happened, without letting a provider fill the log.
pub(super) fn short(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &body[..i]),
        None => body.to_string(),
    }
}
