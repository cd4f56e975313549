//! The corrective-action pages: the list (open, accepted, resolved) with
//! its CSV, and a finding's page with the work written down, the risk
//! acceptance for top management and the history.
use super::model::*;
use crate::audit::{self, HistoryEntry};
use crate::auth::policy::{self, Action};
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::gaps::model::Gap;
use crate::ids::{FindingId, UserId};
use crate::leadership::{export_csv, page_status, text_of};
use crate::people::model as people;
use crate::state::AppState;
use crate::web::form::{parse_choice, parse_date, parse_optional, parse_text};
use crate::web::routes::Routes;
use crate::web::{FieldErrors, Id, Layout, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use crate::auth::passkeys::{self, Act, Binding, SignatureFields};

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Access::Member as AnyMember, Action::*};
    r.get("/findings", Can(ViewGaps), list_page)
        .get("/findings.csv", Can(ViewGaps), export)
        .get("/findings/{id}", Can(ViewGaps), show_page)
        .post("/findings/{id}", AnyMember, update)
        .post_step_up("/findings/{id}/accept", Can(SignPolicies), accept_risk)
        .post("/findings/{id}/accept/passkey-options", Can(SignPolicies), accept_options)
        .post_step_up("/findings/{id}/end-acceptance", Can(SignPolicies), withdraw_acceptance)
}

#[derive(Template, WebTemplate)]
#[template(path = "findings/list.html")]
struct ListPage {
    layout: Layout,
    today: NaiveDate,
    open: Vec<Finding>,
    accepted: Vec<Finding>,
    resolved: Vec<Finding>,
    /// Whether the tracker has caught up with the latest change.
    behind: bool,
}

async fn list_page(State(state): State<AppState>, me: Member) -> AppResult<ListPage> {
    let all = list(&state.db, me.org_id).await?;
    let (mut open, mut accepted, mut resolved) = (Vec::new(), Vec::new(), Vec::new());
    for f in all {
        match f.status {
            FindingStatus::Open => open.push(f),
            FindingStatus::Accepted => accepted.push(f),
            FindingStatus::Resolved => resolved.push(f),
        }
    }
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Corrective actions").await?,
        today: state.clock.now().date_naive(),
        behind: lags(&state, me.org_id).await?,
        open,
        accepted,
        resolved,
    })
}

/// Whether the organisation's findings do not yet reflect its latest change
/// (the tracker runs every few seconds).
async fn lags(state: &AppState, org_id: crate::ids::OrgId) -> AppResult<bool> {
    let version = audit::records_version(&state.db, org_id).await?;
    let synced = sqlx::query_scalar!("SELECT synced_version FROM finding_syncs WHERE org_id = $1", org_id.0).fetch_optional(&state.db).await?;
    Ok(synced != Some(version))
}

/// The CSV columns: the list and the evidence bundle's `corrective-actions.csv`.
pub const CSV_HEADER: &[&str] = &[
    "finding", "rule", "grade", "requirements", "status", "owner", "due_on", "cause", "action_taken", "first_opened_on", "opened_on", "times_reopened", "resolved_on",
    "cleared_by", "accepted_by", "accepted_until", "acceptance_reason",
];

/// One finding as CSV cells, in `CSV_HEADER`'s order.
pub fn csv_cells(f: &Finding) -> Vec<String> {
    vec![
        f.title.clone(),
        f.rule.clone(),
        f.severity.label().into(),
        f.requirements.join("; "),
        f.status.label().into(),
        f.owner_name.clone().unwrap_or_default(),
        text_of(f.due_on),
        f.cause.clone(),
        f.action_taken.clone(),
        f.first_opened_at.date_naive().to_string(),
        f.opened_on().to_string(),
        f.reopened_count.to_string(),
        if f.is_resolved() { text_of(f.resolved_on()) } else { String::new() },
        if f.is_resolved() { f.resolved_by.clone().unwrap_or_default() } else { String::new() },
        if f.is_accepted() { f.accepted_by_name.clone().unwrap_or_default() } else { String::new() },
        if f.is_accepted() { text_of(f.accepted_until) } else { String::new() },
        if f.is_accepted() { f.acceptance_reason.clone().unwrap_or_default() } else { String::new() },
    ]
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    Ok(export_csv("corrective-actions.csv", CSV_HEADER, state.db.clone(), me.org_id, stream, |f: Finding| csv_cells(&f)))
}

#[derive(Deserialize, Default, Clone)]
pub struct FindingForm {
    #[serde(default)]
    pub owner_id: String,
    #[serde(default)]
    pub due_on: String,
    #[serde(default)]
    pub cause: String,
    #[serde(default)]
    pub action_taken: String,
}

impl FindingForm {
    pub fn of(f: &Finding) -> Self {
        FindingForm { owner_id: text_of(f.owner_id), due_on: text_of(f.due_on), cause: f.cause.clone(), action_taken: f.action_taken.clone() }
    }
    pub fn parse(&self) -> Result<Fields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = Fields { owner_id: parse_choice(&self.owner_id).map(UserId), ..Default::default() };
        if f.owner_id.is_none() && !self.owner_id.trim().is_empty() {
            errors.add("owner_id", "Choose the owner from the list.");
        }
        match parse_date(&self.due_on, "the due date") {
            Ok(v) => f.due_on = v,
            Err(e) => errors.add("due_on", e),
        }
        match parse_optional(&self.cause, "the cause", 4000, true) {
            Ok(v) => f.cause = v,
            Err(e) => errors.add("cause", e),
        }
        match parse_optional(&self.action_taken, "the action taken", 4000, true) {
            Ok(v) => f.action_taken = v,
            Err(e) => errors.add("action_taken", e),
        }
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct AcceptForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    until: String,
    /// A passkey's signature of the acceptance (`auth::passkeys`).
    #[serde(flatten)]
    passkey: SignatureFields,
}

impl AcceptForm {
    fn parse(&self, today: NaiveDate) -> Result<Acceptance, FieldErrors> {
        let mut errors = FieldErrors::default();
        let reason = parse_text(&self.reason, "why top management accepts this risk", 2000).map_err(|e| errors.add("reason", e)).ok();
        let until = match parse_date(&self.until, "the last day of the acceptance") {
            Ok(Some(d)) if d < today => {
                errors.add("until", "The acceptance must run until today or a later day.");
                None
            }
            Ok(Some(d)) if d > today + Duration::days(MAX_ACCEPTANCE_DAYS) => {
                errors.add("until", format!("Accept a risk for at most a year (until {} at the latest); top management can accept it again then.", today + Duration::days(MAX_ACCEPTANCE_DAYS)));
                None
            }
            Ok(Some(d)) => Some(d),
            Ok(None) => {
                errors.add("until", "Enter the last day the acceptance holds: the finding returns after it.");
                None
            }
            Err(e) => {
                errors.add("until", e);
                None
            }
        };
        match (reason, until) {
            (Some(reason), Some(until)) if errors.is_empty() => Ok(Acceptance { reason, until }),
            _ => Err(errors),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "findings/show.html")]
struct ShowPage {
    layout: Layout,
    today: NaiveDate,
    finding: Finding,
    /// The rule's current report, while it fires.
    gap: Option<Gap>,
    form: FindingForm,
    errors: FieldErrors,
    accept_form: AcceptForm,
    accept_errors: FieldErrors,
    owners: Vec<OwnerChoice>,
    can_edit: bool,
    /// Whether the reader hands findings to owners.
    can_manage: bool,
    /// Whether the reader may accept (or end the acceptance of) this risk.
    can_accept: bool,
    /// A signing role outside the roster: why they cannot accept.
    accept_blocked: bool,
    /// The leader holds a passkey, so accepts with it.
    accept_with_passkey: bool,
    /// The statement the leader's passkey signed for the latest acceptance.
    passkey_statement: Option<String>,
    history: Vec<HistoryEntry>,
}

impl ShowPage {
    fn chosen_owner(&self, id: &UserId) -> bool {
        self.form.owner_id == id.to_string()
    }
}

/// What a page needs beyond the finding and its forms.
struct Forms {
    form: FindingForm,
    errors: FieldErrors,
    accept_form: AcceptForm,
    accept_errors: FieldErrors,
}

async fn show(state: &AppState, me: &Member, finding: Finding, forms: Forms) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let e = crate::gaps::evaluation(&state.db, &state.kept, me.org_id, today).await?;
    let gap = e.gaps.iter().find(|g| g.rule == finding.rule && g.subject == finding.subject).cloned();
    let top = people::person_of_user(&state.db, me.org_id, me.user_id).await?.is_some_and(|p| p.top_management);
    let can_accept = policy::may_accept_risk(me.role, top);
    let Forms { form, errors, accept_form, accept_errors } = forms;
    let status = page_status(&[&errors, &accept_errors]);
    let page = ShowPage {
        layout: Layout::build(&state.db, &me.visitor, finding.title.clone()).await?,
        owners: {
            let mut owners = owner_choices(&state.db, me.org_id).await?;
            // A current owner who can no longer own one stays selectable, so saving the cause keeps them.
            if let (Some(id), Some(name)) = (finding.owner_id, finding.owner_name.as_ref())
                && !owners.iter().any(|o| o.id == id)
            {
                owners.push(OwnerChoice { id, name: format!("{name} (no longer active)"), role: String::new() });
            }
            owners
        },
        can_edit: policy::may_edit_finding(me.role, finding.owner_id == Some(me.user_id)),
        can_manage: me.can(Action::ManageFindings),
        accept_blocked: me.can(Action::SignPolicies) && !can_accept,
        accept_with_passkey: can_accept && passkeys::holds(&state.db, me.user_id).await?,
        passkey_statement: passkeys::statement_of(&state.db, me.org_id, Act::RiskAcceptance, finding.id.0).await?,
        can_accept,
        history: audit::history(&state.db, me.org_id, "finding", finding.id, 50).await?,
        today,
        gap,
        finding,
        form,
        errors,
        accept_form,
        accept_errors,
    };
    Ok((status, page).into_response())
}

async fn show_page(State(state): State<AppState>, me: Member, Id(id): Id<FindingId>) -> AppResult<Response> {
    let f = get(&state.db, me.org_id, id).await?;
    let today = state.clock.now().date_naive();
    let forms = Forms {
        form: FindingForm::of(&f),
        errors: FieldErrors::default(),
        accept_form: AcceptForm { reason: String::new(), until: (today + Duration::days(90)).to_string(), passkey: SignatureFields::default() },
        accept_errors: FieldErrors::default(),
    };
    show(&state, &me, f, forms).await
}

/// Who may write a finding's corrective action (`policy::may_edit_finding`),
/// and, once the new fields are known, hand it to someone else: only those
/// who manage findings.
pub fn may_write(role: policy::Role, user_id: crate::ids::UserId, f: &Finding, new: Option<&Fields>) -> AppResult<()> {
    if !policy::may_edit_finding(role, f.owner_id == Some(user_id)) {
        return Err(AppError::Forbidden);
    }
    if new.is_some_and(|n| n.owner_id != f.owner_id) && !policy::allows(role, Action::ManageFindings) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

async fn update(State(state): State<AppState>, me: Member, Id(id): Id<FindingId>, Form(form): Form<FindingForm>) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, id).await?;
    let f = get(&mut *tx, me.org_id, id).await?;
    may_write(me.role, me.user_id, &f, None)?;
    let fields = match form.parse() {
        Ok(v) => v,
        Err(errors) => {
            drop(tx);
            let forms = Forms { form, errors, accept_form: AcceptForm::default(), accept_errors: FieldErrors::default() };
            return show(&state, &me, f, forms).await;
        }
    };
    may_write(me.role, me.user_id, &f, Some(&fields))?;
    if let Some(owner) = fields.owner_id.filter(|o| f.owner_id != Some(*o))
        && !may_own(&mut tx, me.org_id, owner).await?
    {
        drop(tx);
        let mut errors = FieldErrors::default();
        errors.add("owner_id", "The owner must be an active member who can act (not an auditor). Choose one from the list.");
        let forms = Forms { form, errors, accept_form: AcceptForm::default(), accept_errors: FieldErrors::default() };
        return show(&state, &me, f, forms).await;
    }
    let changed = save(&mut tx, &me.actor(), now, me.org_id, &f, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/findings/{id}"), crate::leadership::saved(changed)))
}

/// The leader signed in accepts the finding as a risk.
/// What a leader's passkey signs when accepting `f` as a risk: the
/// finding, until when, the SHA-256 of the reason, the leader and the time.
fn acceptance_lines(f: &Finding, a: &Acceptance) -> (String, String) {
    (format!("{} accepted as a risk until {}", f.title, a.until), hex::encode(<sha2::Sha256 as sha2::Digest>::digest(a.reason.as_bytes())))
}

fn acceptance_statement(me: &Member, f: &Finding, a: &Acceptance, leader: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let (what, sha) = acceptance_lines(f, a);
    passkeys::statement(me, Act::RiskAcceptance, f.id.0, &what, Some(&sha), leader, at)
}

/// Starts a passkey acceptance (static/app.js posts the form's reason and
/// day here first, when the leader holds a passkey).
async fn accept_options(State(state): State<AppState>, me: Member, Id(id): Id<FindingId>, Form(form): Form<AcceptForm>) -> AppResult<axum::Json<serde_json::Value>> {
    let now = state.clock.now();
    let f = get(&state.db, me.org_id, id).await?;
    let person = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
    if !policy::may_accept_risk(me.role, person.as_ref().is_some_and(|p| p.top_management)) {
        return Err(AppError::Forbidden);
    }
    // A form with mistakes is sent on without a signature, to show them.
    let acceptance = form.parse(now.date_naive()).map_err(|_| AppError::BadRequest("Correct the form first.".into()))?;
    let name = person.map(|p| p.name).unwrap_or_else(|| me.name.clone());
    let text = acceptance_statement(&me, &f, &acceptance, &name, now);
    passkeys::start_signature(&state, me.user_id, &text).await?.map(axum::Json).ok_or(AppError::NotFound)
}

async fn accept_risk(State(state): State<AppState>, me: Member, Id(id): Id<FindingId>, Form(form): Form<AcceptForm>) -> AppResult<Response> {
    let now = state.clock.now();
    get(&state.db, me.org_id, id).await?;
    let person = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
    if !policy::may_accept_risk(me.role, person.as_ref().is_some_and(|p| p.top_management)) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, id).await?;
    let f = get(&mut *tx, me.org_id, id).await?;
    let acceptance = match form.parse(now.date_naive()) {
        Ok(a) => a,
        Err(accept_errors) => {
            drop(tx);
            let forms = Forms { form: FindingForm::of(&f), errors: FieldErrors::default(), accept_form: form, accept_errors };
            return show(&state, &me, f, forms).await;
        }
    };
    let (what, sha) = acceptance_lines(&f, &acceptance);
    let lines = [Act::RiskAcceptance.record_line(id.0), format!("what: {what}"), format!("document sha-256: {sha}")];
    let bound = match passkeys::bind(&state, me.user_id, &form.passkey, &lines).await? {
        Binding::Bound(b) => Some(*b),
        Binding::NotHeld => None,
        Binding::Refused(why) => {
            drop(tx);
            let mut accept_errors = FieldErrors::default();
            accept_errors.add("reason", why);
            let forms = Forms { form: FindingForm::of(&f), errors: FieldErrors::default(), accept_form: form, accept_errors };
            return show(&state, &me, f, forms).await;
        }
    };
    let name = person.map(|p| p.name).unwrap_or_else(|| me.name.clone());
    accept(&mut tx, &me.actor(), now, me.org_id, &f, (me.user_id, &name), &acceptance).await?;
    if let Some(b) = &bound {
        passkeys::keep_signature(&mut tx, me.org_id, Act::RiskAcceptance, id.0, me.user_id, b, now).await?;
    }
    tx.commit().await?;
    let note = if bound.is_some() { " Your passkey signed the acceptance." } else { "" };
    let msg = format!("Accepted as a risk until {}. It is listed apart and returns as an open finding after that day.{note}", acceptance.until);
    Ok(redirect_with(&state, &format!("/findings/{id}"), Flash::success(msg)))
}

/// A member of top management ends an acceptance before its day.
async fn withdraw_acceptance(State(state): State<AppState>, me: Member, Id(id): Id<FindingId>) -> AppResult<Response> {
    let now = state.clock.now();
    get(&state.db, me.org_id, id).await?;
    let top = people::person_of_user(&state.db, me.org_id, me.user_id).await?.is_some_and(|p| p.top_management);
    if !policy::may_accept_risk(me.role, top) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, id).await?;
    let f = get(&mut *tx, me.org_id, id).await?;
    end_acceptance(&mut tx, &me.actor(), now, me.org_id, &f).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/findings/{id}"), Flash::success("The acceptance was withdrawn: the finding is open again.")))
}
