//! Optional public handle (seed 004): `@rahim_uddin` style usernames.

use super::{required, Invalid};
use std::fmt;

const MIN_CHARS: usize = 3;
const MAX_CHARS: usize = 32;

/// Names that would let an account pose as the service or its staff, or
/// that collide with words the API and UI use (`/users/me`, `null`).
const RESERVED: &[&str] = &[
    "admin",
    "root",
    "system",
    "support",
    "gatehouse",
    "null",
    "undefined",
    "me",
];

/// A username: a handle that can be used to log in and shown to others.
///
/// ASCII only (letters, digits, `_ . -`) because a handle is compared and
/// displayed far from where it was typed: in URLs, mentions and admin
/// screens, where Unicode look-alikes (Cyrillic "а" for Latin "a") would let
/// one user impersonate another.
///
/// The login form has a single identifier field, so a username must never
/// be mistakable for the other identifiers: it cannot contain `@` (then it
/// is an email address) and cannot be only digits (then it could be a phone
/// number). It must start and end with a letter or digit and may not have
/// two separators in a row, so `.`, `_` and `-` can only join words.
///
/// Stored as typed (people like their capitals); [`Username::canonical`]
/// is the lower-case key for uniqueness, so `Rahim` and `rahim` cannot be
/// two accounts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Username(String);

impl Username {
    /// Rules, first failure wins: required → no `@` → allowed characters →
    /// length → shape → reserved.
    pub fn parse(raw: &str) -> Result<Username, Invalid> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(required());
        }
        if name.contains('@') {
            return Err(Invalid::new(
                "invalid_characters",
                "must not contain @ (use the email field for email addresses)",
            ));
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || is_separator(c)) {
            return Err(Invalid::new(
                "invalid_characters",
                "may contain only letters a-z, digits, underscores, dots and hyphens",
            ));
        }
        // All ASCII from here on, so bytes are characters.
        if name.len() < MIN_CHARS {
            return Err(Invalid::new(
                "too_short",
                format!("must be at least {MIN_CHARS} characters"),
            ));
        }
        if name.len() > MAX_CHARS {
            return Err(Invalid::new(
                "too_long",
                format!("must be at most {MAX_CHARS} characters"),
            ));
        }
        let b = name.as_bytes();
        let edge_ok = |c: u8| c.is_ascii_alphanumeric();
        if !edge_ok(b[0]) || !edge_ok(b[b.len() - 1]) {
            return Err(Invalid::new(
                "invalid_format",
                "must start and end with a letter or digit",
            ));
        }
        if b.windows(2)
            .any(|w| is_separator(char::from(w[0])) && is_separator(char::from(w[1])))
        {
            return Err(Invalid::new("invalid_format", "must not have two of _ . - in a row"));
        }
        if !b.iter().any(u8::is_ascii_alphabetic) {
            return Err(Invalid::new("invalid_format", "must contain at least one letter"));
        }
        // `ad.min` and `Root` read as the reserved word, so compare with
        // case and separators ignored.
        let folded: String = name
            .chars()
            .filter(|c| !is_separator(*c))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if RESERVED.contains(&folded.as_str()) {
            return Err(Invalid::new("reserved", "is reserved, please choose another"));
        }
        Ok(Username(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Lower-case form: the key for uniqueness and look-up.
    pub fn canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, '_' | '.' | '-')
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn code(raw: &str) -> &'static str {
        match Username::parse(raw) {
            Ok(u) => panic!("{raw:?} was accepted as {u}"),
            Err(err) => err.code,
        }
    }

    #[test]
    fn accepts_handles() {
        for raw in [
            "rahim",
            "Rahim_Uddin",
            "rahim.uddin",
            "rahim-uddin",
            "r2d2",
            "abc",
            "007bond",
            "a1b",
            "x_y.z-w",
            "admin2",
            "administrator",
            "mee",
        ] {
            let u = Username::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
            assert_eq!(u.as_str(), raw);
        }
        assert!(Username::parse(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn trims_keeps_case_and_canonicalises() {
        let u = Username::parse("  Rahim_Uddin ").unwrap();
        assert_eq!(u.as_str(), "Rahim_Uddin");
        assert_eq!(u.as_ref(), "Rahim_Uddin");
        assert_eq!(u.to_string(), "Rahim_Uddin");
        assert_eq!(u.canonical(), "rahim_uddin");
        assert_eq!(u.canonical(), Username::parse("RAHIM_uddin").unwrap().canonical());
    }

    #[test]
    fn empty_is_required() {
        assert_eq!(code(""), "required");
        assert_eq!(code("   "), "required");
    }

    #[test]
    fn lengths() {
        assert_eq!(code("ab"), "too_short");
        assert_eq!(code("a"), "too_short");
        assert_eq!(code(&"a".repeat(33)), "too_long");
        assert_eq!(
            Username::parse("ab").unwrap_err().message,
            "must be at least 3 characters"
        );
    }

    #[test]
    fn never_looks_like_an_email() {
        for raw in ["rahim@example.com", "@rahim", "rahim@", "a@b"] {
            assert_eq!(code(raw), "invalid_characters", "{raw:?}");
        }
        assert!(Username::parse("a@b").unwrap_err().message.contains('@'));
    }

    #[test]
    fn never_looks_like_a_phone_number() {
        for raw in ["01712345678", "123", "1-2-3", "880.171.234"] {
            assert_eq!(code(raw), "invalid_format", "{raw:?}");
        }
    }

    #[test]
    fn rejects_other_characters() {
        for raw in [
            "rahim uddin",
            "rahim+1",
            "রহিম",
            "rаhim", // Cyrillic а
            "zoë",
            "a/b/c",
            "<b>x</b>",
            "name!",
            "tab\tname",
            "ｒａｈｉｍ",
        ] {
            assert_eq!(code(raw), "invalid_characters", "{raw:?}");
        }
    }

    #[test]
    fn shape_rules() {
        for raw in [
            "_rahim", ".rahim", "-rahim", "rahim_", "rahim.", "rahim-", "ra__him", "ra.-him", "ra..him", "a-_b",
        ] {
            assert_eq!(code(raw), "invalid_format", "{raw:?}");
        }
    }

    #[test]
    fn reserved_names() {
        for raw in [
            "admin",
            "ADMIN",
            "Root",
            "system",
            "support",
            "GateHouse",
            "null",
            "undefined",
            "ad.min",
            "gate-house",
            "sup_port",
            "m.e",
        ] {
            assert_eq!(code(raw), "reserved", "{raw:?}");
        }
        assert_eq!(code("me"), "too_short");
    }
}
