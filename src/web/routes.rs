//! The route builder every area adds its routes through: the only way to add
//! a route, so the access-matrix test sees every one (`app::route_list`).
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

/// The router plus the list of what it serves, so the access-matrix test
/// can insist that every route has an entry.
pub struct Routes {
    router: Router<AppState>,
    list: Vec<(Method, &'static str)>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes { router: Router::new(), list: Vec::new() }
    }
}

impl Routes {
    /// The router built so far and the (method, path) pairs it serves.
    pub fn into_parts(self) -> (Router<AppState>, Vec<(Method, &'static str)>) {
        (self.router, self.list)
    }

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

