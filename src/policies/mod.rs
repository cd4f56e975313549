//! Policy pages: the register, a policy with its versions and campaigns, a
//! version with its text, checks and signature, acknowledgement campaigns,
//! personal links for staff without accounts, and public pages for
//! interested parties. One record per folder: `versions` (policies, their
//! versions, signing and publication), `acks` (acknowledgements and the
//! personal links that ask for them) and `campaigns`.
pub mod markdown;
pub mod onboarding;

pub mod versions {
    pub mod model;
    pub mod routes;
}

pub mod acks {
    pub mod import;
    pub mod model;
    pub mod routes;
}

pub mod campaigns {
    pub mod model;
    pub mod routes;
}

use crate::error::{AppError, AppResult};
use crate::evidence::model as evidence;
use crate::ids::OrgId;
use crate::state::AppState;
use crate::web::routes::Routes;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use versions::model::Version;

pub fn routes(r: Routes) -> Routes {
    let r = versions::routes::routes(r);
    let r = acks::routes::routes(r);
    let r = campaigns::routes::routes(r);
    onboarding::routes(r)
}

use crate::web::user_agent;

/// Streams a version's document file as an attachment (to a signed-in
/// member, a personal link or an interested party).
async fn document_response(state: &AppState, org_id: OrgId, v: &Version) -> AppResult<Response> {
    let rev_id = v.evidence_revision_id.ok_or(AppError::NotFound)?;
    let rev = evidence::revision(&state.db, org_id, rev_id).await?;
    let (size, stream) = state.store.read(&rev.object_key).await?;
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&rev.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(d) = HeaderValue::from_str(&crate::web::layout::attachment(&rev.filename)) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(res)
}
