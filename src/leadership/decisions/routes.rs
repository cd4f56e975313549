//! Resource decision pages: the handlers and their routes.
use super::model::*;
use crate::audit::HistoryEntry;
use crate::auth::policy::Action;
use crate::auth::session::Member;
use crate::error::AppResult;
use crate::evidence::model::{Item, TargetKind};
use crate::ids::{OrgId, DecisionId, MeetingId, ObjectiveId, PersonId, RequirementId};
use crate::audit::Actor;
use crate::leadership::{Around, Opt, RecordPages, create, export_csv, maybe_yes_no, page_status, show_page, text_of, update};
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
    r.get("/decisions", Can(ViewLeadership), list_page)
        .get("/decisions.csv", Can(ViewLeadership), export)
        .get("/decisions/new", Can(ManageLeadership), new_page)
        .post("/decisions", Can(ManageLeadership), create::<Decision>)
        .get("/decisions/{id}", Can(ViewLeadership), show_page::<Decision>)
        .post("/decisions/{id}", Can(ManageLeadership), update::<Decision>)
}

#[derive(Deserialize, Default, Clone)]
pub struct DecisionForm {
    #[serde(default)]
    what: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    objective_id: String,
    #[serde(default)]
    requirement_id: String,
    #[serde(default)]
    asked_by: String,
    #[serde(default)]
    asked_on: String,
    #[serde(default)]
    decided_by: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    decided_on: String,
    #[serde(default)]
    meeting_id: String,
}

impl DecisionForm {
    fn from_decision(d: &Decision) -> Self {
        DecisionForm {
            what: d.what.as_str().into(),
            title: d.title.clone(),
            amount: d.amount.map(|a| format!("{a:.2}")).unwrap_or_default(),
            currency: d.currency.clone().unwrap_or_default(),
            reason: d.reason.clone(),
            objective_id: text_of(d.objective_id),
            requirement_id: text_of(d.requirement_id),
            asked_by: text_of(d.asked_by),
            asked_on: text_of(d.asked_on),
            decided_by: text_of(d.decided_by),
            decision: d.decision.as_str().into(),
            decided_on: text_of(d.decided_on),
            meeting_id: text_of(d.meeting_id),
        }
    }

    fn parse(&self, today: NaiveDate) -> Result<Fields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = Fields {
            what: self.what.parse().unwrap_or_default(),
            decision: self.decision.parse().unwrap_or_default(),
            objective_id: parse_choice(&self.objective_id).map(ObjectiveId),
            requirement_id: parse_choice(&self.requirement_id).map(RequirementId),
            asked_by: parse_choice(&self.asked_by).map(PersonId),
            decided_by: parse_choice(&self.decided_by).map(PersonId),
            meeting_id: parse_choice(&self.meeting_id).map(MeetingId),
            ..Default::default()
        };
        match parse_text(&self.title, "what was asked for", 300) {
            Ok(v) => f.title = v,
            Err(e) => errors.add("title", e),
        }
        match parse_amount(&self.amount) {
            _ if self.amount.trim().is_empty() => {}
            Some(a) => f.amount = Some(a),
            None => errors.add("amount", "Enter the amount as a number, like 12500 or 12500.50."),
        }
        let currency = self.currency.trim().to_uppercase();
        if !currency.is_empty() {
            if currency.len() == 3 && currency.chars().all(|c| c.is_ascii_alphabetic()) {
                f.currency = Some(currency);
            } else {
                errors.add("currency", "Use a three-letter currency code, like EUR, GBP or USD.");
            }
        }
        match parse_optional(&self.reason, "the reason", 4000, true) {
            Ok(v) => f.reason = v,
            Err(e) => errors.add("reason", e),
        }
        match parse_date(&self.asked_on, "the date it was asked") {
            Ok(v) => f.asked_on = v,
            Err(e) => errors.add("asked_on", e),
        }
        match parse_date(&self.decided_on, "the decision date") {
            Ok(Some(d)) if d > today => errors.add("decided_on", "A decision cannot be dated in the future."),
            Ok(v) => f.decided_on = v,
            Err(e) => errors.add("decided_on", e),
        }
        if f.decision == Outcome::Pending {
            f.decided_on = None;
        } else {
            if f.decided_on.is_none() && errors.get("decided_on").is_none() {
                errors.add("decided_on", "Enter the date of the decision.");
            }
            if f.decided_by.is_none() {
                errors.add("decided_by", "Say who decided: it should be top management.");
            }
        }
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/decisions.html")]
struct ListPage {
    layout: Layout,
    decisions: Vec<Decision>,
    /// Set when no decision was taken in the last year: the last one, if any.
    stale: Option<Option<NaiveDate>>,
    can_manage: bool,
}

async fn list_page(State(state): State<AppState>, me: Member) -> AppResult<ListPage> {
    let decisions = list(&state.db, me.org_id).await?;
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Resource decisions").await?,
        stale: stale_since(&decisions, state.clock.now().date_naive()),
        decisions,
        can_manage: me.can(Action::ManageLeadership),
    })
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    Ok(export_csv(
        "resource-decisions.csv",
        &[
            "title",
            "what",
            "amount",
            "currency",
            "reason",
            "objective",
            "requirement",
            "asked_by",
            "asked_on",
            "decided_by",
            "decider_is_top_management",
            "decision",
            "decided_on",
            "meeting",
            "recorded_at_utc",
            "recorded_by",
        ],
        state.db.clone(),
        me.org_id,
        stream,
        move |d: Decision| {
            vec![
                d.title.clone(),
                d.what_label().into(),
                d.amount.map(|a| format!("{a:.2}")).unwrap_or_default(),
                d.currency.clone().unwrap_or_default(),
                d.reason.clone(),
                d.objective_title.clone().unwrap_or_default(),
                d.requirement_code.clone().unwrap_or_default(),
                d.asked_by_name.clone().unwrap_or_default(),
                text_of(d.asked_on),
                d.decided_by_name.clone().unwrap_or_default(),
                maybe_yes_no(d.decider_top_management),
                d.decision_label().into(),
                text_of(d.decided_on),
                d.meeting_title.clone().unwrap_or_default(),
                d.recorded_at.to_rfc3339(),
                d.recorded_account.clone().unwrap_or_default(),
            ]
        },
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/decision.html")]
struct ShowPage {
    layout: Layout,
    decision: Option<Decision>,
    form: DecisionForm,
    errors: FieldErrors,
    people: Vec<Choice>,
    objectives: Vec<Opt<ObjectiveId>>,
    meetings: Vec<Opt<MeetingId>>,
    requirements: Vec<Opt<RequirementId>>,
    whats: Vec<(&'static str, &'static str)>,
    decisions: Vec<(&'static str, &'static str)>,
    evidence: Vec<Item>,
    history: Vec<HistoryEntry>,
    can_manage: bool,
    can_upload: bool,
}

async fn show(state: &AppState, me: &Member, decision: Option<Decision>, form: DecisionForm, errors: FieldErrors) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let keep = pick::ids([form.asked_by.as_str(), form.decided_by.as_str()]);
    let Around { evidence, history, can_manage, can_upload } =
        Around::load(state, me, decision.as_ref().map(|r| (TargetKind::ResourceDecision, "resource_decision", r.id.0))).await?;
    let status = page_status(&[&errors]);
    let links = links(&state.db, me.org_id).await?;
    let page = ShowPage {
        layout: Layout::build(&state.db, &me.visitor, decision.as_ref().map(|d| d.title.clone()).unwrap_or_else(|| "New resource decision".into())).await?,
        people: pick::choices(&state.db, me.org_id, today, &keep).await?,
        objectives: links.objectives,
        meetings: links.meetings,
        requirements: links.requirements,
        whats: DecisionWhat::choices(),
        decisions: Outcome::choices(),
        can_manage,
        can_upload,
        decision,
        form,
        errors,
        evidence,
        history,
    };
    Ok((status, page).into_response())
}

/// What a link may fill in beforehand (a finding's fix): the member of top
/// management who decides. The outcome and its day stay for the one who
/// records it to enter: Mandate never proposes an approval.
#[derive(Deserialize, Default)]
pub struct Prefill {
    decided_by: Option<String>,
}

async fn new_page(State(state): State<AppState>, me: Member, axum::extract::Query(pre): axum::extract::Query<Prefill>) -> AppResult<Response> {
    let mut form = DecisionForm { what: DecisionWhat::Budget.as_str().into(), decision: Outcome::Pending.as_str().into(), ..Default::default() };
    if let Some(by) = pre.decided_by.filter(|b| !b.is_empty()) {
        form.decided_by = by;
    }
    show(&state, &me, None, form, FieldErrors::default()).await
}

impl RecordPages for Decision {
    type Id = DecisionId;
    type Form = DecisionForm;
    type Fields = Fields;
    const PATH: &'static str = "/decisions";
    const RECORDED: &'static str = "The resource decision was recorded.";

    async fn get(conn: &mut PgConnection, org_id: OrgId, id: DecisionId) -> AppResult<Self> {
        get(conn, org_id, id).await
    }
    fn form(&self) -> DecisionForm {
        DecisionForm::from_decision(self)
    }
    fn people(form: &mut DecisionForm) -> Vec<(&'static str, &mut String)> {
        vec![("asked_by", &mut form.asked_by), ("decided_by", &mut form.decided_by)]
    }
    fn parse(form: &DecisionForm, today: NaiveDate) -> Result<Fields, FieldErrors> {
        form.parse(today)
    }
    async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Fields) -> AppResult<DecisionId> {
        insert(conn, actor, now, org_id, f).await
    }
    async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Self, f: Fields) -> AppResult<bool> {
        save(conn, actor, now, org_id, before, &f).await
    }
    async fn show(state: &AppState, me: &Member, record: Option<Self>, form: DecisionForm, errors: FieldErrors) -> AppResult<Response> {
        show(state, me, record, form, errors).await
    }
}
