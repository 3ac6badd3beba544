//! Black-box tests of gatehouse over HTTP. One binary (one link step); each area is a module.

#[path = "../common/mod.rs"]
mod common;

mod account_deletion;
mod admin_actions;
mod admin_audit;
mod admin_cli;
mod admin_support;
mod admin_users;
mod audit_retention;
mod audit_trail;
mod cookie_mode;
mod cors;
mod email_change;
mod foundation_flow;
mod import;
mod instances;
mod legacy_hashes;
mod lockout;
mod login;
mod metrics;
mod mfa_enrol;
mod mfa_login;
mod mfa_otp;
mod mfa_step_up;
mod mfa_support;
mod new_device;
mod oauth;
mod oauth_facebook;
mod oauth_github;
mod operations;
mod outbox;
mod password_change;
mod password_reset;
mod rate_limits;
mod rate_limits_redis;
mod refresh;
mod registration;
mod roles;
mod sessions;
mod single_session;
mod social_support;
mod token_endpoint;
mod tokens;
mod usernames;
mod verification;
