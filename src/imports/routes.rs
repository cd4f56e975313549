//! The import pipeline's pages, one set for every kind (`K: Import`). Each
//! area adds them under its own path, with the access it needs:
//! `.get("/people/import", Can(ManagePeople), imports::routes::page::<People>)`.
use super::{Effect, Import, Notice, Table, model};
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::ids::ImportId;
use crate::state::AppState;
use crate::web::sheet::{self, Problem, Refused};
use crate::web::{Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Template, WebTemplate)]
#[template(path = "imports/page.html")]
pub struct UploadPage {
    layout: Layout,
    path: &'static str,
    home: (&'static str, &'static str),
    intro: &'static str,
    columns: &'static [(&'static str, &'static str)],
    notes: Vec<String>,
    error: Option<String>,
    max_mib: usize,
    max_rows: String,
}

async fn upload_view<K: Import>(state: &AppState, me: &Member, error: Option<String>) -> AppResult<UploadPage> {
    Ok(UploadPage {
        layout: Layout::build(&state.db, &me.visitor, K::TITLE).await?,
        path: K::PATH,
        home: K::HOME,
        intro: K::INTRO,
        columns: K::COLUMNS,
        notes: K::notes(&state.db, me.org_id).await?,
        error,
        max_mib: K::MAX_BYTES / (1024 * 1024),
        max_rows: sheet::thousands(K::MAX_ROWS),
    })
}

/// The upload form, the columns and the limits.
pub async fn page<K: Import>(State(state): State<AppState>, me: Member) -> AppResult<UploadPage> {
    upload_view::<K>(&state, &me, None).await
}

/// A file with the headings and an example line.
pub async fn template<K: Import>() -> Response {
    csv::attachment(&K::FILE.replace(".csv", "-template.csv"), K::template())
}

/// Reads and checks the file as it arrives, stores the checked rows and
/// every problem, and shows the preview. A file over a limit is refused
/// whole and nothing is stored.
pub async fn upload<K: Import>(State(state): State<AppState>, me: Member, mut multipart: Multipart) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let mut parser = K::parser(K::lines(&state.db, me.org_id, today).await?);
    let received = sheet::receive(&mut multipart, K::FILE, K::MAX_BYTES, |piece| parser.feed(piece)).await;
    let finished = received.and_then(|file| parser.finish().map(|p| (file, p)).map_err(Refused::TooManyRows));
    let (file, (mut checked, lines)) = match finished {
        Ok(v) => v,
        Err(Refused::Interrupted) => return Err(AppError::BadRequest(Refused::Interrupted.answer().1)),
        Err(refused) => {
            let (status, message) = refused.answer();
            return Ok((status, upload_view::<K>(&state, &me, Some(message)).await?).into_response());
        }
    };
    K::complete(&state.db, me.org_id, lines, &mut checked).await?;
    checked.problems.sort_by_key(|p| p.line);
    let filename = crate::web::form::display_filename(&file.filename);
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = model::store(&mut tx, &me.actor(), now, me.org_id, K::KIND, &filename, &file.sha256, &checked).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("{}/{id}", K::PATH)).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "imports/preview.html")]
pub struct PreviewPage {
    layout: Layout,
    id: ImportId,
    path: &'static str,
    home: (&'static str, &'static str),
    filename: String,
    uploaded: String,
    rows: usize,
    row_name: &'static str,
    problems: Vec<Problem>,
    problems_total: usize,
    applied: Option<String>,
    stale: Option<String>,
    effects: Vec<Effect>,
    apply: Option<String>,
    nothing: String,
    notices: Vec<Notice>,
    tables: Vec<Table>,
}

/// Problems listed on the page (all of them count).
const PROBLEMS_SHOWN: usize = 500;

/// The file's problems, or what applying it would change now.
pub async fn preview<K: Import>(State(state): State<AppState>, me: Member, Id(id): Id<ImportId>) -> AppResult<PreviewPage> {
    let today = state.clock.now().date_naive();
    let mut conn = state.db.acquire().await?;
    let stored = model::load::<K::Row>(&mut conn, me.org_id, K::KIND, id, false).await?;
    let rows = stored.rows.len();
    let mut problems = stored.problems;
    let (mut preview, mut stale) = (super::Preview::default(), None);
    let applied = stored.applied_at.map(|at| {
        format!("Applied on {}: {}", at.format("%Y-%m-%d %H:%M UTC"), K::applied_note(stored.summary.as_ref().unwrap_or(&serde_json::Value::Null)))
    });
    if applied.is_none() {
        match K::plan(&mut conn, me.org_id, &stored.columns, stored.rows, today).await? {
            Ok(plan) => preview = K::preview(&plan),
            Err(e) => stale = Some(e),
        }
        problems.append(&mut preview.problems);
        problems.sort_by_key(|p| p.line);
    }
    drop(conn);
    Ok(PreviewPage {
        layout: Layout::build(&state.db, &me.visitor, "Check the import").await?,
        id,
        path: K::PATH,
        home: K::HOME,
        filename: stored.filename,
        uploaded: stored.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        rows,
        row_name: if rows == 1 { K::ROW.0 } else { K::ROW.1 },
        problems_total: problems.len(),
        problems: problems.into_iter().take(PROBLEMS_SHOWN).collect(),
        applied,
        stale,
        effects: preview.effects,
        apply: preview.apply,
        nothing: preview.nothing,
        notices: preview.notices,
        tables: preview.tables,
    })
}

/// Applies a checked file: all of it or nothing, once.
pub async fn apply<K: Import>(State(state): State<AppState>, me: Member, Id(id): Id<ImportId>) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    K::lock(&mut tx, me.org_id).await?;
    let stored = model::load::<K::Row>(&mut tx, me.org_id, K::KIND, id, true).await?;
    if stored.applied_at.is_some() {
        return Err(AppError::Conflict("This import was already applied. Upload the file again to import it anew.".into()));
    }
    if !stored.problems.is_empty() {
        return Err(AppError::Conflict("This file has problems. Fix them and upload it again; nothing was changed.".into()));
    }
    let plan = K::plan(&mut tx, me.org_id, &stored.columns, stored.rows, now.date_naive())
        .await?
        .map_err(|e| AppError::Conflict(format!("The records changed since the file was checked ({e}). Upload the file again.")))?;
    if !K::preview(&plan).problems.is_empty() {
        return Err(AppError::Conflict("Some lines clash with the stored records; see the preview. Fix the file and upload it again; nothing was changed.".into()));
    }
    let done = K::apply(&mut tx, &me.actor(), now, me.org_id, plan).await?;
    model::mark_applied(&mut tx, &me.actor(), now, me.org_id, K::KIND, id, &stored.filename, &done.summary).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, K::HOME.0, Flash::success(done.message)))
}
