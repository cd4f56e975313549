//! Pages of long lists: a list shows `PER_PAGE` rows at a time and counts
//! the rows that match only up to `COUNT_CAP` (past it, it says "more than
//! 1,000"), so a page costs about the same to build for fifty rows or fifty
//! thousand.
//!
//! Pages follow each other by key, not by position: the link to the next
//! page carries the sort key of the last row shown (`after`, an opaque
//! cursor), and the next page's query starts just past it through the same
//! index that orders the list. Page 400 costs what page 1 costs, and a row
//! added meanwhile neither repeats nor hides one. Each page asks for one row
//! more than it shows, to know whether there is a next one. The link also
//! carries how many rows came before (`at`), only to number the rows shown.
use base64::Engine;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub const PER_PAGE: i64 = 50;
/// Rows are counted up to here; a list with more says so without counting them.
pub const COUNT_CAP: i64 = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pager {
    /// Rows before this page (as the link said; 0 on the first page).
    pub at: i64,
    /// This page follows another (it was asked for with a cursor).
    pub later: bool,
    /// Rows on all pages together, counted up to `COUNT_CAP + 1`.
    pub total: i64,
    /// Rows on this page (set by `trim`).
    pub shown: i64,
    /// The cursor of the next page, when it has rows (set by `trim`).
    pub next: Option<String>,
    /// The list's path and its filter (URL-encoded), for the page links.
    pub path: String,
    pub query: String,
    /// Where on the page the list starts (`#…`), when it is not at the top.
    pub anchor: &'static str,
}

/// Where a page starts, as its link gives it: `after` the row whose key the
/// cursor holds, with `at` rows before it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Position {
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub at: Option<i64>,
}

impl Position {
    /// The key of the row the page starts after (`None`: the first page; a
    /// cursor that is not one of ours also gives the first page).
    pub fn key<K: DeserializeOwned>(&self) -> Option<K> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(self.after.as_deref()?.trim()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

impl Pager {
    /// The page at `position` of a list of `total` rows (counted up to the cap).
    pub fn new<K: DeserializeOwned>(path: impl Into<String>, query: String, total: i64, position: &Position) -> (Pager, Option<K>) {
        let key = position.key::<K>();
        let later = key.is_some();
        let at = if later { position.at.unwrap_or(0).clamp(0, i64::from(i32::MAX)) } else { 0 };
        (Pager { at, later, total, shown: 0, next: None, path: path.into(), query, anchor: "" }, key)
    }

    /// Page links lead to `anchor` (`#…`) on the page, where the list starts.
    pub fn at_anchor(self, anchor: &'static str) -> Pager {
        Pager { anchor, ..self }
    }

    /// How many rows a count needs to read at most.
    pub fn count_limit() -> i64 {
        COUNT_CAP + 1
    }

    /// How many rows to fetch: one more than a page shows.
    pub fn limit(&self) -> i64 {
        PER_PAGE + 1
    }

    /// Keeps a page's rows (fetched with `limit`) and, when more follow,
    /// the cursor of the next page: the sort key of the last row kept.
    pub fn trim<T, K: Serialize>(&mut self, rows: &mut Vec<T>, key: impl Fn(&T) -> K) {
        let more = rows.len() as i64 > PER_PAGE;
        rows.truncate(PER_PAGE as usize);
        self.shown = rows.len() as i64;
        self.next = if more { rows.last().and_then(|last| serde_json::to_vec(&key(last)).ok()).map(|json| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)) } else { None };
    }

    /// More rows match than were counted.
    pub fn capped(&self) -> bool {
        self.total > COUNT_CAP
    }

    /// This page's number, from 1.
    pub fn page(&self) -> i64 {
        self.at / PER_PAGE + 1
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
        let first = if self.shown == 0 { self.at } else { self.at + 1 };
        format!("{first}–{}", self.at + self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_by_key_and_count_up_to_the_cap() {
        let first = Position::default();
        let (mut p, key) = Pager::new::<(String, i64)>("/x", String::new(), 101, &first);
        assert_eq!((key, p.page(), p.pages(), p.later), (None, 1, 3, false));
        let mut rows: Vec<(String, i64)> = (0..PER_PAGE + 1).map(|i| (format!("row {i}"), i)).collect();
        p.trim(&mut rows, |r| (r.0.clone(), r.1));
        assert_eq!((rows.len() as i64, p.range(), p.total_text()), (PER_PAGE, "1–50".to_string(), "101".to_string()));
        // The next page starts after the last row kept, numbered on from it.
        let next = Position { after: p.next.clone(), at: Some(p.at + p.shown) };
        let (mut p2, key) = Pager::new::<(String, i64)>("/x", String::new(), 101, &next);
        assert_eq!(key, Some(("row 49".to_string(), 49)));
        let mut rows = vec![("row 50".to_string(), 50)];
        p2.trim(&mut rows, |r| (r.0.clone(), r.1));
        assert_eq!((p2.page(), p2.range(), p2.next.clone(), p2.later), (2, "51–51".to_string(), None, true));
        // A cursor that is not one of ours is the first page; `at` counts only with a cursor.
        let (p3, key) = Pager::new::<(String, i64)>("/x", String::new(), 101, &Position { after: Some("not a cursor".into()), at: Some(500) });
        assert_eq!((key, p3.at, p3.later), (None, 0, false));
        let (p4, _) = Pager::new::<(String, i64)>("/x", String::new(), 101, &Position { after: next.after.clone(), at: Some(-5) });
        assert_eq!(p4.at, 0);
        // Past the cap the total is not counted.
        let (p5, _) = Pager::new::<(String, i64)>("/x", String::new(), COUNT_CAP + 1, &first);
        assert_eq!((p5.capped(), p5.total_text()), (true, "more than 1,000".to_string()));
    }
}
