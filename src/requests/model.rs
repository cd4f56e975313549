//! Evidence requests: what an auditor asks to see against a requirement
//! ("show me the Q3 review minutes"), answered by the ISMS side with a note
//! and linked evidence, then closed (or reopened) by the asker's side.
use crate::ids::{EvidenceRequestId, OrgId, RequirementId, UserId};
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

crate::text_enum! {
    /// Where a request stands.
    pub enum Status {
        Open = "open" => "Waiting for an answer",
        Answered = "answered" => "Answered, waiting for the auditor",
        Closed = "closed" => "Closed",
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub id: EvidenceRequestId,
    pub requirement_id: RequirementId,
    pub code: String,
    pub requirement_title: String,
    pub question: String,
    pub status: Status,
    pub asked_by: UserId,
    pub asked_by_name: String,
    pub asked_at: DateTime<Utc>,
    pub answer: String,
    pub answered_by_name: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub evidence_count: i64,
}

impl Request {
    pub fn status(&self) -> Status {
        self.status
    }
    /// Waiting for an answer.
    pub fn is_open(&self) -> bool {
        self.status == Status::Open
    }
    pub fn is_answered(&self) -> bool {
        self.status == Status::Answered
    }
    pub fn is_closed(&self) -> bool {
        self.status == Status::Closed
    }
}

/// Requests of the organisation, open ones first, newest first; optionally
/// of one status or one requirement; or one (`id`).
fn select(
    org_id: OrgId,
    id: Option<EvidenceRequestId>,
    status: Option<Status>,
    requirement: Option<RequirementId>,
) -> sqlx::query::Map<'static, sqlx::Postgres, impl FnMut(sqlx::postgres::PgRow) -> Result<Request, sqlx::Error> + Send, sqlx::postgres::PgArguments> {
    sqlx::query_as!(
        Request,
        r#"SELECT q.id AS "id: EvidenceRequestId", q.requirement_id AS "requirement_id: RequirementId", r.code, r.title AS requirement_title, q.question,
           q.status AS "status: Status", q.asked_by AS "asked_by: UserId", a.name AS asked_by_name, q.asked_at, q.answer, b.name AS "answered_by_name?",
           q.answered_at, q.closed_at,
           (SELECT count(*) FROM evidence_links l WHERE l.org_id = q.org_id AND l.target_kind = 'evidence_request' AND l.target_id = q.id) AS "evidence_count!"
      FROM evidence_requests q
      JOIN requirements r ON r.id = q.requirement_id
      JOIN users a ON a.id = q.asked_by
      LEFT JOIN users b ON b.id = q.answered_by
     WHERE q.org_id = $1 AND ($2::uuid IS NULL OR q.id = $2) AND ($3::text IS NULL OR q.status = $3) AND ($4::uuid IS NULL OR q.requirement_id = $4)
     ORDER BY array_position(ARRAY['open','answered','closed'], q.status), q.asked_at DESC"#,
        org_id.0,
        id.map(|i| i.0),
        status.map(Status::as_str),
        requirement.map(|r| r.0),
    )
}

/// Requests of the organisation, open ones first, newest first; optionally
/// of one status or one requirement.
pub async fn list(db: &PgPool, org_id: OrgId, status: Option<Status>, requirement: Option<RequirementId>) -> AppResult<Vec<Request>> {
    Ok(select(org_id, None, status, requirement).fetch_all(db).await?)
}

pub async fn get(db: &PgPool, org_id: OrgId, id: EvidenceRequestId) -> AppResult<Request> {
    select(org_id, Some(id), None, None).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

pub async fn raise(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, requirement_id: RequirementId, question: &str) -> AppResult<EvidenceRequestId> {
    let code = sqlx::query_scalar!("SELECT code FROM requirements WHERE id = $1 AND retired_at IS NULL", requirement_id.0).fetch_optional(&mut *conn).await?;
    let Some(code) = code else { return Err(AppError::NotFound) };
    let asked_by = actor.user_id.ok_or(AppError::Forbidden)?;
    let id = EvidenceRequestId::new();
    sqlx::query!(
        "INSERT INTO evidence_requests (id, org_id, requirement_id, question, asked_by, asked_at) VALUES ($1, $2, $3, $4, $5, $6)",
        id.0,
        org_id.0,
        requirement_id.0,
        question,
        asked_by.0,
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "evidence_request.raised", "evidence_request", id, json!({"requirement": code, "question": question})).await?;
    Ok(id)
}

/// Locks a request for a change and returns its status.
pub async fn lock(conn: &mut PgConnection, org_id: OrgId, id: EvidenceRequestId) -> AppResult<Status> {
    sqlx::query_scalar!(r#"SELECT status AS "status: Status" FROM evidence_requests WHERE org_id = $1 AND id = $2 FOR UPDATE"#, org_id.0, id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AppError::NotFound)
}

/// Answers (or re-answers) a request. Evidence is linked separately, through
/// the one linking mechanism; an answer needs a note or linked evidence.
pub async fn answer(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, id: EvidenceRequestId, note: &str) -> AppResult<()> {
    if lock(conn, org_id, id).await? == Status::Closed {
        return Err(AppError::Conflict("This request is closed. The auditor can reopen it if they need more.".into()));
    }
    let linked = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM evidence_links WHERE org_id = $1 AND target_kind = 'evidence_request' AND target_id = $2"#,
        org_id.0,
        id.0
    )
    .fetch_one(&mut *conn)
    .await?;
    if note.trim().is_empty() && linked == 0 {
        return Err(AppError::BadRequest("Write an answer or link evidence to the request first.".into()));
    }
    sqlx::query!(
        "UPDATE evidence_requests SET status = $6, answer = $3, answered_by = $4, answered_at = $5 WHERE org_id = $1 AND id = $2",
        org_id.0,
        id.0,
        note,
        actor.user_id.map(|u| u.0),
        now,
        Status::Answered.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "evidence_request.answered", "evidence_request", id, json!({"answer": note, "evidence_items": linked})).await?;
    Ok(())
}

/// Closes a request (the asker is satisfied) or reopens it.
pub async fn set_closed(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, id: EvidenceRequestId, closed: bool) -> AppResult<()> {
    let status = lock(conn, org_id, id).await?;
    if (status == Status::Closed) == closed {
        return Ok(());
    }
    let (new_status, action) = if closed { (Status::Closed, "evidence_request.closed") } else { (Status::Open, "evidence_request.reopened") };
    sqlx::query!(
        "UPDATE evidence_requests SET status = $3, closed_by = $4, closed_at = $5 WHERE org_id = $1 AND id = $2",
        org_id.0,
        id.0,
        new_status.as_str(),
        if closed { actor.user_id.map(|u| u.0) } else { None },
        if closed { Some(now) } else { None },
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, action, "evidence_request", id, json!({"status": [status, new_status]})).await?;
    Ok(())
}
