//! The store contract: every public operation of `gatehouse::store::Store`, run against a fresh
//! SQLite file and a fresh PostgreSQL database with the same assertions (`both!`, from `tests/common`).
//! One binary; each area of the store is a module.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod support;

mod accounts;
mod audit;
mod email_changes;
mod engine;
mod identities;
mod import;
mod keys;
mod lockout;
mod mfa;
mod outbox;
mod passkeys;
mod session_changes;
mod session_races;
mod sessions;
mod tokens;
mod user_listing;
mod users;
