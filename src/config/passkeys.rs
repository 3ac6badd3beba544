//! Settings of passkeys (WebAuthn): who the relying party is and which web origins may use it.
//!
//! A passkey is bound to its RP ID, a domain: browsers only use it on pages whose host is that
//! domain or under it, and only if the page's origin is listed here. Changing the RP ID later
//! orphans every passkey registered under the old one, so it defaults to the most stable
//! choice, `PUBLIC_URL`'s host, and can be set to a parent domain (`example.com`) so that
//! `auth.example.com` and `app.example.com` share passkeys.

use super::load::Reader;
use super::load_lists::parse_origins;
use url::Url;

#[derive(Debug, Clone)]
pub struct PasskeySettings {
    /// `PASSKEY_RP_ID`: the domain passkeys are bound to. Default: `PUBLIC_URL`'s host.
    pub rp_id: String,
    /// `PASSKEY_RP_NAME`: the name the browser shows when a passkey is created. Default: `APP_NAME`.
    pub rp_name: String,
    /// `PASSKEY_ORIGINS`: the origins whose pages may register and use passkeys (the hosted
    /// pages' and a front end's). Default: `PUBLIC_URL`'s origin.
    pub origins: Vec<Url>,
}

impl PasskeySettings {
    pub fn from_public_url(public_url: &Url, app_name: &str) -> Self {
        Self {
            rp_id: public_url.host_str().unwrap_or("localhost").to_string(),
            rp_name: app_name.to_string(),
            origins: vec![origin_of(public_url)],
        }
    }
}

fn origin_of(url: &Url) -> Url {
    let mut origin = url.clone();
    origin.set_path("/");
    origin.set_query(None);
    origin.set_fragment(None);
    origin
}

/// Whether `host` is `rp_id` or a name under it: the only origins a browser lets use the RP ID.
fn is_within(host: &str, rp_id: &str) -> bool {
    host == rp_id || host.strip_suffix(rp_id).is_some_and(|rest| rest.ends_with('.'))
}

pub(super) fn passkey_settings(r: &mut Reader<'_>, public_url: &Url, app_name: &str) -> PasskeySettings {
    let d = PasskeySettings::from_public_url(public_url, app_name);
    let rp_id = r.parse(
        "PASSKEY_RP_ID",
        d.rp_id,
        "a domain name without scheme, port or path, such as example.com (PUBLIC_URL's host or a parent of it)",
        |v| {
            let v = v.trim().trim_end_matches('.').to_ascii_lowercase();
            let plain = !v.is_empty()
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && !v.starts_with('.');
            plain.then_some(v)
        },
    );
    let rp_name = r.parse(
        "PASSKEY_RP_NAME",
        d.rp_name,
        "a name of 1 to 60 characters without control characters, such as Acme",
        |v| {
            let v = v.trim();
            (!v.is_empty() && v.chars().count() <= 60 && !v.chars().any(char::is_control)).then(|| v.to_string())
        },
    );
    let origins = r.parse(
        "PASSKEY_ORIGINS",
        d.origins,
        "a comma-separated list of origins such as https://auth.example.com,https://app.example.com (scheme, host and port only)",
        |v| {
            parse_origins(v)
                .filter(|list| !list.is_empty())
                .and_then(|list| list.iter().map(|o| Url::parse(o).ok()).collect())
        },
    );
    for origin in &origins {
        let host = origin.host_str().unwrap_or_default();
        if !is_within(host, &rp_id) {
            r.problems.push(format!(
                "PASSKEY_ORIGINS lists {} but its host is not PASSKEY_RP_ID ({rp_id}) or under it, so browsers would refuse passkeys there: set PASSKEY_RP_ID to a domain both share, or remove the origin",
                origin.as_str().trim_end_matches('/')
            ));
        }
        let secure = origin.scheme() == "https" || matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        if !secure {
            r.problems.push(format!(
                "PASSKEY_ORIGINS lists {}: browsers offer passkeys only on https pages (and on http://localhost); use its https origin",
                origin.as_str().trim_end_matches('/')
            ));
        }
    }
    PasskeySettings {
        rp_id,
        rp_name,
        origins,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::config::{Config, ConfigError};

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_follow_public_url_and_app_name() {
        let c = load(&[("PUBLIC_URL", "http://localhost:8080/"), ("APP_NAME", "Acme")]).unwrap();
        assert_eq!(c.passkeys.rp_id, "localhost");
        assert_eq!(c.passkeys.rp_name, "Acme");
        let origins: Vec<&str> = c.passkeys.origins.iter().map(|o| o.as_str()).collect();
        assert_eq!(origins, ["http://localhost:8080/"]);
    }

    #[test]
    fn a_parent_domain_covers_sibling_origins() {
        let c = load(&[
            ("PUBLIC_URL", "https://auth.example.com"),
            ("MAIL_LOG_ONLY", "true"),
            ("PASSKEY_RP_ID", "Example.com"),
            ("PASSKEY_ORIGINS", "https://auth.example.com, https://app.example.com"),
        ])
        .unwrap();
        assert_eq!(c.passkeys.rp_id, "example.com");
        assert_eq!(c.passkeys.origins.len(), 2);
    }

    #[test]
    fn an_origin_outside_the_rp_id_or_in_clear_text_is_refused_with_what_to_do() {
        let e = load(&[
            ("PUBLIC_URL", "https://auth.example.com"),
            ("MAIL_LOG_ONLY", "true"),
            (
                "PASSKEY_ORIGINS",
                "https://auth.example.com,https://evil-example.com,http://auth.example.com",
            ),
        ])
        .unwrap_err();
        let text = e.0.join("\n");
        assert!(
            text.contains("https://evil-example.com but its host is not PASSKEY_RP_ID (auth.example.com)"),
            "{text}"
        );
        assert!(
            text.contains("http://auth.example.com: browsers offer passkeys only on https pages"),
            "{text}"
        );
    }
}
