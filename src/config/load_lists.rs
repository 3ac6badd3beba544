//! The settings that are lists or tables (URLs, networks, origins, rate limits, retention),
//! each parsed with the message that says what it must be.

use super::load::Reader;
use super::*;

pub(super) fn url_list(r: &mut Reader<'_>, key: &str) -> Vec<Url> {
    let mut urls = Vec::new();
    for item in r
        .raw(key)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        match Url::parse(item) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => urls.push(u),
            _ => r.problems.push(format!(
                "{key} must be a comma-separated list of absolute http(s) URLs (got {item:?})"
            )),
        }
    }
    urls
}

pub(super) fn rate_limits(
    r: &mut Reader<'_>,
    d: &crate::ratelimit::RateLimitSettings,
) -> crate::ratelimit::RateLimitSettings {
    let mut rate = |key: &str, default: Option<crate::ratelimit::Rate>| {
        r.parse(
            key,
            default,
            "a rate such as 5/minute, 3/hour, 100/day or 10/30s (at most 10000 per window), or off",
            |v| crate::ratelimit::Rate::parse(v).ok(),
        )
    };
    crate::ratelimit::RateLimitSettings {
        login: rate("RATE_LIMIT_LOGIN", d.login),
        register: rate("RATE_LIMIT_REGISTER", d.register),
        password_reset: rate("RATE_LIMIT_PASSWORD_RESET", d.password_reset),
        email: rate("RATE_LIMIT_EMAIL", d.email),
        mail_per_address: rate("RATE_LIMIT_MAIL_PER_ADDRESS", d.mail_per_address),
        per_ip: rate("RATE_LIMIT_PER_IP", d.per_ip),
    }
}

/// `10.0.0.0/8, 127.0.0.1, ::1` → networks (a bare address is a one-address network).
pub(super) fn parse_networks(raw: &str) -> Option<Vec<ipnet::IpNet>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .ok()
                .or_else(|| item.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
        })
        .collect()
}

/// `https://app.example.com, http://localhost:3000` → the origins as browsers send them.
pub(super) fn parse_origins(raw: &str) -> Option<Vec<String>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|o| {
            let url = Url::parse(o).ok()?;
            let plain = matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.path() == "/"
                && url.query().is_none()
                && url.username().is_empty();
            // `Url` adds a trailing slash; an Origin header never has one.
            plain.then(|| url.as_str().trim_end_matches('/').to_string())
        })
        .collect()
}

/// `AUDIT_RETENTION_DAYS`: `Some(None)` keeps events forever (`0`, `off`), `Some(Some(days))`.
pub(super) fn parse_retention_days(raw: &str) -> Option<Option<Duration>> {
    let raw = raw.trim().to_ascii_lowercase();
    if raw == "off" || raw == "0" {
        return Some(None);
    }
    let days: i64 = raw.parse().ok().filter(|d| (1..=36_500).contains(d))?;
    Some(Some(Duration::days(days)))
}
