//! The evidence vault's pages: the register, items with their revisions
//! and links, streamed uploads and attachment-only downloads.
use super::model::{self, Filter, Item, ItemFields, Kind, LinkRow, Revision, Target, TargetKind, TargetRow, Validity};
use super::store::{EvidenceStore, Received, UploadError};
use crate::ids::{EvidenceId, OrgId, PersonId, RevisionId};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::audit::{self, HistoryEntry};
use crate::auth::policy::{self, Action};
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::people::model::{self as people, Choice};
use crate::people::pick;
use crate::web::form::{display_filename, parse_choice, parse_date, parse_optional, parse_text};
use crate::web::pager::Pager;
use crate::web::{FieldErrors, Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::body::Body;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::HashSet;
use uuid::Uuid;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/evidence", Can(ViewEvidence), register_page)
        .get("/evidence.csv", Can(ViewEvidence), export)
        .get("/evidence/new", Can(UploadEvidence), new_page)
        .post_upload("/evidence", Can(UploadEvidence), create, None)
        .get("/evidence/files/{id}", Can(ViewEvidence), download)
        .get("/evidence/{id}", Can(ViewEvidence), item_page)
        .post("/evidence/{id}", Can(UploadEvidence), update)
        .post_upload("/evidence/{id}/revisions", Can(UploadEvidence), add_revision, None)
        .post("/evidence/{id}/links", Can(UploadEvidence), add_link)
        .post("/evidence/{id}/links/remove", Can(UploadEvidence), remove_link)
}

/// Room for the other form fields around the file.
const FORM_SLACK: u64 = 256 * 1024;

// ---------- the register ----------

#[derive(Template, WebTemplate)]
#[template(path = "evidence/register.html")]
struct RegisterPage {
    layout: Layout,
    items: Vec<Item>,
    pager: Pager,
    links: Vec<LinkRow>,
    requirements: Vec<TargetRow>,
    owners: Vec<Choice>,
    filter: Filter,
    today: NaiveDate,
    can_upload: bool,
}

impl RegisterPage {
    fn links_of(&self, item: &EvidenceId) -> Vec<&LinkRow> {
        self.links.iter().filter(|l| l.item_id == *item).collect()
    }
}

async fn register_page(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<RegisterPage> {
    let today = state.clock.now().date_naive();
    let total = model::count(&state.db, me.org_id, &filter, today, Pager::count_limit()).await?;
    let (mut pager, after) = Pager::new("/evidence", filter.query(), total, &filter.position());
    let items = model::list(&state.db, me.org_id, &filter, today, &mut pager, after).await?;
    let ids: Vec<EvidenceId> = items.iter().map(|i| i.id).collect();
    Ok(RegisterPage {
        layout: Layout::build(&state.db, &me.visitor, "Evidence").await?,
        links: model::links_of(&state.db, me.org_id, &ids).await?,
        requirements: model::requirement_targets(&state.db).await?,
        owners: pick::owners(&state.db, &state.kept, me.org_id, today, pick::Owned::Evidence).await?,
        items,
        pager,
        filter,
        today,
        can_upload: me.can(Action::UploadEvidence),
    })
}

async fn export(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let org_id = me.org_id;
    Ok(csv::stream_rows(
        &format!("evidence-{}.csv", today.format("%Y%m%d")),
        &["title", "kind", "evidence_date", "expires", "status", "owner", "revisions", "latest_file", "latest_size", "latest_uploaded_at", "external_url"],
        state.db.clone(),
        move |db| model::filtered(db, org_id, &filter, today, None, None),
        move |i: Item| {
            vec![
                i.title.clone(),
                i.kind.label().into(),
                i.evidence_date.map(|d| d.to_string()).unwrap_or_default(),
                i.expires.map(|d| d.to_string()).unwrap_or_default(),
                i.validity(today).label().into(),
                i.owner_name.clone().unwrap_or_default(),
                i.revisions.to_string(),
                i.latest_filename.clone().unwrap_or_default(),
                i.latest_size.map(|s| s.to_string()).unwrap_or_default(),
                i.latest_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                i.external_url.clone().unwrap_or_default(),
            ]
        },
    ))
}

// ---------- forms ----------

/// The item form as typed, kept to show again after an error.
#[derive(Deserialize, Default, Clone)]
pub struct ItemForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    external_url: String,
    #[serde(default)]
    evidence_date: String,
    #[serde(default)]
    valid_until: String,
    #[serde(default)]
    review_interval_months: String,
    #[serde(default)]
    owner_id: String,
    /// `kind:id` of the records it supports (new items only).
    #[serde(skip)]
    links: Vec<String>,
}

impl ItemForm {
    fn from_item(i: &Item) -> Self {
        ItemForm {
            title: i.title.clone(),
            description: i.description.clone(),
            kind: i.kind.as_str().into(),
            external_url: i.external_url.clone().unwrap_or_default(),
            evidence_date: i.evidence_date.map(|d| d.to_string()).unwrap_or_default(),
            valid_until: i.valid_until.map(|d| d.to_string()).unwrap_or_default(),
            review_interval_months: i.review_interval_months.map(|m| m.to_string()).unwrap_or_default(),
            owner_id: i.owner_id.map(|o| o.to_string()).unwrap_or_default(),
            links: Vec::new(),
        }
    }

    pub fn from_fields(fields: &[(String, String)]) -> Self {
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        ItemForm {
            title: get("title"),
            description: get("description"),
            kind: get("kind"),
            external_url: get("external_url"),
            evidence_date: get("evidence_date"),
            valid_until: get("valid_until"),
            review_interval_months: get("review_interval_months"),
            owner_id: get("owner_id"),
            links: fields.iter().filter(|(n, _)| n == "links").map(|(_, v)| v.clone()).collect(),
        }
    }

    fn parse(&self, has_file: bool, today: NaiveDate) -> Result<ItemFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = parse_text(&self.title, "a title", 200).map_err(|e| errors.add("title", e)).unwrap_or_default();
        let description = parse_optional(&self.description, "the description", 4000, true).map_err(|e| errors.add("description", e)).unwrap_or_default();
        let kind = self.kind.parse::<Kind>().unwrap_or_else(|_| {
            errors.add("kind", "Choose what kind of evidence this is.");
            Kind::Document
        });
        let external_url = match self.external_url.trim() {
            "" => None,
            u => match url::Url::parse(u) {
                Ok(parsed) if matches!(parsed.scheme(), "https" | "http") => Some(parsed.to_string()),
                _ => {
                    errors.add("external_url", "Enter a web address starting with https://");
                    None
                }
            },
        };
        if kind == Kind::ExternalLink && external_url.is_none() && errors.get("external_url").is_none() {
            errors.add("external_url", "An external link needs its address.");
        }
        if kind != Kind::ExternalLink && !has_file {
            errors.add("file", "Choose the file to upload (or pick the kind \"External link\" for evidence kept elsewhere).");
        }
        let evidence_date = parse_date(&self.evidence_date, "the evidence date").map_err(|e| errors.add("evidence_date", e)).ok().flatten();
        if evidence_date.is_some_and(|d| d > today) {
            errors.add("evidence_date", "The evidence date cannot be in the future: it is the date the evidence proves.");
        }
        let valid_until = parse_date(&self.valid_until, "the valid-until date").map_err(|e| errors.add("valid_until", e)).ok().flatten();
        let review_interval_months = match self.review_interval_months.trim() {
            "" => None,
            m => match m.parse::<i32>() {
                Ok(n) if (1..=120).contains(&n) => Some(n),
                _ => {
                    errors.add("review_interval_months", "Enter a number of months between 1 and 120.");
                    None
                }
            },
        };
        if review_interval_months.is_some() && evidence_date.is_none() && valid_until.is_none() {
            errors.add("evidence_date", "A review interval counts from the evidence date: enter it.");
        }
        if let (Some(v), Some(e)) = (valid_until, evidence_date)
            && v < e
        {
            errors.add("valid_until", "It cannot stop being valid before the date it proves.");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ItemFields { title, description, kind, external_url, evidence_date, valid_until, review_interval_months, owner_id: parse_choice(&self.owner_id).map(PersonId) })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "evidence/new.html")]
struct NewPage {
    layout: Layout,
    form: ItemForm,
    errors: FieldErrors,
    problem: Option<String>,
    kinds: Vec<Kind>,
    owners: Vec<Choice>,
    targets: Vec<TargetRow>,
    max_bytes: u64,
}

impl NewPage {
    fn linked(&self, t: &TargetRow) -> bool {
        self.form.links.contains(&t.value())
    }
}

async fn new_view(state: &AppState, me: &Member, form: ItemForm, errors: FieldErrors, problem: Option<String>) -> AppResult<NewPage> {
    let today = state.clock.now().date_naive();
    let owners = pick::choices(&state.db, me.org_id, today, &pick::ids([form.owner_id.as_str()])).await?;
    Ok(NewPage {
        layout: Layout::build(&state.db, &me.visitor, "Add evidence").await?,
        owners,
        form,
        errors,
        problem,
        kinds: Kind::ALL.to_vec(),
        targets: model::targets(&state.db, me.org_id).await?,
        max_bytes: state.config.max_upload_bytes,
    })
}

#[derive(Deserialize, Default)]
struct NewQuery {
    requirement: Option<String>,
    appointment: Option<String>,
    /// Any record to link to, as `kind:id`.
    link: Option<String>,
}

async fn new_page(State(state): State<AppState>, me: Member, Query(q): Query<NewQuery>) -> AppResult<NewPage> {
    let mut form = ItemForm { kind: Kind::Document.as_str().into(), ..Default::default() };
    if let Some(id) = q.requirement.as_deref().and_then(|r| r.parse::<Uuid>().ok()) {
        form.links.push(Target { kind: TargetKind::Requirement, id }.value());
    }
    if let Some(id) = q.appointment.as_deref().and_then(|a| a.parse::<Uuid>().ok()) {
        form.links.push(Target { kind: TargetKind::Appointment, id }.value());
    }
    if let Some(t) = q.link.as_deref().and_then(model::parse_target) {
        form.links.push(t.value());
    }
    // The signed-in member owns what they add, when they are in the directory.
    if let Some(p) = people::person_of_user(&state.db, me.org_id, me.user_id).await? {
        form.owner_id = p.id.to_string();
    }
    new_view(&state, &me, form, FieldErrors::default(), None).await
}

// ---------- uploads ----------

/// Why an upload was not taken, with the status to answer and the text
/// fields read so far (so the form can show them again).
pub struct Failure {
    pub status: StatusCode,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Failure { status, message: message.into(), fields: Vec::new() }
    }
}

/// A multipart form: its text fields and, if one was sent, the stored file.
pub struct Upload {
    pub fields: Vec<(String, String)>,
    pub file: Option<(Received, String)>,
}

fn mib(bytes: u64) -> u64 {
    bytes.div_ceil(1024 * 1024)
}

/// Text fields around the file: enough for any form of ours, and no more.
const MAX_FIELDS: usize = 200;
const STORE_FULL: &str = "The evidence store is full, so the file was not saved and nothing was recorded. \
Everything already stored can still be read. Ask your administrator to free or add space, then upload again.";
const STORE_UNAVAILABLE: &str = "The evidence store could not take the file just now, so it was not saved and nothing was recorded. \
Try again in a few minutes; if it keeps failing, tell your administrator.";

/// Reads a multipart form, streaming its `file` field into the store under
/// `key`. The size limit is the smaller of the upload limit and what is
/// left of the organisation's quota; both are checked before the body is
/// read when the request says how long it is. On any failure the stored
/// file, if any, is removed again.
/// Who uploads: a member on a page, or an API token's member.
pub struct Uploader {
    pub org_id: OrgId,
    pub org_name: String,
    pub role: policy::Role,
    pub actor: crate::audit::Actor,
}

impl From<&Member> for Uploader {
    fn from(me: &Member) -> Self {
        Uploader { org_id: me.org_id, org_name: me.org_name.clone(), role: me.role, actor: me.actor() }
    }
}

pub async fn receive(state: &AppState, me: &Member, headers: &HeaderMap, multipart: Multipart, key: &str) -> Result<Upload, Failure> {
    receive_for(state, &Uploader::from(me), headers, multipart, key).await
}

/// `receive`, for any uploader.
pub async fn receive_for(state: &AppState, me: &Uploader, headers: &HeaderMap, mut multipart: Multipart, key: &str) -> Result<Upload, Failure> {
    let max = state.config.max_upload_bytes;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max + FORM_SLACK) {
        return Err(Failure::new(StatusCode::PAYLOAD_TOO_LARGE, format!("The file is larger than the {} MiB this server accepts.", mib(max))));
    }
    let used = model::usage(&state.db, me.org_id)
        .await
        .map_err(|_| Failure::new(StatusCode::SERVICE_UNAVAILABLE, "The database is not answering. Try again shortly."))?;
    let room = state.config.org_quota_bytes.saturating_sub(used.max(0) as u64);
    let quota_message = format!(
        "{} has used {} of its {} MiB of evidence storage, so this file does not fit. Ask for a larger quota.",
        me.org_name,
        model::human_size(used),
        mib(state.config.org_quota_bytes)
    );
    if declared.is_some_and(|n| n > room + FORM_SLACK) {
        return Err(Failure::new(StatusCode::PAYLOAD_TOO_LARGE, quota_message));
    }
    let mut upload = Upload { fields: Vec::new(), file: None };
    let read = read_parts(state, &mut multipart, key, max, room, &quota_message, &mut upload).await;
    match read {
        Ok(()) => Ok(upload),
        Err((status, message)) => {
            if let Some((r, _)) = &upload.file {
                state.store.discard(&r.key).await;
            }
            Err(Failure { status, message, fields: upload.fields })
        }
    }
}

async fn read_parts(
    state: &AppState,
    multipart: &mut Multipart,
    key: &str,
    max: u64,
    room: u64,
    quota_message: &str,
    upload: &mut Upload,
) -> Result<(), (StatusCode, String)> {
    let limit = max.min(room);
    let mut text_bytes = 0usize;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(()),
            Err(_) => return Err((StatusCode::BAD_REQUEST, "The upload was interrupted or malformed. Try again.".into())),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let sent_nothing = field.file_name().is_none_or(str::is_empty);
            if upload.file.is_some() {
                return Err((StatusCode::BAD_REQUEST, "Send one file at a time.".into()));
            }
            if room == 0 && !sent_nothing {
                return Err((StatusCode::PAYLOAD_TOO_LARGE, quota_message.to_string()));
            }
            let filename = display_filename(field.file_name().unwrap_or(""));
            match state.store.receive(key, field, limit, &filename).await {
                Ok(received) => upload.file = Some((received, filename)),
                // A form whose file input was left empty sends an empty part.
                Err(UploadError::Refused(super::sniff::Refusal::Empty)) if sent_nothing => {}
                Err(UploadError::TooLarge { .. }) if limit < max => return Err((StatusCode::PAYLOAD_TOO_LARGE, quota_message.to_string())),
                Err(UploadError::TooLarge { .. }) => {
                    return Err((StatusCode::PAYLOAD_TOO_LARGE, format!("The file is larger than the {} MiB this server accepts.", mib(max))));
                }
                Err(UploadError::Refused(r)) => return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, r.to_string())),
                Err(UploadError::Interrupted) => return Err((StatusCode::BAD_REQUEST, "The upload was interrupted. Try again.".into())),
                // Logged here with the cause; the uploader sees a plain message.
                Err(UploadError::Full) => {
                    tracing::error!("an upload was refused: the evidence store is full");
                    return Err((StatusCode::INSUFFICIENT_STORAGE, STORE_FULL.into()));
                }
                Err(UploadError::Storage(e)) => {
                    tracing::error!("an upload failed in the evidence store: {e:#}");
                    return Err((StatusCode::SERVICE_UNAVAILABLE, STORE_UNAVAILABLE.into()));
                }
            }
        } else {
            if upload.fields.len() >= MAX_FIELDS {
                return Err((StatusCode::PAYLOAD_TOO_LARGE, "The form has too many fields.".into()));
            }
            let mut bytes = Vec::new();
            let mut field = field;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        text_bytes += chunk.len();
                        if text_bytes > FORM_SLACK as usize {
                            return Err((StatusCode::PAYLOAD_TOO_LARGE, "The form's text is too long.".into()));
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(_) => return Err((StatusCode::BAD_REQUEST, "The upload was interrupted. Try again.".into())),
                }
            }
            let value = String::from_utf8(bytes).map_err(|_| (StatusCode::BAD_REQUEST, format!("The field {name} is not readable text.")))?;
            upload.fields.push((name, value));
        }
    }
}

/// Removes a stored file after a failure, unless its row was written after all
/// (a commit can fail to report success).
pub async fn discard_unless_recorded(state: &AppState, org_id: OrgId, revision_id: RevisionId, key: &str) {
    if matches!(model::revision_recorded(&state.db, org_id, revision_id).await, Ok(false)) {
        state.store.discard(key).await;
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get("x-requested-with").and_then(|v| v.to_str().ok()) == Some("XMLHttpRequest")
}

/// Where to go after a successful upload: a redirect, or for the progress
/// script a small JSON answer (the flash cookie rides on either).
fn uploaded(state: &AppState, headers: &HeaderMap, to: &str, flash: Flash) -> Response {
    if wants_json(headers) {
        let mut res = (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], serde_json::json!({ "location": to }).to_string()).into_response();
        res.headers_mut().append(header::SET_COOKIE, crate::auth::session::flash_cookie(state, &flash));
        res
    } else {
        redirect_with(state, to, flash)
    }
}

async fn create(State(state): State<AppState>, me: Member, headers: HeaderMap, multipart: Multipart) -> AppResult<Response> {
    let revision_id = RevisionId::new();
    let key = EvidenceStore::key_for(me.org_id, revision_id);
    let upload = match receive(&state, &me, &headers, multipart, &key).await {
        Ok(u) => u,
        Err(f) => {
            let mut form = ItemForm::from_fields(&f.fields);
            if form.kind.is_empty() {
                form.kind = Kind::Document.as_str().into();
            }
            let message = format!("{} Your other entries are kept below; choose the file again.", f.message);
            let page = new_view(&state, &me, form, FieldErrors::default(), Some(message)).await?;
            return Ok((f.status, page).into_response());
        }
    };
    let mut form = ItemForm::from_fields(&upload.fields);
    let today = state.clock.now().date_naive();
    let result = save_new(&state, &Uploader::from(&me), &mut form, &upload, revision_id, today).await;
    match result {
        Ok(Ok(id)) => Ok(uploaded(&state, &headers, &format!("/evidence/{id}"), Flash::success(format!("\"{}\" was added to the evidence.", form.title.trim())))),
        Ok(Err(errors)) => {
            if let Some((r, _)) = &upload.file {
                state.store.discard(&r.key).await;
            }
            let problem = upload.file.is_some().then(|| "Nothing was saved. Correct the form and choose the file again.".to_string());
            let page = new_view(&state, &me, form, errors, problem).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => {
            if let Some((r, _)) = &upload.file {
                discard_unless_recorded(&state, me.org_id, revision_id, &r.key).await;
            }
            Err(e)
        }
    }
}

/// Writes a new item, its first revision and its links in one transaction.
pub async fn save_new(
    state: &AppState,
    me: &Uploader,
    form: &mut ItemForm,
    upload: &Upload,
    revision_id: RevisionId,
    today: NaiveDate,
) -> AppResult<Result<EvidenceId, FieldErrors>> {
    let picked = pick::resolve(&state.db, me.org_id, today, vec![("owner_id", &mut form.owner_id)]).await?;
    let fields = match pick::merged(picked, form.parse(upload.file.is_some(), today)) {
        Ok(f) => f,
        Err(errors) => return Ok(Err(errors)),
    };
    let targets: Vec<Target> = form.links.iter().filter_map(|l| model::parse_target(l)).collect();
    if targets.iter().any(|t| !policy::may_link_to(me.role, t.kind == TargetKind::EvidenceRequest)) {
        return Err(AppError::Forbidden);
    }
    let id = EvidenceId::new();
    let now = state.clock.now();
    let actor = &me.actor;
    let mut tx = state.db.begin().await?;
    model::create(&mut tx, actor, now, me.org_id, id, &fields).await?;
    if let Some((r, filename)) = &upload.file {
        model::reserve(&mut tx, me.org_id, r.size, state.config.org_quota_bytes).await?;
        let rev = model::NewRevision { id: revision_id, key: &r.key, filename, content_type: r.file_type.mime(), size: r.size, sha256: &r.sha256 };
        model::add_revision(&mut tx, actor, now, me.org_id, id, &rev).await?;
    }
    let mut seen = HashSet::new();
    for t in targets.into_iter().filter(|t| seen.insert((t.kind, t.id))) {
        model::link(&mut tx, actor, now, me.org_id, id, t).await?;
    }
    tx.commit().await?;
    Ok(Ok(id))
}

// ---------- one item ----------

#[derive(Template, WebTemplate)]
#[template(path = "evidence/item.html")]
struct ItemPage {
    layout: Layout,
    item: Item,
    revisions: Vec<Revision>,
    links: Vec<LinkRow>,
    targets: Vec<TargetRow>,
    owners: Vec<Choice>,
    kinds: Vec<Kind>,
    form: ItemForm,
    errors: FieldErrors,
    problem: Option<String>,
    history: Vec<HistoryEntry>,
    can_edit: bool,
    today: NaiveDate,
    max_bytes: u64,
}

impl ItemPage {
    fn validity(&self) -> Validity {
        self.item.validity(self.today)
    }
    fn revision_action(&self) -> String {
        self.layout.upload_action(&format!("/evidence/{}/revisions", self.item.id))
    }
}

fn may_edit(me: &Member, item: &Item) -> bool {
    policy::may_edit_evidence(me.role, item.is_theirs(me.user_id))
}

async fn item_view(state: &AppState, me: &Member, item: Item, form: ItemForm, errors: FieldErrors, problem: Option<String>) -> AppResult<ItemPage> {
    let today = state.clock.now().date_naive();
    let links = model::links_of(&state.db, me.org_id, &[item.id]).await?;
    let linked: HashSet<String> = links.iter().map(LinkRow::value).collect();
    Ok(ItemPage {
        layout: Layout::build(&state.db, &me.visitor, item.title.clone()).await?,
        revisions: model::revisions(&state.db, me.org_id, item.id).await?,
        targets: model::targets(&state.db, me.org_id).await?.into_iter().filter(|t| !linked.contains(&t.value())).collect(),
        owners: pick::choices(&state.db, me.org_id, today, &pick::ids([form.owner_id.as_str()])).await?,
        history: audit::history(&state.db, me.org_id, "evidence", item.id.0, 50).await?,
        kinds: Kind::ALL.to_vec(),
        can_edit: may_edit(me, &item),
        links,
        item,
        form,
        errors,
        problem,
        today,
        max_bytes: state.config.max_upload_bytes,
    })
}

async fn item_page(State(state): State<AppState>, me: Member, Id(id): Id<EvidenceId>) -> AppResult<ItemPage> {
    let item = model::get(&state.db, me.org_id, id).await?;
    let form = ItemForm::from_item(&item);
    item_view(&state, &me, item, form, FieldErrors::default(), None).await
}

/// Loads an item the member may change (404 for another tenant's, 403 for someone else's).
async fn editable(state: &AppState, me: &Member, id: EvidenceId) -> AppResult<Item> {
    let item = model::get(&state.db, me.org_id, id).await?;
    if !may_edit(me, &item) {
        return Err(AppError::Forbidden);
    }
    Ok(item)
}

async fn update(State(state): State<AppState>, me: Member, Id(id): Id<EvidenceId>, Form(mut form): Form<ItemForm>) -> AppResult<Response> {
    editable(&state, &me, id).await?;
    let today = state.clock.now().date_naive();
    let picked = pick::resolve(&state.db, me.org_id, today, vec![("owner_id", &mut form.owner_id)]).await?;
    // Compare with the item as it is now, under a lock, not as it was read before.
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, id).await?;
    let item = model::get(&mut *tx, me.org_id, id).await?;
    let fields = match pick::merged(picked, form.parse(item.revisions > 0, today)) {
        Ok(f) => f,
        Err(errors) => {
            drop(tx);
            let page = item_view(&state, &me, item, form, errors, None).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let changed = model::update(&mut tx, &me.actor(), state.clock.now(), me.org_id, &item, &fields).await?;
    tx.commit().await?;
    let msg = if changed { "Saved." } else { "Nothing changed." };
    Ok(redirect_with(&state, &format!("/evidence/{id}"), Flash::success(msg)))
}

async fn add_revision(State(state): State<AppState>, me: Member, Id(id): Id<EvidenceId>, headers: HeaderMap, multipart: Multipart) -> AppResult<Response> {
    let item = editable(&state, &me, id).await?;
    let revision_id = RevisionId::new();
    let key = EvidenceStore::key_for(me.org_id, revision_id);
    let upload = match receive(&state, &me, &headers, multipart, &key).await {
        Ok(u) => u,
        Err(f) => return revision_refused(&state, &me, item, f).await,
    };
    let Some((r, filename)) = upload.file else {
        return revision_refused(&state, &me, item, Failure::new(StatusCode::UNPROCESSABLE_ENTITY, "Choose the file to upload.")).await;
    };
    let n = store_revision(&state, &Uploader::from(&me), id, revision_id, &r, &filename).await?;
    Ok(uploaded(&state, &headers, &format!("/evidence/{id}"), Flash::success(format!("Revision {n} ({filename}) was added. Earlier revisions stay available."))))
}

/// Records a received file as the item's next revision, within the
/// organisation's quota; the file is removed again if that fails. Returns
/// the revision's number.
pub async fn store_revision(state: &AppState, me: &Uploader, id: EvidenceId, revision_id: RevisionId, r: &Received, filename: &str) -> AppResult<i32> {
    let now = state.clock.now();
    let saved: AppResult<i32> = async {
        let mut tx = state.db.begin().await?;
        model::reserve(&mut tx, me.org_id, r.size, state.config.org_quota_bytes).await?;
        let rev = model::NewRevision { id: revision_id, key: &r.key, filename, content_type: r.file_type.mime(), size: r.size, sha256: &r.sha256 };
        let n = model::add_revision(&mut tx, &me.actor, now, me.org_id, id, &rev).await?;
        tx.commit().await?;
        Ok(n)
    }
    .await;
    if saved.is_err() {
        discard_unless_recorded(state, me.org_id, revision_id, &r.key).await;
    }
    saved
}

async fn revision_refused(state: &AppState, me: &Member, item: Item, f: Failure) -> AppResult<Response> {
    let form = ItemForm::from_item(&item);
    let page = item_view(state, me, item, form, FieldErrors::default(), Some(f.message)).await?;
    Ok((f.status, page).into_response())
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    target: String,
}

async fn add_link(State(state): State<AppState>, me: Member, Id(id): Id<EvidenceId>, Form(form): Form<LinkForm>) -> AppResult<Response> {
    let item = editable(&state, &me, id).await?;
    let target = model::parse_target(&form.target).ok_or_else(|| AppError::BadRequest("Choose what this evidence supports.".into()))?;
    if !policy::may_link_to(me.role, target.kind == TargetKind::EvidenceRequest) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.db.begin().await?;
    let added = model::link(&mut tx, &me.actor(), state.clock.now(), me.org_id, item.id, target).await?;
    tx.commit().await?;
    let msg = if added { "Linked." } else { "It was already linked." };
    Ok(redirect_with(&state, &format!("/evidence/{id}"), Flash::success(msg)))
}

async fn remove_link(State(state): State<AppState>, me: Member, Id(id): Id<EvidenceId>, Form(form): Form<LinkForm>) -> AppResult<Response> {
    let item = editable(&state, &me, id).await?;
    let target = model::parse_target(&form.target).ok_or(AppError::NotFound)?;
    if !policy::may_link_to(me.role, target.kind == TargetKind::EvidenceRequest) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.db.begin().await?;
    let removed = model::unlink(&mut tx, &me.actor(), state.clock.now(), me.org_id, item.id, target).await?;
    tx.commit().await?;
    let msg = if removed { "The link was removed. The evidence itself is kept." } else { "It was not linked." };
    Ok(redirect_with(&state, &format!("/evidence/{id}"), Flash::success(msg)))
}

// ---------- downloads ----------

/// A revision's file, always as an attachment, never rendered by the browser.
async fn download(State(state): State<AppState>, me: Member, Id(id): Id<RevisionId>) -> AppResult<Response> {
    send_file(&state, me.org_id, id).await
}

/// A revision's file as a download, streamed from the store: an attachment
/// that cannot run, with its SHA-256 (the page's download and the API's).
pub async fn send_file(state: &AppState, org_id: OrgId, id: RevisionId) -> AppResult<Response> {
    let rev = model::revision(&state.db, org_id, id).await?;
    let (size, stream) = state.store.read(&rev.object_key).await?;
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&rev.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&crate::web::layout::attachment(&rev.filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert("x-download-options", HeaderValue::from_static("noopen"));
    // Even if a browser tried to show it, nothing in it could run.
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    h.insert("x-evidence-sha256", HeaderValue::from_str(&rev.sha256_hex()).unwrap_or(HeaderValue::from_static("")));
    Ok(res)
}
