//! Liveness and readiness probes for load balancers and orchestrators.
use crate::state::AppState;
use crate::web::routes::Routes;
use axum::extract::State;
use axum::http::StatusCode;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::Access;
    r.get("/healthz", Access::Public, healthz).get("/readyz", Access::Public, readyz)
}

/// The process is up and serving.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers; without it nothing useful can be served.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), sqlx::query!("SELECT 1 AS one").fetch_one(&state.db)).await;
    match ping {
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
