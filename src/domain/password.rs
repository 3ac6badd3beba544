//! Password policy, following OWASP ASVS 5.0 (V6.2) and NIST SP 800-63B
//! §3.1.1.2.
//!
//! What the standards ask for, and what this module does:
//! * a minimum of 8 characters and a maximum of no less than 64:
//!   8..=128 by default;
//! * every Unicode character accepted, including spaces and emoji, and the
//!   password never truncated. NFKC normalisation first, so the same
//!   password typed on another keyboard or OS (full-width forms, ligatures,
//!   composed vs decomposed accents) still verifies (800-63B recommends it);
//! * no composition rules ("one digit, one symbol") by default: they push
//!   people to `Password1!` and add little strength. Deployments that must
//!   have them (seed 004) turn on [`PasswordRules::require_composition`];
//! * a check against passwords known from breaches, and against words
//!   specific to the user (their email, name, username);
//! * a strength estimate (zxcvbn) instead of character-class counting.

use super::{required, Email, Invalid};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Upper bound, in bytes, on what is ever normalised or hashed. Argon2 cost
/// grows with input length, so an unbounded login field is a cheap
/// denial-of-service. Any password [`Password::parse`] accepts is well under
/// it, so bounding never changes whether a real password verifies.
const MAX_BYTES: usize = 4096;

/// 20,000 of the most frequent passwords from real breach corpora, taken
/// from the zxcvbn crate's frequency list (MIT); see the file's header.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// The tunable part of the policy.
#[derive(Debug, Clone)]
pub struct PasswordRules {
    /// In Unicode code points after NFKC. ASVS/NIST minimum: 8.
    pub min_length: usize,
    /// In Unicode code points after NFKC. ASVS/NIST: allow at least 64.
    /// Values above 1024 are further capped by the 4096-byte hashing bound.
    pub max_length: usize,
    /// Minimum zxcvbn score, 0..=4. 3 means roughly 10^10 guesses, which
    /// resists online guessing and slows offline cracking of Argon2 hashes.
    pub min_strength: u8,
    /// Seed 004's optional rule: at least one upper-case letter, one
    /// lower-case letter, one digit and one special character. Off by
    /// default, as ASVS and NIST advise; note that it can never be met in
    /// scripts without letter case, such as Bengali.
    pub require_composition: bool,
}

impl Default for PasswordRules {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            min_strength: 3,
            require_composition: false,
        }
    }
}

/// What is known about the person choosing the password, so that a password
/// built from their own details (which an attacker also knows) is refused.
#[derive(Debug, Clone, Copy)]
pub struct PasswordContext<'a> {
    pub email: Option<&'a Email>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub username: Option<&'a str>,
    pub rules: &'a PasswordRules,
}

impl<'a> PasswordContext<'a> {
    /// A context with no personal details, e.g. for a password reset where
    /// only the rules matter (the caller should still add what it knows).
    pub fn new(rules: &'a PasswordRules) -> Self {
        Self {
            email: None,
            first_name: None,
            last_name: None,
            username: None,
            rules,
        }
    }
}

/// A password, held in memory that is wiped on drop.
///
/// There is deliberately no `Display`, `Serialize` or `Deserialize`, and
/// `Debug` prints `Password(REDACTED)`, so a password cannot end up in a log
/// line, an error message or a JSON response by accident. The only way to
/// read it is [`Password::expose`], which is easy to grep for.
pub struct Password {
    normalised: SecretString,
    /// The password exactly as typed, kept only by [`Password::for_verification`] and only when
    /// NFKC changed it: hashes imported from other systems were made from the typed text.
    typed: Option<SecretString>,
}

impl Password {
    /// Applies the full policy to a new password (registration, change,
    /// reset). Rules, first failure wins: NFKC → length → composition (if
    /// enabled) → breached list → personal details → zxcvbn strength.
    pub fn parse(raw: &str, ctx: &PasswordContext) -> Result<Password, Invalid> {
        let rules = ctx.rules;
        if raw.is_empty() {
            return Err(required());
        }
        let too_long = || Invalid::new("too_long", format!("must be at most {} characters", rules.max_length));
        if raw.len() > MAX_BYTES {
            return Err(too_long());
        }
        let normalised: Zeroizing<String> = Zeroizing::new(raw.nfkc().collect());
        let length = normalised.chars().count();
        if length < rules.min_length {
            return Err(Invalid::new(
                "too_short",
                format!("must be at least {} characters", rules.min_length),
            ));
        }
        if length > rules.max_length || normalised.len() > MAX_BYTES {
            return Err(too_long());
        }
        if rules.require_composition {
            check_composition(&normalised)?;
        }
        let lower: Zeroizing<String> = Zeroizing::new(normalised.to_lowercase());
        if COMMON_PASSWORDS.contains(lower.as_str()) {
            return Err(Invalid::new(
                "common_password",
                "is too common: it appears in lists of breached passwords",
            ));
        }
        check_personal_info(&lower, ctx)?;
        check_strength(&normalised, ctx)?;
        Ok(Password {
            normalised: SecretString::from(normalised.as_str()),
            typed: None,
        })
    }

    /// A password typed at login, checked against a stored hash: no policy
    /// (the policy may have changed since it was set, and revealing it here
    /// would help an attacker), only the same NFKC normalisation as
    /// [`Password::parse`] and a bound of 4096 bytes on what gets hashed.
    /// Longer input is cut at a character boundary; it cannot match anyway,
    /// as no accepted password is that long.
    ///
    /// If normalising changed the text, the typed form is kept too: a hash
    /// imported from a system that did not normalise (passlib, Django) was
    /// made from what the user typed.
    pub fn for_verification(raw: &str) -> Password {
        let head = &raw[..floor_char_boundary(raw, MAX_BYTES)];
        let mut normalised: String = head.nfkc().collect();
        normalised.truncate(floor_char_boundary(&normalised, MAX_BYTES));
        let typed = (normalised != head).then(|| SecretString::from(head));
        Password {
            normalised: SecretString::from(normalised),
            typed,
        }
    }

    /// The normalised password, for hashing or verifying only.
    pub fn expose(&self) -> &str {
        self.normalised.expose_secret()
    }

    /// The password as typed, when it differs from [`Password::expose`]
    /// (only for verifying hashes made by other systems).
    pub fn expose_typed(&self) -> Option<&str> {
        self.typed.as_ref().map(|t| t.expose_secret())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(REDACTED)")
    }
}

/// The largest index `<= max` that is a char boundary of `s`.
fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// One error naming every missing class, so the user fixes them in one go.
fn check_composition(password: &str) -> Result<(), Invalid> {
    let has = |test: fn(char) -> bool| password.chars().any(test);
    let special = |c: char| !c.is_alphanumeric() && !is_combining_mark(c);
    let missing: Vec<&str> = [
        (has(char::is_uppercase), "one upper-case letter"),
        (has(char::is_lowercase), "one lower-case letter"),
        (has(char::is_numeric), "one digit"),
        (has(special), "one special character"),
    ]
    .into_iter()
    .filter(|(present, _)| !present)
    .map(|(_, class)| class)
    .collect();
    match missing.as_slice() {
        [] => Ok(()),
        [only] => Err(composition(only)),
        [init @ .., last] => Err(composition(&format!("{} and {last}", init.join(", ")))),
    }
}

fn composition(classes: &str) -> Invalid {
    Invalid::new("composition", format!("must contain at least {classes}"))
}

/// Details shorter than 3 characters ("Li", "me") are skipped: they occur
/// inside too many good passwords by chance.
fn check_personal_info(lower: &str, ctx: &PasswordContext) -> Result<(), Invalid> {
    let found = |detail: &str| {
        let detail: String = detail.trim().nfkc().collect::<String>().to_lowercase();
        detail.chars().count() >= 3 && lower.contains(&detail)
    };
    if let Some(email) = ctx.email {
        let local = email.local_part();
        // `rahim+shop@` is still Rahim: check the part before a `+tag` too.
        let untagged = local.split('+').next().unwrap_or(local);
        if found(local) || found(untagged) {
            return Err(personal("your email address"));
        }
    }
    if ctx.first_name.is_some_and(found) || ctx.last_name.is_some_and(found) {
        return Err(personal("your name"));
    }
    if ctx.username.is_some_and(found) {
        return Err(personal("your username"));
    }
    Ok(())
}

fn personal(what: &str) -> Invalid {
    Invalid::new("contains_personal_info", format!("must not contain {what}"))
}

fn check_strength(password: &str, ctx: &PasswordContext) -> Result<(), Invalid> {
    let mut inputs: Vec<&str> = Vec::with_capacity(5);
    if let Some(email) = ctx.email {
        inputs.push(email.as_str());
        inputs.push(email.local_part());
    }
    inputs.extend(ctx.first_name);
    inputs.extend(ctx.last_name);
    inputs.extend(ctx.username);
    let entropy = zxcvbn::zxcvbn(password, &inputs);
    if u8::from(entropy.score()) >= ctx.rules.min_strength {
        return Ok(());
    }
    let mut message = String::from("is too easy to guess.");
    if let Some(feedback) = entropy.feedback() {
        if let Some(warning) = feedback.warning() {
            message.push(' ');
            message.push_str(&warning.to_string());
        }
        for suggestion in feedback.suggestions() {
            message.push(' ');
            message.push_str(&suggestion.to_string());
        }
    }
    Err(Invalid::new("too_weak", message))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
