//! Failed-login lockout (issue 5, seed 004): after `LOCKOUT_THRESHOLD` (5) consecutive failed
//! sign-ins the account is locked for `LOCKOUT_DURATION` (30 min), its owner gets a mail with
//! an unlock link, and a successful sign-in clears the count.
//!
//! Lockout is a denial-of-service tool in an attacker's hands, so it is built so that nobody can
//! keep a victim out:
//! - Failures are counted per account **and IP** first: five wrong passwords from one address
//!   lock that address out of the account, not the owner signing in from elsewhere. Only
//!   `LOCKOUT_ACCOUNT_THRESHOLD` (20) failures from all addresses together lock the account for
//!   everyone (a distributed guessing attack), and that lock, too, ends by itself.
//! - The unlock link in the mail ends every lock on the account at once, so the owner never has
//!   to wait for the period to pass.
//! - While locked, passwords are not checked at all, so guessing during a lock learns nothing.
//!
//! Failures are counted under a keyed hash of the name tried, for unknown and real accounts
//! alike, so a locked answer does not reveal whether an account exists, nor which username
//! and address belong together. Only real owners get mail.

use crate::audit::{self, EventKind, Outcome};
use crate::auth::one_time;
use crate::auth::secrets::OpaqueToken;
use crate::auth::services::Services;
use crate::client::ClientInfo;
use crate::domain::{Email, Username};
use crate::error::{Error, Result};
use crate::mail::templates::Template;
use crate::ratelimit::Limit;
use crate::store::{LoginFailure, TokenPurpose, UserRecord};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockoutSettings {
    /// `LOCKOUT_THRESHOLD`: consecutive failures from one IP that lock it out of an account.
    pub threshold: u32,
    /// `LOCKOUT_ACCOUNT_THRESHOLD`: failures from all IPs that lock the account for everyone.
    pub account_threshold: u32,
    /// `LOCKOUT_DURATION`: how long a lock lasts (and how long a failure is remembered).
    pub duration: Duration,
}

impl Default for LockoutSettings {
    fn default() -> Self {
        Self {
            threshold: 5,
            account_threshold: 20,
            duration: Duration::minutes(30),
        }
    }
}

/// What failures are counted under: a keyed hash of the name that was typed (an address or a
/// username, in canonical form), never the name itself and never the account's id. Whether or
/// not an account exists, and whether a username and an address belong to the same account,
/// therefore makes no difference an attacker can observe: each name typed has its own count.
/// An account is reachable under its address and its username, so its owner's unlock (and an
/// admin's) lifts the locks on both ([`Subject::all_of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    /// The subject of the name typed at sign-in.
    pub fn of(state: &Services, identifier: &str) -> Subject {
        let canonical = if identifier.contains('@') {
            Email::parse(identifier)
                .map(|e| format!("email:{}", e.canonical()))
                .ok()
        } else {
            Username::parse(identifier)
                .map(|u| format!("username:{}", u.canonical()))
                .ok()
        }
        .unwrap_or_else(|| format!("raw:{}", identifier.trim().to_lowercase()));
        let digest = crate::auth::secrets::hmac_bytes(&state.secrets.rate_limit_key, &[canonical.as_bytes()]);
        Subject(format!("name:{}", hex::encode(&digest[..16])))
    }

    /// Every name `user` signs in with: its address and, if it has one, its username.
    pub fn all_of(state: &Services, user: &UserRecord) -> Vec<Subject> {
        let mut subjects = vec![Self::of(state, &user.email)];
        if let Some(username) = &user.username {
            subjects.push(Self::of(state, username));
        }
        subjects
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lifts every failed-login lock on `user`, for every client (the unlock link, an admin's
/// unlock, account deletion).
pub async fn clear_all(state: &Services, user: &UserRecord) -> Result<()> {
    for subject in Subject::all_of(state, user) {
        state.store.lockout().clear(subject.as_str(), None).await?;
    }
    Ok(())
}

/// Counts one password attempt against `RATE_LIMIT_LOGIN` (per name typed and client network).
pub async fn count_attempt(state: &Services, subject: &Subject, client: &ClientInfo) -> Result<()> {
    state
        .limits
        .check(Limit::Login, &format!("{}|{}", subject.as_str(), network_of(client)))
        .await
}

/// What failures from one client are counted under: its IPv4 address or its IPv6 /64 (a
/// client holds a whole /64, so four addresses of one network are one client, as for the
/// per-IP rate limit).
fn network_of(client: &ClientInfo) -> String {
    client.limit_subject()
}

/// The address shown to the owner in the lock mail.
fn ip_of(client: &ClientInfo) -> &str {
    client.ip.as_deref().unwrap_or("unknown")
}

fn locked(until: DateTime<Utc>, now: DateTime<Utc>) -> Error {
    Error::AccountLocked {
        retry_after_secs: (until - now).num_seconds().max(1) as u64,
    }
}

/// The `429 account_locked` answer, if a lock on this subject (for this IP, or for all) runs.
pub async fn active_lock(state: &Services, subject: &Subject, client: &ClientInfo) -> Result<Option<Error>> {
    let now = state.now();
    let until = state
        .store
        .lockout()
        .locked_until(subject.as_str(), &network_of(client), now)
        .await?;
    Ok(until.map(|until| locked(until, now)))
}

/// Counts a failed sign-in; when it locks, audits the lock and mails the owner an unlock link.
/// Answers whether this failure locked the subject (for this client or for everyone).
pub async fn record_failure(
    state: &Services,
    subject: &Subject,
    user: Option<&UserRecord>,
    client: &ClientInfo,
) -> Result<bool> {
    let now = state.now();
    let settings = &state.config.lockout;
    let lock_until = now + settings.duration;
    let network = network_of(client);
    let change = state
        .store
        .lockout()
        .record_failure(&LoginFailure {
            subject: subject.as_str(),
            ip: &network,
            now,
            stale_before: now - settings.duration,
            ip_threshold: settings.threshold,
            all_threshold: settings.account_threshold,
            lock_until,
        })
        .await?;
    if !(change.ip_locked || change.all_locked) {
        return Ok(false);
    }
    let scope = if change.all_locked { "account" } else { "ip" };
    audit::Event {
        kind: EventKind::AccountLocked,
        user_id: user.map(|u| u.id),
        client,
        outcome: Outcome::Success,
        details: json!({ "scope": scope, "until": lock_until.to_rfc3339() }),
    }
    .record(state.store.as_ref(), now)
    .await;
    if let Some(user) = user {
        let failures = if change.all_locked {
            settings.account_threshold
        } else {
            settings.threshold
        };
        send_unlock_mail(state, user, client, failures, lock_until).await?;
    }
    Ok(true)
}

/// A successful sign-in: the count from this address and over all addresses is forgotten. A
/// lock on another address stays (the owner signing in must not hand an attacker elsewhere a
/// fresh set of guesses).
pub async fn reset(state: &Services, subject: &Subject, client: &ClientInfo) -> Result<()> {
    state
        .store
        .lockout()
        .clear(subject.as_str(), Some(&network_of(client)))
        .await?;
    Ok(())
}

async fn send_unlock_mail(
    state: &Services,
    user: &UserRecord,
    client: &ClientInfo,
    failures: u32,
    until: DateTime<Utc>,
) -> Result<()> {
    let cfg = &state.config;
    let token = OpaqueToken::generate();
    let purpose = TokenPurpose::AccountUnlock;
    one_time::issue(state, user.id, purpose, token.hash(), Some(until)).await?;
    let link = cfg.public_link("/unlock-account", &[("token", token.expose())]);
    let name = user.first_name.clone().unwrap_or_default();
    let failures = failures.to_string();
    let until_text = crate::mail::templates::mail_time(until);
    let mail = state.outbox.render(
        Template::AccountLocked,
        &[
            ("app", &cfg.app_name),
            ("name", &name),
            ("link", &link),
            ("failures", &failures),
            ("ip", ip_of(client)),
            ("until", &until_text),
        ],
    );
    state.outbox.enqueue(&user.email, mail).await?;
    Ok(())
}

/// Spends the link from the lock mail: every lock on the account ends now.
pub async fn unlock_with_token(state: &Services, token: &OpaqueToken, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    let record = one_time::redeem(state, TokenPurpose::AccountUnlock, &token.hash()).await??;
    if let Some(user) = state.store.users().by_id(record.user_id).await? {
        clear_all(state, &user).await?;
    }
    audit::Event {
        kind: EventKind::AccountUnlocked,
        user_id: Some(record.user_id),
        client,
        outcome: Outcome::Success,
        details: json!({ "by": "unlock_link" }),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(())
}
