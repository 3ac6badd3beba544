//! What each purpose of single-use token is, in one table: its lifetime, how many wrong
//! guesses it takes, where it is mailed, which events revoke it, and how a refusal is answered.

use crate::config::Config;
use crate::error::ErrorCode;
use crate::store::TokenPurpose;
use chrono::Duration;

/// Every purpose, for the lookups below.
pub const ALL: [TokenPurpose; 12] = [
    TokenPurpose::EmailVerificationLink,
    TokenPurpose::EmailVerificationCode,
    TokenPurpose::PasswordReset,
    TokenPurpose::MfaEmailCode,
    TokenPurpose::OtpLogin,
    TokenPurpose::MfaChallengeAfterPassword,
    TokenPurpose::MfaChallengeAfterEmailOtp,
    TokenPurpose::MfaChallengeAfterOAuth,
    TokenPurpose::MfaChallengeAfterPasskey,
    TokenPurpose::OAuthExchange,
    TokenPurpose::AccountUnlock,
    TokenPurpose::EmailChange,
];

/// The `mfa_token` purposes (one per first factor).
pub const MFA_CHALLENGES: [TokenPurpose; 4] = [
    TokenPurpose::MfaChallengeAfterPassword,
    TokenPurpose::MfaChallengeAfterEmailOtp,
    TokenPurpose::MfaChallengeAfterOAuth,
    TokenPurpose::MfaChallengeAfterPasskey,
];

/// `MFA_EMAIL_CODE`s and OTP sign-in codes live this long.
pub const EMAIL_CODE_TTL: Duration = Duration::minutes(10);
/// An `mfa_token` lives this long: the second factor follows the first at once.
pub const CHALLENGE_TTL: Duration = Duration::minutes(5);
/// The code a finished social login hands the app is traded at once, by the app's own server.
pub const EXCHANGE_TTL: Duration = Duration::seconds(60);

/// Something that happens to an account and ends tokens issued before it. (Deleting the account
/// deletes its tokens with it; an admin's lock revokes none: the flows refuse a locked account,
/// and its links work again once it is unlocked.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoker {
    /// A token of the same purpose is issued: only the newest mail works.
    Newer,
    /// The sign-in address changes: what was mailed to the old address stops working.
    AddressChange,
    /// The password changes (reset or change): a pending address change may be an intruder's.
    PasswordChange,
    /// The address is verified (by link or code): the other way is not needed any more.
    EmailVerified,
    /// MFA is turned off or reset: pending challenges and codes are for factors that are gone.
    MfaRemoved,
}

/// How long a token of a purpose lives.
#[derive(Debug, Clone, Copy)]
pub enum Lifetime {
    Setting(fn(&Config) -> Duration),
    Fixed(Duration),
    /// The caller says: an unlock link lives as long as the lock it lifts.
    Caller,
}

/// How refusals of a purpose are answered.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// 400 with the refusal's own code (`token_used`, `token_expired`, ...): a link only its
    /// owner has, so saying why it failed tells an attacker nothing.
    Detailed,
    /// One code for every refusal (`invalid_mfa_token`, `invalid_oauth_code`), 401: the client
    /// starts over the same way whatever the reason.
    Single(ErrorCode),
    /// `invalid_code` (400) for every refusal: a short code typed with an address; a different
    /// answer for a dead code than for a wrong one would tell which addresses have accounts.
    Code,
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub purpose: TokenPurpose,
    /// What the user holds, for messages: "reset link", "sign-in code", ...
    pub noun: &'static str,
    /// What to do after a refusal.
    pub next: &'static str,
    pub lifetime: Lifetime,
    /// Wrong guesses it takes before it is revoked (`MAX_CODE_ATTEMPTS`); `false` for links,
    /// which are 256-bit random and not guessed.
    pub counts_attempts: bool,
    /// Mailed to the account's address (so an address change revokes it).
    pub mailed: bool,
    pub revoked_by: &'static [Revoker],
    pub answer: Answer,
}

impl Policy {
    pub fn of(purpose: TokenPurpose) -> Policy {
        use Revoker::*;
        use TokenPurpose::*;
        let p = |noun, next, lifetime, counts_attempts, mailed, revoked_by, answer| Policy {
            purpose,
            noun,
            next,
            lifetime,
            counts_attempts,
            mailed,
            revoked_by,
            answer,
        };
        match purpose {
            EmailVerificationLink => p(
                "verification link",
                "ask for a new verification mail",
                Lifetime::Setting(|c| c.verification_link_ttl),
                false,
                true,
                &[Newer, AddressChange, EmailVerified],
                Answer::Detailed,
            ),
            EmailVerificationCode => p(
                "verification code",
                "check the newest mail or ask for a new code",
                Lifetime::Setting(|c| c.verification_code_ttl),
                true,
                true,
                &[Newer, AddressChange, EmailVerified],
                Answer::Code,
            ),
            PasswordReset => p(
                "reset link",
                "request a new one if you still need it",
                Lifetime::Setting(|c| c.reset_token_ttl),
                false,
                true,
                &[Newer, AddressChange],
                Answer::Detailed,
            ),
            MfaEmailCode => p(
                "code",
                "check the newest mail or ask for a new code",
                Lifetime::Fixed(EMAIL_CODE_TTL),
                true,
                true,
                &[Newer, AddressChange, MfaRemoved],
                Answer::Code,
            ),
            OtpLogin => p(
                "sign-in code",
                "check the newest mail or ask for a new code",
                Lifetime::Fixed(EMAIL_CODE_TTL),
                true,
                true,
                &[Newer, AddressChange],
                Answer::Code,
            ),
            MfaChallengeAfterPassword
            | MfaChallengeAfterEmailOtp
            | MfaChallengeAfterOAuth
            | MfaChallengeAfterPasskey => p(
                "mfa_token",
                "sign in again",
                Lifetime::Fixed(CHALLENGE_TTL),
                true,
                false,
                &[MfaRemoved],
                Answer::Single(ErrorCode::InvalidMfaToken),
            ),
            OAuthExchange => p(
                "sign-in code",
                "sign in again",
                Lifetime::Fixed(EXCHANGE_TTL),
                false,
                false,
                &[],
                Answer::Single(ErrorCode::InvalidOauthCode),
            ),
            AccountUnlock => p(
                "unlock link",
                "sign in as usual, or wait for the lock to end",
                Lifetime::Caller,
                false,
                true,
                &[AddressChange],
                Answer::Detailed,
            ),
            EmailChange => p(
                "address-change link",
                "ask for the change again if you still want it",
                Lifetime::Setting(|c| c.verification_link_ttl),
                false,
                false,
                // Mailed to the new address, but a change of the current one ends it too.
                &[Newer, AddressChange, PasswordChange],
                Answer::Detailed,
            ),
        }
    }

    pub fn max_attempts(&self, config: &Config) -> Option<u32> {
        self.counts_attempts.then_some(config.max_code_attempts)
    }
}

/// The purposes an event revokes.
pub fn revoked_by(event: Revoker) -> Vec<TokenPurpose> {
    ALL.into_iter()
        .filter(|p| Policy::of(*p).revoked_by.contains(&event))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mailed_token_dies_with_the_address() {
        // The unlock link included: it was mailed to the old address too.
        for purpose in ALL {
            let policy = Policy::of(purpose);
            if policy.mailed {
                assert!(policy.revoked_by.contains(&Revoker::AddressChange), "{purpose:?}");
            }
        }
        assert!(revoked_by(Revoker::AddressChange).contains(&TokenPurpose::AccountUnlock));
    }

    #[test]
    fn guessable_codes_count_attempts_and_answer_alike() {
        for purpose in ALL {
            let policy = Policy::of(purpose);
            if matches!(policy.answer, Answer::Code) {
                assert!(policy.counts_attempts, "{purpose:?}");
            }
        }
    }
}
