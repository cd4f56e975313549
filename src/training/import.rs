//! Completions exported from a learning platform, as CSV: checked line by
//! line (unknown people and modules, bad dates and scores, duplicates),
//! previewed, then applied. Completions already recorded are skipped, so the
//! same file can be imported again without effect.
use super::model::{Completion, RecordSource};
use crate::imports::How;
use crate::audit::Actor;
use crate::error::AppResult;
use crate::ids::{ModuleId, OrgId, PersonId};
use sqlx::{PgConnection, PgPool};
pub use crate::web::sheet::TooManyRows;
use crate::imports::{self, Found};
use crate::web::sheet::{self, Column};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// A file over either limit is refused whole. A year of completions for
/// 5,000 people on ten modules is 50,000 lines of about 80 bytes.
pub const MAX_ROWS: usize = 50_000;
pub const MAX_BYTES: usize = 6 * 1024 * 1024;

pub const COLUMNS: [(&str, &str); 5] = [
    ("email", "The person's e-mail address, as in the people directory. Required."),
    ("module", "The training module's title, as in Mandate. Required."),
    ("completed_on", "The day it was completed, as YYYY-MM-DD (a time after the date is ignored). Required."),
    ("score", "Optional: the score, 0 to 100 (a % sign is fine)."),
    ("how", "Optional: how it was done or certified: LMS, paper or e-mail. Empty means another way."),
];

const HEADINGS: [Column; 5] = [
    Column { name: "email", aliases: &["e_mail", "email_address", "user_email", "learner_email", "user"] },
    Column { name: "module", aliases: &["course", "course_name", "course_title", "training", "module_title", "title"] },
    Column { name: "completed_on", aliases: &["completed", "completion_date", "date_completed", "completed_at", "finished", "date"] },
    Column { name: "score", aliases: &["result", "grade", "percent", "percentage", "mark"] },
    Column { name: "how", aliases: &["method", "channel", "given"] },
];

/// One checked completion. Stored as a JSON array of its fields in order;
/// the older object form still reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Row {
    pub line: u64,
    pub person_id: PersonId,
    pub module_id: ModuleId,
    pub completed_on: NaiveDate,
    pub score: Option<f64>,
    /// Rows checked before files said how read as "another way".
    #[serde(default = "other")]
    pub how: How,
}

fn other() -> How {
    How::Other
}

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.line, self.person_id, self.module_id, self.completed_on, self.score, self.how).serialize(s)
    }
}

/// A checked file: its rows and problems.
pub type Parsed = imports::Checked<Row>;

fn parse_score(raw: &str) -> Result<Option<f64>, ()> {
    let v = raw.trim().trim_end_matches('%').trim();
    if v.is_empty() {
        return Ok(None);
    }
    match v.replace(',', ".").parse::<f64>() {
        Ok(s) if (0.0..=100.0).contains(&s) => Ok(Some((s * 10.0).round() / 10.0)),
        _ => Err(()),
    }
}

/// Checks each line against the directory (`people`: e-mail → id) and the
/// modules (`modules`: lower-case title → id), and against the lines before.
pub struct Lines {
    people: HashMap<String, PersonId>,
    modules: HashMap<String, ModuleId>,
    today: NaiveDate,
    first_line: HashMap<(PersonId, ModuleId, NaiveDate), u64>,
}

/// Reads a file as it arrives (`feed` each piece, then `finish`). Only
/// checked rows are kept.
pub type Parser = imports::Parser<Lines>;

pub fn parser(people: HashMap<String, PersonId>, modules: HashMap<String, ModuleId>, today: NaiveDate) -> Parser {
    <Training as imports::Import>::parser(Lines { people, modules, today, first_line: HashMap::new() })
}

impl imports::CheckLine for Lines {
    type Row = Row;

    fn check(&mut self, l: &sheet::Line<'_>, found: &mut Found<Row>) {
        let before = found.problems.len();
        let person = imports::person(&self.people, l, found);
        let day = imports::day(l, "completed_on", self.today, found);
        let mut problem = |column: &str, message: String| found.problem(l.line, column, message);
        let module_cell = l.get("module");
        let title = module_cell.trim();
        let module = match self.modules.get(&title.to_lowercase()) {
            Some(id) => Some(*id),
            None if title.is_empty() => {
                problem("module", "Name the training module.".into());
                None
            }
            None => {
                problem("module", format!("There is no module called \"{title}\". Create it first, or use its exact title."));
                None
            }
        };
        let score = parse_score(&l.get("score")).unwrap_or_else(|_| {
            problem("score", format!("Write a score from 0 to 100, not \"{}\".", l.get("score").trim()));
            None
        });
        let how_cell = l.get("how");
        let how = How::parse_cell(&how_cell).unwrap_or_else(|| {
            problem("how", format!("Write LMS, paper or e-mail (or leave it empty), not \"{}\".", how_cell.trim()));
            How::Other
        });
        let (Some(person_id), Some(module_id), Some(completed_on)) = (person, module, day) else { return };
        if found.problems.len() > before {
            return;
        }
        if let Some(first) = self.first_line.get(&(person_id, module_id, completed_on)) {
            found.problem(l.line, "", format!("Duplicate of line {first}."));
            return;
        }
        self.first_line.insert((person_id, module_id, completed_on), l.line);
        found.rows.push(Row { line: l.line, person_id, module_id, completed_on, score, how });
    }
}

/// Checks a whole file at once (see `Parser`). A file with too many lines
/// comes back with that as its only problem.
pub fn parse(bytes: &[u8], people: &HashMap<String, PersonId>, modules: &HashMap<String, ModuleId>, today: NaiveDate) -> Parsed {
    match parser(people.clone(), modules.clone(), today).read(bytes) {
        Ok((parsed, _)) => parsed,
        Err(too_many) => Parsed::too_many(too_many),
    }
}

pub fn template() -> String {
    let mut out = crate::web::csv::row(&COLUMNS.iter().map(|(c, _)| *c).collect::<Vec<_>>());
    out.push_str(&crate::web::csv::row(&["ada@example.com", "Security awareness", "2026-03-14", "92"]));
    out
}

/// The training import, on the shared pipeline (`imports`).
pub struct Training;

impl imports::Import for Training {
    type Row = Row;
    type Lines = Lines;
    /// The completions not yet recorded, and how many rows were.
    type Plan = (Vec<Completion>, usize);

    const KIND: imports::Kind = imports::Kind::Training;
    const PATH: &'static str = "/training/import";
    const HOME: (&'static str, &'static str) = ("/training", "Training");
    const TITLE: &'static str = "Import training completions";
    const INTRO: &'static str = "Export completions from your learning platform as CSV and upload them here. You will see every problem, \
        line by line, before anything is saved. Completions already recorded are skipped, so importing the same file again adds nothing.";
    const FILE: &'static str = "training.csv";
    const MAX_BYTES: usize = MAX_BYTES;
    const MAX_ROWS: usize = MAX_ROWS;
    const COLUMNS: &'static [(&'static str, &'static str)] = &COLUMNS;
    const ROW: (&'static str, &'static str) = ("completion", "completions");

    fn template() -> String {
        template()
    }

    async fn lines(db: &PgPool, org_id: OrgId, today: NaiveDate) -> AppResult<Lines> {
        let people = imports::directory(db, org_id).await?;
        let modules = super::model::modules(db, org_id).await?.into_iter().map(|m| (m.title.to_lowercase(), m.id)).collect();
        Ok(Lines { people, modules, today, first_line: HashMap::new() })
    }

    fn parser(lines: Lines) -> Parser {
        imports::Parser::new(lines, &HEADINGS, &["email", "module", "completed_on"], &[], MAX_ROWS)
    }

    async fn notes(db: &PgPool, org_id: OrgId) -> AppResult<Vec<String>> {
        let titles: Vec<String> = super::model::modules(db, org_id).await?.into_iter().map(|m| m.title).collect();
        Ok(vec![if titles.is_empty() {
            "Create the training modules first: each line of the file names one by its title.".into()
        } else {
            format!("Module titles: {}.", titles.join(", "))
        }])
    }

    async fn plan(conn: &mut PgConnection, org_id: OrgId, _columns: &[String], rows: Vec<Row>, _today: NaiveDate) -> AppResult<Result<Self::Plan, String>> {
        let existing: HashSet<(ModuleId, PersonId, NaiveDate)> = sqlx::query!(
            r#"SELECT r.module_id AS "module_id: ModuleId", r.person_id AS "person_id: PersonId", r.completed_on FROM training_records r
                 JOIN UNNEST($2::uuid[], $3::uuid[], $4::date[]) AS u(module_id, person_id, completed_on)
                   ON r.module_id = u.module_id AND r.person_id = u.person_id AND r.completed_on = u.completed_on
                WHERE r.org_id = $1"#,
            org_id.0,
            &rows.iter().map(|r| r.module_id.0).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.person_id.0).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.completed_on).collect::<Vec<_>>(),
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.module_id, r.person_id, r.completed_on))
        .collect();
        let total = rows.len();
        let new: Vec<Completion> = rows
            .into_iter()
            .filter(|r| !existing.contains(&(r.module_id, r.person_id, r.completed_on)))
            .map(|r| Completion { module_id: r.module_id, person_id: r.person_id, completed_on: r.completed_on, score: r.score, how: Some(r.how) })
            .collect();
        let known = total - new.len();
        Ok(Ok((new, known)))
    }

    fn preview((new, known): &Self::Plan) -> imports::Preview {
        imports::Preview::additions(new.len(), *known, "completion", "completions")
    }

    async fn apply(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, (new, known): Self::Plan) -> AppResult<imports::Applied> {
        let added = super::model::record(conn, actor, now, org_id, RecordSource::Import, &new).await?;
        let already = known + new.len() - added;
        let message = if added == 0 {
            format!("Nothing to add: all {already} completions were already recorded.")
        } else {
            format!("Import applied: {} added, {already} already recorded.", crate::web::count(added, "completion", "completions"))
        };
        Ok(imports::Applied { summary: serde_json::json!({"added": added, "already_recorded": already}), message })
    }

    fn applied_note(summary: &serde_json::Value) -> String {
        format!("{} added.", crate::web::count(summary["added"].as_u64().unwrap_or(0), "completion", "completions"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_come_padded_unpadded_or_as_timestamps() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 4);
        for ok in ["2026-03-04", "2026-3-4", " 2026-03-04T10:00:00Z", "2026-03-04 10:00"] {
            assert_eq!(imports::parse_day(ok), d, "{ok}");
        }
        for bad in ["2026-03-04x", "04/03/2026", "2026-3", "", "2026-03-0é", "é"] {
            assert_eq!(imports::parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_problem_is_named_by_line() {
        let ada = PersonId::new();
        let module = ModuleId::new();
        let people: HashMap<String, PersonId> = [("ada@x.example".to_string(), ada)].into();
        let modules: HashMap<String, ModuleId> = [("security awareness".to_string(), module)].into();
        let today = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let csv = "User Email,Course,Completion Date,Score\n\
                   ADA@x.example,Security Awareness,2026-03-14T10:22:00Z,92%\n\
                   ghost@x.example,Security Awareness,2026-03-14,\n\
                   ada@x.example,Fire safety,2026-03-14,\n\
                   ada@x.example,Security Awareness,14/03/2026,\n\
                   ada@x.example,Security Awareness,2027-01-01,\n\
                   ada@x.example,Security Awareness,2026-01-01,120\n\
                   ada@x.example,security awareness,2026-03-14,80\n";
        let p = parse(csv.as_bytes(), &people, &modules, today);
        assert_eq!(p.rows, vec![Row { line: 2, person_id: ada, module_id: module, completed_on: NaiveDate::from_ymd_opt(2026, 3, 14).unwrap(), score: Some(92.0), how: How::Other }]);
        let named: Vec<(u64, &str)> = p.problems.iter().map(|x| (x.line, x.column.as_str())).collect();
        assert_eq!(named, vec![(3, "email"), (4, "module"), (5, "completed_on"), (6, "completed_on"), (7, "score"), (8, "")]);
        assert!(p.problems[5].message.contains("Duplicate of line 2"));
        // Stored as arrays; the older objects still read.
        let json = serde_json::to_string(&p.rows).unwrap();
        assert_eq!(json, format!("[[2,\"{ada}\",\"{module}\",\"2026-03-14\",92.0,\"other\"]]"));
        assert_eq!(serde_json::from_str::<Vec<Row>>(&json).unwrap(), p.rows);
        // Arrays stored before rows said how still read, as "another way".
        let before_how = format!("[[2,\"{ada}\",\"{module}\",\"2026-03-14\",92.0]]");
        assert_eq!(serde_json::from_str::<Vec<Row>>(&before_how).unwrap(), p.rows);
        let old = format!(r#"[{{"line":2,"person_id":"{ada}","module_id":"{module}","completed_on":"2026-03-14","score":92.0}}]"#);
        assert_eq!(serde_json::from_str::<Vec<Row>>(&old).unwrap(), p.rows);
        // Read in pieces, the same.
        let mut parser = parser(people.clone(), modules.clone(), today);
        for piece in csv.as_bytes().chunks(5) {
            parser.feed(piece).unwrap();
        }
        let (pieces, _) = parser.finish().unwrap();
        assert_eq!((pieces.rows, pieces.problems), (p.rows, p.problems));
    }
}
