//! Leadership ask pages: the handlers and their routes.
use super::model::*;
use crate::audit::{self, HistoryEntry};
use crate::auth::policy::{self, Action};
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::ids::{OrgId, AskId, PersonId};
use crate::leadership::{RecordPages, create, export_csv, page_status, show_page, text_of, update, yes_no};
use crate::audit::Actor;
use sqlx::PgConnection;
use crate::people::attribution::Via;
use crate::people::model::Choice;
use crate::people::pick;
use crate::state::AppState;
use crate::web::form::{parse_choice, parse_date, parse_optional, parse_text};
use crate::web::routes::Routes;
use crate::web::{FieldErrors, Id, Layout, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/asks", Can(ViewLeadership), list_page)
        .get("/asks.csv", Can(ViewLeadership), export)
        .get("/asks/new", Can(ManageLeadership), new_page)
        .post("/asks", Can(ManageLeadership), create::<Ask>)
        .get("/asks/{id}", Can(ViewLeadership), show_page::<Ask>)
        .post("/asks/{id}", Can(ManageLeadership), update::<Ask>)
        .post("/asks/{id}/respond", Can(ViewLeadership), respond)
}

#[derive(Deserialize, Default, Clone)]
pub struct AskForm {
    #[serde(default)]
    asked_of: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    asked_on: String,
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    response: String,
    #[serde(default)]
    responded_on: String,
    /// The executive's own answer (the respond form).
    #[serde(default)]
    answer: String,
}

impl AskForm {
    fn from_ask(a: &Ask) -> Self {
        AskForm {
            asked_of: a.asked_of.to_string(),
            what: a.what.clone(),
            asked_on: a.asked_on.to_string(),
            due_on: text_of(a.due_on),
            response: a.response.clone(),
            responded_on: text_of(a.responded_on),
            answer: String::new(),
        }
    }

    fn parse(&self, today: NaiveDate) -> Result<Fields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = Fields { asked_of: parse_choice(&self.asked_of).map(PersonId), ..Default::default() };
        if f.asked_of.is_none() {
            errors.add("asked_of", "Choose who was asked.");
        }
        match parse_text(&self.what, "what was asked", 2000) {
            Ok(v) => f.what = v,
            Err(e) => errors.add("what", e),
        }
        match parse_date(&self.asked_on, "the date it was asked") {
            Ok(Some(d)) if d > today => errors.add("asked_on", "The date asked cannot be in the future."),
            Ok(Some(d)) => f.asked_on = Some(d),
            Ok(None) => errors.add("asked_on", "Enter the date it was asked."),
            Err(e) => errors.add("asked_on", e),
        }
        match parse_date(&self.due_on, "the due date") {
            Ok(v) => f.due_on = v,
            Err(e) => errors.add("due_on", e),
        }
        match parse_optional(&self.response, "the response", 4000, true) {
            Ok(v) => f.response = v,
            Err(e) => errors.add("response", e),
        }
        match parse_date(&self.responded_on, "the date of the response") {
            Ok(Some(d)) if d > today => errors.add("responded_on", "The response date cannot be in the future."),
            Ok(v) => f.responded_on = v,
            Err(e) => errors.add("responded_on", e),
        }
        if f.response.is_empty() != f.responded_on.is_none() && errors.get("responded_on").is_none() {
            errors.add("responded_on", "Give the response and its date together, or neither.");
        }
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/asks.html")]
struct ListPage {
    layout: Layout,
    asks: Vec<Ask>,
    today: NaiveDate,
    can_manage: bool,
}

async fn list_page(State(state): State<AppState>, me: Member) -> AppResult<ListPage> {
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Asks to leadership").await?,
        asks: list(&state.db, me.org_id).await?,
        today: state.clock.now().date_naive(),
        can_manage: me.can(Action::ManageLeadership),
    })
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    Ok(export_csv(
        "leadership-asks.csv",
        &["asked_of", "top_management", "asked_by", "what", "asked_on", "due_on", "response", "responded_on", "answered_by", "answered_title", "answered_account", "overdue"],
        state.db.clone(),
        me.org_id,
        stream,
        move |a: Ask| {
            vec![
                a.asked_of_name.clone(),
                yes_no(a.asked_of_top_management),
                a.asked_by_name.clone().unwrap_or_default(),
                a.what.clone(),
                a.asked_on.to_string(),
                text_of(a.due_on),
                a.response.clone(),
                text_of(a.responded_on),
                match (&a.answered_by_name, a.answered_in_person) {
                    (Some(n), true) => n.clone(),
                    (Some(n), false) => format!("recorded by {n}"),
                    (None, _) => String::new(),
                },
                a.answered_title.clone().unwrap_or_default(),
                Via::from_parts(a.answered_account.as_deref(), None).words(),
                yes_no(a.overdue(today)),
            ]
        },
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/ask.html")]
struct ShowPage {
    layout: Layout,
    ask: Option<Ask>,
    form: AskForm,
    errors: FieldErrors,
    people: Vec<Choice>,
    history: Vec<HistoryEntry>,
    can_manage: bool,
    can_answer: bool,
    today: NaiveDate,
}

impl ShowPage {
    fn answered(&self) -> bool {
        self.ask.as_ref().is_some_and(Ask::answered)
    }
}

async fn show(state: &AppState, me: &Member, ask: Option<Ask>, form: AskForm, errors: FieldErrors) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let keep = pick::ids([form.asked_of.as_str()]);
    let history = match &ask {
        Some(a) => audit::history(&state.db, me.org_id, "leadership_ask", a.id.0, 30).await?,
        None => Vec::new(),
    };
    let can_answer = ask.as_ref().is_some_and(|a| !a.answered() && policy::may_act_as_person(me.role, a.asked_of_user == Some(me.user_id)));
    let status = page_status(&[&errors]);
    let page = ShowPage {
        layout: Layout::build(&state.db, &me.visitor, if ask.is_some() { "Ask to leadership" } else { "New ask" }).await?,
        people: pick::choices(&state.db, me.org_id, today, &keep).await?,
        can_manage: me.can(Action::ManageLeadership),
        can_answer,
        ask,
        form,
        errors,
        history,
        today,
    };
    Ok((status, page).into_response())
}

async fn new_page(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    show(&state, &me, None, AskForm { asked_on: today.to_string(), ..Default::default() }, FieldErrors::default()).await
}

/// The executive asked answers, signed in as themselves; the date is today.
async fn respond(State(state): State<AppState>, me: Member, Id(id): Id<AskId>, Form(form): Form<AskForm>) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, id).await?;
    let a = get(&mut *tx, me.org_id, id).await?;
    if !policy::may_act_as_person(me.role, a.asked_of_user == Some(me.user_id)) {
        return Err(AppError::Forbidden);
    }
    if a.answered() {
        return Err(AppError::Conflict("This ask was already answered.".into()));
    }
    let response = match parse_text(&form.answer, "your answer", 4000) {
        Ok(v) => v,
        Err(e) => {
            drop(tx);
            let mut errors = FieldErrors::default();
            errors.add("answer", e);
            let kept = AskForm { answer: form.answer.clone(), ..AskForm::from_ask(&a) };
            return show(&state, &me, Some(a), kept, errors).await;
        }
    };
    let today = state.clock.now().date_naive();
    let fields = Fields { asked_of: Some(a.asked_of), what: a.what.clone(), asked_on: Some(a.asked_on), due_on: a.due_on, response, responded_on: Some(today) };
    save(&mut tx, &me.actor(), state.clock.now(), me.org_id, &a, &fields, Some(a.asked_of)).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/asks/{id}"), Flash::success("Your answer was recorded.")))
}

impl RecordPages for Ask {
    type Id = AskId;
    type Form = AskForm;
    type Fields = Fields;
    const PATH: &'static str = "/asks";
    const RECORDED: &'static str = "The ask was recorded. It shows on the executive's dashboard until answered.";

    async fn get(conn: &mut PgConnection, org_id: OrgId, id: AskId) -> AppResult<Self> {
        get(conn, org_id, id).await
    }
    fn form(&self) -> AskForm {
        AskForm::from_ask(self)
    }
    fn people(form: &mut AskForm) -> Vec<(&'static str, &mut String)> {
        vec![("asked_of", &mut form.asked_of)]
    }
    fn parse(form: &AskForm, today: NaiveDate) -> Result<Fields, FieldErrors> {
        form.parse(today)
    }
    async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Fields) -> AppResult<AskId> {
        insert(conn, actor, now, org_id, f).await
    }
    async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Self, f: Fields) -> AppResult<bool> {
        // Once answered, the answer is the record of what was said: it stays.
        let f = if before.answered() { Fields { response: before.response.clone(), responded_on: before.responded_on, ..f } } else { f };
        // An answer recorded here came another way: it stands for nobody's own act in the app.
        save(conn, actor, now, org_id, before, &f, None).await
    }
    async fn show(state: &AppState, me: &Member, record: Option<Self>, form: AskForm, errors: FieldErrors) -> AppResult<Response> {
        show(state, me, record, form, errors).await
    }
}
