//! What every handler shares: the database pool, settings, clock, mailer,
//! evidence store, and what is kept between views (`cache`). Built once by `cli::serve`
//! (or a test) and handed to the router.
use crate::clock::Clock;
use crate::config::Config;
use crate::evidence::store::EvidenceStore;
use crate::mail::Mailer;
use sqlx::PgPool;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub mailer: Option<Arc<Mailer>>,
    pub store: Arc<EvidenceStore>,
    /// Gap evaluations and page figures kept between views (see `cache`).
    pub kept: Arc<crate::cache::Cache>,
}
