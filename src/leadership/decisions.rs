//! Resource decisions (5.1(c)): what was asked for (budget, headcount,
//! tooling, time), why, and what top management decided.
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
    r.get("/decisions", list_page)
        .get("/decisions.csv", export)
        .get("/decisions/new", new_page)
        .post("/decisions", create)
        .get("/decisions/{id}", show_page)
        .post("/decisions/{id}", update)
}

pub const WHATS: [(&str, &str); 4] = [("budget", "Budget"), ("headcount", "Headcount"), ("tooling", "Tooling"), ("time", "Time")];
pub const DECISIONS: [(&str, &str); 4] = [("pending", "Pending"), ("approved", "Approved"), ("rejected", "Rejected"), ("deferred", "Deferred")];

fn label(list: &[(&'static str, &'static str)], key: &str) -> &'static str {
    list.iter().find(|(k, _)| *k == key).map(|(_, l)| *l).unwrap_or("")
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Decision {
    pub id: Uuid,
    pub what: String,
    pub title: String,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub reason: String,
    pub objective_id: Option<Uuid>,
    pub objective_title: Option<String>,
    pub requirement_id: Option<Uuid>,
    pub requirement_code: Option<String>,
    pub asked_by: Option<Uuid>,
    pub asked_by_name: Option<String>,
    pub asked_on: Option<NaiveDate>,
    pub decided_by: Option<Uuid>,
    pub decided_by_name: Option<String>,
    pub decider_top_management: Option<bool>,
    pub decision: String,
    pub decided_on: Option<NaiveDate>,
    pub meeting_id: Option<Uuid>,
    pub meeting_title: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Decision {
    pub fn what_label(&self) -> &'static str {
        label(&WHATS, &self.what)
    }
    pub fn decision_label(&self) -> &'static str {
        label(&DECISIONS, &self.decision)
    }
    pub fn amount_text(&self) -> String {
        match self.amount {
            Some(a) => format!("{} {}", grouped(a), self.currency.clone().unwrap_or_default()).trim().to_string(),
            None => String::new(),
        }
    }
}

/// An amount with thousands separators and two decimals: 12500.5 → "12,500.50".
pub fn grouped(amount: f64) -> String {
    let text = format!("{amount:.2}");
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out}.{cents}")
}

/// The latest decision date, if none falls within the last year.
pub fn stale_since(decisions: &[Decision], today: NaiveDate) -> Option<Option<NaiveDate>> {
    let last = decisions.iter().filter(|d| d.decision != "pending").filter_map(|d| d.decided_on).max();
    match last {
        Some(d) if d > today - chrono::Duration::days(365) => None,
        other => Some(other),
    }
}

const SELECT: &str = "SELECT d.id, d.what, d.title, d.amount::float8 AS amount, d.currency, d.reason, d.objective_id, o.title AS objective_title,
        d.requirement_id, r.code AS requirement_code, d.asked_by, a.name AS asked_by_name, d.asked_on, d.decided_by,
        b.name AS decided_by_name, b.top_management AS decider_top_management, d.decision, d.decided_on, d.meeting_id,
        m.title AS meeting_title, d.created_at
   FROM resource_decisions d
   LEFT JOIN objectives o ON o.org_id = d.org_id AND o.id = d.objective_id
   LEFT JOIN requirements r ON r.id = d.requirement_id
   LEFT JOIN people a ON a.org_id = d.org_id AND a.id = d.asked_by
   LEFT JOIN people b ON b.org_id = d.org_id AND b.id = d.decided_by
   LEFT JOIN meetings m ON m.org_id = d.org_id AND m.id = d.meeting_id";

/// Latest first, undated requests on top; `$1` is the organisation.
fn list_sql() -> String {
    format!("{SELECT} WHERE d.org_id = $1 ORDER BY COALESCE(d.decided_on, d.asked_on) DESC NULLS FIRST, d.created_at DESC")
}

pub async fn list(db: &PgPool, org_id: OrgId) -> AppResult<Vec<Decision>> {
    Ok(sqlx::query_as(&list_sql()).bind(org_id).fetch_all(db).await?)
}

pub async fn get(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: Uuid) -> AppResult<Decision> {
    sqlx::query_as(&format!("{SELECT} WHERE d.org_id = $1 AND d.id = $2")).bind(org_id).bind(id).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields {
    pub what: String,
    pub title: String,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub reason: String,
    pub objective_id: Option<Uuid>,
    pub requirement_id: Option<Uuid>,
    pub asked_by: Option<Uuid>,
    pub asked_on: Option<NaiveDate>,
    pub decided_by: Option<Uuid>,
    pub decision: String,
    pub decided_on: Option<NaiveDate>,
    pub meeting_id: Option<Uuid>,
}

/// The linked objective and meeting must be this organisation's.
async fn check_links(conn: &mut PgConnection, org_id: OrgId, f: &Fields) -> AppResult<()> {
    let people: Vec<Uuid> = f.asked_by.into_iter().chain(f.decided_by).collect();
    check_people(conn, org_id, &people).await?;
    let ok: bool = sqlx::query_scalar(
        "SELECT ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM objectives WHERE org_id = $1 AND id = $2))
            AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM meetings WHERE org_id = $1 AND id = $3))
            AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM requirements WHERE id = $4))",
    )
    .bind(org_id)
    .bind(f.objective_id)
    .bind(f.meeting_id)
    .bind(f.requirement_id)
    .fetch_one(&mut *conn)
    .await?;
    if !ok {
        return Err(AppError::BadRequest("A linked objective, meeting or requirement is not in this organisation.".into()));
    }
    Ok(())
}

pub async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Fields) -> AppResult<Uuid> {
    check_links(conn, org_id, f).await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO resource_decisions (id, org_id, what, title, amount, currency, reason, objective_id, requirement_id, asked_by, asked_on,
                                         decided_by, decision, decided_on, meeting_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)",
    )
    .bind(id)
    .bind(org_id)
    .bind(&f.what)
    .bind(&f.title)
    .bind(f.amount)
    .bind(&f.currency)
    .bind(&f.reason)
    .bind(f.objective_id)
    .bind(f.requirement_id)
    .bind(f.asked_by)
    .bind(f.asked_on)
    .bind(f.decided_by)
    .bind(&f.decision)
    .bind(f.decided_on)
    .bind(f.meeting_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        "decision.created",
        "resource_decision",
        id,
        json!({"title": f.title, "what": f.what, "amount": f.amount, "currency": f.currency, "decision": f.decision, "decided_by": f.decided_by, "decided_on": f.decided_on}),
    )
    .await?;
    Ok(id)
}

pub async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Decision, f: &Fields) -> AppResult<bool> {
    let mut c = Changes::new();
    c.field("what", &before.what, &f.what)
        .field("title", &before.title, &f.title)
        .field("amount", before.amount, f.amount)
        .field("currency", &before.currency, &f.currency)
        .field("reason", &before.reason, &f.reason)
        .field("objective_id", before.objective_id, f.objective_id)
        .field("requirement_id", before.requirement_id, f.requirement_id)
        .field("asked_by", before.asked_by, f.asked_by)
        .field("asked_on", before.asked_on, f.asked_on)
        .field("decided_by", before.decided_by, f.decided_by)
        .field("decision", &before.decision, &f.decision)
        .field("decided_on", before.decided_on, f.decided_on)
        .field("meeting_id", before.meeting_id, f.meeting_id);
    if c.is_empty() {
        return Ok(false);
    }
    check_links(conn, org_id, f).await?;
    sqlx::query(
        "UPDATE resource_decisions SET what = $3, title = $4, amount = $5::numeric, currency = $6, reason = $7, objective_id = $8,
                requirement_id = $9, asked_by = $10, asked_on = $11, decided_by = $12, decision = $13, decided_on = $14, meeting_id = $15,
                updated_at = $16
          WHERE org_id = $1 AND id = $2",
    )
    .bind(org_id)
    .bind(before.id)
    .bind(&f.what)
    .bind(&f.title)
    .bind(f.amount)
    .bind(&f.currency)
    .bind(&f.reason)
    .bind(f.objective_id)
    .bind(f.requirement_id)
    .bind(f.asked_by)
    .bind(f.asked_on)
    .bind(f.decided_by)
    .bind(&f.decision)
    .bind(f.decided_on)
    .bind(f.meeting_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "decision.updated", "resource_decision", before.id, c.into_value()).await?;
    Ok(true)
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
        let id = |x: Option<Uuid>| x.map(|v| v.to_string()).unwrap_or_default();
        let day = |x: Option<NaiveDate>| x.map(|v| v.to_string()).unwrap_or_default();
        DecisionForm {
            what: d.what.clone(),
            title: d.title.clone(),
            amount: d.amount.map(|a| format!("{a:.2}")).unwrap_or_default(),
            currency: d.currency.clone().unwrap_or_default(),
            reason: d.reason.clone(),
            objective_id: id(d.objective_id),
            requirement_id: id(d.requirement_id),
            asked_by: id(d.asked_by),
            asked_on: day(d.asked_on),
            decided_by: id(d.decided_by),
            decision: d.decision.clone(),
            decided_on: day(d.decided_on),
            meeting_id: id(d.meeting_id),
        }
    }

    fn parse(&self, today: NaiveDate) -> Result<Fields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = Fields {
            what: if WHATS.iter().any(|(k, _)| *k == self.what) { self.what.clone() } else { "budget".into() },
            decision: if DECISIONS.iter().any(|(k, _)| *k == self.decision) { self.decision.clone() } else { "pending".into() },
            objective_id: parse_choice(&self.objective_id),
            requirement_id: parse_choice(&self.requirement_id),
            asked_by: parse_choice(&self.asked_by),
            decided_by: parse_choice(&self.decided_by),
            meeting_id: parse_choice(&self.meeting_id),
            ..Default::default()
        };
        match parse_text(&self.title, "what was asked for", 300) {
            Ok(v) => f.title = v,
            Err(e) => errors.add("title", e),
        }
        match self.amount.trim().replace(',', "").parse::<f64>() {
            _ if self.amount.trim().is_empty() => {}
            Ok(a) if (0.0..1e12).contains(&a) => f.amount = Some((a * 100.0).round() / 100.0),
            _ => errors.add("amount", "Enter the amount as a number, like 12500 or 12500.50."),
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
        if f.decision == "pending" {
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
    me.require(Action::ViewLeadership)?;
    let decisions = list(&state.db, me.org_id).await?;
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Resource decisions").await?,
        stale: stale_since(&decisions, state.clock.now().date_naive()),
        decisions,
        can_manage: me.can(Action::ManageLeadership),
    })
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let org_id = me.org_id;
    Ok(csv::stream(
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
        ],
        state.db.clone(),
        list_sql(),
        move |q| q.bind(org_id),
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
                d.asked_on.map(|x| x.to_string()).unwrap_or_default(),
                d.decided_by_name.clone().unwrap_or_default(),
                d.decider_top_management.map(|t| if t { "yes" } else { "no" }.to_string()).unwrap_or_default(),
                d.decision_label().into(),
                d.decided_on.map(|x| x.to_string()).unwrap_or_default(),
                d.meeting_title.clone().unwrap_or_default(),
            ]
        },
    ))
}

/// An option for a select: id and label.
#[derive(sqlx::FromRow)]
pub struct Opt {
    pub id: Uuid,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/decision.html")]
struct ShowPage {
    layout: Layout,
    decision: Option<Decision>,
    form: DecisionForm,
    errors: FieldErrors,
    people: Vec<Choice>,
    objectives: Vec<Opt>,
    meetings: Vec<Opt>,
    requirements: Vec<Opt>,
    whats: Vec<(&'static str, &'static str)>,
    decisions: Vec<(&'static str, &'static str)>,
    evidence: Vec<Item>,
    history: Vec<HistoryEntry>,
    can_manage: bool,
    can_upload: bool,
}

async fn show(state: &AppState, me: &Member, decision: Option<Decision>, form: DecisionForm, errors: FieldErrors) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let keep: Vec<Uuid> = decision.as_ref().map(|d| d.asked_by.into_iter().chain(d.decided_by).collect()).unwrap_or_default();
    let (evidence, history) = match &decision {
        Some(d) => (
            evidence::for_target(&state.db, me.org_id, Target { kind: TargetKind::ResourceDecision, id: d.id }).await?,
            audit::history(&state.db, me.org_id, "resource_decision", d.id, 30).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ShowPage {
        layout: Layout::build(&state.db, &me.visitor, decision.as_ref().map(|d| d.title.clone()).unwrap_or_else(|| "New resource decision".into())).await?,
        people: people::choices(&state.db, me.org_id, today, &keep).await?,
        objectives: sqlx::query_as("SELECT id, title AS label FROM objectives WHERE org_id = $1 ORDER BY title").bind(me.org_id).fetch_all(&state.db).await?,
        meetings: sqlx::query_as(
            "SELECT id, title || COALESCE(' (' || held_on::text || ')', '') AS label FROM meetings WHERE org_id = $1 ORDER BY held_on DESC NULLS FIRST",
        )
        .bind(me.org_id)
        .fetch_all(&state.db)
        .await?,
        requirements: sqlx::query_as("SELECT id, code || ' ' || title AS label FROM requirements WHERE retired_at IS NULL ORDER BY framework, position")
            .fetch_all(&state.db)
            .await?,
        whats: WHATS.to_vec(),
        decisions: DECISIONS.to_vec(),
        can_manage: me.can(Action::ManageLeadership),
        can_upload: me.can(Action::UploadEvidence),
        decision,
        form,
        errors,
        evidence,
        history,
    };
    Ok((status, page).into_response())
}

async fn new_page(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    show(&state, &me, None, DecisionForm { what: "budget".into(), decision: "pending".into(), ..Default::default() }, FieldErrors::default()).await
}

async fn show_page(State(state): State<AppState>, me: Member, Id(id): Id) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let d = get(&state.db, me.org_id, id).await?;
    let form = DecisionForm::from_decision(&d);
    show(&state, &me, Some(d), form, FieldErrors::default()).await
}

async fn create(State(state): State<AppState>, me: Member, Form(form): Form<DecisionForm>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let fields = match form.parse(state.clock.now().date_naive()) {
        Ok(f) => f,
        Err(errors) => return show(&state, &me, None, form, errors).await,
    };
    let mut tx = state.db.begin().await?;
    let id = insert(&mut tx, &me.actor(), state.clock.now(), me.org_id, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/decisions/{id}"), Flash::success("The resource decision was recorded.")))
}

async fn update(State(state): State<AppState>, me: Member, Id(id): Id, Form(form): Form<DecisionForm>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, crate::ids::DecisionId::from(id)).await?;
    let d = get(&mut *tx, me.org_id, id).await?;
    let fields = match form.parse(state.clock.now().date_naive()) {
        Ok(f) => f,
        Err(errors) => {
            drop(tx);
            return show(&state, &me, Some(d), form, errors).await;
        }
    };
    let changed = save(&mut tx, &me.actor(), state.clock.now(), me.org_id, &d, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/decisions/{id}"), Flash::success(if changed { "Saved." } else { "Nothing changed." })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(grouped(0.0), "0.00");
        assert_eq!(grouped(999.5), "999.50");
        assert_eq!(grouped(1000.0), "1,000.00");
        assert_eq!(grouped(12500.5), "12,500.50");
        assert_eq!(grouped(1234567.891), "1,234,567.89");
    }
}
