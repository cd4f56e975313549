//! Security objectives (5.1(a), 5.2(b)): what the organisation aims for,
//! how it is measured, who owns it, by when, and how it serves the strategy.
use crate::ids::OrgId;
use super::check_people;
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::audit::{self, Actor, Changes, HistoryEntry};
use crate::auth::policy::Action;
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::evidence::model::{self as evidence, Item, Target, TargetKind};
use crate::people::model::{self as people, Choice};
use crate::web::form::{parse_choice, parse_date, parse_optional, parse_text};
use crate::web::{FieldErrors, Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub fn routes(r: Routes) -> Routes {
    r.get("/objectives", list_page)
        .get("/objectives.csv", export)
        .get("/objectives/new", new_page)
        .post("/objectives", create)
        .get("/objectives/{id}", show_page)
        .post("/objectives/{id}", update)
}

pub const STATUSES: [(&str, &str); 5] =
    [("planned", "Planned"), ("on_track", "On track"), ("at_risk", "At risk"), ("achieved", "Achieved"), ("dropped", "Dropped")];

pub fn status_label(s: &str) -> &'static str {
    STATUSES.iter().find(|(k, _)| *k == s).map(|(_, l)| *l).unwrap_or("")
}

/// An objective counts when it is live and has a measure and an owner.
pub fn is_current(status: &str, measure: &str, owner: Option<Uuid>) -> bool {
    matches!(status, "planned" | "on_track" | "at_risk") && !measure.trim().is_empty() && owner.is_some()
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Objective {
    pub id: Uuid,
    pub title: String,
    pub measure: String,
    pub target: String,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub status: String,
    pub strategy_link: String,
    pub created_at: DateTime<Utc>,
    /// Meetings that reviewed it.
    pub reviews: i64,
    pub last_reviewed: Option<NaiveDate>,
}

impl Objective {
    pub fn status_label(&self) -> &'static str {
        status_label(&self.status)
    }
    pub fn is_current(&self) -> bool {
        is_current(&self.status, &self.measure, self.owner_id)
    }
    /// Still live after its due date.
    pub fn past_due(&self, today: NaiveDate) -> bool {
        matches!(self.status.as_str(), "planned" | "on_track" | "at_risk") && self.due_on.is_some_and(|d| d < today)
    }
}

const SELECT: &str = "SELECT o.id, o.title, o.measure, o.target, o.owner_id, p.name AS owner_name, o.due_on, o.status, o.strategy_link, o.created_at,
        (SELECT count(*) FROM meetings m WHERE m.org_id = o.org_id AND o.id = ANY(m.objective_ids)) AS reviews,
        (SELECT max(m.held_on) FROM meetings m WHERE m.org_id = o.org_id AND o.id = ANY(m.objective_ids)) AS last_reviewed
   FROM objectives o LEFT JOIN people p ON p.org_id = o.org_id AND p.id = o.owner_id";

/// Live objectives first; `$1` is the organisation.
fn list_sql() -> String {
    format!("{SELECT} WHERE o.org_id = $1 ORDER BY o.status IN ('achieved', 'dropped'), o.due_on NULLS LAST, o.title")
}

pub async fn list(db: &PgPool, org_id: OrgId) -> AppResult<Vec<Objective>> {
    Ok(sqlx::query_as(&list_sql()).bind(org_id).fetch_all(db).await?)
}

pub async fn get(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: Uuid) -> AppResult<Objective> {
    sqlx::query_as(&format!("{SELECT} WHERE o.org_id = $1 AND o.id = $2")).bind(org_id).bind(id).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields {
    pub title: String,
    pub measure: String,
    pub target: String,
    pub owner_id: Option<Uuid>,
    pub due_on: Option<NaiveDate>,
    pub status: String,
    pub strategy_link: String,
}

pub async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Fields) -> AppResult<Uuid> {
    check_people(conn, org_id, &f.owner_id.into_iter().collect::<Vec<_>>()).await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO objectives (id, org_id, title, measure, target, owner_id, due_on, status, strategy_link, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(id)
    .bind(org_id)
    .bind(&f.title)
    .bind(&f.measure)
    .bind(&f.target)
    .bind(f.owner_id)
    .bind(f.due_on)
    .bind(&f.status)
    .bind(&f.strategy_link)
    .bind(now)
    .execute(&mut *conn)
    .await?;
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
        .field("status", &before.status, &f.status)
        .field("strategy_link", &before.strategy_link, &f.strategy_link);
    if c.is_empty() {
        return Ok(false);
    }
    check_people(conn, org_id, &f.owner_id.into_iter().collect::<Vec<_>>()).await?;
    sqlx::query(
        "UPDATE objectives SET title = $3, measure = $4, target = $5, owner_id = $6, due_on = $7, status = $8, strategy_link = $9, updated_at = $10
          WHERE org_id = $1 AND id = $2",
    )
    .bind(org_id)
    .bind(before.id)
    .bind(&f.title)
    .bind(&f.measure)
    .bind(&f.target)
    .bind(f.owner_id)
    .bind(f.due_on)
    .bind(&f.status)
    .bind(&f.strategy_link)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "objective.updated", "objective", before.id, c.into_value()).await?;
    Ok(true)
}

#[derive(Deserialize, Default, Clone)]
pub struct ObjectiveForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    measure: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    strategy_link: String,
}

impl ObjectiveForm {
    fn from_objective(o: &Objective) -> Self {
        ObjectiveForm {
            title: o.title.clone(),
            measure: o.measure.clone(),
            target: o.target.clone(),
            owner_id: o.owner_id.map(|x| x.to_string()).unwrap_or_default(),
            due_on: o.due_on.map(|d| d.to_string()).unwrap_or_default(),
            status: o.status.clone(),
            strategy_link: o.strategy_link.clone(),
        }
    }

    fn parse(&self) -> Result<Fields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = Fields::default();
        match parse_text(&self.title, "the objective", 300) {
            Ok(v) => f.title = v,
            Err(e) => errors.add("title", e),
        }
        match parse_optional(&self.measure, "the measure", 500, true) {
            Ok(v) => f.measure = v,
            Err(e) => errors.add("measure", e),
        }
        match parse_optional(&self.target, "the target", 300, false) {
            Ok(v) => f.target = v,
            Err(e) => errors.add("target", e),
        }
        match parse_date(&self.due_on, "the due date") {
            Ok(v) => f.due_on = v,
            Err(e) => errors.add("due_on", e),
        }
        match parse_optional(&self.strategy_link, "how it supports the strategy", 2000, true) {
            Ok(v) => f.strategy_link = v,
            Err(e) => errors.add("strategy_link", e),
        }
        f.owner_id = parse_choice(&self.owner_id);
        f.status = if STATUSES.iter().any(|(k, _)| *k == self.status) { self.status.clone() } else { "planned".into() };
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/objectives.html")]
struct ListPage {
    layout: Layout,
    objectives: Vec<Objective>,
    today: NaiveDate,
    can_manage: bool,
}

async fn list_page(State(state): State<AppState>, me: Member) -> AppResult<ListPage> {
    me.require(Action::ViewLeadership)?;
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Security objectives").await?,
        objectives: list(&state.db, me.org_id).await?,
        today: state.clock.now().date_naive(),
        can_manage: me.can(Action::ManageLeadership),
    })
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let org_id = me.org_id;
    Ok(csv::stream(
        "security-objectives.csv",
        &["objective", "measure", "target", "owner", "due_on", "status", "supports_strategy", "times_reviewed", "last_reviewed"],
        state.db.clone(),
        list_sql(),
        move |q| q.bind(org_id),
        move |o: Objective| {
            vec![
                o.title.clone(),
                o.measure.clone(),
                o.target.clone(),
                o.owner_name.clone().unwrap_or_default(),
                o.due_on.map(|d| d.to_string()).unwrap_or_default(),
                o.status_label().into(),
                o.strategy_link.clone(),
                o.reviews.to_string(),
                o.last_reviewed.map(|d| d.to_string()).unwrap_or_default(),
            ]
        },
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/objective.html")]
struct ShowPage {
    layout: Layout,
    objective: Option<Objective>,
    form: ObjectiveForm,
    errors: FieldErrors,
    people: Vec<Choice>,
    statuses: Vec<(&'static str, &'static str)>,
    evidence: Vec<Item>,
    history: Vec<HistoryEntry>,
    can_manage: bool,
    can_upload: bool,
}

async fn show(state: &AppState, me: &Member, objective: Option<Objective>, form: ObjectiveForm, errors: FieldErrors) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let keep: Vec<Uuid> = objective.as_ref().and_then(|o| o.owner_id).into_iter().collect();
    let (evidence, history) = match &objective {
        Some(o) => (
            evidence::for_target(&state.db, me.org_id, Target { kind: TargetKind::Objective, id: o.id }).await?,
            audit::history(&state.db, me.org_id, "objective", o.id, 30).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ShowPage {
        layout: Layout::build(&state.db, &me.visitor, objective.as_ref().map(|o| o.title.clone()).unwrap_or_else(|| "New objective".into())).await?,
        people: people::choices(&state.db, me.org_id, today, &keep).await?,
        statuses: STATUSES.to_vec(),
        can_manage: me.can(Action::ManageLeadership),
        can_upload: me.can(Action::UploadEvidence),
        objective,
        form,
        errors,
        evidence,
        history,
    };
    Ok((status, page).into_response())
}

async fn new_page(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    show(&state, &me, None, ObjectiveForm { status: "planned".into(), ..Default::default() }, FieldErrors::default()).await
}

async fn show_page(State(state): State<AppState>, me: Member, Id(id): Id) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let o = get(&state.db, me.org_id, id).await?;
    let form = ObjectiveForm::from_objective(&o);
    show(&state, &me, Some(o), form, FieldErrors::default()).await
}

async fn create(State(state): State<AppState>, me: Member, Form(form): Form<ObjectiveForm>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let fields = match form.parse() {
        Ok(f) => f,
        Err(errors) => return show(&state, &me, None, form, errors).await,
    };
    let mut tx = state.db.begin().await?;
    let id = insert(&mut tx, &me.actor(), state.clock.now(), me.org_id, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/objectives/{id}"), Flash::success("The objective was recorded.")))
}

async fn update(State(state): State<AppState>, me: Member, Id(id): Id, Form(form): Form<ObjectiveForm>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, crate::ids::ObjectiveId::from(id)).await?;
    let o = get(&mut *tx, me.org_id, id).await?;
    let fields = match form.parse() {
        Ok(f) => f,
        Err(errors) => {
            drop(tx);
            return show(&state, &me, Some(o), form, errors).await;
        }
    };
    let changed = save(&mut tx, &me.actor(), state.clock.now(), me.org_id, &o, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/objectives/{id}"), Flash::success(if changed { "Saved." } else { "Nothing changed." })))
}
