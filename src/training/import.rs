//! Completions exported from a learning platform, as CSV: checked line by
//! line (unknown people and modules, bad dates and scores, duplicates),
//! previewed, then applied. Completions already recorded are skipped, so the
//! same file can be imported again without effect.
use crate::ids::{ModuleId, PersonId};
use crate::web::form::parse_email;
pub use crate::web::sheet::TooManyRows;
use crate::web::sheet::{self, Column, Problem};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A file over either limit is refused whole. A year of completions for
/// 5,000 people on ten modules is 50,000 lines of about 80 bytes.
pub const MAX_ROWS: usize = 50_000;
pub const MAX_BYTES: usize = 6 * 1024 * 1024;

pub const COLUMNS: [(&str, &str); 4] = [
    ("email", "The person's e-mail address, as in the people directory. Required."),
    ("module", "The training module's title, as in Mandate. Required."),
    ("completed_on", "The day it was completed, as YYYY-MM-DD (a time after the date is ignored). Required."),
    ("score", "Optional: the score, 0 to 100 (a % sign is fine)."),
];

const HEADINGS: [Column; 4] = [
    Column { name: "email", aliases: &["e_mail", "email_address", "user_email", "learner_email", "user"] },
    Column { name: "module", aliases: &["course", "course_name", "course_title", "training", "module_title", "title"] },
    Column { name: "completed_on", aliases: &["completed", "completion_date", "date_completed", "completed_at", "finished", "date"] },
    Column { name: "score", aliases: &["result", "grade", "percent", "percentage", "mark"] },
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
}

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.line, self.person_id, self.module_id, self.completed_on, self.score).serialize(s)
    }
}

#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<Row>,
    pub problems: Vec<Problem>,
}

/// A date, or the date part of a timestamp ("2026-03-04T10:00:00Z", "2026-03-04 10:00").
fn parse_day(raw: &str) -> Option<NaiveDate> {
    let v = raw.trim();
    let day = v.split(['T', ' ']).next().unwrap_or(v);
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

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

/// Reads a file as it arrives (`feed` each piece, then `finish`) and checks
/// it against the directory (`people`: e-mail → id) and the modules
/// (`modules`: lower-case title → id). Only checked rows are kept.
pub struct Parser<'a> {
    sheet: sheet::Reader,
    lines: Lines<'a>,
}

struct Lines<'a> {
    people: &'a HashMap<String, PersonId>,
    modules: &'a HashMap<String, ModuleId>,
    today: NaiveDate,
    rows: Vec<Row>,
    problems: Vec<Problem>,
    first_line: HashMap<(PersonId, ModuleId, NaiveDate), u64>,
}

impl<'a> Parser<'a> {
    pub fn new(people: &'a HashMap<String, PersonId>, modules: &'a HashMap<String, ModuleId>, today: NaiveDate) -> Self {
        Parser {
            sheet: sheet::Reader::new(&HEADINGS, &["email", "module", "completed_on"], &[], MAX_ROWS),
            lines: Lines { people, modules, today, rows: Vec::new(), problems: Vec::new(), first_line: HashMap::new() },
        }
    }

    /// The next piece of the file; fails once it has more than `MAX_ROWS` lines.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), TooManyRows> {
        let lines = &mut self.lines;
        self.sheet.feed(bytes, &mut |l| lines.check(l))
    }

    pub fn finish(self) -> Result<Parsed, TooManyRows> {
        let Parser { sheet, mut lines } = self;
        let summary = sheet.finish(&mut |l| lines.check(l))?;
        if !summary.readable {
            return Ok(Parsed { rows: Vec::new(), problems: summary.problems });
        }
        let mut problems = summary.problems;
        problems.append(&mut lines.problems);
        problems.sort_by_key(|p| p.line);
        Ok(Parsed { rows: lines.rows, problems })
    }
}

impl Lines<'_> {
    fn check(&mut self, l: &sheet::Line<'_>) {
        let before = self.problems.len();
        let problems = &mut self.problems;
        let mut problem = |column: &str, message: String| problems.push(Problem::new(l.line, column, message));
        let person = match parse_email(&l.get("email")) {
            Ok(e) => match self.people.get(&e) {
                Some(id) => Some(*id),
                None => {
                    problem("email", format!("Nobody in the directory has the address {e}. Add them, or correct the address."));
                    None
                }
            },
            Err(e) => {
                problem("email", format!("{e} (found \"{}\")", l.get("email").trim()));
                None
            }
        };
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
        let day = match parse_day(&l.get("completed_on")) {
            Some(d) if d > self.today => {
                problem("completed_on", format!("{d} is in the future."));
                None
            }
            Some(d) => Some(d),
            None => {
                problem("completed_on", format!("Write the date as YYYY-MM-DD, not \"{}\".", l.get("completed_on").trim()));
                None
            }
        };
        let score = parse_score(&l.get("score")).unwrap_or_else(|_| {
            problem("score", format!("Write a score from 0 to 100, not \"{}\".", l.get("score").trim()));
            None
        });
        let (Some(person_id), Some(module_id), Some(completed_on)) = (person, module, day) else { return };
        if self.problems.len() > before {
            return;
        }
        if let Some(first) = self.first_line.get(&(person_id, module_id, completed_on)) {
            self.problems.push(Problem::new(l.line, "", format!("Duplicate of line {first}.")));
            return;
        }
        self.first_line.insert((person_id, module_id, completed_on), l.line);
        self.rows.push(Row { line: l.line, person_id, module_id, completed_on, score });
    }
}

/// Checks a whole file at once (see `Parser`). A file with too many lines
/// comes back with that as its only problem.
pub fn parse(bytes: &[u8], people: &HashMap<String, PersonId>, modules: &HashMap<String, ModuleId>, today: NaiveDate) -> Parsed {
    let mut parser = Parser::new(people, modules, today);
    match parser.feed(bytes).and_then(|_| parser.finish()) {
        Ok(parsed) => parsed,
        Err(too_many) => Parsed { rows: Vec::new(), problems: vec![too_many.problem()] },
    }
}

pub fn template() -> String {
    let mut out = crate::web::csv::row(&COLUMNS.iter().map(|(c, _)| *c).collect::<Vec<_>>());
    out.push_str(&crate::web::csv::row(&["ada@example.com", "Security awareness", "2026-03-14", "92"]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_come_padded_unpadded_or_as_timestamps() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 4);
        for ok in ["2026-03-04", "2026-3-4", " 2026-03-04T10:00:00Z", "2026-03-04 10:00"] {
            assert_eq!(parse_day(ok), d, "{ok}");
        }
        for bad in ["2026-03-04x", "04/03/2026", "2026-3", "", "2026-03-0é", "é"] {
            assert_eq!(parse_day(bad), None, "{bad}");
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
        assert_eq!(p.rows, vec![Row { line: 2, person_id: ada, module_id: module, completed_on: NaiveDate::from_ymd_opt(2026, 3, 14).unwrap(), score: Some(92.0) }]);
        let named: Vec<(u64, &str)> = p.problems.iter().map(|x| (x.line, x.column.as_str())).collect();
        assert_eq!(named, vec![(3, "email"), (4, "module"), (5, "completed_on"), (6, "completed_on"), (7, "score"), (8, "")]);
        assert!(p.problems[5].message.contains("Duplicate of line 2"));
        // Stored as arrays; the older objects still read.
        let json = serde_json::to_string(&p.rows).unwrap();
        assert_eq!(json, format!("[[2,\"{ada}\",\"{module}\",\"2026-03-14\",92.0]]"));
        assert_eq!(serde_json::from_str::<Vec<Row>>(&json).unwrap(), p.rows);
        let old = format!(r#"[{{"line":2,"person_id":"{ada}","module_id":"{module}","completed_on":"2026-03-14","score":92.0}}]"#);
        assert_eq!(serde_json::from_str::<Vec<Row>>(&old).unwrap(), p.rows);
        // Read in pieces, the same.
        let mut parser = Parser::new(&people, &modules, today);
        for piece in csv.as_bytes().chunks(5) {
            parser.feed(piece).unwrap();
        }
        let pieces = parser.finish().unwrap();
        assert_eq!((pieces.rows, pieces.problems), (p.rows, p.problems));
    }
}
