//! Reporting internal errors to Sentry (`SENTRY_DSN`, seed 003).
//!
//! What is reported: every 5xx answer (the middleware that logs it logs at error level, and
//! the tracing layer turns error logs into events), every panic (sentry's panic hook), and
//! error logs from background work (the mail worker, key refresh). Each request runs in its own
//! hub, made from this application's client, so the tags of one request (method, route
//! template, request id) never end up on another's event, and several applications in one
//! process (the tests) report to their own DSNs. Everything leaves through [`scrub`] first.
//!
//! [`scrub`]: super::scrub

use crate::config::ErrorReporting;
use secrecy::ExposeSecret;
use sentry::{ClientOptions, Hub, Scope};
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::filter::{filter_fn, LevelFilter};
use tracing_subscriber::Layer;

/// Log target for a log line whose error Sentry already has (a panic, reported with its stack
/// by the panic hook): it becomes a breadcrumb, not a second event.
pub const ALREADY_REPORTED: &str = "gatehouse::already_reported";

/// This application's Sentry client.
#[derive(Clone)]
pub struct ErrorReporter {
    client: Arc<sentry::Client>,
}

impl ErrorReporter {
    /// `None` when the DSN does not parse (the settings loader has already refused it).
    pub fn new(settings: &ErrorReporting) -> Option<Self> {
        let dsn = settings.dsn.expose_secret().parse().ok()?;
        // The transport's TLS needs a process-wide provider; `Err` means one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut options = ClientOptions::default();
        options.dsn = Some(dsn);
        options.release = Some(settings.release.clone().into());
        options.environment = settings.environment.clone().map(Into::into);
        // Never the IP address, cookies or user details: the scrubber would remove them, and
        // with this off the integrations do not collect them in the first place.
        options.send_default_pii = false;
        options.attach_stacktrace = true;
        options.before_send = Some(Arc::new(super::scrub::scrub_event));
        options.before_breadcrumb = Some(Arc::new(super::scrub::scrub_breadcrumb));
        options.max_breadcrumbs = 30;
        // The default integrations: the panic hook, stack traces, OS and runtime contexts, and
        // the HTTP transport.
        let options = sentry::apply_defaults(options);
        Some(Self {
            client: Arc::new(sentry::Client::from(options)),
        })
    }

    /// Makes this client the process's own, so reports from outside a request (background
    /// tasks, a panic on another thread) are sent too. `main` calls it; tests, which run many
    /// applications in one process, do not.
    pub fn bind_to_process(&self) {
        Hub::main().bind_client(Some(self.client.clone()));
    }

    /// A fresh hub for one request.
    pub fn request_hub(&self) -> Arc<Hub> {
        Arc::new(Hub::new(Some(self.client.clone()), Arc::new(Scope::default())))
    }

    /// Sends what is queued, waiting at most `timeout`; `false` if some was not sent in time.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.client.flush(Some(timeout))
    }
}

/// The tracing layers that turn error logs into Sentry events and info/warning logs into the
/// breadcrumbs sent with them. They report to the current hub, so they do nothing outside a
/// request of an application with a DSN and before [`ErrorReporter::bind_to_process`]. Debug
/// and trace events never reach them, so those cost nothing.
pub fn tracing_layer<S>() -> impl Layer<S> + Send + Sync
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer};
    use tracing::Level;
    let is_event =
        |md: &tracing::Metadata<'_>| md.is_event() && *md.level() == Level::ERROR && md.target() != ALREADY_REPORTED;
    let events = filter_fn(is_event).with_max_level_hint(LevelFilter::ERROR);
    let breadcrumbs = filter_fn(move |md| md.is_event() && *md.level() <= Level::INFO && !is_event(md))
        .with_max_level_hint(LevelFilter::INFO);
    ErrorLayer::new()
        .with_filter(events)
        .and_then(BreadcrumbLayer::new().with_filter(breadcrumbs))
}

/// Tags the request's scope with what an operator needs to find the request again: its method,
/// its route template (`/api/admin/users/{id}`, never the ids in the path) and `x-request-id`
/// (also in the problem body the client got, and in the log line).
pub fn tag_request(method: &str, route: Option<&str>, request_id: Option<&str>) {
    sentry::configure_scope(|scope| {
        scope.set_tag("http.method", method);
        if let Some(route) = route {
            scope.set_tag("http.route", route);
            scope.set_transaction(Some(&format!("{method} {route}")));
        }
        if let Some(id) = request_id {
            scope.set_tag("request_id", id);
        }
    });
}
