//! Awareness and role-based training: modules with a validity period and an
//! audience, and completion records. Someone is current while their last
//! completion is valid, due soon in its last 30 days, and overdue after it
//! (or if they never completed it).
use crate::audit::{self, Actor, Entry};
use crate::error::{AppError, AppResult};
use crate::ids::{ModuleId, OrgId, PersonId, TrainingRecordId};
use crate::people::audience::{Audience, AudienceKind};
use chrono::{DateTime, Months, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

pub const DUE_SOON_DAYS: i64 = 30;

crate::text_enum! {
    /// What a module trains (`training_modules.kind`).
    pub enum ModuleKind {
        Awareness = "awareness" => "Security awareness",
        RoleBased = "role_based" => "Role-based",
    }
}

crate::text_enum! {
    /// How a completion reached Mandate (`training_records.source`).
    pub enum RecordSource {
        Manual = "manual" => "Recorded by hand",
        Import = "import" => "Imported from a file",
        /// The person confirmed it through a personal link of a training campaign.
        Link = "link" => "Confirmed through a personal link",
        /// Sent by a training system (an LMS) through the API.
        Api = "api" => "Sent by a training system",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Overdue,
    DueSoon,
    Current,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Current => "current",
            Status::DueSoon => "due_soon",
            Status::Overdue => "overdue",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Status::Current => "Current",
            Status::DueSoon => "Due soon",
            Status::Overdue => "Overdue",
        }
    }
    pub fn css(self) -> &'static str {
        match self {
            Status::Current => "validity-current",
            Status::DueSoon => "validity-expiring",
            Status::Overdue => "validity-expired",
        }
    }
}

/// The last day a completion counts.
pub fn valid_until(completed_on: NaiveDate, validity_months: i32) -> Option<NaiveDate> {
    completed_on.checked_add_months(Months::new(u32::try_from(validity_months).ok()?))
}

/// Where someone stands, from their last completion.
pub fn status(last_completed: Option<NaiveDate>, validity_months: i32, today: NaiveDate) -> Status {
    match last_completed.and_then(|d| valid_until(d, validity_months)) {
        None => Status::Overdue,
        Some(until) if until < today => Status::Overdue,
        Some(until) if (until - today).num_days() <= DUE_SOON_DAYS => Status::DueSoon,
        Some(_) => Status::Current,
    }
}

#[derive(Debug, Clone)]
pub struct Module {
    pub id: ModuleId,
    pub title: String,
    pub kind: ModuleKind,
    pub description: String,
    pub validity_months: i32,
    pub audience: AudienceKind,
    pub audience_departments: Vec<String>,
    /// Retired: no longer run; nobody is due and it produces no findings.
    pub retired_at: Option<DateTime<Utc>>,
}

impl Module {
    pub fn audience(&self) -> Audience {
        Audience::of(self.audience, &self.audience_departments)
    }
}

/// `query_as!(Module, ..)` over this organisation's modules (`$1`), then
/// the rest of the statement.
macro_rules! modules {
    ([$($rest:tt)+] $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Module,
            r#"SELECT id AS "id: ModuleId", title, kind AS "kind: ModuleKind", description, validity_months,
                      audience AS "audience: AudienceKind", audience_departments, retired_at
                 FROM training_modules WHERE org_id = $1 "# + $($rest)+
            $(, $arg)*
        )
    };
}

pub async fn modules(db: impl sqlx::PgExecutor<'_>, org_id: OrgId) -> AppResult<Vec<Module>> {
    Ok(modules!(["ORDER BY kind, lower(title)"], org_id.0).fetch_all(db).await?)
}

pub async fn module(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: ModuleId) -> AppResult<Module> {
    modules!(["AND id = $2"], org_id.0, id.0).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFields {
    pub title: String,
    pub kind: ModuleKind,
    pub description: String,
    pub validity_months: i32,
    pub audience: Audience,
}

fn title_taken(e: &sqlx::Error, title: &str) -> Option<AppError> {
    match e {
        sqlx::Error::Database(d) if d.constraint() == Some("training_modules_title_key") => {
            Some(AppError::Conflict(format!("There is already a module called \"{title}\".")))
        }
        _ => None,
    }
}

pub async fn create_module(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &ModuleFields) -> AppResult<ModuleId> {
    let id = ModuleId::new();
    let done = sqlx::query!(
        "INSERT INTO training_modules (id, org_id, title, kind, description, validity_months, audience, audience_departments, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        id.0,
        org_id.0,
        &f.title,
        f.kind.as_str(),
        &f.description,
        f.validity_months,
        f.audience.kind(),
        &f.audience.departments(),
        now,
    )
    .execute(&mut *conn)
    .await;
    if let Err(e) = done {
        return Err(title_taken(&e, &f.title).unwrap_or(e.into()));
    }
    audit::record(
        conn,
        actor,
        now,
        "training.module_created",
        "training_module",
        id,
        json!({"title": f.title, "kind": f.kind.as_str(), "validity_months": f.validity_months, "audience": f.audience.label()}),
    )
    .await?;
    Ok(id)
}

pub async fn update_module(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Module, f: &ModuleFields) -> AppResult<bool> {
    let mut changes = serde_json::Map::new();
    let mut cmp = |k: &str, a: serde_json::Value, b: serde_json::Value| {
        if a != b {
            changes.insert(k.into(), json!([a, b]));
        }
    };
    cmp("title", json!(before.title), json!(f.title));
    cmp("kind", json!(before.kind), json!(f.kind));
    cmp("description", json!(before.description), json!(f.description));
    cmp("validity_months", json!(before.validity_months), json!(f.validity_months));
    cmp("audience", json!(before.audience().label()), json!(f.audience.label()));
    if changes.is_empty() {
        return Ok(false);
    }
    let done = sqlx::query!(
        "UPDATE training_modules SET title = $3, kind = $4, description = $5, validity_months = $6, audience = $7,
                audience_departments = $8, updated_at = $9
          WHERE org_id = $1 AND id = $2",
        org_id.0,
        before.id.0,
        &f.title,
        f.kind.as_str(),
        &f.description,
        f.validity_months,
        f.audience.kind(),
        &f.audience.departments(),
        now,
    )
    .execute(&mut *conn)
    .await;
    if let Err(e) = done {
        return Err(title_taken(&e, &f.title).unwrap_or(e.into()));
    }
    audit::record(conn, actor, now, "training.module_updated", "training_module", before.id, serde_json::Value::Object(changes)).await?;
    Ok(true)
}

/// One person of a module's audience and their last completion.
#[derive(Debug, Clone)]
pub struct Standing {
    pub person_id: PersonId,
    pub name: String,
    pub email: String,
    pub department: String,
    pub manager_name: Option<String>,
    pub top_management: bool,
    pub line_manager: bool,
    pub completed_on: Option<NaiveDate>,
    pub score: Option<f64>,
    pub source: Option<RecordSource>,
    /// The last completion's way in: how it was given outside Mandate, and the account that entered it when.
    pub how: Option<crate::imports::How>,
    pub recorded_account: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
}

impl Standing {
    /// How the last completion reached Mandate, in words (empty when entered by hand).
    pub fn recorded_words(&self) -> String {
        recorded_words(self.source, self.how, self.recorded_account.as_deref(), self.recorded_at)
    }
    pub fn status(&self, validity_months: i32, today: NaiveDate) -> Status {
        status(self.completed_on, validity_months, today)
    }
    pub fn valid_until(&self, validity_months: i32) -> Option<NaiveDate> {
        valid_until(self.completed_on?, validity_months)
    }
    pub fn is_leader(&self) -> bool {
        self.top_management || self.line_manager
    }
}

// The queries below ask who a module is for (module `t`, person `p`) as
// `people::audience::sql_match("t", "p")` writes it: through the database's
// `in_audience`, which `tests/it/people.rs` holds to the Rust rule.

/// Everyone a module is for (current staff), with their last completion:
/// one query for any number of people.
pub async fn standings(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, module_id: ModuleId, today: NaiveDate) -> AppResult<Vec<Standing>> {
    standings_page(db, org_id, module_id, today, None, None, None).await
}

/// Where a page of a module's people starts: after the person with this
/// name and id (everyone but the leaders is listed by name).
pub type PageKey = (String, uuid::Uuid);

/// `standings` of leaders only (`Some(true)`: top management and line
/// managers) or of everyone else (`Some(false)`), `limit` of them after
/// `after` (`None`: from the first), in the same order.
pub async fn standings_page(
    db: impl sqlx::PgExecutor<'_>,
    org_id: OrgId,
    module_id: ModuleId,
    today: NaiveDate,
    leaders: Option<bool>,
    limit: Option<i64>,
    after: Option<PageKey>,
) -> AppResult<Vec<Standing>> {
    let (after_name, after_id) = after.unzip();
    Ok(sqlx::query_as!(
        Standing,
        r#"SELECT p.id AS "person_id!: PersonId", p.name AS "name!", p.email AS "email!", p.department AS "department!", m.name AS "manager_name?",
                  p.top_management AS "top_management!", p.line_manager AS "line_manager!",
                  last.completed_on AS "completed_on?", last.score::float8 AS "score?", last.source AS "source?: RecordSource",
                  last.recorded_how AS "how?: crate::imports::How", last.email AS "recorded_account?", last.recorded_at AS "recorded_at?"
             -- The page of people first, then their last completions: the
             -- lookups run for the rows shown, not for everyone.
             -- A module for line managers has nobody outside the leaders (the
             -- database's in_audience takes 'managers' to mean line managers,
             -- who are all leaders): a condition PostgreSQL checks once,
             -- before reading anyone.
             FROM (SELECT p.* FROM training_modules t JOIN people p ON p.org_id = t.org_id
                    WHERE t.org_id = $1 AND t.id = $2
                      AND NOT ($4::bool IS FALSE AND (SELECT m.audience FROM training_modules m WHERE m.org_id = $1 AND m.id = $2) = 'managers')
                      AND is_current_on(p.start_date, p.end_date, $3)
                      AND in_audience(t.audience, t.audience_departments, p.kind, p.line_manager, p.department)
                      AND ($4::bool IS NULL OR (p.top_management OR p.line_manager) = $4)
                      AND ($6::text IS NULL OR (p.name, p.id) > ($6, $7::uuid))
                    ORDER BY p.top_management DESC, p.line_manager DESC, p.name, p.id
                    LIMIT $5) p
             LEFT JOIN people m ON m.org_id = p.org_id AND m.id = p.manager_id
             LEFT JOIN LATERAL (
                  SELECT r.completed_on, r.score, r.source, r.recorded_how, u.email, r.recorded_at FROM training_records r
                    LEFT JOIN users u ON u.id = r.recorded_by
                   WHERE r.org_id = p.org_id AND r.module_id = $2 AND r.person_id = p.id
                   ORDER BY r.completed_on DESC LIMIT 1) last ON true
            ORDER BY p.top_management DESC, p.line_manager DESC, p.name, p.id"#,
        org_id.0,
        module_id.0,
        today,
        leaders,
        limit,
        after_name,
        after_id,
    )
    .fetch_all(db)
    .await?)
}

/// One of a person's training completions, for their page.
#[derive(Debug, Clone)]
pub struct OfPerson {
    pub module_id: ModuleId,
    pub module_title: String,
    pub completed_on: NaiveDate,
    pub score: Option<f64>,
    pub source: RecordSource,
    pub how: Option<crate::imports::How>,
    pub recorded_account: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
}

impl OfPerson {
    pub fn recorded_words(&self) -> String {
        recorded_words(Some(self.source), self.how, self.recorded_account.as_deref(), self.recorded_at)
    }
}

/// How a completion reached Mandate, in words: confirmed by the person
/// through their link, or given outside Mandate and entered by an account.
fn recorded_words(source: Option<RecordSource>, how: Option<crate::imports::How>, account: Option<&str>, at: Option<DateTime<Utc>>) -> String {
    match source {
        Some(RecordSource::Link) => format!("confirmed by the person through a personal link{}", at.map(|t| format!(" on {}", t.format("%Y-%m-%d"))).unwrap_or_default()),
        _ => crate::imports::recorded_words(how, account, at),
    }
}

/// Every training completion of `person`, newest first (one query).
pub async fn of_person(db: &PgPool, org_id: OrgId, person_id: PersonId) -> AppResult<Vec<OfPerson>> {
    Ok(sqlx::query_as!(
        OfPerson,
        r#"SELECT t.id AS "module_id: ModuleId", t.title AS module_title, r.completed_on, r.score::float8 AS score, r.source AS "source: RecordSource",
                  r.recorded_how AS "how?: crate::imports::How", u.email AS "recorded_account?", r.recorded_at
             FROM training_records r
             JOIN training_modules t ON t.org_id = r.org_id AND t.id = r.module_id
             LEFT JOIN users u ON u.id = r.recorded_by
            WHERE r.org_id = $1 AND r.person_id = $2
            ORDER BY r.completed_on DESC, t.title"#,
        org_id.0,
        person_id.0,
    )
    .fetch_all(db)
    .await?)
}

/// Counts per module for the overview: everyone, and leaders separately.
#[derive(Debug, Clone)]
pub struct Figures {
    pub module_id: ModuleId,
    pub audience: i64,
    pub current: i64,
    pub due_soon: i64,
    pub overdue: i64,
    pub leaders: i64,
    pub leaders_overdue: i64,
}

impl Figures {
    /// A module nobody is counted in yet.
    pub fn none(module_id: ModuleId) -> Figures {
        Figures { module_id, audience: 0, current: 0, due_soon: 0, overdue: 0, leaders: 0, leaders_overdue: 0 }
    }
}

pub async fn figures(db: &PgPool, org_id: OrgId, today: NaiveDate) -> AppResult<Vec<Figures>> {
    // Each person's latest completion per module, worked out once and joined
    // by hash (a lookup per module and person took 1.1 s for 5,000 people).
    Ok(sqlx::query_as!(
        Figures,
        r#"WITH last AS (
              SELECT r.module_id, r.person_id, max(r.completed_on) AS completed_on FROM training_records r
               WHERE r.org_id = $1 GROUP BY r.module_id, r.person_id),
           s AS (
              SELECT t.id AS module_id, p.top_management OR p.line_manager AS leader,
                     l.completed_on + make_interval(months => t.validity_months) AS until
                FROM training_modules t
                JOIN people p ON p.org_id = t.org_id
                             AND is_current_on(p.start_date, p.end_date, $2)
                             AND in_audience(t.audience, t.audience_departments, p.kind, p.line_manager, p.department)
                LEFT JOIN last l ON l.module_id = t.id AND l.person_id = p.id
               WHERE t.org_id = $1)
           SELECT module_id AS "module_id!: ModuleId", count(*) AS "audience!",
                  count(*) FILTER (WHERE until::date > $2 + $3::int) AS "current!",
                  count(*) FILTER (WHERE until::date >= $2 AND until::date <= $2 + $3::int) AS "due_soon!",
                  count(*) FILTER (WHERE until IS NULL OR until::date < $2) AS "overdue!",
                  count(*) FILTER (WHERE leader) AS "leaders!",
                  count(*) FILTER (WHERE leader AND (until IS NULL OR until::date < $2)) AS "leaders_overdue!"
             FROM s GROUP BY module_id"#,
        org_id.0,
        today,
        DUE_SOON_DAYS as i32,
    )
    .fetch_all(db)
    .await?)
}

/// A completion to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub module_id: ModuleId,
    pub person_id: PersonId,
    pub completed_on: NaiveDate,
    pub score: Option<f64>,
    /// Given outside Mandate: how (imports say; by hand: not said).
    pub how: Option<crate::imports::How>,
}

/// Retires a module: its records stay, nobody is due any more and it
/// produces no findings from now on.
pub async fn retire(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, module: &Module) -> AppResult<()> {
    let done = sqlx::query!("UPDATE training_modules SET retired_at = $3, updated_at = $3 WHERE org_id = $1 AND id = $2 AND retired_at IS NULL", org_id.0, module.id.0, now)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict(format!("{} is already retired.", module.title)));
    }
    audit::record(conn, actor, now, "training.module_retired", "training_module", module.id, json!({"title": module.title})).await?;
    Ok(())
}

/// Records completions; ones already recorded (same module, person and day)
/// are skipped, so importing a file twice adds nothing. Returns how many
/// were new.
pub async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    source: RecordSource,
    items: &[Completion],
) -> AppResult<usize> {
    if items.is_empty() {
        return Ok(0);
    }
    let ids: Vec<uuid::Uuid> = items.iter().map(|_| TrainingRecordId::new().0).collect();
    let modules: Vec<uuid::Uuid> = items.iter().map(|c| c.module_id.0).collect();
    let persons: Vec<uuid::Uuid> = items.iter().map(|c| c.person_id.0).collect();
    let days: Vec<NaiveDate> = items.iter().map(|c| c.completed_on).collect();
    let scores: Vec<Option<f64>> = items.iter().map(|c| c.score).collect();
    let hows: Vec<Option<String>> = items.iter().map(|c| c.how.map(|h| h.as_str().to_string())).collect();
    // Only this organisation's modules and people can be named.
    let inserted = sqlx::query!(
        r#"INSERT INTO training_records (id, org_id, module_id, person_id, completed_on, score, source, recorded_by, recorded_at, recorded_how)
           SELECT u.id, $1, u.module_id, u.person_id, u.completed_on, u.score::numeric, $2, $3, $4, u.how
             FROM UNNEST($5::uuid[], $6::uuid[], $7::uuid[], $8::date[], $9::float8[], $10::text[]) AS u(id, module_id, person_id, completed_on, score, how)
            WHERE EXISTS (SELECT 1 FROM training_modules t WHERE t.org_id = $1 AND t.id = u.module_id)
              AND EXISTS (SELECT 1 FROM people p WHERE p.org_id = $1 AND p.id = u.person_id)
           ON CONFLICT (org_id, module_id, person_id, completed_on) DO NOTHING
           RETURNING id AS "id: TrainingRecordId", module_id AS "module_id: ModuleId", person_id AS "person_id: PersonId", completed_on"#,
        org_id.0,
        source.as_str(),
        actor.user_id.map(|u| u.0),
        now,
        &ids,
        &modules,
        &persons,
        &days,
        &scores as &[Option<f64>],
        &hows as &[Option<String>],
    )
    .fetch_all(&mut *conn)
    .await?;
    let entries = inserted
        .iter()
        .map(|r| {
            Entry::new(
                "training.completed",
                "training_record",
                r.id,
                json!({"module_id": r.module_id, "person_id": r.person_id, "completed_on": r.completed_on, "source": source}),
            )
        })
        .collect();
    audit::record_many(conn, actor, now, entries).await?;
    Ok(inserted.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_due_soon_overdue() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-11-02");
        assert_eq!(status(None, 12, today), Status::Overdue, "never trained");
        assert_eq!(status(Some(d("2026-01-10")), 12, today), Status::Current);
        assert_eq!(status(Some(d("2025-12-01")), 12, today), Status::DueSoon);
        assert_eq!(status(Some(d("2025-11-02")), 12, today), Status::DueSoon, "the last valid day");
        assert_eq!(status(Some(d("2025-11-01")), 12, today), Status::Overdue);
    }
}
