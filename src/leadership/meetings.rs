//! Management reviews and other leadership meetings, with their action
//! items. The chair signs the minutes off; from then on the meeting record
//! is final (the database refuses changes too) and follow-up goes into
//! action items.
use crate::ids::OrgId;
use super::{check_people, person_names};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::addenda::{self, Addendum};
use crate::audit::{self, Actor, Changes, HistoryEntry};
use crate::auth::policy::{self, Action, SignedRecord};
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::evidence::model::{self as evidence, Item, Pinned, Target, TargetKind};
use crate::people::attribution::{Signatory, Via, byline, title_sql};
use crate::people::model::{self as people, Choice};
use crate::web::form::{parse_choice, parse_date, parse_optional, parse_text};
use crate::web::{FieldErrors, Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Months, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub fn routes(r: Routes) -> Routes {
    r.get("/meetings", list_page)
        .get("/meetings.csv", export)
        .get("/meetings/new", new_page)
        .post("/meetings", create)
        .get("/meetings/{id}", meeting_page)
        .post("/meetings/{id}", update)
        .post("/meetings/{id}/sign-off", sign_off)
        .post("/meetings/{id}/addenda", add_addendum)
        .post("/meetings/{id}/actions", add_action)
        .get("/actions", actions_page)
        .get("/actions.csv", actions_export)
        .get("/actions/{id}", action_page)
        .post("/actions/{id}", update_action)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingKind {
    ManagementReview,
    Steering,
    Other,
}

impl MeetingKind {
    pub const ALL: [MeetingKind; 3] = [MeetingKind::ManagementReview, MeetingKind::Steering, MeetingKind::Other];
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingKind::ManagementReview => "management_review",
            MeetingKind::Steering => "steering",
            MeetingKind::Other => "other",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            MeetingKind::ManagementReview => "Management review (clause 9.3)",
            MeetingKind::Steering => "Security steering meeting",
            MeetingKind::Other => "Other meeting",
        }
    }
    pub fn parse(raw: &str) -> Option<MeetingKind> {
        MeetingKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// What a management review should look at.
pub const INPUTS: [(&str, &str); 6] = [
    ("earlier_actions", "Status of actions from earlier reviews"),
    ("context", "Changes in internal and external issues"),
    ("performance", "Security performance: nonconformities, monitoring, audit results, objectives"),
    ("feedback", "Feedback from interested parties"),
    ("risk", "Risk assessment results and the treatment plan"),
    ("improvement", "Opportunities for continual improvement"),
];

/// When the next management review is due: the last one held plus the
/// cadence. Without any, one is due now.
pub fn next_review_due(last_held: Option<NaiveDate>, cadence_months: i32, today: NaiveDate) -> NaiveDate {
    last_held.and_then(|d| d.checked_add_months(Months::new(u32::try_from(cadence_months).ok()?))).unwrap_or(today)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Meeting {
    pub id: Uuid,
    pub kind: String,
    pub title: String,
    pub planned_on: Option<NaiveDate>,
    pub held_on: Option<NaiveDate>,
    pub chair_id: Option<Uuid>,
    pub chair_name: Option<String>,
    pub chair_user_id: Option<Uuid>,
    pub attendee_ids: Vec<Uuid>,
    pub inputs: Vec<String>,
    pub objective_ids: Vec<Uuid>,
    pub minutes: String,
    pub decisions: String,
    pub created_at: DateTime<Utc>,
    pub signed_off_name: Option<String>,
    pub signed_off_at: Option<DateTime<Utc>>,
    /// The person the sign-off stands for, their title then, and the e-mail of the account that made it.
    pub signed_off_as: Option<Uuid>,
    pub signed_off_title: Option<String>,
    pub signed_off_account: Option<String>,
    /// Evidence items linked to the meeting (minutes files and the like).
    pub evidence_count: i64,
    /// Attendees who are top management.
    pub top_attendees: i64,
    pub open_actions: i64,
    /// The evidence, one line per item: for a signed-off meeting what it
    /// was signed with, otherwise what is linked now (newest revision).
    pub evidence: Vec<String>,
    /// Its addenda, oldest first, one line each.
    pub addenda: Vec<String>,
}

impl Meeting {
    pub fn kind(&self) -> MeetingKind {
        MeetingKind::parse(&self.kind).unwrap_or(MeetingKind::Other)
    }
    pub fn is_signed(&self) -> bool {
        self.signed_off_at.is_some()
    }
    /// Who signed off: "Name, Title, signed in as e-mail" (what is known of it).
    pub fn signed_off_byline(&self) -> String {
        byline(self.signed_off_name.as_deref(), self.signed_off_title.as_deref(), Via::from_parts(self.signed_off_account.as_deref(), None))
    }
    /// Minutes are typed in, or a file is linked.
    pub fn has_minutes(&self) -> bool {
        !self.minutes.trim().is_empty() || self.evidence_count > 0
    }
    pub fn covers(&self, input: &str) -> bool {
        self.inputs.iter().any(|i| i == input)
    }
}

/// The meetings query up to its WHERE clause.
fn select_meetings() -> String {
    format!(
        "SELECT m.id, m.kind, m.title, m.planned_on, m.held_on, m.chair_id, c.name AS chair_name,
        c.acting_user_id AS chair_user_id, m.attendee_ids, m.inputs, m.objective_ids, m.minutes, m.decisions, m.created_at,
        m.signed_off_name, m.signed_off_at, m.signed_off_as, m.signed_off_title, su.email AS signed_off_account,
        (SELECT count(*) FROM evidence_links l WHERE l.org_id = m.org_id AND l.target_kind = 'meeting' AND l.target_id = m.id) AS evidence_count,
        (SELECT count(*) FROM people p WHERE p.org_id = m.org_id AND p.id = ANY(m.attendee_ids) AND p.top_management) AS top_attendees,
        (SELECT count(*) FROM action_items a WHERE a.org_id = m.org_id AND a.meeting_id = m.id AND a.status = 'open') AS open_actions,
        CASE WHEN m.signed_off_at IS NOT NULL THEN
             ARRAY(SELECT p.item_title || COALESCE(' (revision ' || r.number || ', ' || r.filename || ', SHA-256 ' || encode(r.sha256, 'hex') || ')', '')
                     FROM evidence_pins p LEFT JOIN evidence_revisions r ON r.org_id = p.org_id AND r.id = p.revision_id
                    WHERE p.org_id = m.org_id AND p.target_kind = 'meeting' AND p.target_id = m.id ORDER BY p.item_title, p.item_id)
        ELSE ARRAY(SELECT i.title || COALESCE(' (revision ' || r.number || ', ' || r.filename || ', SHA-256 ' || encode(r.sha256, 'hex') || ')', '')
                     FROM evidence_links l JOIN evidence_items i ON i.org_id = l.org_id AND i.id = l.item_id
                     LEFT JOIN LATERAL (SELECT v.number, v.filename, v.sha256 FROM evidence_revisions v WHERE v.org_id = i.org_id AND v.item_id = i.id
                                         ORDER BY v.number DESC LIMIT 1) r ON true
                    WHERE l.org_id = m.org_id AND l.target_kind = 'meeting' AND l.target_id = m.id ORDER BY i.title, i.id)
        END AS evidence,
        {} AS addenda
   FROM meetings m LEFT JOIN people c ON c.org_id = m.org_id AND c.id = m.chair_id
   LEFT JOIN users su ON su.id = m.signed_off_by",
        addenda::lines_sql("meeting", "m.org_id", "m.id", None)
    )
}

/// The organisation's meetings, latest first; `$1` is the organisation.
fn list_sql() -> String {
    format!("{} WHERE m.org_id = $1 ORDER BY COALESCE(m.held_on, m.planned_on) DESC NULLS FIRST, m.created_at DESC", select_meetings())
}

pub async fn list(db: &PgPool, org_id: OrgId) -> AppResult<Vec<Meeting>> {
    Ok(sqlx::query_as(&list_sql()).bind(org_id).fetch_all(db).await?)
}

/// Held meetings chaired by the person linked to `user_id` whose minutes are not signed off.
pub async fn to_sign_by_user(db: &PgPool, org_id: OrgId, user_id: Uuid) -> AppResult<Vec<Meeting>> {
    Ok(sqlx::query_as(&format!("{} WHERE m.org_id = $1 AND c.acting_user_id = $2 AND m.held_on IS NOT NULL AND m.signed_off_at IS NULL ORDER BY m.held_on", select_meetings()))
        .bind(org_id)
        .bind(user_id)
        .fetch_all(db)
        .await?)
}

pub async fn get(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: Uuid) -> AppResult<Meeting> {
    sqlx::query_as(&format!("{} WHERE m.org_id = $1 AND m.id = $2", select_meetings())).bind(org_id).bind(id).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

/// The organisation's review cadence in months.
pub async fn cadence(db: &PgPool, org_id: OrgId) -> AppResult<i32> {
    Ok(sqlx::query_scalar("SELECT review_cadence_months FROM organisations WHERE id = $1").bind(org_id).fetch_one(db).await?)
}

/// What the meeting form sets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeetingFields {
    pub kind: Option<MeetingKind>,
    pub title: String,
    pub planned_on: Option<NaiveDate>,
    pub held_on: Option<NaiveDate>,
    pub chair_id: Option<Uuid>,
    pub attendee_ids: Vec<Uuid>,
    pub inputs: Vec<String>,
    pub objective_ids: Vec<Uuid>,
    pub minutes: String,
    pub decisions: String,
}

async fn check_objectives(conn: &mut PgConnection, org_id: OrgId, ids: &[Uuid]) -> AppResult<()> {
    let found: i64 = sqlx::query_scalar("SELECT count(*) FROM objectives WHERE org_id = $1 AND id = ANY($2)").bind(org_id).bind(ids).fetch_one(conn).await?;
    if found as usize != ids.len() {
        return Err(AppError::BadRequest("An objective chosen is not in this organisation.".into()));
    }
    Ok(())
}

pub async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &MeetingFields) -> AppResult<Uuid> {
    let mut people: Vec<Uuid> = f.attendee_ids.clone();
    people.extend(f.chair_id);
    check_people(conn, org_id, &people).await?;
    check_objectives(conn, org_id, &f.objective_ids).await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO meetings (id, org_id, kind, title, planned_on, held_on, chair_id, attendee_ids, inputs, objective_ids, minutes, decisions,
                               created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
    )
    .bind(id)
    .bind(org_id)
    .bind(f.kind.unwrap_or(MeetingKind::Other).as_str())
    .bind(&f.title)
    .bind(f.planned_on)
    .bind(f.held_on)
    .bind(f.chair_id)
    .bind(&f.attendee_ids)
    .bind(&f.inputs)
    .bind(&f.objective_ids)
    .bind(&f.minutes)
    .bind(&f.decisions)
    .bind(actor.user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        "meeting.created",
        "meeting",
        id,
        json!({"title": f.title, "kind": f.kind.map(MeetingKind::as_str), "held_on": f.held_on, "planned_on": f.planned_on}),
    )
    .await?;
    Ok(id)
}

pub async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Meeting, f: &MeetingFields) -> AppResult<bool> {
    if before.is_signed() {
        return Err(AppError::Conflict("This meeting is signed off and its record is final. To correct it, add an addendum under the record; record follow-up as action items.".into()));
    }
    let mut c = Changes::new();
    c.field("kind", &before.kind, f.kind.map(MeetingKind::as_str))
        .field("title", &before.title, &f.title)
        .field("planned_on", before.planned_on, f.planned_on)
        .field("held_on", before.held_on, f.held_on)
        .field("chair_id", before.chair_id, f.chair_id)
        .field("attendee_ids", &before.attendee_ids, &f.attendee_ids)
        .field("inputs", &before.inputs, &f.inputs)
        .field("objective_ids", &before.objective_ids, &f.objective_ids)
        .field("minutes", before.minutes.len(), f.minutes.len())
        .field("decisions", before.decisions.len(), f.decisions.len());
    if before.minutes != f.minutes {
        c.field("minutes_text", "before", "changed");
    }
    if before.decisions != f.decisions {
        c.field("decisions_text", "before", "changed");
    }
    if c.is_empty() {
        return Ok(false);
    }
    let mut people: Vec<Uuid> = f.attendee_ids.clone();
    people.extend(f.chair_id);
    check_people(conn, org_id, &people).await?;
    check_objectives(conn, org_id, &f.objective_ids).await?;
    let done = sqlx::query(
        "UPDATE meetings SET kind = $3, title = $4, planned_on = $5, held_on = $6, chair_id = $7, attendee_ids = $8, inputs = $9,
                objective_ids = $10, minutes = $11, decisions = $12, updated_at = $13
          WHERE org_id = $1 AND id = $2 AND signed_off_at IS NULL",
    )
    .bind(org_id)
    .bind(before.id)
    .bind(f.kind.unwrap_or(MeetingKind::Other).as_str())
    .bind(&f.title)
    .bind(f.planned_on)
    .bind(f.held_on)
    .bind(f.chair_id)
    .bind(&f.attendee_ids)
    .bind(&f.inputs)
    .bind(&f.objective_ids)
    .bind(&f.minutes)
    .bind(&f.decisions)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict("This meeting was signed off meanwhile; its record is final. To correct it, add an addendum under the record.".into()));
    }
    audit::record(conn, actor, now, "meeting.updated", "meeting", before.id, c.into_value()).await?;
    Ok(true)
}

/// Why the chair cannot sign off yet, if anything stops it.
pub fn sign_off_blocker(m: &Meeting) -> Option<&'static str> {
    if m.is_signed() {
        Some("The minutes are already signed off.")
    } else if m.held_on.is_none() {
        Some("Record the date the meeting was held first.")
    } else if !m.has_minutes() {
        Some("Write the minutes, or link the minutes file, first.")
    } else {
        None
    }
}

/// The chair signs the minutes off, at the server's time: the account that
/// does it (the actor's) and the person it stands for are both recorded.
pub async fn sign(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, m: &Meeting, chair: &Signatory) -> AppResult<()> {
    if let Some(why) = sign_off_blocker(m) {
        return Err(AppError::Conflict(why.into()));
    }
    let name = chair.name.as_str();
    let done = sqlx::query(&format!(
        "UPDATE meetings SET signed_off_by = $3, signed_off_name = $4, signed_off_at = $5, signed_off_as = $6, signed_off_title = {}
          WHERE org_id = $1 AND id = $2 AND signed_off_at IS NULL",
        title_sql("$1", "$6")
    ))
    .bind(org_id)
    .bind(m.id)
    .bind(actor.user_id)
    .bind(name)
    .bind(now)
    .bind(chair.person_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict("The minutes are already signed off.".into()));
    }
    // The evidence it is signed with, at the revisions current now.
    let pinned = evidence::pin(conn, now, org_id, Target { kind: TargetKind::Meeting, id: m.id }).await?;
    audit::record(
        conn,
        actor,
        now,
        "meeting.signed_off",
        "meeting",
        m.id,
        json!({"title": m.title, "held_on": m.held_on, "chair": name, "chair_id": chair.person_id, "evidence_pinned": pinned}),
    )
    .await?;
    Ok(())
}

// ---------- action items ----------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStatus {
    Open,
    Done,
    Dropped,
}

impl ActionStatus {
    pub const ALL: [ActionStatus; 3] = [ActionStatus::Open, ActionStatus::Done, ActionStatus::Dropped];
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Open => "open",
            ActionStatus::Done => "done",
            ActionStatus::Dropped => "dropped",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ActionStatus::Open => "Open",
            ActionStatus::Done => "Done",
            ActionStatus::Dropped => "Dropped",
        }
    }
    pub fn parse(raw: &str) -> Option<ActionStatus> {
        ActionStatus::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActionItem {
    pub id: Uuid,
    pub meeting_id: Option<Uuid>,
    pub meeting_title: Option<String>,
    pub title: String,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub status: String,
    pub closing_note: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl ActionItem {
    pub fn status(&self) -> ActionStatus {
        ActionStatus::parse(&self.status).unwrap_or(ActionStatus::Open)
    }
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status() == ActionStatus::Open && self.due_on.is_some_and(|d| d < today)
    }
}

const SELECT_ACTIONS: &str = "SELECT a.id, a.meeting_id, m.title AS meeting_title, a.title, a.owner_id, o.name AS owner_name, a.due_on,
        a.status, a.closing_note, a.closed_at, a.created_at
   FROM action_items a
   LEFT JOIN meetings m ON m.org_id = a.org_id AND m.id = a.meeting_id
   LEFT JOIN people o ON o.org_id = a.org_id AND o.id = a.owner_id";

/// Action items, open ones first; `$1` is the organisation, `$2` a meeting or NULL for all.
fn actions_sql() -> String {
    format!(
        "{SELECT_ACTIONS} WHERE a.org_id = $1 AND ($2::uuid IS NULL OR a.meeting_id = $2)
          ORDER BY a.status = 'open' DESC, a.due_on NULLS LAST, a.created_at"
    )
}

pub async fn actions(db: &PgPool, org_id: OrgId, meeting: Option<Uuid>) -> AppResult<Vec<ActionItem>> {
    Ok(sqlx::query_as(&actions_sql()).bind(org_id).bind(meeting).fetch_all(db).await?)
}

pub async fn action(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: Uuid) -> AppResult<ActionItem> {
    sqlx::query_as(&format!("{SELECT_ACTIONS} WHERE a.org_id = $1 AND a.id = $2")).bind(org_id).bind(id).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionFields {
    pub title: String,
    pub owner_id: Option<Uuid>,
    pub due_on: Option<NaiveDate>,
    pub status: ActionStatus,
    pub closing_note: String,
}

pub async fn insert_action(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, meeting_id: Uuid, f: &ActionFields) -> AppResult<Uuid> {
    check_people(conn, org_id, &f.owner_id.into_iter().collect::<Vec<_>>()).await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO action_items (id, org_id, meeting_id, title, owner_id, due_on, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $7)",
    )
    .bind(id)
    .bind(org_id)
    .bind(meeting_id)
    .bind(&f.title)
    .bind(f.owner_id)
    .bind(f.due_on)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        "action.created",
        "action_item",
        id,
        json!({"title": f.title, "meeting_id": meeting_id, "due_on": f.due_on, "owner_id": f.owner_id}),
    )
    .await?;
    Ok(id)
}

pub async fn save_action(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &ActionItem, f: &ActionFields) -> AppResult<bool> {
    let mut c = Changes::new();
    c.field("title", &before.title, &f.title)
        .field("owner_id", before.owner_id, f.owner_id)
        .field("due_on", before.due_on, f.due_on)
        .field("status", &before.status, f.status.as_str())
        .field("closing_note", &before.closing_note, &f.closing_note);
    if c.is_empty() {
        return Ok(false);
    }
    check_people(conn, org_id, &f.owner_id.into_iter().collect::<Vec<_>>()).await?;
    let closed_at = match (before.status(), f.status) {
        (ActionStatus::Open, ActionStatus::Open) => None,
        (ActionStatus::Open, _) => Some(now),
        (_, ActionStatus::Open) => None,
        _ => before.closed_at,
    };
    sqlx::query(
        "UPDATE action_items SET title = $3, owner_id = $4, due_on = $5, status = $6, closing_note = $7, closed_at = $8, updated_at = $9
          WHERE org_id = $1 AND id = $2",
    )
    .bind(org_id)
    .bind(before.id)
    .bind(&f.title)
    .bind(f.owner_id)
    .bind(f.due_on)
    .bind(f.status.as_str())
    .bind(&f.closing_note)
    .bind(closed_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "action.updated", "action_item", before.id, c.into_value()).await?;
    Ok(true)
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
    me.require(Action::ViewLeadership)?;
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
    me.require(Action::ViewLeadership)?;
    let names = person_names(&state.db, me.org_id).await?;
    let org_id = me.org_id;
    Ok(csv::stream(
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
        list_sql(),
        move |q| q.bind(org_id),
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
                if m.top_attendees > 0 { "yes" } else { "no" }.into(),
                m.inputs.join("; "),
                m.minutes.clone(),
                m.decisions.clone(),
                m.signed_off_name.clone().unwrap_or_default(),
                m.signed_off_title.clone().unwrap_or_default(),
                Via::from_parts(m.signed_off_account.as_deref(), None).words(),
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
    inputs: Vec<String>,
    objectives: Vec<String>,
    minutes: String,
    decisions: String,
}

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
            inputs: many("inputs"),
            objectives: many("objectives"),
            minutes: one("minutes"),
            decisions: one("decisions"),
        }
    }

    fn from_meeting(m: &Meeting) -> Self {
        MeetingForm {
            kind: m.kind.clone(),
            title: m.title.clone(),
            planned_on: m.planned_on.map(|d| d.to_string()).unwrap_or_default(),
            held_on: m.held_on.map(|d| d.to_string()).unwrap_or_default(),
            chair_id: m.chair_id.map(|d| d.to_string()).unwrap_or_default(),
            attendees: m.attendee_ids.iter().map(Uuid::to_string).collect(),
            inputs: m.inputs.clone(),
            objectives: m.objective_ids.iter().map(Uuid::to_string).collect(),
            minutes: m.minutes.clone(),
            decisions: m.decisions.clone(),
        }
    }

    fn parse(&self, today: NaiveDate) -> Result<MeetingFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut f = MeetingFields { kind: MeetingKind::parse(&self.kind), ..Default::default() };
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
        f.chair_id = parse_choice(&self.chair_id);
        f.attendee_ids = self.attendees.iter().filter_map(|a| parse_choice(a)).collect();
        f.attendee_ids.sort();
        f.attendee_ids.dedup();
        f.inputs = INPUTS.iter().map(|(k, _)| k.to_string()).filter(|k| self.inputs.contains(k)).collect();
        f.objective_ids = self.objectives.iter().filter_map(|o| parse_choice(o)).collect();
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

#[derive(sqlx::FromRow)]
pub struct ObjectiveChoice {
    pub id: Uuid,
    pub title: String,
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
    sign_blocker: Option<&'static str>,
    can_upload: bool,
    today: NaiveDate,
}

impl MeetingPage {
    /// The edit form shows to managers until the minutes are signed off.
    fn editable(&self) -> bool {
        self.can_manage && !self.meeting.as_ref().is_some_and(Meeting::is_signed)
    }
    fn attends(&self, id: &Uuid) -> bool {
        self.form.attendees.contains(&id.to_string())
    }
    fn covered(&self, key: &str) -> bool {
        self.form.inputs.iter().any(|i| i == key)
    }
    fn reviewed(&self, id: &Uuid) -> bool {
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
    fn objective_title(&self, id: &Uuid) -> String {
        self.objectives.iter().find(|o| o.id == *id).map(|o| o.title.clone()).unwrap_or_default()
    }
}

/// An addendum typed but refused, to show again with its error.
#[derive(Default)]
struct AddendumDraft {
    form: addenda::Form,
    errors: FieldErrors,
}

async fn meeting_view(
    state: &AppState,
    me: &Member,
    meeting: Option<Meeting>,
    form: MeetingForm,
    errors: FieldErrors,
    action_errors: FieldErrors,
) -> AppResult<Response> {
    meeting_view_with(state, me, meeting, form, errors, action_errors, AddendumDraft::default()).await
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
    addendum: AddendumDraft,
) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let (actions, evidence, pinned, addenda, can_add_addendum, history, can_sign) = match &meeting {
        Some(m) => {
            let me_person = people::person_of_user(&state.db, me.org_id, me.user_id.into()).await?;
            let can_add_addendum = may_add_addendum(me, m, me_person.as_ref());
            let is_chair = me_person.is_some_and(|p| Some(p.id) == m.chair_id);
            let target = Target { kind: TargetKind::Meeting, id: m.id };
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
                addenda::of(&state.db, me.org_id, SignedRecord::Meeting, m.id).await?,
                can_add_addendum,
                audit::history(&state.db, me.org_id, "meeting", m.id, 30).await?,
                policy::may_act_as_person(me.role, is_chair) && !m.is_signed(),
            )
        }
        None => (Vec::new(), Vec::new(), Vec::new(), Vec::new(), false, Vec::new(), false),
    };
    let keep: Vec<Uuid> = meeting.as_ref().map(|m| m.attendee_ids.iter().copied().chain(m.chair_id).collect()).unwrap_or_default();
    let objectives = sqlx::query_as("SELECT id, title FROM objectives WHERE org_id = $1 ORDER BY title").bind(me.org_id).fetch_all(&state.db).await?;
    let status = if errors.is_empty() && action_errors.is_empty() && addendum.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let title = meeting.as_ref().map(|m| m.title.clone()).unwrap_or_else(|| "Record a meeting".into());
    let page = MeetingPage {
        layout: Layout::build(&state.db, &me.visitor, title).await?,
        sign_blocker: meeting.as_ref().and_then(sign_off_blocker),
        people: people::choices(&state.db, me.org_id, today, &keep).await?,
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
        can_sign,
        meeting,
        form,
        errors,
        action_errors,
        today,
    };
    Ok((status, page).into_response())
}

async fn new_page(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let form = MeetingForm { kind: "management_review".into(), ..Default::default() };
    meeting_view(&state, &me, None, form, FieldErrors::default(), FieldErrors::default()).await
}

async fn meeting_page(State(state): State<AppState>, me: Member, Id(id): Id) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let m = get(&state.db, me.org_id, id).await?;
    let form = MeetingForm::from_meeting(&m);
    meeting_view(&state, &me, Some(m), form, FieldErrors::default(), FieldErrors::default()).await
}

async fn create(State(state): State<AppState>, me: Member, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let form = MeetingForm::from_pairs(&pairs);
    let fields = match form.parse(state.clock.now().date_naive()) {
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

async fn update(State(state): State<AppState>, me: Member, Id(id): Id, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let form = MeetingForm::from_pairs(&pairs);
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, crate::ids::MeetingId::from(id)).await?;
    let m = get(&mut *tx, me.org_id, id).await?;
    if m.is_signed() {
        return Err(AppError::Conflict("This meeting is signed off and its record is final. To correct it, add an addendum under the record; record follow-up as action items.".into()));
    }
    let fields = match form.parse(state.clock.now().date_naive()) {
        Ok(f) => f,
        Err(errors) => {
            drop(tx);
            return meeting_view(&state, &me, Some(m), form, errors, FieldErrors::default()).await;
        }
    };
    let changed = save(&mut tx, &me.actor(), state.clock.now(), me.org_id, &m, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/meetings/{id}"), Flash::success(if changed { "Saved." } else { "Nothing changed." })))
}

async fn sign_off(State(state): State<AppState>, me: Member, Id(id): Id) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let m = get(&state.db, me.org_id, id).await?;
    let person = people::person_of_user(&state.db, me.org_id, me.user_id.into()).await?;
    let Some(chair) = person.filter(|p| Some(p.id) == m.chair_id && policy::may_act_as_person(me.role, true)) else {
        return Err(AppError::Forbidden);
    };
    let mut tx = state.db.begin().await?;
    sign(&mut tx, &me.actor(), state.clock.now(), me.org_id, &m, &Signatory::of(&chair)).await?;
    tx.commit().await?;
    Ok(redirect_with(
        &state,
        &format!("/meetings/{id}"),
        Flash::success("You signed the minutes off. The meeting record is now final; follow-up goes into its action items."),
    ))
}

/// A correction to signed-off minutes: a dated note under the record.
async fn add_addendum(State(state): State<AppState>, me: Member, Id(id): Id, Form(form): Form<addenda::Form>) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let m = get(&state.db, me.org_id, id).await?;
    let person = people::person_of_user(&state.db, me.org_id, me.user_id.into()).await?;
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
            return meeting_view_with(&state, &me, Some(m), mf, FieldErrors::default(), FieldErrors::default(), AddendumDraft { form, errors }).await;
        }
    };
    let mut tx = state.db.begin().await?;
    addenda::add(&mut tx, &me.actor(), state.clock.now(), me.org_id, SignedRecord::Meeting, m.id, &addenda::Author::of(&me, person.as_ref()), &body).await?;
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
        let status = ActionStatus::parse(&self.status).unwrap_or(ActionStatus::Open);
        let closing_note = parse_optional(&self.closing_note, "the closing note", 4000, true).map_err(|e| errors.add("closing_note", e)).unwrap_or_default();
        if status != ActionStatus::Open && closing_note.is_empty() {
            errors.add("closing_note", "Say how it was closed: the auditor will ask.");
        }
        if errors.is_empty() { Ok(ActionFields { title, owner_id: parse_choice(&self.owner_id), due_on, status, closing_note }) } else { Err(errors) }
    }
}

async fn add_action(State(state): State<AppState>, me: Member, Id(id): Id, Form(form): Form<ActionForm>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let m = get(&state.db, me.org_id, id).await?;
    let fields = match form.parse() {
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
    me.require(Action::ViewLeadership)?;
    Ok(ActionsPage {
        layout: Layout::build(&state.db, &me.visitor, "Action items").await?,
        actions: actions(&state.db, me.org_id, None).await?,
        today: state.clock.now().date_naive(),
    })
}

async fn actions_export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let today = state.clock.now().date_naive();
    let org_id = me.org_id;
    Ok(csv::stream(
        "action-items.csv",
        &["title", "meeting", "owner", "due_on", "status", "overdue", "closing_note", "closed_at"],
        state.db.clone(),
        actions_sql(),
        move |q| q.bind(org_id).bind(None::<Uuid>),
        move |a: ActionItem| {
            vec![
                a.title.clone(),
                a.meeting_title.clone().unwrap_or_default(),
                a.owner_name.clone().unwrap_or_default(),
                a.due_on.map(|d| d.to_string()).unwrap_or_default(),
                a.status().label().into(),
                if a.overdue(today) { "yes" } else { "no" }.into(),
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
    let keep: Vec<Uuid> = action.owner_id.into_iter().collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ActionPage {
        layout: Layout::build(&state.db, &me.visitor, action.title.clone()).await?,
        people: people::choices(&state.db, me.org_id, today, &keep).await?,
        statuses: ActionStatus::ALL.to_vec(),
        evidence: evidence::for_target(&state.db, me.org_id, Target { kind: TargetKind::ActionItem, id: action.id }).await?,
        history: audit::history(&state.db, me.org_id, "action_item", action.id, 30).await?,
        can_manage: me.can(Action::ManageLeadership),
        can_upload: me.can(Action::UploadEvidence),
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
        owner_id: a.owner_id.map(|o| o.to_string()).unwrap_or_default(),
        due_on: a.due_on.map(|d| d.to_string()).unwrap_or_default(),
        status: a.status.clone(),
        closing_note: a.closing_note.clone(),
    }
}

async fn action_page(State(state): State<AppState>, me: Member, Id(id): Id) -> AppResult<Response> {
    me.require(Action::ViewLeadership)?;
    let a = action(&state.db, me.org_id, id).await?;
    let form = action_form(&a);
    action_view(&state, &me, a, form, FieldErrors::default()).await
}

async fn update_action(State(state): State<AppState>, me: Member, Id(id): Id, Form(form): Form<ActionForm>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, crate::ids::ActionItemId::from(id)).await?;
    let a = action(&mut *tx, me.org_id, id).await?;
    let fields = match form.parse() {
        Ok(f) => f,
        Err(errors) => {
            drop(tx);
            return action_view(&state, &me, a, form, errors).await;
        }
    };
    let changed = save_action(&mut tx, &me.actor(), state.clock.now(), me.org_id, &a, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/actions/{id}"), Flash::success(if changed { "Saved." } else { "Nothing changed." })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_review_follows_the_cadence() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-11-02");
        assert_eq!(next_review_due(None, 12, today), today, "no review yet: one is due now");
        assert_eq!(next_review_due(Some(d("2026-06-30")), 3, today), d("2026-09-30"));
        assert_eq!(next_review_due(Some(d("2026-06-30")), 12, today), d("2027-06-30"));
    }
}
