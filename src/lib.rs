//! gatehouse: an authentication server. See README.md for what it does and how to run it, and
//! `../shared/DESIGN.md` / `docs/` for the decisions behind it.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod audit;
pub mod auth;
pub mod client;
pub mod clock;
pub mod config;
pub mod dns;
pub mod domain;
pub mod error;
pub mod http;
pub mod import;
pub mod mail;
pub mod metrics;
pub mod ratelimit;
pub mod store;
pub mod telemetry;

pub use app::{AppState, Application, Dependencies};
pub use config::Config;
