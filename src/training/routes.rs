//! Training pages: modules and who is current, due soon or overdue (leaders
//! shown apart: management exempting itself is the most common finding),
//! completions recorded by hand or imported from a learning platform.
use super::{import, model};
use crate::ids::{ModuleId, OrgId, PersonId, TrainingImportId};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::auth::policy::Action;
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::people::audience::{Audience, AudienceKind};
use crate::people::model::{self as people, Choice};
use crate::web::form::{parse_choice, parse_date, parse_optional, parse_text};
use crate::web::sheet::{Problem, Refused};
use crate::web::{FieldErrors, Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use model::{Completion, Figures, Module, ModuleFields, ModuleKind, RecordSource, Standing, Status};
use serde::Deserialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/training", Can(ViewTraining), overview)
        .post("/training/modules", Can(ManageTraining), create_module)
        .get("/training/modules/{id}", Can(ViewTraining), module_page)
        .post("/training/modules/{id}", Can(ManageTraining), update_module)
        .post("/training/modules/{id}/records", Can(ManageTraining), record_completion)
        .get("/training/modules/{id}/csv", Can(ViewTraining), export)
        .get("/training/import", Can(ManageTraining), import_page)
        .get("/training/import/template.csv", Can(ManageTraining), import_template)
        .post_upload("/training/import", Can(ManageTraining), upload, Some(import::MAX_BYTES + crate::web::sheet::FORM_ROOM))
        .get("/training/import/{id}", Can(ManageTraining), preview_page)
        .post("/training/import/{id}/apply", Can(ManageTraining), apply_import)
}

// ---------- overview ----------

#[derive(Template, WebTemplate)]
#[template(path = "training/overview.html")]
struct OverviewPage {
    layout: Layout,
    rows: Vec<(Module, Figures)>,
    kinds: Vec<ModuleKind>,
    audiences: Vec<(&'static str, &'static str)>,
    departments: Vec<String>,
    form: ModuleForm,
    errors: FieldErrors,
    can_manage: bool,
}

async fn overview_view(state: &AppState, me: &Member, form: ModuleForm, errors: FieldErrors) -> AppResult<OverviewPage> {
    let today = state.clock.now().date_naive();
    let figures = model::figures(&state.db, me.org_id, today).await?;
    let rows = model::modules(&state.db, me.org_id)
        .await?
        .into_iter()
        .map(|m| {
            let f = figures.iter().find(|f| f.module_id == m.id).cloned().unwrap_or_else(|| Figures::none(m.id));
            (m, f)
        })
        .collect();
    Ok(OverviewPage {
        layout: Layout::build(&state.db, &me.visitor, "Training").await?,
        rows,
        kinds: ModuleKind::ALL.to_vec(),
        audiences: AudienceKind::choices(),
        departments: people::departments(&state.db, me.org_id).await?,
        form,
        errors,
        can_manage: me.can(Action::ManageTraining),
    })
}

async fn overview(State(state): State<AppState>, me: Member) -> AppResult<OverviewPage> {
    let form = ModuleForm {
        kind: ModuleKind::Awareness.as_str().into(),
        validity_months: "12".into(),
        audience: AudienceKind::AllStaff.as_str().into(),
        ..Default::default()
    };
    overview_view(&state, &me, form, FieldErrors::default()).await
}

#[derive(Deserialize, Default, Clone)]
pub struct ModuleForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    validity_months: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    departments: String,
}

impl ModuleForm {
    fn from_module(m: &Module) -> Self {
        ModuleForm {
            title: m.title.clone(),
            kind: m.kind.as_str().into(),
            description: m.description.clone(),
            validity_months: m.validity_months.to_string(),
            audience: m.audience.as_str().into(),
            departments: m.audience_departments.join(", "),
        }
    }

    fn parse(&self) -> Result<ModuleFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = parse_text(&self.title, "a title", 200).map_err(|e| errors.add("title", e)).unwrap_or_default();
        let description = parse_optional(&self.description, "the description", 2000, true).map_err(|e| errors.add("description", e)).unwrap_or_default();
        let kind = self.kind.parse().unwrap_or(ModuleKind::Awareness);
        let validity_months = match self.validity_months.trim().parse::<i32>() {
            Ok(n) if (1..=60).contains(&n) => n,
            _ => {
                errors.add("validity_months", "Enter how many months a completion counts, from 1 to 60 (12 is usual).");
                12
            }
        };
        let departments: Vec<String> = self.departments.split(',').map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect();
        let audience_kind = self.audience.parse().unwrap_or(AudienceKind::AllStaff);
        if audience_kind == AudienceKind::Departments && departments.is_empty() {
            errors.add("departments", "Name the departments, separated by commas.");
        }
        let audience = Audience::of(audience_kind, &departments);
        if errors.is_empty() { Ok(ModuleFields { title, kind, description, validity_months, audience }) } else { Err(errors) }
    }
}

async fn create_module(State(state): State<AppState>, me: Member, Form(form): Form<ModuleForm>) -> AppResult<Response> {
    let fields = match form.parse() {
        Ok(f) => f,
        Err(errors) => return Ok((StatusCode::UNPROCESSABLE_ENTITY, overview_view(&state, &me, form, errors).await?).into_response()),
    };
    let mut tx = state.db.begin().await?;
    let id = match model::create_module(&mut tx, &me.actor(), state.clock.now(), me.org_id, &fields).await {
        Ok(id) => id,
        Err(AppError::Conflict(m)) => {
            drop(tx);
            let mut errors = FieldErrors::default();
            errors.add("title", m);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, overview_view(&state, &me, form, errors).await?).into_response());
        }
        Err(e) => return Err(e),
    };
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/training/modules/{id}"), Flash::success(format!("{} was created. Record completions, or import them.", fields.title))))
}

// ---------- one module ----------

#[derive(Template, WebTemplate)]
#[template(path = "training/module.html")]
struct ModulePage {
    layout: Layout,
    module: Module,
    leaders: Vec<Standing>,
    others: Vec<Standing>,
    counts: [(Status, usize); 3],
    people: Vec<Choice>,
    kinds: Vec<ModuleKind>,
    audiences: Vec<(&'static str, &'static str)>,
    departments: Vec<String>,
    form: ModuleForm,
    errors: FieldErrors,
    record: RecordForm,
    record_errors: FieldErrors,
    can_manage: bool,
    today: NaiveDate,
}

impl ModulePage {
    fn status(&self, s: &Standing) -> Status {
        s.status(self.module.validity_months, self.today)
    }
    fn until(&self, s: &Standing) -> Option<NaiveDate> {
        s.valid_until(self.module.validity_months)
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct RecordForm {
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    completed_on: String,
    #[serde(default)]
    score: String,
}

#[allow(clippy::too_many_arguments)]
async fn module_view(state: &AppState, me: &Member, module: Module, form: ModuleForm, errors: FieldErrors, record: RecordForm, record_errors: FieldErrors) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let standings = model::standings(&state.db, me.org_id, module.id, today).await?;
    let count = |st: Status| standings.iter().filter(|s| s.status(module.validity_months, today) == st).count();
    let counts = [(Status::Current, count(Status::Current)), (Status::DueSoon, count(Status::DueSoon)), (Status::Overdue, count(Status::Overdue))];
    let (leaders, others): (Vec<Standing>, Vec<Standing>) = standings.into_iter().partition(Standing::is_leader);
    let status = if errors.is_empty() && record_errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let record = if record.completed_on.is_empty() { RecordForm { completed_on: today.to_string(), ..record } } else { record };
    let page = ModulePage {
        layout: Layout::build(&state.db, &me.visitor, module.title.clone()).await?,
        people: people::choices(&state.db, me.org_id, today, &[]).await?,
        kinds: ModuleKind::ALL.to_vec(),
        audiences: AudienceKind::choices(),
        departments: people::departments(&state.db, me.org_id).await?,
        can_manage: me.can(Action::ManageTraining),
        module,
        leaders,
        others,
        counts,
        form,
        errors,
        record,
        record_errors,
        today,
    };
    Ok((status, page).into_response())
}

async fn module_page(State(state): State<AppState>, me: Member, Id(id): Id<ModuleId>) -> AppResult<Response> {
    let module = model::module(&state.db, me.org_id, id).await?;
    let form = ModuleForm::from_module(&module);
    module_view(&state, &me, module, form, FieldErrors::default(), RecordForm::default(), FieldErrors::default()).await
}

async fn update_module(State(state): State<AppState>, me: Member, Id(id): Id<ModuleId>, Form(form): Form<ModuleForm>) -> AppResult<Response> {
    let module = model::module(&state.db, me.org_id, id).await?;
    let fields = match form.parse() {
        Ok(f) => f,
        Err(errors) => return module_view(&state, &me, module, form, errors, RecordForm::default(), FieldErrors::default()).await,
    };
    let mut tx = state.db.begin().await?;
    let changed = match model::update_module(&mut tx, &me.actor(), state.clock.now(), me.org_id, &module, &fields).await {
        Ok(c) => c,
        Err(AppError::Conflict(m)) => {
            drop(tx);
            let mut errors = FieldErrors::default();
            errors.add("title", m);
            return module_view(&state, &me, module, form, errors, RecordForm::default(), FieldErrors::default()).await;
        }
        Err(e) => return Err(e),
    };
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/training/modules/{id}"), Flash::success(if changed { "Saved." } else { "Nothing changed." })))
}

async fn record_completion(State(state): State<AppState>, me: Member, Id(id): Id<ModuleId>, Form(form): Form<RecordForm>) -> AppResult<Response> {
    let module = model::module(&state.db, me.org_id, id).await?;
    let today = state.clock.now().date_naive();
    let mut errors = FieldErrors::default();
    let person_id = parse_choice(&form.person_id).map(PersonId);
    if person_id.is_none() {
        errors.add("person_id", "Choose who completed it.");
    }
    let completed_on = match parse_date(&form.completed_on, "the completion date") {
        Ok(Some(d)) if d > today => {
            errors.add("completed_on", "The completion date cannot be in the future.");
            None
        }
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            errors.add("completed_on", "Enter the day it was completed.");
            None
        }
        Err(e) => {
            errors.add("completed_on", e);
            None
        }
    };
    let score = match form.score.trim().trim_end_matches('%') {
        "" => None,
        s => match s.parse::<f64>() {
            Ok(v) if (0.0..=100.0).contains(&v) => Some(v),
            _ => {
                errors.add("score", "Enter a score from 0 to 100, or leave it empty.");
                None
            }
        },
    };
    let (Some(person_id), Some(completed_on), true) = (person_id, completed_on, errors.is_empty()) else {
        return module_view(&state, &me, module.clone(), ModuleForm::from_module(&module), FieldErrors::default(), form, errors).await;
    };
    let mut tx = state.db.begin().await?;
    let added = model::record(&mut tx, &me.actor(), state.clock.now(), me.org_id, RecordSource::Manual, &[Completion { module_id: module.id, person_id, completed_on, score }]).await?;
    tx.commit().await?;
    let msg = if added == 1 { format!("Completion on {completed_on} recorded.") } else { "That completion was already recorded (or the person is not in this organisation).".into() };
    Ok(redirect_with(&state, &format!("/training/modules/{id}"), Flash::success(msg)))
}

async fn export(State(state): State<AppState>, me: Member, Id(id): Id<ModuleId>) -> AppResult<Response> {
    let module = model::module(&state.db, me.org_id, id).await?;
    let today = state.clock.now().date_naive();
    let standings = model::standings(&state.db, me.org_id, module.id, today).await?;
    let mut out = csv::row(&["name", "email", "department", "manager", "top_management", "line_manager", "status", "last_completed", "valid_until", "score", "source"]);
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    for s in &standings {
        out.push_str(&csv::row(&[
            s.name.clone(),
            s.email.clone(),
            s.department.clone(),
            s.manager_name.clone().unwrap_or_default(),
            yes(s.top_management),
            yes(s.line_manager),
            s.status(module.validity_months, today).label().into(),
            s.completed_on.map(|d| d.to_string()).unwrap_or_default(),
            s.valid_until(module.validity_months).map(|d| d.to_string()).unwrap_or_default(),
            s.score.map(|v| v.to_string()).unwrap_or_default(),
            s.source.map(|v| v.as_str().to_string()).unwrap_or_default(),
        ]));
    }
    let name = format!("training-{}-{}.csv", module.title.to_lowercase().replace(|c: char| !c.is_alphanumeric(), "-"), today.format("%Y%m%d"));
    Ok(csv::attachment(&name, out))
}

// ---------- import ----------

#[derive(Template, WebTemplate)]
#[template(path = "training/import.html")]
struct ImportPage {
    layout: Layout,
    columns: Vec<(&'static str, &'static str)>,
    modules: Vec<Module>,
    error: Option<String>,
}

async fn import_view(state: &AppState, me: &Member, error: Option<String>) -> AppResult<ImportPage> {
    Ok(ImportPage {
        layout: Layout::build(&state.db, &me.visitor, "Import training completions").await?,
        columns: import::COLUMNS.to_vec(),
        modules: model::modules(&state.db, me.org_id).await?,
        error,
    })
}

async fn import_page(State(state): State<AppState>, me: Member) -> AppResult<ImportPage> {
    import_view(&state, &me, None).await
}

async fn import_template() -> AppResult<Response> {
    Ok(csv::attachment("training-template.csv", import::template()))
}

async fn upload(State(state): State<AppState>, me: Member, mut multipart: Multipart) -> AppResult<Response> {
    let people: HashMap<String, PersonId> =
        sqlx::query!(r#"SELECT lower(email) AS "email!", id AS "id: PersonId" FROM people WHERE org_id = $1"#, me.org_id.0)
            .fetch_all(&state.db)
            .await?
            .into_iter()
            .map(|p| (p.email, p.id))
            .collect();
    let modules: HashMap<String, ModuleId> = model::modules(&state.db, me.org_id).await?.into_iter().map(|m| (m.title.to_lowercase(), m.id)).collect();
    let today = state.clock.now().date_naive();
    // The file is checked as it arrives; only checked rows are kept.
    let mut parser = import::Parser::new(&people, &modules, today);
    let received = crate::web::sheet::receive(&mut multipart, "training.csv", import::MAX_BYTES, |piece| parser.feed(piece)).await;
    let checked = received.and_then(|file| parser.finish().map(|p| (file, p)).map_err(Refused::TooManyRows));
    let (file, parsed) = match checked {
        Ok(v) => v,
        Err(Refused::Interrupted) => return Err(AppError::BadRequest(Refused::Interrupted.answer().1)),
        Err(refused) => {
            let (status, message) = refused.answer();
            return Ok((status, import_view(&state, &me, Some(message)).await?).into_response());
        }
    };
    drop((people, modules));
    let (filename, sha) = (file.filename, file.sha256);
    let filename = crate::web::form::display_filename(&filename);
    let id = TrainingImportId::new();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query!(
        "INSERT INTO training_imports (id, org_id, created_by, created_at, filename, file_sha256, rows, problems) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        id.0,
        me.org_id.0,
        me.user_id.0,
        now,
        &filename,
        &sha,
        sqlx::types::Json(&parsed.rows) as _,
        sqlx::types::Json(&parsed.problems) as _,
    )
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut tx,
        &me.actor(),
        now,
        "training.import_checked",
        "training_import",
        id,
        json!({"file": filename, "rows": parsed.rows.len(), "problems": parsed.problems.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/training/import/{id}")).into_response())
}

struct StoredImport {
    filename: String,
    created_at: chrono::DateTime<chrono::Utc>,
    rows: sqlx::types::Json<Vec<import::Row>>,
    problems: sqlx::types::Json<Vec<Problem>>,
    applied_at: Option<chrono::DateTime<chrono::Utc>>,
    summary: Option<sqlx::types::Json<serde_json::Value>>,
}

/// An upload of this organisation; `lock`: for the rest of the transaction.
async fn stored(conn: &mut sqlx::PgConnection, org_id: OrgId, id: TrainingImportId, lock: bool) -> AppResult<StoredImport> {
    let stored = if lock {
        sqlx::query_as!(
            StoredImport,
            r#"SELECT filename, created_at, rows AS "rows: _", problems AS "problems: _", applied_at, summary AS "summary: _"
                 FROM training_imports WHERE org_id = $1 AND id = $2 FOR UPDATE"#,
            org_id.0,
            id.0,
        )
        .fetch_optional(conn)
        .await?
    } else {
        sqlx::query_as!(
            StoredImport,
            r#"SELECT filename, created_at, rows AS "rows: _", problems AS "problems: _", applied_at, summary AS "summary: _"
                 FROM training_imports WHERE org_id = $1 AND id = $2"#,
            org_id.0,
            id.0,
        )
        .fetch_optional(conn)
        .await?
    };
    stored.ok_or(AppError::NotFound)
}

/// Completions of the file not yet recorded.
async fn new_rows(conn: &mut sqlx::PgConnection, org_id: OrgId, rows: &[import::Row]) -> AppResult<Vec<Completion>> {
    let existing: HashSet<(ModuleId, PersonId, NaiveDate)> = sqlx::query!(
        r#"SELECT r.module_id AS "module_id: ModuleId", r.person_id AS "person_id: PersonId", r.completed_on FROM training_records r
             JOIN UNNEST($2::uuid[], $3::uuid[], $4::date[]) AS u(module_id, person_id, completed_on)
               ON r.module_id = u.module_id AND r.person_id = u.person_id AND r.completed_on = u.completed_on
            WHERE r.org_id = $1"#,
        org_id.0,
        &rows.iter().map(|r| r.module_id.0).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.person_id.0).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.completed_on).collect::<Vec<_>>(),
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.module_id, r.person_id, r.completed_on))
    .collect();
    Ok(rows
        .iter()
        .filter(|r| !existing.contains(&(r.module_id, r.person_id, r.completed_on)))
        .map(|r| Completion { module_id: r.module_id, person_id: r.person_id, completed_on: r.completed_on, score: r.score })
        .collect())
}

#[derive(Template, WebTemplate)]
#[template(path = "training/preview.html")]
struct PreviewPage {
    layout: Layout,
    id: TrainingImportId,
    filename: String,
    uploaded: String,
    rows: usize,
    problems: Vec<Problem>,
    problems_total: usize,
    new: usize,
    known: usize,
    applied: Option<String>,
}

async fn preview_page(State(state): State<AppState>, me: Member, Id(id): Id<TrainingImportId>) -> AppResult<PreviewPage> {
    let mut conn = state.db.acquire().await?;
    let s = stored(&mut conn, me.org_id, id, false).await?;
    let new = new_rows(&mut conn, me.org_id, &s.rows).await?.len();
    drop(conn);
    let applied = s.applied_at.map(|at| {
        let added = s.summary.as_ref().and_then(|j| j.0["added"].as_u64()).unwrap_or(0);
        format!("Applied on {}: {added} completion(s) added.", at.format("%Y-%m-%d %H:%M UTC"))
    });
    Ok(PreviewPage {
        layout: Layout::build(&state.db, &me.visitor, "Check the training import").await?,
        id,
        filename: s.filename,
        uploaded: s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        rows: s.rows.len(),
        problems_total: s.problems.len(),
        problems: s.problems.0.into_iter().take(500).collect(),
        known: s.rows.len() - new,
        new,
        applied,
    })
}

async fn apply_import(State(state): State<AppState>, me: Member, Id(id): Id<TrainingImportId>) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let s = stored(&mut tx, me.org_id, id, true).await?;
    if s.applied_at.is_some() {
        return Err(AppError::Conflict("This import was already applied. Upload the file again to import it anew.".into()));
    }
    if !s.problems.is_empty() {
        return Err(AppError::Conflict("This file has problems. Fix them and upload it again; nothing was changed.".into()));
    }
    let new = new_rows(&mut tx, me.org_id, &s.rows).await?;
    let added = model::record(&mut tx, &me.actor(), now, me.org_id, RecordSource::Import, &new).await?;
    let summary = json!({"added": added, "already_recorded": s.rows.len() - added});
    sqlx::query!("UPDATE training_imports SET applied_at = $3, summary = $4 WHERE org_id = $1 AND id = $2", me.org_id.0, id.0, now, &summary)
        .execute(&mut *tx)
        .await?;
    crate::audit::record(&mut tx, &me.actor(), now, "training.imported", "training_import", id, json!({"file": s.filename, "summary": summary})).await?;
    tx.commit().await?;
    let msg = if added == 0 {
        format!("Nothing to add: all {} completions were already recorded.", s.rows.len())
    } else {
        format!("Import applied: {added} completion(s) added, {} already recorded.", s.rows.len() - added)
    };
    Ok(redirect_with(&state, "/training", Flash::success(msg)))
}
