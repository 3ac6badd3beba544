//! Domain types: values that have been checked at the edge of the system.
//!
//! Each type here can only be built through its `parse` function, which
//! either returns a value that satisfies every rule or an [`Invalid`] saying
//! which rule was broken. Past the HTTP handler the rest of the server takes
//! `Email`, `Password`, ... instead of `String`, so a value that was never
//! validated cannot reach the database, a hash function or an email template
//! ("parse, don't validate"). For the same reason none of these types
//! implements `Deserialize`: deserialising would be a second, unchecked door.
//!
//! # Error codes
//!
//! An [`Invalid`] carries a stable snake_case `code` (for programs: a client
//! may translate it) and an English `message` (for people: a client may show
//! it as-is, after the field label). Codes are part of the public API; do not
//! rename them.
//!
//! | code | raised by | meaning |
//! | --- | --- | --- |
//! | `required` | all | empty after trimming |
//! | `too_short` | `Username`, `Password` | below the minimum length |
//! | `too_long` | all text types | above the maximum length |
//! | `invalid_characters` | `PersonName`, `Username` | a character outside the allowed set |
//! | `invalid_format` | `Email`, `DateOfBirth`, `Username` | the shape is wrong (e.g. no `@`, not `YYYY-MM-DD`, a leading dot) |
//! | `invalid_date` | `DateOfBirth` | not a real calendar date, or implausibly old (> 130 years) |
//! | `in_future` | `DateOfBirth` | today or later |
//! | `too_young` | `DateOfBirth` | younger than the minimum age |
//! | `invalid_choice` | `Gender` | not one of the listed options |
//! | `invalid_mobile` | `BdMobile` | not a Bangladeshi mobile number |
//! | `reserved` | `Username` | a name kept for the system or likely to mislead |
//! | `composition` | `Password` | the optional character-class rule is on and classes are missing |
//! | `common_password` | `Password` | in the bundled list of breached passwords |
//! | `contains_personal_info` | `Password` | contains the user's email, name or username |
//! | `too_weak` | `Password` | zxcvbn score below the configured strength |
//! | `out_of_range` | `Paging` | `page` or `per_page` is not a whole number in range |

pub mod admin;
pub mod birth_date;
pub mod email;
pub mod gender;
pub mod mobile;
pub mod name;
pub mod paging;
pub mod passkey_name;
pub mod password;
pub mod role;
pub mod username;

pub use admin::{AccountStatus, AdminReason, SearchText};
pub use birth_date::DateOfBirth;
pub use email::Email;
pub use gender::Gender;
pub use mobile::BdMobile;
pub use name::PersonName;
pub use paging::Paging;
pub use passkey_name::PasskeyName;
pub use password::{Password, PasswordContext, PasswordRules};
pub use role::{Permission, RoleName, Roles};
pub use username::Username;

/// Why one input value was refused.
///
/// It does not know which field it is about: the same `Email::parse` serves
/// the `email` field of registration and of a password reset. The handler
/// names the field with [`Invalid::at`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Stable machine-readable reason; see the table in the module docs.
    pub code: &'static str,
    /// A sentence a client can show to the person who typed the value.
    pub message: String,
}

impl Invalid {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Attaches the name of the request field the value came from.
    pub fn at(self, field: &str) -> FieldError {
        FieldError {
            field: field.to_owned(),
            code: self.code,
            message: self.message,
        }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

/// One entry of a 422 problem+json `errors` array.
///
/// A form is validated as a whole and every bad field is reported at once,
/// so a person fixes them all in one round trip instead of one per submit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

/// Builds the `required` error all types share, so the wording is identical.
pub(crate) fn required() -> Invalid {
    Invalid::new("required", "is required")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn at_names_the_field_and_keeps_the_reason() {
        let err = Invalid::new("too_long", "must be at most 50 characters").at("first_name");
        assert_eq!(err.field, "first_name");
        assert_eq!(err.code, "too_long");
        assert_eq!(err.message, "must be at most 50 characters");
    }

    #[test]
    fn display_is_the_message() {
        let err = Invalid::new("required", "is required");
        assert_eq!(err.to_string(), "is required");
    }
}
