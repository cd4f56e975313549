//! Leadership records (clause 5.1): what top management decided, funded,
//! said and was asked. Meetings and their action items, resource decisions,
//! communications, security objectives and asks, each in its own folder
//! (`model.rs` the queries and types, `routes.rs` the pages); what they
//! share is here.
/// `list`, `stream` and `get` of a record kind, all three through its one
/// compile-checked `select` query: `|org, id| select(org, id)` builds it,
/// and `id` is `None` to read every record of the organisation.
macro_rules! reads {
    ($record:ty, $id:ty, |$org:ident, $one:ident| $select:expr) => {
        /// Every record of the organisation, in the list's order.
        pub async fn list(db: &sqlx::PgPool, org_id: crate::ids::OrgId) -> crate::error::AppResult<Vec<$record>> {
            let ($org, $one) = (org_id, None::<$id>);
            Ok($select.fetch_all(db).await?)
        }

        /// The organisation's records as `list` orders them, read as they are sent.
        pub fn stream(db: &sqlx::PgPool, org_id: crate::ids::OrgId) -> crate::leadership::Rows<'_, $record> {
            let ($org, $one) = (org_id, None::<$id>);
            $select.fetch(db)
        }

        /// One record of the organisation; another's is not found.
        pub async fn get(db: impl sqlx::PgExecutor<'_>, org_id: crate::ids::OrgId, id: $id) -> crate::error::AppResult<$record> {
            let ($org, $one) = (org_id, Some(id));
            $select.fetch_optional(db).await?.ok_or(crate::error::AppError::NotFound)
        }
    };
}

pub mod asks;
pub mod communications;
pub mod decisions;
pub mod meetings;
pub mod objectives;

use crate::audit::Actor;
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::ids::{OrgId, PersonId};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::web::{FieldErrors, Id, PathId, csv, redirect_with};
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use std::future::Future;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use std::fmt::Display;

pub fn routes(r: Routes) -> Routes {
    let r = meetings::routes(r);
    let r = decisions::routes(r);
    let r = communications::routes(r);
    let r = objectives::routes(r);
    asks::routes(r)
}

/// What a record's page shows besides the record and its form: the evidence
/// linked to it, its history, and what the member may do there.
pub struct Around {
    pub evidence: Vec<crate::evidence::model::Item>,
    pub history: Vec<crate::audit::HistoryEntry>,
    pub can_manage: bool,
    pub can_upload: bool,
}

impl Around {
    /// For a record (`kind` its evidence target, `entity` its name in the
    /// audit log), or for the form of a new one (`None`).
    pub async fn load(state: &AppState, me: &Member, record: Option<(crate::evidence::model::TargetKind, &str, uuid::Uuid)>) -> AppResult<Self> {
        use crate::auth::policy::Action;
        let (evidence, history) = match record {
            Some((kind, entity, id)) => (
                crate::evidence::model::for_target(&state.db, me.org_id, crate::evidence::model::Target { kind, id }).await?,
                crate::audit::history(&state.db, me.org_id, entity, id, 30).await?,
            ),
            None => (Vec::new(), Vec::new()),
        };
        Ok(Around { evidence, history, can_manage: me.can(Action::ManageLeadership), can_upload: me.can(Action::UploadEvidence) })
    }
}

/// Refuses people who are not in this organisation's directory (a form
/// can be tampered with).
pub async fn check_people(conn: &mut PgConnection, org_id: OrgId, ids: &[PersonId]) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    let found = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM people WHERE org_id = $1 AND id = ANY($2)"#, org_id.0, &unique as _).fetch_one(conn).await?;
    if found as usize != unique.len() {
        return Err(AppError::BadRequest("Someone chosen is not in this organisation's directory.".into()));
    }
    Ok(())
}

/// Everyone's name by id, for lists and exports that name several people per row.
pub async fn person_names(db: &PgPool, org_id: OrgId) -> AppResult<HashMap<PersonId, String>> {
    Ok(sqlx::query!(r#"SELECT id AS "id: PersonId", name FROM people WHERE org_id = $1"#, org_id.0).fetch_all(db).await?.into_iter().map(|r| (r.id, r.name)).collect())
}

// ---------- what the record pages share ----------

/// An option for a select: id and label.
pub struct Opt<I> {
    pub id: I,
    pub label: String,
}

/// A record page answers 200, or 422 when it shows a refused form again.
pub fn page_status(errors: &[&FieldErrors]) -> StatusCode {
    if errors.iter().all(|e| e.is_empty()) { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY }
}

/// What a save says.
pub fn saved(changed: bool) -> Flash {
    Flash::success(if changed { "Saved." } else { "Nothing changed." })
}

/// A value as a form field holds it: empty when there is none.
pub fn text_of<T: Display>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// A yes/no cell.
pub fn yes_no(yes: bool) -> String {
    if yes { "yes" } else { "no" }.into()
}

/// An optional yes/no cell: empty when unknown.
pub fn maybe_yes_no(yes: Option<bool>) -> String {
    yes.map(yes_no).unwrap_or_default()
}

/// The rows of a record list, as they are read from the database.
pub type Rows<'a, T> = BoxStream<'a, Result<T, sqlx::Error>>;

/// Streams a record list as a CSV download, in constant memory: `rows`
/// reads the organisation's records (a compile-checked query, streamed),
/// `to_row` turns one into cells.
pub fn export_csv<T, R>(filename: &str, header: &'static [&'static str], db: PgPool, org_id: OrgId, rows: for<'a> fn(&'a PgPool, OrgId) -> Rows<'a, T>, to_row: R) -> Response
where
    T: Send + 'static,
    R: Fn(T) -> Vec<String> + Send + 'static,
{
    let (tx, res) = csv::download(filename);
    tokio::spawn(async move {
        if tx.send(Ok(csv::row(header).into())).await.is_err() {
            return;
        }
        let mut rows = rows(&db, org_id);
        while let Some(next) = rows.next().await {
            let chunk = match next {
                Ok(r) => Ok(csv::row(&to_row(r)).into()),
                Err(err) => {
                    tracing::error!("CSV export failed: {err}");
                    Err(std::io::Error::other("export failed"))
                }
            };
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    res
}

/// A leadership record with the usual pages: a form to record one, and its
/// own page with the form to edit it. [`show_page`], [`create`] and
/// [`update`] serve every such record.
pub trait RecordPages: Sized + Send + Sync + 'static {
    type Id: PathId + Copy + Display + Into<uuid::Uuid> + crate::db::LockRow + Send + Sync + 'static;
    /// The form as typed.
    type Form: DeserializeOwned + Send + 'static;
    /// What the form sets, once parsed.
    type Fields: Send + Sync;
    /// Where the pages are: `{PATH}/{id}`.
    const PATH: &'static str;
    /// What the page says once one is recorded.
    const RECORDED: &'static str;

    fn get(conn: &mut PgConnection, org_id: OrgId, id: Self::Id) -> impl Future<Output = AppResult<Self>> + Send;
    /// The edit form, filled in with the record.
    fn form(&self) -> Self::Form;
    /// The form's person fields (`crate::people::pick`), found by name or
    /// e-mail address before the form is parsed.
    fn people(form: &mut Self::Form) -> Vec<(&'static str, &mut String)>;
    fn parse(form: &Self::Form, today: NaiveDate) -> Result<Self::Fields, FieldErrors>;
    fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Self::Fields) -> impl Future<Output = AppResult<Self::Id>> + Send;
    fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Self, f: Self::Fields) -> impl Future<Output = AppResult<bool>> + Send;
    /// The record's page (or the new-record page), with the form and its errors.
    fn show(state: &AppState, me: &Member, record: Option<Self>, form: Self::Form, errors: FieldErrors) -> impl Future<Output = AppResult<Response>> + Send;
}

/// A record's own page.
pub async fn show_page<R: RecordPages>(State(state): State<AppState>, me: Member, Id(id): Id<R::Id>) -> AppResult<Response> {
    let record = R::get(&mut *state.db.acquire().await?, me.org_id, id).await?;
    let form = record.form();
    R::show(&state, &me, Some(record), form, FieldErrors::default()).await
}

/// Records a new one from the form, or shows the form again with what is wrong.
pub async fn create<R: RecordPages>(State(state): State<AppState>, me: Member, Form(mut form): Form<R::Form>) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let picked = crate::people::pick::resolve(&state.db, me.org_id, today, R::people(&mut form)).await?;
    let fields = match crate::people::pick::merged(picked, R::parse(&form, today)) {
        Ok(f) => f,
        Err(errors) => return R::show(&state, &me, None, form, errors).await,
    };
    let mut tx = state.db.begin().await?;
    let id = R::insert(&mut tx, &me.actor(), state.clock.now(), me.org_id, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("{}/{id}", R::PATH), Flash::success(R::RECORDED)))
}

/// Saves the edit form (the row locked meanwhile), or shows it again with what is wrong.
pub async fn update<R: RecordPages>(State(state): State<AppState>, me: Member, Id(id): Id<R::Id>, Form(mut form): Form<R::Form>) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let picked = crate::people::pick::resolve(&state.db, me.org_id, today, R::people(&mut form)).await?;
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, id).await?;
    let before = R::get(&mut tx, me.org_id, id).await?;
    let fields = match crate::people::pick::merged(picked, R::parse(&form, today)) {
        Ok(f) => f,
        Err(errors) => {
            drop(tx);
            return R::show(&state, &me, Some(before), form, errors).await;
        }
    };
    let changed = R::save(&mut tx, &me.actor(), state.clock.now(), me.org_id, &before, fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("{}/{id}", R::PATH), saved(changed)))
}
