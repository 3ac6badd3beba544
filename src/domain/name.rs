//! A person's first or last name.

use super::{required, Invalid};
use std::fmt;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Counted in Unicode code points after NFC, so a Bengali or Chinese name is
/// allowed as many characters as a Latin one.
const MAX_CHARS: usize = 50;

/// A first or last name, in any script.
///
/// Names are shown back to the user, put into email greetings and printed
/// in admin screens, so the rule is "letters only" in the Unicode sense:
/// any alphabetic code point of any script, plus combining marks, which
/// many scripts need for ordinary names (the Bengali "রহিম" carries the vowel
/// sign ি, category Mc; Devanagari, Arabic and Vietnamese names are similar).
/// Digits, symbols, punctuation, emoji, control and invisible characters
/// (including ZWJ/ZWNJ, which are a favourite of look-alike spoofing) are
/// refused, which also keeps markup such as `<b>` out of emails.
///
/// Separator decision: a single space, hyphen or apostrophe (`'` or the
/// typographic `’`) is allowed, but only *between* two letters, so
/// "Mary-Jane", "O'Brien" and "Abu Bakar" pass while "-x", "a--b",
/// "Abu  Bakar" and "x'" do not. That covers compound and prefixed names
/// without letting a name be made of punctuation. Periods are not allowed
/// ("J. R. R."): initials belong in a nickname field, not here.
///
/// The value is trimmed and NFC-normalised, so the same name typed on two
/// keyboards (precomposed "é" vs "e" + combining acute) is stored and
/// compared identically.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<PersonName, Invalid> {
        let name: String = raw.trim().nfc().collect();
        if name.is_empty() {
            return Err(required());
        }
        if name.chars().count() > MAX_CHARS {
            return Err(Invalid::new(
                "too_long",
                format!("must be at most {MAX_CHARS} characters"),
            ));
        }
        if !well_formed(&name) {
            return Err(Invalid::new("invalid_characters", "only letters are allowed"));
        }
        Ok(PersonName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\'' | '\u{2019}')
}

/// Letters and marks, with single separators strictly between letters.
fn well_formed(name: &str) -> bool {
    #[derive(PartialEq)]
    enum Prev {
        Start,
        Letter,
        Separator,
    }
    let mut prev = Prev::Start;
    for c in name.chars() {
        prev = if c.is_alphabetic() {
            Prev::Letter
        } else if is_combining_mark(c) {
            // A mark modifies the letter before it; on its own (or after a
            // separator) it is an invisible-character trick.
            if prev != Prev::Letter {
                return false;
            }
            Prev::Letter
        } else if is_separator(c) {
            if prev != Prev::Letter {
                return false;
            }
            Prev::Separator
        } else {
            return false;
        };
    }
    prev == Prev::Letter
}

impl AsRef<str> for PersonName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rejected(raw: &str) -> Invalid {
        match PersonName::parse(raw) {
            Ok(name) => panic!("{raw:?} was accepted as {name}"),
            Err(err) => err,
        }
    }

    #[test]
    fn accepts_names_in_many_scripts() {
        for raw in [
            "Rahim",
            "রহিম",
            "আব্দুল্লাহ",
            "মোঃ",
            "Zoë",
            "José",
            "Nguyễn",
            "Łukasz",
            "Søren",
            "محمد",
            "देवनागरी",
            "王小明",
            "やまだ",
            "Ольга",
            "Σωκράτης",
            "Mary-Jane",
            "O'Brien",
            "O’Brien",
            "Abu Bakar",
            "Jean-Luc Picard",
            "X",
        ] {
            // "মোঃ" ends with U+0983 BENGALI SIGN VISARGA (Mc), a mark after
            // a letter, so it is a well-formed name.
            let name = PersonName::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
            assert_eq!(name.as_str(), raw);
        }
    }

    #[test]
    fn trims_and_normalises_to_nfc() {
        let decomposed = "  Jose\u{301}\t";
        let name = PersonName::parse(decomposed).unwrap();
        assert_eq!(name.as_str(), "Jos\u{e9}");
        assert_eq!(name, PersonName::parse("José").unwrap());
        assert_eq!(name.to_string(), "José");
        assert_eq!(name.as_ref(), "José");
    }

    #[test]
    fn empty_is_required() {
        for raw in ["", "   ", "\n\t"] {
            assert_eq!(rejected(raw).code, "required");
        }
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert!(PersonName::parse(&"a".repeat(50)).is_ok());
        assert_eq!(rejected(&"a".repeat(51)).code, "too_long");
        // 50 Bengali letters are 150 bytes but still 50 characters.
        assert!(PersonName::parse(&"ক".repeat(50)).is_ok());
        assert_eq!(rejected(&"ক".repeat(51)).code, "too_long");
        let err = rejected(&"a".repeat(51));
        assert_eq!(err.message, "must be at most 50 characters");
    }

    #[test]
    fn rejects_non_letters() {
        for raw in [
            "John3",
            "J@ne",
            "<b>",
            "<script>alert(1)</script>",
            "  -x",
            "-x",
            "x-",
            "x'",
            "'x",
            "a--b",
            "a- b",
            "a -b",
            "Abu  Bakar",
            "a''b",
            "J. R. R.",
            "Smith,",
            "Bob_",
            "😀",
            "Rahim😀",
            "a\u{200d}b",
            "a\u{200b}b",
            "a\u{0}b",
            "a\u{202e}b",
            "\u{301}a",
            "a \u{301}b",
            "১২৩",
            "Robert'); DROP TABLE users;--",
            "Tab\tName",
            "New\nLine",
        ] {
            let err = rejected(raw);
            assert_eq!(err.code, "invalid_characters", "{raw:?}");
            assert_eq!(err.message, "only letters are allowed");
        }
    }
}
