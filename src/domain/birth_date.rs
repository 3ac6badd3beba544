//! Date of birth, checked against "today" and a minimum age.

use super::{required, Invalid};
use chrono::{Datelike, NaiveDate};
use std::fmt;

/// Nobody verifiably alive is older; an older date is a typo (1825 for 1985)
/// or a bot filling the field with its first valid value.
const MAX_AGE: u32 = 130;

const FORMAT_HINT: &str = "must be a date in the form YYYY-MM-DD";

/// A plausible date of birth of someone old enough to hold an account.
///
/// The wire format is strictly ISO 8601 `YYYY-MM-DD` (a form's
/// `<input type="date">` sends exactly that). Locale formats are refused
/// rather than guessed: `03/04/2005` is March in the US and April in
/// Bangladesh, and a wrong guess silently changes whether someone is old
/// enough.
///
/// `today` is a parameter, not read from the clock, so the age rule can be
/// tested on any day (and the caller decides which time zone "today" is in).
/// Age is counted in completed years: the birthday itself counts as
/// reached, and someone born on 29 February reaches it on 1 March in a
/// non-leap year (the reading most age-of-consent laws use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct DateOfBirth(NaiveDate);

impl DateOfBirth {
    /// Rules, first failure wins: format → real date → in the past →
    /// at most 130 years ago → at least `min_age` full years ago.
    pub fn parse(raw: &str, today: NaiveDate, min_age: u32) -> Result<DateOfBirth, Invalid> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(required());
        }
        let (year, month, day) = split_iso(raw).ok_or_else(|| Invalid::new("invalid_format", FORMAT_HINT))?;
        let date = NaiveDate::from_ymd_opt(year, month, day)
            .ok_or_else(|| Invalid::new("invalid_date", "is not a real calendar date"))?;
        if date >= today {
            return Err(Invalid::new("in_future", "must be in the past"));
        }
        let dob = DateOfBirth(date);
        let age = dob.age_on(today);
        if age > MAX_AGE {
            return Err(Invalid::new(
                "invalid_date",
                format!("must be within the last {MAX_AGE} years"),
            ));
        }
        if age < min_age {
            return Err(Invalid::new(
                "too_young",
                format!("you must be at least {min_age} years old"),
            ));
        }
        Ok(dob)
    }

    pub fn date(&self) -> NaiveDate {
        self.0
    }

    /// Completed years on `today`; 0 if `today` is before the birth date.
    pub fn age_on(&self, today: NaiveDate) -> u32 {
        let born = self.0;
        let mut years = today.year() - born.year();
        // Comparing (month, day) pairs makes a 29 February birthday fall
        // after 28 February and before 1 March in every year.
        if (today.month(), today.day()) < (born.month(), born.day()) {
            years -= 1;
        }
        u32::try_from(years).unwrap_or(0)
    }
}

/// `YYYY-MM-DD` with exactly four, two and two ASCII digits.
fn split_iso(raw: &str) -> Option<(i32, u32, u32)> {
    let b = raw.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &b[range];
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let year = i32::try_from(digits(0..4)?).ok()?;
    Some((year, digits(5..7)?, digits(8..10)?))
}

impl fmt::Display for DateOfBirth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn today() -> NaiveDate {
        d(2025, 6, 15)
    }

    fn code(raw: &str, min_age: u32) -> &'static str {
        match DateOfBirth::parse(raw, today(), min_age) {
            Ok(dob) => panic!("{raw:?} was accepted as {dob}"),
            Err(err) => err.code,
        }
    }

    #[test]
    fn accepts_plausible_dates() {
        for raw in ["1990-01-31", "2000-02-29", "1985-12-01", " 2010-06-15 ", "1896-01-01"] {
            let dob = DateOfBirth::parse(raw, today(), 13).unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
            assert_eq!(dob.to_string(), raw.trim());
        }
        assert_eq!(
            DateOfBirth::parse("1990-01-31", today(), 13).unwrap().date(),
            d(1990, 1, 31)
        );
    }

    #[test]
    fn empty_is_required() {
        assert_eq!(code("", 0), "required");
        assert_eq!(code("  ", 0), "required");
    }

    #[test]
    fn only_strict_iso_format() {
        for raw in [
            "1990-1-31",
            "1990-01-1",
            "90-01-31",
            "01/31/1990",
            "31/01/1990",
            "1990/01/31",
            "1990.01.31",
            "19900131",
            "1990-01-31T00:00:00",
            "1990-01-31Z",
            "+1990-01-31",
            "1990-0a-31",
            "1990 01 31",
            "١٩٩٠-٠١-٣١",
            "১৯৯০-০১-৩১",
            "yesterday",
            "1990-01-3１",
        ] {
            assert_eq!(code(raw, 0), "invalid_format", "{raw:?}");
        }
        let err = DateOfBirth::parse("31/01/1990", today(), 0).unwrap_err();
        assert_eq!(err.message, "must be a date in the form YYYY-MM-DD");
    }

    #[test]
    fn impossible_dates() {
        for raw in [
            "2023-02-30",
            "2023-02-29",
            "1990-13-01",
            "1990-00-10",
            "1990-01-00",
            "1990-04-31",
            "1990-01-32",
        ] {
            assert_eq!(code(raw, 0), "invalid_date", "{raw:?}");
        }
    }

    #[test]
    fn today_and_later_are_in_future() {
        assert_eq!(code("2025-06-15", 0), "in_future");
        assert_eq!(code("2025-06-16", 0), "in_future");
        assert_eq!(code("2099-01-01", 0), "in_future");
        assert!(DateOfBirth::parse("2025-06-14", today(), 0).is_ok());
    }

    #[test]
    fn older_than_130_is_implausible() {
        // "Older than 130" is in completed years, like the minimum age.
        assert!(DateOfBirth::parse("1895-06-15", today(), 13).is_ok()); // 130 today
        assert!(DateOfBirth::parse("1894-06-16", today(), 13).is_ok()); // 131 tomorrow
        assert_eq!(code("1894-06-15", 13), "invalid_date"); // 131 today
        assert_eq!(code("1066-10-14", 13), "invalid_date");
        assert_eq!(code("0000-01-01", 13), "invalid_date");
    }

    #[test]
    fn minimum_age_counts_full_years() {
        // Turns 13 today: allowed. Turns 13 tomorrow: not yet.
        assert!(DateOfBirth::parse("2012-06-15", today(), 13).is_ok());
        assert_eq!(code("2012-06-16", 13), "too_young");
        let err = DateOfBirth::parse("2012-06-16", today(), 13).unwrap_err();
        assert_eq!(err.message, "you must be at least 13 years old");
        assert!(DateOfBirth::parse("2012-06-16", today(), 12).is_ok());
        assert!(DateOfBirth::parse("2025-06-14", today(), 0).is_ok());
    }

    #[test]
    fn leap_day_birthdays() {
        let dob = DateOfBirth::parse("2008-02-29", d(2026, 3, 1), 0).unwrap();
        assert_eq!(dob.age_on(d(2026, 2, 28)), 17);
        assert_eq!(dob.age_on(d(2026, 3, 1)), 18);
        assert_eq!(dob.age_on(d(2028, 2, 28)), 19);
        assert_eq!(dob.age_on(d(2028, 2, 29)), 20);
        assert_eq!(
            DateOfBirth::parse("2008-02-29", d(2026, 2, 28), 18).unwrap_err().code,
            "too_young"
        );
        assert!(DateOfBirth::parse("2008-02-29", d(2026, 3, 1), 18).is_ok());
    }

    #[test]
    fn age_on_edges() {
        let dob = DateOfBirth::parse("2000-12-31", today(), 0).unwrap();
        assert_eq!(dob.age_on(d(2001, 12, 30)), 0);
        assert_eq!(dob.age_on(d(2001, 12, 31)), 1);
        assert_eq!(dob.age_on(d(1999, 1, 1)), 0);
        assert_eq!(dob.age_on(today()), 24);
    }
}
