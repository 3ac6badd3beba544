//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.
//!
//! Decision: `prometheus-client` with one [`Registry`] per [`crate::AppState`], rather than the
//! `metrics` facade with its process-global recorder that DESIGN.md names. A global recorder
//! would mix the counters of every server in one process (each test spawns its own), and the
//! registry keeps all metric names and help texts in this one file.
//!
//! Labels only ever hold bounded values: the matched route *template* (`/api/admin/users/{id}`,
//! never the raw path, which anyone can vary), a known HTTP method or `other`, the status code.
//! Requests that match no route share the route label `unmatched`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    /// `success` or `failure`.
    outcome: &'static str,
    /// How the user signed in: `pwd`, `email`, `fed`, `mfa` ...
    method: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    /// `login`, `register`, `password_reset`, `email` or `per_ip` (see `RATE_LIMIT_*`).
    limit: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MailLabels {
    /// `smtp`, `ses`, `sendgrid` or `log`.
    provider: &'static str,
    /// `accepted`, `failed` (try another provider or later) or `refused` (for good).
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: &'static str,
}

/// 1 ms to ~16 s: an Argon2 login sits around 50–100 ms, everything else well under 10 ms.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    logins: Family<LoginLabels, Counter>,
    /// Always exposed, 0 until the first refusal (an empty family is not printed at all).
    rate_limited_total: Counter,
    rate_limited: Family<LimitLabels, Counter>,
    outbox_depth: Gauge,
    outbox_failed: Gauge,
    auth_cache_current: Gauge,
    mail_attempts: Family<MailLabels, Counter>,
    mail_latency: Family<ProviderLabels, Histogram, fn() -> Histogram>,
    audit_events_removed: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("gatehouse");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let logins = Family::<LoginLabels, Counter>::default();
        let rate_limited_total = Counter::default();
        let rate_limited = Family::<LimitLabels, Counter>::default();
        let outbox_depth = Gauge::default();
        let outbox_failed = Gauge::default();
        let auth_cache_current = Gauge::default();
        let mail_attempts = Family::<MailLabels, Counter>::default();
        let mail_latency = Family::<ProviderLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let audit_events_removed = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            latency.clone(),
        );
        registry.register(
            "logins",
            "Sign-in attempts by outcome and method (pwd, email, fed, mfa)",
            logins.clone(),
        );
        registry.register(
            "rate_limited_requests",
            "Requests refused by a rate limit",
            rate_limited_total.clone(),
        );
        registry.register(
            "rate_limited_requests_by_limit",
            "Requests refused by a rate limit, by which limit (RATE_LIMIT_LOGIN → login, ...)",
            rate_limited.clone(),
        );
        registry.register(
            "outbox_depth",
            "Mails waiting in the outbox (read when scraped)",
            outbox_depth.clone(),
        );
        registry.register(
            "outbox_failed",
            "Mails a provider refused for good, kept with the reason (read when scraped)",
            outbox_failed.clone(),
        );
        registry.register(
            "auth_cache_current",
            "1 while access tokens are checked from memory (the change feed is current), 0 while every request reads the database",
            auth_cache_current.clone(),
        );
        registry.register(
            "mail_attempts",
            "Mails offered to a provider, by provider and outcome (accepted, failed: try another or later, refused: for good)",
            mail_attempts.clone(),
        );
        registry.register(
            "mail_send_duration_seconds",
            "Time a provider took to answer a mail (timeouts included), by provider",
            mail_latency.clone(),
        );
        registry.register(
            "audit_events_removed",
            "Audit events removed by the retention job",
            audit_events_removed.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            logins,
            rate_limited_total,
            rate_limited,
            outbox_depth,
            outbox_failed,
            auth_cache_current,
            mail_attempts,
            mail_latency,
            audit_events_removed,
        }
    }

    /// Counts one answered request. `route` must be a route template (or `unmatched`).
    pub fn request(&self, method: &axum::http::Method, route: &str, status: u16, elapsed: Duration) {
        let method = bounded_method(method);
        let route = interned(route);
        let code = axum::http::StatusCode::from_u16(status).ok();
        let status = interned(code.as_ref().map_or("other", axum::http::StatusCode::as_str));
        self.requests
            .get_or_create(&RequestLabels { method, route, status })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(elapsed.as_secs_f64());
    }

    /// A sign-in that produced a session; `method` is the first `amr` entry.
    pub fn login_succeeded(&self, method: &str) {
        self.login(true, method);
    }

    /// A sign-in refused (wrong password or code, disabled or unconfirmed account).
    pub fn login_failed(&self, method: &str) {
        self.login(false, method);
    }

    fn login(&self, ok: bool, method: &str) {
        self.logins
            .get_or_create(&LoginLabels {
                outcome: if ok { "success" } else { "failure" },
                method: method.to_string(),
            })
            .inc();
    }

    /// A request refused by a rate limit; `limit` names it (`login`, `per_ip`, ...).
    pub fn rate_limited(&self, limit: &str) {
        self.rate_limited_total.inc();
        self.rate_limited
            .get_or_create(&LimitLabels {
                limit: limit.to_string(),
            })
            .inc();
    }

    /// One mail offered to one provider, and how long the provider took to answer.
    pub fn mail_attempt(&self, provider: &'static str, outcome: &'static str, elapsed: Duration) {
        self.mail_attempts
            .get_or_create(&MailLabels { provider, outcome })
            .inc();
        self.mail_latency
            .get_or_create(&ProviderLabels { provider })
            .observe(elapsed.as_secs_f64());
    }

    pub fn audit_events_removed(&self, n: u64) {
        self.audit_events_removed.inc_by(n);
    }

    /// The text exposition, with the outbox's counts read just now by the caller.
    pub fn render(
        &self,
        outbox_depth: i64,
        outbox_failed: i64,
        auth_cache_current: bool,
    ) -> Result<String, std::fmt::Error> {
        self.outbox_depth.set(outbox_depth);
        self.auth_cache_current.set(i64::from(auth_cache_current));
        self.outbox_failed.set(outbox_failed);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Label values from a bounded set (route templates, status codes) kept once for the process,
/// so counting a request allocates nothing.
fn interned(value: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{OnceLock, RwLock};
    static SEEN: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if let Some(v) = seen.read().unwrap_or_else(|e| e.into_inner()).get(value) {
        return v;
    }
    let mut seen = seen.write().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = seen.get(value) {
        return v;
    }
    let leaked: &'static str = Box::leak(value.to_string().into_boxed_str());
    seen.insert(leaked);
    leaked
}

/// Standard methods by name; anything else (extension methods are unbounded) is `other`.
fn bounded_method(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_bounded_labels() {
        let m = Metrics::new();
        m.request(
            &axum::http::Method::from_bytes(b"BREW").unwrap(),
            "/api/auth/login",
            401,
            Duration::from_millis(3),
        );
        m.login_failed("pwd");
        let text = m.render(7, 0, false).unwrap();
        assert!(
            text.contains(r#"gatehouse_http_requests_total{method="other",route="/api/auth/login",status="401"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"gatehouse_logins_total{outcome="failure",method="pwd"} 1"#),
            "{text}"
        );
        assert!(text.contains("gatehouse_outbox_depth 7"), "{text}");
        assert!(text.contains("gatehouse_rate_limited_requests_total 0"), "{text}");
    }
}
