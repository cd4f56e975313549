//! Security headers on every response, errors and downloads included.
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub async fn security_headers(req: Request, next: Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let is_api = crate::web::request::is_api(req.uri().path());
    let mut res = next.run(req).await;
    let cacheable = is_static && res.status().is_success();
    let h = res.headers_mut();
    // A response may bring a stricter policy of its own (downloads are sandboxed).
    let own_csp = h.contains_key(header::CONTENT_SECURITY_POLICY);
    let own_cache = h.contains_key(header::CACHE_CONTROL);
    let mut set = |name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    if !own_csp {
        set(header::CONTENT_SECURITY_POLICY, CSP);
    }
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    // Invitation and acknowledgement links carry secrets: never leak them onwards.
    set(header::REFERRER_POLICY, "no-referrer");
    set(HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    set(HeaderName::from_static("cross-origin-resource-policy"), "same-origin");
    set(HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=(), payment=()");
    if cacheable {
        set(header::CACHE_CONTROL, "public, max-age=3600");
    } else if is_api && !own_cache {
        // The API's answers carry ETags: the caller keeps them and asks
        // again with If-None-Match; no shared cache keeps them.
        set(header::CACHE_CONTROL, "private, no-cache");
    } else if !is_api {
        // Pages may show tenant data: keep them out of every cache.
        set(header::CACHE_CONTROL, "no-store");
    }
    res
}

/// HSTS only makes sense when the app is served over TLS.
pub async fn hsts(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut()
        .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    res
}
