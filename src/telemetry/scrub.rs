//! What is taken out of an error report before it leaves the process. An event can carry a
//! request (headers, URL, body), log fields, messages and breadcrumbs; any of them may hold a
//! bearer token, a refresh cookie, a password, a reset token, an emailed code or a mail body.
//! Every free-text place is scrubbed, and every field whose name says "secret" is blanked, so a
//! careless log line later cannot leak through Sentry either.

use regex::{Captures, Regex};
use sentry::protocol::{Breadcrumb, Event, Request, Value};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// What a removed value is replaced with (Sentry's own marker).
pub const FILTERED: &str = "[Filtered]";

/// Request headers whose values are kept; every other header's value is replaced.
const SAFE_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "content-length",
    "content-type",
    "host",
    "origin",
    "user-agent",
    "x-forwarded-proto",
    "x-request-id",
];

/// Whether a field, header or parameter named `key` holds a secret (or a mail body).
pub fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace('-', "_");
    const PARTS: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "token",
        "authorization",
        "cookie",
        "csrf",
        "api_key",
        "apikey",
        "otp",
        "credential",
        "session",
        "recovery",
        "signature",
        "dsn",
    ];
    PARTS.iter().any(|p| key.contains(p))
        || key == "code"
        || (key.ends_with("_code") && key != "status_code")
        || matches!(
            key.as_str(),
            "body" | "html" | "text" | "html_body" | "text_body" | "data"
        )
}

/// Compiles one of the constant patterns below. They are literals, so one that does not compile
/// is a programming error that every scrubber test hits at once; failing there is right.
#[allow(clippy::expect_used)]
fn pattern(re: &str) -> Regex {
    Regex::new(re).expect("the scrubber's patterns are valid")
}

static BEARER: LazyLock<Regex> = LazyLock::new(|| pattern(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"));
static JWT: LazyLock<Regex> = LazyLock::new(|| pattern(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"));
/// `key=value` (query strings, cookies, log lines) and `"key": "value"` (JSON) pairs.
static PAIR: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r#"(?i)(?P<key>"?[a-z0-9_-]+"?)(?P<sep>\s*[=:]\s*)(?P<value>"(?:[^"\\]|\\.)*"|[^\s&;,"']+)"#)
});
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"));
/// Long opaque strings (refresh tokens, reset tokens, hashes): 32 or more URL-safe characters.
static OPAQUE: LazyLock<Regex> = LazyLock::new(|| pattern(r"[A-Za-z0-9_-]{32,}"));
static UUID: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"));

/// Free text with every credential-looking part replaced: bearer and basic credentials, JWTs,
/// values of secret-named pairs, mail addresses and long opaque tokens (ids that are UUIDs are
/// kept: they are what an operator searches the logs for).
pub fn scrub_text(text: &str) -> String {
    let text = BEARER.replace_all(text, |c: &Captures| format!("{} {FILTERED}", &c[1]));
    let text = JWT.replace_all(&text, FILTERED);
    let text = PAIR.replace_all(&text, |c: &Captures| {
        if is_sensitive_key(c["key"].trim_matches('"')) {
            let quoted = c["value"].starts_with('"');
            let value = if quoted {
                format!("\"{FILTERED}\"")
            } else {
                FILTERED.to_string()
            };
            format!("{}{}{value}", &c["key"], &c["sep"])
        } else {
            c[0].to_string()
        }
    });
    let text = EMAIL.replace_all(&text, "[email]");
    OPAQUE
        .replace_all(&text, |c: &Captures| {
            if UUID.is_match(&c[0]) {
                c[0].to_string()
            } else {
                FILTERED.to_string()
            }
        })
        .into_owned()
}

/// A free-form value (log fields, extra data): secret-named members are blanked, strings
/// scrubbed, nested objects and arrays walked.
pub fn scrub_value(value: &mut Value) {
    match value {
        Value::String(s) => *s = scrub_text(s),
        Value::Array(items) => items.iter_mut().for_each(scrub_value),
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_sensitive_key(key) {
                    *v = Value::String(FILTERED.into());
                } else {
                    scrub_value(v);
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn scrub_map(map: &mut BTreeMap<String, Value>) {
    for (key, v) in map.iter_mut() {
        if is_sensitive_key(key) {
            *v = Value::String(FILTERED.into());
        } else {
            scrub_value(v);
        }
    }
}

/// The URL's path is kept; every query value is replaced (a reset link's token, a code…).
fn scrub_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) => format!("{key}={FILTERED}"),
            None => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn scrub_request(request: &mut Request) {
    if let Some(url) = request.url.as_mut() {
        let _ = url.set_username("");
        let _ = url.set_password(None);
        if let Some(query) = url.query().map(scrub_query) {
            url.set_query(Some(&query));
        }
        url.set_fragment(None);
    }
    request.query_string = request.query_string.as_deref().map(scrub_query);
    request.data = None;
    request.cookies = None;
    request.env.clear();
    for (name, value) in request.headers.iter_mut() {
        if !SAFE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            *value = FILTERED.into();
        } else {
            *value = scrub_text(value);
        }
    }
}

fn scrub_breadcrumb_in_place(crumb: &mut Breadcrumb) {
    crumb.message = crumb.message.as_deref().map(scrub_text);
    scrub_map(&mut crumb.data);
}

/// The `before_breadcrumb` hook: breadcrumbs (info and warning logs) are scrubbed as events are.
pub fn scrub_breadcrumb(mut crumb: Breadcrumb) -> Option<Breadcrumb> {
    scrub_breadcrumb_in_place(&mut crumb);
    Some(crumb)
}

/// The `before_send` hook: the event with every secret removed. Nothing about the user but
/// the id is kept (no address, no IP).
pub fn scrub_event(mut event: Event<'static>) -> Option<Event<'static>> {
    event.message = event.message.as_deref().map(scrub_text);
    if let Some(entry) = event.logentry.as_mut() {
        entry.message = scrub_text(&entry.message);
        entry.params.iter_mut().for_each(scrub_value);
    }
    for exception in event.exception.values.iter_mut() {
        exception.value = exception.value.as_deref().map(scrub_text);
        if let Some(stack) = exception.stacktrace.as_mut() {
            stack.frames.iter_mut().for_each(|f| scrub_map(&mut f.vars));
        }
    }
    if let Some(request) = event.request.as_mut() {
        scrub_request(request);
    }
    if let Some(user) = event.user.as_mut() {
        user.email = None;
        user.ip_address = None;
        user.username = None;
        scrub_map(&mut user.other);
    }
    scrub_map(&mut event.extra);
    for (key, value) in event.tags.iter_mut() {
        *value = if is_sensitive_key(key) {
            FILTERED.into()
        } else {
            scrub_text(value)
        };
    }
    for context in event.contexts.values_mut() {
        if let sentry::protocol::Context::Other(map) = context {
            scrub_map(map);
        }
    }
    for crumb in event.breadcrumbs.values.iter_mut() {
        scrub_breadcrumb_in_place(crumb);
    }
    event.culprit = event.culprit.as_deref().map(scrub_text);
    Some(event)
}

#[cfg(test)]
#[path = "scrub_tests.rs"]
mod tests;
