//! Logging setup, called once by `main`: human-readable by default, JSON lines with
//! `LOG_FORMAT=json`; `RUST_LOG` filters (default `info`). With `SENTRY_DSN`, error logs also
//! become Sentry events ([`error_reporting`]).

pub mod error_reporting;
pub mod scrub;

use crate::config::LogFormat;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub fn init(format: LogFormat, report_errors: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let fmt = tracing_subscriber::fmt::layer().with_target(true);
    let fmt = match format {
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
        LogFormat::Pretty => fmt.boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(report_errors.then(error_reporting::tracing_layer))
        .try_init();
}
