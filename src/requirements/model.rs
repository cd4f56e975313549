//! An organisation's view of the catalogue: for each requirement, whether it
//! applies, who owns it, how far it is, and notes. A requirement nobody has
//! touched yet has no row and reads as applicable, unowned, not started.
use crate::ids::{OrgId, PersonId, RequirementId, UserId};
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use futures_util::stream::BoxStream;
use sqlx::{PgConnection, PgPool};

crate::text_enum! {
    /// How far an organisation is with a requirement.
    pub enum Status {
        NotStarted = "not_started" => "Not started",
        InProgress = "in_progress" => "In progress",
        Implemented = "implemented" => "Implemented",
    }
}

#[derive(Debug, Clone)]
pub struct Requirement {
    pub id: RequirementId,
    pub code: String,
    pub clause: String,
    pub clause_title: String,
    pub title: String,
    pub summary: String,
    pub auditor_looks_for: String,
    pub evidence: Vec<String>,
    pub applicable: bool,
    pub exclusion_reason: String,
    /// The member of top management who approved the exclusion (the statement of applicability).
    pub exclusion_approved_by: Option<PersonId>,
    pub exclusion_approver_name: Option<String>,
    pub owner_id: Option<PersonId>,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    pub owner_user_id: Option<UserId>,
    pub owner_left: bool,
    pub status: Status,
    pub notes: String,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Whether a catalogue code is mandatory for certification: clauses 4 to 10
/// always apply; only Annex A controls can be excluded. The database's
/// `requirement_mandatory` states the same rule, and refuses an exclusion.
pub fn is_mandatory(code: &str) -> bool {
    !code.starts_with("A.")
}

impl Requirement {
    pub fn mandatory(&self) -> bool {
        is_mandatory(&self.code)
    }

    pub fn state(&self) -> State {
        State {
            applicable: self.applicable,
            exclusion_reason: self.exclusion_reason.clone(),
            exclusion_approved_by: self.exclusion_approved_by,
            owner_id: self.owner_id,
            status: self.status,
            notes: self.notes.clone(),
        }
    }
}

/// What a person can set about a requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub applicable: bool,
    pub exclusion_reason: String,
    pub exclusion_approved_by: Option<PersonId>,
    pub owner_id: Option<PersonId>,
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
        cmp("exclusion_approved_by", json!(self.exclusion_approved_by), json!(new.exclusion_approved_by));
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

/// The organisation's requirements in catalogue order, written once for
/// the list, its CSV export and one requirement's page. `$1` the
/// organisation, `$2` today; `$3`..`$6` the [`Filter`] (clause, owner
/// (a person id or `none`), status, applicable `yes`/`no`), `$7` one
/// requirement; each `None` (NULL) means any.
macro_rules! select_requirements {
    ($org:expr, $today:expr, $clause:expr, $owner:expr, $status:expr, $applicable:expr, $id:expr) => {
        sqlx::query_as!(
            Requirement,
            r#"SELECT r.id AS "id: RequirementId", r.code, r.clause, c.title AS clause_title, r.title, r.summary,
                      r.auditor_looks_for, r.evidence,
                      requirement_applies(r.code, s.applicable) AS "applicable!", COALESCE(s.exclusion_reason, '') AS "exclusion_reason!",
                      s.exclusion_approved_by AS "exclusion_approved_by?: PersonId", xa.name AS "exclusion_approver_name?",
                      s.owner_id AS "owner_id?: PersonId", p.name AS "owner_name?", p.email AS "owner_email?",
                      p.user_id AS "owner_user_id?: UserId", COALESCE(p.end_date <= $2, false) AS "owner_left!",
                      COALESCE(s.status, 'not_started') AS "status!: Status", COALESCE(s.notes, '') AS "notes!",
                      s.updated_at AS "updated_at?"
                 FROM requirements r
                 JOIN catalogue_clauses c ON c.framework = r.framework AND c.code = r.clause
                 LEFT JOIN requirement_states s ON s.org_id = $1 AND s.requirement_id = r.id
                 LEFT JOIN people p ON p.org_id = $1 AND p.id = s.owner_id
                 LEFT JOIN people xa ON xa.org_id = $1 AND xa.id = s.exclusion_approved_by
                WHERE r.retired_at IS NULL
                  AND ($3::text IS NULL OR r.clause = $3)
                  AND CASE WHEN $4::text IS NULL THEN true
                           WHEN $4 = 'none' THEN s.owner_id IS NULL
                           ELSE s.owner_id::text = $4 END
                  AND ($5::text IS NULL OR COALESCE(s.status, 'not_started') = $5)
                  AND CASE $6::text WHEN 'yes' THEN requirement_applies(r.code, s.applicable)
                                    WHEN 'no' THEN NOT requirement_applies(r.code, s.applicable) ELSE true END
                  AND ($7::uuid IS NULL OR r.id = $7)
                ORDER BY r.framework, c.position, r.position"#,
            $org.0,
            $today,
            $clause,
            $owner,
            $status,
            $applicable,
            $id,
        )
    };
}

/// The filter's values as the query takes them: blank means any.
fn filter_args(f: &Filter) -> [Option<String>; 4] {
    let opt = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_string());
    [opt(&f.clause), opt(&f.owner), opt(&f.status), opt(&f.applicable)]
}

/// The requirements matching `f`, in catalogue order, as a stream (for the CSV export).
pub fn stream<'c>(db: &'c PgPool, org_id: OrgId, f: &Filter, today: NaiveDate) -> BoxStream<'c, Result<Requirement, sqlx::Error>> {
    let [clause, owner, status, applicable] = filter_args(f);
    select_requirements!(org_id, today, clause, owner, status, applicable, None::<uuid::Uuid>).fetch(db)
}

pub async fn list(db: &PgPool, org_id: OrgId, f: &Filter, today: NaiveDate) -> AppResult<Vec<Requirement>> {
    let [clause, owner, status, applicable] = filter_args(f);
    Ok(select_requirements!(org_id, today, clause, owner, status, applicable, None::<uuid::Uuid>).fetch_all(db).await?)
}

pub async fn get(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: RequirementId, today: NaiveDate) -> AppResult<Requirement> {
    let none = None::<String>;
    select_requirements!(org_id, today, none, none, none, none, Some(id.0)).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Clone)]
pub struct ClauseInfo {
    pub code: String,
    pub title: String,
    pub summary: String,
}

pub async fn clauses(db: &PgPool) -> AppResult<Vec<ClauseInfo>> {
    Ok(sqlx::query_as!(ClauseInfo, "SELECT code, title, summary FROM catalogue_clauses ORDER BY framework, position").fetch_all(db).await?)
}

/// Serialises changes to one requirement of one organisation.
pub async fn lock(conn: &mut PgConnection, org_id: OrgId, requirement_id: RequirementId) -> AppResult<()> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('requirement:' || $1::uuid::text || ':' || $2::uuid::text))", org_id.0, requirement_id.0)
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
        let exists = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM people WHERE org_id = $1 AND id = $2) AS "exists!""#, org_id.0, owner.0)
            .fetch_one(&mut *conn)
            .await?;
        if !exists {
            return Err(AppError::BadRequest("The chosen owner is not in this organisation's directory.".into()));
        }
    }
    if let Some(approver) = new.exclusion_approved_by.filter(|_| !new.applicable) {
        let top = sqlx::query_scalar!(r#"SELECT top_management AS "top!" FROM people WHERE org_id = $1 AND id = $2"#, org_id.0, approver.0)
            .fetch_optional(&mut *conn)
            .await?;
        if top != Some(true) {
            return Err(AppError::BadRequest("An exclusion is approved by a member of top management: choose one from the directory.".into()));
        }
    }
    sqlx::query!(
        "INSERT INTO requirement_states (org_id, requirement_id, applicable, exclusion_reason, exclusion_approved_by, owner_id, status, notes, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $10, $5, $6, $7, $8, $9)
         ON CONFLICT (org_id, requirement_id) DO UPDATE
            SET applicable = $3, exclusion_reason = $4, exclusion_approved_by = $10, owner_id = $5, status = $6, notes = $7, updated_at = $8, updated_by = $9",
        org_id.0,
        before.id.0,
        new.applicable,
        new.exclusion_reason,
        new.owner_id.map(|o| o.0),
        new.status.as_str(),
        new.notes,
        now,
        actor.user_id.map(|u| u.0),
        new.exclusion_approved_by.filter(|_| !new.applicable).map(|p| p.0),
    )
    .execute(&mut *conn)
    .await?;
    let mut details = changes;
    details.insert("code".into(), json!(before.code));
    audit::record(conn, actor, now, "requirement.updated", "requirement", before.id, Value::Object(details)).await?;
    Ok(true)
}
