//! The one way single-use tokens and codes are issued and redeemed: verification links and
//! codes, reset and unlock links, address-change links, sign-in and MFA codes, `mfa_token`s
//! and social login's exchange code. What differs between them is data in [`policy`]; the
//! checks (unknown, used, revoked, superseded, expired, too many wrong guesses) are written
//! here once, and a refusal becomes a problem answer in one place, [`Refused`]'s `From` impl.

pub mod policy;

pub use policy::{Policy, Revoker};

use crate::auth::secrets::constant_time_eq;
use crate::auth::services::Services;
use crate::error::{Error, ErrorCode};
use crate::store::{NewOneTimeToken, OneTimeTokenRecord, TokenPurpose};
use chrono::{DateTime, Utc};
use policy::{Answer, Lifetime};
use uuid::Uuid;

/// Why a presented token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No token of this purpose has this hash.
    Unknown,
    Used,
    Expired,
    /// Ended by an event of its policy (address or password change, MFA removed, ...).
    Revoked,
    /// Ended because a newer one of its purpose was issued.
    Superseded,
    /// Ended by `MAX_CODE_ATTEMPTS` wrong guesses.
    TooManyAttempts,
}

/// A refusal of a token of `purpose`: converts into the problem answer its policy gives.
#[derive(Debug, Clone, Copy)]
pub struct Refused {
    pub purpose: TokenPurpose,
    pub refusal: Refusal,
}

impl Refusal {
    fn code(self) -> ErrorCode {
        match self {
            Refusal::Unknown => ErrorCode::InvalidToken,
            Refusal::Used => ErrorCode::TokenUsed,
            Refusal::Expired => ErrorCode::TokenExpired,
            Refusal::Revoked | Refusal::Superseded => ErrorCode::TokenRevoked,
            Refusal::TooManyAttempts => ErrorCode::TooManyAttempts,
        }
    }
}

impl From<Refused> for Error {
    fn from(Refused { purpose, refusal }: Refused) -> Error {
        let policy = Policy::of(purpose);
        let (noun, next) = (policy.noun, policy.next);
        let text = match refusal {
            Refusal::Unknown => format!("this {noun} is not valid; {next}"),
            Refusal::Used => format!("this {noun} was already used; {next}"),
            Refusal::Expired => format!("this {noun} has expired; {next}"),
            Refusal::Revoked => format!("this {noun} no longer works (the account changed since it was sent); {next}"),
            Refusal::Superseded => format!("this {noun} was replaced by a newer one; use the one in the newest mail"),
            Refusal::TooManyAttempts => format!("this {noun} no longer works (too many wrong codes); {next}"),
        };
        match policy.answer {
            Answer::Detailed => Error::new(refusal.code(), text),
            Answer::Single(code) => Error::new(code, text),
            Answer::Code => invalid_code(),
        }
    }
}

/// The one answer to a wrong, dead or unknown emailed code.
pub fn invalid_code() -> Error {
    Error::new(
        ErrorCode::InvalidCode,
        "the code is not correct or has expired; check the newest mail or ask for a new code",
    )
}

/// Ends the user's live tokens that `event` revokes (see [`policy`]).
pub async fn revoke_on(s: &Services, user_id: Uuid, event: Revoker) -> crate::error::Result<()> {
    s.store
        .tokens()
        .revoke(user_id, &policy::revoked_by(event), s.now())
        .await?;
    Ok(())
}

/// A new token of `purpose` for the user, expiring as its policy says (`until` for a
/// [`Lifetime::Caller`] purpose). Tokens it supersedes are revoked; the caller stores it
/// (with [`issue`], or together with its own row as the address change does).
pub async fn prepare(
    s: &Services,
    user_id: Uuid,
    purpose: TokenPurpose,
    token_hash: String,
    until: Option<DateTime<Utc>>,
) -> crate::error::Result<NewOneTimeToken> {
    let policy = Policy::of(purpose);
    let now = s.now();
    let expires_at = match (policy.lifetime, until) {
        (Lifetime::Setting(ttl), _) => now + ttl(&s.config),
        (Lifetime::Fixed(ttl), _) => now + ttl,
        (Lifetime::Caller, Some(until)) => until,
        (Lifetime::Caller, None) => {
            return Err(Error::Internal(anyhow::anyhow!(
                "a {purpose:?} token needs its expiry from the caller"
            )))
        }
    };
    if policy.revoked_by.contains(&Revoker::Newer) {
        s.store.tokens().revoke(user_id, &[purpose], now).await?;
    }
    Ok(NewOneTimeToken {
        id: Uuid::new_v4(),
        user_id,
        purpose,
        token_hash,
        expires_at,
        created_at: now,
    })
}

/// [`prepare`]s and stores a token; the caller mails (or returns) its plain value.
pub async fn issue(
    s: &Services,
    user_id: Uuid,
    purpose: TokenPurpose,
    token_hash: String,
    until: Option<DateTime<Utc>>,
) -> crate::error::Result<()> {
    let token = prepare(s, user_id, purpose, token_hash, until).await?;
    s.store.tokens().insert(&token).await?;
    Ok(())
}

/// The live token of one of `purposes` with this hash, and which purpose it has; it is not
/// spent (see [`spend`]), so a flow can check more before it does.
pub async fn find(
    s: &Services,
    purposes: &[TokenPurpose],
    token_hash: &str,
) -> crate::error::Result<Result<(OneTimeTokenRecord, TokenPurpose), Refused>> {
    let now = s.now();
    for &purpose in purposes {
        if let Some(record) = s.store.tokens().by_hash(purpose, token_hash).await? {
            return Ok(match refusal_of(s, &record, purpose, now).await? {
                Some(refusal) => Err(Refused { purpose, refusal }),
                None => Ok((record, purpose)),
            });
        }
    }
    Ok(Err(Refused {
        purpose: purposes.first().copied().unwrap_or(TokenPurpose::OAuthExchange),
        refusal: Refusal::Unknown,
    }))
}

/// Spends a token [`find`] returned. One conditional update: of two concurrent redemptions
/// exactly one wins, and the other is refused as `Used` (or `Expired`, if it died meanwhile).
pub async fn spend(
    s: &Services,
    record: &OneTimeTokenRecord,
    purpose: TokenPurpose,
) -> crate::error::Result<Result<(), Refused>> {
    let now = s.now();
    if s.store.tokens().consume(record.id, now).await? {
        return Ok(Ok(()));
    }
    let refusal = match s.store.tokens().by_hash(purpose, &record.token_hash).await? {
        Some(current) => refusal_of(s, &current, purpose, now).await?.unwrap_or(Refusal::Used),
        None => Refusal::Unknown,
    };
    Ok(Err(Refused { purpose, refusal }))
}

/// [`find`] and [`spend`] in one call, for flows with nothing to check in between.
pub async fn redeem(
    s: &Services,
    purpose: TokenPurpose,
    token_hash: &str,
) -> crate::error::Result<Result<OneTimeTokenRecord, Refused>> {
    let (record, _) = match find(s, &[purpose], token_hash).await? {
        Ok(found) => found,
        Err(refused) => return Ok(Err(refused)),
    };
    Ok(spend(s, &record, purpose).await?.map(|()| record))
}

/// Counts a wrong guess against a live token (an `mfa_token` whose code was wrong, the newest
/// emailed code); at the policy's limit it is revoked. Returns the count so far.
pub async fn wrong_guess(
    s: &Services,
    record: &OneTimeTokenRecord,
    purpose: TokenPurpose,
) -> crate::error::Result<u32> {
    let max = Policy::of(purpose).max_attempts(&s.config).unwrap_or(u32::MAX);
    Ok(s.store.tokens().record_failed_attempt(record.id, max, s.now()).await?)
}

/// What checking a typed code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// It matched a live code, which is now spent.
    Accepted,
    /// It did not; `attempts` is the newest live code's count of wrong guesses, if there is one.
    Rejected { attempts: Option<u32> },
}

/// Checks a typed code (`presented_hash`; `None` when it was not even a code) against the
/// user's live codes of `purpose`, compared in constant time; a miss counts against the newest.
pub async fn check_code(
    s: &Services,
    user_id: Uuid,
    purpose: TokenPurpose,
    presented_hash: Option<&str>,
) -> crate::error::Result<CodeCheck> {
    let now = s.now();
    let live = s.store.tokens().live(user_id, purpose, now).await?;
    let matching = presented_hash.and_then(|h| live.iter().find(|t| constant_time_eq(&t.token_hash, h)));
    match matching {
        Some(t) if s.store.tokens().consume(t.id, now).await? => Ok(CodeCheck::Accepted),
        Some(_) => Ok(CodeCheck::Rejected { attempts: None }),
        None => {
            let attempts = match live.first() {
                Some(newest) => Some(wrong_guess(s, newest, purpose).await?),
                None => None,
            };
            Ok(CodeCheck::Rejected { attempts })
        }
    }
}

/// Why a stored token cannot be used now, if it cannot.
async fn refusal_of(
    s: &Services,
    record: &OneTimeTokenRecord,
    purpose: TokenPurpose,
    now: DateTime<Utc>,
) -> crate::error::Result<Option<Refusal>> {
    if record.used_at.is_some() {
        return Ok(Some(Refusal::Used));
    }
    if record.revoked_at.is_some() {
        let policy = Policy::of(purpose);
        if policy
            .max_attempts(&s.config)
            .is_some_and(|max| record.attempts >= i32::try_from(max).unwrap_or(i32::MAX))
        {
            return Ok(Some(Refusal::TooManyAttempts));
        }
        // A newer token of the purpose exists: this one was superseded, not revoked by an event.
        if policy.revoked_by.contains(&Revoker::Newer) {
            let live = s.store.tokens().live(record.user_id, purpose, now).await?;
            if live
                .iter()
                .any(|t| t.created_at >= record.created_at && t.id != record.id)
            {
                return Ok(Some(Refusal::Superseded));
            }
        }
        return Ok(Some(Refusal::Revoked));
    }
    if record.expires_at <= now {
        return Ok(Some(Refusal::Expired));
    }
    Ok(None)
}
