//! Builds the router from every area's routes; tests use it in-process,
//! `serve` binds it. Areas add routes through `web::routes::Routes` and share
//! `state::AppState`; nothing imports from here but the entry points.
use crate::auth::{csrf, session};
use crate::error::AppError;
use crate::state::AppState;
use crate::web;
use crate::web::routes::Routes;
use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use tower_http::catch_panic::CatchPanicLayer;


fn routes() -> Routes {
    let r = Routes::default();
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
    let r = crate::findings::routes(r);
    let r = crate::notify::routes(r);
    let r = crate::requests::routes(r);
    let r = crate::bundles::routes(r);
    let r = crate::security_log::routes(r);
    let r = crate::sso::routes(r);
    let r = crate::api::routes(r);
    crate::audit::pages::routes(r)
}

/// Every route the application serves, with the access it declares.
pub fn route_list() -> Vec<web::routes::RouteEntry> {
    routes().into_parts().1
}

/// The POST routes that ask for a recent proof of identity (`auth::step_up`).
pub fn step_up_list() -> Vec<&'static str> {
    routes().step_up_paths()
}

pub fn router(state: AppState) -> Router {
    let secure = state.config.secure_cookies;
    // Layers run outside-in in the reverse order of `.layer` calls.
    let app = routes()
        .into_parts()
        .0
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
