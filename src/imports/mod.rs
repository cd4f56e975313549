//! One pipeline for every CSV import: people, training completions and
//! policy acknowledgements. A file is read and checked line by line as it
//! arrives (`web::sheet`), so it is never held whole; the checked rows and
//! every problem are stored (`model`); the preview shows, line by line, what
//! is wrong or what applying would change; and applying changes everything
//! or nothing, once (`routes`).
//!
//! A kind of import says only what is its own ([`Import`]): its columns, how
//! a line is checked, what applying would change and how to apply it.
pub mod model;
pub mod routes;

use crate::audit::Actor;
use crate::error::AppResult;
use crate::ids::{OrgId, PersonId};
use crate::web::form::parse_email;
use crate::web::sheet::{self, Column, Problem, TooManyRows};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use std::future::Future;

crate::text_enum! {
    /// What an import brings in (`imports.kind`).
    pub enum Kind {
        People = "people" => "people",
        Training = "training" => "training completions",
        Acknowledgements = "acknowledgements" => "policy acknowledgements",
    }
}

/// Checks one line of a file on its own and against the lines before it.
pub trait CheckLine: Send {
    type Row;
    /// Adds the line's row to `found`, or its problems (a row with problems
    /// may be kept too, when later checks need it).
    fn check(&mut self, line: &sheet::Line<'_>, found: &mut Found<Self::Row>);
}

/// What the lines read so far gave.
#[derive(Debug)]
pub struct Found<R> {
    pub rows: Vec<R>,
    pub problems: Vec<Problem>,
}

impl<R> Found<R> {
    pub fn problem(&mut self, line: u64, column: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(line, column, message));
    }
}

/// A file read to its end: the columns it has, the checked rows and every
/// problem, in line order. A file with problems is never applied.
#[derive(Debug)]
pub struct Checked<R> {
    pub columns: Vec<String>,
    pub rows: Vec<R>,
    pub problems: Vec<Problem>,
}

impl<R> Checked<R> {
    /// A file refused for having too many lines: that is its only problem.
    pub fn too_many(t: TooManyRows) -> Self {
        Checked { columns: Vec::new(), rows: Vec::new(), problems: vec![t.problem()] }
    }
}

/// Reads a file as it arrives (`feed` each piece, then `finish`), handing
/// every line to the kind's checker. Only checked rows are kept.
pub struct Parser<C: CheckLine> {
    sheet: sheet::Reader,
    checker: C,
    found: Found<C::Row>,
}

impl<C: CheckLine> Parser<C> {
    pub fn new(checker: C, headings: &'static [Column], required: &'static [&'static str], ignored: &'static [&'static str], max_rows: usize) -> Self {
        Parser { sheet: sheet::Reader::new(headings, required, ignored, max_rows), checker, found: Found { rows: Vec::new(), problems: Vec::new() } }
    }

    /// The next piece of the file; fails once it has more lines than allowed.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), TooManyRows> {
        let (checker, found) = (&mut self.checker, &mut self.found);
        self.sheet.feed(bytes, &mut |l| checker.check(l, found))
    }

    /// The end of the file: the checked file, and the checker (with what it
    /// learnt of the whole file, for checks that need it).
    pub fn finish(self) -> Result<(Checked<C::Row>, C), TooManyRows> {
        let Parser { sheet, mut checker, mut found } = self;
        let summary = sheet.finish(&mut |l| checker.check(l, &mut found))?;
        let columns = summary.columns.iter().map(|c| c.to_string()).collect();
        if !summary.readable {
            return Ok((Checked { columns, rows: Vec::new(), problems: summary.problems }, checker));
        }
        let mut problems = summary.problems;
        problems.append(&mut found.problems);
        problems.sort_by_key(|p| p.line);
        Ok((Checked { columns, rows: found.rows, problems }, checker))
    }

    /// Reads a whole file at once (tests and small files).
    pub fn read(mut self, bytes: &[u8]) -> Result<(Checked<C::Row>, C), TooManyRows> {
        self.feed(bytes)?;
        self.finish()
    }
}

/// The directory by lower-case e-mail address, for files that name people.
pub async fn directory(db: &PgPool, org_id: OrgId) -> AppResult<HashMap<String, PersonId>> {
    Ok(sqlx::query!(r#"SELECT lower(email) AS "email!", id AS "id: PersonId" FROM people WHERE org_id = $1"#, org_id.0)
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|p| (p.email, p.id))
        .collect())
}

/// The person a line's `email` cell names, or its problem.
pub fn person<R>(people: &HashMap<String, PersonId>, l: &sheet::Line<'_>, found: &mut Found<R>) -> Option<PersonId> {
    match parse_email(&l.get("email")) {
        Ok(e) => {
            let id = people.get(&e).copied();
            if id.is_none() {
                found.problem(l.line, "email", format!("Nobody in the directory has the address {e}. Add them, or correct the address."));
            }
            id
        }
        Err(e) => {
            found.problem(l.line, "email", format!("{e} (found \"{}\")", l.get("email").trim()));
            None
        }
    }
}

/// A date, or the date part of a timestamp ("2026-03-04T10:00:00Z", "2026-03-04 10:00").
pub fn parse_day(raw: &str) -> Option<NaiveDate> {
    let v = raw.trim();
    let day = v.split(['T', ' ']).next().unwrap_or(v);
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

/// The day in a line's `column`, not after `today`, or its problem.
pub fn day<R>(l: &sheet::Line<'_>, column: &str, today: NaiveDate, found: &mut Found<R>) -> Option<NaiveDate> {
    match parse_day(&l.get(column)) {
        Some(d) if d > today => {
            found.problem(l.line, column, format!("{d} is in the future."));
            None
        }
        Some(d) => Some(d),
        None => {
            found.problem(l.line, column, format!("Write the date as YYYY-MM-DD, not \"{}\".", l.get(column).trim()));
            None
        }
    }
}

/// One line of "What will happen": a number and what it counts.
pub struct Effect {
    pub count: usize,
    pub what: String,
}

/// A table of the changes an import would make (the first of them).
pub struct Table {
    pub heading: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub total: usize,
}

/// A sentence the preview shows beside the effects, with a link.
pub struct Notice {
    pub id: &'static str,
    pub before: String,
    pub link: (&'static str, &'static str),
    pub after: String,
}

/// What applying an import would change now, as the preview shows it.
#[derive(Default)]
pub struct Preview {
    pub effects: Vec<Effect>,
    /// The apply button's words; `None` when there is nothing to apply.
    pub apply: Option<String>,
    /// What to say when there is nothing to apply.
    pub nothing: String,
    pub notices: Vec<Notice>,
    pub tables: Vec<Table>,
    /// Problems that show only once the file meets the stored records
    /// (dates that clash with stored ones, managers that would form a loop):
    /// like the file's own, they stop the import.
    pub problems: Vec<Problem>,
}

impl Preview {
    /// For files of records that are only ever added: `new` to record,
    /// `known` already recorded and skipped. `one`, `many`: "completion", "completions".
    /// `one` and `many`: the record's noun, singular and plural ("completion", "completions").
    pub fn additions(new: usize, known: usize, one: &str, many: &str) -> Self {
        Preview {
            effects: vec![
                Effect { count: new, what: format!("new {} recorded", if new == 1 { one } else { many }) },
                Effect { count: known, what: "already recorded, skipped".into() },
            ],
            apply: (new > 0).then(|| format!("Apply: record {new}")),
            nothing: "Everything in this file is already recorded. There is nothing to apply.".into(),
            ..Default::default()
        }
    }
}

/// What applying did: kept with the import and shown to the user.
pub struct Applied {
    pub summary: serde_json::Value,
    pub message: String,
}

/// How many rows of a table the preview lists.
pub const SHOWN: usize = 200;

/// One kind of import: what is its own. The pipeline (`routes`) does the rest.
pub trait Import: Send + Sync + 'static {
    /// A checked line, stored with the import until it is applied.
    type Row: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// Checks lines as they arrive, knowing what it needs of the organisation.
    type Lines: CheckLine<Row = Self::Row> + 'static;
    /// What applying would do, worked out against the records as they are.
    type Plan: Send;

    const KIND: Kind;
    /// Where the import lives (`/people/import`); the preview is under it.
    const PATH: &'static str;
    /// The page the import belongs to, and where applying ends: (path, name).
    const HOME: (&'static str, &'static str);
    /// The upload page's heading.
    const TITLE: &'static str;
    /// What the upload page says first.
    const INTRO: &'static str;
    /// The file name when the browser sends none, and the template's name.
    const FILE: &'static str;
    const MAX_BYTES: usize;
    const MAX_ROWS: usize;
    /// The columns it understands, with what goes in them.
    const COLUMNS: &'static [(&'static str, &'static str)];
    /// One row, how many of them: "person", "people".
    const ROW: (&'static str, &'static str);

    /// A file with the headings and an example line.
    fn template() -> String;

    /// The line checker for this organisation today.
    fn lines(db: &PgPool, org_id: OrgId, today: NaiveDate) -> impl Future<Output = AppResult<Self::Lines>> + Send;

    /// Feeds a whole file to a fresh checker (tests, and the checks below).
    fn parser(lines: Self::Lines) -> Parser<Self::Lines>;

    /// Checks that need the whole file and the database (people: managers
    /// named in the file but not in it must be in the directory).
    fn complete(_db: &PgPool, _org_id: OrgId, _lines: Self::Lines, _checked: &mut Checked<Self::Row>) -> impl Future<Output = AppResult<()>> + Send {
        async { Ok(()) }
    }

    /// Lines the upload page adds under the columns (the module titles a
    /// training file may name).
    fn notes(_db: &PgPool, _org_id: OrgId) -> impl Future<Output = AppResult<Vec<String>>> + Send {
        async { Ok(Vec::new()) }
    }

    /// What applying the rows would do now. `Err` says why the file no
    /// longer fits the records (it must be checked again).
    fn plan(
        conn: &mut PgConnection,
        org_id: OrgId,
        columns: &[String],
        rows: Vec<Self::Row>,
        today: NaiveDate,
    ) -> impl Future<Output = AppResult<Result<Self::Plan, String>>> + Send;

    fn preview(plan: &Self::Plan) -> Preview;

    /// Applies the plan in the caller's transaction (which holds the lock).
    fn apply(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, plan: Self::Plan) -> impl Future<Output = AppResult<Applied>> + Send;

    /// What applying did, from its stored summary, for the preview of an applied import.
    fn applied_note(summary: &serde_json::Value) -> String;

    /// Held by the apply transaction before anything is read, so two
    /// imports of the same kind never race (people: the directory lock).
    fn lock(conn: &mut PgConnection, org_id: OrgId) -> impl Future<Output = AppResult<()>> + Send {
        let _ = (conn, org_id);
        async { Ok(()) }
    }
}

crate::text_enum! {
    /// How a record given outside Mandate was given (an acknowledgement, a
    /// completed training): the `how` column of an import.
    pub enum How {
        Paper = "paper" => "on paper",
        Email = "email" => "by e-mail",
        Lms = "lms" => "in a learning platform",
        Other = "other" => "another way",
    }
}

/// How a record reached Mandate, in words for its pages: "on paper,
/// recorded in Mandate by lead@acme.example on 2026-11-02" for one given
/// outside Mandate (`how`), "recorded in Mandate by … on …" for one entered
/// by hand; empty when no account entered it (an act made in Mandate).
pub fn recorded_words(how: Option<How>, account: Option<&str>, at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    let Some(account) = account else { return String::new() };
    let when = at.map(|t| format!(" on {}", t.format("%Y-%m-%d"))).unwrap_or_default();
    match how {
        Some(How::Other) | None => format!("recorded in Mandate by {account}{when}"),
        Some(h) => format!("{}, recorded in Mandate by {account}{when}", h.label()),
    }
}

impl How {
    /// As people write it in a file: "paper", "e-mail", "LMS"...; empty is "another way".
    pub fn parse_cell(raw: &str) -> Option<How> {
        match raw.trim().to_lowercase().replace(['-', ' '], "").as_str() {
            "" | "other" => Some(How::Other),
            "paper" | "signed" | "form" => Some(How::Paper),
            "email" | "mail" => Some(How::Email),
            "lms" | "learningplatform" | "elearning" | "online" => Some(How::Lms),
            _ => None,
        }
    }
}

#[cfg(test)]
mod how_tests {
    use super::*;

    #[test]
    fn how_a_record_came_in_reads_as_words() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-02T09:00:00Z").unwrap().to_utc();
        assert_eq!(recorded_words(Some(How::Paper), Some("lead@acme.example"), Some(at)), "on paper, recorded in Mandate by lead@acme.example on 2026-11-02");
        assert_eq!(recorded_words(Some(How::Lms), Some("lead@acme.example"), None), "in a learning platform, recorded in Mandate by lead@acme.example");
        assert_eq!(recorded_words(None, Some("lead@acme.example"), Some(at)), "recorded in Mandate by lead@acme.example on 2026-11-02");
        assert_eq!(recorded_words(Some(How::Paper), None, Some(at)), "");
    }
}
