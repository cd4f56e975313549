//! Who calls the JSON API: a personal access token in `Authorization:
//! Bearer`, never a cookie (so no form token is needed, and a page of
//! another site cannot make a browser call it). `admit` runs before every
//! API handler (`web::routes`); the handler reads the result as `ApiCaller`.
use crate::api::tokens::{self, Authenticated, Refusal};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::Visitor;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// A request admitted with a valid token whose member and scopes allow the route.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub token: Authenticated,
    pub request_id: String,
    pub client_addr: String,
}

impl ApiCaller {
    /// Changes are logged as the token's member, with the token named.
    pub fn actor(&self) -> crate::audit::Actor {
        let kind = if self.token.integration { "integration token" } else { "token" };
        crate::audit::Actor {
            org_id: Some(self.token.org_id),
            user_id: Some(self.token.user_id),
            label: format!("{} ({kind} \u{201c}{}\u{201d})", self.token.email, self.token.token_name),
            request_id: self.request_id.clone(),
        }
    }

    pub fn can(&self, action: Action) -> bool {
        policy::allows(self.token.role, action)
    }
}

/// The rate limit's standing, for the response headers.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub limit: i32,
    pub remaining: i32,
    pub reset: i64,
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Checks the token, its rate limit, its member's role and its scopes;
/// on success the caller is kept for the handler. The quota is returned
/// whenever the token was valid, so the answer carries the limit headers.
pub async fn admit(parts: &mut Parts, action: Action, scope: Scope) -> (AppResult<()>, Option<Quota>) {
    let Some(state) = parts.extensions.get::<AppState>().cloned() else {
        return (Err(AppError::Internal(anyhow::anyhow!("state missing"))), None);
    };
    let Some(secret) = bearer(parts).map(str::to_string) else {
        return (Err(AppError::TokenRequired("Send a personal access token: Authorization: Bearer <token>.")), None);
    };
    let visitor = parts.extensions.get::<Visitor>().cloned();
    let client_addr = visitor.as_ref().map(|v| v.client_addr.clone()).unwrap_or_default();
    let limit = state.config.api_requests_per_minute;
    let token = match tokens::authenticate(&state.db, &secret, state.clock.now(), &client_addr, limit).await {
        Ok(Ok(t)) => t,
        Ok(Err(refusal)) => return (Err(AppError::TokenRequired(Refusal::message(refusal))), None),
        Err(e) => return (Err(e), None),
    };
    let quota = Quota { limit, remaining: token.remaining.max(0), reset: token.reset };
    if token.remaining < 0 {
        return (Err(AppError::RateLimited { retry_after: token.reset }), Some(quota));
    }
    if !policy::allows(token.role, action) {
        return (Err(AppError::Forbidden), Some(quota));
    }
    if !token.scopes.contains(&scope) {
        return (Err(AppError::ScopeMissing(scope.as_str())), Some(quota));
    }
    let request_id = visitor.map(|v| v.request_id).unwrap_or_default();
    parts.extensions.insert(ApiCaller { token, request_id, client_addr });
    (Ok(()), Some(quota))
}

impl<S: Send + Sync> FromRequestParts<S> for ApiCaller {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> AppResult<Self> {
        // Only routes declared `Access::Token` admit a caller.
        parts.extensions.get::<ApiCaller>().cloned().ok_or(AppError::TokenRequired("Send a personal access token."))
    }
}
