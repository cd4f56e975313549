//! Security objective pages: the handlers and their routes.
use super::model::*;
use crate::audit::HistoryEntry;
use crate::auth::policy::Action;
use crate::auth::session::Member;
use crate::error::AppResult;
use crate::evidence::model::{Item, TargetKind};
use crate::ids::{OrgId, ObjectiveId, PersonId};
use crate::leadership::{Around, RecordPages, create, export_csv, page_status, show_page, text_of, update};
use crate::audit::Actor;
use sqlx::PgConnection;
use crate::people::model::Choice;
use crate::people::pick;
use crate::state::AppState;
use crate::web::form::{parse_choice, parse_date, parse_optional, parse_text};
use crate::web::routes::Routes;
use crate::web::{FieldErrors, Layout};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/objectives", Can(ViewLeadership), list_page)
        .get("/objectives.csv", Can(ViewLeadership), export)
        .get("/objectives/new", Can(ManageLeadership), new_page)
        .post("/objectives", Can(ManageLeadership), create::<Objective>)
        .get("/objectives/{id}", Can(ViewLeadership), show_page::<Objective>)
        .post("/objectives/{id}", Can(ManageLeadership), update::<Objective>)
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
            owner_id: text_of(o.owner_id),
            due_on: text_of(o.due_on),
            status: o.status.as_str().into(),
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
        f.owner_id = parse_choice(&self.owner_id).map(PersonId);
        f.status = self.status.parse().unwrap_or_default();
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
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Security objectives").await?,
        objectives: list(&state.db, me.org_id).await?,
        today: state.clock.now().date_naive(),
        can_manage: me.can(Action::ManageLeadership),
    })
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    Ok(export_csv(
        "security-objectives.csv",
        &["objective", "measure", "target", "owner", "due_on", "status", "supports_strategy", "times_reviewed", "last_reviewed"],
        state.db.clone(),
        me.org_id,
        stream,
        move |o: Objective| {
            vec![
                o.title.clone(),
                o.measure.clone(),
                o.target.clone(),
                o.owner_name.clone().unwrap_or_default(),
                text_of(o.due_on),
                o.status_label().into(),
                o.strategy_link.clone(),
                o.reviews.to_string(),
                text_of(o.last_reviewed),
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
    let keep = pick::ids([form.owner_id.as_str()]);
    let Around { evidence, history, can_manage, can_upload } =
        Around::load(state, me, objective.as_ref().map(|r| (TargetKind::Objective, "objective", r.id.0))).await?;
    let status = page_status(&[&errors]);
    let page = ShowPage {
        layout: Layout::build(&state.db, &me.visitor, objective.as_ref().map(|o| o.title.clone()).unwrap_or_else(|| "New objective".into())).await?,
        people: pick::choices(&state.db, me.org_id, today, &keep).await?,
        statuses: ObjectiveStatus::choices(),
        can_manage,
        can_upload,
        objective,
        form,
        errors,
        evidence,
        history,
    };
    Ok((status, page).into_response())
}

async fn new_page(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    show(&state, &me, None, ObjectiveForm { status: ObjectiveStatus::Planned.as_str().into(), ..Default::default() }, FieldErrors::default()).await
}

impl RecordPages for Objective {
    type Id = ObjectiveId;
    type Form = ObjectiveForm;
    type Fields = Fields;
    const PATH: &'static str = "/objectives";
    const RECORDED: &'static str = "The objective was recorded.";

    async fn get(conn: &mut PgConnection, org_id: OrgId, id: ObjectiveId) -> AppResult<Self> {
        get(conn, org_id, id).await
    }
    fn form(&self) -> ObjectiveForm {
        ObjectiveForm::from_objective(self)
    }
    fn people(form: &mut ObjectiveForm) -> Vec<(&'static str, &mut String)> {
        vec![("owner_id", &mut form.owner_id)]
    }
    fn parse(form: &ObjectiveForm, _today: NaiveDate) -> Result<Fields, FieldErrors> {
        form.parse()
    }
    async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Fields) -> AppResult<ObjectiveId> {
        insert(conn, actor, now, org_id, f).await
    }
    async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Self, f: Fields) -> AppResult<bool> {
        save(conn, actor, now, org_id, before, &f).await
    }
    async fn show(state: &AppState, me: &Member, record: Option<Self>, form: ObjectiveForm, errors: FieldErrors) -> AppResult<Response> {
        show(state, me, record, form, errors).await
    }
}
