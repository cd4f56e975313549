//! The RACI matrix: activities × ISMS roles, each cell Responsible,
//! Accountable, Consulted or Informed. Every activity needs exactly one
//! Accountable role; the page names the rows that break this.
use super::model::{self as roles, Appointment, Assignment, Role};
use super::starter;
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use crate::ids::{OrgId, RaciActivityId, RoleId};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use std::collections::{HashMap, HashSet};

pub use super::model::Letters;

#[derive(Debug, Clone)]
pub struct Activity {
    pub id: RaciActivityId,
    pub name: String,
}

pub struct Matrix {
    pub activities: Vec<Activity>,
    pub roles: Vec<Role>,
    pub cells: HashMap<(RaciActivityId, RoleId), Letters>,
}

impl Matrix {
    pub fn letters(&self, activity: &RaciActivityId, role: &RoleId) -> Option<Letters> {
        self.cells.get(&(*activity, *role)).copied()
    }
    /// A cell as pages and the CSV show it ("" when empty).
    pub fn cell(&self, activity: &RaciActivityId, role: &RoleId) -> &'static str {
        self.letters(activity, role).map(Letters::as_str).unwrap_or("")
    }
}

/// What is wrong with one row of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub activity_id: RaciActivityId,
    pub message: String,
}

/// The one-A rule, per activity: zero or several Accountable roles break it.
pub fn problems(m: &Matrix) -> Vec<RowProblem> {
    m.activities
        .iter()
        .filter_map(|a| {
            let accountable: Vec<&str> =
                m.roles.iter().filter(|r| m.letters(&a.id, &r.id).is_some_and(Letters::is_accountable)).map(|r| r.name.as_str()).collect();
            let message = match accountable.len() {
                1 => return None,
                0 => "Nobody is accountable: mark exactly one role A.".to_string(),
                n => format!("{n} roles are accountable ({}): keep exactly one A.", accountable.join(", ")),
            };
            Some(RowProblem { activity_id: a.id, message })
        })
        .collect()
}

/// Roles the matrix relies on (any letter) that nobody currently holds.
pub fn unheld_roles<'a>(m: &'a Matrix, appointments: &[Appointment], today: NaiveDate) -> Vec<&'a Role> {
    let used: HashSet<RoleId> = m.cells.keys().map(|(_, r)| *r).collect();
    m.roles.iter().filter(|r| used.contains(&r.id) && roles::is_vacant(r.id, appointments, today)).collect()
}

pub async fn load(db: &PgPool, org_id: OrgId) -> AppResult<Matrix> {
    let activities = sqlx::query_as!(
        Activity,
        r#"SELECT id AS "id: RaciActivityId", name FROM raci_activities
            WHERE org_id = $1 AND retired_at IS NULL ORDER BY position, created_at"#,
        org_id.0,
    )
    .fetch_all(db)
    .await?;
    let roles = roles::roles(db, org_id).await?;
    let rows = sqlx::query!(
        r#"SELECT c.activity_id AS "activity_id: RaciActivityId", c.role_id AS "role_id: RoleId", c.letters AS "letters: Letters"
             FROM raci_cells c
             JOIN raci_activities a ON a.org_id = c.org_id AND a.id = c.activity_id AND a.retired_at IS NULL
             JOIN isms_roles r ON r.org_id = c.org_id AND r.id = c.role_id AND r.retired_at IS NULL
            WHERE c.org_id = $1"#,
        org_id.0,
    )
    .fetch_all(db)
    .await?;
    let cells = rows.into_iter().map(|c| ((c.activity_id, c.role_id), c.letters)).collect();
    Ok(Matrix { activities, roles, cells })
}

/// Writes the cells that differ from `before`; returns how many changed.
pub async fn save_cells(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    before: &Matrix,
    after: &HashMap<(RaciActivityId, RoleId), Letters>,
) -> AppResult<usize> {
    // Cells carry no `updated_at`: their history is dated with the app's clock.
    crate::history::stamp(&mut *conn, now).await?;
    let mut changes = Vec::new();
    for a in &before.activities {
        for r in &before.roles {
            let (old, new) = (before.letters(&a.id, &r.id), after.get(&(a.id, r.id)).copied());
            if old == new {
                continue;
            }
            match new {
                None => {
                    sqlx::query!("DELETE FROM raci_cells WHERE org_id = $1 AND activity_id = $2 AND role_id = $3", org_id.0, a.id.0, r.id.0)
                        .execute(&mut *conn)
                        .await?;
                }
                Some(l) => {
                    sqlx::query!(
                        "INSERT INTO raci_cells (org_id, activity_id, role_id, letters) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (org_id, activity_id, role_id) DO UPDATE SET letters = $4",
                        org_id.0,
                        a.id.0,
                        r.id.0,
                        l.as_str(),
                    )
                    .execute(&mut *conn)
                    .await?;
                }
            }
            let shown = |l: Option<Letters>| l.map(Letters::as_str).unwrap_or("");
            changes.push(json!({"activity": a.name, "role": r.name, "from": shown(old), "to": shown(new)}));
        }
    }
    if !changes.is_empty() {
        audit::record(conn, actor, now, "raci.updated", "raci", org_id, json!({"cells": changes})).await?;
    }
    Ok(changes.len())
}

/// Adds an activity; `assignment` when it stands for one of the 5.3 assignments.
pub async fn create_activity(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    name: &str,
    assignment: Option<Assignment>,
) -> AppResult<RaciActivityId> {
    let id = RaciActivityId::new();
    let done = sqlx::query!(
        "INSERT INTO raci_activities (id, org_id, name, position, created_at, assignment)
         VALUES ($1, $2, $3, (SELECT COALESCE(max(position), 0) + 1 FROM raci_activities WHERE org_id = $2), $4, $5)",
        id.0,
        org_id.0,
        name,
        now,
        assignment.map(Assignment::code),
    )
    .execute(&mut *conn)
    .await;
    match done {
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("raci_activities_name_key") => {
            return Err(AppError::Conflict(format!("The matrix already has an activity called \"{name}\".")));
        }
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("raci_activities_assignment_key") => {
            let code = assignment.map(Assignment::code).unwrap_or_default();
            return Err(AppError::Conflict(format!("Another activity already stands for {code}: retire it first, or add this one without it.")));
        }
        other => {
            other?;
        }
    }
    audit::record(conn, actor, now, "raci.activity_added", "raci_activity", id, json!({"name": name, "assignment": assignment.map(Assignment::code)})).await?;
    Ok(id)
}

/// Serialises edits of the organisation's matrix.
pub async fn lock(conn: &mut PgConnection, org_id: OrgId) -> AppResult<()> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('raci:' || $1::uuid::text))", org_id.0).execute(conn).await?;
    Ok(())
}

/// Takes an activity off the matrix (nothing is deleted); returns its name,
/// or 404 when it is not a live activity of this organisation.
pub async fn retire_activity(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, id: RaciActivityId) -> AppResult<String> {
    crate::history::stamp(&mut *conn, now).await?;
    let name = sqlx::query_scalar!(
        "UPDATE raci_activities SET retired_at = $3 WHERE org_id = $1 AND id = $2 AND retired_at IS NULL RETURNING name",
        org_id.0,
        id.0,
        now,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(name) = name else { return Err(AppError::NotFound) };
    audit::record(conn, actor, now, "raci.activity_removed", "raci_activity", id, json!({"name": name})).await?;
    Ok(name)
}

/// Adds the starting activities the matrix lacks, with the suggested
/// letters for the starting roles the organisation has.
pub async fn add_starting_activities(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, roles: &[Role]) -> AppResult<usize> {
    let existing = sqlx::query_scalar!(
        r#"SELECT lower(name) AS "name!" FROM raci_activities WHERE org_id = $1 AND retired_at IS NULL"#,
        org_id.0,
    )
    .fetch_all(&mut *conn)
    .await?;
    // Cells carry no `updated_at`: their history is dated with the app's clock.
    crate::history::stamp(&mut *conn, now).await?;
    let mut added = 0;
    let mut cells_set = Vec::new();
    for (name, cells) in starter::ACTIVITIES {
        if existing.contains(&name.to_lowercase()) {
            continue;
        }
        let id = create_activity(conn, actor, now, org_id, name, starter::assignment_of(name)).await?;
        for (role_name, letters) in cells {
            if let Some(role) = roles.iter().find(|r| r.name.eq_ignore_ascii_case(role_name)) {
                sqlx::query!(
                    "INSERT INTO raci_cells (org_id, activity_id, role_id, letters) VALUES ($1, $2, $3, $4)",
                    org_id.0,
                    id.0,
                    role.id.0,
                    letters.as_str(),
                )
                .execute(&mut *conn)
                .await?;
                cells_set.push(json!({"activity": name, "role": role.name, "from": "", "to": letters.as_str()}));
            }
        }
        added += 1;
    }
    if !cells_set.is_empty() {
        audit::record(conn, actor, now, "raci.updated", "raci", org_id, json!({"cells": cells_set})).await?;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str) -> Role {
        Role {
            id: RoleId::new(),
            name: name.into(),
            responsibilities: String::new(),
            authorities: String::new(),
            carries_conformance: false,
            carries_reporting: false,
            position: 0,
        }
    }

    #[test]
    fn exactly_one_a_per_activity() {
        let (lead, sponsor) = (role("ISMS lead"), role("Sponsor"));
        let acts: Vec<Activity> = ["none", "one", "one-ar", "two"].iter().map(|n| Activity { id: RaciActivityId::new(), name: n.to_string() }).collect();
        let mut cells = HashMap::new();
        cells.insert((acts[0].id, lead.id), Letters::R);
        cells.insert((acts[1].id, lead.id), Letters::A);
        cells.insert((acts[1].id, sponsor.id), Letters::R);
        cells.insert((acts[2].id, lead.id), Letters::AR);
        cells.insert((acts[3].id, lead.id), Letters::A);
        cells.insert((acts[3].id, sponsor.id), Letters::AR);
        let m = Matrix { activities: acts.clone(), roles: vec![lead, sponsor], cells };
        let p = problems(&m);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].activity_id, acts[0].id);
        assert!(p[0].message.contains("Nobody is accountable"));
        assert_eq!(p[1].activity_id, acts[3].id);
        assert!(p[1].message.contains("2 roles are accountable (ISMS lead, Sponsor)"));
    }
}
