//! Values of the admin API's requests: an account status to filter by, a search text, and the
//! free-text reason an admin may give for a lock.

use super::Invalid;

/// Whether an account may sign in. `disabled` is what an admin lock sets (`is_active = false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Disabled,
}

impl AccountStatus {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "active" => Ok(Self::Active),
            "disabled" | "locked" => Ok(Self::Disabled),
            _ => Err(Invalid::new("invalid_choice", "must be active or disabled")),
        }
    }

    pub fn of(is_active: bool) -> Self {
        if is_active {
            Self::Active
        } else {
            Self::Disabled
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    pub fn is_active(self) -> bool {
        self == Self::Active
    }
}

const MAX_SEARCH: usize = 100;

/// What an admin typed to find users: matched, ignoring case, as a substring of the email,
/// username or name. Wildcards typed by the admin are matched literally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    /// `None` for an empty search (everything matches).
    pub fn parse(raw: &str) -> Result<Option<Self>, Invalid> {
        let text = raw.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > MAX_SEARCH {
            return Err(Invalid::new(
                "too_long",
                format!("must be at most {MAX_SEARCH} characters"),
            ));
        }
        Ok(Some(Self(text.to_lowercase())))
    }

    /// A SQL `LIKE` pattern: `%text%` with `\`, `%` and `_` escaped by `\`.
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.0.len() + 2);
        pattern.push('%');
        for c in self.0.chars() {
            if matches!(c, '\\' | '%' | '_') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }
}

const MAX_REASON: usize = 500;

/// Why an admin locked or unlocked an account, kept in the audit event. Control characters are
/// refused so the reason cannot forge lines in a log or an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminReason(String);

impl AdminReason {
    pub fn parse(raw: &str) -> Result<Option<Self>, Invalid> {
        let text = raw.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.chars().count() > MAX_REASON {
            return Err(Invalid::new(
                "too_long",
                format!("must be at most {MAX_REASON} characters"),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(Invalid::new(
                "invalid_characters",
                "must not contain control characters",
            ));
        }
        Ok(Some(Self(text.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn search_is_lower_cased_and_wildcards_are_literal() {
        let s = SearchText::parse("  Ra_him%\\ ").unwrap().unwrap();
        assert_eq!(s.like_pattern(), "%ra\\_him\\%\\\\%");
        assert_eq!(SearchText::parse("   ").unwrap(), None);
        assert_eq!(SearchText::parse(&"x".repeat(101)).unwrap_err().code, "too_long");
    }

    #[test]
    fn statuses_parse() {
        assert_eq!(AccountStatus::parse("Active").unwrap(), AccountStatus::Active);
        assert_eq!(AccountStatus::parse("disabled").unwrap(), AccountStatus::Disabled);
        assert_eq!(AccountStatus::parse("banned").unwrap_err().code, "invalid_choice");
    }

    #[test]
    fn reasons_are_bounded_single_lines() {
        assert_eq!(AdminReason::parse(" spam ").unwrap().unwrap().as_str(), "spam");
        assert_eq!(AdminReason::parse("").unwrap(), None);
        assert_eq!(
            AdminReason::parse("a\nforged line").unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(AdminReason::parse(&"r".repeat(501)).unwrap_err().code, "too_long");
    }
}
