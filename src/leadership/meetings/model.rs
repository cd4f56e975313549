//! Meetings and their action items: the queries and the types.
use super::super::check_people;
use crate::audit::{self, Actor, Changes};
use crate::error::{AppError, AppResult};
use crate::evidence::model::{self as evidence, Target, TargetKind};
use crate::ids::{ActionItemId, MeetingId, ObjectiveId, OrgId, PersonId, UserId};
use crate::people::attribution::{Signatory, Via, byline};
use chrono::{DateTime, Months, NaiveDate, Utc};
use futures_util::stream::BoxStream;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

crate::text_enum! {
    /// What kind of meeting it was.
    pub enum MeetingKind {
        ManagementReview = "management_review" => "Management review (clause 9.3)",
        Steering = "steering" => "Security steering meeting",
        Other = "other" => "Other meeting",
    }
}

crate::text_enum! {
    /// Where an action item stands.
    pub enum ActionStatus {
        Open = "open" => "Open",
        Done = "done" => "Done",
        Dropped = "dropped" => "Dropped",
    }
}

/// What a management review should look at.
/// What a management review considers, in the order of clause 9.3.2 of the
/// 2022 edition (the gap list names a review that left any out).
pub const INPUTS: [(&str, &str); 7] = [
    ("earlier_actions", "Where the actions of earlier reviews stand"),
    ("context", "What changed inside and outside the organisation that bears on the ISMS"),
    ("interested_parties", "What changed in what interested parties need and expect"),
    ("performance", "How security performs, and its trends: nonconformities and corrective actions, monitoring, audit results, objectives"),
    ("feedback", "What interested parties have told us"),
    ("risk", "Risk assessment results and where the treatment plan stands"),
    ("improvement", "Chances to improve"),
];

/// When the next management review is due: the last one held plus the
/// cadence. Without any, one is due now.
pub fn next_review_due(last_held: Option<NaiveDate>, cadence_months: i32, today: NaiveDate) -> NaiveDate {
    last_held.and_then(|d| d.checked_add_months(Months::new(u32::try_from(cadence_months).ok()?))).unwrap_or(today)
}

#[derive(Debug, Clone)]
pub struct Meeting {
    pub id: MeetingId,
    pub kind: MeetingKind,
    pub title: String,
    pub planned_on: Option<NaiveDate>,
    pub held_on: Option<NaiveDate>,
    pub chair_id: Option<PersonId>,
    pub chair_name: Option<String>,
    pub chair_user_id: Option<UserId>,
    pub attendee_ids: Vec<PersonId>,
    pub inputs: Vec<String>,
    pub objective_ids: Vec<ObjectiveId>,
    pub minutes: String,
    pub decisions: String,
    pub created_at: DateTime<Utc>,
    pub signed_off_name: Option<String>,
    pub signed_off_at: Option<DateTime<Utc>>,
    /// The person the sign-off stands for, their title then, and the e-mail of the account that made it.
    pub signed_off_as: Option<PersonId>,
    pub signed_off_title: Option<String>,
    pub signed_off_account: Option<String>,
    /// Signed off on paper: the account that recorded it in Mandate, and when.
    pub signed_off_recorded_account: Option<String>,
    pub signed_off_recorded_at: Option<DateTime<Utc>>,
    /// Evidence items linked to the meeting (minutes files and the like).
    pub evidence_count: i64,
    /// Those present who are top management: the chair counts as present.
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
        self.kind
    }
    pub fn is_signed(&self) -> bool {
        self.signed_off_at.is_some()
    }
    /// Who signed off: "Name, Title, signed in as e-mail" or "…, on paper,
    /// recorded in Mandate by e-mail" (what is known of it).
    pub fn signed_off_byline(&self) -> String {
        byline(self.signed_off_name.as_deref(), self.signed_off_title.as_deref(), self.signed_off_via())
    }
    pub fn signed_off_via(&self) -> Via<'_> {
        Via::paper_or(self.signed_off_recorded_account.as_deref(), self.signed_off_account.as_deref())
    }
    /// The minutes were signed off on paper (and recorded here later).
    pub fn signed_on_paper(&self) -> bool {
        self.signed_off_recorded_at.is_some()
    }
    /// Minutes are typed in, or a file is linked.
    pub fn has_minutes(&self) -> bool {
        !self.minutes.trim().is_empty() || self.evidence_count > 0
    }
    pub fn covers(&self, input: &str) -> bool {
        self.inputs.iter().any(|i| i == input)
    }
}

/// The meetings of an organisation: one (`id`), those waiting for the
/// sign-off of the chair linked to `chair_user` (held, not signed, oldest
/// first), or all of them (latest first, undated on top). The addenda
/// lines are written as `addenda::lines_sql` writes them.
fn select(
    org_id: OrgId,
    id: Option<MeetingId>,
    chair_user: Option<UserId>,
) -> sqlx::query::Map<'static, sqlx::Postgres, impl FnMut(sqlx::postgres::PgRow) -> Result<Meeting, sqlx::Error> + Send, sqlx::postgres::PgArguments> {
    sqlx::query_as!(
        Meeting,
        r#"SELECT m.id AS "id: MeetingId", m.kind AS "kind: MeetingKind", m.title, m.planned_on, m.held_on, m.chair_id AS "chair_id: PersonId",
        c.name AS "chair_name?", c.acting_user_id AS "chair_user_id?: UserId", m.attendee_ids AS "attendee_ids: Vec<PersonId>", m.inputs,
        m.objective_ids AS "objective_ids: Vec<ObjectiveId>", m.minutes, m.decisions, m.created_at,
        m.signed_off_name, m.signed_off_at, m.signed_off_as AS "signed_off_as: PersonId", m.signed_off_title, su.email AS "signed_off_account?",
        ru.email AS "signed_off_recorded_account?", m.signed_off_recorded_at,
        (SELECT count(*) FROM evidence_links l WHERE l.org_id = m.org_id AND l.target_kind = 'meeting' AND l.target_id = m.id) AS "evidence_count!",
        (SELECT count(*) FROM people p WHERE p.org_id = m.org_id AND p.id = ANY(m.attendee_ids || m.chair_id) AND p.top_management) AS "top_attendees!",
        (SELECT count(*) FROM action_items a WHERE a.org_id = m.org_id AND a.meeting_id = m.id AND a.status = 'open') AS "open_actions!",
        CASE WHEN m.signed_off_at IS NOT NULL THEN
             ARRAY(SELECT p.item_title || COALESCE(' (revision ' || r.number || ', ' || r.filename || ', SHA-256 ' || encode(r.sha256, 'hex') || ')', '')
                     FROM evidence_pins p LEFT JOIN evidence_revisions r ON r.org_id = p.org_id AND r.id = p.revision_id
                    WHERE p.org_id = m.org_id AND p.target_kind = 'meeting' AND p.target_id = m.id ORDER BY p.item_title, p.item_id)
        ELSE ARRAY(SELECT i.title || COALESCE(' (revision ' || r.number || ', ' || r.filename || ', SHA-256 ' || encode(r.sha256, 'hex') || ')', '')
                     FROM evidence_links l JOIN evidence_items i ON i.org_id = l.org_id AND i.id = l.item_id
                     LEFT JOIN LATERAL (SELECT v.number, v.filename, v.sha256 FROM evidence_revisions v WHERE v.org_id = i.org_id AND v.item_id = i.id
                                         ORDER BY v.number DESC LIMIT 1) r ON true
                    WHERE l.org_id = m.org_id AND l.target_kind = 'meeting' AND l.target_id = m.id ORDER BY i.title, i.id)
        END AS "evidence!",
        ARRAY(SELECT to_char(ad.written_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') || ' ' ||
                      concat_ws(', ', ad.author_name, NULLIF(ad.author_title, ''), 'signed in as ' || adu.email) || ': ' || ad.body
                 FROM addenda ad LEFT JOIN users adu ON adu.id = ad.written_by
                WHERE ad.org_id = m.org_id AND ad.target_kind = 'meeting' AND ad.target_id = m.id
                ORDER BY ad.written_at, ad.id) AS "addenda!"
   FROM meetings m LEFT JOIN people c ON c.org_id = m.org_id AND c.id = m.chair_id
   LEFT JOIN users su ON su.id = m.signed_off_by
   LEFT JOIN users ru ON ru.id = m.signed_off_recorded_by
  WHERE m.org_id = $1 AND ($2::uuid IS NULL OR m.id = $2)
    AND ($3::uuid IS NULL OR (c.acting_user_id = $3 AND m.held_on IS NOT NULL AND m.signed_off_at IS NULL))
  ORDER BY CASE WHEN $3::uuid IS NOT NULL THEN m.held_on END, COALESCE(m.held_on, m.planned_on) DESC NULLS FIRST, m.created_at DESC"#,
        org_id.0,
        id.map(|i| i.0),
        chair_user.map(|u| u.0),
    )
}

reads!(Meeting, MeetingId, |org, id| select(org, id, None));

/// Held meetings chaired by the person linked to `user_id` whose minutes are not signed off.
pub async fn to_sign_by_user(db: &PgPool, org_id: OrgId, user_id: UserId) -> AppResult<Vec<Meeting>> {
    Ok(select(org_id, None, Some(user_id)).fetch_all(db).await?)
}

/// The organisation's review cadence in months.
pub async fn cadence(db: &PgPool, org_id: OrgId) -> AppResult<i32> {
    Ok(sqlx::query_scalar!("SELECT review_cadence_months FROM organisations WHERE id = $1", org_id.0).fetch_one(db).await?)
}

/// Sets how often management reviews are due; `false` when it was so already.
pub async fn set_cadence(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, months: i32) -> AppResult<()> {
    let before = sqlx::query_scalar!("SELECT review_cadence_months FROM organisations WHERE id = $1 FOR UPDATE", org_id.0).fetch_one(&mut *conn).await?;
    if before != months {
        crate::history::stamp(&mut *conn, now).await?;
        sqlx::query!("UPDATE organisations SET review_cadence_months = $2 WHERE id = $1", org_id.0, months).execute(&mut *conn).await?;
        audit::record(conn, actor, now, "organisation.review_cadence_set", "organisation", org_id, json!({"months": [before, months]})).await?;
    }
    Ok(())
}

/// What the meeting form sets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeetingFields {
    pub kind: Option<MeetingKind>,
    pub title: String,
    pub planned_on: Option<NaiveDate>,
    pub held_on: Option<NaiveDate>,
    pub chair_id: Option<PersonId>,
    pub attendee_ids: Vec<PersonId>,
    pub inputs: Vec<String>,
    pub objective_ids: Vec<ObjectiveId>,
    pub minutes: String,
    pub decisions: String,
}

impl MeetingFields {
    /// The chair and the attendees.
    fn people(&self) -> Vec<PersonId> {
        self.attendee_ids.iter().copied().chain(self.chair_id).collect()
    }
}

async fn check_objectives(conn: &mut PgConnection, org_id: OrgId, ids: &[ObjectiveId]) -> AppResult<()> {
    let found = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM objectives WHERE org_id = $1 AND id = ANY($2)"#, org_id.0, ids as _).fetch_one(conn).await?;
    if found as usize != ids.len() {
        return Err(AppError::BadRequest("An objective chosen is not in this organisation.".into()));
    }
    Ok(())
}

pub async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &MeetingFields) -> AppResult<MeetingId> {
    check_people(conn, org_id, &f.people()).await?;
    check_objectives(conn, org_id, &f.objective_ids).await?;
    let id = MeetingId::new();
    sqlx::query!(
        "INSERT INTO meetings (id, org_id, kind, title, planned_on, held_on, chair_id, attendee_ids, inputs, objective_ids, minutes, decisions,
                               created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
        id.0,
        org_id.0,
        f.kind.unwrap_or(MeetingKind::Other).as_str(),
        f.title,
        f.planned_on,
        f.held_on,
        f.chair_id.map(|p| p.0),
        &f.attendee_ids as _,
        &f.inputs,
        &f.objective_ids as _,
        f.minutes,
        f.decisions,
        actor.user_id.map(|u| u.0),
        now,
    )
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

pub const FINAL: &str = "This meeting is signed off and its record is final. To correct it, add an addendum under the record; record follow-up as action items.";

pub async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Meeting, f: &MeetingFields) -> AppResult<bool> {
    if before.is_signed() {
        return Err(AppError::Conflict(FINAL.into()));
    }
    let mut c = Changes::new();
    c.field("kind", before.kind.as_str(), f.kind.map(MeetingKind::as_str))
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
    check_people(conn, org_id, &f.people()).await?;
    check_objectives(conn, org_id, &f.objective_ids).await?;
    let done = sqlx::query!(
        "UPDATE meetings SET kind = $3, title = $4, planned_on = $5, held_on = $6, chair_id = $7, attendee_ids = $8, inputs = $9,
                objective_ids = $10, minutes = $11, decisions = $12, updated_at = $13
          WHERE org_id = $1 AND id = $2 AND signed_off_at IS NULL",
        org_id.0,
        before.id.0,
        f.kind.unwrap_or(MeetingKind::Other).as_str(),
        f.title,
        f.planned_on,
        f.held_on,
        f.chair_id.map(|p| p.0),
        &f.attendee_ids as _,
        &f.inputs,
        &f.objective_ids as _,
        f.minutes,
        f.decisions,
        now,
    )
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
/// The title is the person's job title now, as `attribution::title_sql` reads it.
pub async fn sign(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, m: &Meeting, chair: &Signatory) -> AppResult<()> {
    if let Some(why) = sign_off_blocker(m) {
        return Err(AppError::Conflict(why.into()));
    }
    let name = chair.name.as_str();
    let chair_id: Option<PersonId> = chair.person_id;
    let done = sqlx::query!(
        "UPDATE meetings SET signed_off_by = $3, signed_off_name = $4, signed_off_at = $5, signed_off_as = $6,
                signed_off_title = (SELECT NULLIF(btrim(t.job_title), '') FROM people t WHERE t.org_id = $1 AND t.id = $6)
          WHERE org_id = $1 AND id = $2 AND signed_off_at IS NULL",
        org_id.0,
        m.id.0,
        actor.user_id.map(|u| u.0),
        name,
        now,
        chair_id.map(|p| p.0),
    )
    .execute(&mut *conn)
    .await?;
    let what = json!({"title": m.title, "held_on": m.held_on, "chair": name, "chair_id": chair_id});
    signed_off(conn, actor, now, org_id, m, done.rows_affected(), "meeting.signed_off", what).await
}

/// What every sign-off does once its row is written (`rows` of them): it
/// pins the linked evidence at the revisions current now (what it is signed
/// with) and writes the audit row `action` with `what` and the pinned count.
#[allow(clippy::too_many_arguments)]
async fn signed_off(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    m: &Meeting,
    rows: u64,
    action: &'static str,
    mut what: serde_json::Value,
) -> AppResult<()> {
    if rows == 0 {
        return Err(AppError::Conflict("The minutes are already signed off.".into()));
    }
    let pinned = evidence::pin(conn, now, org_id, Target { kind: TargetKind::Meeting, id: m.id.0 }).await?;
    what["evidence_pinned"] = json!(pinned);
    audit::record(conn, actor, now, action, "meeting", m.id, what).await?;
    Ok(())
}

/// Why minutes signed off on paper on `signed_on` cannot be recorded, if
/// anything stops it: what stops a sign-off in Mandate, no chair to have
/// signed, or a day after today or before the meeting.
pub fn paper_sign_off_blocker(m: &Meeting, signed_on: NaiveDate, today: NaiveDate) -> Option<&'static str> {
    if let Some(why) = sign_off_blocker(m) {
        Some(why)
    } else if m.evidence_count == 0 {
        Some("Link the scan of the signed minutes first: it is what shows the chair's signature.")
    } else if m.chair_id.is_none() {
        Some("Record who chaired the meeting first: the chair is the one who signed the minutes off.")
    } else if signed_on > today {
        Some("A paper sign-off happened in the past: choose today or an earlier day.")
    } else if m.held_on.is_some_and(|held| signed_on < held) {
        Some("The minutes were signed off after the meeting: choose the day it was held or a later one.")
    } else {
        None
    }
}

/// Minutes the chair signed off on paper before Mandate, on `signed_on`:
/// recorded by the signed-in member of top management (the actor, whose
/// account `recorded_by` is), marked everywhere as signed on paper and by
/// whom it was recorded and when, never as a sign-off made in Mandate. The
/// record is final from then on, counts from its own dates (views of past
/// days too: `meetings_known_on`), and its linked evidence (the scan of
/// the signed minutes) is pinned as it is now.
pub async fn record_paper_sign_off(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    m: &Meeting,
    signed_on: NaiveDate,
    recorded_by: UserId,
) -> AppResult<()> {
    if let Some(why) = paper_sign_off_blocker(m, signed_on, now.date_naive()) {
        return Err(AppError::Conflict(why.into()));
    }
    let at = signed_on.and_time(chrono::NaiveTime::MIN).and_utc();
    let held = m.held_on.map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc());
    let done = sqlx::query!(
        "UPDATE meetings SET signed_off_name = c.name, signed_off_at = $3, signed_off_as = c.id,
                signed_off_title = NULLIF(btrim(c.job_title), ''), signed_off_recorded_by = $4, signed_off_recorded_at = $5,
                created_at = LEAST(meetings.created_at, $6)
           FROM people c
          WHERE meetings.org_id = $1 AND meetings.id = $2 AND meetings.signed_off_at IS NULL
            AND c.org_id = meetings.org_id AND c.id = meetings.chair_id",
        org_id.0,
        m.id.0,
        at,
        recorded_by.0,
        now,
        held,
    )
    .execute(&mut *conn)
    .await?;
    let what = json!({"title": m.title, "held_on": m.held_on, "chair": m.chair_name, "chair_id": m.chair_id, "signed_on": signed_on});
    signed_off(conn, actor, now, org_id, m, done.rows_affected(), "meeting.signed_off_on_paper", what).await
}

/// The objectives a meeting may review, by title.
pub struct ObjectiveChoice {
    pub id: ObjectiveId,
    pub title: String,
}

pub async fn objective_choices(db: &PgPool, org_id: OrgId) -> AppResult<Vec<ObjectiveChoice>> {
    Ok(sqlx::query_as!(ObjectiveChoice, r#"SELECT id AS "id: ObjectiveId", title FROM objectives WHERE org_id = $1 ORDER BY title"#, org_id.0).fetch_all(db).await?)
}

// ---------- action items ----------

#[derive(Debug, Clone)]
pub struct ActionItem {
    pub id: ActionItemId,
    pub meeting_id: Option<MeetingId>,
    pub meeting_title: Option<String>,
    pub title: String,
    pub owner_id: Option<PersonId>,
    pub owner_name: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub status: ActionStatus,
    pub closing_note: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl ActionItem {
    pub fn status(&self) -> ActionStatus {
        self.status
    }
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status == ActionStatus::Open && self.due_on.is_some_and(|d| d < today)
    }
}

/// Action items, open ones first: one (`id`), a meeting's, or all.
fn select_actions(
    org_id: OrgId,
    meeting: Option<MeetingId>,
    id: Option<ActionItemId>,
) -> sqlx::query::Map<'static, sqlx::Postgres, impl FnMut(sqlx::postgres::PgRow) -> Result<ActionItem, sqlx::Error> + Send, sqlx::postgres::PgArguments> {
    sqlx::query_as!(
        ActionItem,
        r#"SELECT a.id AS "id: ActionItemId", a.meeting_id AS "meeting_id: MeetingId", m.title AS "meeting_title?", a.title,
        a.owner_id AS "owner_id: PersonId", o.name AS "owner_name?", a.due_on,
        a.status AS "status: ActionStatus", a.closing_note, a.closed_at, a.created_at
   FROM action_items a
   LEFT JOIN meetings m ON m.org_id = a.org_id AND m.id = a.meeting_id
   LEFT JOIN people o ON o.org_id = a.org_id AND o.id = a.owner_id
  WHERE a.org_id = $1 AND ($2::uuid IS NULL OR a.meeting_id = $2) AND ($3::uuid IS NULL OR a.id = $3)
  ORDER BY a.status = 'open' DESC, a.due_on NULLS LAST, a.created_at"#,
        org_id.0,
        meeting.map(|m| m.0),
        id.map(|i| i.0),
    )
}

pub async fn actions(db: &PgPool, org_id: OrgId, meeting: Option<MeetingId>) -> AppResult<Vec<ActionItem>> {
    Ok(select_actions(org_id, meeting, None).fetch_all(db).await?)
}

/// All action items as `actions` orders them, read as they are sent.
pub fn actions_stream(db: &PgPool, org_id: OrgId) -> BoxStream<'_, Result<ActionItem, sqlx::Error>> {
    select_actions(org_id, None, None).fetch(db)
}

pub async fn action(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: ActionItemId) -> AppResult<ActionItem> {
    select_actions(org_id, None, Some(id)).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionFields {
    pub title: String,
    pub owner_id: Option<PersonId>,
    pub due_on: Option<NaiveDate>,
    pub status: ActionStatus,
    pub closing_note: String,
}

pub async fn insert_action(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, meeting_id: MeetingId, f: &ActionFields) -> AppResult<ActionItemId> {
    check_people(conn, org_id, &f.owner_id.into_iter().collect::<Vec<_>>()).await?;
    let id = ActionItemId::new();
    sqlx::query!(
        "INSERT INTO action_items (id, org_id, meeting_id, title, owner_id, due_on, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $7)",
        id.0,
        org_id.0,
        meeting_id.0,
        f.title,
        f.owner_id.map(|p| p.0),
        f.due_on,
        now,
    )
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
        .field("status", before.status, f.status)
        .field("closing_note", &before.closing_note, &f.closing_note);
    if c.is_empty() {
        return Ok(false);
    }
    check_people(conn, org_id, &f.owner_id.into_iter().collect::<Vec<_>>()).await?;
    let closed_at = match (before.status, f.status) {
        (ActionStatus::Open, ActionStatus::Open) => None,
        (ActionStatus::Open, _) => Some(now),
        (_, ActionStatus::Open) => None,
        _ => before.closed_at,
    };
    sqlx::query!(
        "UPDATE action_items SET title = $3, owner_id = $4, due_on = $5, status = $6, closing_note = $7, closed_at = $8, updated_at = $9
          WHERE org_id = $1 AND id = $2",
        org_id.0,
        before.id.0,
        f.title,
        f.owner_id.map(|p| p.0),
        f.due_on,
        f.status.as_str(),
        f.closing_note,
        closed_at,
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "action.updated", "action_item", before.id, c.into_value()).await?;
    Ok(true)
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
