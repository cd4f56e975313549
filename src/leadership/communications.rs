//! Leadership communications (5.1(d), 5.2, A.5.4): when top management told
//! staff why security matters, through which channel, to whom and how many.
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
    r.get("/communications", list_page)
        .get("/communications.csv", export)
        .get("/communications/new", new_page)
        .post("/communications", create)
        .get("/communications/{id}", show_page)
        .post("/communications/{id}", update)
}

pub const CHANNELS: [(&str, &str); 6] = [
    ("all_hands", "All-hands meeting"),
    ("email", "E-mail"),
    ("intranet", "Intranet"),
    ("video", "Video"),
    ("handbook", "Handbook"),
    ("onboarding_pack", "Onboarding pack"),
];

pub fn channel_label(c: &str) -> &'static str {
    CHANNELS.iter().find(|(k, _)| *k == c).map(|(_, l)| *l).unwrap_or("")
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Communication {
    pub id: Uuid,
    pub sent_on: NaiveDate,
    pub from_id: Option<Uuid>,
    pub from_name: Option<String>,
    pub from_top_management: Option<bool>,
    pub channel: String,
    pub audience: String,
    pub reach: Option<i32>,
    pub subject: String,
    pub summary: String,
    pub policy_version_id: Option<Uuid>,
    pub statement: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Communication {
    pub fn channel_label(&self) -> &'static str {
        channel_label(&self.channel)
    }
}

const SELECT: &str = "SELECT c.id, c.sent_on, c.from_id, p.name AS from_name, p.top_management AS from_top_management, c.channel, c.audience,
        c.reach, c.subject, c.summary, c.policy_version_id, pol.title || ' v' || v.major || '.' || v.minor AS statement, c.created_at
   FROM communications c
   LEFT JOIN people p ON p.org_id = c.org_id AND p.id = c.from_id
   LEFT JOIN policy_versions v ON v.org_id = c.org_id AND v.id = c.policy_version_id
   LEFT JOIN policies pol ON pol.org_id = v.org_id AND pol.id = v.policy_id";

/// Latest first; `$1` is the organisation.
fn list_sql() -> String {
    format!("{SELECT} WHERE c.org_id = $1 ORDER BY c.sent_on DESC, c.created_at DESC")
}

pub async fn list(db: &PgPool, org_id: OrgId) -> AppResult<Vec<Communication>> {
    Ok(sqlx::query_as(&list_sql()).bind(org_id).fetch_all(db).await?)
}

pub async fn get(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: Uuid) -> AppResult<Communication> {
    sqlx::query_as(&format!("{SELECT} WHERE c.org_id = $1 AND c.id = $2")).bind(org_id).bind(id).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields {
    pub sent_on: Option<NaiveDate>,
    pub from_id: Option<Uuid>,
    pub channel: String,
    pub audience: String,
    pub reach: Option<i32>,
    pub subject: String,
    pub summary: String,
    pub policy_version_id: Option<Uuid>,
}

async fn check_links(conn: &mut PgConnection, org_id: OrgId, f: &Fields) -> AppResult<()> {
    check_people(conn, org_id, &f.from_id.into_iter().collect::<Vec<_>>()).await?;
    if let Some(v) = f.policy_version_id {
        let ok: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM policy_versions WHERE org_id = $1 AND id = $2 AND approved_at IS NOT NULL)")
            .bind(org_id)
            .bind(v)
            .fetch_one(&mut *conn)
            .await?;
        if !ok {
            return Err(AppError::BadRequest("The statement chosen is not a signed policy version of this organisation.".into()));
        }
    }
    Ok(())
}

pub async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Fields) -> AppResult<Uuid> {
    check_links(conn, org_id, f).await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO communications (id, org_id, sent_on, from_id, channel, audience, reach, subject, summary, policy_version_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(id)
    .bind(org_id)
    .bind(f.sent_on)
    .bind(f.from_id)
    .bind(&f.channel)
    .bind(&f.audience)
    .bind(f.reach)
    .bind(&f.subject)
    .bind(&f.summary)
    .bind(f.policy_version_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        "communication.created",
        "communication",
        id,
        json!({"subject": f.subject, "sent_on": f.sent_on, "from_id": f.from_id, "channel": f.channel, "reach": f.reach}),
    )
    .await?;
    Ok(id)
}

pub async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Communication, f: &Fields) -> AppResult<bool> {
    let mut c = Changes::new();
    c.field("sent_on", Some(before.sent_on), f.sent_on)
        .field("from_id", before.from_id, f.from_id)
        .field("channel", &before.channel, &f.channel)
        .field("audience", &before.audience, &f.audience)
        .field("reach", before.reach, f.reach)
        .field("subject", &before.subject, &f.subject)
        .field("summary", &before.summary, &f.summary)
        .field("policy_version_id", before.policy_version_id, f.policy_version_id);
    if c.is_empty() {
        return Ok(false);
    }
    check_links(conn, org_id, f).await?;
    sqlx::query(
        "UPDATE communications SET sent_on = $3, from_id = $4, channel = $5, audience = $6, reach = $7, subject = $8, summary = $9,
                policy_version_id = $10, updated_at = $11
          WHERE org_id = $1 AND id = $2",
    )
    .bind(org_id)
    .bind(before.id)
    .bind(f.sent_on)
    .bind(f.from_id)
    .bind(&f.channel)
    .bind(&f.audience)
    .bind(f.reach)
    .bind(&f.subject)
    .bind(&f.summary)
    .bind(f.policy_version_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "communication.updated", "communication", before.id, c.into_value()).await?;
    Ok(true)
}

#[derive(Deserialize, Default, Clone)]
pub struct CommunicationForm {
    #[serde(default)]
    sent_on: String,
    #[serde(default)]
    from_id: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    reach: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    policy_version_id: String,
}

impl CommunicationForm {
    fn from_communication(c: &Communication) -> Self {
        CommunicationForm {
            sent_on: c.sent_on.to_string(),
            from_id: c.from_id.map(|v| v.to_string()).unwrap_or_default(),
            channel: c.channel.clone(),
            audience: c.audience.clone(),
            reach: c.reach.map(|v| v.to_string()).unwrap_or_default(),
            subject: c.subject.clone(),
            summary: c.summary.clone(),
            policy_version_id: c.policy_version_id.map(|v| v.to_string()).unwrap_or_default(),
        }
    }

    fn parse(&self, today: NaiveDate) -> Result<Fields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = Fields {
            from_id: parse_choice(&self.from_id),
            channel: if CHANNELS.iter().any(|(k, _)| *k == self.channel) { self.channel.clone() } else { "email".into() },
            policy_version_id: parse_choice(&self.policy_version_id),
            ..Default::default()
        };
        match parse_date(&self.sent_on, "the date") {
            Ok(Some(d)) if d > today => errors.add("sent_on", "Record a communication once it has gone out: the date cannot be in the future."),
            Ok(Some(d)) => f.sent_on = Some(d),
            Ok(None) => errors.add("sent_on", "Enter the date it went out."),
            Err(e) => errors.add("sent_on", e),
        }
        if f.from_id.is_none() {
            errors.add("from_id", "Say who it came from.");
        }
        match parse_text(&self.subject, "the subject", 300) {
            Ok(v) => f.subject = v,
            Err(e) => errors.add("subject", e),
        }
        match parse_optional(&self.audience, "the audience", 300, false) {
            Ok(v) => f.audience = v,
            Err(e) => errors.add("audience", e),
        }
        match parse_optional(&self.summary, "the summary", 4000, true) {
            Ok(v) => f.summary = v,
            Err(e) => errors.add("summary", e),
        }
        match self.reach.trim() {
            "" => {}
            r => match r.parse::<i32>() {
                Ok(n) if n >= 0 => f.reach = Some(n),
                _ => errors.add("reach", "Enter how many people it reached, as a whole number."),
            },
        }
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/communications.html")]
struct ListPage {
    layout: Layout,
    communications: Vec<Communication>,
    can_manage: bool,
}

async fn list_page(State(state): State<AppState>, me: Member) -> AppResult<ListPage> {
    me.require(Action::ViewLeadership)?;
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Leadership communications").await?,
        communications: list(&state.db, me.org_id).await?,
        can_manage: me.can(Action::ManageLeadership),
    })
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let org_id = me.org_id;
    Ok(csv::stream(
        "leadership-communications.csv",
        &["sent_on", "from", "from_is_top_management", "channel", "audience", "reach", "subject", "summary", "statement"],
        state.db.clone(),
        list_sql(),
        move |q| q.bind(org_id),
        move |c: Communication| {
            vec![
                c.sent_on.to_string(),
                c.from_name.clone().unwrap_or_default(),
                c.from_top_management.map(|t| if t { "yes" } else { "no" }.to_string()).unwrap_or_default(),
                c.channel_label().into(),
                c.audience.clone(),
                c.reach.map(|r| r.to_string()).unwrap_or_default(),
                c.subject.clone(),
                c.summary.clone(),
                c.statement.clone().unwrap_or_default(),
            ]
        },
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "leadership/communication.html")]
struct ShowPage {
    layout: Layout,
    communication: Option<Communication>,
    form: CommunicationForm,
    errors: FieldErrors,
    people: Vec<Choice>,
    statements: Vec<super::decisions::Opt>,
    channels: Vec<(&'static str, &'static str)>,
    evidence: Vec<Item>,
    history: Vec<HistoryEntry>,
    can_manage: bool,
    can_upload: bool,
}

async fn show(state: &AppState, me: &Member, communication: Option<Communication>, form: CommunicationForm, errors: FieldErrors) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let keep: Vec<Uuid> = communication.as_ref().and_then(|c| c.from_id).into_iter().collect();
    let (evidence, history) = match &communication {
        Some(c) => (
            evidence::for_target(&state.db, me.org_id, Target { kind: TargetKind::Communication, id: c.id }).await?,
            audit::history(&state.db, me.org_id, "communication", c.id, 30).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let statements = sqlx::query_as(
        "SELECT v.id, p.title || ' v' || v.major || '.' || v.minor AS label FROM policy_versions v
           JOIN policies p ON p.org_id = v.org_id AND p.id = v.policy_id
          WHERE v.org_id = $1 AND v.approved_at IS NOT NULL AND p.kind = 'management_statement'
          ORDER BY v.approved_at DESC",
    )
    .bind(me.org_id)
    .fetch_all(&state.db)
    .await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ShowPage {
        layout: Layout::build(&state.db, &me.visitor, communication.as_ref().map(|c| c.subject.clone()).unwrap_or_else(|| "New communication".into())).await?,
        people: people::choices(&state.db, me.org_id, today, &keep).await?,
        statements,
        channels: CHANNELS.to_vec(),
        can_manage: me.can(Action::ManageLeadership),
        can_upload: me.can(Action::UploadEvidence),
        communication,
        form,
        errors,
        evidence,
        history,
    };
    Ok((status, page).into_response())
}

async fn new_page(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let today = state.clock.now().date_naive();
    show(&state, &me, None, CommunicationForm { channel: "all_hands".into(), sent_on: today.to_string(), ..Default::default() }, FieldErrors::default()).await
}

async fn show_page(State(state): State<AppState>, me: Member, Id(id): Id) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let c = get(&state.db, me.org_id, id).await?;
    let form = CommunicationForm::from_communication(&c);
    show(&state, &me, Some(c), form, FieldErrors::default()).await
}

async fn create(State(state): State<AppState>, me: Member, Form(form): Form<CommunicationForm>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let fields = match form.parse(state.clock.now().date_naive()) {
        Ok(f) => f,
        Err(errors) => return show(&state, &me, None, form, errors).await,
    };
    let mut tx = state.db.begin().await?;
    let id = insert(&mut tx, &me.actor(), state.clock.now(), me.org_id, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/communications/{id}"), Flash::success("The communication was recorded.")))
}

async fn update(State(state): State<AppState>, me: Member, Id(id): Id, Form(form): Form<CommunicationForm>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, crate::ids::CommunicationId::from(id)).await?;
    let c = get(&mut *tx, me.org_id, id).await?;
    let fields = match form.parse(state.clock.now().date_naive()) {
        Ok(f) => f,
        Err(errors) => {
            drop(tx);
            return show(&state, &me, Some(c), form, errors).await;
        }
    };
    let changed = save(&mut tx, &me.actor(), state.clock.now(), me.org_id, &c, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/communications/{id}"), Flash::success(if changed { "Saved." } else { "Nothing changed." })))
}
