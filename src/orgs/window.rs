//! Access windows: the days (inclusive, UTC) in which an auditor's
//! membership gives access to the organisation. Outside them the
//! organisation is closed to that account, as if it were not a member.
use crate::auth::policy::Role;
use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessWindow {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

/// Where a day falls in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowState {
    NotYet(NaiveDate),
    Open,
    Ended(NaiveDate),
}

/// The SQL condition "the membership `m` is open on `day`", `day` being a
/// query parameter such as `$2`: the rule `AccessWindow::is_open` states in
/// Rust. Compile-checked queries hold their SQL as literals, so those of
/// `orgs::model` write this condition out, and a test there checks that
/// they write exactly this.
pub fn open_sql(m: &str, day: &str) -> String {
    format!("({m}.access_from IS NULL OR {m}.access_from <= {day}) AND ({m}.access_until IS NULL OR {m}.access_until >= {day})")
}

impl AccessWindow {
    pub fn state(&self, today: NaiveDate) -> WindowState {
        match (self.from, self.until) {
            (Some(f), _) if today < f => WindowState::NotYet(f),
            (_, Some(u)) if today > u => WindowState::Ended(u),
            _ => WindowState::Open,
        }
    }

    pub fn is_open(&self, today: NaiveDate) -> bool {
        self.state(today) == WindowState::Open
    }

    pub fn is_set(&self) -> bool {
        self.from.is_some() || self.until.is_some()
    }

    /// The window in words: "1 Dec 2026 to 12 Dec 2026", "until 12 Dec 2026", "no limit".
    pub fn describe(&self) -> String {
        let d = |d: NaiveDate| d.format("%-d %b %Y").to_string();
        match (self.from, self.until) {
            (Some(f), Some(u)) => format!("{} to {}", d(f), d(u)),
            (Some(f), None) => format!("from {}", d(f)),
            (None, Some(u)) => format!("until {}", d(u)),
            (None, None) => "no limit".into(),
        }
    }

    /// Reads a window from a form's two date fields (either may be empty).
    /// Errors name the field they belong to.
    pub fn parse(from: &str, until: &str, role: Role, today: NaiveDate) -> Result<AccessWindow, (&'static str, String)> {
        let day = |raw: &str, field: &'static str| -> Result<Option<NaiveDate>, (&'static str, String)> {
            let raw = raw.trim();
            if raw.is_empty() {
                return Ok(None);
            }
            NaiveDate::parse_from_str(raw, "%Y-%m-%d").map(Some).map_err(|_| (field, "Give the date as YYYY-MM-DD.".to_string()))
        };
        let window = AccessWindow { from: day(from, "access_from")?, until: day(until, "access_until")? };
        if window.is_set() && role != Role::Auditor {
            return Err(("access_from", "An access window is for auditors. Other members keep access until they are disabled.".into()));
        }
        if let (Some(f), Some(u)) = (window.from, window.until)
            && u < f
        {
            return Err(("access_until", "The window must end on or after the day it starts.".into()));
        }
        if let Some(u) = window.until
            && u < today
        {
            return Err(("access_until", "That window has already ended. Choose an end date from today on.".into()));
        }
        Ok(window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_window_opens_on_its_first_day_and_closes_after_its_last() {
        let w = AccessWindow { from: Some(d("2026-12-01")), until: Some(d("2026-12-12")) };
        assert_eq!(w.state(d("2026-11-30")), WindowState::NotYet(d("2026-12-01")));
        assert!(w.is_open(d("2026-12-01")));
        assert!(w.is_open(d("2026-12-12")));
        assert_eq!(w.state(d("2026-12-13")), WindowState::Ended(d("2026-12-12")));
        assert!(AccessWindow::default().is_open(d("2000-01-01")));
        assert!(AccessWindow { from: None, until: Some(d("2026-12-12")) }.is_open(d("1990-01-01")));
    }

    #[test]
    fn parsing_refuses_bad_windows_with_the_field_to_fix() {
        let today = d("2026-11-24");
        assert_eq!(AccessWindow::parse("", "", Role::Contributor, today), Ok(AccessWindow::default()));
        assert_eq!(
            AccessWindow::parse("2026-12-01", " 2026-12-12 ", Role::Auditor, today),
            Ok(AccessWindow { from: Some(d("2026-12-01")), until: Some(d("2026-12-12")) })
        );
        assert_eq!(AccessWindow::parse("1/12/2026", "", Role::Auditor, today).unwrap_err().0, "access_from");
        assert_eq!(AccessWindow::parse("2026-12-12", "2026-12-01", Role::Auditor, today).unwrap_err().0, "access_until");
        assert_eq!(AccessWindow::parse("", "2026-11-23", Role::Auditor, today).unwrap_err().0, "access_until");
        assert!(AccessWindow::parse("", "2026-11-24", Role::Auditor, today).is_ok());
        assert_eq!(AccessWindow::parse("2026-12-01", "", Role::IsmsLead, today).unwrap_err().0, "access_from");
    }

    #[test]
    fn windows_read_as_words() {
        assert_eq!(AccessWindow { from: Some(d("2026-12-01")), until: Some(d("2026-12-12")) }.describe(), "1 Dec 2026 to 12 Dec 2026");
        assert_eq!(AccessWindow { from: None, until: Some(d("2026-12-12")) }.describe(), "until 12 Dec 2026");
        assert_eq!(AccessWindow::default().describe(), "no limit");
    }
}
