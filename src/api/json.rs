//! What every API answer shares: JSON bodies with an `ETag` (and 304 for a
//! matching `If-None-Match`), lists paged by opaque keyset cursors and
//! filtered by `updated_since`, and request bodies read as JSON with a
//! problem-details answer when they cannot be.
use crate::error::{AppError, AppResult};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;
/// The largest body a bulk call (a sync, an import) takes: 10,000 people
/// with every field, or 50,000 acknowledgements, fit with room to spare.
/// Other JSON bodies keep axum's 2 MiB.
pub const BULK_BYTES: usize = 32 * 1024 * 1024;

/// The query every list takes.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page; leave out for the first page.
    pub cursor: Option<String>,
    /// Items per page, from 1 to 500 (100 when left out).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Only records changed at or after this moment (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    /// A change is stamped when its request starts: ask from a minute before the previous run began.
    pub updated_since: Option<DateTime<Utc>>,
}

/// Where a page starts: after the last (changed at, id) of the previous one.
#[derive(Debug, Clone, Copy)]
pub struct Keyset {
    pub since: Option<DateTime<Utc>>,
    pub after_at: Option<DateTime<Utc>>,
    pub after_id: Option<Uuid>,
    /// Rows to fetch: one more than the page holds, to know whether another follows.
    pub fetch: i64,
    pub limit: usize,
}

impl Keyset {
    /// The one row a record's own answer reads (its id given to the same query).
    pub const ONE: Keyset = Keyset { since: None, after_at: None, after_id: None, fetch: 1, limit: 1 };
}

impl ListQuery {
    pub fn keyset(&self) -> AppResult<Keyset> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::BadRequest(format!("limit must be from 1 to {MAX_LIMIT}.")));
        }
        let (after_at, after_id) = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => (None, None),
            Some(c) => {
                let (at, id) = decode_cursor(c).ok_or_else(|| AppError::BadRequest("The cursor is not one this API gave out. Start again without it.".into()))?;
                (Some(at), Some(id))
            }
        };
        // A page may hold at most MAX_LIMIT items, so the cast cannot truncate.
        Ok(Keyset { since: self.updated_since, after_at, after_id, fetch: limit + 1, limit: usize::try_from(limit).unwrap_or(100) })
    }
}

fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)))
}

fn decode_cursor(c: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    let (at, id) = raw.split_once('|')?;
    Some((DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc), id.parse().ok()?))
}

/// Cuts the extra row off and names where the next page starts.
pub fn page<T>(mut items: Vec<T>, k: &Keyset, key: impl Fn(&T) -> (DateTime<Utc>, Uuid)) -> (Vec<T>, Option<String>) {
    if items.len() > k.limit {
        items.truncate(k.limit);
        let next = items.last().map(|last| {
            let (at, id) = key(last);
            encode_cursor(at, id)
        });
        (items, next)
    } else {
        (items, None)
    }
}

/// A page of a list, answered: the rows fetched (one more than the page
/// holds), cut to the page, with the next page's cursor.
pub fn reply_page<T: Serialize>(headers: &HeaderMap, rows: Vec<T>, k: &Keyset, key: impl Fn(&T) -> (DateTime<Utc>, Uuid)) -> AppResult<Response> {
    let (items, next_cursor) = page(rows, k, key);
    reply(headers, StatusCode::OK, &Page { items, next_cursor })
}

/// The body of a list handler whose query takes the organisation ($1), the
/// keyset (`updated_since` $2, after $3/$4) and the rows to fetch ($5): the
/// page, answered. The query stays compile-checked (`sqlx::query_as!`).
macro_rules! list {
    ($state:ident, $me:ident, $headers:ident, $q:ident, $row:ty, $sql:literal, |$r:ident| $key:expr) => {{
        let k = $q.keyset()?;
        let rows = sqlx::query_as!($row, $sql, $me.token.org_id.0, k.since, k.after_at, k.after_id, k.fetch).fetch_all(&$state.db).await?;
        $crate::api::json::reply_page(&$headers, rows, &k, |$r: &$row| $key)
    }};
}
pub(crate) use list;

/// A list page: the items, and the cursor of the next page (`null` on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The answer: JSON with a strong ETag of its bytes, or 304 Not Modified
/// when the caller already holds exactly these bytes.
pub fn reply<T: Serialize>(headers: &HeaderMap, status: StatusCode, body: &T) -> AppResult<Response> {
    let bytes = serde_json::to_vec(body).map_err(|e| AppError::Internal(e.into()))?;
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag || t.trim() == "*"));
    let etag_value = HeaderValue::from_str(&etag).map_err(|e| AppError::Internal(e.into()))?;
    if matches && status == StatusCode::OK {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response());
    }
    Ok((status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json")), (header::ETAG, etag_value)], bytes).into_response())
}

/// A JSON request body. One that is not JSON, or not the JSON the operation
/// describes, answers 400 or 422 as problem details saying what was wrong.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(AppError::Rejected(rejection.status(), rejection.body_text())),
        }
    }
}
