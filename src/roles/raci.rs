//! The RACI matrix: activities × ISMS roles, each cell Responsible,
//! Accountable, Consulted or Informed. Every activity needs exactly one
//! Accountable role; the page names the rows that break this.
use crate::ids::OrgId;
use super::model::{self as roles, Appointment, Role};
use super::starter;
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::audit::{self, Actor};
use crate::auth::policy::Action;
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::web::form::parse_text;
use crate::web::{Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

pub fn routes(r: Routes) -> Routes {
    r.get("/raci", matrix_page)
        .get("/raci.csv", export)
        .post("/raci", save)
        .post("/raci/activities", add_activity)
        .post("/raci/activities/{id}/retire", retire_activity)
        .post("/raci/starter", add_starter)
}

/// The values a cell may hold ("" is an empty cell).
pub const LETTERS: [&str; 5] = ["R", "A", "AR", "C", "I"];

pub fn letters_label(l: &str) -> &'static str {
    match l {
        "R" => "Responsible",
        "A" => "Accountable",
        "AR" => "Accountable and responsible",
        "C" => "Consulted",
        "I" => "Informed",
        _ => "",
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Activity {
    pub id: Uuid,
    pub name: String,
}

pub struct Matrix {
    pub activities: Vec<Activity>,
    pub roles: Vec<Role>,
    pub cells: HashMap<(Uuid, Uuid), String>,
}

impl Matrix {
    pub fn cell(&self, activity: &Uuid, role: &Uuid) -> &str {
        self.cells.get(&(*activity, *role)).map(String::as_str).unwrap_or("")
    }
}

/// What is wrong with one row of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub activity_id: Uuid,
    pub message: String,
}

/// The one-A rule, per activity: zero or several Accountable roles break it.
pub fn problems(m: &Matrix) -> Vec<RowProblem> {
    m.activities
        .iter()
        .filter_map(|a| {
            let accountable: Vec<&str> =
                m.roles.iter().filter(|r| m.cell(&a.id, &r.id).contains('A')).map(|r| r.name.as_str()).collect();
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
    let used: HashSet<Uuid> = m.cells.keys().map(|(_, r)| *r).collect();
    m.roles.iter().filter(|r| used.contains(&r.id) && roles::is_vacant(r.id, appointments, today)).collect()
}

pub async fn load(db: &PgPool, org_id: OrgId) -> AppResult<Matrix> {
    let activities = sqlx::query_as(
        "SELECT id, name FROM raci_activities WHERE org_id = $1 AND retired_at IS NULL ORDER BY position, created_at",
    )
    .bind(org_id)
    .fetch_all(db)
    .await?;
    let roles = roles::roles(db, org_id).await?;
    let rows: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
        "SELECT c.activity_id, c.role_id, c.letters FROM raci_cells c
           JOIN raci_activities a ON a.org_id = c.org_id AND a.id = c.activity_id AND a.retired_at IS NULL
           JOIN isms_roles r ON r.org_id = c.org_id AND r.id = c.role_id AND r.retired_at IS NULL
          WHERE c.org_id = $1",
    )
    .bind(org_id)
    .fetch_all(db)
    .await?;
    let cells = rows.into_iter().map(|(a, r, l)| ((a, r), l)).collect();
    Ok(Matrix { activities, roles, cells })
}

/// Writes the cells that differ from `before`; returns how many changed.
pub async fn save_cells(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    before: &Matrix,
    after: &HashMap<(Uuid, Uuid), String>,
) -> AppResult<usize> {
    let mut changes = Vec::new();
    for a in &before.activities {
        for r in &before.roles {
            let old = before.cell(&a.id, &r.id);
            let new = after.get(&(a.id, r.id)).map(String::as_str).unwrap_or("");
            if old == new {
                continue;
            }
            if new.is_empty() {
                sqlx::query("DELETE FROM raci_cells WHERE org_id = $1 AND activity_id = $2 AND role_id = $3")
                    .bind(org_id)
                    .bind(a.id)
                    .bind(r.id)
                    .execute(&mut *conn)
                    .await?;
            } else {
                sqlx::query(
                    "INSERT INTO raci_cells (org_id, activity_id, role_id, letters) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (org_id, activity_id, role_id) DO UPDATE SET letters = $4",
                )
                .bind(org_id)
                .bind(a.id)
                .bind(r.id)
                .bind(new)
                .execute(&mut *conn)
                .await?;
            }
            changes.push(json!({"activity": a.name, "role": r.name, "from": old, "to": new}));
        }
    }
    if !changes.is_empty() {
        audit::record(conn, actor, now, "raci.updated", "raci", org_id, json!({"cells": changes})).await?;
    }
    Ok(changes.len())
}

pub async fn create_activity(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, name: &str) -> AppResult<Uuid> {
    let id = Uuid::new_v4();
    let done = sqlx::query(
        "INSERT INTO raci_activities (id, org_id, name, position, created_at)
         VALUES ($1, $2, $3, (SELECT COALESCE(max(position), 0) + 1 FROM raci_activities WHERE org_id = $2), $4)",
    )
    .bind(id)
    .bind(org_id)
    .bind(name)
    .bind(now)
    .execute(&mut *conn)
    .await;
    match done {
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("raci_activities_name_key") => {
            return Err(AppError::Conflict(format!("The matrix already has an activity called \"{name}\".")));
        }
        other => {
            other?;
        }
    }
    audit::record(conn, actor, now, "raci.activity_added", "raci_activity", id, json!({"name": name})).await?;
    Ok(id)
}

/// Adds the starting activities the matrix lacks, with the suggested
/// letters for the starting roles the organisation has.
pub async fn add_starting_activities(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, roles: &[Role]) -> AppResult<usize> {
    let existing: Vec<String> =
        sqlx::query_scalar("SELECT lower(name) FROM raci_activities WHERE org_id = $1 AND retired_at IS NULL")
            .bind(org_id)
            .fetch_all(&mut *conn)
            .await?;
    let mut added = 0;
    let mut cells_set = Vec::new();
    for (name, cells) in starter::ACTIVITIES {
        if existing.contains(&name.to_lowercase()) {
            continue;
        }
        let id = create_activity(conn, actor, now, org_id, name).await?;
        for (role_name, letters) in cells {
            if let Some(role) = roles.iter().find(|r| r.name.eq_ignore_ascii_case(role_name)) {
                sqlx::query("INSERT INTO raci_cells (org_id, activity_id, role_id, letters) VALUES ($1, $2, $3, $4)")
                    .bind(org_id)
                    .bind(id)
                    .bind(role.id)
                    .bind(letters)
                    .execute(&mut *conn)
                    .await?;
                cells_set.push(json!({"activity": name, "role": role.name, "from": "", "to": letters}));
            }
        }
        added += 1;
    }
    if !cells_set.is_empty() {
        audit::record(conn, actor, now, "raci.updated", "raci", org_id, json!({"cells": cells_set})).await?;
    }
    Ok(added)
}

// ---------- pages ----------

#[derive(Deserialize, Default)]
struct MatrixQuery {
    #[serde(default)]
    edit: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "roles/raci.html")]
struct MatrixPage {
    layout: Layout,
    m: Matrix,
    row_problems: HashMap<Uuid, String>,
    problem_count: usize,
    unheld: Vec<String>,
    editing: bool,
    can_manage: bool,
    letters: [&'static str; 5],
}

impl MatrixPage {
    fn problem(&self, activity: &Uuid) -> Option<&str> {
        self.row_problems.get(activity).map(String::as_str)
    }
    fn title_of(&self, letters: &str) -> &'static str {
        letters_label(letters)
    }
}

async fn matrix_page(State(state): State<AppState>, me: Member, Query(q): Query<MatrixQuery>) -> AppResult<MatrixPage> {
    me.require(Action::ViewRoles)?;
    let today = state.clock.now().date_naive();
    let m = load(&state.db, me.org_id).await?;
    let appointments = roles::appointments(&state.db, me.org_id).await?;
    let list = problems(&m);
    let unheld = unheld_roles(&m, &appointments, today).into_iter().map(|r| r.name.clone()).collect();
    let can_manage = me.can(Action::ManageRoles);
    Ok(MatrixPage {
        layout: Layout::build(&state.db, &me.visitor, "RACI matrix").await?,
        problem_count: list.len(),
        row_problems: list.into_iter().map(|p| (p.activity_id, p.message)).collect(),
        unheld,
        editing: can_manage && q.edit.is_some() && !m.activities.is_empty() && !m.roles.is_empty(),
        can_manage,
        letters: LETTERS,
        m,
    })
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    me.require(Action::ViewRoles)?;
    let m = load(&state.db, me.org_id).await?;
    let list = problems(&m);
    let mut header: Vec<&str> = vec!["activity"];
    header.extend(m.roles.iter().map(|r| r.name.as_str()));
    header.push("problem");
    let mut out = csv::row(&header);
    for a in &m.activities {
        let mut cells: Vec<String> = vec![a.name.clone()];
        cells.extend(m.roles.iter().map(|r| m.cell(&a.id, &r.id).to_string()));
        cells.push(list.iter().find(|p| p.activity_id == a.id).map(|p| p.message.clone()).unwrap_or_default());
        out.push_str(&csv::row(&cells));
    }
    Ok(csv::attachment("raci-matrix.csv", out))
}

fn cell_key(key: &str, prefix: &str) -> Option<(Uuid, Uuid)> {
    let (a, r) = key.strip_prefix(prefix)?.split_once(':')?;
    Some((a.parse().ok()?, r.parse().ok()?))
}

/// The grid form posts `cell:<activity>:<role>` = letters for every cell,
/// and `was:<activity>:<role>` = the letters the page showed. A cell someone
/// else changed in the meantime is left as they set it.
async fn save(State(state): State<AppState>, me: Member, Form(fields): Form<Vec<(String, String)>>) -> AppResult<Response> {
    me.require(Action::ManageRoles)?;
    let mut tx = state.db.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('raci:' || $1::text))").bind(me.org_id).execute(&mut *tx).await?;
    let before = load(&state.db, me.org_id).await?;
    let shown: HashMap<(Uuid, Uuid), &str> = fields.iter().filter_map(|(k, v)| Some((cell_key(k, "was:")?, v.trim()))).collect();
    let mut after = before.cells.clone();
    let mut overtaken = 0;
    for (key, value) in &fields {
        let Some((a, r)) = cell_key(key, "cell:") else { continue };
        // Only cells of this organisation's live matrix are taken.
        if !before.activities.iter().any(|x| x.id == a) || !before.roles.iter().any(|x| x.id == r) {
            continue;
        }
        let v = value.trim().to_uppercase();
        if !v.is_empty() && !LETTERS.contains(&v.as_str()) {
            return Err(AppError::BadRequest(format!("\"{value}\" is not R, A, AR, C or I.")));
        }
        if let Some(was) = shown.get(&(a, r))
            && *was != before.cell(&a, &r)
        {
            if v != before.cell(&a, &r) {
                overtaken += 1;
            }
            continue;
        }
        if v.is_empty() {
            after.remove(&(a, r));
        } else {
            after.insert((a, r), v);
        }
    }
    let changed = save_cells(&mut tx, &me.actor(), state.clock.now(), me.org_id, &before, &after).await?;
    tx.commit().await?;
    let check = Matrix { cells: after, ..before };
    let broken = problems(&check).len();
    let mut flash = match (changed, broken) {
        (0, 0) => Flash::info("Nothing changed."),
        (_, 0) => Flash::success(format!("Saved {changed} cell(s). Every activity has exactly one accountable role.")),
        (_, n) => Flash::info(format!("Saved {changed} cell(s). {n} activity row(s) still need exactly one A: see the notes in the matrix.")),
    };
    if overtaken > 0 {
        flash = Flash::info(format!(
            "{} {overtaken} cell(s) were changed by someone else while you edited; their change was kept. Check them below.",
            flash.message
        ));
    }
    Ok(redirect_with(&state, "/raci", flash))
}

#[derive(Deserialize)]
struct ActivityForm {
    #[serde(default)]
    name: String,
}

async fn add_activity(State(state): State<AppState>, me: Member, Form(form): Form<ActivityForm>) -> AppResult<Response> {
    me.require(Action::ManageRoles)?;
    let name = parse_text(&form.name, "the activity", 200).map_err(AppError::BadRequest)?;
    let mut tx = state.db.begin().await?;
    create_activity(&mut tx, &me.actor(), state.clock.now(), me.org_id, &name).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/raci?edit=1", Flash::success(format!("\"{name}\" was added. Now mark who does what."))))
}

async fn retire_activity(State(state): State<AppState>, me: Member, Id(id): Id) -> AppResult<Response> {
    me.require(Action::ManageRoles)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let name: Option<String> = sqlx::query_scalar(
        "UPDATE raci_activities SET retired_at = $3 WHERE org_id = $1 AND id = $2 AND retired_at IS NULL RETURNING name",
    )
    .bind(me.org_id)
    .bind(id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(name) = name else { return Err(AppError::NotFound) };
    audit::record(&mut tx, &me.actor(), now, "raci.activity_removed", "raci_activity", id, json!({"name": name})).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/raci", Flash::success(format!("\"{name}\" was removed from the matrix."))))
}

async fn add_starter(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    me.require(Action::ManageRoles)?;
    let roles = roles::roles(&state.db, me.org_id).await?;
    let mut tx = state.db.begin().await?;
    let added = add_starting_activities(&mut tx, &me.actor(), state.clock.now(), me.org_id, &roles).await?;
    tx.commit().await?;
    let flash = if added == 0 {
        Flash::info("The matrix already has every starting activity.")
    } else {
        Flash::success(format!("{added} starting activities were added, with a suggested split for the roles you have. Check them."))
    };
    Ok(redirect_with(&state, "/raci", flash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str) -> Role {
        Role {
            id: Uuid::new_v4(),
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
        let acts: Vec<Activity> = ["none", "one", "one-ar", "two"].iter().map(|n| Activity { id: Uuid::new_v4(), name: n.to_string() }).collect();
        let mut cells = HashMap::new();
        cells.insert((acts[0].id, lead.id), "R".to_string());
        cells.insert((acts[1].id, lead.id), "A".to_string());
        cells.insert((acts[1].id, sponsor.id), "R".to_string());
        cells.insert((acts[2].id, lead.id), "AR".to_string());
        cells.insert((acts[3].id, lead.id), "A".to_string());
        cells.insert((acts[3].id, sponsor.id), "AR".to_string());
        let m = Matrix { activities: acts.clone(), roles: vec![lead, sponsor], cells };
        let p = problems(&m);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].activity_id, acts[0].id);
        assert!(p[0].message.contains("Nobody is accountable"));
        assert_eq!(p[1].activity_id, acts[3].id);
        assert!(p[1].message.contains("2 roles are accountable (ISMS lead, Sponsor)"));
    }
}
