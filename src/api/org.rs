//! The organisation's own records in the API: its members, the RACI
//! matrix, and the audit log (its hash chain, row by row, to check or keep).
use super::caller::ApiCaller;
use super::json::{ListQuery, Page, reply};
use crate::auth::policy::{Access::Token, Action, Scope};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::routes::Routes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn routes(r: Routes) -> Routes {
    r.get("/api/v1/members", Token(Action::ViewMembers, Scope::Read), members)
        .get("/api/v1/raci", Token(Action::ViewRoles, Scope::Read), raci)
        .get("/api/v1/audit-log", Token(Action::ViewAuditLog, Scope::Read), audit_log)
}

/// A member of the organisation: an account with a role.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiMember {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// `owner`, `isms_lead`, `executive`, `contributor` or `auditor`.
    pub role: String,
    pub disabled_at: Option<DateTime<Utc>>,
    /// An auditor's access window.
    pub access_from: Option<NaiveDate>,
    pub access_until: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    /// When it joined or was disabled (role changes are in the audit log).
    pub updated_at: DateTime<Utc>,
}

/// The organisation's members.
#[utoipa::path(get, path = "/api/v1/members", tag = "account", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of members", body = Page<ApiMember>)))]
pub async fn members(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiMember, r#"SELECT id, email, name, role, disabled_at, access_from, access_until, created_at, changed_at AS "updated_at!"
             FROM (SELECT m.id, u.email, u.name, m.role, m.disabled_at, m.access_from, m.access_until, m.created_at,
                          GREATEST(m.created_at, m.disabled_at) AS changed_at
                     FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1) m
            WHERE ($2::timestamptz IS NULL OR changed_at >= $2)
              AND ($3::timestamptz IS NULL OR (changed_at, id) > ($3, $4::uuid))
            ORDER BY changed_at, id LIMIT $5"#, |r| (r.updated_at, r.id))
}

/// One role's letters for an activity: R, A, C and/or I.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiRaciCell {
    pub role_id: Uuid,
    pub letters: String,
}

/// An activity of the RACI matrix, with each role's letters.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiRaciActivity {
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    pub retired_at: Option<DateTime<Utc>>,
    #[schema(value_type = Vec<ApiRaciCell>)]
    pub cells: sqlx::types::Json<Vec<ApiRaciCell>>,
    pub created_at: DateTime<Utc>,
}

/// The RACI matrix, activity by activity.
#[utoipa::path(get, path = "/api/v1/raci", tag = "roles", security(("bearer" = ["read"])), params(ListQuery),
    responses((status = 200, description = "A page of activities", body = Page<ApiRaciActivity>)))]
pub async fn raci(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<ListQuery>) -> AppResult<Response> {
    super::json::list!(state, me, headers, q, ApiRaciActivity, r#"SELECT a.id, a.name, a.position, a.retired_at, a.created_at,
                  COALESCE((SELECT json_agg(json_build_object('role_id', c.role_id, 'letters', c.letters) ORDER BY c.role_id)
                              FROM raci_cells c WHERE c.org_id = a.org_id AND c.activity_id = a.id), '[]') AS "cells!: sqlx::types::Json<Vec<ApiRaciCell>>"
             FROM raci_activities a
            WHERE a.org_id = $1 AND ($2::timestamptz IS NULL OR a.created_at >= $2)
              AND ($3::timestamptz IS NULL OR (a.created_at, a.id) > ($3, $4::uuid))
            ORDER BY a.created_at, a.id LIMIT $5"#, |r| (r.created_at, r.id))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Rows after this sequence number (the `next_after_seq` of the previous page); from the first when left out.
    #[param(minimum = 0)]
    pub after_seq: Option<i64>,
    /// Rows per page, from 1 to 1000 (500 when left out).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// A row of the audit log, with the fields its hash covers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiAuditRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// Who, as the log names them (a token's writes name the token).
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    /// What changed, as recorded (JSON text).
    pub details: String,
    pub request_id: String,
    /// SHA-256 of the previous row and of this one (hex): the chain.
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiAuditPage {
    pub items: Vec<ApiAuditRow>,
    /// Pass as `after_seq` for the next page; `null` on the last.
    pub next_after_seq: Option<i64>,
}

/// The audit log, oldest first, in pages by sequence number.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "account", security(("bearer" = ["read"])), params(AuditQuery),
    responses((status = 200, description = "A page of the audit log", body = ApiAuditPage)))]
pub async fn audit_log(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<AuditQuery>) -> AppResult<Response> {
    let limit = q.limit.unwrap_or(500);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::BadRequest("limit must be from 1 to 1000.".into()));
    }
    if q.after_seq.is_some_and(|s| s < 0) {
        return Err(AppError::BadRequest("after_seq is a sequence number: 0 or more.".into()));
    }
    let mut rows = sqlx::query_as!(
        ApiAuditRow,
        r#"SELECT seq, at, actor_label AS actor, action, entity, entity_id, details, request_id,
                  encode(prev_hash, 'hex') AS "prev_hash!", encode(hash, 'hex') AS "hash!"
             FROM audit_log WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3"#,
        me.token.org_id.0,
        q.after_seq.unwrap_or(0),
        limit + 1,
    )
    .fetch_all(&state.db)
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(500));
    let next_after_seq = if more { rows.last().map(|r| r.seq) } else { None };
    reply(&headers, StatusCode::OK, &ApiAuditPage { items: rows, next_after_seq })
}
