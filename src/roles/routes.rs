//! ISMS roles pages: the register, a role with its appointments, the
//! personal link through which a holder without an account accepts, and
//! the RACI matrix.
use super::model::{self, AcceptedVia, Acceptance, Appointment, Assignment, Capacity, NewAppointment, Role, RoleFields};
use super::raci::{self, Letters, Matrix};
use super::starter;
use crate::ids::{AppointmentId, OrgId, PersonId, RaciActivityId, RoleId};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::audit::{self, Actor, HistoryEntry};
use crate::auth::policy::{self, Action};
use crate::auth::session::{Flash, Member, Visitor};
use crate::error::{AppError, AppResult};
use crate::people::attribution::Via;
use crate::people::model::{self as people, Choice, Person};
use crate::people::pick;
use crate::web::form::{parse_choice, parse_date, parse_optional, parse_text, ticked};
use crate::web::{FieldErrors, Id, Layout, Segment, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use crate::auth::passkeys::{self, Act, Binding, SignatureFields};
use std::collections::HashMap;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access, Access::Can, Action::*};
    let r = r
        .get("/roles", Can(ViewRoles), register_page)
        .get("/roles.csv", Can(ViewRoles), export)
        .post("/roles", Can(ManageRoles), create_role)
        .post("/roles/starter", Can(ManageRoles), add_starter_roles)
        .get("/roles/{id}", Can(ViewRoles), role_page)
        .post("/roles/{id}", Can(ManageRoles), update_role)
        .post("/roles/{id}/retire", Can(ManageRoles), retire_role)
        .post_step_up("/roles/{id}/appointments", Can(ManageRoles), appoint)
        .post_step_up("/appointments/{id}/confirm", Access::Member, confirm)
        .post("/appointments/{id}/confirm/passkey-options", Access::Member, confirm_options)
        .post_step_up("/appointments/{id}/accept", Access::Member, accept_signed_in)
        .post("/appointments/{id}/link", Can(ManageRoles), renew_link)
        .post_step_up("/appointments/{id}/end", Can(ManageRoles), end_appointment)
        .post("/appointments/{id}/hats", Access::Member, hats_note)
        .post_step_up("/appointments/{id}/paper-confirmation", Access::Member, paper_confirmation)
        .post_step_up("/appointments/{id}/paper-acceptance", Access::Member, paper_acceptance)
        .get("/accept-role/{token}", Access::Public, link_page)
        .post("/accept-role/{token}", Access::Public, accept_by_link);
    r.get("/raci", Can(ViewRoles), matrix_page)
        .get("/raci.csv", Can(ViewRoles), raci_export)
        .post("/raci", Can(ManageRoles), raci_save)
        .post("/raci/activities", Can(ManageRoles), add_activity)
        .post("/raci/activities/{id}/retire", Can(ManageRoles), retire_activity)
        .post("/raci/starter", Can(ManageRoles), add_starter_activities)
}

/// A role with its current appointments, for the register.
pub struct RoleCard {
    pub role: Role,
    pub holders: Vec<Appointment>,
    pub deputies: Vec<Appointment>,
    pub vacant: bool,
}

/// The 5.3 mandatory assignment, as the register's summary shows it.
pub struct Coverage {
    pub code: &'static str,
    pub label: &'static str,
    pub roles: Vec<String>,
    pub holders: Vec<String>,
}

fn cards(roles: Vec<Role>, all: &[Appointment], today: NaiveDate) -> Vec<RoleCard> {
    roles
        .into_iter()
        .map(|role| {
            let current: Vec<Appointment> = all.iter().filter(|a| a.role_id == role.id && a.is_current(today)).cloned().collect();
            let (holders, deputies): (Vec<_>, Vec<_>) = current.into_iter().partition(|a| a.is_holder());
            RoleCard { vacant: model::is_vacant(role.id, all, today), role, holders, deputies }
        })
        .collect()
}

fn coverage(cards: &[RoleCard]) -> Vec<Coverage> {
    [Assignment::Conformance, Assignment::Reporting]
        .into_iter()
        .map(|a| {
            let carrying: Vec<&RoleCard> = cards.iter().filter(|c| c.role.carries(a)).collect();
            Coverage {
                code: a.code(),
                label: a.label(),
                roles: carrying.iter().map(|c| c.role.name.clone()).collect(),
                holders: carrying.iter().flat_map(|c| c.holders.iter().map(|h| h.person_name.clone())).collect(),
            }
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "roles/register.html")]
struct RegisterPage {
    layout: Layout,
    cards: Vec<RoleCard>,
    coverage: Vec<Coverage>,
    missing_starters: usize,
    can_manage: bool,
    form: RoleForm,
    errors: FieldErrors,
}

async fn register_view(state: &AppState, me: &Member, form: RoleForm, errors: FieldErrors) -> AppResult<RegisterPage> {
    let today = state.clock.now().date_naive();
    let roles = model::roles(&state.db, me.org_id).await?;
    let all = model::appointments(&state.db, me.org_id).await?;
    let missing_starters =
        starter::ROLES.iter().filter(|s| !roles.iter().any(|r| r.name.eq_ignore_ascii_case(s.name))).count();
    let cards = cards(roles, &all, today);
    Ok(RegisterPage {
        layout: Layout::build(&state.db, &me.visitor, "ISMS roles").await?,
        coverage: coverage(&cards),
        cards,
        missing_starters,
        can_manage: me.can(Action::ManageRoles),
        form,
        errors,
    })
}

/// What a link may fill in beforehand (a finding's fix): the mandatory
/// assignment a new role carries, a proposed appointer.
#[derive(Deserialize, Default)]
pub struct Prefill {
    carries: Option<String>,
    appointer: Option<String>,
}

async fn register_page(State(state): State<AppState>, me: Member, Query(pre): Query<Prefill>) -> AppResult<RegisterPage> {
    let on = |which: &str| (pre.carries.as_deref() == Some(which)).then(|| "on".to_string());
    let form = RoleForm { conformance: on("conformance"), reporting: on("reporting"), ..RoleForm::default() };
    register_view(&state, &me, form, FieldErrors::default()).await
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let roles = model::roles(&state.db, me.org_id).await?;
    let all = model::appointments(&state.db, me.org_id).await?;
    let yes = |b: bool| if b { "yes" } else { "no" };
    let mut out = csv::row(&[
        "role", "5.3(a)", "5.3(b)", "responsibilities", "authorities", "capacity", "person", "appointed_by",
        "appointer_is_top_management", "appointed_on", "confirmed_by_appointer", "confirmed_at", "confirmed_title", "confirmed_account",
        "accepted_at", "accepted_via", "accepted_title", "accepted_account", "status", "flags",
    ]);
    for r in &roles {
        let mine: Vec<&Appointment> = all.iter().filter(|a| a.role_id == r.id).collect();
        let base = [r.name.clone(), yes(r.carries_conformance).into(), yes(r.carries_reporting).into(), r.responsibilities.clone(), r.authorities.clone()];
        if mine.is_empty() {
            let mut cells = base.to_vec();
            cells.extend((0..14).map(|_| String::new()));
            cells.extend(["vacant".into(), "".into()]);
            out.push_str(&csv::row(&cells));
        }
        for a in mine {
            let mut cells = base.to_vec();
            cells.extend([
                a.capacity.as_str().into(),
                a.person_name.clone(),
                a.appointer_name.clone().unwrap_or_default(),
                a.appointer_top_management.map(|t| yes(t).to_string()).unwrap_or_default(),
                a.appointed_on.map(|d| d.to_string()).unwrap_or_default(),
                yes(a.confirmed_at.is_some()).into(),
                a.confirmed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                a.confirmed_title.clone().unwrap_or_default(),
                if a.confirmed_at.is_some() { Via::paper_or(a.confirmed_recorded_account.as_deref(), a.confirmed_account.as_deref()).words() } else { String::new() },
                a.accepted_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                a.accepted_via.map(|v| v.as_str()).unwrap_or_default().into(),
                a.accepted_title.clone().unwrap_or_default(),
                if a.accepted_at.is_some() { a.acceptance_via().words() } else { String::new() },
                a.status(today).into(),
                a.flags().iter().map(|f| f.text()).collect::<Vec<_>>().join("; "),
            ]);
            out.push_str(&csv::row(&cells));
        }
    }
    Ok(csv::attachment("isms-roles.csv", out))
}

// ---------- defining roles ----------

#[derive(Deserialize, Default, Clone)]
pub struct RoleForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    responsibilities: String,
    #[serde(default)]
    authorities: String,
    conformance: Option<String>,
    reporting: Option<String>,
}

impl RoleForm {
    fn from_role(r: &Role) -> Self {
        RoleForm {
            name: r.name.clone(),
            responsibilities: r.responsibilities.clone(),
            authorities: r.authorities.clone(),
            conformance: r.carries_conformance.then(|| "on".into()),
            reporting: r.carries_reporting.then(|| "on".into()),
        }
    }

    fn parse(&self) -> Result<RoleFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = RoleFields { carries_conformance: ticked(&self.conformance), carries_reporting: ticked(&self.reporting), ..Default::default() };
        match parse_text(&self.name, "the role's name", 120) {
            Ok(v) => f.name = v,
            Err(e) => errors.add("name", e),
        }
        match parse_optional(&self.responsibilities, "the responsibilities", 4000, true) {
            Ok(v) => f.responsibilities = v,
            Err(e) => errors.add("responsibilities", e),
        }
        match parse_optional(&self.authorities, "the authorities", 4000, true) {
            Ok(v) => f.authorities = v,
            Err(e) => errors.add("authorities", e),
        }
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }
}

async fn create_role(State(state): State<AppState>, me: Member, Form(form): Form<RoleForm>) -> AppResult<Response> {
    let fields = match form.parse() {
        Ok(f) => f,
        Err(errors) => return Ok((StatusCode::UNPROCESSABLE_ENTITY, register_view(&state, &me, form, errors).await?).into_response()),
    };
    let mut tx = state.db.begin().await?;
    let id = match model::create_role(&mut tx, &me.actor(), state.clock.now(), me.org_id, &fields).await {
        Ok(id) => id,
        Err(AppError::Conflict(m)) => {
            drop(tx);
            let mut errors = FieldErrors::default();
            errors.add("name", m);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, register_view(&state, &me, form, errors).await?).into_response());
        }
        Err(e) => return Err(e),
    };
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/roles/{id}"), Flash::success(format!("The role {} was created. Now appoint someone to it.", fields.name))))
}

async fn add_starter_roles(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let existing = model::roles(&state.db, me.org_id).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let mut added = 0;
    for s in &starter::ROLES {
        if existing.iter().any(|r| r.name.eq_ignore_ascii_case(s.name)) {
            continue;
        }
        let f = RoleFields {
            name: s.name.into(),
            responsibilities: s.responsibilities.into(),
            authorities: s.authorities.into(),
            carries_conformance: s.conformance,
            carries_reporting: s.reporting,
        };
        model::create_role(&mut tx, &me.actor(), now, me.org_id, &f).await?;
        added += 1;
    }
    tx.commit().await?;
    let flash = if added == 0 {
        Flash::info("Every role of the starting set is already there.")
    } else {
        Flash::success(format!("{added} roles were added. Adjust their wording, then appoint people to them. The RACI page can add matching starting activities."))
    };
    Ok(redirect_with(&state, "/roles", flash))
}

async fn update_role(State(state): State<AppState>, me: Member, Id(id): Id<RoleId>, Form(form): Form<RoleForm>) -> AppResult<Response> {
    let role = model::role(&state.db, me.org_id, id).await?;
    let fields = match form.parse() {
        Ok(f) => f,
        Err(errors) => return role_view(&state, &me, role, form, errors, AppointForm::default(), FieldErrors::default()).await,
    };
    let mut tx = state.db.begin().await?;
    let changed = match model::update_role(&mut tx, &me.actor(), state.clock.now(), me.org_id, &role, &fields).await {
        Ok(c) => c,
        Err(AppError::Conflict(m)) => {
            drop(tx);
            let mut errors = FieldErrors::default();
            errors.add("name", m);
            return role_view(&state, &me, role, form, errors, AppointForm::default(), FieldErrors::default()).await;
        }
        Err(e) => return Err(e),
    };
    tx.commit().await?;
    let msg = if changed { format!("{} saved.", fields.name) } else { "Nothing changed.".into() };
    Ok(redirect_with(&state, &format!("/roles/{id}"), Flash::success(msg)))
}

async fn retire_role(State(state): State<AppState>, me: Member, Id(id): Id<RoleId>) -> AppResult<Response> {
    let role = model::role(&state.db, me.org_id, id).await?;
    let mut tx = state.db.begin().await?;
    model::retire_role(&mut tx, &me.actor(), state.clock.now(), me.org_id, &role).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/roles", Flash::success(format!("{} was retired; its appointments ended today.", role.name))))
}

// ---------- one role and its appointments ----------

#[derive(Deserialize, Default, Clone)]
pub struct AppointForm {
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    appointed_by: String,
    #[serde(default)]
    appointed_on: String,
    record_anyway: Option<String>,
}

impl AppointForm {
    fn parse(&self) -> Result<NewAppointment, FieldErrors> {
        let mut errors = FieldErrors::default();
        let person_id = parse_choice(&self.person_id).map(PersonId);
        if person_id.is_none() {
            errors.add("person_id", "Choose who is appointed.");
        }
        let appointed_by = parse_choice(&self.appointed_by).map(PersonId);
        if appointed_by.is_none() {
            errors.add("appointed_by", "Choose who made the appointment.");
        }
        let appointed_on = match parse_date(&self.appointed_on, "the appointment date") {
            Ok(Some(d)) => Some(d),
            Ok(None) => {
                errors.add("appointed_on", "Enter the date of the appointment.");
                None
            }
            Err(e) => {
                errors.add("appointed_on", e);
                None
            }
        };
        let capacity = self.capacity.parse().unwrap_or(Capacity::Holder);
        match (person_id, appointed_by, appointed_on) {
            (Some(person_id), Some(appointed_by), Some(appointed_on)) if errors.is_empty() => Ok(NewAppointment {
                person_id,
                capacity,
                appointed_by,
                appointed_on,
                record_anyway: ticked(&self.record_anyway),
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "roles/role.html")]
struct RolePage {
    layout: Layout,
    role: Role,
    appointments: Vec<Appointment>,
    vacant: bool,
    people: Vec<Choice>,
    me_person: Option<PersonId>,
    /// The viewer is a member of top management, signed in as themselves.
    me_top_management: bool,
    form: RoleForm,
    errors: FieldErrors,
    appoint: AppointForm,
    appoint_errors: FieldErrors,
    history: Vec<HistoryEntry>,
    can_manage: bool,
    can_act_as_self: bool,
    /// The viewer holds a passkey, so confirms appointments with it.
    holds_passkey: bool,
    role_of_viewer: policy::Role,
    today: NaiveDate,
}

impl RolePage {
    fn is_me(&self, id: Option<&PersonId>) -> bool {
        self.can_act_as_self && id.is_some() && id == self.me_person.as_ref()
    }
    /// The viewer may record that the appointer signed `a`'s letter on paper.
    fn may_record_paper_confirmation(&self, a: &Appointment) -> bool {
        a.confirmed_at.is_none() && a.appointed_by.is_some() && policy::may_record_paper_signature(self.role_of_viewer, self.me_top_management)
    }
    /// The viewer may record that `a`'s holder accepted on paper.
    fn may_record_paper_acceptance(&self, a: &Appointment) -> bool {
        a.accepted_at.is_none() && policy::may_record_paper_acceptance(self.role_of_viewer, self.me_top_management, a.person_top_management)
    }
    fn action(&self) -> String {
        format!("/roles/{}", self.role.id)
    }
}

async fn role_view(
    state: &AppState,
    me: &Member,
    role: Role,
    form: RoleForm,
    errors: FieldErrors,
    appoint: AppointForm,
    appoint_errors: FieldErrors,
) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let appointments: Vec<Appointment> =
        model::appointments(&state.db, me.org_id).await?.into_iter().filter(|a| a.role_id == role.id).collect();
    let people = pick::choices(&state.db, me.org_id, today, &pick::ids([appoint.person_id.as_str(), appoint.appointed_by.as_str()])).await?;
    let viewer = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
    let me_top_management = viewer.as_ref().is_some_and(|p| p.top_management);
    let me_person = viewer.map(|p| p.id);
    let appoint = if appoint.appointed_on.is_empty() {
        // Defaults: today, and the signed-in executive as appointer when they are top management.
        let mine = people.iter().find(|p| me_person.is_some_and(|m| m == p.id) && p.top_management).map(|p| p.id.to_string()).unwrap_or_default();
        let appointed_by = if appoint.appointed_by.trim().is_empty() { mine } else { appoint.appointed_by };
        AppointForm { appointed_on: today.to_string(), appointed_by, capacity: Capacity::Holder.as_str().into(), ..appoint }
    } else {
        appoint
    };
    let status = if errors.is_empty() && appoint_errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = RolePage {
        layout: Layout::build(&state.db, &me.visitor, role.name.clone()).await?,
        vacant: model::is_vacant(role.id, &appointments, today),
        history: audit::history(&state.db, me.org_id, "role", role.id.0, 30).await?,
        people,
        me_person,
        me_top_management,
        role_of_viewer: me.role,
        role,
        appointments,
        form,
        errors,
        appoint,
        appoint_errors,
        can_manage: me.can(Action::ManageRoles),
        can_act_as_self: policy::may_act_as_person(me.role, true),
        holds_passkey: passkeys::holds(&state.db, me.user_id).await?,
        today,
    };
    Ok((status, page).into_response())
}

async fn role_page(State(state): State<AppState>, me: Member, Id(id): Id<RoleId>, Query(pre): Query<Prefill>) -> AppResult<Response> {
    let role = model::role(&state.db, me.org_id, id).await?;
    let form = RoleForm::from_role(&role);
    let appoint = AppointForm { appointed_by: pre.appointer.unwrap_or_default(), appointed_on: state.clock.now().date_naive().to_string(), ..AppointForm::default() };
    role_view(&state, &me, role, form, FieldErrors::default(), appoint, FieldErrors::default()).await
}

async fn appoint(State(state): State<AppState>, me: Member, Id(id): Id<RoleId>, Form(mut form): Form<AppointForm>) -> AppResult<Response> {
    let role = model::role(&state.db, me.org_id, id).await?;
    let again = |role: Role, form: AppointForm, errors: FieldErrors| {
        let role_form = RoleForm::from_role(&role);
        role_view(&state, &me, role, role_form, FieldErrors::default(), form, errors)
    };
    let fields = vec![("person_id", &mut form.person_id), ("appointed_by", &mut form.appointed_by)];
    let picked = pick::resolve(&state.db, me.org_id, state.clock.now().date_naive(), fields).await?;
    let new = match pick::merged(picked, form.parse()) {
        Ok(n) => n,
        Err(errors) => return again(role, form, errors).await,
    };
    let recorder = people::person_of_user(&state.db, me.org_id, me.user_id).await?.map(|p| p.id);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (appointment_id, token) = match model::appoint(&mut tx, &me.actor(), now, me.org_id, &role, &new, recorder).await? {
        Ok(v) => v,
        Err(refusal) => {
            drop(tx);
            let mut errors = FieldErrors::default();
            errors.add(refusal.field, refusal.message);
            return again(role, form, errors).await;
        }
    };
    tx.commit().await?;
    let mut conn = state.db.acquire().await?;
    let a = model::appointment(&mut conn, me.org_id, appointment_id).await?;
    let link = state.config.link(&format!("/accept-role/{token}"));
    let mut msg = format!(
        "{} is appointed {} of {}. Send them this personal link to accept the role (it works for {} days and is shown only now): {link}",
        a.person_name,
        a.capacity,
        role.name,
        model::LINK_DAYS
    );
    if a.person_user_id.is_some() {
        msg.push_str(" They can also accept on this page when signed in.");
    }
    if a.awaits_confirmation() {
        msg.push_str(&format!(" {} can confirm the appointment when signed in.", a.appointer_name.clone().unwrap_or_default()));
    }
    if !a.flags().is_empty() && a.appointer_top_management == Some(false) {
        msg.push_str(" It is recorded as not made by top management, which shows as a gap.");
    }
    Ok(redirect_with(&state, &format!("/roles/{id}"), Flash::success(msg)))
}

/// Loads an appointment of this organisation and the signed-in member's
/// directory entry.
async fn appointment_and_me(state: &AppState, me: &Member, id: AppointmentId) -> AppResult<(Appointment, Option<Person>)> {
    let mut conn = state.db.acquire().await?;
    let a = model::appointment(&mut conn, me.org_id, id).await?;
    let person = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
    Ok((a, person))
}

/// The appointer, signed in as themselves, for an appointment they made.
async fn appointer_of(state: &AppState, me: &Member, id: AppointmentId) -> AppResult<(Appointment, Person)> {
    let (a, person) = appointment_and_me(state, me, id).await?;
    let appointer = person.filter(|p| Some(p.id) == a.appointed_by && policy::may_act_as_person(me.role, true)).ok_or(AppError::Forbidden)?;
    Ok((a, appointer))
}

/// The statement an appointer's passkey signs for this appointment, now.
fn appointment_statement(me: &Member, a: &Appointment, appointer: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let what = format!("{} appointed as {}", a.person_name, a.role_name);
    passkeys::statement(me, Act::Appointment, a.id.0, &what, None, appointer, at)
}

/// Starts a passkey confirmation (static/app.js asks for it when the appointer holds a passkey).
async fn confirm_options(State(state): State<AppState>, me: Member, Id(id): Id<AppointmentId>) -> AppResult<axum::Json<serde_json::Value>> {
    let (a, appointer) = appointer_of(&state, &me, id).await?;
    if a.confirmed_at.is_some() {
        return Err(AppError::Conflict("You confirmed this appointment already.".into()));
    }
    let text = appointment_statement(&me, &a, &appointer.name, state.clock.now());
    passkeys::start_signature(&state, me.user_id, &text).await?.map(axum::Json).ok_or(AppError::NotFound)
}

async fn confirm(State(state): State<AppState>, me: Member, Id(id): Id<AppointmentId>, Form(form): Form<SignatureFields>) -> AppResult<Response> {
    let (a, appointer) = appointer_of(&state, &me, id).await?;
    let back = format!("/roles/{}", a.role_id);
    let bound = match passkeys::bind(&state, me.user_id, &form, &[Act::Appointment.record_line(id.0)]).await? {
        Binding::Bound(b) => Some(*b),
        Binding::NotHeld => None,
        Binding::Refused(why) => return Ok(redirect_with(&state, &back, Flash::error(why))),
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    model::confirm(&mut tx, &me.actor(), now, me.org_id, &a, appointer.id).await?;
    if let Some(b) = &bound {
        passkeys::keep_signature(&mut tx, me.org_id, Act::Appointment, id.0, me.user_id, b, now).await?;
    }
    tx.commit().await?;
    let note = if bound.is_some() { " Your passkey signed the confirmation." } else { "" };
    Ok(redirect_with(&state, &back, Flash::success(format!("You confirmed {}'s appointment as {}.{note}", a.person_name, a.role_name))))
}

use crate::web::user_agent;

async fn accept_signed_in(State(state): State<AppState>, me: Member, Id(id): Id<AppointmentId>, headers: HeaderMap) -> AppResult<Response> {
    let (a, person) = appointment_and_me(&state, &me, id).await?;
    let is_holder = person.as_ref().is_some_and(|p| p.id == a.person_id);
    if !policy::may_act_as_person(me.role, is_holder) {
        return Err(AppError::Forbidden);
    }
    let how = Acceptance { via: AcceptedVia::SignedIn, client_addr: me.visitor.client_addr.clone(), user_agent: user_agent(&headers), token_hash: None };
    let mut tx = state.db.begin().await?;
    model::accept(&mut tx, &me.actor(), state.clock.now(), me.org_id, &a, &how).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/roles/{}", a.role_id), Flash::success(format!("You accepted the role {}.", a.role_name))))
}

async fn renew_link(State(state): State<AppState>, me: Member, Id(id): Id<AppointmentId>) -> AppResult<Response> {
    let (a, _) = appointment_and_me(&state, &me, id).await?;
    let mut tx = state.db.begin().await?;
    let token = model::new_link(&mut tx, &me.actor(), state.clock.now(), me.org_id, &a).await?;
    tx.commit().await?;
    let link = state.config.link(&format!("/accept-role/{token}"));
    let msg = format!(
        "A new acceptance link for {} (the old one no longer works; this one works for {} days and is shown only now): {link}",
        a.person_name,
        model::LINK_DAYS
    );
    Ok(redirect_with(&state, &format!("/roles/{}", a.role_id), Flash::success(msg)))
}

#[derive(Deserialize)]
struct EndForm {
    #[serde(default)]
    ended_on: String,
    #[serde(default)]
    reason: String,
}

async fn end_appointment(State(state): State<AppState>, me: Member, Id(id): Id<AppointmentId>, Form(form): Form<EndForm>) -> AppResult<Response> {
    let (a, _) = appointment_and_me(&state, &me, id).await?;
    let now = state.clock.now();
    let ended_on = parse_date(&form.ended_on, "the end date").map_err(AppError::BadRequest)?.unwrap_or(now.date_naive());
    let reason = parse_optional(&form.reason, "the reason", 500, false).map_err(AppError::BadRequest)?;
    let mut tx = state.db.begin().await?;
    model::end(&mut tx, &me.actor(), now, me.org_id, &a, ended_on, &reason).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/roles/{}", a.role_id), Flash::success(format!("{}'s appointment as {} ends on {ended_on}.", a.person_name, a.role_name))))
}

/// A letter signed on paper, as the form sends it.
#[derive(Deserialize)]
struct PaperForm {
    #[serde(default)]
    signed_on: String,
}

async fn paper_confirmation(State(state): State<AppState>, me: Member, Id(id): Id<AppointmentId>, Form(form): Form<PaperForm>) -> AppResult<Response> {
    record_paper_act(&state, &me, id, &form, model::PaperAct::Confirmation).await
}

async fn paper_acceptance(State(state): State<AppState>, me: Member, Id(id): Id<AppointmentId>, Form(form): Form<PaperForm>) -> AppResult<Response> {
    record_paper_act(&state, &me, id, &form, model::PaperAct::Acceptance).await
}

/// Records that an appointment letter was signed on paper, by the appointer
/// or by the holder: who may record which is `auth::policy`'s to say
/// (another tenant's appointment answers 404 first).
async fn record_paper_act(state: &AppState, me: &Member, id: AppointmentId, form: &PaperForm, act: model::PaperAct) -> AppResult<Response> {
    let (a, person) = appointment_and_me(state, me, id).await?;
    let me_top = person.as_ref().is_some_and(|p| p.top_management);
    let allowed = match act {
        model::PaperAct::Confirmation => policy::may_record_paper_signature(me.role, me_top),
        model::PaperAct::Acceptance => policy::may_record_paper_acceptance(me.role, me_top, a.person_top_management),
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    let on = parse_date(&form.signed_on, "the day it was signed")
        .map_err(AppError::BadRequest)?
        .ok_or_else(|| AppError::BadRequest("Enter the day the letter was signed on paper.".into()))?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let a = model::appointment(&mut tx, me.org_id, id).await?;
    model::record_paper(&mut tx, &me.actor(), now, me.org_id, &a, model::PaperRecord { act, on, recorded_by: me.user_id }).await?;
    tx.commit().await?;
    let msg = match act {
        model::PaperAct::Confirmation => format!(
            "Recorded: {} signed {}'s appointment letter as {} on paper on {on}. It shows as given on paper and recorded by you.",
            a.appointer_name.as_deref().unwrap_or("The appointer"),
            a.person_name,
            a.role_name
        ),
        model::PaperAct::Acceptance => format!("Recorded: {} accepted the role {} on paper on {on}. It counts from that day and shows as given on paper.", a.person_name, a.role_name),
    };
    Ok(redirect_with(state, &format!("/roles/{}#appointment-{id}", a.role_id), Flash::success(msg)))
}

#[derive(Deserialize)]
struct HatsForm {
    #[serde(default)]
    note: String,
}

async fn hats_note(State(state): State<AppState>, me: Member, Id(id): Id<AppointmentId>, Form(form): Form<HatsForm>) -> AppResult<Response> {
    let (a, person) = appointment_and_me(&state, &me, id).await?;
    let is_holder = person.as_ref().is_some_and(|p| p.id == a.person_id);
    if !me.can(Action::ManageRoles) && !policy::may_act_as_person(me.role, is_holder) {
        return Err(AppError::Forbidden);
    }
    let note = parse_optional(&form.note, "the note", 2000, true).map_err(AppError::BadRequest)?;
    let mut tx = state.db.begin().await?;
    let changed = model::set_hats_note(&mut tx, &me.actor(), state.clock.now(), me.org_id, &a, &note).await?;
    tx.commit().await?;
    let msg = if changed { "The note on which hat is worn when was saved." } else { "Nothing changed." };
    Ok(redirect_with(&state, &format!("/roles/{}", a.role_id), Flash::success(msg)))
}

// ---------- accepting through a personal link ----------

#[derive(Template, WebTemplate)]
#[template(path = "roles/accept.html")]
struct LinkPage {
    layout: Layout,
    token: String,
    org_name: String,
    a: Appointment,
    role: Role,
    state: LinkState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Open,
    Accepted,
    Ended,
    Expired,
}

/// What a personal link shows.
struct Link {
    org_id: OrgId,
    org_name: String,
    a: Appointment,
    role: Role,
    state: LinkState,
}

async fn load_link(state: &AppState, token: &str) -> AppResult<Link> {
    if token.len() > 100 {
        return Err(AppError::NotFound);
    }
    let mut conn = state.db.acquire().await?;
    let (org_id, org_name, id) = model::by_token(&mut conn, token).await?.ok_or(AppError::NotFound)?;
    let a = model::appointment(&mut conn, org_id, id).await?;
    let role = model::role_any(&mut conn, org_id, a.role_id).await?;
    let now = state.clock.now();
    let st = if a.accepted_at.is_some() {
        LinkState::Accepted
    } else if a.is_ended(now.date_naive()) || a.holder_left(now.date_naive()) {
        LinkState::Ended
    } else if !a.link_is_open(now) {
        LinkState::Expired
    } else {
        LinkState::Open
    };
    Ok(Link { org_id, org_name, a, role, state: st })
}

fn link_view(visitor: &Visitor, token: String, link: Link) -> Response {
    let status = if matches!(link.state, LinkState::Open | LinkState::Accepted) { StatusCode::OK } else { StatusCode::GONE };
    let page = LinkPage {
        layout: Layout::basic(visitor, format!("Your role: {}", link.role.name)),
        token,
        org_name: link.org_name,
        a: link.a,
        role: link.role,
        state: link.state,
    };
    (status, page).into_response()
}

async fn link_page(State(state): State<AppState>, visitor: Visitor, Segment(token): Segment) -> AppResult<Response> {
    let link = load_link(&state, &token).await?;
    Ok(link_view(&visitor, token, link))
}

async fn accept_by_link(State(state): State<AppState>, visitor: Visitor, Segment(token): Segment, headers: HeaderMap) -> AppResult<Response> {
    let link = load_link(&state, &token).await?;
    if link.state != LinkState::Open {
        return Ok(link_view(&visitor, token, link));
    }
    let actor = Actor {
        org_id: Some(link.org_id),
        user_id: None,
        label: format!("{} (personal link)", link.a.person_name),
        request_id: visitor.request_id.clone(),
    };
    let how = Acceptance {
        via: AcceptedVia::Link,
        client_addr: visitor.client_addr.clone(),
        user_agent: user_agent(&headers),
        token_hash: Some(crate::auth::session::hash_token(&token)),
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    model::accept(&mut tx, &actor, now, link.org_id, &link.a, &how).await?;
    tx.commit().await?;
    let a = Appointment { accepted_at: Some(now), accepted_via: Some(AcceptedVia::Link), accepted_from: Some(visitor.client_addr.clone()), ..link.a };
    Ok(link_view(&visitor, token, Link { a, state: LinkState::Accepted, ..link }))
}

// ---------- the RACI matrix ----------

#[derive(Deserialize, Default)]
struct MatrixQuery {
    #[serde(default)]
    edit: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "roles/raci.html")]
struct MatrixPage {
    layout: Layout,
    m: Matrix,
    row_problems: HashMap<RaciActivityId, String>,
    problem_count: usize,
    unheld: Vec<String>,
    editing: bool,
    can_manage: bool,
    letters: &'static [Letters],
}

impl MatrixPage {
    fn problem(&self, activity: &RaciActivityId) -> Option<&str> {
        self.row_problems.get(activity).map(String::as_str)
    }
    fn title_of(&self, activity: &RaciActivityId, role: &RoleId) -> &'static str {
        self.m.letters(activity, role).map(Letters::label).unwrap_or("")
    }
}

async fn matrix_page(State(state): State<AppState>, me: Member, Query(q): Query<MatrixQuery>) -> AppResult<MatrixPage> {
    let today = state.clock.now().date_naive();
    let m = raci::load(&state.db, me.org_id).await?;
    let appointments = model::appointments(&state.db, me.org_id).await?;
    let list = raci::problems(&m);
    let unheld = raci::unheld_roles(&m, &appointments, today).into_iter().map(|r| r.name.clone()).collect();
    let can_manage = me.can(Action::ManageRoles);
    Ok(MatrixPage {
        layout: Layout::build(&state.db, &me.visitor, "RACI matrix").await?,
        problem_count: list.len(),
        row_problems: list.into_iter().map(|p| (p.activity_id, p.message)).collect(),
        unheld,
        editing: can_manage && q.edit.is_some() && !m.activities.is_empty() && !m.roles.is_empty(),
        can_manage,
        letters: Letters::ALL,
        m,
    })
}

async fn raci_export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let m = raci::load(&state.db, me.org_id).await?;
    let list = raci::problems(&m);
    let mut header: Vec<&str> = vec!["activity"];
    header.extend(m.roles.iter().map(|r| r.name.as_str()));
    header.push("problem");
    let mut out = csv::row(&header);
    for a in &m.activities {
        let mut cells: Vec<String> = vec![a.name.clone()];
        cells.extend(m.roles.iter().map(|r| m.cell(&a.id, &r.id).to_string()));
        cells.push(list.iter().find(|p| p.activity_id == a.id).map(|p| p.message.clone()).unwrap_or_default());
        out.push_str(&csv::row(&cells));
    }
    Ok(csv::attachment("raci-matrix.csv", out))
}

fn cell_key(key: &str, prefix: &str) -> Option<(RaciActivityId, RoleId)> {
    let (a, r) = key.strip_prefix(prefix)?.split_once(':')?;
    Some((a.parse().ok()?, r.parse().ok()?))
}

/// The grid form posts `cell:<activity>:<role>` = letters for every cell,
/// and `was:<activity>:<role>` = the letters the page showed. A cell someone
/// else changed in the meantime is left as they set it.
async fn raci_save(State(state): State<AppState>, me: Member, Form(fields): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    raci::lock(&mut tx, me.org_id).await?;
    let before = raci::load(&state.db, me.org_id).await?;
    let shown: HashMap<(RaciActivityId, RoleId), &str> = fields.iter().filter_map(|(k, v)| Some((cell_key(k, "was:")?, v.trim()))).collect();
    let mut after = before.cells.clone();
    let mut overtaken = 0;
    for (key, value) in &fields {
        let Some((a, r)) = cell_key(key, "cell:") else { continue };
        // Only cells of this organisation's live matrix are taken.
        if !before.activities.iter().any(|x| x.id == a) || !before.roles.iter().any(|x| x.id == r) {
            continue;
        }
        let v = match value.trim().to_uppercase().as_str() {
            "" => None,
            l => Some(l.parse::<Letters>().map_err(|_| AppError::BadRequest(format!("\"{value}\" is not R, A, AR, C or I.")))?),
        };
        if let Some(was) = shown.get(&(a, r))
            && *was != before.cell(&a, &r)
        {
            if v != before.letters(&a, &r) {
                overtaken += 1;
            }
            continue;
        }
        match v {
            None => after.remove(&(a, r)),
            Some(l) => after.insert((a, r), l),
        };
    }
    let changed = raci::save_cells(&mut tx, &me.actor(), state.clock.now(), me.org_id, &before, &after).await?;
    tx.commit().await?;
    let check = Matrix { cells: after, ..before };
    let broken = raci::problems(&check).len();
    let mut flash = match (changed, broken) {
        (0, 0) => Flash::info("Nothing changed."),
        (_, 0) => Flash::success(format!("Saved {}. Every activity has exactly one accountable role.", crate::web::count(changed, "cell", "cells"))),
        (_, n) => Flash::info(format!(
            "Saved {}. {} exactly one A: see the notes in the matrix.",
            crate::web::count(changed, "cell", "cells"),
            crate::web::count(n, "activity row still needs", "activity rows still need")
        )),
    };
    if overtaken > 0 {
        flash = Flash::info(format!(
            "{} {} changed by someone else while you edited; their change was kept. Check them below.",
            flash.message,
            crate::web::count(overtaken, "cell was", "cells were")
        ));
    }
    Ok(redirect_with(&state, "/raci", flash))
}

#[derive(Deserialize)]
struct ActivityForm {
    #[serde(default)]
    name: String,
    /// "5.3(a)" or "5.3(b)" when the activity stands for that assignment.
    #[serde(default)]
    assignment: String,
}

async fn add_activity(State(state): State<AppState>, me: Member, Form(form): Form<ActivityForm>) -> AppResult<Response> {
    let name = parse_text(&form.name, "the activity", 200).map_err(AppError::BadRequest)?;
    let assignment = match form.assignment.trim() {
        "" => None,
        code => Some(model::Assignment::from_code(code).ok_or_else(|| AppError::BadRequest("Choose 5.3(a), 5.3(b) or neither.".into()))?),
    };
    let mut tx = state.db.begin().await?;
    raci::create_activity(&mut tx, &me.actor(), state.clock.now(), me.org_id, &name, assignment).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/raci?edit=1", Flash::success(format!("\"{name}\" was added. Now mark who does what."))))
}

async fn retire_activity(State(state): State<AppState>, me: Member, Id(id): Id<RaciActivityId>) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let name = raci::retire_activity(&mut tx, &me.actor(), state.clock.now(), me.org_id, id).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/raci", Flash::success(format!("\"{name}\" was removed from the matrix."))))
}

async fn add_starter_activities(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let roles = model::roles(&state.db, me.org_id).await?;
    let mut tx = state.db.begin().await?;
    let added = raci::add_starting_activities(&mut tx, &me.actor(), state.clock.now(), me.org_id, &roles).await?;
    tx.commit().await?;
    let flash = if added == 0 {
        Flash::info("The matrix already has every starting activity.")
    } else {
        Flash::success(format!("{added} starting activities were added, with a suggested split for the roles you have. Check them."))
    };
    Ok(redirect_with(&state, "/raci", flash))
}
