//! Evaluations kept in memory, so a dashboard costs a few cheap queries
//! instead of a full evaluation on every view.
//!
//! Every change writes an audit row in its own transaction, and each
//! organisation's audit chain has a head that counts the rows that change
//! records (`audit::records_version`; sign-ins and bundle runs do not
//! count): that number is the key's version. A cached evaluation is used
//! while the number is unchanged, so a change shows on the next view,
//! whichever app process made it. Points of the trend chart
//! (past dates) may instead be reused for up to an hour after a change.
//! Concurrent views of the same key share one evaluation.
use super::Evaluation;
use crate::error::AppError;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;
use crate::ids::OrgId;

/// At most this many evaluations are kept; the oldest go first.
const CAPACITY: usize = 2_000;

type Cell = Arc<OnceCell<Arc<Evaluation>>>;

struct Entry {
    head: i64,
    made: Instant,
    cell: Cell,
}

#[derive(Default)]
pub struct Cache {
    entries: Mutex<HashMap<(OrgId, NaiveDate), Entry>>,
}

impl Cache {
    /// The evaluation of `org` as of `day` at audit head `head`, computed by
    /// `compute` unless a usable one is kept. `reuse_for`: how long an
    /// evaluation stays usable after the head moved on (`None`: not at all).
    pub async fn get_or_compute<F, Fut>(&self, org: OrgId, day: NaiveDate, head: i64, reuse_for: Option<Duration>, compute: F) -> Result<Arc<Evaluation>, AppError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Evaluation, AppError>>,
    {
        let cell = {
            let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let usable = map.get(&(org, day)).filter(|e| e.head == head || reuse_for.is_some_and(|d| e.made.elapsed() < d && e.cell.initialized()));
            match usable {
                Some(e) => e.cell.clone(),
                None => {
                    if map.len() >= CAPACITY
                        && let Some(oldest) = map.iter().min_by_key(|(_, e)| e.made).map(|(k, _)| *k)
                    {
                        map.remove(&oldest);
                    }
                    let cell: Cell = Arc::default();
                    map.insert((org, day), Entry { head, made: Instant::now(), cell: cell.clone() });
                    cell
                }
            }
        };
        let value = cell.get_or_try_init(|| async { compute().await.map(Arc::new) }).await?;
        Ok(value.clone())
    }
}
