//! Bangladeshi mobile numbers.

use super::{required, Invalid};
use std::fmt;

/// Longer input cannot be a phone number in any punctuation; refusing it
/// early keeps the clean-up loop bounded.
const MAX_RAW_LEN: usize = 64;

const HINT: &str = "must be a Bangladeshi mobile number such as +8801712345678 or 01712345678";

/// A Bangladeshi mobile number, stored in E.164 form (`+8801XNNNNNNNN`).
///
/// Bangladesh's mobile numbers are `01X` + eight digits nationally, where
/// `X` is 3–9 (the operator prefixes 013–019 assigned by BTRC; 010–012 are
/// not in use for mobiles). Users type them many ways, so spaces, dashes,
/// dots and parentheses are ignored and four spellings are accepted:
/// `+8801…`, `008801…` (international prefix), `8801…` (a `+` lost by an
/// SMS app) and the local `01…`. Bengali digits (০–৯), which a Bangla
/// keyboard produces, are read as their ASCII values.
///
/// Storing one canonical form matters because the number is an account
/// identifier: `01712345678` and `+880 1712-345678` must be the same
/// account, or one person could register twice and an attacker could
/// register a look-alike of someone else's number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct BdMobile(String);

impl BdMobile {
    pub fn parse(raw: &str) -> Result<BdMobile, Invalid> {
        if raw.trim().is_empty() {
            return Err(required());
        }
        let invalid = || Invalid::new("invalid_mobile", HINT);
        if raw.len() > MAX_RAW_LEN {
            return Err(invalid());
        }
        let mut cleaned = String::with_capacity(16);
        for c in raw.chars() {
            match c {
                c if c.is_whitespace() => {}
                '-' | '.' | '(' | ')' => {}
                '+' if cleaned.is_empty() => cleaned.push('+'),
                '0'..='9' => cleaned.push(c),
                '\u{09E6}'..='\u{09EF}' => {
                    // BENGALI DIGIT ZERO..NINE are contiguous, like ASCII.
                    let value = u32::from(c) - 0x09E6;
                    cleaned.extend(char::from_digit(value, 10));
                }
                _ => return Err(invalid()),
            }
        }
        let national = ["+880", "00880", "880", "0"]
            .iter()
            .find_map(|prefix| cleaned.strip_prefix(prefix))
            .ok_or_else(invalid)?;
        let b = national.as_bytes();
        let valid = b.len() == 10 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit);
        if !valid {
            return Err(invalid());
        }
        Ok(BdMobile(format!("+880{national}")))
    }

    /// E.164, e.g. `+8801712345678`: what SMS gateways expect.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for BdMobile {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BdMobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_spelling_and_stores_e164() {
        for raw in [
            "+8801712345678",
            "8801712345678",
            "008801712345678",
            "01712345678",
            " 01712345678 ",
            "+880 1712-345678",
            "+880-17-1234-5678",
            "(+880) 1712 345 678",
            "017.1234.5678",
            "0171 234 5678",
            "০১৭১২৩৪৫৬৭৮",
            "+৮৮০১৭১২৩৪৫৬৭৮",
        ] {
            let m = BdMobile::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
            assert_eq!(m.as_str(), "+8801712345678", "{raw:?}");
        }
    }

    #[test]
    fn every_operator_prefix() {
        for x in 3..=9 {
            let m = BdMobile::parse(&format!("01{x}00000000")).unwrap();
            assert_eq!(m.as_str(), format!("+8801{x}00000000"));
            assert_eq!(m.to_string(), m.as_str());
            assert_eq!(m.as_ref(), m.as_str());
        }
    }

    #[test]
    fn empty_is_required() {
        assert_eq!(BdMobile::parse("").unwrap_err().code, "required");
        assert_eq!(BdMobile::parse("  ").unwrap_err().code, "required");
    }

    #[test]
    fn rejects_other_numbers() {
        for raw in [
            "01012345678",      // 010: not a mobile prefix
            "01112345678",      // 011
            "01212345678",      // 012
            "0171234567",       // one digit short
            "017123456789",     // one digit long
            "1712345678",       // no trunk 0 and no country code
            "+8801712345678 9", // too long after clean-up
            "+88001712345678",  // trunk 0 kept after country code
            "+880 0171 2345678",
            "+1 415 555 2671", // not Bangladesh
            "+9101712345678",
            "+44 7700 900123",
            "02-9876543",     // Dhaka landline
            "8801712345678+", // plus in the middle
            "++8801712345678",
            "0171234567x",
            "017-1234-567８", // full-width digit
            "017/1234/5678",
            "tel:+8801712345678",
            "+",
            "-- ()",
            "০১৭১২৩৪৫৬৭",
        ] {
            let err = BdMobile::parse(raw).unwrap_err();
            assert_eq!(err.code, "invalid_mobile", "{raw:?}");
        }
        let err = BdMobile::parse("12345").unwrap_err();
        assert_eq!(
            err.message,
            "must be a Bangladeshi mobile number such as +8801712345678 or 01712345678"
        );
        assert_eq!(BdMobile::parse(&"0".repeat(65)).unwrap_err().code, "invalid_mobile");
    }
}
