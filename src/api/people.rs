//! `/api/v1/people`: the directory, read, written one at a time, and kept
//! in step with an HR system by an idempotent sync (matched by external id,
//! then e-mail; leavers get an end date, nobody is deleted).
use super::caller::ApiCaller;
use super::json::{Body, Keyset, ListQuery, Page, reply, reply_page};
use crate::auth::policy::{Access::Token, Action, Scope};
use crate::error::{AppError, AppResult};
use crate::ids::PersonId;
use crate::people::import::{self, Row};
use crate::people::model::{self, Kind, Person, PersonFields};
use crate::people::routes::PersonForm;
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::web::{FieldErrors, Id};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn routes(r: Routes) -> Routes {
    r.get("/api/v1/people", Token(Action::ViewPeople, Scope::Read), list)
        .post("/api/v1/people", Token(Action::ManagePeople, Scope::WritePeople), create)
        .post_upload("/api/v1/people/sync", Token(Action::ManagePeople, Scope::WritePeople), sync, Some(super::json::BULK_BYTES))
        .get("/api/v1/people/{id}", Token(Action::ViewPeople, Scope::Read), show)
        .patch("/api/v1/people/{id}", Token(Action::ManagePeople, Scope::WritePeople), update)
}

/// A person in the directory.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiPerson {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    /// The id the HR system knows this person by.
    pub external_id: Option<String>,
    pub job_title: String,
    pub department: String,
    pub manager_id: Option<Uuid>,
    /// `employee` or `contractor`.
    pub kind: String,
    pub start_date: Option<NaiveDate>,
    /// The leaving date: people are never deleted.
    pub end_date: Option<NaiveDate>,
    /// On the top-management roster (changed only by proposal and a leader's confirmation).
    pub top_management: bool,
    pub line_manager: bool,
    /// Their contract has an information-security clause.
    pub security_clause: bool,
    /// They have a Mandate account linked to this entry.
    pub has_account: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

async fn fetch(db: &sqlx::PgPool, org_id: crate::ids::OrgId, one: Option<Uuid>, k: &Keyset) -> AppResult<Vec<ApiPerson>> {
    Ok(sqlx::query_as!(
        ApiPerson,
        r#"SELECT p.id, p.name, p.email, p.external_id, p.job_title, p.department, p.manager_id, p.kind, p.start_date, p.end_date,
                  p.top_management, p.line_manager, p.security_clause, (p.user_id IS NOT NULL) AS "has_account!", p.created_at, p.updated_at
             FROM people p
            WHERE p.org_id = $1 AND ($2::uuid IS NULL OR p.id = $2)
              AND ($3::timestamptz IS NULL OR p.updated_at >= $3)
              AND ($4::timestamptz IS NULL OR (p.updated_at, p.id) > ($4, $5::uuid))
            ORDER BY p.updated_at, p.id
            LIMIT $6"#,
        org_id.0,
        one,
        k.since,
        k.after_at,
        k.after_id,
        k.fetch,
    )
    .fetch_all(db)
    .await?)
}

async fn one(state: &AppState, org_id: crate::ids::OrgId, id: PersonId) -> AppResult<ApiPerson> {
    fetch(&state.db, org_id, Some(id.0), &Keyset::ONE).await?.into_iter().next().ok_or(AppError::NotFound)
}

/// People in the order they last changed.
#[utoipa::path(get, path = "/api/v1/people", tag = "people", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of people, oldest change first", body = Page<ApiPerson>)))]
pub async fn list(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let k = q.keyset()?;
    let rows = fetch(&state.db, me.token.org_id, None, &k).await?;
    reply_page(&headers, rows, &k, |p| (p.updated_at, p.id))
}

/// One person.
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "people", security(("bearer" = ["read"])), params(("id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "The person", body = ApiPerson), (status = 404, description = "No such person in this organisation", body = super::doc::Problem)))]
pub async fn show(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Id(id): Id<PersonId>) -> AppResult<Response> {
    reply(&headers, StatusCode::OK, &one(&state, me.token.org_id, id).await?)
}

/// A person to add, or the fields of one to change (PATCH: fields left out stay as they are).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    pub name: Option<String>,
    pub email: Option<String>,
    /// The HR system's id; `null` removes it.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<Uuid>)]
    pub manager_id: Option<Option<Uuid>>,
    /// `employee` (the default) or `contractor`.
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<NaiveDate>)]
    pub start_date: Option<Option<NaiveDate>>,
    /// The leaving date; `null` clears it.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<NaiveDate>)]
    pub end_date: Option<Option<NaiveDate>>,
    pub line_manager: Option<bool>,
    pub security_clause: Option<bool>,
}

/// A person to add: a name and an e-mail address at least.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    #[schema(format = Email, min_length = 3)]
    pub email: String,
    /// The HR system's id.
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub manager_id: Option<Uuid>,
    /// `employee` (the default) or `contractor`.
    #[schema(pattern = "^(employee|contractor)$")]
    pub kind: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub line_manager: Option<bool>,
    pub security_clause: Option<bool>,
}

impl From<NewPerson> for PersonInput {
    fn from(p: NewPerson) -> Self {
        PersonInput {
            name: Some(p.name),
            email: Some(p.email),
            external_id: p.external_id.map(Some),
            job_title: p.job_title,
            department: p.department,
            manager_id: p.manager_id.map(Some),
            kind: p.kind,
            start_date: p.start_date.map(Some),
            end_date: p.end_date.map(Some),
            line_manager: p.line_manager,
            security_clause: p.security_clause,
        }
    }
}

/// A field given as `null` is `Some(None)`; one left out stays `None`.
pub fn some<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl PersonInput {
    /// The form these fields make over `base`, checked as the page checks it.
    fn fields(&self, base: PersonForm) -> Result<(PersonFields, Option<Option<String>>), FieldErrors> {
        let on = |b: bool| b.then(|| "on".to_string());
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let form = PersonForm {
            name: self.name.clone().unwrap_or(base.name),
            email: self.email.clone().unwrap_or(base.email),
            job_title: self.job_title.clone().unwrap_or(base.job_title),
            department: self.department.clone().unwrap_or(base.department),
            manager_id: self.manager_id.map(|m| m.map(|m| m.to_string()).unwrap_or_default()).unwrap_or(base.manager_id),
            kind: self.kind.clone().unwrap_or(base.kind),
            start_date: self.start_date.map(date).unwrap_or(base.start_date),
            end_date: self.end_date.map(date).unwrap_or(base.end_date),
            line_manager: self.line_manager.map(on).unwrap_or(base.line_manager),
            security_clause: self.security_clause.map(on).unwrap_or(base.security_clause),
        };
        let mut errors = match form.parse() {
            Ok(f) => return check_external(&self.external_id).map(|e| (f, e)),
            Err(e) => e,
        };
        if let Err(e) = check_external(&self.external_id) {
            errors.add("external_id", e.get("external_id").unwrap_or_default().to_string());
        }
        Err(errors)
    }
}

fn check_external(e: &Option<Option<String>>) -> Result<Option<Option<String>>, FieldErrors> {
    match e {
        Some(Some(id)) if id.trim().is_empty() || id.chars().count() > 200 || id.chars().any(char::is_control) => {
            let mut errors = FieldErrors::default();
            errors.add("external_id", "An external id has 1 to 200 characters, without line breaks.");
            Err(errors)
        }
        Some(Some(id)) => Ok(Some(Some(id.trim().to_string()))),
        other => Ok(other.clone()),
    }
}

/// Stores the external id, refusing one another person has; logged when it changes.
async fn set_external(conn: &mut sqlx::PgConnection, me: &ApiCaller, now: DateTime<Utc>, id: PersonId, external: Option<&str>) -> AppResult<()> {
    let org_id = me.token.org_id;
    let taken = sqlx::query_scalar!(
        r#"SELECT name FROM people WHERE org_id = $1 AND external_id = $2 AND id <> $3"#,
        org_id.0,
        external,
        id.0
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(name) = taken {
        let mut errors = FieldErrors::default();
        errors.add("external_id", format!("{name} already has this external id."));
        return Err(AppError::Invalid(errors));
    }
    let before = sqlx::query_scalar!("SELECT external_id FROM people WHERE org_id = $1 AND id = $2 FOR UPDATE", org_id.0, id.0).fetch_optional(&mut *conn).await?.ok_or(AppError::NotFound)?;
    if before.as_deref() == external {
        return Ok(());
    }
    sqlx::query!("UPDATE people SET external_id = $3, updated_at = $4 WHERE org_id = $1 AND id = $2", org_id.0, id.0, external, now).execute(&mut *conn).await?;
    crate::audit::record(conn, &me.actor(), now, "person.updated", "person", id, serde_json::json!({"external_id": [before, external]})).await?;
    Ok(())
}

/// A model refusal about a field, as a field error (a taken e-mail, a manager loop, a leader's leaving date).
fn as_field(e: AppError) -> AppError {
    let field = match &e {
        AppError::Conflict(m) if m.contains("is top management") => "end_date",
        AppError::Conflict(m) if m.contains("e-mail") => "email",
        AppError::Conflict(m) | AppError::BadRequest(m) if m.contains("manage") => "manager_id",
        _ => return e,
    };
    let mut errors = FieldErrors::default();
    if let AppError::Conflict(m) | AppError::BadRequest(m) = e {
        errors.add(field, m);
    }
    AppError::Invalid(errors)
}

/// Adds a person (never to top management: that is the roster's).
#[utoipa::path(post, path = "/api/v1/people", tag = "people", security(("bearer" = ["people:write"])), request_body = NewPerson,
    responses((status = 201, description = "The person added", body = ApiPerson), (status = 422, description = "A field is missing or wrong", body = super::doc::Problem)))]
pub async fn create(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Body(input): Body<NewPerson>) -> AppResult<Response> {
    let input = PersonInput::from(input);
    let base = PersonForm { kind: "employee".into(), ..Default::default() };
    let (fields, external) = input.fields(base).map_err(AppError::Invalid)?;
    let now = state.clock.now();
    let org = me.token.org_id;
    let mut tx = state.db.begin().await?;
    let id = model::create(&mut tx, &me.actor(), now, org, &fields, None).await.map_err(as_field)?;
    if let Some(Some(ext)) = &external {
        set_external(&mut tx, &me, now, id, Some(ext)).await?;
    }
    tx.commit().await?;
    reply(&headers, StatusCode::CREATED, &one(&state, org, id).await?)
}

/// Changes a person's fields; those left out stay as they are.
#[utoipa::path(patch, path = "/api/v1/people/{id}", tag = "people", security(("bearer" = ["people:write"])), request_body = PersonInput, params(("id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "The person as saved", body = ApiPerson), (status = 404, description = "No such person in this organisation", body = super::doc::Problem),
        (status = 422, description = "A field is wrong", body = super::doc::Problem)))]
pub async fn update(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Id(id): Id<PersonId>, Body(input): Body<PersonInput>) -> AppResult<Response> {
    let org = me.token.org_id;
    let before = model::get(&state.db, org, id).await?;
    let (fields, external) = input.fields(PersonForm::from_person(&before)).map_err(AppError::Invalid)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    model::update(&mut tx, &me.actor(), now, org, id, &fields).await.map_err(as_field)?;
    if let Some(ext) = &external {
        set_external(&mut tx, &me, now, id, ext.as_deref()).await?;
    }
    tx.commit().await?;
    reply(&headers, StatusCode::OK, &one(&state, org, id).await?)
}

// ---------- sync ----------

/// One person as the HR system has them. Every person of one call should
/// carry the same fields: a field that no person carries is left as it is
/// in the directory; one that some carry applies to all (left out: emptied).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncPerson {
    #[schema(format = Email, min_length = 3)]
    pub email: String,
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    /// The HR system's id: matched first, so a changed e-mail address updates the same person.
    pub external_id: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    /// The manager's e-mail address (in the directory or in this call).
    pub manager_email: Option<String>,
    /// `employee` or `contractor`.
    pub kind: Option<String>,
    pub start_date: Option<NaiveDate>,
    /// The leaving date of a leaver.
    pub end_date: Option<NaiveDate>,
    pub line_manager: Option<bool>,
    pub security_clause: Option<bool>,
}

/// The people to bring the directory in step with (at most 10,000).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    pub people: Vec<SyncPerson>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DryRun {
    /// `true`: answer with what would change, and change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a sync did (or, as a dry run, would do).
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResult {
    pub dry_run: bool,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Each person added or changed, with the fields that change (`[before, after]`).
    pub changes: Vec<SyncChange>,
    /// What stops the sync from being applied; empty when it can be.
    pub problems: Vec<SyncProblem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncChange {
    pub email: String,
    /// `create` or `update`.
    pub action: String,
    #[schema(value_type = Object)]
    pub fields: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncProblem {
    /// The position of the person in `people`, from 0.
    pub index: u64,
    pub field: String,
    pub message: String,
}

/// Checks each person as an import checks a line; returns the rows and the columns carried.
fn rows_of(people: &[SyncPerson], problems: &mut Vec<SyncProblem>) -> (Vec<Row>, Vec<String>) {
    use crate::web::form::{parse_email, parse_optional, parse_text};
    let mut columns = vec!["name".to_string(), "email".to_string()];
    let mut carried = |c: &str, present: bool| {
        if present && !columns.iter().any(|x| x == c) {
            columns.push(c.to_string());
        }
    };
    for p in people {
        carried("job_title", p.job_title.is_some());
        carried("department", p.department.is_some());
        carried("manager_email", p.manager_email.is_some());
        carried("kind", p.kind.is_some());
        carried("start_date", p.start_date.is_some());
        carried("end_date", p.end_date.is_some());
        carried("line_manager", p.line_manager.is_some());
        carried("security_clause", p.security_clause.is_some());
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut seen_external: HashMap<&str, usize> = HashMap::new();
    let mut rows = Vec::with_capacity(people.len());
    for (i, p) in people.iter().enumerate() {
        let index = i as u64;
        let mut problem = |field: &str, message: String| problems.push(SyncProblem { index, field: field.into(), message });
        let mut row = Row { line: index, ..Default::default() };
        match parse_text(&p.name, "a name", 120) {
            Ok(v) => row.name = v,
            Err(e) => problem("name", e),
        }
        match parse_email(&p.email) {
            Ok(v) => row.email = v,
            Err(e) => problem("email", e.into()),
        }
        if let Some(first) = seen.insert(row.email.clone(), i)
            && !row.email.is_empty()
        {
            problem("email", format!("{} is also at position {first}.", row.email));
        }
        for (field, value, what, target) in [
            ("job_title", &p.job_title, "the job title", &mut row.job_title),
            ("department", &p.department, "the department", &mut row.department),
        ] {
            match parse_optional(value.as_deref().unwrap_or(""), what, 120, false) {
                Ok(v) => *target = v,
                Err(e) => problem(field, e),
            }
        }
        row.manager_email = match p.manager_email.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            None => None,
            Some(m) => match parse_email(m) {
                Ok(v) => Some(v),
                Err(e) => {
                    problem("manager_email", e.into());
                    None
                }
            },
        };
        match Kind::parse(p.kind.as_deref().unwrap_or("")) {
            Some(k) => row.kind = k,
            None => problem("kind", "Choose employee or contractor.".into()),
        }
        row.start_date = p.start_date;
        row.end_date = p.end_date;
        row.line_manager = p.line_manager.unwrap_or(false);
        row.security_clause = p.security_clause.unwrap_or(false);
        if let Err(e) = check_external(&p.external_id.clone().map(Some)) {
            problem("external_id", e.get("external_id").unwrap_or_default().to_string());
        } else if let Some(ext) = p.external_id.as_deref().map(str::trim)
            && let Some(first) = seen_external.insert(ext, i)
        {
            problem("external_id", format!("{ext} is also at position {first}."));
        }
        rows.push(row);
    }
    (rows, columns)
}

/// Brings the directory in step with the HR system: people are matched by
/// external id, then by e-mail; new ones are added, changed ones updated,
/// and those left out untouched (a leaver comes with an end date). The
/// same call made twice changes nothing the second time.
#[utoipa::path(post, path = "/api/v1/people/sync", tag = "people", security(("bearer" = ["people:write"])), request_body = SyncRequest, params(DryRun),
    responses((status = 200, description = "What changed (or, as a dry run, would change)", body = SyncResult),
        (status = 422, description = "Problems stop the sync, dry run or not; nothing was changed (the body lists them)", body = SyncResult)))]
pub async fn sync(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(dry): Query<DryRun>, Body(req): Body<SyncRequest>) -> AppResult<Response> {
    if req.people.len() > import::MAX_ROWS {
        return Err(AppError::BadRequest(format!("A sync takes at most {} people; split the call.", import::MAX_ROWS)));
    }
    let mut problems = Vec::new();
    let (rows, columns) = rows_of(&req.people, &mut problems);
    let org = me.token.org_id;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    model::lock_directory(&mut tx, org).await?;
    let mut existing: Vec<Person> = model::all(&mut tx, org).await?;
    let position: HashMap<Uuid, usize> = existing.iter().enumerate().map(|(i, p)| (p.id.0, i)).collect();
    let by_external: HashMap<String, usize> = sqlx::query!("SELECT id, external_id AS \"external_id!\" FROM people WHERE org_id = $1 AND external_id IS NOT NULL", org.0)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .filter_map(|r| position.get(&r.id).map(|i| (r.external_id, *i)))
        .collect();
    // Matched by external id with another address: the same person, renamed.
    let mut renamed: Vec<(PersonId, String, String)> = Vec::new();
    for (p, row) in req.people.iter().zip(&rows) {
        let Some(i) = p.external_id.as_deref().map(str::trim).and_then(|e| by_external.get(e)) else { continue };
        let old = existing[*i].email.clone();
        if !old.eq_ignore_ascii_case(&row.email) && !row.email.is_empty() {
            if existing.iter().any(|q| q.email.eq_ignore_ascii_case(&row.email)) {
                problems.push(SyncProblem { index: row.line, field: "email".into(), message: format!("{} belongs to someone else in the directory than external id's person ({old}).", row.email) });
            }
            renamed.push((existing[*i].id, old, row.email.clone()));
            existing[*i].email = row.email.clone();
        }
    }
    let mut plan = if problems.is_empty() {
        match import::plan(&existing, &columns, rows) {
            Ok(plan) => plan,
            Err(why) => {
                problems.push(SyncProblem { index: 0, field: "manager_email".into(), message: why });
                import::Plan::default()
            }
        }
    } else {
        import::Plan::default()
    };
    problems.extend(plan.problems.drain(..).map(|p| SyncProblem { index: p.line, field: p.column, message: p.message }));
    for (id, old, new) in &renamed {
        let email_change = serde_json::json!([old, new]);
        if let Some((_, _, changes)) = plan.updates.iter_mut().find(|(u, _, _)| u == id) {
            changes.insert("email".into(), email_change);
        } else if let Some(p) = existing.iter().find(|p| p.id == *id) {
            let mut changes = serde_json::Map::new();
            changes.insert("email".into(), email_change);
            plan.updates.push((*id, p.fields(), changes));
            plan.unchanged = plan.unchanged.saturating_sub(1);
        }
    }
    let changes: Vec<SyncChange> = plan
        .creates
        .iter()
        .map(|(_, f)| SyncChange { email: f.email.clone(), action: "create".into(), fields: serde_json::json!({"name": f.name}) })
        .chain(plan.updates.iter().map(|(_, f, c)| SyncChange { email: f.email.clone(), action: "update".into(), fields: Value::Object(c.clone()) }))
        .collect();
    let result = |problems: Vec<SyncProblem>, changes: Vec<SyncChange>| SyncResult {
        dry_run: dry.dry_run,
        created: plan.creates.len(),
        updated: plan.updates.len(),
        unchanged: plan.unchanged,
        changes,
        problems,
    };
    if !problems.is_empty() {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return reply(&headers, status, &result(problems, changes));
    }
    if dry.dry_run {
        return reply(&headers, StatusCode::OK, &result(problems, changes));
    }
    let actor = me.actor();
    if !plan.creates.is_empty() || !plan.updates.is_empty() {
        model::write_many(&mut tx, &actor, now, org, &plan.creates, &plan.updates).await?;
    }
    // External ids: each person's as the call names it (where given).
    let ids: HashMap<String, PersonId> =
        plan.creates.iter().map(|(id, f)| (f.email.to_lowercase(), *id)).chain(existing.iter().map(|p| (p.email.to_lowercase(), p.id))).collect();
    let (mut who, mut ext): (Vec<Uuid>, Vec<String>) = (Vec::new(), Vec::new());
    for p in &req.people {
        if let (Some(e), Some(id)) = (p.external_id.as_deref().map(str::trim), ids.get(&p.email.trim().to_lowercase())) {
            who.push(id.0);
            ext.push(e.to_string());
        }
    }
    let linked = sqlx::query!(
        r#"WITH old AS (SELECT p.id, p.external_id FROM people p JOIN UNNEST($2::uuid[], $3::text[]) AS u(id, ext) ON p.id = u.id
                         WHERE p.org_id = $1 AND p.external_id IS DISTINCT FROM u.ext FOR UPDATE OF p)
           UPDATE people p SET external_id = u.ext, updated_at = $4 FROM UNNEST($2::uuid[], $3::text[]) AS u(id, ext), old
            WHERE p.org_id = $1 AND p.id = u.id AND old.id = p.id
        RETURNING p.id, old.external_id AS before, u.ext AS "after!""#,
        org.0,
        &who,
        &ext,
        now
    )
    .fetch_all(&mut *tx)
    .await;
    let linked = match linked {
        Ok(rows) => {
            let entries: Vec<crate::audit::Entry> =
                rows.iter().map(|r| crate::audit::Entry::new("person.updated", "person", r.id, serde_json::json!({"external_id": [r.before, r.after]}))).collect();
            for chunk in entries.chunks(1000) {
                crate::audit::record_many(&mut tx, &actor, now, chunk.to_vec()).await?;
            }
            rows.len()
        }
        Err(e) => {
            return Err(match e.as_database_error().and_then(|d| d.constraint()) {
                Some("people_external_id_idx") => AppError::Conflict("Two people would have the same external id.".into()),
                _ => e.into(),
            });
        }
    };
    // A call that changes nothing leaves no trace but the token's last use.
    if plan.creates.len() + plan.updates.len() > 0 || linked > 0 {
        let summary = serde_json::json!({"created": plan.creates.len(), "updated": plan.updates.len(), "unchanged": plan.unchanged, "external_ids_set": linked, "people": req.people.len()});
        crate::audit::record(&mut tx, &actor, now, "person.synced", "organisation", org, summary).await?;
    }
    tx.commit().await?;
    reply(&headers, StatusCode::OK, &result(Vec::new(), changes))
}
