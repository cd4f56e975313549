//! `/api/v1/me`: who the token acts as, and what it may do.
use super::caller::ApiCaller;
use super::json::reply;
use crate::auth::policy::{Access::Token, Action, Scope};
use crate::error::AppResult;
use crate::web::routes::Routes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub fn routes(r: Routes) -> Routes {
    r.get("/api/v1/me", Token(Action::ViewHome, Scope::Read), me)
}

/// The token and the member it acts as.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiMe {
    pub organisation_id: Uuid,
    pub organisation: String,
    pub email: String,
    pub name: String,
    /// `owner`, `isms_lead`, `executive`, `contributor` or `auditor`.
    pub role: String,
    pub token_id: Uuid,
    pub token_name: String,
    /// Made by an owner for an integration.
    pub integration: bool,
    pub scopes: Vec<String>,
}

/// Who the token acts as.
#[utoipa::path(get, path = "/api/v1/me", tag = "account", security(("bearer" = ["read"])),
    responses((status = 200, description = "The token's member and scopes", body = ApiMe)))]
pub async fn me(me: ApiCaller, headers: HeaderMap) -> AppResult<Response> {
    let t = &me.token;
    let body = ApiMe {
        organisation_id: t.org_id.0,
        organisation: t.org_name.clone(),
        email: t.email.clone(),
        name: t.name.clone(),
        role: t.role.as_str().to_string(),
        token_id: t.token_id.0,
        token_name: t.token_name.clone(),
        integration: t.integration,
        scopes: t.scopes.iter().map(|s| s.as_str().to_string()).collect(),
    };
    reply(&headers, StatusCode::OK, &body)
}
