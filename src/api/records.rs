//! Read-only lists and records of the JSON API: requirements, roles and
//! appointments, evidence, policies, training, meetings, findings and the
//! current gaps. Each list pages by (changed at, id) like `people`; each
//! query names the organisation.
use super::caller::ApiCaller;
use super::json::{Keyset, ListQuery, Page, reply, reply_page};
use crate::auth::policy::{Access::Token, Action, Scope};
use crate::error::{AppError, AppResult};
use crate::ids::OrgId;
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::web::Id;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub fn routes(r: Routes) -> Routes {
    let read = |a: Action| Token(a, Scope::Read);
    r.get("/api/v1/requirements", read(Action::ViewRequirements), requirements)
        .get("/api/v1/requirements/{id}", read(Action::ViewRequirements), requirement)
        .get("/api/v1/roles", read(Action::ViewRoles), roles)
        .get("/api/v1/appointments", read(Action::ViewRoles), appointments)
        .get("/api/v1/evidence", read(Action::ViewEvidence), evidence)
        .get("/api/v1/evidence/{id}", read(Action::ViewEvidence), evidence_item)
        .get("/api/v1/policies", read(Action::ViewPolicies), policies)
        .get("/api/v1/policies/{id}", read(Action::ViewPolicies), policy)
        .get("/api/v1/training/modules", read(Action::ViewTraining), modules)
        .get("/api/v1/training/records", read(Action::ViewTraining), training_records)
        .get("/api/v1/meetings", read(Action::ViewLeadership), meetings)
        .get("/api/v1/meetings/{id}", read(Action::ViewLeadership), meeting)
        .get("/api/v1/findings", read(Action::ViewGaps), findings)
        .get("/api/v1/findings/{id}", read(Action::ViewGaps), finding)
        .get("/api/v1/gaps", read(Action::ViewGaps), gaps)
}

fn one<T>(rows: Vec<T>) -> AppResult<T> {
    rows.into_iter().next().ok_or(AppError::NotFound)
}

// ---------- requirements ----------

/// A requirement of the catalogue, with this organisation's owner and status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiRequirement {
    pub id: Uuid,
    /// The clause's code, e.g. `5.3(a)`.
    pub code: String,
    pub clause: String,
    pub title: String,
    pub summary: String,
    pub applicable: bool,
    /// `not_started`, `in_progress`, `implemented` or `not_applicable`.
    pub status: String,
    /// The member who owns it.
    pub owner_id: Option<Uuid>,
    pub notes: String,
    pub updated_at: DateTime<Utc>,
}

async fn fetch_requirements(db: &sqlx::PgPool, org: OrgId, one: Option<Uuid>, k: &Keyset) -> AppResult<Vec<ApiRequirement>> {
    Ok(sqlx::query_as!(
        ApiRequirement,
        r#"SELECT r.id, r.code, r.clause, r.title, r.summary, COALESCE(s.applicable, true) AS "applicable!",
                  COALESCE(s.status, 'not_started') AS "status!", s.owner_id AS "owner_id?", COALESCE(s.notes, '') AS "notes!",
                  COALESCE(s.updated_at, 'epoch'::timestamptz) AS "updated_at!"
             FROM requirements r
        LEFT JOIN requirement_states s ON s.requirement_id = r.id AND s.org_id = $1
            WHERE r.retired_at IS NULL AND ($2::uuid IS NULL OR r.id = $2)
              AND ($3::timestamptz IS NULL OR COALESCE(s.updated_at, 'epoch') >= $3)
              AND ($4::timestamptz IS NULL OR (COALESCE(s.updated_at, 'epoch'), r.id) > ($4, $5::uuid))
            ORDER BY COALESCE(s.updated_at, 'epoch'), r.id
            LIMIT $6"#,
        org.0,
        one,
        k.since,
        k.after_at,
        k.after_id,
        k.fetch
    )
    .fetch_all(db)
    .await?)
}

/// The requirements (clause 5 and Annex A 5.4), with owner and status.
#[utoipa::path(get, path = "/api/v1/requirements", tag = "requirements", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of requirements", body = Page<ApiRequirement>)))]
pub async fn requirements(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let k = q.keyset()?;
    let rows = fetch_requirements(&state.db, me.token.org_id, None, &k).await?;
    reply_page(&headers, rows, &k, |r| (r.updated_at, r.id))
}

/// One requirement.
#[utoipa::path(get, path = "/api/v1/requirements/{id}", tag = "requirements", security(("bearer" = ["read"])),
    params(("id" = Uuid, Path, description = "The requirement's id")),
    responses((status = 200, description = "The requirement", body = ApiRequirement), (status = 404, description = "No such requirement", body = super::doc::Problem)))]
pub async fn requirement(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Id(id): Id<Uuid>) -> AppResult<Response> {
    reply(&headers, StatusCode::OK, &one(fetch_requirements(&state.db, me.token.org_id, Some(id), &Keyset::ONE).await?)?)
}

// ---------- roles and appointments ----------

/// An ISMS role (clause 5.3).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiRole {
    pub id: Uuid,
    pub name: String,
    pub responsibilities: String,
    pub authorities: String,
    /// Carries 5.3(a): making sure the ISMS conforms to the standard.
    pub carries_conformance: bool,
    /// Carries 5.3(b): reporting on the ISMS's performance to top management.
    pub carries_reporting: bool,
    pub retired_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// The ISMS roles.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of roles", body = Page<ApiRole>)))]
pub async fn roles(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiRole, r#"SELECT id, name, responsibilities, authorities, carries_conformance, carries_reporting, retired_at, updated_at
             FROM isms_roles
            WHERE org_id = $1 AND ($2::timestamptz IS NULL OR updated_at >= $2)
              AND ($3::timestamptz IS NULL OR (updated_at, id) > ($3, $4::uuid))
            ORDER BY updated_at, id LIMIT $5"#, |r| (r.updated_at, r.id))
}

/// Someone appointed to a role, by whom, and whether confirmed and accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiAppointment {
    pub id: Uuid,
    pub role_id: Uuid,
    pub person_id: Uuid,
    /// `holder` or `deputy`.
    pub capacity: String,
    /// The member of top management who appointed them.
    pub appointed_by: Option<Uuid>,
    pub appointed_on: Option<NaiveDate>,
    /// When the appointer confirmed it (signed in as themselves, or on paper).
    pub confirmed_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub ended_on: Option<NaiveDate>,
    /// When the appointment was last touched: made, confirmed or accepted (or the start of the day it ends).
    pub changed_at: DateTime<Utc>,
}

/// Appointments to ISMS roles.
#[utoipa::path(get, path = "/api/v1/appointments", tag = "roles", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of appointments", body = Page<ApiAppointment>)))]
pub async fn appointments(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiAppointment, r#"SELECT id, role_id, person_id, capacity, appointed_by, appointed_on, confirmed_at, accepted_at, ended_on, changed_at AS "changed_at!"
             FROM (SELECT a.*, GREATEST(a.created_at, a.confirmed_at, a.accepted_at, a.confirmed_recorded_at, a.accepted_recorded_at,
                                        (a.ended_on::timestamp AT TIME ZONE 'UTC')) AS changed_at
                     FROM role_appointments a WHERE a.org_id = $1) a
            WHERE ($2::timestamptz IS NULL OR changed_at >= $2)
              AND ($3::timestamptz IS NULL OR (changed_at, id) > ($3, $4::uuid))
            ORDER BY changed_at, id LIMIT $5"#, |r| (r.changed_at, r.id))
}

// ---------- evidence ----------

/// An evidence item, with its latest file.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiEvidence {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    /// `document`, `record`, `screenshot`, `link`, …
    pub kind: String,
    pub external_url: Option<String>,
    pub evidence_date: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub owner_id: Option<Uuid>,
    /// The latest file: its id (download it at `/api/v1/evidence/files/{revision_id}`), name, SHA-256 (hex) and size in bytes.
    pub revision_id: Option<Uuid>,
    pub filename: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<i64>,
    pub revisions: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn fetch_evidence(db: &sqlx::PgPool, org: OrgId, one: Option<Uuid>, k: &Keyset) -> AppResult<Vec<ApiEvidence>> {
    Ok(sqlx::query_as!(
        ApiEvidence,
        r#"SELECT e.id, e.title, e.description, e.kind, e.external_url, e.evidence_date, e.valid_until, e.owner_id,
                  r.id AS "revision_id?", r.filename AS "filename?", encode(r.sha256, 'hex') AS "sha256?", r.size AS "size?",
                  (SELECT count(*) FROM evidence_revisions c WHERE c.org_id = e.org_id AND c.item_id = e.id) AS "revisions!",
                  e.created_at, e.updated_at
             FROM evidence_items e
        LEFT JOIN LATERAL (SELECT id, filename, sha256, size FROM evidence_revisions v WHERE v.org_id = e.org_id AND v.item_id = e.id
                            ORDER BY v.number DESC LIMIT 1) r ON true
            WHERE e.org_id = $1 AND ($2::uuid IS NULL OR e.id = $2)
              AND ($3::timestamptz IS NULL OR e.updated_at >= $3)
              AND ($4::timestamptz IS NULL OR (e.updated_at, e.id) > ($4, $5::uuid))
            ORDER BY e.updated_at, e.id LIMIT $6"#,
        org.0,
        one,
        k.since,
        k.after_at,
        k.after_id,
        k.fetch
    )
    .fetch_all(db)
    .await?)
}

/// Evidence items.
#[utoipa::path(get, path = "/api/v1/evidence", tag = "evidence", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of evidence items", body = Page<ApiEvidence>)))]
pub async fn evidence(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let k = q.keyset()?;
    let rows = fetch_evidence(&state.db, me.token.org_id, None, &k).await?;
    reply_page(&headers, rows, &k, |r| (r.updated_at, r.id))
}

/// One evidence item.
#[utoipa::path(get, path = "/api/v1/evidence/{id}", tag = "evidence", security(("bearer" = ["read"])),
    params(("id" = Uuid, Path, description = "The item's id")),
    responses((status = 200, description = "The evidence item", body = ApiEvidence), (status = 404, description = "No such item in this organisation", body = super::doc::Problem)))]
pub async fn evidence_item(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Id(id): Id<Uuid>) -> AppResult<Response> {
    reply(&headers, StatusCode::OK, &one(fetch_evidence(&state.db, me.token.org_id, Some(id), &Keyset::ONE).await?)?)
}

// ---------- policies ----------

/// A policy, with its newest signed version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiPolicy {
    pub id: Uuid,
    pub title: String,
    /// `is_policy` (the information security policy of 5.2) or `topic_specific`.
    pub kind: String,
    pub review_months: i32,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// The newest approved version, e.g. `2.1`.
    pub approved_version: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    /// Who approved it, and whether they were on the top-management roster then.
    pub approver_name: Option<String>,
    pub approver_top_management: Option<bool>,
    /// When it or one of its versions last changed (a draft, an approval).
    pub updated_at: DateTime<Utc>,
}

async fn fetch_policies(db: &sqlx::PgPool, org: OrgId, one: Option<Uuid>, k: &Keyset) -> AppResult<Vec<ApiPolicy>> {
    Ok(sqlx::query_as!(
        ApiPolicy,
        r#"SELECT p.id, p.title, p.kind, p.review_months, p.withdrawn_at,
                  v.major::text || '.' || v.minor::text AS "approved_version?", v.approved_at AS "approved_at?",
                  v.approver_name AS "approver_name?", v.approver_top_management AS "approver_top_management?", p.changed_at AS "updated_at!"
             FROM (SELECT p.*, GREATEST(p.updated_at, (SELECT max(GREATEST(v.created_at, v.approved_at, v.recorded_at)) FROM policy_versions v
                                                        WHERE v.org_id = p.org_id AND v.policy_id = p.id)) AS changed_at
                     FROM policies p WHERE p.org_id = $1) p
        LEFT JOIN LATERAL (SELECT major, minor, approved_at, approver_name, approver_top_management FROM policy_versions v
                            WHERE v.org_id = p.org_id AND v.policy_id = p.id AND v.approved_at IS NOT NULL
                            ORDER BY v.major DESC, v.minor DESC LIMIT 1) v ON true
            WHERE ($2::uuid IS NULL OR p.id = $2)
              AND ($3::timestamptz IS NULL OR p.changed_at >= $3)
              AND ($4::timestamptz IS NULL OR (p.changed_at, p.id) > ($4, $5::uuid))
            ORDER BY p.changed_at, p.id LIMIT $6"#,
        org.0,
        one,
        k.since,
        k.after_at,
        k.after_id,
        k.fetch
    )
    .fetch_all(db)
    .await?)
}

/// Policies.
#[utoipa::path(get, path = "/api/v1/policies", tag = "policies", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of policies", body = Page<ApiPolicy>)))]
pub async fn policies(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let k = q.keyset()?;
    let rows = fetch_policies(&state.db, me.token.org_id, None, &k).await?;
    reply_page(&headers, rows, &k, |r| (r.updated_at, r.id))
}

/// One policy.
#[utoipa::path(get, path = "/api/v1/policies/{id}", tag = "policies", security(("bearer" = ["read"])),
    params(("id" = Uuid, Path, description = "The policy's id")),
    responses((status = 200, description = "The policy", body = ApiPolicy), (status = 404, description = "No such policy in this organisation", body = super::doc::Problem)))]
pub async fn policy(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Id(id): Id<Uuid>) -> AppResult<Response> {
    reply(&headers, StatusCode::OK, &one(fetch_policies(&state.db, me.token.org_id, Some(id), &Keyset::ONE).await?)?)
}

// ---------- training ----------

/// A training module.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiModule {
    pub id: Uuid,
    pub title: String,
    /// `awareness`, `role_based`, …
    pub kind: String,
    pub validity_months: i32,
    /// `all_staff`, `top_management`, `departments`, …
    pub audience: String,
    pub retired_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// Training modules.
#[utoipa::path(get, path = "/api/v1/training/modules", tag = "training", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of modules", body = Page<ApiModule>)))]
pub async fn modules(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiModule, r#"SELECT id, title, kind, validity_months, audience, retired_at, updated_at FROM training_modules
            WHERE org_id = $1 AND ($2::timestamptz IS NULL OR updated_at >= $2)
              AND ($3::timestamptz IS NULL OR (updated_at, id) > ($3, $4::uuid))
            ORDER BY updated_at, id LIMIT $5"#, |r| (r.updated_at, r.id))
}

/// A completion of a module by a person.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTrainingRecord {
    pub id: Uuid,
    pub module_id: Uuid,
    pub person_id: Uuid,
    pub completed_on: NaiveDate,
    /// The training system's id of this record.
    pub external_id: Option<String>,
    /// Where it came from: `manual`, `import`, `link`, `api`, …
    pub source: String,
    pub recorded_at: DateTime<Utc>,
    /// When the training system last corrected it (or when it was recorded).
    pub updated_at: DateTime<Utc>,
}

/// Training records, in the order they last changed.
#[utoipa::path(get, path = "/api/v1/training/records", tag = "training", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of training records", body = Page<ApiTrainingRecord>)))]
pub async fn training_records(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiTrainingRecord, r#"SELECT id, module_id, person_id, completed_on, external_id, source, recorded_at, updated_at FROM training_records
            WHERE org_id = $1 AND ($2::timestamptz IS NULL OR updated_at >= $2)
              AND ($3::timestamptz IS NULL OR (updated_at, id) > ($3, $4::uuid))
            ORDER BY updated_at, id LIMIT $5"#, |r| (r.updated_at, r.id))
}

// ---------- meetings ----------

/// A meeting: a management review (clause 9.3, evidence of 5.1) or another leadership meeting.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiMeeting {
    pub id: Uuid,
    /// `management_review`, …
    pub kind: String,
    pub title: String,
    pub planned_on: Option<NaiveDate>,
    pub held_on: Option<NaiveDate>,
    pub chair_id: Option<Uuid>,
    pub attendee_ids: Vec<Uuid>,
    pub minutes: String,
    pub decisions: String,
    /// Signed off by the chair: from then on the minutes cannot change.
    pub signed_off_at: Option<DateTime<Utc>>,
    pub signed_off_name: Option<String>,
    /// When it last changed (edited, or signed off).
    pub updated_at: DateTime<Utc>,
}

async fn fetch_meetings(db: &sqlx::PgPool, org: OrgId, one: Option<Uuid>, k: &Keyset) -> AppResult<Vec<ApiMeeting>> {
    Ok(sqlx::query_as!(
        ApiMeeting,
        r#"SELECT id, kind, title, planned_on, held_on, chair_id, attendee_ids, minutes, decisions, signed_off_at, signed_off_name, changed_at AS "updated_at!"
             FROM (SELECT m.*, GREATEST(m.updated_at, m.signed_off_at, m.signed_off_recorded_at) AS changed_at FROM meetings m WHERE m.org_id = $1) m
            WHERE ($2::uuid IS NULL OR id = $2)
              AND ($3::timestamptz IS NULL OR changed_at >= $3)
              AND ($4::timestamptz IS NULL OR (changed_at, id) > ($4, $5::uuid))
            ORDER BY changed_at, id LIMIT $6"#,
        org.0,
        one,
        k.since,
        k.after_at,
        k.after_id,
        k.fetch
    )
    .fetch_all(db)
    .await?)
}

/// Meetings.
#[utoipa::path(get, path = "/api/v1/meetings", tag = "leadership", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of meetings", body = Page<ApiMeeting>)))]
pub async fn meetings(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let k = q.keyset()?;
    let rows = fetch_meetings(&state.db, me.token.org_id, None, &k).await?;
    reply_page(&headers, rows, &k, |r| (r.updated_at, r.id))
}

/// One meeting.
#[utoipa::path(get, path = "/api/v1/meetings/{id}", tag = "leadership", security(("bearer" = ["read"])),
    params(("id" = Uuid, Path, description = "The meeting's id")),
    responses((status = 200, description = "The meeting", body = ApiMeeting), (status = 404, description = "No such meeting in this organisation", body = super::doc::Problem)))]
pub async fn meeting(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Id(id): Id<Uuid>) -> AppResult<Response> {
    reply(&headers, StatusCode::OK, &one(fetch_meetings(&state.db, me.token.org_id, Some(id), &Keyset::ONE).await?)?)
}

// ---------- findings and gaps ----------

/// A finding: a gap tracked as a corrective action (clause 10.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiFinding {
    pub id: Uuid,
    /// The gap rule that found it, e.g. `minutes_missing`.
    pub rule: String,
    pub title: String,
    /// `major`, `minor` or `observation`.
    pub severity: String,
    pub requirements: Vec<String>,
    /// `open`, `resolved` or `accepted`.
    pub status: String,
    pub owner_id: Option<Uuid>,
    pub due_on: Option<NaiveDate>,
    pub cause: String,
    pub action_taken: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Accepted as a risk by a member of top management, until this day.
    pub accepted_by_name: Option<String>,
    pub accepted_until: Option<NaiveDate>,
    pub updated_at: DateTime<Utc>,
}

pub async fn fetch_findings(db: &sqlx::PgPool, org: OrgId, one: Option<Uuid>, k: &Keyset) -> AppResult<Vec<ApiFinding>> {
    Ok(sqlx::query_as!(
        ApiFinding,
        r#"SELECT id, rule, title, severity, requirements, status, owner_id, due_on, cause, action_taken, opened_at, resolved_at,
                  accepted_by_name, accepted_until, updated_at
             FROM findings
            WHERE org_id = $1 AND ($2::uuid IS NULL OR id = $2)
              AND ($3::timestamptz IS NULL OR updated_at >= $3)
              AND ($4::timestamptz IS NULL OR (updated_at, id) > ($4, $5::uuid))
            ORDER BY updated_at, id LIMIT $6"#,
        org.0,
        one,
        k.since,
        k.after_at,
        k.after_id,
        k.fetch
    )
    .fetch_all(db)
    .await?)
}

/// Findings, open and closed.
#[utoipa::path(get, path = "/api/v1/findings", tag = "findings", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of findings", body = Page<ApiFinding>)))]
pub async fn findings(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let k = q.keyset()?;
    let rows = fetch_findings(&state.db, me.token.org_id, None, &k).await?;
    reply_page(&headers, rows, &k, |r| (r.updated_at, r.id))
}

/// One finding.
#[utoipa::path(get, path = "/api/v1/findings/{id}", tag = "findings", security(("bearer" = ["read"])),
    params(("id" = Uuid, Path, description = "The finding's id")),
    responses((status = 200, description = "The finding", body = ApiFinding), (status = 404, description = "No such finding in this organisation", body = super::doc::Problem)))]
pub async fn finding(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Id(id): Id<Uuid>) -> AppResult<Response> {
    reply(&headers, StatusCode::OK, &one(fetch_findings(&state.db, me.token.org_id, Some(id), &Keyset::ONE).await?)?)
}

/// A gap as of today: a rule the organisation's records do not meet.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiGap {
    pub rule: String,
    /// What it is about (a policy's or module's id), empty for a rule's single gap.
    pub subject: String,
    pub title: String,
    pub severity: String,
    /// Why it has that grade.
    pub grade: String,
    pub requirements: Vec<String>,
    /// How many people or records are affected.
    pub affected: usize,
}

/// The gaps as of today, the same list the gaps page shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiGaps {
    pub as_of: NaiveDate,
    pub items: Vec<ApiGap>,
}

/// The gaps as of today.
#[utoipa::path(get, path = "/api/v1/gaps", tag = "findings", security(("bearer" = ["read"])),
    responses((status = 200, description = "Today's gaps, most severe first", body = ApiGaps)))]
pub async fn gaps(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let e = crate::gaps::evaluation(&state.db, &state.kept, me.token.org_id, today).await?;
    let items = e
        .gaps
        .iter()
        .map(|g| ApiGap {
            rule: g.rule.to_string(),
            subject: g.subject.clone(),
            title: g.title.clone(),
            severity: g.severity.as_str().to_string(),
            grade: g.grade.clone(),
            requirements: g.requirements.clone(),
            affected: g.affected_total,
        })
        .collect();
    reply(&headers, StatusCode::OK, &ApiGaps { as_of: today, items })
}
