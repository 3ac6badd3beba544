//! The name a user gives a passkey ("Work laptop", "YubiKey 5C"), shown in their list and mails.

use super::Invalid;
use unicode_normalization::UnicodeNormalization;

const MAX_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    pub fn parse(raw: &str) -> Result<PasskeyName, Invalid> {
        let name: String = raw.trim().nfc().collect();
        if name.is_empty() {
            return Err(Invalid::new("required", "is required"));
        }
        if name.chars().count() > MAX_CHARS {
            return Err(Invalid::new(
                "too_long",
                format!("must be at most {MAX_CHARS} characters"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(Invalid::new(
                "invalid_characters",
                "must not contain line breaks or other control characters",
            ));
        }
        Ok(PasskeyName(name))
    }

    /// A default from the device it was registered on ("Chrome on Linux"), cut to the limit.
    pub fn from_device(label: &str) -> PasskeyName {
        let name: String = label.chars().filter(|c| !c.is_control()).take(MAX_CHARS).collect();
        PasskeyName(if name.trim().is_empty() { "Passkey".into() } else { name })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_single_line() {
        assert_eq!(PasskeyName::parse("  Work laptop ").unwrap().as_str(), "Work laptop");
        assert_eq!(PasskeyName::parse("   ").unwrap_err().code, "required");
        assert_eq!(PasskeyName::parse(&"k".repeat(65)).unwrap_err().code, "too_long");
        assert_eq!(PasskeyName::parse("a\nb").unwrap_err().code, "invalid_characters");
        assert_eq!(PasskeyName::from_device("").as_str(), "Passkey");
    }
}
