//! Turns every error response (ours, the framework's, a panic) into a page
//! with a request id. The cause is logged here and never shown.
use crate::auth::session::Visitor;
use crate::error::ErrorPage;
use crate::web::{Layout, RequestId};
use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorView {
    layout: Layout,
    status: u16,
    heading: &'static str,
    message: String,
}

pub async fn render(req: Request, next: Next) -> Response {
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let plain = matches!(req.uri().path(), "/healthz" | "/readyz");
    let res = next.run(req).await;
    if plain || res.status().as_u16() < 400 {
        return res;
    }
    let page = match res.extensions().get::<ErrorPage>() {
        Some(p) => p.clone(),
        None => {
            let is_html = res
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/html"));
            if is_html {
                return res;
            }
            ErrorPage::for_status(res.status())
        }
    };
    if let Some(cause) = &page.cause {
        tracing::error!(request_id = %request_id, status = page.status.as_u16(), "{cause}");
    } else if page.status.is_server_error() {
        tracing::error!(request_id = %request_id, status = page.status.as_u16(), "server error");
    }
    let visitor = res.extensions().get::<Visitor>().cloned();
    let mut layout = match &visitor {
        Some(v) => Layout::basic(v, page.title),
        None => Layout {
            title: page.title.to_string(),
            csrf: String::new(),
            user_name: None,
            org_name: None,
            org_id: None,
            role_label: None,
            orgs: Vec::new(),
            nav: Vec::new(),
            flash: None,
            request_id: request_id.clone(),
            path: String::new(),
        },
    };
    layout.request_id = request_id;
    let view = ErrorView { layout, status: page.status.as_u16(), heading: page.title, message: page.message };
    let body = view.render().unwrap_or_else(|_| "Something went wrong.".into());
    let mut out = (page.status, Html(body)).into_response();
    // Keep headers that matter to the client (cookies, retry hints, allowed
    // methods, a connection the server closes).
    for name in [header::SET_COOKIE, header::RETRY_AFTER, header::ALLOW, header::CONNECTION] {
        for v in res.headers().get_all(&name) {
            out.headers_mut().append(name.clone(), v.clone());
        }
    }
    out.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out
}
