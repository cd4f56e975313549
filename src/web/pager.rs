//! Page numbers for long lists: a list shows `PER_PAGE` rows at a time,
//! whatever the organisation's size, so a page costs the same to build for
//! fifty rows or fifty thousand.

pub const PER_PAGE: i64 = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pager {
    /// This page, from 1.
    pub page: i64,
    pub pages: i64,
    /// Rows on all pages together.
    pub total: i64,
    /// The list's path and its filter (URL-encoded), for the page links.
    pub path: &'static str,
    pub query: String,
}

impl Pager {
    /// The page asked for, kept within the pages `total` rows fill.
    pub fn new(path: &'static str, query: String, total: i64, requested: Option<i64>) -> Pager {
        let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
        Pager { page: requested.unwrap_or(1).clamp(1, pages), pages, total, path, query }
    }

    pub fn limit(&self) -> i64 {
        PER_PAGE
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * PER_PAGE
    }

    /// The first and last row on this page, from 1 ("201–400").
    pub fn range(&self) -> String {
        let first = (self.offset() + 1).min(self.total);
        let last = (self.offset() + PER_PAGE).min(self.total);
        format!("{first}–{last}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_counted_and_kept_in_range() {
        let pager = |total, page| Pager::new("/x", String::new(), total, page);
        assert_eq!((pager(0, None).page, pager(0, None).pages), (1, 1));
        assert_eq!(pager(200, Some(2)).page, 1);
        let p = pager(401, Some(3));
        assert_eq!((p.page, p.pages, p.offset(), p.range()), (3, 3, 400, "401–401".to_string()));
        assert_eq!(pager(401, Some(-5)).page, 1);
        assert_eq!(pager(401, Some(i64::MAX)).page, 3);
        assert_eq!(pager(20_000, Some(2)).range(), "201–400");
    }
}
