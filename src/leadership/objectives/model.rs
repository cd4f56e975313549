//! Security objectives: the queries and the types.
use super::super::check_people;
use crate::audit::{self, Actor, Changes};
use crate::error::AppResult;
use crate::ids::{ObjectiveId, OrgId, PersonId};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::PgConnection;

crate::text_enum! {
    /// Where an objective stands.
    #[derive(Default)]
    pub enum ObjectiveStatus {
        #[default]
        Planned = "planned" => "Planned",
        OnTrack = "on_track" => "On track",
        AtRisk = "at_risk" => "At risk",
        Achieved = "achieved" => "Achieved",
        Dropped = "dropped" => "Dropped",
    }
}

impl ObjectiveStatus {
    /// Still pursued: planned, on track or at risk.
    pub fn is_live(self) -> bool {
        matches!(self, ObjectiveStatus::Planned | ObjectiveStatus::OnTrack | ObjectiveStatus::AtRisk)
    }
}

/// An objective counts when it is live and has a measure and an owner.
pub fn is_current(status: ObjectiveStatus, measure: &str, owner: Option<PersonId>) -> bool {
    status.is_live() && !measure.trim().is_empty() && owner.is_some()
}

#[derive(Debug, Clone)]
pub struct Objective {
    pub id: ObjectiveId,
    pub title: String,
    pub measure: String,
    pub target: String,
    pub owner_id: Option<PersonId>,
    pub owner_name: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub status: ObjectiveStatus,
    pub strategy_link: String,
    pub created_at: DateTime<Utc>,
    /// Meetings that reviewed it.
    pub reviews: i64,
    pub last_reviewed: Option<NaiveDate>,
}

impl Objective {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
    pub fn is_current(&self) -> bool {
        is_current(self.status, &self.measure, self.owner_id)
    }
    /// Still live after its due date.
    pub fn past_due(&self, today: NaiveDate) -> bool {
        self.status.is_live() && self.due_on.is_some_and(|d| d < today)
    }
}

/// Live objectives first; or one (`id`).
fn select(
    org_id: OrgId,
    id: Option<ObjectiveId>,
) -> sqlx::query::Map<'static, sqlx::Postgres, impl FnMut(sqlx::postgres::PgRow) -> Result<Objective, sqlx::Error> + Send, sqlx::postgres::PgArguments> {
    sqlx::query_as!(
        Objective,
        r#"SELECT o.id AS "id: ObjectiveId", o.title, o.measure, o.target, o.owner_id AS "owner_id: PersonId", p.name AS "owner_name?", o.due_on,
        o.status AS "status: ObjectiveStatus", o.strategy_link, o.created_at,
        (SELECT count(*) FROM meetings m WHERE m.org_id = o.org_id AND o.id = ANY(m.objective_ids)) AS "reviews!",
        (SELECT max(m.held_on) FROM meetings m WHERE m.org_id = o.org_id AND o.id = ANY(m.objective_ids)) AS last_reviewed
   FROM objectives o LEFT JOIN people p ON p.org_id = o.org_id AND p.id = o.owner_id
  WHERE o.org_id = $1 AND ($2::uuid IS NULL OR o.id = $2)
  ORDER BY o.status IN ('achieved', 'dropped'), o.due_on NULLS LAST, o.title"#,
        org_id.0,
        id.map(|i| i.0),
    )
}

reads!(Objective, ObjectiveId, |org, id| select(org, id));

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields {
    pub title: String,
    pub measure: String,
    pub target: String,
    pub owner_id: Option<PersonId>,
    pub due_on: Option<NaiveDate>,
    pub status: ObjectiveStatus,
    pub strategy_link: String,
}

/// Writes the fields of a new record (`insert`) or of a changed one (`save`):
/// one statement for both, so the two can never store different columns.
async fn write(conn: &mut PgConnection, org_id: OrgId, id: ObjectiveId, f: &Fields, now: DateTime<Utc>) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO objectives (id, org_id, title, measure, target, owner_id, due_on, status, strategy_link, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
         ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, measure = EXCLUDED.measure, target = EXCLUDED.target, owner_id = EXCLUDED.owner_id, due_on = EXCLUDED.due_on, status = EXCLUDED.status, strategy_link = EXCLUDED.strategy_link, updated_at = EXCLUDED.updated_at
          WHERE objectives.org_id = EXCLUDED.org_id",
        id.0,
        org_id.0,
        f.title,
        f.measure,
        f.target,
        f.owner_id.map(|i| i.0),
        f.due_on,
        f.status.as_str(),
        f.strategy_link,
        now,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Fields) -> AppResult<ObjectiveId> {
    check_people(conn, org_id, &f.owner_id.into_iter().collect::<Vec<_>>()).await?;
    let id = ObjectiveId::new();
    write(conn, org_id, id, f, now).await?;
    audit::record(
        conn,
        actor,
        now,
        "objective.created",
        "objective",
        id,
        json!({"title": f.title, "measure": f.measure, "target": f.target, "owner_id": f.owner_id, "due_on": f.due_on}),
    )
    .await?;
    Ok(id)
}

pub async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Objective, f: &Fields) -> AppResult<bool> {
    let mut c = Changes::new();
    c.field("title", &before.title, &f.title)
        .field("measure", &before.measure, &f.measure)
        .field("target", &before.target, &f.target)
        .field("owner_id", before.owner_id, f.owner_id)
        .field("due_on", before.due_on, f.due_on)
        .field("status", before.status, f.status)
        .field("strategy_link", &before.strategy_link, &f.strategy_link);
    if c.is_empty() {
        return Ok(false);
    }
    check_people(conn, org_id, &f.owner_id.into_iter().collect::<Vec<_>>()).await?;
    write(conn, org_id, before.id, f, now).await?;
    audit::record(conn, actor, now, "objective.updated", "objective", before.id, c.into_value()).await?;
    Ok(true)
}

