//! What is computed once per change, not on every view: gap evaluations
//! (`crate::gaps`), and the acknowledgement and training figures of the
//! policy and training pages.
//!
//! Every change writes an audit row in its own transaction, and each
//! organisation's audit chain has a head that counts the rows that change
//! records (`audit::records_version`; sign-ins and bundle runs do not
//! count): that number is the key's version. A kept value is used while
//! the number is unchanged, so a change shows on the next view, whichever
//! app process made it. Points of the gap trend chart (past dates) may
//! instead be reused for up to an hour after a change. Concurrent views of
//! the same key share one computation.
//!
//! Values are kept by organisation, day and type (one cache serves every
//! kind of value, so it names none of them).
use crate::error::AppError;
use crate::ids::OrgId;
use chrono::NaiveDate;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// At most this many values are kept; the oldest go first.
const CAPACITY: usize = 2_000;

type Value = Arc<dyn Any + Send + Sync>;
type Cell = Arc<OnceCell<Value>>;
type Key = (OrgId, NaiveDate, TypeId);

struct Entry {
    head: i64,
    made: Instant,
    cell: Cell,
}

#[derive(Default)]
pub struct Cache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl Cache {
    /// The `V` of `org` as of `day` at audit head `head`, computed by
    /// `compute` unless a usable one is kept. `reuse_for`: how long a value
    /// stays usable after the head moved on (`None`: not at all).
    pub async fn get_or_compute<V, F, Fut>(&self, org: OrgId, day: NaiveDate, head: i64, reuse_for: Option<Duration>, compute: F) -> Result<Arc<V>, AppError>
    where
        V: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, AppError>>,
    {
        let key = (org, day, TypeId::of::<V>());
        let cell = {
            let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let usable = map.get(&key).filter(|e| e.head == head || reuse_for.is_some_and(|d| e.made.elapsed() < d && e.cell.initialized()));
            match usable {
                Some(e) => e.cell.clone(),
                None => {
                    if map.len() >= CAPACITY
                        && let Some(oldest) = map.iter().min_by_key(|(_, e)| e.made).map(|(k, _)| *k)
                    {
                        map.remove(&oldest);
                    }
                    let cell: Cell = Arc::default();
                    map.insert(key, Entry { head, made: Instant::now(), cell: cell.clone() });
                    cell
                }
            }
        };
        let value = cell.get_or_try_init(|| async { compute().await.map(|v| Arc::new(v) as Value) }).await?;
        // The key holds the type's id, so the value is always a `V`.
        value.clone().downcast::<V>().map_err(|_| AppError::Internal(anyhow::anyhow!("a kept value of another type")))
    }

    /// `compute`'s value for `org` as of `day`, kept until the organisation's
    /// records change (`audit::records_version`).
    pub async fn current<V, F, Fut>(&self, db: &sqlx::PgPool, org: OrgId, day: NaiveDate, compute: F) -> Result<Arc<V>, AppError>
    where
        V: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, AppError>>,
    {
        let head = crate::audit::records_version(db, org).await?;
        self.get_or_compute(org, day, head, None, compute).await
    }
}
