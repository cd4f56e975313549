//! Meeting and action-item pages: the handlers and their routes.
use super::model::*;
use crate::leadership::{Around, export_csv, page_status, person_names, saved, text_of, yes_no};
use crate::addenda::{self, Addendum};
use crate::audit::{self, HistoryEntry};
use crate::auth::policy::{self, Action, SignedRecord};
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::evidence::model::{self as evidence, Item, Pinned, Target, TargetKind};
use crate::ids::{ActionItemId, MeetingId, ObjectiveId, PersonId};
use crate::people::attribution::Signatory;
use crate::people::model::{self as people, Choice};
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
use chrono::NaiveDate;
use serde::Deserialize;
use crate::auth::passkeys::{self, Act, Binding, SignatureFields};

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/meetings", Can(ViewLeadership), list_page)
        .get("/meetings.csv", Can(ViewLeadership), export)
        .get("/meetings/new", Can(ManageLeadership), new_page)
        .post("/meetings", Can(ManageLeadership), create)
        .post("/meetings/cadence", Can(ManageLeadership), set_cadence)
        .get("/meetings/{id}", Can(ViewLeadership), meeting_page)
        .post("/meetings/{id}", Can(ManageLeadership), update)
        .post_step_up("/meetings/{id}/sign-off", Can(ViewLeadership), sign_off)
        .post("/meetings/{id}/sign-off/passkey-options", Can(ViewLeadership), sign_off_options)
        .post_step_up("/meetings/{id}/paper", Can(ViewLeadership), record_paper)
        .post("/meetings/{id}/addenda", Can(ViewLeadership), add_addendum)
        .post("/meetings/{id}/actions", Can(ManageLeadership), add_action)
        .get("/actions", Can(ViewLeadership), actions_page)
        .get("/actions.csv", Can(ViewLeadership), actions_export)
        .get("/actions/{id}", Can(ViewLeadership), action_page)
        .post("/actions/{id}", Can(ManageLeadership), update_action)
}

#[derive(Deserialize)]
struct CadenceForm {
    #[serde(default)]
    months: String,
}

/// How often management reviews are due (at least yearly).
async fn set_cadence(State(state): State<AppState>, me: Member, Form(form): Form<CadenceForm>) -> AppResult<Response> {
    let months: i32 = match form.months.trim().parse() {
        Ok(m) if (1..=12).contains(&m) => m,
        _ => return Err(AppError::BadRequest("Choose a cadence from monthly to yearly: clause 9.3 expects at least one review a year.".into())),
    };
    let mut tx = state.db.begin().await?;
    super::model::set_cadence(&mut tx, &me.actor(), state.clock.now(), me.org_id, months).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/meetings", Flash::success(format!("Management reviews are now due every {}.", crate::web::count(months, "month", "months")))))
}

// ---------- pages ----------

#[derive(Template, WebTemplate)]
#[template(path = "leadership/meetings.html")]
struct ListPage {
    layout: Layout,
    meetings: Vec<Meeting>,
    overdue_actions: Vec<ActionItem>,
    cadence: i32,
    next_due: NaiveDate,
    last_review: Option<NaiveDate>,
    today: NaiveDate,
    can_manage: bool,
}

async fn list_page(State(state): State<AppState>, me: Member) -> AppResult<ListPage> {
    let today = state.clock.now().date_naive();
    let meetings = list(&state.db, me.org_id).await?;
    let cadence = cadence(&state.db, me.org_id).await?;
    let last_review = meetings.iter().filter(|m| m.kind() == MeetingKind::ManagementReview).filter_map(|m| m.held_on).filter(|d| *d <= today).max();
    let overdue_actions = actions(&state.db, me.org_id, None).await?.into_iter().filter(|a| a.overdue(today)).collect();
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Meetings").await?,
        next_due: next_review_due(last_review, cadence, today),
        last_review,
        meetings,
        overdue_actions,
        cadence,
        today,
        can_manage: me.can(Action::ManageLeadership),
    })
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let names = person_names(&state.db, me.org_id).await?;
    Ok(export_csv(
        "meetings.csv",
        &[
            "title",
            "kind",
            "planned_on",
            "held_on",
            "chair",
            "attendees",
            "top_management_present",
            "inputs_covered",
            "minutes",
            "decisions",
            "signed_off_by",
            "signed_off_title",
            "signed_off_account",
            "signed_off_at",
            "open_actions",
            "evidence",
            "addenda",
        ],
        state.db.clone(),
        me.org_id,
        stream,
        move |m: Meeting| {
            let mut attendees: Vec<&str> = m.attendee_ids.iter().filter_map(|id| names.get(id).map(String::as_str)).collect();
            attendees.sort_unstable();
            vec![
                m.title.clone(),
                m.kind().label().into(),
                m.planned_on.map(|d| d.to_string()).unwrap_or_default(),
                m.held_on.map(|d| d.to_string()).unwrap_or_default(),
                m.chair_name.clone().unwrap_or_default(),
                attendees.join("; "),
                yes_no(m.top_attendees > 0),
                m.inputs.join("; "),
                m.minutes.clone(),
                m.decisions.clone(),
                m.signed_off_name.clone().unwrap_or_default(),
                m.signed_off_title.clone().unwrap_or_default(),
                m.signed_off_via().words(),
                m.signed_off_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                m.open_actions.to_string(),
                m.evidence.join("; "),
                m.addenda.join("\n"),
            ]
        },
    ))
}

/// The meeting form as typed.
#[derive(Debug, Default, Clone)]
pub struct MeetingForm {
    kind: String,
    title: String,
    planned_on: String,
    held_on: String,
    chair_id: String,
    attendees: Vec<String>,
    /// Others present, typed one a line (a name or an e-mail address).
    attendees_more: String,
    inputs: Vec<String>,
    objectives: Vec<String>,
    minutes: String,
    decisions: String,
}

/// How many others present one save may name by typing.
const MORE_ATTENDEES: usize = 100;

impl MeetingForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let one = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        let many = |k: &str| pairs.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect();
        MeetingForm {
            kind: one("kind"),
            title: one("title"),
            planned_on: one("planned_on"),
            held_on: one("held_on"),
            chair_id: one("chair_id"),
            attendees: many("attendees"),
            attendees_more: one("attendees_more"),
            inputs: many("inputs"),
            objectives: many("objectives"),
            minutes: one("minutes"),
            decisions: one("decisions"),
        }
    }

    fn from_meeting(m: &Meeting) -> Self {
        MeetingForm {
            kind: m.kind.as_str().into(),
            title: m.title.clone(),
            planned_on: text_of(m.planned_on),
            held_on: text_of(m.held_on),
            chair_id: text_of(m.chair_id),
            attendees: m.attendee_ids.iter().map(PersonId::to_string).collect(),
            attendees_more: String::new(),
            inputs: m.inputs.clone(),
            objectives: m.objective_ids.iter().map(ObjectiveId::to_string).collect(),
            minutes: m.minutes.clone(),
            decisions: m.decisions.clone(),
        }
    }

    /// Finds the chair and the others present that were typed: those found
    /// join the attendees; anyone not found stays typed, with why.
    async fn pick(&mut self, state: &AppState, org_id: crate::ids::OrgId, today: NaiveDate) -> AppResult<FieldErrors> {
        let mut more: Vec<String> = self.attendees_more.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
        if more.len() > MORE_ATTENDEES {
            let mut errors = FieldErrors::default();
            errors.add("attendees_more", format!("Name at most {MORE_ATTENDEES} others a time; save, then add the rest."));
            return Ok(errors);
        }
        let mut fields = vec![("chair_id", &mut self.chair_id)];
        fields.extend(more.iter_mut().map(|l| ("attendees_more", l)));
        let errors = pick::resolve(&state.db, org_id, today, fields).await?;
        if errors.get("attendees_more").is_none() {
            self.attendees.append(&mut more);
            self.attendees_more.clear();
        }
        Ok(errors)
    }

    fn parse(&self, today: NaiveDate) -> Result<MeetingFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = MeetingFields { kind: self.kind.parse().ok(), ..Default::default() };
        if f.kind.is_none() {
            errors.add("kind", "Choose what kind of meeting it is.");
        }
        match parse_text(&self.title, "a title", 200) {
            Ok(v) => f.title = v,
            Err(e) => errors.add("title", e),
        }
        match parse_date(&self.planned_on, "the planned date") {
            Ok(v) => f.planned_on = v,
            Err(e) => errors.add("planned_on", e),
        }
        match parse_date(&self.held_on, "the date it was held") {
            Ok(Some(d)) if d > today => errors.add("held_on", "A meeting cannot have been held in the future. Use the planned date for that."),
            Ok(v) => f.held_on = v,
            Err(e) => errors.add("held_on", e),
        }
        if f.planned_on.is_none() && f.held_on.is_none() && errors.get("held_on").is_none() {
            errors.add("planned_on", "Give the planned date, or the date it was held.");
        }
        f.chair_id = parse_choice(&self.chair_id).map(PersonId);
        f.attendee_ids = self.attendees.iter().filter_map(|a| parse_choice(a)).map(PersonId).collect();
        f.attendee_ids.sort();
        f.attendee_ids.dedup();
        f.inputs = INPUTS.iter().map(|(k, _)| k.to_string()).filter(|k| self.inputs.contains(k)).collect();
        f.objective_ids = self.objectives.iter().filter_map(|o| parse_choice(o)).map(ObjectiveId).collect();
        f.objective_ids.sort();
        f.objective_ids.dedup();
        match parse_optional(&self.minutes, "the minutes", 100_000, true) {
            Ok(v) => f.minutes = v,
            Err(e) => errors.add("minutes", e),
        }
        match parse_optional(&self.decisions, "the decisions", 20_000, true) {
            Ok(v) => f.decisions = v,
            Err(e) => errors.add("decisions", e),
        }
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/meeting.html")]
struct MeetingPage {
    layout: Layout,
    meeting: Option<Meeting>,
    form: MeetingForm,
    errors: FieldErrors,
    people: Vec<Choice>,
    objectives: Vec<ObjectiveChoice>,
    actions: Vec<ActionItem>,
    evidence: Vec<Item>,
    /// For a signed-off meeting: the evidence it was signed with.
    pinned: Vec<Pinned>,
    addenda: Vec<Addendum>,
    addendum: addenda::Form,
    addendum_errors: FieldErrors,
    can_add_addendum: bool,
    history: Vec<HistoryEntry>,
    kinds: Vec<MeetingKind>,
    inputs: Vec<(&'static str, &'static str)>,
    action_errors: FieldErrors,
    can_manage: bool,
    can_sign: bool,
    /// The chair holds a passkey, so signs off with it.
    sign_with_passkey: bool,
    /// The statement the chair's passkey signed, for minutes signed off with one.
    passkey_statement: Option<String>,
    sign_blocker: Option<&'static str>,
    /// Offered to a member of top management, signed in as themselves, for
    /// a held meeting whose minutes are not signed off in Mandate.
    can_record_paper: bool,
    paper: PaperDraft,
    can_upload: bool,
    today: NaiveDate,
}

impl MeetingPage {
    /// The edit form shows to managers until the minutes are signed off.
    fn editable(&self) -> bool {
        self.can_manage && !self.meeting.as_ref().is_some_and(Meeting::is_signed)
    }
    /// The form's second step (who was there, inputs, minutes, decisions)
    /// opens once the meeting is held, or anything of it is filled in or refused.
    fn held_step_open(&self) -> bool {
        let f = &self.form;
        !f.held_on.trim().is_empty()
            || !f.attendees.is_empty()
            || !f.inputs.is_empty()
            || !f.objectives.is_empty()
            || !f.minutes.trim().is_empty()
            || !f.decisions.trim().is_empty()
            || ["attendees", "inputs", "objectives", "minutes", "decisions"].iter().any(|k| self.errors.get(k).is_some())
    }
    fn attends(&self, id: &impl ToString) -> bool {
        self.form.attendees.contains(&id.to_string())
    }
    fn covered(&self, key: &str) -> bool {
        self.form.inputs.iter().any(|i| i == key)
    }
    fn reviewed(&self, id: &ObjectiveId) -> bool {
        self.form.objectives.contains(&id.to_string())
    }
    /// Who was present, by name.
    fn present(&self) -> Vec<String> {
        let ids = self.meeting.as_ref().map(|m| m.attendee_ids.as_slice()).unwrap_or_default();
        let mut names: Vec<String> =
            ids.iter().map(|id| self.people.iter().find(|p| p.id == *id).map(Choice::label).unwrap_or_else(|| "(not in the directory)".into())).collect();
        names.sort();
        names
    }
    fn objective_title(&self, id: &ObjectiveId) -> String {
        self.objectives.iter().find(|o| o.id == *id).map(|o| o.title.clone()).unwrap_or_default()
    }
}

/// An addendum typed but refused, to show again with its error.
#[derive(Default)]
struct AddendumDraft {
    form: addenda::Form,
    errors: FieldErrors,
}

/// Minutes signed off on paper, as the form sends them.
#[derive(Debug, Default, Deserialize)]
struct PaperForm {
    #[serde(default)]
    signed_on: String,
}

/// A paper sign-off typed but refused, to show again with its error.
#[derive(Default)]
struct PaperDraft {
    form: PaperForm,
    errors: FieldErrors,
}

/// What the meeting page shows again after a refused addendum or paper sign-off.
#[derive(Default)]
struct Drafts {
    addendum: AddendumDraft,
    paper: PaperDraft,
}

async fn meeting_view(
    state: &AppState,
    me: &Member,
    meeting: Option<Meeting>,
    form: MeetingForm,
    errors: FieldErrors,
    action_errors: FieldErrors,
) -> AppResult<Response> {
    meeting_view_with(state, me, meeting, form, errors, action_errors, Drafts::default()).await
}

/// Whether `me` may add an addendum to a signed-off meeting: those who keep
/// leadership records, and the chair who signed it off, as themselves.
fn may_add_addendum(me: &Member, m: &Meeting, me_person: Option<&people::Person>) -> bool {
    let is_chair = me_person.is_some_and(|p| Some(p.id) == m.chair_id);
    m.is_signed() && policy::may_add_addendum(me.role, SignedRecord::Meeting, is_chair)
}

async fn meeting_view_with(
    state: &AppState,
    me: &Member,
    meeting: Option<Meeting>,
    form: MeetingForm,
    errors: FieldErrors,
    action_errors: FieldErrors,
    drafts: Drafts,
) -> AppResult<Response> {
    let Drafts { addendum, paper } = drafts;
    let today = state.clock.now().date_naive();
    let (actions, evidence, pinned, addenda, can_add_addendum, history, can_sign, can_record_paper) = match &meeting {
        Some(m) => {
            let me_person = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
            let can_add_addendum = may_add_addendum(me, m, me_person.as_ref());
            let can_record_paper = policy::may_record_paper_signature(me.role, me_person.as_ref().is_some_and(|p| p.top_management))
                && !m.is_signed()
                && m.held_on.is_some();
            let is_chair = me_person.is_some_and(|p| Some(p.id) == m.chair_id);
            let target = Target { kind: TargetKind::Meeting, id: m.id.0 };
            // Signed off: what it was signed with, whatever came later.
            let (evidence, pinned) = if m.is_signed() {
                (Vec::new(), evidence::pinned(&state.db, me.org_id, target).await?)
            } else {
                (evidence::for_target(&state.db, me.org_id, target).await?, Vec::new())
            };
            (
                actions(&state.db, me.org_id, Some(m.id)).await?,
                evidence,
                pinned,
                addenda::of(&state.db, me.org_id, SignedRecord::Meeting, m.id.0).await?,
                can_add_addendum,
                audit::history(&state.db, me.org_id, "meeting", m.id.0, 30).await?,
                policy::may_act_as_person(me.role, is_chair) && !m.is_signed(),
                can_record_paper,
            )
        }
        None => (Vec::new(), Vec::new(), Vec::new(), Vec::new(), false, Vec::new(), false, false),
    };
    let keep = pick::ids(form.attendees.iter().map(String::as_str).chain([form.chair_id.as_str()]));
    let objectives = objective_choices(&state.db, me.org_id).await?;
    let status = page_status(&[&errors, &action_errors, &addendum.errors, &paper.errors]);
    let title = meeting.as_ref().map(|m| m.title.clone()).unwrap_or_else(|| "Record a meeting".into());
    let page = MeetingPage {
        layout: Layout::build(&state.db, &me.visitor, title).await?,
        sign_blocker: meeting.as_ref().and_then(sign_off_blocker),
        people: pick::choices(&state.db, me.org_id, today, &keep).await?,
        objectives,
        actions,
        evidence,
        pinned,
        addenda,
        addendum: addendum.form,
        addendum_errors: addendum.errors,
        can_add_addendum,
        history,
        kinds: MeetingKind::ALL.to_vec(),
        inputs: INPUTS.to_vec(),
        can_manage: me.can(Action::ManageLeadership),
        can_upload: me.can(Action::UploadEvidence),
        sign_with_passkey: can_sign && passkeys::holds(&state.db, me.user_id).await?,
        passkey_statement: match meeting.as_ref().filter(|m| m.is_signed()) {
            Some(m) => passkeys::statement_of(&state.db, me.org_id, Act::Meeting, m.id.0).await?,
            None => None,
        },
        can_sign,
        can_record_paper,
        paper,
        meeting,
        form,
        errors,
        action_errors,
        today,
    };
    Ok((status, page).into_response())
}

/// What a link may fill in beforehand (a finding's fix): the kind and the chair.
#[derive(Deserialize, Default)]
pub struct Prefill {
    kind: Option<String>,
    chair: Option<String>,
}

async fn new_page(State(state): State<AppState>, me: Member, axum::extract::Query(pre): axum::extract::Query<Prefill>) -> AppResult<Response> {
    let kind = pre.kind.and_then(|k| k.parse::<MeetingKind>().ok()).unwrap_or(MeetingKind::ManagementReview);
    let form = MeetingForm { kind: kind.as_str().into(), chair_id: pre.chair.unwrap_or_default(), ..Default::default() };
    meeting_view(&state, &me, None, form, FieldErrors::default(), FieldErrors::default()).await
}

async fn meeting_page(State(state): State<AppState>, me: Member, Id(id): Id<MeetingId>) -> AppResult<Response> {
    let m = get(&state.db, me.org_id, id).await?;
    let form = MeetingForm::from_meeting(&m);
    meeting_view(&state, &me, Some(m), form, FieldErrors::default(), FieldErrors::default()).await
}

async fn create(State(state): State<AppState>, me: Member, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let mut form = MeetingForm::from_pairs(&pairs);
    let today = state.clock.now().date_naive();
    let picked = form.pick(&state, me.org_id, today).await?;
    let fields = match pick::merged(picked, form.parse(today)) {
        Ok(f) => f,
        Err(errors) => {
            return meeting_view(&state, &me, None, form, errors, FieldErrors::default()).await;
        }
    };
    let mut tx = state.db.begin().await?;
    let id = insert(&mut tx, &me.actor(), state.clock.now(), me.org_id, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/meetings/{id}"), Flash::success(format!("{} was recorded.", fields.title))))
}

async fn update(State(state): State<AppState>, me: Member, Id(id): Id<MeetingId>, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let mut form = MeetingForm::from_pairs(&pairs);
    let today = state.clock.now().date_naive();
    let picked = form.pick(&state, me.org_id, today).await?;
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, id).await?;
    let m = get(&mut *tx, me.org_id, id).await?;
    if m.is_signed() {
        return Err(AppError::Conflict(FINAL.into()));
    }
    let fields = match pick::merged(picked, form.parse(today)) {
        Ok(f) => f,
        Err(errors) => {
            drop(tx);
            return meeting_view(&state, &me, Some(m), form, errors, FieldErrors::default()).await;
        }
    };
    let changed = save(&mut tx, &me.actor(), state.clock.now(), me.org_id, &m, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/meetings/{id}"), saved(changed)))
}

/// The statement a chair's passkey signs for these minutes, now.
fn minutes_statement(me: &Member, m: &Meeting, chair: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let what = format!("{}, held {}", m.title, m.held_on.map(|d| d.to_string()).unwrap_or_default());
    passkeys::statement(me, Act::Meeting, m.id.0, &what, Some(&minutes_sha(m)), chair, at)
}

/// The SHA-256 of the minutes' text, what a passkey sign-off names.
fn minutes_sha(m: &Meeting) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(m.minutes.as_bytes()))
}

/// The chair, signed in as themselves, for a meeting they may sign off.
async fn chair_of(state: &AppState, me: &Member, m: &Meeting) -> AppResult<crate::people::model::Person> {
    let person = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
    person.filter(|p| Some(p.id) == m.chair_id && policy::may_act_as_person(me.role, true)).ok_or(AppError::Forbidden)
}

/// Starts a passkey sign-off (static/app.js asks for it when the chair holds a passkey).
async fn sign_off_options(State(state): State<AppState>, me: Member, Id(id): Id<MeetingId>) -> AppResult<axum::Json<serde_json::Value>> {
    let m = get(&state.db, me.org_id, id).await?;
    let chair = chair_of(&state, &me, &m).await?;
    if m.is_signed() {
        return Err(AppError::Conflict("The minutes are already signed off.".into()));
    }
    let text = minutes_statement(&me, &m, &chair.name, state.clock.now());
    passkeys::start_signature(&state, me.user_id, &text).await?.map(axum::Json).ok_or(AppError::NotFound)
}

async fn sign_off(State(state): State<AppState>, me: Member, Id(id): Id<MeetingId>, Form(form): Form<SignatureFields>) -> AppResult<Response> {
    let m = get(&state.db, me.org_id, id).await?;
    let chair = chair_of(&state, &me, &m).await?;
    let lines = [Act::Meeting.record_line(id.0), format!("document sha-256: {}", minutes_sha(&m))];
    let bound = match passkeys::bind(&state, me.user_id, &form, &lines).await? {
        Binding::Bound(b) => Some(*b),
        Binding::NotHeld => None,
        Binding::Refused(why) => return Ok(redirect_with(&state, &format!("/meetings/{id}"), Flash::error(why))),
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sign(&mut tx, &me.actor(), now, me.org_id, &m, &Signatory::of(&chair)).await?;
    if let Some(b) = &bound {
        passkeys::keep_signature(&mut tx, me.org_id, Act::Meeting, id.0, me.user_id, b, now).await?;
    }
    tx.commit().await?;
    let bound_note = if bound.is_some() { " Your passkey signed the minutes too: anyone can check that signature in the evidence bundle." } else { "" };
    Ok(redirect_with(
        &state,
        &format!("/meetings/{id}"),
        Flash::success(format!("You signed the minutes off. The meeting record is now final; follow-up goes into its action items.{bound_note}")),
    ))
}

/// Minutes the chair signed off on paper before Mandate, on a past day:
/// recorded by a member of top management signed in as themselves (another
/// tenant's meeting still answers 404 first), marked everywhere as signed
/// on paper, by which account and when.
async fn record_paper(State(state): State<AppState>, me: Member, Id(id): Id<MeetingId>, Form(form): Form<PaperForm>) -> AppResult<Response> {
    let now = state.clock.now();
    get(&state.db, me.org_id, id).await?;
    let me_person = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
    if !policy::may_record_paper_signature(me.role, me_person.as_ref().is_some_and(|p| p.top_management)) {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::default();
    let day = match crate::web::form::parse_date(&form.signed_on, "the day the minutes were signed off") {
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            errors.add("signed_on", "Enter the day the chair signed the minutes off on paper.");
            None
        }
        Err(e) => {
            errors.add("signed_on", e);
            None
        }
    };
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, id).await?;
    let m = get(&mut *tx, me.org_id, id).await?;
    if let Some(day) = day {
        match record_paper_sign_off(&mut tx, &me.actor(), now, me.org_id, &m, day, me.user_id).await {
            Ok(()) => {
                tx.commit().await?;
                let msg = format!(
                    "Recorded: the minutes were signed off on paper on {day}. They count from that day, show as signed on paper and recorded by you, and the record is now final."
                );
                return Ok(redirect_with(&state, &format!("/meetings/{id}"), Flash::success(msg)));
            }
            Err(AppError::Conflict(why)) => errors.add("signed_on", why),
            Err(e) => return Err(e),
        }
    }
    drop(tx);
    let mf = MeetingForm::from_meeting(&m);
    meeting_view_with(&state, &me, Some(m), mf, FieldErrors::default(), FieldErrors::default(), Drafts { paper: PaperDraft { form, errors }, ..Default::default() }).await
}

/// A correction to signed-off minutes: a dated note under the record.
async fn add_addendum(State(state): State<AppState>, me: Member, Id(id): Id<MeetingId>, Form(form): Form<addenda::Form>) -> AppResult<Response> {
    let m = get(&state.db, me.org_id, id).await?;
    let person = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
    let is_chair = person.as_ref().is_some_and(|p| Some(p.id) == m.chair_id);
    if !policy::may_add_addendum(me.role, SignedRecord::Meeting, is_chair) {
        return Err(AppError::Forbidden);
    }
    if !m.is_signed() {
        return Err(AppError::Conflict("These minutes are not signed off yet: correct the record itself. Addenda are for signed-off minutes.".into()));
    }
    let body = match form.parse() {
        Ok(b) => b,
        Err(e) => {
            let mut errors = FieldErrors::default();
            errors.add("addendum", e);
            let mf = MeetingForm::from_meeting(&m);
            return meeting_view_with(&state, &me, Some(m), mf, FieldErrors::default(), FieldErrors::default(), Drafts { addendum: AddendumDraft { form, errors }, ..Default::default() }).await;
        }
    };
    let mut tx = state.db.begin().await?;
    addenda::add(&mut tx, &me.actor(), state.clock.now(), me.org_id, SignedRecord::Meeting, m.id.0, &addenda::Author::of(&me, person.as_ref()), &body).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/meetings/{id}"), Flash::success("Your addendum was added under the signed-off minutes. It is dated and can never be changed.")))
}

/// The action-item form as typed.
#[derive(serde::Deserialize, Default, Clone)]
pub struct ActionForm {
    #[serde(default, rename = "action_title")]
    title: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    due_on: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    closing_note: String,
}

impl ActionForm {
    fn parse(&self) -> Result<ActionFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = parse_text(&self.title, "what is to be done", 300).map_err(|e| errors.add("action_title", e)).unwrap_or_default();
        let due_on = parse_date(&self.due_on, "the due date").map_err(|e| errors.add("due_on", e)).ok().flatten();
        let status = self.status.parse().unwrap_or(ActionStatus::Open);
        let closing_note = parse_optional(&self.closing_note, "the closing note", 4000, true).map_err(|e| errors.add("closing_note", e)).unwrap_or_default();
        if status != ActionStatus::Open && closing_note.is_empty() {
            errors.add("closing_note", "Say how it was closed: the auditor will ask.");
        }
        if errors.is_empty() { Ok(ActionFields { title, owner_id: parse_choice(&self.owner_id).map(PersonId), due_on, status, closing_note }) } else { Err(errors) }
    }
}

async fn add_action(State(state): State<AppState>, me: Member, Id(id): Id<MeetingId>, Form(mut form): Form<ActionForm>) -> AppResult<Response> {
    let m = get(&state.db, me.org_id, id).await?;
    let picked = pick::resolve(&state.db, me.org_id, state.clock.now().date_naive(), vec![("owner_id", &mut form.owner_id)]).await?;
    let fields = match pick::merged(picked, form.parse()) {
        Ok(f) => f,
        Err(errors) => {
            let mf = MeetingForm::from_meeting(&m);
            return meeting_view(&state, &me, Some(m), mf, FieldErrors::default(), errors).await;
        }
    };
    let mut tx = state.db.begin().await?;
    insert_action(&mut tx, &me.actor(), state.clock.now(), me.org_id, m.id, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/meetings/{id}"), Flash::success(format!("Action \"{}\" was added.", fields.title))))
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/actions.html")]
struct ActionsPage {
    layout: Layout,
    actions: Vec<ActionItem>,
    today: NaiveDate,
}

async fn actions_page(State(state): State<AppState>, me: Member) -> AppResult<ActionsPage> {
    Ok(ActionsPage {
        layout: Layout::build(&state.db, &me.visitor, "Action items").await?,
        actions: actions(&state.db, me.org_id, None).await?,
        today: state.clock.now().date_naive(),
    })
}

async fn actions_export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    Ok(export_csv(
        "action-items.csv",
        &["title", "meeting", "owner", "due_on", "status", "overdue", "closing_note", "closed_at"],
        state.db.clone(),
        me.org_id,
        actions_stream,
        move |a: ActionItem| {
            vec![
                a.title.clone(),
                a.meeting_title.clone().unwrap_or_default(),
                a.owner_name.clone().unwrap_or_default(),
                a.due_on.map(|d| d.to_string()).unwrap_or_default(),
                a.status().label().into(),
                yes_no(a.overdue(today)),
                a.closing_note.clone(),
                a.closed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ]
        },
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/action.html")]
struct ActionPage {
    layout: Layout,
    action: ActionItem,
    form: ActionForm,
    errors: FieldErrors,
    people: Vec<Choice>,
    statuses: Vec<ActionStatus>,
    evidence: Vec<Item>,
    history: Vec<HistoryEntry>,
    can_manage: bool,
    can_upload: bool,
    today: NaiveDate,
}

async fn action_view(state: &AppState, me: &Member, action: ActionItem, form: ActionForm, errors: FieldErrors) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let keep = pick::ids([form.owner_id.as_str()]);
    let status = page_status(&[&errors]);
    let Around { evidence, history, can_manage, can_upload } = Around::load(state, me, Some((TargetKind::ActionItem, "action_item", action.id.0))).await?;
    let page = ActionPage {
        layout: Layout::build(&state.db, &me.visitor, action.title.clone()).await?,
        people: pick::choices(&state.db, me.org_id, today, &keep).await?,
        statuses: ActionStatus::ALL.to_vec(),
        evidence,
        history,
        can_manage,
        can_upload,
        action,
        form,
        errors,
        today,
    };
    Ok((status, page).into_response())
}

fn action_form(a: &ActionItem) -> ActionForm {
    ActionForm {
        title: a.title.clone(),
        owner_id: text_of(a.owner_id),
        due_on: text_of(a.due_on),
        status: a.status.as_str().into(),
        closing_note: a.closing_note.clone(),
    }
}

async fn action_page(State(state): State<AppState>, me: Member, Id(id): Id<ActionItemId>) -> AppResult<Response> {
    let a = action(&state.db, me.org_id, id).await?;
    let form = action_form(&a);
    action_view(&state, &me, a, form, FieldErrors::default()).await
}

async fn update_action(State(state): State<AppState>, me: Member, Id(id): Id<ActionItemId>, Form(mut form): Form<ActionForm>) -> AppResult<Response> {
    let picked = pick::resolve(&state.db, me.org_id, state.clock.now().date_naive(), vec![("owner_id", &mut form.owner_id)]).await?;
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, id).await?;
    let a = action(&mut *tx, me.org_id, id).await?;
    let fields = match pick::merged(picked, form.parse()) {
        Ok(f) => f,
        Err(errors) => {
            drop(tx);
            return action_view(&state, &me, a, form, errors).await;
        }
    };
    let changed = save_action(&mut tx, &me.actor(), state.clock.now(), me.org_id, &a, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/actions/{id}"), saved(changed)))
}
