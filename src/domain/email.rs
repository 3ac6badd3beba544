//! Email addresses as accepted at registration and login.

use super::{required, Invalid};
use std::fmt;

/// The longest address that fits in an SMTP `RCPT TO` path (RFC 5321
/// §4.5.3.1.3: 256 octets including the angle brackets).
const MAX_LEN: usize = 254;
/// RFC 5321 §4.5.3.1.1.
const MAX_LOCAL_LEN: usize = 64;
/// RFC 1035 §2.3.4.
const MAX_LABEL_LEN: usize = 63;

const FORMAT_HINT: &str = "must be an email address such as name@example.com";

/// A syntactically valid email address.
///
/// The accepted syntax is deliberately narrower than RFC 5322: a dot-atom
/// local part made of ASCII letters, digits and `. _ % + - '`, and a DNS
/// host name. Quoted local parts (`"john doe"@x`), comments, IP-literal
/// domains (`x@[10.0.0.1]`) and non-ASCII addresses (SMTPUTF8, IDN) are
/// refused: they are almost never typed on purpose, many mail relays mangle
/// them, and each one is a place where two programs can disagree about who
/// the recipient is (the root of several account-takeover bugs). The
/// apostrophe is kept because real people are called O'Brien.
///
/// Whether an address *exists* is not decided here; that is what the
/// verification email is for.
///
/// The domain is stored lower-cased (DNS is case-insensitive). The local
/// part is kept as typed, because RFC 5321 §2.4 lets a server treat it as
/// case-sensitive and mail must go to exactly what the user gave us. For
/// uniqueness and look-up use [`Email::canonical`] instead, or `Bob@x.com`
/// and `bob@x.com` could hold two accounts that share one inbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Email(String);

impl Email {
    /// Checks the syntax of an address typed by a user. Surrounding
    /// whitespace is ignored (copy-paste from a mail client adds it).
    pub fn parse(raw: &str) -> Result<Email, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(required());
        }
        if !raw.is_ascii() {
            return Err(Invalid::new(
                "invalid_format",
                "must contain only Latin letters, digits and the usual punctuation (no accents or other scripts)",
            ));
        }
        if raw.len() > MAX_LEN {
            return Err(Invalid::new(
                "too_long",
                format!("must be at most {MAX_LEN} characters"),
            ));
        }
        let Some((local, domain)) = raw.split_once('@') else {
            return Err(Invalid::new("invalid_format", FORMAT_HINT));
        };
        if domain.contains('@') {
            return Err(Invalid::new("invalid_format", "must contain exactly one @"));
        }
        check_local(local)?;
        let domain = domain.to_ascii_lowercase();
        check_domain(&domain)?;
        Ok(Email(format!("{local}@{domain}")))
    }

    /// The address as it should be written on an envelope.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`, in the case the user typed it.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(local, _)| local)
    }

    /// The part after the `@`, lower-case.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }

    /// The whole address lower-cased: the key for uniqueness and look-up.
    ///
    /// Every mainstream provider ignores case in the local part, so two
    /// addresses that differ only in case are the same person. Provider
    /// specific folding (Gmail dots, `+tags`) is not applied: it is not
    /// universal, and guessing wrong would merge two different people.
    pub fn canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

fn check_local(local: &str) -> Result<(), Invalid> {
    if local.is_empty() {
        return Err(Invalid::new("invalid_format", "must have a name before the @"));
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err(Invalid::new(
            "too_long",
            format!("must have at most {MAX_LOCAL_LEN} characters before the @"),
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '\'');
    if !local.chars().all(allowed) {
        return Err(Invalid::new(
            "invalid_format",
            "may contain only letters, digits and . _ % + - ' before the @",
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(Invalid::new(
            "invalid_format",
            "must not start or end with a dot, or have two dots in a row, before the @",
        ));
    }
    Ok(())
}

/// `domain` is already lower-case ASCII.
fn check_domain(domain: &str) -> Result<(), Invalid> {
    let bad = || {
        Invalid::new(
            "invalid_format",
            "must have a valid domain after the @, such as example.com",
        )
    };
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(bad());
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if !labels.iter().all(|label| label_ok(label)) {
        return Err(bad());
    }
    // An all-letter top-level domain rules out IP addresses (`x@10.0.0.1`)
    // and typos such as `x@gmail.c0m`; every delegated TLD has at least two
    // letters (punycode TLDs `xn--...` are out along with IDN in general).
    let tld = labels.last().copied().unwrap_or_default();
    if tld.len() < 2 || !tld.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(bad());
    }
    Ok(())
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn code(raw: &str) -> &'static str {
        match Email::parse(raw) {
            Ok(email) => panic!("{raw:?} was accepted as {email}"),
            Err(err) => err.code,
        }
    }

    #[test]
    fn accepts_ordinary_addresses() {
        for raw in [
            "user@example.com",
            "first.last@example.co.uk",
            "user+tag@example.com",
            "o'brien@example.ie",
            "a_b-c%d@sub-domain.example.org",
            "x@a.io",
            "1234@123.example.bd",
            "rahim.uddin@mail.gov.bd",
        ] {
            let email = Email::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
            assert_eq!(email.as_str(), raw);
        }
    }

    #[test]
    fn trims_and_lowercases_only_the_domain() {
        let email = Email::parse("  John.Doe@Example.COM \n").unwrap();
        assert_eq!(email.as_str(), "John.Doe@example.com");
        assert_eq!(email.as_ref(), "John.Doe@example.com");
        assert_eq!(email.to_string(), "John.Doe@example.com");
        assert_eq!(email.local_part(), "John.Doe");
        assert_eq!(email.domain(), "example.com");
        assert_eq!(email.canonical(), "john.doe@example.com");
    }

    #[test]
    fn canonical_forms_collide_when_only_case_differs() {
        let a = Email::parse("Bob@Example.com").unwrap();
        let b = Email::parse("bob@example.COM").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.canonical(), b.canonical());
    }

    #[test]
    fn empty_is_required() {
        assert_eq!(code(""), "required");
        assert_eq!(code("   \t"), "required");
    }

    #[test]
    fn rejects_bad_shapes() {
        for raw in [
            "plainaddress",
            "@example.com",
            "user@",
            "user@@example.com",
            "a@b@example.com",
            "user@example",
            "user@example.c",
            "user@example.c0m",
            "user@10.0.0.1",
            "user@[10.0.0.1]",
            "user@-example.com",
            "user@example-.com",
            "user@exa_mple.com",
            "user@example..com",
            "user@.example.com",
            "user@example.com.",
            ".user@example.com",
            "user.@example.com",
            "us..er@example.com",
            "us er@example.com",
            "\"john doe\"@example.com",
            "user(comment)@example.com",
            "user@exa mple.com",
            "<script>@example.com",
            "user,name@example.com",
            "user;name@example.com",
            "user@example.com\r\nBcc: x@evil.com",
        ] {
            assert_eq!(code(raw), "invalid_format", "{raw:?}");
        }
    }

    #[test]
    fn rejects_non_ascii() {
        for raw in [
            "jörg@example.de",
            "user@bücher.de",
            "রহিম@example.com",
            "user@example.com\u{200b}",
        ] {
            assert_eq!(code(raw), "invalid_format", "{raw:?}");
        }
    }

    #[test]
    fn enforces_rfc_lengths() {
        let local64 = "a".repeat(64);
        assert!(Email::parse(&format!("{local64}@example.com")).is_ok());
        assert_eq!(code(&format!("{}@example.com", "a".repeat(65))), "too_long");

        let label63 = "b".repeat(63);
        assert!(Email::parse(&format!("a@{label63}.com")).is_ok());
        assert_eq!(code(&format!("a@{}.com", "b".repeat(64))), "invalid_format");

        // 64 + 1 + 63 + 1 + 63 + 1 + 57 + 4 = 254
        let at_limit = format!("{local64}@{label63}.{label63}.{}.com", "c".repeat(57));
        assert_eq!(at_limit.len(), 254);
        assert!(Email::parse(&at_limit).is_ok());
        let over = format!("{local64}@{label63}.{label63}.{}.com", "c".repeat(58));
        assert_eq!(code(&over), "too_long");
    }

    #[test]
    fn messages_are_sentences_for_people() {
        let err = Email::parse("nope").unwrap_err();
        assert_eq!(err.message, "must be an email address such as name@example.com");
    }
}
