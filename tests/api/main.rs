//! Black-box tests of gatehouse over HTTP. One binary (one link step); each area is a module.

#[path = "../common/mod.rs"]
mod common;

mod foundation_flow;
mod import;
mod password_change;
mod password_reset;
mod registration;
mod sessions;
mod verification;
