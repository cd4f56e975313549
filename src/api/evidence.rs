//! `POST /api/v1/evidence`: a new evidence item with its file, streamed to
//! the evidence store as it arrives (never held whole), checked for size,
//! quota and type exactly as the page's upload is.
use super::caller::ApiCaller;
use super::json::reply;
use crate::auth::policy::{Access::Token, Action, Scope};
use crate::error::{AppError, AppResult};
use crate::evidence::routes::{ItemForm, Uploader, discard_unless_recorded, receive_for, save_new};
use crate::evidence::store::EvidenceStore;
use crate::ids::{EvidenceId, RevisionId};
use crate::state::AppState;
use crate::web::Id;
use crate::web::routes::Routes;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

pub fn routes(r: Routes) -> Routes {
    r.post_upload("/api/v1/evidence", Token(Action::UploadEvidence, Scope::WriteEvidence), upload, None)
        .get("/api/v1/evidence/files/{id}", Token(Action::ViewEvidence, Scope::Read), file)
        .post_upload("/api/v1/evidence/{id}/revisions", Token(Action::UploadEvidence, Scope::WriteEvidence), add_revision, None)
}

/// The form of a new revision (multipart/form-data): the file alone.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // describes the multipart body for the OpenAPI document
pub struct RevisionUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Adds a newer file to an evidence item (earlier ones stay): owners and ISMS
/// leads to any item, other uploaders to those they own or added.
#[utoipa::path(post, path = "/api/v1/evidence/{id}/revisions", tag = "evidence", security(("bearer" = ["evidence:write"])),
    params(("id" = Uuid, Path, description = "The evidence item's id")),
    request_body(content = RevisionUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "The item, with its new file", body = super::records::ApiEvidence),
        (status = 404, description = "No such item in this organisation", body = super::doc::Problem),
        (status = 413, description = "The file is larger than the server accepts, or than the organisation's quota leaves room for", body = super::doc::Problem),
        (status = 415, description = "The file's content is not a kind of evidence Mandate accepts", body = super::doc::Problem),
        (status = 422, description = "No file was sent", body = super::doc::Problem)))]
pub async fn add_revision(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Id(id): Id<EvidenceId>, multipart: Multipart) -> AppResult<Response> {
    let t = &me.token;
    let item = crate::evidence::model::get(&state.db, t.org_id, id).await?;
    if !crate::auth::policy::may_edit_evidence(t.role, item.is_theirs(t.user_id)) {
        return Err(AppError::Forbidden);
    }
    let uploader = Uploader { org_id: t.org_id, org_name: t.org_name.clone(), role: t.role, actor: me.actor() };
    let revision_id = RevisionId::new();
    let key = EvidenceStore::key_for(t.org_id, revision_id);
    let upload = receive_for(&state, &uploader, &headers, multipart, &key).await.map_err(|f| AppError::Rejected(f.status, f.message))?;
    let Some((r, filename)) = upload.file else {
        let mut errors = crate::web::FieldErrors::default();
        errors.add("file", "Send the file, in the part named file.");
        return Err(AppError::Invalid(errors));
    };
    crate::evidence::routes::store_revision(&state, &uploader, id, revision_id, &r, &filename).await?;
    let k = super::json::Keyset::ONE;
    let item = super::records::fetch_evidence(&state.db, t.org_id, Some(id.0), &k).await?.into_iter().next().ok_or(AppError::NotFound)?;
    reply(&headers, StatusCode::CREATED, &item)
}

/// A file of an evidence item (a revision), streamed, with its SHA-256 in `X-Evidence-SHA256`.
#[utoipa::path(get, path = "/api/v1/evidence/files/{id}", tag = "evidence", security(("bearer" = ["read"])),
    params(("id" = Uuid, Path, description = "The revision's id (an item's `revision_id`)")),
    responses((status = 200, description = "The file, as an attachment, in its own content type", content_type = "*/*", body = Vec<u8>),
        (status = 404, description = "No such file in this organisation", body = super::doc::Problem)))]
pub async fn file(State(state): State<AppState>, me: ApiCaller, Id(id): Id<RevisionId>) -> AppResult<Response> {
    crate::evidence::routes::send_file(&state, me.token.org_id, id).await
}

/// The form of an upload (multipart/form-data): the file and what it is.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // describes the multipart body for the OpenAPI document
pub struct EvidenceUpload {
    pub title: String,
    /// `document`, `record`, `screenshot`, `minutes`, `email`, `external_link`, …
    pub kind: String,
    pub description: Option<String>,
    /// The day the evidence proves (not in the future).
    pub evidence_date: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    /// Required for `external_link`.
    pub external_url: Option<String>,
    /// The file (PDF, office documents, images, e-mail, text, …). Required unless `kind` is `external_link`.
    #[schema(value_type = Option<String>, format = Binary)]
    pub file: Option<Vec<u8>>,
}

/// Adds an evidence item with its file, streamed.
#[utoipa::path(post, path = "/api/v1/evidence", tag = "evidence", security(("bearer" = ["evidence:write"])),
    request_body(content = EvidenceUpload, content_type = "multipart/form-data"),
    responses((status = 201, description = "The item added", body = super::records::ApiEvidence),
        (status = 413, description = "The file is larger than the server accepts, or than the organisation's quota leaves room for", body = super::doc::Problem),
        (status = 415, description = "The file's content is not a kind of evidence Mandate accepts", body = super::doc::Problem),
        (status = 422, description = "A field is missing or wrong", body = super::doc::Problem)))]
pub async fn upload(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, multipart: Multipart) -> AppResult<Response> {
    let t = &me.token;
    let uploader = Uploader { org_id: t.org_id, org_name: t.org_name.clone(), role: t.role, actor: me.actor() };
    let revision_id = RevisionId::new();
    let key = EvidenceStore::key_for(t.org_id, revision_id);
    let upload = receive_for(&state, &uploader, &headers, multipart, &key).await.map_err(|f| AppError::Rejected(f.status, f.message))?;
    let mut form = ItemForm::from_fields(&upload.fields);
    let today = state.clock.now().date_naive();
    let id = match save_new(&state, &uploader, &mut form, &upload, revision_id, today).await {
        Ok(Ok(id)) => id,
        Ok(Err(errors)) => {
            if let Some((r, _)) = &upload.file {
                state.store.discard(&r.key).await;
            }
            return Err(AppError::Invalid(errors));
        }
        Err(e) => {
            if let Some((r, _)) = &upload.file {
                discard_unless_recorded(&state, t.org_id, revision_id, &r.key).await;
            }
            return Err(e);
        }
    };
    let k = super::json::Keyset::ONE;
    let item = super::records::fetch_evidence(&state.db, t.org_id, Some(id.0), &k).await?.into_iter().next().ok_or(AppError::NotFound)?;
    reply(&headers, StatusCode::CREATED, &item)
}
