//! Read-only lists of the leadership records and what hangs off policies
//! and requirements: resource decisions, communications, objectives, asks
//! of top management, meeting actions, policy versions, acknowledgements
//! and auditors' evidence requests. Each pages by (changed at, id) like
//! every list of the API; each query names the organisation.
use super::caller::ApiCaller;
use super::json::{ListQuery, Page};
use crate::auth::policy::{Access::Token, Action, Scope};
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::routes::Routes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub fn routes(r: Routes) -> Routes {
    let read = |a: Action| Token(a, Scope::Read);
    r.get("/api/v1/decisions", read(Action::ViewLeadership), decisions)
        .get("/api/v1/communications", read(Action::ViewLeadership), communications)
        .get("/api/v1/objectives", read(Action::ViewLeadership), objectives)
        .get("/api/v1/asks", read(Action::ViewLeadership), asks)
        .get("/api/v1/actions", read(Action::ViewLeadership), actions)
        .get("/api/v1/policy-versions", read(Action::ViewPolicies), policy_versions)
        .get("/api/v1/acknowledgements", read(Action::ViewPolicies), acknowledgements)
        .get("/api/v1/evidence-requests", read(Action::ViewEvidenceRequests), evidence_requests)
}

/// A decision on resources for the ISMS (5.1(c)): asked, then decided by top management.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiDecision {
    pub id: Uuid,
    pub title: String,
    /// `budget`, `people`, `tools`, `time`, …
    pub what: String,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub reason: String,
    pub asked_on: Option<NaiveDate>,
    /// The member of top management (a person) who decided.
    pub decided_by: Option<Uuid>,
    /// `pending`, `approved`, `rejected`, …
    pub decision: String,
    pub decided_on: Option<NaiveDate>,
    pub meeting_id: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

/// Resource decisions.
#[utoipa::path(get, path = "/api/v1/decisions", tag = "leadership", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of resource decisions", body = Page<ApiDecision>)))]
pub async fn decisions(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiDecision, r#"SELECT id, title, what, amount::float8 AS amount, currency, reason, asked_on, decided_by, decision, decided_on, meeting_id, updated_at
             FROM resource_decisions
            WHERE org_id = $1 AND ($2::timestamptz IS NULL OR updated_at >= $2)
              AND ($3::timestamptz IS NULL OR (updated_at, id) > ($3, $4::uuid))
            ORDER BY updated_at, id LIMIT $5"#, |r| (r.updated_at, r.id))
}

/// A leader's communication about security (5.1(d)).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiCommunication {
    pub id: Uuid,
    pub subject: String,
    pub summary: String,
    pub sent_on: NaiveDate,
    /// The person (a leader) it came from.
    pub from_id: Option<Uuid>,
    /// `email`, `town_hall`, `intranet`, …
    pub channel: String,
    pub audience: String,
    pub reach: Option<i32>,
    pub policy_version_id: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

/// Leaders' communications.
#[utoipa::path(get, path = "/api/v1/communications", tag = "leadership", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of communications", body = Page<ApiCommunication>)))]
pub async fn communications(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiCommunication, r#"SELECT id, subject, summary, sent_on, from_id, channel, audience, reach, policy_version_id, updated_at
             FROM communications
            WHERE org_id = $1 AND ($2::timestamptz IS NULL OR updated_at >= $2)
              AND ($3::timestamptz IS NULL OR (updated_at, id) > ($3, $4::uuid))
            ORDER BY updated_at, id LIMIT $5"#, |r| (r.updated_at, r.id))
}

/// An information security objective (5.1(a), 6.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiObjective {
    pub id: Uuid,
    pub title: String,
    pub measure: String,
    pub target: String,
    pub owner_id: Option<Uuid>,
    pub due_on: Option<NaiveDate>,
    /// `planned`, `on_track`, `at_risk`, `achieved`, …
    pub status: String,
    /// How it supports the business strategy.
    pub strategy_link: String,
    pub updated_at: DateTime<Utc>,
}

/// Objectives.
#[utoipa::path(get, path = "/api/v1/objectives", tag = "leadership", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of objectives", body = Page<ApiObjective>)))]
pub async fn objectives(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiObjective, r#"SELECT id, title, measure, target, owner_id, due_on, status, strategy_link, updated_at
             FROM objectives
            WHERE org_id = $1 AND ($2::timestamptz IS NULL OR updated_at >= $2)
              AND ($3::timestamptz IS NULL OR (updated_at, id) > ($3, $4::uuid))
            ORDER BY updated_at, id LIMIT $5"#, |r| (r.updated_at, r.id))
}

/// Something asked of a member of top management, and their answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiAsk {
    pub id: Uuid,
    /// The person (a leader) asked.
    pub asked_of: Uuid,
    pub what: String,
    pub asked_on: NaiveDate,
    pub due_on: Option<NaiveDate>,
    /// The answer, given by the leader signed in as themselves.
    pub response: String,
    pub responded_on: Option<NaiveDate>,
    pub updated_at: DateTime<Utc>,
}

/// Asks of top management.
#[utoipa::path(get, path = "/api/v1/asks", tag = "leadership", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of asks", body = Page<ApiAsk>)))]
pub async fn asks(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiAsk, r#"SELECT id, asked_of, what, asked_on, due_on, response, responded_on, updated_at
             FROM leadership_asks
            WHERE org_id = $1 AND ($2::timestamptz IS NULL OR updated_at >= $2)
              AND ($3::timestamptz IS NULL OR (updated_at, id) > ($3, $4::uuid))
            ORDER BY updated_at, id LIMIT $5"#, |r| (r.updated_at, r.id))
}

/// An action a meeting agreed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiAction {
    pub id: Uuid,
    /// The meeting that agreed it (none for an action recorded on its own).
    pub meeting_id: Option<Uuid>,
    pub title: String,
    pub owner_id: Option<Uuid>,
    pub due_on: Option<NaiveDate>,
    /// `open`, `done`, `dropped`, …
    pub status: String,
    pub closing_note: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// Actions from meetings.
#[utoipa::path(get, path = "/api/v1/actions", tag = "leadership", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of actions", body = Page<ApiAction>)))]
pub async fn actions(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiAction, r#"SELECT id, meeting_id, title, owner_id, due_on, status, closing_note, closed_at, updated_at
             FROM action_items
            WHERE org_id = $1 AND ($2::timestamptz IS NULL OR updated_at >= $2)
              AND ($3::timestamptz IS NULL OR (updated_at, id) > ($3, $4::uuid))
            ORDER BY updated_at, id LIMIT $5"#, |r| (r.updated_at, r.id))
}

/// A version of a policy: a draft, or approved (then it never changes).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiPolicyVersion {
    pub id: Uuid,
    pub policy_id: Uuid,
    pub major: i32,
    pub minor: i32,
    pub change_summary: String,
    /// The approved document's SHA-256 (hex), as signed.
    pub approved_sha256: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub approver_name: Option<String>,
    /// The approver was on the top-management roster when they signed.
    pub approver_top_management: Option<bool>,
    pub created_at: DateTime<Utc>,
    /// When it last changed (made, approved, or its approval recorded).
    pub updated_at: DateTime<Utc>,
}

/// Policy versions.
#[utoipa::path(get, path = "/api/v1/policy-versions", tag = "policies", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of policy versions", body = Page<ApiPolicyVersion>)))]
pub async fn policy_versions(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiPolicyVersion, r#"SELECT id, policy_id, major, minor, change_summary, encode(approved_sha256, 'hex') AS approved_sha256, approved_at, approver_name,
                  approver_top_management, created_at, changed_at AS "updated_at!"
             FROM (SELECT v.*, GREATEST(v.created_at, v.approved_at, v.recorded_at) AS changed_at FROM policy_versions v WHERE v.org_id = $1) v
            WHERE ($2::timestamptz IS NULL OR changed_at >= $2)
              AND ($3::timestamptz IS NULL OR (changed_at, id) > ($3, $4::uuid))
            ORDER BY changed_at, id LIMIT $5"#, |r| (r.updated_at, r.id))
}

/// A person's acknowledgement of a policy version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiAcknowledgement {
    pub id: Uuid,
    pub person_id: Uuid,
    pub policy_version_id: Uuid,
    pub acknowledged_at: DateTime<Utc>,
    /// `link` (through a personal link), `imported`, …
    pub method: String,
    /// Given outside Mandate: `paper`, `email`, `lms` or `other`.
    pub recorded_how: Option<String>,
    /// When Mandate learnt of it.
    pub updated_at: DateTime<Utc>,
}

/// Acknowledgements of policy versions.
#[utoipa::path(get, path = "/api/v1/acknowledgements", tag = "policies", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of acknowledgements", body = Page<ApiAcknowledgement>)))]
pub async fn acknowledgements(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiAcknowledgement, r#"SELECT id, person_id, policy_version_id, acknowledged_at, method, recorded_how, changed_at AS "updated_at!"
             FROM (SELECT a.*, COALESCE(a.recorded_at, a.acknowledged_at) AS changed_at FROM acknowledgements a WHERE a.org_id = $1) a
            WHERE ($2::timestamptz IS NULL OR changed_at >= $2)
              AND ($3::timestamptz IS NULL OR (changed_at, id) > ($3, $4::uuid))
            ORDER BY changed_at, id LIMIT $5"#, |r| (r.updated_at, r.id))
}

/// An auditor's request for evidence on a requirement, and its answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiEvidenceRequest {
    pub id: Uuid,
    pub requirement_id: Uuid,
    pub question: String,
    /// `open`, `answered` or `closed`.
    pub status: String,
    pub asked_at: DateTime<Utc>,
    pub answer: String,
    pub answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// Auditors' evidence requests.
#[utoipa::path(get, path = "/api/v1/evidence-requests", tag = "evidence", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of evidence requests", body = Page<ApiEvidenceRequest>)))]
pub async fn evidence_requests(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiEvidenceRequest, r#"SELECT id, requirement_id, question, status, asked_at, answer, answered_at, closed_at, changed_at AS "updated_at!"
             FROM (SELECT r.*, GREATEST(r.asked_at, r.answered_at, r.closed_at) AS changed_at FROM evidence_requests r WHERE r.org_id = $1) r
            WHERE ($2::timestamptz IS NULL OR changed_at >= $2)
              AND ($3::timestamptz IS NULL OR (changed_at, id) > ($3, $4::uuid))
            ORDER BY changed_at, id LIMIT $5"#, |r| (r.updated_at, r.id))
}
