//! Which page of a list an admin asked for (`page`, `per_page` query parameters).
//!
//! Pages are numbered from 1. `per_page` is capped so one request cannot make the server read
//! and serialise a whole table; offset paging is fine at admin-list sizes and keeps the API
//! simple (`total` and `total_pages` come with every page).

use super::{FieldError, Invalid};

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;
/// Far beyond any real list; keeps `offset` well inside `i64`.
const MAX_PAGE: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    page: u32,
    per_page: u32,
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl Paging {
    /// Parses both parameters, reporting each bad one (`None` = not given).
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Paging, Vec<FieldError>> {
        let mut errors = Vec::new();
        let page = match page {
            None => 1,
            Some(raw) => whole_number(raw, 1, MAX_PAGE).unwrap_or_else(|e| {
                errors.push(e.at("page"));
                1
            }),
        };
        let per_page = match per_page {
            None => DEFAULT_PER_PAGE,
            Some(raw) => whole_number(raw, 1, MAX_PER_PAGE).unwrap_or_else(|e| {
                errors.push(e.at("per_page"));
                DEFAULT_PER_PAGE
            }),
        };
        if errors.is_empty() {
            Ok(Paging { page, per_page })
        } else {
            Err(errors)
        }
    }

    pub fn page(&self) -> u32 {
        self.page
    }

    pub fn per_page(&self) -> u32 {
        self.per_page
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    /// Pages needed for `total` items (0 for an empty list).
    pub fn total_pages(&self, total: i64) -> i64 {
        let per = i64::from(self.per_page);
        (total.max(0) + per - 1) / per
    }
}

fn whole_number(raw: &str, min: u32, max: u32) -> Result<u32, Invalid> {
    let out_of_range = || Invalid::new("out_of_range", format!("must be a whole number from {min} to {max}"));
    let raw = raw.trim();
    if raw.is_empty() || !raw.chars().all(|c| c.is_ascii_digit()) {
        return Err(out_of_range());
    }
    raw.parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(out_of_range)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_the_first_page_of_twenty() {
        let p = Paging::parse(None, None).unwrap();
        assert_eq!((p.page(), p.per_page(), p.offset(), p.limit()), (1, 20, 0, 20));
    }

    #[test]
    fn offsets_follow_the_page() {
        let p = Paging::parse(Some("3"), Some("50")).unwrap();
        assert_eq!(p.offset(), 100);
        assert_eq!(p.total_pages(101), 3);
        assert_eq!(p.total_pages(0), 0);
    }

    #[test]
    fn every_bad_value_is_named() {
        for (page, per_page, fields) in [
            (Some("0"), None, vec!["page"]),
            (Some("-1"), Some("101"), vec!["page", "per_page"]),
            (Some("two"), Some("1e3"), vec!["page", "per_page"]),
            (None, Some(""), vec!["per_page"]),
            (Some("99999999999999999999"), None, vec!["page"]),
        ] {
            let errors = Paging::parse(page, per_page).unwrap_err();
            let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(named, fields, "{page:?} {per_page:?}");
            assert!(errors.iter().all(|e| e.code == "out_of_range"));
        }
    }
}
