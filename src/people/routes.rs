//! The people directory pages: list, add, edit, leavers and CSV export;
//! the CSV import runs on the shared pipeline (`imports`).
use super::import::{self, People};
use super::{model, pick, roster};
use crate::ids::PersonId;
use crate::imports::routes as imports;
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::audit::{self, HistoryEntry};
use crate::auth::policy::Action;
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::web::form::{parse_choice, parse_date, parse_email, parse_optional, parse_text, ticked};
use crate::web::pager::Pager;
use crate::web::{FieldErrors, Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use model::{Choice, Filter, Kind, Person, PersonFields};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    roster::routes(r)
        .get("/people", Can(ViewPeople), list_page)
        .get("/people.csv", Can(ViewPeople), export)
        .get("/people/search", Can(ViewPeople), search)
        .get("/people/new", Can(ManagePeople), new_page)
        .post("/people", Can(ManagePeople), create)
        .get("/people/import", Can(ManagePeople), imports::page::<People>)
        .get("/people/import/template.csv", Can(ManagePeople), imports::template::<People>)
        .post_upload("/people/import", Can(ManagePeople), imports::upload::<People>, Some(import::MAX_BYTES + crate::web::sheet::FORM_ROOM))
        .get("/people/import/{id}", Can(ManagePeople), imports::preview::<People>)
        .post("/people/import/{id}/apply", Can(ManagePeople), imports::apply::<People>)
        .get("/people/{id}", Can(ViewPeople), person_page)
        .post("/people/{id}", Can(ManagePeople), update)
        .post("/people/{id}/leaver", Can(ManagePeople), mark_leaver)
        .post("/people/{id}/this-is-me", Can(ViewHome), claim)
}

// ---------- search (person fields' suggestions) ----------

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(serde::Serialize)]
struct Found {
    label: String,
    detail: String,
}

/// The people a person field suggests for what was typed so far, as JSON
/// (`static/app.js`): at most `pick::SEARCH_LIMIT`, top management first.
async fn search(State(state): State<AppState>, me: Member, Query(q): Query<SearchQuery>) -> AppResult<axum::Json<Vec<Found>>> {
    let today = state.clock.now().date_naive();
    let q: String = q.q.chars().take(100).collect();
    let found = super::pick::search(&state.db, me.org_id, today, &q, super::pick::SEARCH_LIMIT).await?;
    Ok(axum::Json(found.iter().map(|c| Found { label: c.pick_label(), detail: c.detail() }).collect()))
}

// ---------- list and export ----------

#[derive(Template, WebTemplate)]
#[template(path = "people/list.html")]
struct ListPage {
    layout: Layout,
    people: Vec<Person>,
    departments: Vec<String>,
    filter: Filter,
    /// The policy whose missing acknowledgements the list is narrowed to.
    unacknowledged: Option<String>,
    pager: Pager,
    today: NaiveDate,
    can_manage: bool,
}

async fn list_page(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<ListPage> {
    let today = state.clock.now().date_naive();
    // Another organisation's policy is not found, as its page would not be.
    let unacknowledged = match filter.policy() {
        Some(id) => Some(model::policy_title(&state.db, me.org_id, id).await?.ok_or(AppError::NotFound)?),
        None => None,
    };
    let total = model::count_filtered(&state.db, me.org_id, &filter, today, Pager::count_limit()).await?;
    let (mut pager, after) = Pager::new("/people", filter.query(), total, &filter.position());
    let mut people = model::filtered(me.org_id, &filter, today, Some(pager.limit()), after).fetch_all(&state.db).await?;
    pager.trim(&mut people, |p: &Person| (p.name.clone(), p.email.clone(), p.id.0));
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "People").await?,
        departments: model::kept_departments(&state.db, &state.kept, me.org_id, today).await?,
        people,
        filter,
        unacknowledged,
        pager,
        today,
        can_manage: me.can(Action::ManagePeople),
    })
}

async fn export(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    if let Some(id) = filter.policy() {
        model::policy_title(&state.db, me.org_id, id).await?.ok_or(AppError::NotFound)?;
    }
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    let rows = model::filtered(me.org_id, &filter, today, None, None);
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
    pub fn from_person(p: &Person) -> Self {
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
    pub fn parse(&self) -> Result<PersonFields, FieldErrors> {
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
    /// Their acknowledgements and training completions, with how each came in.
    acknowledgements: Vec<crate::policies::acks::model::OfPerson>,
    training: Vec<crate::training::model::OfPerson>,
    can_manage: bool,
    today: NaiveDate,
}

async fn form_page(
    state: &AppState,
    me: &Member,
    person: Option<Person>,
    form: PersonForm,
    errors: FieldErrors,
) -> AppResult<FormPage> {
    let today = state.clock.now().date_naive();
    let mut managers = pick::choices(&state.db, me.org_id, today, &pick::ids([form.manager_id.as_str()])).await?;
    if let Some(p) = &person {
        managers.retain(|m| m.id != p.id);
    }
    let (history, roles, acknowledgements, training) = match &person {
        Some(p) => (
            audit::history(&state.db, me.org_id, "person", p.id.0, 50).await?,
            crate::roles::model::roles_of_person(&state.db, me.org_id, p.id, today).await?,
            crate::policies::acks::model::of_person(&state.db, me.org_id, p.id).await?,
            crate::training::model::of_person(&state.db, me.org_id, p.id).await?,
        ),
        None => (Vec::new(), Vec::new(), Vec::new(), Vec::new()),
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
        acknowledgements,
        training,
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
    let mut form = form;
    let now = state.clock.now();
    let picked = pick::resolve(&state.db, me.org_id, now.date_naive(), vec![("manager_id", &mut form.manager_id)]).await?;
    let fields = match pick::merged(picked, form.parse()) {
        Ok(v) => v,
        Err(errors) => return again(person, form, errors).await,
    };
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
