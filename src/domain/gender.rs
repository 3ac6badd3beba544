//! Gender, as a closed list of choices.

use super::{required, Invalid};
use std::fmt;

/// The gender a user chose from a fixed list.
///
/// A closed enum rather than free text: the value is only ever used for
/// salutations and aggregate statistics, free text there invites abuse and
/// personal data nobody asked for, and `PreferNotToSay` keeps answering
/// optional in substance even where a form makes the field mandatory.
/// The wire names are snake_case and stable; clients translate them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
    Other,
    PreferNotToSay,
}

impl Gender {
    /// Every choice, in the order a form should offer them.
    pub const ALL: [Gender; 4] = [Gender::Male, Gender::Female, Gender::Other, Gender::PreferNotToSay];

    /// Accepts the wire names only, ignoring ASCII case and surrounding
    /// whitespace. Synonyms ("m", "woman") are refused rather than guessed.
    pub fn parse(raw: &str) -> Result<Gender, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(required());
        }
        Gender::ALL
            .into_iter()
            .find(|g| g.as_str().eq_ignore_ascii_case(raw))
            .ok_or_else(|| {
                Invalid::new(
                    "invalid_choice",
                    "must be one of: male, female, other, prefer_not_to_say",
                )
            })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Other => "other",
            Gender::PreferNotToSay => "prefer_not_to_say",
        }
    }
}

impl AsRef<str> for Gender {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Gender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_each_choice_in_any_case() {
        for (raw, want) in [
            ("male", Gender::Male),
            ("MALE", Gender::Male),
            (" Female ", Gender::Female),
            ("other", Gender::Other),
            ("Prefer_Not_To_Say", Gender::PreferNotToSay),
            ("\tprefer_not_to_say\n", Gender::PreferNotToSay),
        ] {
            assert_eq!(Gender::parse(raw), Ok(want), "{raw:?}");
        }
    }

    #[test]
    fn round_trips_through_as_str() {
        for g in Gender::ALL {
            assert_eq!(Gender::parse(g.as_str()), Ok(g));
            assert_eq!(g.to_string(), g.as_str());
        }
    }

    #[test]
    fn empty_is_required() {
        assert_eq!(Gender::parse("  ").unwrap_err().code, "required");
    }

    #[test]
    fn rejects_anything_else() {
        for raw in [
            "m",
            "f",
            "man",
            "woman",
            "prefer not to say",
            "prefer-not-to-say",
            "PreferNotToSay",
            "males",
            "unknown",
            "0",
            "ｍａｌｅ",
            "male\u{0}",
        ] {
            let err = Gender::parse(raw).unwrap_err();
            assert_eq!(err.code, "invalid_choice", "{raw:?}");
            assert_eq!(err.message, "must be one of: male, female, other, prefer_not_to_say");
        }
    }
}
