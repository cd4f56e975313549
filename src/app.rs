//! Builds the router and its state; tests use it in-process, `serve` binds it.
use crate::auth::{csrf, session};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::AppError;
use crate::evidence::store::EvidenceStore;
use crate::mail::Mailer;
use crate::web;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, on, MethodFilter};
use sqlx::PgPool;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub mailer: Option<Arc<Mailer>>,
    pub store: Arc<EvidenceStore>,
    /// Gap evaluations kept between views (see `gaps::cache`).
    pub gaps: Arc<crate::gaps::cache::Cache>,
}

/// The router plus the list of what it serves, so the access-matrix test
/// can insist that every route has an entry.
pub struct Routes {
    router: Router<AppState>,
    list: Vec<(Method, &'static str)>,
}

impl Routes {
    fn add(mut self, method: Method, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.list.push((method, path));
        self.router = self.router.route(path, route);
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::GET, path, on(MethodFilter::GET, handler))
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::POST, path, on(MethodFilter::POST, handler))
    }

    /// A POST that takes a file upload (multipart) of up to `limit` bytes;
    /// `None` when the handler enforces its own limit while streaming.
    pub fn post_upload<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H, limit: Option<usize>) -> Self {
        let limit = match limit {
            Some(n) => DefaultBodyLimit::max(n),
            None => DefaultBodyLimit::disable(),
        };
        self.add(Method::POST, path, on(MethodFilter::POST, handler).layer(limit))
    }
}

fn routes() -> Routes {
    let r = Routes { router: Router::new(), list: Vec::new() };
    let r = crate::health::routes(r);
    let r = web::assets::routes(r);
    let r = crate::home::routes(r);
    let r = crate::auth::routes(r);
    let r = crate::orgs::routes(r);
    let r = crate::requirements::routes(r);
    let r = crate::people::routes(r);
    let r = crate::roles::routes(r);
    let r = crate::evidence::routes(r);
    let r = crate::policies::routes(r);
    let r = crate::training::routes(r);
    let r = crate::leadership::routes(r);
    let r = crate::gaps::routes(r);
    let r = crate::requests::routes(r);
    let r = crate::bundles::routes(r);
    let r = crate::security_log::routes(r);
    crate::audit::pages::routes(r)
}

/// Every (method, path) the application serves.
pub fn route_list() -> Vec<(Method, &'static str)> {
    routes().list
}

pub fn router(state: AppState) -> Router {
    let secure = state.config.secure_cookies;
    // Layers run outside-in in the reverse order of `.layer` calls.
    let app = routes()
        .router
        .fallback(|| async { AppError::NotFound })
        .layer(from_fn_with_state(state.clone(), csrf::protect))
        .layer(from_fn_with_state(state.clone(), session::load))
        .layer(CatchPanicLayer::new())
        .layer(from_fn_with_state(state.clone(), web::slow::body_deadline))
        .layer(from_fn(web::errors::render))
        .layer(from_fn(web::headers::security_headers));
    let app = if secure { app.layer(from_fn(web::headers::hsts)) } else { app };
    app.layer(from_fn(web::request_id)).with_state(state)
}
