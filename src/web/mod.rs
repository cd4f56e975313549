//! What every page shares: the layout, form errors, CSV, request ids,
//! security headers and the error pages.
pub mod assets;
pub mod csv;
pub mod errors;
pub mod form;
pub mod headers;
pub mod layout;
pub mod pager;
pub mod request;
pub mod routes;
pub mod sheet;
pub mod slow;

pub use form::FieldErrors;
pub use layout::Layout;
pub use request::{RequestId, loggable, request_id};

use axum::response::Response;

/// A number with its noun, singular or plural as the number wants it:
/// "1 issue", "3 issues", "0 issues". Pages never write "issue(s)".
pub fn count(n: impl std::fmt::Display, one: &str, many: &str) -> String {
    let n = n.to_string();
    format!("{n} {}", if n == "1" { one } else { many })
}

/// The browser a request came from, as it names itself (at most 500 characters),
/// kept with signatures, confirmations and acknowledgements.
pub fn user_agent(headers: &axum::http::HeaderMap) -> String {
    headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").chars().take(500).collect()
}

/// A title as part of a file name: "Access control" becomes "access-control".
pub fn slug(title: &str) -> String {
    title.to_lowercase().replace(|c: char| !c.is_alphanumeric(), "-")
}

/// A redirect (303) that shows `flash` on the next page.
pub fn redirect_with(state: &crate::state::AppState, to: &str, flash: crate::auth::session::Flash) -> Response {
    use axum::response::IntoResponse;
    let mut res = axum::response::Redirect::to(to).into_response();
    res.headers_mut().append(axum::http::header::SET_COOKIE, crate::auth::session::flash_cookie(state, &flash));
    res
}

/// A `{id}` path segment, read as the id type the handler names
/// (`Id(id): Id<PersonId>`). A malformed id is read as the nil id, which no
/// record has: the handler then answers exactly as for an id that does not
/// exist or belongs to another organisation (a role check first, then 404),
/// so the answer never tells a malformed id from someone else's, and never
/// shows axum's plain-text 400. This and [`Segment`] are the only path
/// extractors: clippy.toml bans `axum::extract::Path` everywhere else.
#[derive(Debug, Clone, Copy)]
pub struct Id<T = uuid::Uuid>(pub T);

/// What a path id reads into: any id type of `crate::ids`, or a bare UUID.
pub trait PathId: std::str::FromStr + Sized {
    fn nil() -> Self;
}

impl PathId for uuid::Uuid {
    fn nil() -> Self {
        uuid::Uuid::nil()
    }
}

macro_rules! path_ids {
    ($($t:ident),* $(,)?) => { $(impl PathId for crate::ids::$t { fn nil() -> Self { crate::ids::$t::nil() } })* };
}
path_ids!(
    OrgId, UserId, MembershipId, InvitationId, PersonId, ImportId, RosterChangeId, RoleId, AppointmentId,
    RaciActivityId, RequirementId, EvidenceId, RevisionId, EvidenceRequestId, PolicyId, VersionId, CampaignId,
    AckRequestId, AckId, ModuleId, TrainingRecordId, MeetingId, ActionItemId, DecisionId,
    CommunicationId, ObjectiveId, AskId, JobId, AddendumId, SignupId, FindingId, TrainingCampaignId, ApiTokenId,
);

impl<S: Send + Sync, T: PathId + Send> axum::extract::FromRequestParts<S> for Id<T> {
    type Rejection = crate::error::AppError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Segment(raw) = Segment::from_request_parts(parts, state).await?;
        Ok(Id(raw.parse().unwrap_or_else(|_| T::nil())))
    }
}

/// A free-text path segment (a personal link's token, a public slug, an
/// asset's file name). A request the router matched always has one; if it
/// cannot be read the answer is the 404 page.
#[derive(Debug, Clone)]
pub struct Segment(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Segment {
    type Rejection = crate::error::AppError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        #[allow(clippy::disallowed_types)] // the one place axum's Path is read
        let raw = axum::extract::Path::<String>::from_request_parts(parts, state).await;
        raw.map(|axum::extract::Path(s)| Segment(s)).map_err(|_| crate::error::AppError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(super::count(1, "issue", "issues"), "1 issue");
        assert_eq!(super::count(0_usize, "issue", "issues"), "0 issues");
        assert_eq!(super::count(12_i64, "activity row", "activity rows"), "12 activity rows");
    }
}
