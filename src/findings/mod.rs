//! Findings as corrective actions (ISO/IEC 27001 clause 10.2). The gap
//! engine says what an auditor would find today; this area keeps each
//! finding as a tracked item with an owner, due date, cause and action
//! taken, resolves it by itself when its rule stops firing (naming the
//! change that cleared it), reopens it when the rule fires again, and lets
//! top management accept it as a risk until a day.
//!
//! The tracker runs in every app process (`spawn_worker`): every two
//! seconds it brings up to date the organisations whose records changed
//! since their last sync, or whose last sync was on an earlier day (dates
//! alone open and close findings, and end acceptances).
pub mod model;
pub mod routes;

use crate::error::AppResult;
use crate::ids::OrgId;
use crate::state::AppState;
use model::Synced;

pub use routes::routes;

/// Brings one organisation's findings up to date with today's evaluation.
pub async fn sync_org(state: &AppState, org_id: OrgId) -> AppResult<Synced> {
    let now = state.clock.now();
    let today = now.date_naive();
    model::sync(&state.db, org_id, now, |version| state.kept.get_or_compute(org_id, today, version, None, || crate::gaps::evaluate(&state.db, org_id, today))).await
}

/// The organisations whose findings lag behind their records or the date.
async fn behind(state: &AppState) -> AppResult<Vec<OrgId>> {
    let today = state.clock.now().date_naive();
    Ok(sqlx::query_scalar!(
        r#"SELECT o.id AS "id: OrgId" FROM organisations o
             JOIN audit_heads h ON h.chain = o.id
             LEFT JOIN finding_syncs s ON s.org_id = o.id
            WHERE s.org_id IS NULL OR s.synced_version <> h.records_seq OR s.synced_on <> $1
            ORDER BY o.id"#,
        today
    )
    .fetch_all(&state.db)
    .await?)
}

/// Brings every organisation that lags up to date; one failing organisation
/// does not hold up the others.
pub async fn sync_all(state: &AppState) -> AppResult<usize> {
    let orgs = behind(state).await?;
    for org in &orgs {
        if let Err(e) = sync_org(state, *org).await {
            tracing::error!(org = %org, "finding tracker: {e:#}");
        }
    }
    Ok(orgs.len())
}

/// The tracker every app process runs.
pub fn spawn_worker(state: AppState) {
    tokio::spawn(async move {
        loop {
            let s = state.clone();
            match tokio::spawn(async move { sync_all(&s).await }).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!("finding tracker: {e:#}"),
                Err(e) => tracing::error!("finding tracker panicked: {e}"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    });
}
