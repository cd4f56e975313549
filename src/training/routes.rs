//! Training pages: modules and who is current, due soon or overdue (leaders
//! shown apart: management exempting itself is the most common finding),
//! completions recorded by hand or imported from a learning platform.
use super::import::{self, Training};
use super::model;
use crate::ids::{ModuleId, PersonId};
use crate::imports::routes as imports;
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::auth::policy::Action;
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::people::audience::{Audience, AudienceKind};
use crate::people::model::{self as people, Choice};
use crate::people::pick;
use crate::web::form::{parse_choice, parse_date, parse_optional, parse_text};
use crate::web::pager::{Pager, Position};
use crate::web::{FieldErrors, Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use model::{Completion, Figures, Module, ModuleFields, ModuleKind, RecordSource, Standing, Status};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/training", Can(ViewTraining), overview)
        .post("/training/modules", Can(ManageTraining), create_module)
        .get("/training/modules/{id}", Can(ViewTraining), module_page)
        .post("/training/modules/{id}", Can(ManageTraining), update_module)
        .post("/training/modules/{id}/retire", Can(ManageTraining), retire_module)
        .post("/training/modules/{id}/records", Can(ManageTraining), record_completion)
        .get("/training/modules/{id}/csv", Can(ViewTraining), export)
        .get("/training/import", Can(ManageTraining), imports::page::<Training>)
        .get("/training/import/template.csv", Can(ManageTraining), imports::template::<Training>)
        .post_upload("/training/import", Can(ManageTraining), imports::upload::<Training>, Some(import::MAX_BYTES + crate::web::sheet::FORM_ROOM))
        .get("/training/import/{id}", Can(ManageTraining), imports::preview::<Training>)
        .post("/training/import/{id}/apply", Can(ManageTraining), imports::apply::<Training>)
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
    // Counted once per change of the records, not on every view.
    let figures = state.kept.current(&state.db, me.org_id, today, || model::figures(&state.db, me.org_id, today)).await?;
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
        audiences: crate::people::audience::module_choices(),
        departments: people::kept_departments(&state.db, &state.kept, me.org_id, today).await?,
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
        // Publishing is for policies: a module is for people who take it.
        let audience_kind = self.audience.parse().ok().filter(|k| *k != AudienceKind::Published).unwrap_or(AudienceKind::AllStaff);
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
    /// The first `LEADERS_SHOWN` of top management and line managers.
    leaders: Vec<Standing>,
    /// Leaders not listed.
    more_leaders: usize,
    /// A page of everyone else.
    others: Vec<Standing>,
    pager: Pager,
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
    /// Its training campaigns, newest first.
    campaigns: Vec<super::campaigns::model::Campaign>,
    /// Mail goes out (a campaign can e-mail its links).
    smtp: bool,
}

impl ModulePage {
    /// Those a new campaign would ask: everyone not current.
    fn to_ask(&self) -> usize {
        self.counts.iter().filter(|(st, _)| *st != Status::Current).map(|(_, n)| n).sum()
    }
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

/// How many of top management and line managers a module's page lists
/// (the CSV lists everyone).
const LEADERS_SHOWN: usize = 50;

async fn module_view(state: &AppState, me: &Member, module: Module, form: ModuleForm, errors: FieldErrors, record: RecordForm, record_errors: FieldErrors) -> AppResult<Response> {
    module_view_at(state, me, module, (form, errors), (record, record_errors), Position::default()).await
}

/// The module's page at `position` in the list of everyone else: its figures are the
/// kept ones of the training overview, its lists a page long.
async fn module_view_at(
    state: &AppState,
    me: &Member,
    module: Module,
    (form, errors): (ModuleForm, FieldErrors),
    (record, record_errors): (RecordForm, FieldErrors),
    position: Position,
) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let figures = state.kept.current(&state.db, me.org_id, today, || model::figures(&state.db, me.org_id, today)).await?;
    let f = figures.iter().find(|f| f.module_id == module.id).cloned().unwrap_or_else(|| Figures::none(module.id));
    let counts = [(Status::Current, f.current as usize), (Status::DueSoon, f.due_soon as usize), (Status::Overdue, f.overdue as usize)];
    let mut leaders = model::standings_page(&state.db, me.org_id, module.id, today, Some(true), Some(LEADERS_SHOWN as i64 + 1), None).await?;
    leaders.truncate(LEADERS_SHOWN);
    let more_leaders = (f.leaders as usize).saturating_sub(leaders.len());
    let (pager, after) = Pager::new(format!("/training/modules/{}", module.id), String::new(), f.audience - f.leaders, &position);
    let mut pager = pager.at_anchor("#staff-h");
    let mut others = model::standings_page(&state.db, me.org_id, module.id, today, Some(false), Some(pager.limit()), after).await?;
    pager.trim(&mut others, |s: &Standing| (s.name.clone(), s.person_id.0));
    let status = if errors.is_empty() && record_errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let record = if record.completed_on.is_empty() { RecordForm { completed_on: today.to_string(), ..record } } else { record };
    let page = ModulePage {
        layout: Layout::build(&state.db, &me.visitor, module.title.clone()).await?,
        people: pick::choices(&state.db, me.org_id, today, &pick::ids([record.person_id.as_str()])).await?,
        kinds: ModuleKind::ALL.to_vec(),
        audiences: crate::people::audience::module_choices(),
        departments: people::kept_departments(&state.db, &state.kept, me.org_id, today).await?,
        can_manage: me.can(Action::ManageTraining),
        campaigns: super::campaigns::model::campaigns_of(&state.db, me.org_id, module.id).await?,
        smtp: state.mailer.is_some(),
        module,
        leaders,
        more_leaders,
        others,
        pager,
        counts,
        form,
        errors,
        record,
        record_errors,
        today,
    };
    Ok((status, page).into_response())
}

async fn module_page(State(state): State<AppState>, me: Member, Id(id): Id<ModuleId>, Query(position): Query<Position>) -> AppResult<Response> {
    let module = model::module(&state.db, me.org_id, id).await?;
    let form = ModuleForm::from_module(&module);
    module_view_at(&state, &me, module, (form, FieldErrors::default()), (RecordForm::default(), FieldErrors::default()), position).await
}

async fn retire_module(State(state): State<AppState>, me: Member, Id(id): Id<ModuleId>) -> AppResult<Response> {
    let module = model::module(&state.db, me.org_id, id).await?;
    let mut tx = state.db.begin().await?;
    model::retire(&mut tx, &me.actor(), state.clock.now(), me.org_id, &module).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/training", Flash::success(format!("{} was retired: nobody is due for it any more; its records are kept.", module.title))))
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

async fn record_completion(State(state): State<AppState>, me: Member, Id(id): Id<ModuleId>, Form(mut form): Form<RecordForm>) -> AppResult<Response> {
    let module = model::module(&state.db, me.org_id, id).await?;
    let today = state.clock.now().date_naive();
    let mut errors = pick::resolve(&state.db, me.org_id, today, vec![("person_id", &mut form.person_id)]).await?;
    let person_id = parse_choice(&form.person_id).map(PersonId);
    if person_id.is_none() && errors.is_empty() {
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
    let added = model::record(&mut tx, &me.actor(), state.clock.now(), me.org_id, RecordSource::Manual, &[Completion { module_id: module.id, person_id, completed_on, score, how: None }]).await?;
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
    let name = format!("training-{}-{}.csv", crate::web::slug(&module.title), today.format("%Y%m%d"));
    Ok(csv::attachment(&name, out))
}
