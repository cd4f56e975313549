//! CSV import of the people directory: parse and check every line, show a
//! preview, then apply in one transaction. Matching is by e-mail address, so
//! importing the same file twice changes nothing the second time. Columns
//! the file does not have are left as they are.
use super::model::{Kind, Person, PersonFields};
use crate::audit::Actor;
use crate::error::AppResult;
use crate::ids::{OrgId, PersonId};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use crate::web::form::{parse_date, parse_email, parse_optional, parse_text};
use crate::imports::{self, Found};
use crate::web::sheet::{self, Column};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// The columns an import understands, with what goes in them.
pub const COLUMNS: [(&str, &str); 11] = [
    ("name", "Full name. Required."),
    ("email", "E-mail address. Required; it identifies the person, so re-importing updates instead of duplicating."),
    ("job_title", "Job title."),
    ("department", "Department or team."),
    ("manager_email", "E-mail address of their line manager, who must be in the same file or already in the directory."),
    ("kind", "employee or contractor (empty means employee)."),
    ("start_date", "First working day, as YYYY-MM-DD."),
    ("end_date", "Leaving date, as YYYY-MM-DD: the first day they no longer work here. A date in the past marks a leaver."),
    ("top_management", "Read but not applied: top management changes only on the roster, where an owner proposes and a leader confirms. The preview lists the lines that differ."),
    ("line_manager", "yes if they manage other people."),
    ("security_clause", "yes if their contract includes the information security clause."),
];

/// A file over either limit is refused whole. A directory of 5,000 people
/// with every column is under 1 MiB; the limits leave room for twice that
/// many with long names, and bound what one import holds in memory.
pub const MAX_ROWS: usize = 10_000;
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// One checked line of the file. Values of columns the file lacks are
/// defaults and are ignored when applying. Stored (in `people_imports.rows`)
/// as a JSON array of its fields in order, a third the size of an object
/// with names; the older object form still reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct Row {
    pub line: u64,
    pub name: String,
    pub email: String,
    pub job_title: String,
    pub department: String,
    pub manager_email: Option<String>,
    pub kind: Kind,
    pub start_date: Option<chrono::NaiveDate>,
    pub end_date: Option<chrono::NaiveDate>,
    pub top_management: bool,
    pub line_manager: bool,
    pub security_clause: bool,
}

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (
            self.line,
            &self.name,
            &self.email,
            &self.job_title,
            &self.department,
            &self.manager_email,
            self.kind,
            self.start_date,
            self.end_date,
            self.top_management,
            self.line_manager,
            self.security_clause,
        )
            .serialize(s)
    }
}

pub use crate::web::sheet::{Problem, TooManyRows};

/// A checked file: its columns, rows and problems.
pub type Parsed = imports::Checked<Row>;

/// Columns the export writes that an import reads past (so an exported
/// file imports as it is).
const IGNORED: [&str; 1] = ["account"];

/// Spreadsheet headings people actually use, mapped to ours.
const HEADINGS: [Column; 11] = [
    Column { name: "name", aliases: &["full_name", "fullname"] },
    Column { name: "email", aliases: &["e_mail", "email_address", "e_mail_address", "work_email"] },
    Column { name: "job_title", aliases: &["title", "position", "jobtitle"] },
    Column { name: "department", aliases: &["dept", "team"] },
    Column { name: "manager_email", aliases: &["manager", "line_manager_email", "manager_e_mail", "reports_to"] },
    Column { name: "kind", aliases: &["type", "employment_type", "employee_or_contractor"] },
    Column { name: "start_date", aliases: &["start", "started", "start_on"] },
    Column { name: "end_date", aliases: &["end", "leaving_date", "left", "end_on"] },
    Column { name: "top_management", aliases: &["top_mgmt", "executive"] },
    Column { name: "line_manager", aliases: &["is_line_manager", "manages_people"] },
    Column { name: "security_clause", aliases: &["contract_security_clause", "contract_has_security_clause"] },
];

/// Checks every line on its own and against the others; remembers where
/// each address first appears, so managers outside the file can be looked
/// up at the end (`outside_managers`, `resolve`).
#[derive(Default)]
pub struct Lines {
    first_line_of: HashMap<String, u64>,
}

/// Reads a file as it arrives (`feed` each piece, then `finish`). Only the
/// checked rows are kept, never the file.
pub type Parser = imports::Parser<Lines>;

pub fn parser() -> Parser {
    <People as imports::Import>::parser(Lines::default())
}

impl imports::CheckLine for Lines {
    type Row = Row;

    fn check(&mut self, record: &sheet::Line<'_>, found: &mut Found<Row>) {
        let line = record.line;
        let cell = |col: &str| record.get(col);
        let mut row = Row { line, ..Default::default() };
        let before = found.problems.len();
        match parse_text(&cell("name"), "a name", 120) {
            Ok(v) => row.name = v,
            Err(e) => found.problem(line, "name", e),
        }
        match parse_email(&cell("email")) {
            Ok(v) => row.email = v,
            Err(e) => found.problem(line, "email", format!("{e} (found \"{}\")", cell("email").trim())),
        }
        for (col, what, slot) in [("job_title", "the job title", &mut row.job_title), ("department", "the department", &mut row.department)] {
            match parse_optional(&cell(col), what, 120, false) {
                Ok(v) => *slot = v,
                Err(e) => found.problem(line, col, e),
            }
        }
        let manager_cell = cell("manager_email");
        let manager = manager_cell.trim();
        if !manager.is_empty() {
            match parse_email(manager) {
                Ok(v) => row.manager_email = Some(v),
                Err(e) => found.problem(line, "manager_email", format!("{e} (found \"{manager}\")")),
            }
        }
        match Kind::parse(&cell("kind")) {
            Some(k) => row.kind = k,
            None => found.problem(line, "kind", format!("Write employee or contractor, not \"{}\".", cell("kind").trim())),
        }
        for (col, what, slot) in [("start_date", "the start date", &mut row.start_date), ("end_date", "the end date", &mut row.end_date)] {
            match parse_date(&cell(col), what) {
                Ok(v) => *slot = v,
                Err(e) => found.problem(line, col, e),
            }
        }
        for (col, slot) in [
            ("top_management", &mut row.top_management),
            ("line_manager", &mut row.line_manager),
            ("security_clause", &mut row.security_clause),
        ] {
            match sheet::yes_no(&cell(col)) {
                Some(v) => *slot = v,
                None => found.problem(line, col, format!("Write yes or no, not \"{}\".", cell(col).trim())),
            }
        }
        if found.problems.len() == before {
            if let (Some(s), Some(e)) = (row.start_date, row.end_date)
                && e < s
            {
                found.problem(line, "end_date", "The end date is before the start date.");
            }
            if row.manager_email.as_deref() == Some(row.email.as_str()) {
                found.problem(line, "manager_email", "A person cannot be their own manager.");
            }
        }
        if !row.email.is_empty() {
            match self.first_line_of.get(&row.email) {
                Some(first) => found.problem(line, "email", format!("Duplicate: {} is already on line {first}.", row.email)),
                None => {
                    self.first_line_of.insert(row.email.clone(), line);
                }
            }
        }
        found.rows.push(row);
    }
}

impl Lines {
    /// Managers the file names but does not contain: they must be in the directory.
    pub fn outside_managers(&self, rows: &[Row]) -> Vec<String> {
        let mut out: Vec<String> = rows.iter().filter_map(|r| r.manager_email.clone()).filter(|m| !self.first_line_of.contains_key(m)).collect();
        out.sort();
        out.dedup();
        out
    }

    /// Finishes the check with those of `outside_managers` that the directory has.
    pub fn resolve(&self, checked: &mut Parsed, known: &HashSet<String>) {
        for row in &checked.rows {
            if let Some(m) = &row.manager_email
                && !self.first_line_of.contains_key(m)
                && !known.contains(m)
            {
                checked.problems.push(Problem {
                    line: row.line,
                    column: "manager_email".into(),
                    message: format!("Unknown manager {m}: add them to the file or to the directory first."),
                });
            }
        }
        checked.problems.sort_by_key(|p| p.line);
    }
}

/// Reads a whole file at once (see `Parser`). `known_emails` are the
/// directory's addresses (for manager references). A file with too many
/// lines comes back with that as its only problem.
pub fn parse(bytes: &[u8], known_emails: &HashSet<String>) -> Parsed {
    match parser().read(bytes) {
        Ok((mut checked, lines)) => {
            lines.resolve(&mut checked, known_emails);
            checked
        }
        Err(too_many) => Parsed::too_many(too_many),
    }
}

/// What applying an import would do.
#[derive(Debug, Default)]
pub struct Plan {
    pub creates: Vec<(PersonId, PersonFields)>,
    pub updates: Vec<(PersonId, PersonFields, serde_json::Map<String, serde_json::Value>)>,
    pub unchanged: usize,
    /// Lines whose top_management column differs from the roster: not
    /// applied (the roster changes only by proposal and confirmation).
    pub roster_differs: Vec<String>,
    /// Problems that only show once the file meets the directory: dates that
    /// clash with stored ones, managers that would form a loop.
    pub problems: Vec<Problem>,
}

/// Compares checked rows with the directory, taking the rows over (their
/// text moves into the plan rather than being copied). Fails only when a
/// manager cannot be found (the directory changed since the file was checked).
pub fn plan(existing: &[Person], columns: &[String], rows: Vec<Row>) -> Result<Plan, String> {
    let has = |c: &str| columns.iter().any(|x| x == c);
    let by_email: HashMap<std::borrow::Cow<'_, str>, &Person> = existing.iter().map(|p| (lower(&p.email), p)).collect();
    // Everyone in the file gets an id first, so managers can be new people
    // too: theirs, or a fresh one (never the default, nil id).
    let ids: HashMap<&str, PersonId> =
        rows.iter().map(|r| (r.email.as_str(), by_email.get(r.email.as_str()).map_or_else(PersonId::new, |p| p.id))).collect();
    let row_ids: Vec<PersonId> = rows.iter().map(|r| ids[r.email.as_str()]).collect();
    let managers: Vec<Option<PersonId>> = if has("manager_email") {
        rows.iter()
            .map(|r| match &r.manager_email {
                None => Ok(None),
                Some(m) => ids
                    .get(m.as_str())
                    .copied()
                    .or_else(|| by_email.get(m.as_str()).map(|p| p.id))
                    .map(Some)
                    .ok_or_else(|| format!("line {}: manager {m} is no longer in the directory", r.line)),
            })
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    drop(ids);
    let mut managers = managers.into_iter();
    let mut plan = Plan::default();
    let mut merged: Vec<(u64, PersonId, Option<PersonId>)> = Vec::with_capacity(rows.len());
    for (r, id) in rows.into_iter().zip(row_ids) {
        let current = by_email.get(r.email.as_str()).copied();
        let before = current.map(|p| p.fields()).unwrap_or_default();
        if has("top_management") && r.top_management != before.top_management {
            plan.roster_differs.push(r.name.clone());
        }
        let mut f = match current {
            Some(_) => before.clone(),
            None => PersonFields::default(),
        };
        f.name = r.name;
        f.email = r.email;
        if has("job_title") {
            f.job_title = r.job_title;
        }
        if has("department") {
            f.department = r.department;
        }
        if has("manager_email") {
            f.manager_id = managers.next().flatten();
        }
        if has("kind") {
            f.kind = r.kind;
        }
        if has("start_date") {
            f.start_date = r.start_date;
        }
        if has("end_date") {
            f.end_date = r.end_date;
        }
        if before.top_management && f.end_date != before.end_date {
            plan.problems.push(Problem { line: r.line, column: "end_date".into(), message: crate::people::model::leader_leaves(&f.name) });
        }
        if has("line_manager") {
            f.line_manager = r.line_manager;
        }
        if has("security_clause") {
            f.security_clause = r.security_clause;
        }
        if let Err((column, message)) = f.cross_check() {
            plan.problems.push(Problem { line: r.line, column: column.into(), message: format!("{message} (with the dates already in the directory)") });
        }
        merged.push((r.line, id, f.manager_id));
        match current {
            None => plan.creates.push((id, f)),
            Some(_) => {
                let changes = before.changes(&f);
                if changes.is_empty() {
                    plan.unchanged += 1;
                } else {
                    plan.updates.push((id, f, changes));
                }
            }
        }
    }
    // Nobody may end up managing themselves through a chain of managers.
    let mut manager_of: HashMap<PersonId, Option<PersonId>> = existing.iter().map(|p| (p.id, p.manager_id)).collect();
    for (_, id, m) in &merged {
        manager_of.insert(*id, *m);
    }
    for (line, id, first) in &merged {
        let mut next = *first;
        for _ in 0..manager_of.len() {
            match next {
                Some(m) if m == *id => {
                    plan.problems.push(Problem {
                        line: *line,
                        column: "manager_email".into(),
                        message: "These managers form a loop: someone would end up managing themselves.".into(),
                    });
                    break;
                }
                Some(m) => next = manager_of.get(&m).copied().flatten(),
                None => break,
            }
        }
    }
    Ok(plan)
}

/// An address in lower case, copied only when it is not already.
fn lower(email: &str) -> std::borrow::Cow<'_, str> {
    if email.chars().any(char::is_uppercase) { email.to_lowercase().into() } else { email.into() }
}

/// A sample file with every column, offered for download.
pub fn template() -> String {
    let mut out = crate::web::csv::row(&COLUMNS.iter().map(|(c, _)| *c).collect::<Vec<_>>());
    out.push_str(&crate::web::csv::row(&[
        "Ada Example", "ada@example.com", "Chief Executive", "Board", "", "employee", "2020-01-06", "", "yes", "yes", "yes",
    ]));
    out.push_str(&crate::web::csv::row(&[
        "Ben Example", "ben@example.com", "Developer", "Engineering", "ada@example.com", "contractor", "2024-09-02", "", "no", "no", "no",
    ]));
    out
}

/// The people import, on the shared pipeline (`imports`).
pub struct People;

/// A plan, with the directory's names for the people it updates.
pub struct PeoplePlan {
    plan: Plan,
    names: HashMap<PersonId, String>,
}

impl imports::Import for People {
    type Row = Row;
    type Lines = Lines;
    type Plan = PeoplePlan;

    const KIND: imports::Kind = imports::Kind::People;
    const PATH: &'static str = "/people/import";
    const HOME: (&'static str, &'static str) = ("/people", "People");
    const TITLE: &'static str = "Import people from CSV";
    const INTRO: &'static str = "Export the staff list from your HR system or spreadsheet as CSV and upload it here. You will see what would \
        change, line by line, before anything is saved. People are matched by e-mail address: importing the same file again changes \
        nothing, and a newer file updates the people it names. Only name and email are required; columns you leave out are not changed \
        for people already in the directory. Nobody is removed; record leavers with an end date.";
    const FILE: &'static str = "people.csv";
    const MAX_BYTES: usize = MAX_BYTES;
    const MAX_ROWS: usize = MAX_ROWS;
    const COLUMNS: &'static [(&'static str, &'static str)] = &COLUMNS;
    const ROW: (&'static str, &'static str) = ("person", "people");

    fn template() -> String {
        template()
    }

    async fn lines(_db: &PgPool, _org_id: OrgId, _today: NaiveDate) -> AppResult<Lines> {
        Ok(Lines::default())
    }

    fn parser(lines: Lines) -> Parser {
        imports::Parser::new(lines, &HEADINGS, &["name", "email"], &IGNORED, MAX_ROWS)
    }

    async fn complete(db: &PgPool, org_id: OrgId, lines: Lines, checked: &mut Parsed) -> AppResult<()> {
        let outside = lines.outside_managers(&checked.rows);
        let known: HashSet<String> = sqlx::query_scalar!(
            r#"SELECT lower(email) AS "email!" FROM people WHERE org_id = $1 AND lower(email) = ANY($2)"#,
            org_id.0,
            &outside,
        )
        .fetch_all(db)
        .await?
        .into_iter()
        .collect();
        lines.resolve(checked, &known);
        Ok(())
    }

    async fn plan(conn: &mut PgConnection, org_id: OrgId, columns: &[String], rows: Vec<Row>, _today: NaiveDate) -> AppResult<Result<PeoplePlan, String>> {
        let existing = super::model::all(conn, org_id).await?;
        let names = existing.iter().map(|p| (p.id, p.name.clone())).collect();
        Ok(plan(&existing, columns, rows).map(|plan| PeoplePlan { plan, names }))
    }

    fn preview(p: &PeoplePlan) -> imports::Preview {
        let plan = &p.plan;
        let (creates, updates) = (plan.creates.len(), plan.updates.len());
        let mut notices = Vec::new();
        if !plan.roster_differs.is_empty() {
            let n = plan.roster_differs.len();
            let mut names = plan.roster_differs.iter().take(20).cloned().collect::<Vec<_>>().join(", ");
            if n > 20 {
                names.push_str(&format!(" and {} more", n - 20));
            }
            notices.push(imports::Notice {
                id: "roster-differs",
                before: "The top-management column is not applied: the roster changes only when an owner proposes and a member of top \
                         management confirms, on"
                    .into(),
                link: ("/people/roster", "the top-management page"),
                after: format!(". It differs for {n} {}: {names}.", if n == 1 { "person" } else { "people" }),
            });
        }
        imports::Preview {
            effects: vec![
                imports::Effect { count: creates, what: if creates == 1 { "new person added" } else { "new people added" }.into() },
                imports::Effect { count: updates, what: "updated".into() },
                imports::Effect { count: plan.unchanged, what: "already up to date".into() },
            ],
            apply: (creates + updates > 0).then(|| format!("Apply: add {creates}, update {updates}")),
            nothing: "The directory already matches this file. There is nothing to apply.".into(),
            notices,
            tables: vec![
                imports::Table {
                    heading: "New people".into(),
                    columns: vec!["Name", "E-mail"],
                    rows: plan.creates.iter().take(imports::SHOWN).map(|(_, f)| vec![f.name.clone(), f.email.clone()]).collect(),
                    total: creates,
                },
                imports::Table {
                    heading: "Updated people".into(),
                    columns: vec!["Name", "E-mail", "What changes"],
                    rows: plan
                        .updates
                        .iter()
                        .take(imports::SHOWN)
                        .map(|(id, f, changes)| {
                            let what = changes.keys().map(|k| k.replace("_id", "").replace('_', " ")).collect::<Vec<_>>().join(", ");
                            vec![p.names.get(id).unwrap_or(&f.name).clone(), f.email.clone(), what]
                        })
                        .collect(),
                    total: updates,
                },
            ],
            problems: plan.problems.clone(),
        }
    }

    async fn apply(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, p: PeoplePlan) -> AppResult<imports::Applied> {
        let plan = p.plan;
        let (created, updated) = (plan.creates.len(), plan.updates.len());
        if created + updated > 0 {
            super::model::write_many(conn, actor, now, org_id, &plan.creates, &plan.updates).await?;
        }
        let message = if created + updated == 0 {
            format!("Nothing to change: all {} people in the file already match the directory.", plan.unchanged)
        } else {
            format!("Import applied: {created} added, {updated} updated, {} unchanged.", plan.unchanged)
        };
        Ok(imports::Applied { summary: serde_json::json!({"created": created, "updated": updated, "unchanged": plan.unchanged}), message })
    }

    fn applied_note(summary: &serde_json::Value) -> String {
        format!("{} added, {} updated.", summary["created"].as_u64().unwrap_or(0), summary["updated"].as_u64().unwrap_or(0))
    }

    async fn lock(conn: &mut PgConnection, org_id: OrgId) -> AppResult<()> {
        // One import at a time per organisation, so two files never race on the same people.
        super::model::lock_directory(conn, org_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Parsed {
        parse(s.as_bytes(), &HashSet::new())
    }

    #[test]
    fn good_file_with_aliases_bom_and_semicolons() {
        let p = parse(
            "\u{feff}Full name;E-mail;Manager;Type;Start date;Top management\nAda;ADA@x.example;;employee;2020-01-01;yes\nBen;ben@x.example;ada@x.example;contractor;;no\n"
                .as_bytes(),
            &HashSet::new(),
        );
        assert_eq!(p.problems, vec![]);
        assert_eq!(p.columns, vec!["name", "email", "manager_email", "kind", "start_date", "top_management"]);
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[0].email, "ada@x.example");
        assert!(p.rows[0].top_management);
        assert_eq!(p.rows[1].kind, Kind::Contractor);
        assert_eq!(p.rows[1].line, 3);
    }

    #[test]
    fn every_bad_line_is_named() {
        let p = parse_str(
            "name,email,manager_email,start_date,end_date,line_manager\n\
             Ada,ada@x.example,,2020-01-01,,yes\n\
             Bad Email,not-an-email,,,,\n\
             Dup,ADA@x.example,,,,\n\
             Lost,lost@x.example,ghost@x.example,,,\n\
             Dates,d@x.example,,2026-02-01,2026-01-01,\n\
             Flag,f@x.example,,,,maybe\n\
             Self,s@x.example,s@x.example,,,\n\
             ,noname@x.example,,,,\n",
        );
        let lines: Vec<(u64, &str)> = p.problems.iter().map(|p| (p.line, p.column.as_str())).collect();
        assert_eq!(
            lines,
            vec![
                (3, "email"),
                (4, "email"),
                (5, "manager_email"),
                (6, "end_date"),
                (7, "line_manager"),
                (8, "manager_email"),
                (9, "name")
            ]
        );
        assert!(p.problems[1].message.contains("line 2"), "{:?}", p.problems[1]);
        assert!(p.problems[2].message.contains("Unknown manager"));
    }

    #[test]
    fn managers_already_in_the_directory_are_fine() {
        let known: HashSet<String> = ["boss@x.example".to_string()].into();
        let p = parse("name,email,manager_email\nAda,ada@x.example,boss@x.example\n".as_bytes(), &known);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
    }

    #[test]
    fn headings_are_checked_first() {
        let p = parse_str("name,salary\nAda,100\n");
        assert_eq!(p.problems.len(), 2, "{:?}", p.problems);
        assert!(p.problems.iter().any(|x| x.message.contains("Unknown column \"salary\"")));
        assert!(p.problems.iter().any(|x| x.message.contains("\"email\" column")));
        assert!(parse(b"\xff\xfename\n", &HashSet::new()).problems[0].message.contains("UTF-8"));
        assert!(parse_str("name,email\n").problems[0].message.contains("no lines"));
    }

    #[test]
    fn rows_are_stored_as_arrays_and_the_older_objects_still_read() {
        let p = parse_str("name,email,manager_email,start_date,line_manager\nAda,ada@x.example,,2020-01-01,yes\nBen,ben@x.example,ada@x.example,,no\n");
        let json = serde_json::to_string(&p.rows).unwrap();
        assert!(json.starts_with("[[2,\"Ada\",\"ada@x.example\",\"\",\"\",null,\"employee\",\"2020-01-01\",null,false,true,false]"), "{json}");
        assert_eq!(serde_json::from_str::<Vec<Row>>(&json).unwrap(), p.rows);
        let old = r#"[{"line":2,"name":"Ada","email":"ada@x.example","job_title":"","department":"","manager_email":null,"kind":"employee",
            "start_date":"2020-01-01","end_date":null,"top_management":false,"line_manager":true,"security_clause":false}]"#;
        assert_eq!(serde_json::from_str::<Vec<Row>>(old).unwrap(), p.rows[..1]);
    }

    #[test]
    fn too_many_lines_is_the_only_problem_and_pieces_read_like_the_whole() {
        let mut csv = String::from("name,email\n");
        for i in 0..=MAX_ROWS {
            csv.push_str(&format!("P {i},p{i}@x.example\n"));
        }
        let p = parse_str(&csv);
        assert_eq!(p.problems.len(), 1);
        assert!(p.problems[0].message.contains("more than 10000 lines"), "{:?}", p.problems);
        let mut long = parser();
        let refused = csv.as_bytes().chunks(1000).try_for_each(|piece| long.feed(piece));
        assert_eq!(refused, Err(TooManyRows { max: MAX_ROWS, line: MAX_ROWS as u64 + 2 }));

        let whole = parse_str("name,email,manager_email\nAda,ada@x.example,\nBen,ben@x.example,ada@x.example\nCy,cy@x.example,boss@x.example\n");
        let mut pieces_parser = parser();
        for piece in "name,email,manager_email\nAda,ada@x.example,\nBen,ben@x.example,ada@x.example\nCy,cy@x.example,boss@x.example\n".as_bytes().chunks(7) {
            pieces_parser.feed(piece).unwrap();
        }
        let (mut pieces, lines) = pieces_parser.finish().unwrap();
        assert_eq!(lines.outside_managers(&pieces.rows), vec!["boss@x.example".to_string()], "only managers outside the file are looked up");
        lines.resolve(&mut pieces, &HashSet::new());
        assert_eq!((pieces.rows, pieces.problems), (whole.rows, whole.problems));
    }

    #[test]
    fn quoted_cells_may_span_lines_and_line_numbers_follow() {
        let p = parse_str("name,email,job_title\n\"Ada\",ada@x.example,\"Head of\nThings\"\nBen,bad,\n");
        assert_eq!(p.problems.len(), 2, "{:?}", p.problems);
        assert_eq!(p.problems[0].line, 2, "a line break is not allowed in a job title");
        assert_eq!(p.problems[1].line, 4);
    }
}
