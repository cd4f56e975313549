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
    let api = crate::web::request::is_api(req.uri().path()).then(|| req.uri().path().to_string());
    let res = next.run(req).await;
    if plain || res.status().as_u16() < 400 {
        return res;
    }
    if let Some(path) = api {
        return problem(res, &request_id, &path).await;
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

/// An error of the JSON API as RFC 9457 problem details: the same title and
/// message a page would show, the request id, and never the cause. A
/// framework refusal (a body that is not the JSON asked for) keeps its own
/// short explanation as the detail.
async fn problem(res: Response, request_id: &str, path: &str) -> Response {
    let status = res.status();
    let (head, body) = res.into_parts();
    let page = match head.extensions.get::<ErrorPage>() {
        Some(p) => p.clone(),
        None if status.is_client_error() => {
            // A handler's own JSON (a sync's list of problems) is the answer as it is, whatever its size.
            let is_json = head.headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json") || v.as_bytes() == b"application/json");
            if is_json {
                return Response::from_parts(head, body);
            }
            let said = axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).trim().to_string()).unwrap_or_default();
            let base = ErrorPage::for_status(status);
            if said.is_empty() || said.len() > 1000 { base } else { ErrorPage { message: said, ..base } }
        }
        None => ErrorPage::for_status(status),
    };
    if let Some(cause) = &page.cause {
        tracing::error!(request_id = %request_id, status = status.as_u16(), "{cause}");
    } else if status.is_server_error() {
        tracing::error!(request_id = %request_id, status = status.as_u16(), "server error");
    }
    let mut json = serde_json::json!({
        "type": "about:blank",
        "title": page.title,
        "status": status.as_u16(),
        "detail": page.message,
        "instance": path,
        "request_id": request_id,
    });
    if !page.fields.is_empty() {
        json["errors"] = page.fields.iter().map(|(field, message)| serde_json::json!({"field": field, "message": message})).collect();
    }
    let mut out = (status, [(header::CONTENT_TYPE, "application/problem+json")], json.to_string()).into_response();
    for (name, value) in &head.headers {
        let keep = [header::WWW_AUTHENTICATE, header::RETRY_AFTER, header::ALLOW].contains(name) || name.as_str().starts_with("ratelimit-");
        if keep {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out
}
