//! Black-box tests of gatehouse over HTTP. One binary (one link step); each area is a module.

#[path = "../common/mod.rs"]
mod common;

mod foundation_flow;
mod instances;
mod login;
mod operations;
mod outbox;
mod refresh;
mod tokens;
