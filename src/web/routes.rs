//! The route builder every area adds its routes through: the only way to add
//! a route, so each one declares who may call it ([`Access`]) and the
//! access-matrix test sees every one (`app::route_list`).
use crate::auth::policy::Access;
use crate::auth::session::{Member, SignedIn};
use crate::error::AppResult;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};

/// One served route: method, path and who may call it.
pub type RouteEntry = (Method, &'static str, Access);

/// The router plus the list of what it serves, so the access-matrix test
/// can insist that every route has an entry and check what it declares.
pub struct Routes {
    router: Router<AppState>,
    list: Vec<RouteEntry>,
    /// The routes that need a recent proof of identity (`auth::step_up`).
    step_up: Vec<&'static str>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            router: Router::new(),
            list: Vec::new(),
            step_up: Vec::new(),
        }
    }
}

impl Routes {
    /// The router built so far and the routes it serves.
    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteEntry>) {
        (self.router, self.list)
    }

    /// The POST routes that need a recent proof of identity.
    pub fn step_up_paths(&self) -> Vec<&'static str> {
        self.step_up.clone()
    }

    /// A POST whose change is made in the member's name and counts as
    /// evidence (signing, appointing, approving, accepting a risk, the
    /// roster, members): it needs a proof of identity from the last few
    /// minutes (`auth::step_up`), asked for when older. URL-encoded forms only.
    pub fn post_step_up<H: Handler<T, AppState>, T: 'static>(
        mut self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.step_up.push(path);
        // Layers run outside-in in reverse order: the access check first.
        let route = on(MethodFilter::POST, handler).layer(from_fn(crate::auth::step_up::require));
        self.add(Method::POST, path, access, route)
    }

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        route: MethodRouter<AppState>,
    ) -> Self {
        self.list.push((method, path, access));
        let route = match access {
            Access::Public => route,
            _ => route.layer(from_fn(move |req: Request, next: Next| {
                enforce(access, req, next)
            })),
        };
        self.router = self.router.route(path, route);
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add(Method::GET, path, access, on(MethodFilter::GET, handler))
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add(Method::POST, path, access, on(MethodFilter::POST, handler))
    }

    /// A PATCH (the JSON API's partial update).
    pub fn patch<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add(Method::PATCH, path, access, on(MethodFilter::PATCH, handler))
    }

    /// A POST with a large body of up to `limit` bytes: a file upload
    /// (multipart), or one of the API's bulk JSON calls; `None` when the
    /// handler enforces its own limit while streaming.
    pub fn post_upload<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
        limit: Option<usize>,
    ) -> Self {
        let limit = match limit {
            Some(n) => DefaultBodyLimit::max(n),
            None => DefaultBodyLimit::disable(),
        };
        // The access check runs before the body limit is applied, so an
        // upload someone may not make is refused before it is read.
        self.add(
            Method::POST,
            path,
            access,
            on(MethodFilter::POST, handler).layer(limit),
        )
    }
}

/// Answers the sign-in redirect, the organisation chooser or 403 when the
/// request does not meet `access`; otherwise runs the handler.
async fn enforce(access: Access, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    if let Access::Token(action, scope) = access {
        let (verdict, quota) = crate::api::caller::admit(&mut parts, action, scope).await;
        let mut res = match verdict {
            Ok(()) => next.run(Request::from_parts(parts, body)).await,
            Err(e) => e.into_response(),
        };
        if let Some(q) = quota {
            let h = res.headers_mut();
            for (name, value) in [("ratelimit-limit", i64::from(q.limit)), ("ratelimit-remaining", i64::from(q.remaining)), ("ratelimit-reset", q.reset)] {
                h.insert(name, axum::http::HeaderValue::from(value));
            }
        }
        return res;
    }
    let verdict: AppResult<()> = match access {
        Access::Public | Access::Token(..) => Ok(()),
        Access::SignedIn => SignedIn::from_request_parts(&mut parts, &())
            .await
            .map(|_| ()),
        Access::Member => Member::from_request_parts(&mut parts, &())
            .await
            .map(|_| ()),
        Access::Can(action) => match Member::from_request_parts(&mut parts, &()).await {
            Ok(member) => member.require(action),
            Err(e) => Err(e),
        },
    };
    match verdict {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(e) => e.into_response(),
    }
}
