//! Pages of long lists: a list shows `PER_PAGE` rows at a time and counts
//! the rows that match only up to `COUNT_CAP` (past it, it says "more than
//! 1,000"), so a page costs about the same to build for fifty rows or fifty
//! thousand. Each page asks for one row more than it shows, to know whether
//! there is a next one.

pub const PER_PAGE: i64 = 50;
/// Rows are counted up to here; a list with more says so without counting them.
pub const COUNT_CAP: i64 = 1_000;
/// The last page one can ask for (deeper than anyone reads, far from overflow).
const LAST_PAGE: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pager {
    /// This page, from 1.
    pub page: i64,
    /// Rows on all pages together, counted up to `COUNT_CAP + 1`.
    pub total: i64,
    /// Rows on this page (set by `trim`).
    pub shown: i64,
    /// A next page has rows (set by `trim`).
    pub more: bool,
    /// The list's path and its filter (URL-encoded), for the page links.
    pub path: String,
    pub query: String,
}

impl Pager {
    /// The page asked for, kept within the pages `total` rows fill (any page,
    /// when there are more rows than were counted).
    pub fn new(path: impl Into<String>, query: String, total: i64, requested: Option<i64>) -> Pager {
        let last = if total > COUNT_CAP { LAST_PAGE } else { ((total + PER_PAGE - 1) / PER_PAGE).max(1) };
        Pager { page: requested.unwrap_or(1).clamp(1, last), total, shown: 0, more: false, path: path.into(), query }
    }

    /// How many rows a count needs to read at most.
    pub fn count_limit() -> i64 {
        COUNT_CAP + 1
    }

    /// How many rows to fetch: one more than a page shows.
    pub fn limit(&self) -> i64 {
        PER_PAGE + 1
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * PER_PAGE
    }

    /// Keeps a page's rows (fetched with `limit`), noting whether more follow.
    pub fn trim<T>(&mut self, rows: &mut Vec<T>) {
        self.more = rows.len() as i64 > PER_PAGE;
        rows.truncate(PER_PAGE as usize);
        self.shown = rows.len() as i64;
    }

    /// More rows match than were counted.
    pub fn capped(&self) -> bool {
        self.total > COUNT_CAP
    }

    /// The number of pages, when all rows were counted.
    pub fn pages(&self) -> i64 {
        ((self.total + PER_PAGE - 1) / PER_PAGE).max(1)
    }

    /// How many rows match, as a list says it: "734" or "more than 1,000".
    pub fn total_text(&self) -> String {
        // COUNT_CAP, as people write it (the unit test holds the two together).
        if self.capped() { "more than 1,000".to_string() } else { self.total.to_string() }
    }

    /// The first and last row on this page, from 1 ("101–150").
    pub fn range(&self) -> String {
        let first = if self.shown == 0 { self.offset() } else { self.offset() + 1 };
        format!("{first}–{}", self.offset() + self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_counted_up_to_the_cap_and_kept_in_range() {
        let pager = |total, page| Pager::new("/x", String::new(), total, page);
        assert_eq!(pager(0, None).page, 1);
        assert_eq!(pager(50, Some(2)).page, 1);
        let mut p = pager(101, Some(3));
        assert_eq!((p.page, p.pages(), p.offset()), (3, 3, 100));
        let mut rows = vec![1];
        p.trim(&mut rows);
        assert_eq!((p.range(), p.more, p.total_text()), ("101–101".to_string(), false, "101".to_string()));
        assert_eq!(pager(101, Some(-5)).page, 1);
        assert_eq!(pager(101, Some(i64::MAX)).page, 3);
        // Past the cap: any page may be asked for, and the total is not counted.
        let mut p = pager(COUNT_CAP + 1, Some(40));
        assert_eq!((p.page, p.capped(), p.total_text()), (40, true, "more than 1,000".to_string()));
        let mut rows: Vec<i64> = (0..PER_PAGE + 1).collect();
        p.trim(&mut rows);
        assert_eq!((rows.len() as i64, p.more, p.range()), (PER_PAGE, true, "1951–2000".to_string()));
        assert_eq!(pager(COUNT_CAP + 1, Some(i64::MAX)).page, LAST_PAGE);
    }
}
