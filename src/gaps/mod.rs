//! The gap engine and the two dashboards built on it: the ISMS lead's gap
//! list with readiness per clause, and the leadership dashboard.
pub mod derived;
pub mod model;
pub mod rules;
pub mod snapshot;

use crate::cache::Cache;
use crate::ids::OrgId;
use crate::error::AppResult;
use chrono::NaiveDate;
use model::Gap;
use snapshot::Snapshot;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

/// An organisation's gaps as of a day, with the records they were found in.
pub struct Evaluation {
    pub as_of: NaiveDate,
    pub snapshot: Snapshot,
    pub gaps: Vec<Gap>,
}

/// Loads and evaluates, without the cache.
pub async fn evaluate(db: &PgPool, org_id: OrgId, as_of: NaiveDate) -> AppResult<Evaluation> {
    let snapshot = snapshot::load(db, org_id, as_of).await?;
    let gaps = rules::evaluate(&snapshot);
    Ok(Evaluation { as_of, snapshot, gaps })
}

/// The organisation's gaps as of `as_of`, from the cache while nothing changed.
pub async fn evaluation(db: &PgPool, cache: &Cache, org_id: OrgId, as_of: NaiveDate) -> AppResult<Arc<Evaluation>> {
    cache.current(db, org_id, as_of, || evaluate(db, org_id, as_of)).await
}

/// Like `evaluation`, for points of the trend chart: a kept point is reused
/// for up to an hour after a change.
pub async fn trend_point(db: &PgPool, cache: &Cache, org_id: OrgId, as_of: NaiveDate, head: i64) -> AppResult<Arc<Evaluation>> {
    cache.get_or_compute(org_id, as_of, head, Some(Duration::from_secs(3600)), || evaluate(db, org_id, as_of)).await
}

pub mod board;
pub mod routes;
pub mod trend;

pub use routes::routes;
