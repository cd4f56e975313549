//! Evidence requests: what an auditor asks to see against a requirement
//! ("show me the Q3 review minutes"), answered by the ISMS side with a note
//! and linked evidence, then closed (or reopened) by the asker's side.
use crate::ids::OrgId;
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Answered,
    Closed,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Open, Status::Answered, Status::Closed];
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Answered => "answered",
            Status::Closed => "closed",
        }
    }
    pub fn parse(raw: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == raw)
    }
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "Waiting for an answer",
            Status::Answered => "Answered, waiting for the auditor",
            Status::Closed => "Closed",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Request {
    pub id: Uuid,
    pub requirement_id: Uuid,
    pub code: String,
    pub requirement_title: String,
    pub question: String,
    pub status: String,
    pub asked_by: Uuid,
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
        Status::parse(&self.status).unwrap_or(Status::Open)
    }
}

const SELECT: &str = "
    SELECT q.id, q.requirement_id, r.code, r.title AS requirement_title, q.question, q.status,
           q.asked_by, a.name AS asked_by_name, q.asked_at, q.answer, b.name AS answered_by_name, q.answered_at, q.closed_at,
           (SELECT count(*) FROM evidence_links l WHERE l.org_id = q.org_id AND l.target_kind = 'evidence_request' AND l.target_id = q.id) AS evidence_count
      FROM evidence_requests q
      JOIN requirements r ON r.id = q.requirement_id
      JOIN users a ON a.id = q.asked_by
      LEFT JOIN users b ON b.id = q.answered_by";

/// Requests of the organisation, open ones first, newest first; optionally
/// of one status or one requirement.
pub async fn list(db: &PgPool, org_id: OrgId, status: Option<Status>, requirement: Option<Uuid>) -> AppResult<Vec<Request>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE q.org_id = $1 AND ($2::text IS NULL OR q.status = $2) AND ($3::uuid IS NULL OR q.requirement_id = $3)
          ORDER BY array_position(ARRAY['open','answered','closed'], q.status), q.asked_at DESC"
    ))
    .bind(org_id)
    .bind(status.map(Status::as_str))
    .bind(requirement)
    .fetch_all(db)
    .await?)
}

pub async fn get(db: &PgPool, org_id: OrgId, id: Uuid) -> AppResult<Request> {
    sqlx::query_as(&format!("{SELECT} WHERE q.org_id = $1 AND q.id = $2")).bind(org_id).bind(id).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

pub async fn raise(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, requirement_id: Uuid, question: &str) -> AppResult<Uuid> {
    let code: Option<String> = sqlx::query_scalar("SELECT code FROM requirements WHERE id = $1 AND retired_at IS NULL")
        .bind(requirement_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(code) = code else { return Err(AppError::NotFound) };
    let asked_by = actor.user_id.ok_or(AppError::Forbidden)?;
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO evidence_requests (id, org_id, requirement_id, question, asked_by, asked_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(org_id)
    .bind(requirement_id)
    .bind(question)
    .bind(asked_by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "evidence_request.raised", "evidence_request", id, json!({"requirement": code, "question": question})).await?;
    Ok(id)
}

/// Locks a request for a change and returns its status.
pub async fn lock(conn: &mut PgConnection, org_id: OrgId, id: Uuid) -> AppResult<Status> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM evidence_requests WHERE org_id = $1 AND id = $2 FOR UPDATE")
        .bind(org_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    status.as_deref().and_then(Status::parse).ok_or(AppError::NotFound)
}

/// Answers (or re-answers) a request. Evidence is linked separately, through
/// the one linking mechanism; an answer needs a note or linked evidence.
pub async fn answer(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, id: Uuid, note: &str) -> AppResult<()> {
    if lock(conn, org_id, id).await? == Status::Closed {
        return Err(AppError::Conflict("This request is closed. The auditor can reopen it if they need more.".into()));
    }
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence_links WHERE org_id = $1 AND target_kind = 'evidence_request' AND target_id = $2")
        .bind(org_id)
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    if note.trim().is_empty() && linked == 0 {
        return Err(AppError::BadRequest("Write an answer or link evidence to the request first.".into()));
    }
    sqlx::query("UPDATE evidence_requests SET status = 'answered', answer = $3, answered_by = $4, answered_at = $5 WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .bind(note)
        .bind(actor.user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    audit::record(conn, actor, now, "evidence_request.answered", "evidence_request", id, json!({"answer": note, "evidence_items": linked})).await?;
    Ok(())
}

/// Closes a request (the asker is satisfied) or reopens it.
pub async fn set_closed(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, id: Uuid, closed: bool) -> AppResult<()> {
    let status = lock(conn, org_id, id).await?;
    if (status == Status::Closed) == closed {
        return Ok(());
    }
    let (new_status, action) = if closed { ("closed", "evidence_request.closed") } else { ("open", "evidence_request.reopened") };
    sqlx::query("UPDATE evidence_requests SET status = $3, closed_by = $4, closed_at = $5 WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .bind(new_status)
        .bind(if closed { actor.user_id } else { None })
        .bind(if closed { Some(now) } else { None })
        .execute(&mut *conn)
        .await?;
    audit::record(conn, actor, now, action, "evidence_request", id, json!({"status": [status.as_str(), new_status]})).await?;
    Ok(())
}
