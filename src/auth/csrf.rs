//! Cross-site request forgery defence for every state-changing request:
//! the browser's own Sec-Fetch-Site / Origin headers first, then a token that
//! every form carries (the session's, or before sign-in a double-submit
//! cookie's).
use crate::state::AppState;
use crate::auth::session::Visitor;
use crate::error::AppError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
/// Plain forms are small; uploads (multipart) are not buffered here: their
/// token travels in the query string (never logged; `no-referrer` keeps it in).
const FORM_LIMIT: usize = 1024 * 1024;

pub async fn protect(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, AppError> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(next.run(req).await);
    }
    // RFC 8058 one-click unsubscribe: the mail client posts from no page of
    // ours. The link's secret authorises it, and all it can do is stop mail.
    if is_one_click_unsubscribe(req.uri().path()) {
        return Ok(next.run(req).await);
    }
    // The JSON API takes no cookies, only a token a page of another site
    // cannot send for the browser: there is no ambient credential to forge.
    if crate::web::request::is_api(req.uri().path()) {
        return Ok(next.run(req).await);
    }
    if !same_origin(&state, req.headers()) {
        tracing::warn!(path = %crate::web::loggable(req.uri().path()), "refused cross-origin state change");
        return Err(AppError::Csrf);
    }
    let expected = req
        .extensions()
        .get::<Visitor>()
        .map(|v| v.csrf_token().to_string())
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("session middleware missing")))?;

    if let Some(given) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if tokens_match(given, &expected) { Ok(next.run(req).await) } else { Err(AppError::Csrf) };
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("multipart/form-data") {
        // Upload bodies stream to their handler unread, so an upload form
        // carries its token in its action URL instead (see `upload_action`).
        let given = req
            .uri()
            .query()
            .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == FIELD).map(|(_, v)| v.into_owned()))
            .unwrap_or_default();
        return if tokens_match(&given, &expected) { Ok(next.run(req).await) } else { Err(AppError::Csrf) };
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(AppError::Csrf);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| AppError::BadRequest("The form is too large.".into()))?;
    let given = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !tokens_match(&given, &expected) {
        return Err(AppError::Csrf);
    }
    Ok(next.run(Request::from_parts(parts, Body::from(bytes))).await)
}

/// `/unsubscribe/{token}/one-click`, and nothing else.
fn is_one_click_unsubscribe(path: &str) -> bool {
    path.strip_prefix("/unsubscribe/").and_then(|rest| rest.strip_suffix("/one-click")).is_some_and(|token| !token.is_empty() && !token.contains('/'))
}

/// The action URL of an upload form: `path` with the page's token.
pub fn upload_action(path: &str, token: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{FIELD}={}", crate::error::url_encode(token))
}

fn tokens_match(given: &str, expected: &str) -> bool {
    !expected.is_empty() && given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Browsers say where a request came from; anything but this site is refused.
/// Clients that send neither header (scripts, old browsers) still need the token.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == "null" {
        return false;
    }
    let Ok(origin) = url::Url::parse(origin) else { return false };
    let authority = match origin.port() {
        Some(p) => format!("{}:{p}", origin.host_str().unwrap_or_default()),
        None => origin.host_str().unwrap_or_default().to_string(),
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    authority.eq_ignore_ascii_case(host) || origin.origin() == state.config.base_url.origin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_one_click_unsubscribe_skips_the_form_token() {
        assert!(is_one_click_unsubscribe("/unsubscribe/abc123/one-click"));
        for path in ["/unsubscribe/abc123", "/unsubscribe//one-click", "/unsubscribe/a/b/one-click", "/members/x/one-click", "/unsubscribe/abc/one-click/x"] {
            assert!(!is_one_click_unsubscribe(path), "{path}");
        }
    }
}
