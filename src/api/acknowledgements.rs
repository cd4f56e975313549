//! `/api/v1/acknowledgements`: acknowledgements given outside Mandate (a
//! learning platform, paper), recorded through the same checks as the CSV
//! import: the JSON becomes the import's lines, so a call and a file are
//! held to the same rules. Those already recorded are skipped.
use super::caller::ApiCaller;
use super::json::{Body, reply};
use super::people::{DryRun, SyncProblem};
use crate::auth::policy::{Access::Token, Action, Scope};
use crate::error::{AppError, AppResult};
use crate::imports::Import;
use crate::policies::acks::import::Acknowledgements;
use crate::state::AppState;
use crate::web::routes::Routes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes(r: Routes) -> Routes {
    r.post_upload("/api/v1/acknowledgements", Token(Action::ManagePolicies, Scope::WriteAcknowledgements), import, Some(super::json::BULK_BYTES))
}

/// One acknowledgement given outside Mandate.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckInput {
    /// The person, by e-mail address as in the directory.
    pub email: String,
    /// The policy's exact title.
    pub policy: String,
    /// The signed version acknowledged, e.g. `2.0`; left out: the one in force that day.
    pub version: Option<String>,
    pub acknowledged_on: NaiveDate,
    /// How it was given: `paper`, `email` or `lms`.
    pub how: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckImportRequest {
    pub acknowledgements: Vec<AckInput>,
}

/// What recording did (or, as a dry run, would do).
#[derive(Debug, Serialize, ToSchema)]
pub struct AckImportResult {
    pub dry_run: bool,
    pub recorded: usize,
    /// Already recorded, skipped.
    pub skipped: usize,
    pub problems: Vec<SyncProblem>,
}

/// Records acknowledgements given outside Mandate; those already recorded are skipped.
#[utoipa::path(post, path = "/api/v1/acknowledgements", tag = "policies", security(("bearer" = ["acknowledgements:write"])),
    request_body = AckImportRequest, params(DryRun),
    responses((status = 200, description = "What was recorded (or, as a dry run, would be)", body = AckImportResult),
        (status = 422, description = "Problems stop the import, dry run or not; nothing was recorded (the body lists them)", body = AckImportResult)))]
pub async fn import(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(dry): Query<DryRun>, Body(req): Body<AckImportRequest>) -> AppResult<Response> {
    if req.acknowledgements.len() > crate::policies::acks::import::MAX_ROWS {
        return Err(AppError::BadRequest(format!("One call takes at most {} acknowledgements; split the call.", crate::policies::acks::import::MAX_ROWS)));
    }
    let org = me.token.org_id;
    let now = state.clock.now();
    let today = now.date_naive();
    // The lines a file of these acknowledgements would have (line 1 is the heading).
    let mut csv = crate::web::csv::row(&["email", "policy", "version", "acknowledged_on", "how"]);
    for a in &req.acknowledgements {
        let day = a.acknowledged_on.to_string();
        csv.push_str(&crate::web::csv::row(&[&a.email, &a.policy, a.version.as_deref().unwrap_or(""), &day, a.how.as_deref().unwrap_or("")]));
    }
    let lines = Acknowledgements::lines(&state.db, org, today).await?;
    let checked = match Acknowledgements::parser(lines).read(csv.as_bytes()) {
        Ok((checked, _)) => checked,
        Err(too_many) => return Err(AppError::BadRequest(too_many.problem().message)),
    };
    let problem = |p: crate::web::sheet::Problem| SyncProblem { index: p.line.saturating_sub(2), field: p.column, message: p.message };
    let mut result = AckImportResult { dry_run: dry.dry_run, recorded: 0, skipped: 0, problems: checked.problems.into_iter().map(problem).collect() };
    if !result.problems.is_empty() {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return reply(&headers, status, &result);
    }
    let mut tx = state.db.begin().await?;
    Acknowledgements::lock(&mut tx, org).await?;
    let plan = Acknowledgements::plan(&mut tx, org, &checked.columns, checked.rows, today).await?.map_err(AppError::Conflict)?;
    (result.recorded, result.skipped) = (plan.0.len(), plan.1);
    if dry.dry_run || plan.0.is_empty() {
        return reply(&headers, StatusCode::OK, &result);
    }
    Acknowledgements::apply(&mut tx, &me.actor(), now, org, plan).await?;
    tx.commit().await?;
    reply(&headers, StatusCode::OK, &result)
}
