//! `PATCH /api/v1/findings/{id}`: a finding's corrective action (owner,
//! due date, cause, action taken), by the same rules as its page: owners
//! and ISMS leads write any, a finding's owner theirs; only the first hand
//! it to someone else.
use super::caller::ApiCaller;
use super::json::{Body, reply};
use crate::auth::policy::{Access::Token, Action, Scope};
use crate::error::{AppError, AppResult};
use crate::findings::model::{get, may_own, save};
use crate::findings::routes::{FindingForm, may_write};
use crate::ids::FindingId;
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::web::{FieldErrors, Id};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub fn routes(r: Routes) -> Routes {
    r.patch("/api/v1/findings/{id}", Token(Action::ViewGaps, Scope::WriteFindings), update)
}

/// The corrective action's fields to change; those left out stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingInput {
    /// The member (account id) who owns the action; `null` leaves it unowned.
    #[serde(default, deserialize_with = "super::people::some")]
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "super::people::some")]
    #[schema(value_type = Option<NaiveDate>)]
    pub due_on: Option<Option<NaiveDate>>,
    pub cause: Option<String>,
    pub action_taken: Option<String>,
}

/// Writes down a finding's corrective action.
#[utoipa::path(patch, path = "/api/v1/findings/{id}", tag = "findings", security(("bearer" = ["findings:write"])),
    request_body = FindingInput, params(("id" = Uuid, Path, description = "The finding's id")),
    responses((status = 200, description = "The finding as saved", body = super::records::ApiFinding),
        (status = 404, description = "No such finding in this organisation", body = super::doc::Problem),
        (status = 422, description = "A field is wrong", body = super::doc::Problem)))]
pub async fn update(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Id(id): Id<FindingId>, Body(input): Body<FindingInput>) -> AppResult<Response> {
    let (org, role, user) = (me.token.org_id, me.token.role, me.token.user_id);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, org, id).await?;
    let f = get(&mut *tx, org, id).await?;
    may_write(role, user, &f, None)?;
    let mut form = FindingForm::of(&f);
    if let Some(owner) = input.owner_id {
        form.owner_id = owner.map(|o| o.to_string()).unwrap_or_default();
    }
    if let Some(due) = input.due_on {
        form.due_on = due.map(|d| d.to_string()).unwrap_or_default();
    }
    form.cause = input.cause.unwrap_or(form.cause);
    form.action_taken = input.action_taken.unwrap_or(form.action_taken);
    let fields = form.parse().map_err(AppError::Invalid)?;
    may_write(role, user, &f, Some(&fields))?;
    if let Some(owner) = fields.owner_id.filter(|o| f.owner_id != Some(*o))
        && !may_own(&mut tx, org, owner).await?
    {
        let mut errors = FieldErrors::default();
        errors.add("owner_id", "The owner must be an active member who can act (not an auditor).");
        return Err(AppError::Invalid(errors));
    }
    save(&mut tx, &me.actor(), now, org, &f, &fields).await?;
    tx.commit().await?;
    let k = super::json::Keyset::ONE;
    let saved = super::records::fetch_findings(&state.db, org, Some(id.0), &k).await?.into_iter().next().ok_or(AppError::NotFound)?;
    reply(&headers, StatusCode::OK, &saved)
}
