//! An organisation's view of the catalogue: for each requirement, whether it
//! applies, who owns it, how far it is, and notes. A requirement nobody has
//! touched yet has no row and reads as applicable, unowned, not started.
use crate::ids::OrgId;
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NotStarted,
    InProgress,
    Implemented,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::NotStarted, Status::InProgress, Status::Implemented];
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotStarted => "not_started",
            Status::InProgress => "in_progress",
            Status::Implemented => "implemented",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Status::NotStarted => "Not started",
            Status::InProgress => "In progress",
            Status::Implemented => "Implemented",
        }
    }
    pub fn parse(raw: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Requirement {
    pub id: Uuid,
    pub code: String,
    pub clause: String,
    pub clause_title: String,
    pub title: String,
    pub summary: String,
    pub auditor_looks_for: String,
    pub evidence: Vec<String>,
    pub applicable: bool,
    pub exclusion_reason: String,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    pub owner_user_id: Option<Uuid>,
    pub owner_left: bool,
    pub status: String,
    pub notes: String,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Requirement {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::NotStarted)
    }
    pub fn state(&self) -> State {
        State {
            applicable: self.applicable,
            exclusion_reason: self.exclusion_reason.clone(),
            owner_id: self.owner_id,
            status: self.status(),
            notes: self.notes.clone(),
        }
    }
}

/// What a person can set about a requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub applicable: bool,
    pub exclusion_reason: String,
    pub owner_id: Option<Uuid>,
    pub status: Status,
    pub notes: String,
}

impl State {
    fn changes(&self, new: &State) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        let mut cmp = |k: &str, a: Value, b: Value| {
            if a != b {
                out.insert(k.into(), json!([a, b]));
            }
        };
        cmp("applicable", json!(self.applicable), json!(new.applicable));
        cmp("exclusion_reason", json!(self.exclusion_reason), json!(new.exclusion_reason));
        cmp("owner_id", json!(self.owner_id), json!(new.owner_id));
        cmp("status", json!(self.status.as_str()), json!(new.status.as_str()));
        cmp("notes", json!(self.notes), json!(new.notes));
        out
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub clause: String,
    /// A person id, `none` (unowned) or empty (anyone).
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub status: String,
    /// `yes`, `no` or empty.
    #[serde(default)]
    pub applicable: String,
}

impl Filter {
    pub fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("clause", &self.clause)
            .append_pair("owner", &self.owner)
            .append_pair("status", &self.status)
            .append_pair("applicable", &self.applicable);
        q.finish()
    }
    pub fn is_empty(&self) -> bool {
        self.clause.is_empty() && self.owner.is_empty() && self.status.is_empty() && self.applicable.is_empty()
    }
}

const SELECT: &str = "SELECT r.id, r.code, r.clause, c.title AS clause_title, r.title, r.summary, r.auditor_looks_for, r.evidence,
        COALESCE(s.applicable, true) AS applicable, COALESCE(s.exclusion_reason, '') AS exclusion_reason,
        s.owner_id, p.name AS owner_name, p.email AS owner_email, p.user_id AS owner_user_id,
        COALESCE(p.end_date <= $2, false) AS owner_left,
        COALESCE(s.status, 'not_started') AS status, COALESCE(s.notes, '') AS notes, s.updated_at
   FROM requirements r
   JOIN catalogue_clauses c ON c.framework = r.framework AND c.code = r.clause
   LEFT JOIN requirement_states s ON s.org_id = $1 AND s.requirement_id = r.id
   LEFT JOIN people p ON p.org_id = $1 AND p.id = s.owner_id
  WHERE r.retired_at IS NULL";

/// The requirements matching `f`, in catalogue order.
pub fn filtered_sql() -> String {
    format!(
        "{SELECT}
    AND ($3::text IS NULL OR r.clause = $3)
    AND CASE WHEN $4::text IS NULL THEN true
             WHEN $4 = 'none' THEN s.owner_id IS NULL
             ELSE s.owner_id::text = $4 END
    AND ($5::text IS NULL OR COALESCE(s.status, 'not_started') = $5)
    AND CASE $6::text WHEN 'yes' THEN COALESCE(s.applicable, true) WHEN 'no' THEN NOT COALESCE(s.applicable, true) ELSE true END
  ORDER BY r.framework, c.position, r.position"
    )
}

pub fn bind_filter<'q>(
    q: crate::web::csv::Query<'q, Requirement>,
    org_id: OrgId,
    f: &Filter,
    today: NaiveDate,
) -> crate::web::csv::Query<'q, Requirement> {
    let opt = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_string());
    q.bind(org_id).bind(today).bind(opt(&f.clause)).bind(opt(&f.owner)).bind(opt(&f.status)).bind(opt(&f.applicable))
}

pub async fn list(db: &PgPool, org_id: OrgId, f: &Filter, today: NaiveDate) -> AppResult<Vec<Requirement>> {
    let sql = filtered_sql();
    Ok(bind_filter(sqlx::query_as(&sql), org_id, f, today).fetch_all(db).await?)
}

pub async fn get(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: Uuid, today: NaiveDate) -> AppResult<Requirement> {
    sqlx::query_as(&format!("{SELECT} AND r.id = $3"))
        .bind(org_id)
        .bind(today)
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClauseInfo {
    pub code: String,
    pub title: String,
    pub summary: String,
}

pub async fn clauses(db: &PgPool) -> AppResult<Vec<ClauseInfo>> {
    Ok(sqlx::query_as("SELECT code, title, summary FROM catalogue_clauses ORDER BY framework, position").fetch_all(db).await?)
}

/// Serialises changes to one requirement of one organisation.
pub async fn lock(conn: &mut PgConnection, org_id: OrgId, requirement_id: Uuid) -> AppResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('requirement:' || $1::text || ':' || $2::text))")
        .bind(org_id)
        .bind(requirement_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Saves what changed about a requirement; returns whether anything did.
/// Read `before` under `lock` in the same transaction.
pub async fn save(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    before: &Requirement,
    new: &State,
) -> AppResult<bool> {
    let changes = before.state().changes(new);
    if changes.is_empty() {
        return Ok(false);
    }
    if let Some(owner) = new.owner_id {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM people WHERE org_id = $1 AND id = $2)")
            .bind(org_id)
            .bind(owner)
            .fetch_one(&mut *conn)
            .await?;
        if !exists {
            return Err(AppError::BadRequest("The chosen owner is not in this organisation's directory.".into()));
        }
    }
    sqlx::query(
        "INSERT INTO requirement_states (org_id, requirement_id, applicable, exclusion_reason, owner_id, status, notes, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (org_id, requirement_id) DO UPDATE
            SET applicable = $3, exclusion_reason = $4, owner_id = $5, status = $6, notes = $7, updated_at = $8, updated_by = $9",
    )
    .bind(org_id)
    .bind(before.id)
    .bind(new.applicable)
    .bind(&new.exclusion_reason)
    .bind(new.owner_id)
    .bind(new.status.as_str())
    .bind(&new.notes)
    .bind(now)
    .bind(actor.user_id)
    .execute(&mut *conn)
    .await?;
    let mut details = changes;
    details.insert("code".into(), json!(before.code));
    audit::record(conn, actor, now, "requirement.updated", "requirement", before.id, Value::Object(details)).await?;
    Ok(true)
}
