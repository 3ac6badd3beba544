//! The rules of authentication. Handlers call one function here; SQL stays in `store/`.

pub mod account_deletion;
pub mod admin;
pub mod csrf;
pub mod devices;
pub mod email_change;
pub mod key_encryption;
pub mod keys;
pub mod lockout;
pub mod login;
pub mod mail_limit;
pub mod mfa;
pub mod oauth;
pub mod one_time;
pub mod passkeys;
pub mod password;
pub mod password_change;
pub mod profile;
pub mod reauthentication;
pub mod registration;
pub mod secrets;
pub mod services;
pub mod sessions;
pub mod tokens;
pub mod verification;
pub mod welcome;
