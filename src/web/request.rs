//! The request id: made here for every request (never taken from the
//! client), logged with it and shown on error pages; personal links' secret
//! segments are kept out of the log.
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The id that ties a user's error page to the server log and the audit log.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Paths whose last segment is a secret (personal links): logs never see it.
const SECRET_PATHS: [&str; 7] = ["/invite/", "/accept-role/", "/ack/", "/training-link/", "/p/", "/signup/", "/unsubscribe/"];

pub fn loggable(path: &str) -> std::borrow::Cow<'_, str> {
    match SECRET_PATHS.iter().find(|p| path.starts_with(*p)) {
        Some(prefix) => format!("{prefix}[secret]").into(),
        None => path.into(),
    }
}

/// Always generated here: a client-supplied id could forge log lines.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %loggable(req.uri().path()));
    let started = std::time::Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "served");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// Where the JSON API lives: answered in JSON (problem details for errors),
/// with a token and never a cookie.
pub const API_PREFIX: &str = "/api/";

pub fn is_api(path: &str) -> bool {
    path.starts_with(API_PREFIX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn personal_links_are_not_logged() {
        assert_eq!(super::loggable("/accept-role/abc123"), "/accept-role/[secret]");
        assert_eq!(super::loggable("/invite/xyz"), "/invite/[secret]");
        assert_eq!(super::loggable("/ack/tok3n/document"), "/ack/[secret]");
        assert_eq!(super::loggable("/p/slug-is-a-secret"), "/p/[secret]");
        assert_eq!(super::loggable("/training-link/tok3n/logo"), "/training-link/[secret]");
        assert_eq!(super::loggable("/unsubscribe/tok3n/one-click"), "/unsubscribe/[secret]");
        assert_eq!(super::loggable("/people/1"), "/people/1");
    }
}
