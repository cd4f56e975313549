//! Browsing the organisation's audit log, and exporting it as CSV.
use crate::ids::OrgId;
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::auth::session::Member;
use crate::error::AppResult;
use crate::web::{Layout, csv};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use serde::Deserialize;
use sqlx::PgPool;

const PAGE: i64 = 100;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/audit", Can(ViewAuditLog), log_page).get("/audit.csv", Can(ViewAuditLog), export)
}

#[derive(Deserialize, Default, Clone)]
pub struct Filter {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub entity: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// Show entries older than this row id (paging).
    pub before: Option<i64>,
}

impl Filter {
    fn actor(&self) -> Option<String> {
        let a = self.actor.trim();
        (!a.is_empty()).then(|| a.to_string())
    }
    fn entity(&self) -> Option<String> {
        let e = self.entity.trim();
        (!e.is_empty()).then(|| e.to_string())
    }
    fn from(&self) -> Option<DateTime<Utc>> {
        NaiveDate::parse_from_str(self.from.trim(), "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
    }
    /// The whole `to` day is included.
    fn to(&self) -> Option<DateTime<Utc>> {
        NaiveDate::parse_from_str(self.to.trim(), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
    }
    /// The filter as a query string, for the export link and paging.
    pub fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("actor", &self.actor).append_pair("entity", &self.entity).append_pair("from", &self.from).append_pair("to", &self.to);
        q.finish()
    }
}

pub struct Entry {
    pub id: i64,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<crate::ids::UserId>,
    pub actor_label: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub request_id: String,
    pub details: String,
    pub hash: Vec<u8>,
}

impl LogPage {
    /// Who made the row: their name and title, or their account's label.
    fn who(&self, e: &Entry) -> String {
        e.actor_id.and_then(|a| self.names.get(&a.0)).map(str::to_string).unwrap_or_else(|| e.actor_label.clone())
    }
    /// The record the row is about, by name where it has one.
    fn record(&self, e: &Entry) -> String {
        let kind = e.entity.replace('_', " ");
        match uuid::Uuid::parse_str(&e.entity_id).ok().and_then(|id| self.names.get(&id)) {
            Some(name) => format!("{kind}: {name}"),
            None if uuid::Uuid::parse_str(&e.entity_id).is_ok() => kind,
            None => format!("{kind}: {}", e.entity_id),
        }
    }
    fn lines(&self, e: &Entry) -> Vec<String> {
        super::words::sentences(&e.details, &self.names)
    }
}

impl Entry {
    pub fn when(&self) -> String {
        self.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }
    pub fn what(&self) -> &str {
        super::describe(&self.action)
    }
    pub fn short_hash(&self) -> String {
        hex::encode(&self.hash[..self.hash.len().min(6)])
    }
}

/// The organisation's rows that match the filter, newest first: older than
/// row `before`, at most `limit` (`None`: all of them).
fn entries<'a>(db: &'a PgPool, org_id: OrgId, f: &Filter, before: Option<i64>, limit: Option<i64>) -> BoxStream<'a, Result<Entry, sqlx::Error>> {
    sqlx::query_as!(
        Entry,
        "SELECT id, seq, at, actor_id AS \"actor_id: crate::ids::UserId\", actor_label, action, entity, entity_id, request_id, details, hash
           FROM audit_log
          WHERE org_id = $1
            AND ($2::text IS NULL OR actor_label ILIKE '%' || $2 || '%')
            AND ($3::text IS NULL OR entity = $3)
            AND ($4::timestamptz IS NULL OR at >= $4)
            AND ($5::timestamptz IS NULL OR at < $5)
            AND ($6::bigint IS NULL OR id < $6)
          ORDER BY id DESC
          LIMIT $7",
        org_id.0,
        f.actor(),
        f.entity(),
        f.from(),
        f.to(),
        before,
        limit
    )
    .fetch(db)
}

#[derive(Template, WebTemplate)]
#[template(path = "audit/log.html")]
struct LogPage {
    layout: Layout,
    entries: Vec<Entry>,
    /// Names for the ids the rows mention (people, accounts, records).
    names: super::words::Names,
    entities: Vec<String>,
    filter: Filter,
    older: Option<String>,
    export: String,
}

async fn log_page(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<LogPage> {
    let mut entries: Vec<Entry> = entries(&state.db, me.org_id, &filter, filter.before, Some(PAGE + 1)).try_collect().await?;
    let older = if entries.len() as i64 > PAGE {
        entries.truncate(PAGE as usize);
        entries.last().map(|e| format!("{}&before={}", filter.query(), e.id))
    } else {
        None
    };
    let details: Vec<&str> = entries.iter().map(|e| e.details.as_str()).collect();
    let records: Vec<&str> = entries.iter().map(|e| e.entity_id.as_str()).collect();
    let actors: Vec<uuid::Uuid> = entries.iter().filter_map(|e| e.actor_id.map(|a| a.0)).collect();
    let names = super::words::names(&state.db, me.org_id, &details, &records, &actors).await?;
    let entities = sqlx::query_scalar!("SELECT DISTINCT entity FROM audit_log WHERE org_id = $1 ORDER BY entity", me.org_id.0)
        .fetch_all(&state.db)
        .await?;
    Ok(LogPage {
        layout: Layout::build(&state.db, &me.visitor, "Audit log").await?,
        entries,
        names,
        entities,
        export: filter.query(),
        older,
        filter,
    })
}

/// Streams every matching row: constant memory whatever the log's size.
async fn export(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<Response> {
    let org_id = me.org_id;
    Ok(csv::stream_rows(
        &format!("audit-log-{}.csv", state.clock.now().format("%Y%m%d")),
        &["seq", "at", "actor", "action", "entity", "entity_id", "request_id", "details", "hash"],
        state.db.clone(),
        move |db| entries(db, org_id, &filter, None, None),
        |e: Entry| {
            vec![
                e.seq.to_string(),
                e.at.to_rfc3339_opts(SecondsFormat::Micros, true),
                e.actor_label,
                e.action,
                e.entity,
                e.entity_id,
                e.request_id,
                e.details,
                hex::encode(&e.hash),
            ]
        },
    ))
}
