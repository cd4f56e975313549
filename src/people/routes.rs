//! The people directory pages: list, add, edit, leavers, CSV export and the
//! CSV import (upload, preview, apply).
use super::{import, model, roster};
use crate::ids::{OrgId, PeopleImportId, PersonId};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::audit::{self, HistoryEntry};
use crate::auth::policy::Action;
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::web::form::{parse_choice, parse_date, parse_email, parse_optional, parse_text, ticked};
use crate::web::pager::Pager;
use crate::web::sheet::Refused;
use crate::web::{FieldErrors, Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use model::{Choice, Filter, Kind, Person, PersonFields};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    roster::routes(r)
        .get("/people", Can(ViewPeople), list_page)
        .get("/people.csv", Can(ViewPeople), export)
        .get("/people/new", Can(ManagePeople), new_page)
        .post("/people", Can(ManagePeople), create)
        .get("/people/import", Can(ManagePeople), import_page)
        .get("/people/import/template.csv", Can(ManagePeople), import_template)
        .post_upload("/people/import", Can(ManagePeople), upload, Some(import::MAX_BYTES + crate::web::sheet::FORM_ROOM))
        .get("/people/import/{id}", Can(ManagePeople), preview_page)
        .post("/people/import/{id}/apply", Can(ManagePeople), apply_import)
        .get("/people/{id}", Can(ViewPeople), person_page)
        .post("/people/{id}", Can(ManagePeople), update)
        .post("/people/{id}/leaver", Can(ManagePeople), mark_leaver)
        .post("/people/{id}/this-is-me", Can(ViewHome), claim)
}

// ---------- list and export ----------

#[derive(Template, WebTemplate)]
#[template(path = "people/list.html")]
struct ListPage {
    layout: Layout,
    people: Vec<Person>,
    departments: Vec<String>,
    filter: Filter,
    pager: Pager,
    today: NaiveDate,
    can_manage: bool,
}

async fn list_page(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<ListPage> {
    let today = state.clock.now().date_naive();
    let total = model::count_filtered(&state.db, me.org_id, &filter, today).await?;
    let pager = Pager::new("/people", filter.query(), total, filter.page);
    let people = model::filtered(me.org_id, &filter, today, Some(pager.limit()), pager.offset()).fetch_all(&state.db).await?;
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "People").await?,
        departments: model::departments(&state.db, me.org_id).await?,
        people,
        filter,
        pager,
        today,
        can_manage: me.can(Action::ManagePeople),
    })
}

async fn export(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    let rows = model::filtered(me.org_id, &filter, today, None, 0);
    Ok(csv::stream_rows(
        &format!("people-{}.csv", today.format("%Y%m%d")),
        &[
            "name", "email", "job_title", "department", "manager_email", "kind", "start_date", "end_date", "top_management",
            "line_manager", "security_clause", "account",
        ],
        state.db.clone(),
        move |db| rows.fetch(db),
        move |p: Person| {
            vec![
                p.name.clone(),
                p.email.clone(),
                p.job_title.clone(),
                p.department.clone(),
                p.manager_email.clone().unwrap_or_default(),
                p.kind.as_str().to_string(),
                Person::date(&p.start_date),
                Person::date(&p.end_date),
                yes(p.top_management),
                yes(p.line_manager),
                yes(p.security_clause),
                p.account_email.clone().unwrap_or_default(),
            ]
        },
    ))
}

// ---------- add and edit ----------

/// The person form as typed: kept as text so a failed save shows it again.
#[derive(Deserialize, Default, Clone)]
pub struct PersonForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub job_title: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub manager_id: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub start_date: String,
    #[serde(default)]
    pub end_date: String,
    pub line_manager: Option<String>,
    pub security_clause: Option<String>,
}

impl PersonForm {
    fn from_person(p: &Person) -> Self {
        let on = |b: bool| b.then(|| "on".to_string());
        PersonForm {
            name: p.name.clone(),
            email: p.email.clone(),
            job_title: p.job_title.clone(),
            department: p.department.clone(),
            manager_id: p.manager_id.map(|m| m.to_string()).unwrap_or_default(),
            kind: p.kind.as_str().into(),
            start_date: Person::date(&p.start_date),
            end_date: Person::date(&p.end_date),
            line_manager: on(p.line_manager),
            security_clause: on(p.security_clause),
        }
    }

    /// The fields an edit sets. Top management (the roster's) and the
    /// account link (its holder's) are not among them.
    fn parse(&self) -> Result<PersonFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = PersonFields::default();
        match parse_text(&self.name, "a name", 120) {
            Ok(v) => f.name = v,
            Err(e) => errors.add("name", e),
        }
        match parse_email(&self.email) {
            Ok(v) => f.email = v,
            Err(e) => errors.add("email", e),
        }
        match parse_optional(&self.job_title, "the job title", 120, false) {
            Ok(v) => f.job_title = v,
            Err(e) => errors.add("job_title", e),
        }
        match parse_optional(&self.department, "the department", 120, false) {
            Ok(v) => f.department = v,
            Err(e) => errors.add("department", e),
        }
        f.manager_id = parse_choice(&self.manager_id).map(PersonId);
        match Kind::parse(&self.kind) {
            Some(k) => f.kind = k,
            None => errors.add("kind", "Choose employee or contractor."),
        }
        match parse_date(&self.start_date, "the start date") {
            Ok(v) => f.start_date = v,
            Err(e) => errors.add("start_date", e),
        }
        match parse_date(&self.end_date, "the end date") {
            Ok(v) => f.end_date = v,
            Err(e) => errors.add("end_date", e),
        }
        f.line_manager = ticked(&self.line_manager);
        f.security_clause = ticked(&self.security_clause);
        if errors.is_empty()
            && let Err((field, msg)) = f.cross_check()
        {
            errors.add(field, msg);
        }
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "people/form.html")]
struct FormPage {
    layout: Layout,
    person: Option<Person>,
    form: PersonForm,
    errors: FieldErrors,
    managers: Vec<Choice>,
    history: Vec<HistoryEntry>,
    roles: Vec<(String, String)>,
    can_manage: bool,
    today: NaiveDate,
}

impl FormPage {
    fn selected(&self, value: &str, id: &PersonId) -> bool {
        value == id.to_string()
    }
}

async fn form_page(
    state: &AppState,
    me: &Member,
    person: Option<Person>,
    form: PersonForm,
    errors: FieldErrors,
) -> AppResult<FormPage> {
    let today = state.clock.now().date_naive();
    let keep: Vec<PersonId> = person.as_ref().and_then(|p| p.manager_id).into_iter().collect();
    let mut managers = model::choices(&state.db, me.org_id, today, &keep).await?;
    if let Some(p) = &person {
        managers.retain(|m| m.id != p.id);
    }
    let (history, roles) = match &person {
        Some(p) => (
            audit::history(&state.db, me.org_id, "person", p.id.0, 50).await?,
            crate::roles::model::roles_of_person(&state.db, me.org_id, p.id, today).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let title = person.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| "Add a person".into());
    Ok(FormPage {
        layout: Layout::build(&state.db, &me.visitor, title).await?,
        person,
        form,
        errors,
        managers,
        history,
        roles,
        can_manage: me.can(Action::ManagePeople),
        today,
    })
}

async fn new_page(State(state): State<AppState>, me: Member) -> AppResult<FormPage> {
    form_page(&state, &me, None, PersonForm { kind: "employee".into(), ..Default::default() }, FieldErrors::default()).await
}

async fn person_page(State(state): State<AppState>, me: Member, Id(id): Id<PersonId>) -> AppResult<FormPage> {
    let person = model::get(&state.db, me.org_id, id).await?;
    let form = PersonForm::from_person(&person);
    form_page(&state, &me, Some(person), form, FieldErrors::default()).await
}

/// Turns a refusal from the model into a field error on the form, if it is one.
fn field_of(e: &AppError) -> Option<(&'static str, String)> {
    match e {
        AppError::Conflict(m) if m.contains("is top management") => Some(("end_date", m.clone())),
        AppError::Conflict(m) if m.contains("e-mail") => Some(("email", m.clone())),
        AppError::Conflict(m) | AppError::BadRequest(m) if m.contains("manage") => Some(("manager_id", m.clone())),
        _ => None,
    }
}

async fn save(state: AppState, me: Member, person: Option<Person>, form: PersonForm) -> AppResult<Response> {
    let again = |person: Option<Person>, form: PersonForm, errors: FieldErrors| async {
        let page = form_page(&state, &me, person, form, errors).await?;
        Ok::<Response, AppError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let fields = match form.parse() {
        Ok(v) => v,
        Err(errors) => return again(person, form, errors).await,
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let result = match &person {
        None => model::create(&mut tx, &me.actor(), now, me.org_id, &fields, None).await.map(|id| (id, true)),
        Some(p) => model::update(&mut tx, &me.actor(), now, me.org_id, p.id, &fields).await.map(|changed| (p.id, changed)),
    };
    let (id, changed) = match result {
        Ok(v) => v,
        Err(e) => {
            drop(tx);
            let Some((field, msg)) = field_of(&e) else { return Err(e) };
            let mut errors = FieldErrors::default();
            errors.add(field, msg);
            return again(person, form, errors).await;
        }
    };
    tx.commit().await?;
    let msg = match (&person, changed) {
        (None, _) => format!("{} was added to the directory.", fields.name),
        (Some(_), true) => format!("{}'s details were saved.", fields.name),
        (Some(_), false) => "Nothing changed.".to_string(),
    };
    Ok(redirect_with(&state, &format!("/people/{id}"), Flash::success(msg)))
}

async fn create(State(state): State<AppState>, me: Member, Form(form): Form<PersonForm>) -> AppResult<Response> {
    save(state, me, None, form).await
}

async fn update(State(state): State<AppState>, me: Member, Id(id): Id<PersonId>, Form(form): Form<PersonForm>) -> AppResult<Response> {
    let person = model::get(&state.db, me.org_id, id).await?;
    save(state, me, Some(person), form).await
}

#[derive(Deserialize)]
struct LeaverForm {
    #[serde(default)]
    end_date: String,
}

async fn mark_leaver(State(state): State<AppState>, me: Member, Id(id): Id<PersonId>, Form(form): Form<LeaverForm>) -> AppResult<Response> {
    let end = parse_date(&form.end_date, "the leaving date")
        .map_err(AppError::BadRequest)?
        .ok_or_else(|| AppError::BadRequest("Enter the leaving date.".into()))?;
    let mut tx = state.db.begin().await?;
    let name = model::mark_leaver(&mut tx, &me.actor(), state.clock.now(), me.org_id, id, end).await?;
    tx.commit().await?;
    let msg = format!("{name} is recorded as leaving on {end}. Roles they hold show as vacant from that day.");
    Ok(redirect_with(&state, &format!("/people/{id}"), Flash::success(msg)))
}

/// The member confirms that the directory entry with their own e-mail
/// address is them: the only way, besides accepting an invitation sent to
/// that address, that a person gets linked to an account.
async fn claim(State(state): State<AppState>, me: Member, Id(id): Id<PersonId>) -> AppResult<Response> {
    if !crate::auth::policy::may_act_as_person(me.role, true) {
        return Err(AppError::Forbidden);
    }
    let person = model::unclaimed_entry(&state.db, me.org_id, me.user_id, &me.email).await?.filter(|p| p.id == id).ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let linked = model::link_account(&mut tx, &me.actor(), now, me.org_id, &person.email, me.user_id).await?;
    tx.commit().await?;
    let msg = match linked {
        Some(_) => format!("Your account is now linked to {} in the directory.", person.name),
        None => "Someone else claimed that entry a moment ago; nothing changed.".into(),
    };
    Ok(redirect_with(&state, "/dashboard", Flash::success(msg)))
}

// ---------- CSV import ----------

#[derive(Template, WebTemplate)]
#[template(path = "people/import.html")]
struct ImportPage {
    layout: Layout,
    columns: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    max_mib: usize,
    max_rows: String,
}

async fn import_view(state: &AppState, me: &Member, error: Option<String>) -> AppResult<ImportPage> {
    Ok(ImportPage {
        layout: Layout::build(&state.db, &me.visitor, "Import people from CSV").await?,
        columns: import::COLUMNS.to_vec(),
        error,
        max_mib: import::MAX_BYTES / (1024 * 1024),
        max_rows: crate::web::sheet::thousands(import::MAX_ROWS),
    })
}

async fn import_page(State(state): State<AppState>, me: Member) -> AppResult<ImportPage> {
    import_view(&state, &me, None).await
}

async fn import_template() -> AppResult<Response> {
    Ok(csv::attachment("people-template.csv", import::template()))
}

async fn upload(State(state): State<AppState>, me: Member, mut multipart: Multipart) -> AppResult<Response> {
    // The file is parsed as it arrives; only checked rows are kept.
    let mut parser = import::Parser::new();
    let received = crate::web::sheet::receive(&mut multipart, "people.csv", import::MAX_BYTES, |piece| parser.feed(piece)).await;
    let checked = received.and_then(|file| parser.finish().map(|c| (file, c)).map_err(Refused::TooManyRows));
    let (file, checked) = match checked {
        Ok(v) => v,
        Err(Refused::Interrupted) => return Err(AppError::BadRequest(Refused::Interrupted.answer().1)),
        Err(refused) => {
            let (status, message) = refused.answer();
            return Ok((status, import_view(&state, &me, Some(message)).await?).into_response());
        }
    };
    let outside = checked.outside_managers();
    let known: HashSet<String> = sqlx::query_scalar!(
        r#"SELECT lower(email) AS "email!" FROM people WHERE org_id = $1 AND lower(email) = ANY($2)"#,
        me.org_id.0,
        &outside,
    )
    .fetch_all(&state.db)
    .await?
    .into_iter()
    .collect();
    let parsed = checked.resolve(&known);
    let (filename, sha) = (file.filename, file.sha256);
    let filename = crate::web::form::display_filename(&filename);
    let id = PeopleImportId::new();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query!(
        "INSERT INTO people_imports (id, org_id, created_by, created_at, filename, file_sha256, columns, rows, problems)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        id.0,
        me.org_id.0,
        me.user_id.0,
        now,
        &filename,
        &sha,
        &parsed.columns,
        sqlx::types::Json(&parsed.rows) as _,
        sqlx::types::Json(&parsed.problems) as _,
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &me.actor(),
        now,
        "people.import_checked",
        "people_import",
        id,
        json!({"file": filename, "rows": parsed.rows.len(), "problems": parsed.problems.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/people/import/{id}")).into_response())
}

struct StoredImport {
    filename: String,
    created_at: chrono::DateTime<Utc>,
    columns: Vec<String>,
    rows: sqlx::types::Json<Vec<import::Row>>,
    problems: sqlx::types::Json<Vec<import::Problem>>,
    applied_at: Option<chrono::DateTime<Utc>>,
    summary: Option<sqlx::types::Json<serde_json::Value>>,
}

/// An upload of this organisation; `lock`: for the rest of the transaction.
async fn stored_import(conn: &mut sqlx::PgConnection, org_id: OrgId, id: PeopleImportId, lock: bool) -> AppResult<StoredImport> {
    let stored = if lock {
        sqlx::query_as!(
            StoredImport,
            r#"SELECT filename, created_at, columns, rows AS "rows: _", problems AS "problems: _", applied_at, summary AS "summary: _"
                 FROM people_imports WHERE org_id = $1 AND id = $2 FOR UPDATE"#,
            org_id.0,
            id.0,
        )
        .fetch_optional(conn)
        .await?
    } else {
        sqlx::query_as!(
            StoredImport,
            r#"SELECT filename, created_at, columns, rows AS "rows: _", problems AS "problems: _", applied_at, summary AS "summary: _"
                 FROM people_imports WHERE org_id = $1 AND id = $2"#,
            org_id.0,
            id.0,
        )
        .fetch_optional(conn)
        .await?
    };
    stored.ok_or(AppError::NotFound)
}

/// A planned change, as the preview lists it.
pub struct PlannedChange {
    pub name: String,
    pub email: String,
    pub what: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "people/preview.html")]
struct PreviewPage {
    layout: Layout,
    id: PeopleImportId,
    filename: String,
    uploaded: String,
    rows: usize,
    problems: Vec<import::Problem>,
    problems_total: usize,
    creates: Vec<PlannedChange>,
    creates_total: usize,
    updates: Vec<PlannedChange>,
    updates_total: usize,
    unchanged: usize,
    applied: Option<String>,
    stale: Option<String>,
    roster_differs: Vec<String>,
}

const SHOWN: usize = 200;

async fn preview_page(State(state): State<AppState>, me: Member, Id(id): Id<PeopleImportId>) -> AppResult<PreviewPage> {
    let mut conn = state.db.acquire().await?;
    let stored = stored_import(&mut conn, me.org_id, id, false).await?;
    let existing = model::all(&mut conn, me.org_id).await?;
    drop(conn);
    let rows = stored.rows.len();
    let (plan, stale) = match import::plan(&existing, &stored.columns, stored.rows.0) {
        Ok(p) => (p, None),
        Err(e) => (import::Plan::default(), Some(e)),
    };
    let mut problems = stored.problems.0;
    if stored.applied_at.is_none() {
        problems.extend(plan.problems.iter().cloned());
        problems.sort_by_key(|p| p.line);
    }
    let names: std::collections::HashMap<PersonId, &str> = existing.iter().map(|p| (p.id, p.name.as_str())).collect();
    let creates = plan
        .creates
        .iter()
        .take(SHOWN)
        .map(|(_, f)| PlannedChange { name: f.name.clone(), email: f.email.clone(), what: "new".into() })
        .collect();
    let updates = plan
        .updates
        .iter()
        .take(SHOWN)
        .map(|(id, f, changes)| PlannedChange {
            name: names.get(id).copied().unwrap_or(&f.name).to_string(),
            email: f.email.clone(),
            what: changes.keys().map(|k| k.replace("_id", "").replace('_', " ")).collect::<Vec<_>>().join(", "),
        })
        .collect();
    let applied = stored.applied_at.map(|at| {
        let s = stored.summary.as_ref().map(|j| j.0.clone()).unwrap_or_default();
        format!(
            "Applied on {}: {} added, {} updated.",
            at.format("%Y-%m-%d %H:%M UTC"),
            s["created"].as_u64().unwrap_or(0),
            s["updated"].as_u64().unwrap_or(0)
        )
    });
    Ok(PreviewPage {
        layout: Layout::build(&state.db, &me.visitor, "Check the import").await?,
        id,
        filename: stored.filename,
        uploaded: stored.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        rows,
        problems_total: problems.len(),
        problems: problems.into_iter().take(500).collect(),
        creates_total: plan.creates.len(),
        creates,
        updates_total: plan.updates.len(),
        updates,
        unchanged: plan.unchanged,
        applied,
        stale,
        roster_differs: plan.roster_differs,
    })
}

async fn apply_import(State(state): State<AppState>, me: Member, Id(id): Id<PeopleImportId>) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // One import at a time per organisation, so two files never race on the same people.
    model::lock_directory(&mut tx, me.org_id).await?;
    let stored = stored_import(&mut tx, me.org_id, id, true).await?;
    if stored.applied_at.is_some() {
        return Err(AppError::Conflict("This import was already applied. Upload the file again to import it anew.".into()));
    }
    if !stored.problems.is_empty() {
        return Err(AppError::Conflict("This file has problems. Fix them and upload it again; nothing was changed.".into()));
    }
    let existing = model::all(&mut tx, me.org_id).await?;
    let plan = import::plan(&existing, &stored.columns, stored.rows.0).map_err(|e| {
        AppError::Conflict(format!("The directory changed since the file was checked ({e}). Upload the file again."))
    })?;
    if !plan.problems.is_empty() {
        return Err(AppError::Conflict("Some lines clash with the directory; see the preview. Fix the file and upload it again; nothing was changed.".into()));
    }
    let (created, updated) = (plan.creates.len(), plan.updates.len());
    if created + updated > 0 {
        model::write_many(&mut tx, &me.actor(), now, me.org_id, &plan.creates, &plan.updates).await?;
    }
    let summary = json!({"created": created, "updated": updated, "unchanged": plan.unchanged});
    sqlx::query!("UPDATE people_imports SET applied_at = $3, summary = $4 WHERE org_id = $1 AND id = $2", me.org_id.0, id.0, now, &summary)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx, &me.actor(), now, "people.imported", "people_import", id, json!({"file": stored.filename, "summary": summary}))
        .await?;
    tx.commit().await?;
    let msg = if created + updated == 0 {
        format!("Nothing to change: all {} people in the file already match the directory.", plan.unchanged)
    } else {
        format!("Import applied: {created} added, {updated} updated, {} unchanged.", plan.unchanged)
    };
    Ok(redirect_with(&state, "/people", Flash::success(msg)))
}
