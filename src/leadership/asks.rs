//! Leadership asks: what the ISMS lead asked of top management, by when,
//! and the answer (or the silence). Executives answer their own asks.
use crate::ids::OrgId;
use super::check_people;
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::audit::{self, Actor, Changes, HistoryEntry};
use crate::auth::policy::{self, Action};
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::people::attribution::{Via, byline, title_sql};
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
    r.get("/asks", list_page)
        .get("/asks.csv", export)
        .get("/asks/new", new_page)
        .post("/asks", create)
        .get("/asks/{id}", show_page)
        .post("/asks/{id}", update)
        .post("/asks/{id}/respond", respond)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Ask {
    pub id: Uuid,
    pub asked_of: Uuid,
    pub asked_of_name: String,
    pub asked_of_user: Option<Uuid>,
    pub asked_of_top_management: bool,
    pub asked_by_name: Option<String>,
    pub what: String,
    pub asked_on: NaiveDate,
    pub due_on: Option<NaiveDate>,
    pub response: String,
    pub responded_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    /// Whether the person asked entered the answer themselves (otherwise
    /// someone recorded an answer given another way).
    pub answered_in_person: bool,
    /// Who entered the answer: the person asked, or the recording account's name.
    pub answered_by_name: Option<String>,
    pub answered_title: Option<String>,
    /// The e-mail of the account that entered it.
    pub answered_account: Option<String>,
}

impl Ask {
    pub fn answered(&self) -> bool {
        self.responded_on.is_some()
    }
    /// Past its due date with no answer.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        !self.answered() && self.due_on.is_some_and(|d| d < today)
    }
    /// Who entered the answer: "Name, Title, signed in as e-mail" (what is known of it).
    pub fn answer_byline(&self) -> String {
        byline(self.answered_by_name.as_deref(), self.answered_title.as_deref(), Via::from_parts(self.answered_account.as_deref(), None))
    }
}

const SELECT: &str = "SELECT a.id, a.asked_of, p.name AS asked_of_name, p.acting_user_id AS asked_of_user, p.top_management AS asked_of_top_management,
        u.name AS asked_by_name, a.what, a.asked_on, a.due_on, a.response, a.responded_on, a.created_at,
        a.answered_as IS NOT NULL AS answered_in_person, COALESCE(ap.name, au.name) AS answered_by_name, a.answered_title,
        au.email AS answered_account
   FROM leadership_asks a
   JOIN people p ON p.org_id = a.org_id AND p.id = a.asked_of
   LEFT JOIN users u ON u.id = a.asked_by
   LEFT JOIN users au ON au.id = a.answered_by
   LEFT JOIN people ap ON ap.org_id = a.org_id AND ap.id = a.answered_as";

/// Unanswered first, by due date; `$1` is the organisation.
fn list_sql() -> String {
    format!("{SELECT} WHERE a.org_id = $1 ORDER BY a.responded_on IS NOT NULL, a.due_on NULLS LAST, a.asked_on DESC")
}

pub async fn list(db: &PgPool, org_id: OrgId) -> AppResult<Vec<Ask>> {
    Ok(sqlx::query_as(&list_sql()).bind(org_id).fetch_all(db).await?)
}

/// Unanswered asks of the person linked to `user_id`, oldest due first.
pub async fn open_for_user(db: &PgPool, org_id: OrgId, user_id: Uuid) -> AppResult<Vec<Ask>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE a.org_id = $1 AND p.acting_user_id = $2 AND a.responded_on IS NULL ORDER BY a.due_on NULLS LAST, a.asked_on"))
        .bind(org_id)
        .bind(user_id)
        .fetch_all(db)
        .await?)
}

pub async fn get(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: Uuid) -> AppResult<Ask> {
    sqlx::query_as(&format!("{SELECT} WHERE a.org_id = $1 AND a.id = $2")).bind(org_id).bind(id).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields {
    pub asked_of: Option<Uuid>,
    pub what: String,
    pub asked_on: Option<NaiveDate>,
    pub due_on: Option<NaiveDate>,
    pub response: String,
    pub responded_on: Option<NaiveDate>,
}

pub async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Fields) -> AppResult<Uuid> {
    check_people(conn, org_id, &f.asked_of.into_iter().collect::<Vec<_>>()).await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO leadership_asks (id, org_id, asked_of, asked_by, what, asked_on, due_on, response, responded_on, created_at, updated_at, answered_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, CASE WHEN $8 <> '' THEN $4 END)",
    )
    .bind(id)
    .bind(org_id)
    .bind(f.asked_of)
    .bind(actor.user_id)
    .bind(&f.what)
    .bind(f.asked_on)
    .bind(f.due_on)
    .bind(&f.response)
    .bind(f.responded_on)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        "ask.created",
        "leadership_ask",
        id,
        json!({"asked_of": f.asked_of, "what": f.what, "asked_on": f.asked_on, "due_on": f.due_on}),
    )
    .await?;
    Ok(id)
}

/// Saves an ask. When this gives it its answer, the actor's account is
/// recorded as the one that entered it, with `answered_as`: the person
/// asked, answering themselves, or `None` for an answer given another way
/// and recorded by someone else.
pub async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Ask, f: &Fields, answered_as: Option<Uuid>) -> AppResult<bool> {
    let mut c = Changes::new();
    c.field("asked_of", Some(before.asked_of), f.asked_of)
        .field("what", &before.what, &f.what)
        .field("asked_on", Some(before.asked_on), f.asked_on)
        .field("due_on", before.due_on, f.due_on)
        .field("response", &before.response, &f.response)
        .field("responded_on", before.responded_on, f.responded_on);
    if c.is_empty() {
        return Ok(false);
    }
    check_people(conn, org_id, &f.asked_of.into_iter().collect::<Vec<_>>()).await?;
    let answering = before.response.is_empty() && !f.response.is_empty();
    sqlx::query(&format!(
        "UPDATE leadership_asks SET asked_of = $3, what = $4, asked_on = $5, due_on = $6, response = $7, responded_on = $8, updated_at = $9,
                answered_by = CASE WHEN $10 THEN $11 WHEN $7 = '' THEN NULL ELSE answered_by END,
                answered_as = CASE WHEN $10 THEN $12 WHEN $7 = '' THEN NULL ELSE answered_as END,
                answered_title = CASE WHEN $10 THEN {} WHEN $7 = '' THEN NULL ELSE answered_title END
          WHERE org_id = $1 AND id = $2",
        title_sql("$1", "$12")
    ))
    .bind(org_id)
    .bind(before.id)
    .bind(f.asked_of)
    .bind(&f.what)
    .bind(f.asked_on)
    .bind(f.due_on)
    .bind(&f.response)
    .bind(f.responded_on)
    .bind(now)
    .bind(answering)
    .bind(actor.user_id)
    .bind(answered_as)
    .execute(&mut *conn)
    .await?;
    let action = if answering { "ask.answered" } else { "ask.updated" };
    let mut details = c.into_value();
    if answering && let Some(d) = details.as_object_mut() {
        d.insert("answered_as".into(), json!(answered_as));
    }
    audit::record(conn, actor, now, action, "leadership_ask", before.id, details).await?;
    Ok(true)
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
            due_on: a.due_on.map(|d| d.to_string()).unwrap_or_default(),
            response: a.response.clone(),
            responded_on: a.responded_on.map(|d| d.to_string()).unwrap_or_default(),
            answer: String::new(),
        }
    }

    fn parse(&self, today: NaiveDate) -> Result<Fields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = Fields { asked_of: parse_choice(&self.asked_of), ..Default::default() };
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
    me.require(Action::ViewLeadership)?;
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Asks to leadership").await?,
        asks: list(&state.db, me.org_id).await?,
        today: state.clock.now().date_naive(),
        can_manage: me.can(Action::ManageLeadership),
    })
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let today = state.clock.now().date_naive();
    let org_id = me.org_id;
    Ok(csv::stream(
        "leadership-asks.csv",
        &["asked_of", "top_management", "asked_by", "what", "asked_on", "due_on", "response", "responded_on", "answered_by", "answered_title", "answered_account", "overdue"],
        state.db.clone(),
        list_sql(),
        move |q| q.bind(org_id),
        move |a: Ask| {
            vec![
                a.asked_of_name.clone(),
                if a.asked_of_top_management { "yes" } else { "no" }.into(),
                a.asked_by_name.clone().unwrap_or_default(),
                a.what.clone(),
                a.asked_on.to_string(),
                a.due_on.map(|d| d.to_string()).unwrap_or_default(),
                a.response.clone(),
                a.responded_on.map(|d| d.to_string()).unwrap_or_default(),
                match (&a.answered_by_name, a.answered_in_person) {
                    (Some(n), true) => n.clone(),
                    (Some(n), false) => format!("recorded by {n}"),
                    (None, _) => String::new(),
                },
                a.answered_title.clone().unwrap_or_default(),
                Via::from_parts(a.answered_account.as_deref(), None).words(),
                if a.overdue(today) { "yes" } else { "no" }.into(),
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
    let keep: Vec<Uuid> = ask.as_ref().map(|a| a.asked_of).into_iter().collect();
    let history = match &ask {
        Some(a) => audit::history(&state.db, me.org_id, "leadership_ask", a.id, 30).await?,
        None => Vec::new(),
    };
    let can_answer = ask.as_ref().is_some_and(|a| !a.answered() && policy::may_act_as_person(me.role, a.asked_of_user == Some(me.user_id.0)));
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ShowPage {
        layout: Layout::build(&state.db, &me.visitor, if ask.is_some() { "Ask to leadership" } else { "New ask" }).await?,
        people: people::choices(&state.db, me.org_id, today, &keep).await?,
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
    me.require(Action::ManageLeadership)?;
    let today = state.clock.now().date_naive();
    show(&state, &me, None, AskForm { asked_on: today.to_string(), ..Default::default() }, FieldErrors::default()).await
}

async fn show_page(State(state): State<AppState>, me: Member, Id(id): Id) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let a = get(&state.db, me.org_id, id).await?;
    let form = AskForm::from_ask(&a);
    show(&state, &me, Some(a), form, FieldErrors::default()).await
}

async fn create(State(state): State<AppState>, me: Member, Form(form): Form<AskForm>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let fields = match form.parse(state.clock.now().date_naive()) {
        Ok(f) => f,
        Err(errors) => return show(&state, &me, None, form, errors).await,
    };
    let mut tx = state.db.begin().await?;
    let id = insert(&mut tx, &me.actor(), state.clock.now(), me.org_id, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/asks/{id}"), Flash::success("The ask was recorded. It shows on the executive's dashboard until answered.")))
}

async fn update(State(state): State<AppState>, me: Member, Id(id): Id, Form(form): Form<AskForm>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, crate::ids::AskId::from(id)).await?;
    let a = get(&mut *tx, me.org_id, id).await?;
    let fields = match form.parse(state.clock.now().date_naive()) {
        // Once answered, the answer is the record of what was said: it stays.
        Ok(f) if a.answered() => Fields { response: a.response.clone(), responded_on: a.responded_on, ..f },
        Ok(f) => f,
        Err(errors) => {
            drop(tx);
            return show(&state, &me, Some(a), form, errors).await;
        }
    };
    // An answer recorded here came another way: it stands for nobody's own act in the app.
    let changed = save(&mut tx, &me.actor(), state.clock.now(), me.org_id, &a, &fields, None).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/asks/{id}"), Flash::success(if changed { "Saved." } else { "Nothing changed." })))
}

/// The executive asked answers, signed in as themselves; the date is today.
async fn respond(State(state): State<AppState>, me: Member, Id(id): Id, Form(form): Form<AskForm>) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, crate::ids::AskId::from(id)).await?;
    let a = get(&mut *tx, me.org_id, id).await?;
    if !policy::may_act_as_person(me.role, a.asked_of_user == Some(me.user_id.0)) {
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
