//! What every page shares: the layout, form errors, CSV, request ids,
//! security headers and the error pages.
pub mod assets;
pub mod csv;
pub mod errors;
pub mod form;
pub mod headers;
pub mod layout;
pub mod pager;
pub mod routes;
pub mod sheet;
pub mod slow;

pub use form::FieldErrors;
pub use layout::Layout;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The id that ties a user's error page to the server log and the audit log.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Paths whose last segment is a secret (personal links): logs never see it.
const SECRET_PATHS: [&str; 5] = ["/invite/", "/accept-role/", "/ack/", "/p/", "/signup/"];

pub fn loggable(path: &str) -> std::borrow::Cow<'_, str> {
    match SECRET_PATHS.iter().find(|p| path.starts_with(*p)) {
        Some(prefix) => format!("{prefix}[secret]").into(),
        None => path.into(),
    }
}

/// Always generated here: a client-supplied id could forge log lines.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %loggable(req.uri().path()));
    let started = std::time::Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "served");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
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
    OrgId, UserId, MembershipId, InvitationId, PersonId, PeopleImportId, RosterChangeId, RoleId, AppointmentId,
    RaciActivityId, RequirementId, EvidenceId, RevisionId, EvidenceRequestId, PolicyId, VersionId, CampaignId,
    AckRequestId, AckId, ModuleId, TrainingRecordId, TrainingImportId, MeetingId, ActionItemId, DecisionId,
    CommunicationId, ObjectiveId, AskId, JobId, AddendumId, SignupId,
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
    fn personal_links_are_not_logged() {
        assert_eq!(super::loggable("/accept-role/abc123"), "/accept-role/[secret]");
        assert_eq!(super::loggable("/invite/xyz"), "/invite/[secret]");
        assert_eq!(super::loggable("/ack/tok3n/document"), "/ack/[secret]");
        assert_eq!(super::loggable("/p/slug-is-a-secret"), "/p/[secret]");
        assert_eq!(super::loggable("/people/1"), "/people/1");
    }
}
