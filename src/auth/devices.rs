//! Sign-ins from new devices (seed 003 "device tracking"): each session's `User-Agent` is
//! reduced to a device label ("Chrome on Windows 10", "PhoneApp"), and a sign-in whose label
//! none of the user's recent sessions had is mailed to them (`NEW_DEVICE_ALERTS`), with when,
//! from which IP and how. The owner learns of a stolen password the first time it is used.
//!
//! Labels leave versions out on purpose: a browser update is not a new device. The first
//! sign-in of an account is not announced (there is nothing to compare with), and neither is a
//! sign-in with no `User-Agent` after one without.

use crate::auth::services::Services;
use crate::client::ClientInfo;
use crate::mail::templates::Template;
use crate::store::UserRecord;
use std::sync::LazyLock;
use uuid::Uuid;

/// How many earlier sessions count as "recent devices".
const RECENT_SESSIONS: i64 = 50;

static PARSER: LazyLock<woothee::parser::Parser> = LazyLock::new(woothee::parser::Parser::new);

/// A short, version-free name for the device a `User-Agent` describes.
pub fn label(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return "an unnamed device".into();
    };
    let known = |v: &str| !v.is_empty() && v != woothee::woothee::VALUE_UNKNOWN;
    if let Some(parsed) = PARSER.parse(ua) {
        match (known(parsed.name), known(parsed.os)) {
            (true, true) => return format!("{} on {}", parsed.name, parsed.os),
            (true, false) => return parsed.name.to_string(),
            _ => {}
        }
    }
    // An app's own agent ("PhoneApp/2.0 (iOS)", "okhttp/4.12"): its product name.
    let product: String = ua
        .split(['/', ' ', ';', '('])
        .next()
        .unwrap_or(ua)
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    if product.is_empty() {
        "an unnamed device".into()
    } else {
        product
    }
}

/// Mails `user` if `session` came from a device none of their recent sessions came from.
pub async fn alert_if_new(state: &Services, user: &UserRecord, session: Uuid, client: &ClientInfo, method: &str) {
    if !state.config.new_device_alerts {
        return;
    }
    if let Err(e) = alert(state, user, session, client, method).await {
        // The sign-in itself succeeded; a missing alert must not undo it.
        tracing::warn!(error = %format!("{e:#}"), user_id = %user.id, "could not queue the new-device sign-in mail");
    }
}

async fn alert(
    state: &Services,
    user: &UserRecord,
    session: Uuid,
    client: &ClientInfo,
    method: &str,
) -> anyhow::Result<()> {
    let earlier = state
        .store
        .sessions()
        .earlier_user_agents(user.id, session, RECENT_SESSIONS)
        .await?;
    if earlier.is_empty() {
        return Ok(());
    }
    let current = client.user_agent.as_deref();
    if earlier.iter().any(|ua| ua.as_deref() == current) {
        return Ok(());
    }
    let device = label(current);
    let distinct: std::collections::HashSet<Option<&str>> = earlier.iter().map(Option::as_deref).collect();
    if distinct.into_iter().any(|ua| label(ua) == device) {
        return Ok(());
    }
    let cfg = &state.config;
    let name = user.first_name.clone().unwrap_or_default();
    let when = crate::mail::templates::mail_time(state.now());
    let ip = client.ip.clone().unwrap_or_else(|| "an unknown address".into());
    let mail = state.outbox.render(
        Template::NewDeviceSignIn,
        &[
            ("app", &cfg.app_name),
            ("name", &name),
            ("device", &device),
            ("ip", &ip),
            ("when", &when),
            ("method", method),
        ],
    );
    state.outbox.enqueue(&user.email, mail).await
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn browsers_are_named_without_versions() {
        let chrome_120 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        let chrome_121 = chrome_120.replace("Chrome/120.0.0.0", "Chrome/121.0.6167.85");
        assert_eq!(label(Some(chrome_120)), label(Some(&chrome_121)));
        assert!(
            label(Some(chrome_120)).contains("Chrome"),
            "{}",
            label(Some(chrome_120))
        );
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_ne!(label(Some(chrome_120)), label(Some(firefox)));
    }

    #[test]
    fn apps_are_named_by_their_product() {
        assert_eq!(label(Some("PhoneApp/2.0 (iOS 17)")), "PhoneApp");
        assert_eq!(label(Some("okhttp/4.12.0")), "okhttp");
        assert_eq!(label(None), "an unnamed device");
        assert_eq!(label(Some("   ")), "an unnamed device");
    }
}
