//! Acknowledgements given outside Mandate (on paper, by e-mail, in a
//! learning platform), imported from CSV on the shared pipeline (`imports`):
//! each line names a person, a policy and the day they acknowledged it, and
//! optionally the version. Acknowledgements already recorded are skipped, so
//! the same file can be imported again without effect.
use super::model::Method;
use crate::audit::{self, Actor};
use crate::error::AppResult;
use crate::ids::{AckId, OrgId, PersonId, PolicyId, VersionId};
use crate::imports::{self, Found};
use crate::web::sheet::{self, Column};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use std::collections::{HashMap, HashSet};

/// A file over either limit is refused whole: 5,000 people on ten
/// policies is 50,000 lines of about 60 bytes.
pub const MAX_ROWS: usize = 50_000;
pub const MAX_BYTES: usize = 6 * 1024 * 1024;

pub use crate::imports::How;

pub const COLUMNS: [(&str, &str); 5] = [
    ("email", "The person's e-mail address, as in the people directory. Required."),
    ("policy", "The policy's title, as in Mandate. Required."),
    ("acknowledged_on", "The day they acknowledged it, as YYYY-MM-DD. Required; not before the version was signed."),
    ("version", "Optional: the version they acknowledged, such as 2.0. Empty means the version in force on that day."),
    ("how", "Optional: how they acknowledged it: paper, e-mail or LMS. Empty means another way."),
];

const HEADINGS: [Column; 5] = [
    Column { name: "email", aliases: &["e_mail", "email_address", "user_email", "employee_email", "user"] },
    Column { name: "policy", aliases: &["policy_title", "document", "policy_name", "title"] },
    Column { name: "acknowledged_on", aliases: &["acknowledged", "acknowledged_at", "date", "signed_on", "read_on", "accepted_on"] },
    Column { name: "version", aliases: &["policy_version", "revision"] },
    Column { name: "how", aliases: &["method", "channel", "source", "given"] },
];

/// One checked acknowledgement. Stored as a JSON array of its fields in order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Row {
    pub line: u64,
    pub person_id: PersonId,
    pub version_id: VersionId,
    pub acknowledged_on: NaiveDate,
    /// Rows checked before files said how read as "another way".
    #[serde(default = "other")]
    pub how: How,
}

fn other() -> How {
    How::Other
}

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.line, self.person_id, self.version_id, self.acknowledged_on, self.how).serialize(s)
    }
}

/// A signed version of a policy, as a line may name it.
#[derive(Debug, Clone)]
pub struct Signed {
    pub id: VersionId,
    pub major: i32,
    pub minor: i32,
    pub signed_on: NaiveDate,
}

/// Checks each line against the directory, the policies and their signed
/// versions, and against the lines before.
pub struct Lines {
    people: HashMap<String, PersonId>,
    /// Lower-case title → the policy's signed versions, oldest first.
    policies: HashMap<String, (PolicyId, Vec<Signed>)>,
    today: NaiveDate,
    first_line: HashMap<(PersonId, VersionId), u64>,
}

impl Lines {
    pub fn new(people: HashMap<String, PersonId>, policies: HashMap<String, (PolicyId, Vec<Signed>)>, today: NaiveDate) -> Self {
        Lines { people, policies, today, first_line: HashMap::new() }
    }
}

/// A version number as people write it: "2", "2.0", "v2.1".
fn parse_version(raw: &str) -> Option<(i32, Option<i32>)> {
    let v = raw.trim().trim_start_matches(['v', 'V']);
    let mut parts = v.split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor = match parts.next() {
        Some(m) => Some(m.trim().parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor))
}

impl imports::CheckLine for Lines {
    type Row = Row;

    fn check(&mut self, l: &sheet::Line<'_>, found: &mut Found<Row>) {
        let before = found.problems.len();
        let person = imports::person(&self.people, l, found);
        let day = imports::day(l, "acknowledged_on", self.today, found);
        let mut problem = |column: &str, message: String| found.problem(l.line, column, message);
        let title_cell = l.get("policy");
        let title = title_cell.trim();
        let policy = match self.policies.get(&title.to_lowercase()) {
            Some((_, versions)) => Some(versions),
            None if title.is_empty() => {
                problem("policy", "Name the policy.".into());
                None
            }
            None => {
                problem("policy", format!("There is no policy called \"{title}\". Use its exact title."));
                None
            }
        };
        let how_cell = l.get("how");
        let how = How::parse_cell(&how_cell).unwrap_or_else(|| {
            problem("how", format!("Write paper, e-mail or LMS (or leave it empty), not \"{}\".", how_cell.trim()));
            How::Other
        });
        let version_cell = l.get("version");
        let wanted = version_cell.trim();
        let number = if wanted.is_empty() {
            None
        } else {
            match parse_version(wanted) {
                Some(n) => Some(n),
                None => {
                    problem("version", format!("Write a version number such as 2.0, not \"{wanted}\"."));
                    return;
                }
            }
        };
        let (Some(person_id), Some(versions), Some(day)) = (person, policy, day) else { return };
        let version = match number {
            // The version in force on the day: the latest signed by then.
            None => match versions.iter().rev().find(|v| v.signed_on <= day) {
                Some(v) => v,
                None => {
                    problem("acknowledged_on", format!("\"{title}\" had no signed version on {day}."));
                    return;
                }
            },
            Some((major, minor)) => {
                let matching = versions.iter().rev().find(|v| v.major == major && minor.is_none_or(|m| v.minor == m));
                match matching {
                    Some(v) if v.signed_on > day => {
                        problem("acknowledged_on", format!("Version {}.{} was signed on {}, after {day}.", v.major, v.minor, v.signed_on));
                        return;
                    }
                    Some(v) => v,
                    None => {
                        problem("version", format!("\"{title}\" has no signed version {wanted}."));
                        return;
                    }
                }
            }
        };
        if found.problems.len() > before {
            return;
        }
        if let Some(first) = self.first_line.get(&(person_id, version.id)) {
            found.problem(l.line, "", format!("Duplicate of line {first}."));
            return;
        }
        self.first_line.insert((person_id, version.id), l.line);
        found.rows.push(Row { line: l.line, person_id, version_id: version.id, acknowledged_on: day, how });
    }
}

pub fn template() -> String {
    let mut out = crate::web::csv::row(&COLUMNS.iter().map(|(c, _)| *c).collect::<Vec<_>>());
    out.push_str(&crate::web::csv::row(&["ada@example.com", "Information security policy", "2025-03-14", "", "paper"]));
    out.push_str(&crate::web::csv::row(&["ben@example.com", "Information security policy", "2025-04-02", "2.0"]));
    out
}

/// The acknowledgements import, on the shared pipeline (`imports`).
pub struct Acknowledgements;

impl imports::Import for Acknowledgements {
    type Row = Row;
    type Lines = Lines;
    /// The acknowledgements not yet recorded, and how many rows were.
    type Plan = (Vec<Row>, usize);

    const KIND: imports::Kind = imports::Kind::Acknowledgements;
    const PATH: &'static str = "/acknowledgements/import";
    const HOME: (&'static str, &'static str) = ("/policies", "Policies");
    const TITLE: &'static str = "Import policy acknowledgements";
    const INTRO: &'static str = "Record acknowledgements given outside Mandate, on paper, by e-mail or in a learning platform: one line \
        per person and policy, with the day. You will see every problem, line by line, before anything is saved. Acknowledgements \
        already recorded are skipped, so importing the same file again adds nothing. Imported acknowledgements are marked as imported.";
    const FILE: &'static str = "acknowledgements.csv";
    const MAX_BYTES: usize = MAX_BYTES;
    const MAX_ROWS: usize = MAX_ROWS;
    const COLUMNS: &'static [(&'static str, &'static str)] = &COLUMNS;
    const ROW: (&'static str, &'static str) = ("acknowledgement", "acknowledgements");

    fn template() -> String {
        template()
    }

    async fn lines(db: &PgPool, org_id: OrgId, today: NaiveDate) -> AppResult<Lines> {
        let people = imports::directory(db, org_id).await?;
        let rows = sqlx::query!(
            r#"SELECT p.id AS "policy_id: PolicyId", lower(p.title) AS "title!", v.id AS "version_id?: VersionId", v.major AS "major?",
                      v.minor AS "minor?", (v.approved_at AT TIME ZONE 'UTC')::date AS "signed_on?"
                 FROM policies p
                 LEFT JOIN policy_versions v ON v.org_id = p.org_id AND v.policy_id = p.id AND v.approved_at IS NOT NULL
                WHERE p.org_id = $1
                ORDER BY p.id, v.approved_at"#,
            org_id.0
        )
        .fetch_all(db)
        .await?;
        let mut policies: HashMap<String, (PolicyId, Vec<Signed>)> = HashMap::new();
        for r in rows {
            let entry = policies.entry(r.title).or_insert_with(|| (r.policy_id, Vec::new()));
            if let (Some(id), Some(major), Some(minor), Some(signed_on)) = (r.version_id, r.major, r.minor, r.signed_on) {
                entry.1.push(Signed { id, major, minor, signed_on });
            }
        }
        Ok(Lines::new(people, policies, today))
    }

    fn parser(lines: Lines) -> imports::Parser<Lines> {
        imports::Parser::new(lines, &HEADINGS, &["email", "policy", "acknowledged_on"], &[], MAX_ROWS)
    }

    async fn notes(db: &PgPool, org_id: OrgId) -> AppResult<Vec<String>> {
        let titles = sqlx::query_scalar!(
            "SELECT p.title FROM policies p WHERE p.org_id = $1
                AND EXISTS (SELECT 1 FROM policy_versions v WHERE v.org_id = p.org_id AND v.policy_id = p.id AND v.approved_at IS NOT NULL)
              ORDER BY p.title",
            org_id.0
        )
        .fetch_all(db)
        .await?;
        Ok(vec![if titles.is_empty() {
            "No policy has a signed version yet: only signed versions can be acknowledged.".into()
        } else {
            format!("Policies with a signed version: {}.", titles.join(", "))
        }])
    }

    async fn plan(conn: &mut PgConnection, org_id: OrgId, _columns: &[String], rows: Vec<Row>, _today: NaiveDate) -> AppResult<Result<Self::Plan, String>> {
        let existing: HashSet<(PersonId, VersionId)> = sqlx::query!(
            r#"SELECT a.person_id AS "person_id: PersonId", a.policy_version_id AS "version_id: VersionId" FROM acknowledgements a
                 JOIN UNNEST($2::uuid[], $3::uuid[]) AS u(person_id, version_id)
                   ON a.person_id = u.person_id AND a.policy_version_id = u.version_id
                WHERE a.org_id = $1"#,
            org_id.0,
            &rows.iter().map(|r| r.person_id.0).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.version_id.0).collect::<Vec<_>>(),
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.person_id, r.version_id))
        .collect();
        let total = rows.len();
        let new: Vec<Row> = rows.into_iter().filter(|r| !existing.contains(&(r.person_id, r.version_id))).collect();
        let known = total - new.len();
        Ok(Ok((new, known)))
    }

    fn preview((new, known): &Self::Plan) -> imports::Preview {
        imports::Preview::additions(new.len(), *known, "acknowledgement", "acknowledgements")
    }

    async fn apply(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, (new, known): Self::Plan) -> AppResult<imports::Applied> {
        let ids: Vec<AckId> = new.iter().map(|_| AckId::new()).collect();
        // The day is all a paper record has: it is kept as that day's start (UTC).
        let at: Vec<DateTime<Utc>> = new.iter().map(|r| r.acknowledged_on.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()).collect();
        let added: Vec<AckId> = sqlx::query_scalar!(
            r#"INSERT INTO acknowledgements (id, org_id, person_id, policy_version_id, acknowledged_at, method, recorded_how, recorded_by, recorded_at)
               SELECT u.id, $1, u.person_id, u.version_id, u.at, $6, u.how, $8, $9
                 FROM UNNEST($2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[], $7::text[]) AS u(id, person_id, version_id, at, how)
               ON CONFLICT (org_id, person_id, policy_version_id) DO NOTHING
               RETURNING id AS "id: AckId""#,
            org_id.0,
            &ids.iter().map(|i| i.0).collect::<Vec<_>>(),
            &new.iter().map(|r| r.person_id.0).collect::<Vec<_>>(),
            &new.iter().map(|r| r.version_id.0).collect::<Vec<_>>(),
            &at,
            Method::Imported.as_str(),
            &new.iter().map(|r| r.how.as_str().to_string()).collect::<Vec<_>>(),
            actor.user_id.map(|u| u.0),
            now,
        )
        .fetch_all(&mut *conn)
        .await?;
        let added_set: HashSet<AckId> = added.iter().copied().collect();
        let entries = ids
            .iter()
            .zip(&new)
            .filter(|(id, _)| added_set.contains(id))
            .map(|(id, r)| {
                audit::Entry::new(
                    "policy.acknowledged",
                    "acknowledgement",
                    id,
                    json!({"person_id": r.person_id, "version_id": r.version_id, "method": Method::Imported.as_str(), "acknowledged_on": r.acknowledged_on}),
                )
            })
            .collect();
        audit::record_many(conn, actor, now, entries).await?;
        let (added, already) = (added.len(), known + new.len() - added.len());
        let message = if added == 0 {
            format!("Nothing to add: all {already} acknowledgements were already recorded.")
        } else {
            format!("Import applied: {} recorded, {already} already recorded.", crate::web::count(added, "acknowledgement", "acknowledgements"))
        };
        Ok(imports::Applied { summary: json!({"added": added, "already_recorded": already}), message })
    }

    fn applied_note(summary: &serde_json::Value) -> String {
        format!("{} recorded.", crate::web::count(summary["added"].as_u64().unwrap_or(0), "acknowledgement", "acknowledgements"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imports::Import;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn versions_are_read_as_people_write_them() {
        assert_eq!(parse_version("2"), Some((2, None)));
        assert_eq!(parse_version(" v2.1 "), Some((2, Some(1))));
        for bad in ["", "two", "2.1.3", "2.x"] {
            assert_eq!(parse_version(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_problem_is_named_by_line_and_the_day_picks_the_version() {
        let ada = PersonId::new();
        let policy = PolicyId::new();
        let (v1, v2) = (VersionId::new(), VersionId::new());
        let people: HashMap<String, PersonId> = [("ada@x.example".to_string(), ada)].into();
        let signed = vec![Signed { id: v1, major: 1, minor: 0, signed_on: day("2025-01-10") }, Signed { id: v2, major: 2, minor: 0, signed_on: day("2026-01-10") }];
        let policies = [("information security policy".to_string(), (policy, signed))].into();
        let csv = "E-mail,Policy,Date,Version\n\
                   ADA@x.example,Information Security Policy,2025-06-01,\n\
                   ada@x.example,Information security policy,2026-02-01,\n\
                   ghost@x.example,Information security policy,2026-02-01,\n\
                   ada@x.example,Travel policy,2026-02-01,\n\
                   ada@x.example,Information security policy,2024-12-01,\n\
                   ada@x.example,Information security policy,2025-12-01,2.0\n\
                   ada@x.example,Information security policy,2026-12-01,\n\
                   ada@x.example,Information security policy,2026-03-01,3\n\
                   ada@x.example,Information security policy,2026-03-01,2\n";
        let parser = Acknowledgements::parser(Lines::new(people, policies, day("2026-11-30")));
        let (checked, _) = parser.read(csv.as_bytes()).unwrap();
        assert_eq!(
            checked.rows,
            vec![
                Row { line: 2, person_id: ada, version_id: v1, acknowledged_on: day("2025-06-01"), how: How::Other },
                Row { line: 3, person_id: ada, version_id: v2, acknowledged_on: day("2026-02-01"), how: How::Other },
            ]
        );
        let named: Vec<(u64, &str)> = checked.problems.iter().map(|p| (p.line, p.column.as_str())).collect();
        assert_eq!(named, vec![(4, "email"), (5, "policy"), (6, "acknowledged_on"), (7, "acknowledged_on"), (8, "acknowledged_on"), (9, "version"), (10, "")]);
        assert!(checked.problems[6].message.contains("Duplicate of line 3"), "{:?}", checked.problems[6]);
        let json = serde_json::to_string(&checked.rows).unwrap();
        assert_eq!(serde_json::from_str::<Vec<Row>>(&json).unwrap(), checked.rows);
    }
}
