//! One error type for every handler. Users see a clear message and the
//! request id; the cause goes to the log only (see `web::errors`).
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// Not signed in (or the session ended): go to the sign-in page and come back.
    #[error("sign-in required")]
    SignInRequired { next: String },
    /// Signed in, but no active organisation is selected.
    #[error("no organisation selected")]
    NoOrganisation,
    /// The organisation requires a second factor of this member, who has none yet.
    #[error("second factor required")]
    SecondFactorRequired,
    /// The organisation requires single sign-on, and this member has not linked it yet.
    #[error("single sign-on link required")]
    SsoLinkRequired,
    #[error("cross-site request refused")]
    Csrf,
    /// The JSON API without a valid personal access token (401).
    #[error("token required: {0}")]
    TokenRequired(&'static str),
    /// The token is valid but lacks the scope the route needs (403).
    #[error("scope missing: {0}")]
    ScopeMissing(&'static str),
    /// The token used up its requests for this minute (429).
    #[error("rate limited")]
    RateLimited { retry_after: i64 },
    #[error("{0}")]
    BadRequest(String),
    /// A request body the framework could not read as asked (the API's
    /// JSON): its status (400, 415, 422) and what was wrong.
    #[error("{1}")]
    Rejected(StatusCode, String),
    /// Values that break the record's rules, field by field (422).
    #[error("invalid fields")]
    Invalid(crate::web::form::FieldErrors),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The SQLSTATE of a refusal by the database's own rules (a signed record
/// that cannot change, an addendum that cannot be edited): its message is a
/// sentence for the person who tried, so it answers 409 with it.
pub const REFUSED_BY_DATABASE: &str = "MF001";

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(d) = &e
            && d.code().as_deref() == Some(REFUSED_BY_DATABASE)
        {
            return AppError::Conflict(d.message().to_string());
        }
        AppError::Internal(e.into())
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Attached to error responses; `web::errors` turns it into a full page.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    /// Logged with the request id, never shown.
    pub cause: Option<String>,
    /// The fields that were wrong and why (the API lists them).
    pub fields: Vec<(&'static str, String)>,
}

impl ErrorPage {
    pub fn for_status(status: StatusCode) -> Self {
        let (title, message) = match status.as_u16() {
            400 => ("Bad request", "The request could not be understood. Check the form and try again."),
            401 => ("Token required", "Send a valid personal access token."),
            403 => ("Not allowed", "Your role in this organisation does not allow this action."),
            404 => ("Not found", "There is nothing here. It may have been removed, or the link may be wrong."),
            406 => ("Not acceptable", "This address answers in another format than the one asked for."),
            409 => ("Cannot do that", "The request conflicts with the record as it stands."),
            405 => ("Not allowed", "This address does not accept that kind of request."),
            413 => ("Too large", "The upload is larger than this server accepts."),
            415 => ("Unsupported type", "This kind of content is not accepted here."),
            422 => ("Invalid input", "Some of the submitted values could not be read. Go back and check the form."),
            429 => ("Too many attempts", "Too many requests in a short time. Wait a few minutes and try again."),
            _ if status.is_server_error() => (
                "Something went wrong",
                "The server could not complete the request. Nothing was changed. If it happens again, quote the request id below.",
            ),
            _ => ("Error", "The request could not be completed."),
        };
        Self { status, title, message: message.to_string(), cause: None, fields: Vec::new() }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let page = match self {
            AppError::SignInRequired { next } => {
                let target = if next.is_empty() || next == "/" {
                    "/login".to_string()
                } else {
                    format!("/login?next={}", url_encode(&next))
                };
                return Redirect::to(&target).into_response();
            }
            AppError::NoOrganisation => return Redirect::to("/orgs").into_response(),
            AppError::SecondFactorRequired => return Redirect::to("/account/two-factor").into_response(),
            AppError::SsoLinkRequired => return Redirect::to("/account#sso-h").into_response(),
            AppError::NotFound => ErrorPage::for_status(StatusCode::NOT_FOUND),
            AppError::Forbidden => ErrorPage::for_status(StatusCode::FORBIDDEN),
            AppError::Csrf => ErrorPage {
                message: "This form could not be accepted because it did not come from a page of this site, or the page was too old. Reload the page and try again.".into(),
                ..ErrorPage::for_status(StatusCode::FORBIDDEN)
            },
            AppError::TokenRequired(why) => {
                let page = ErrorPage { title: "Token required", message: why.into(), ..ErrorPage::for_status(StatusCode::UNAUTHORIZED) };
                let challenge = if why.starts_with("Send") { "Bearer realm=\"mandate\"" } else { "Bearer realm=\"mandate\", error=\"invalid_token\"" };
                let mut res = (page.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::WWW_AUTHENTICATE, challenge)], page.title).into_response();
                res.extensions_mut().insert(page);
                return res;
            }
            AppError::ScopeMissing(scope) => ErrorPage {
                title: "Scope missing",
                message: format!("This token does not have the scope \"{scope}\" this request needs. Make a token with it under Your account, API tokens."),
                ..ErrorPage::for_status(StatusCode::FORBIDDEN)
            },
            AppError::RateLimited { retry_after } => {
                let page = ErrorPage {
                    message: format!("This token has made as many requests as it may this minute. Try again in {retry_after} seconds."),
                    ..ErrorPage::for_status(StatusCode::TOO_MANY_REQUESTS)
                };
                let mut res = (page.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], page.title).into_response();
                if let Ok(v) = header::HeaderValue::from_str(&retry_after.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                res.extensions_mut().insert(page);
                return res;
            }
            AppError::BadRequest(m) => ErrorPage { message: m, ..ErrorPage::for_status(StatusCode::BAD_REQUEST) },
            AppError::Rejected(status, m) => ErrorPage { message: m, ..ErrorPage::for_status(status) },
            AppError::Invalid(errors) => {
                let fields: Vec<(&'static str, String)> = errors.messages().cloned().collect();
                let message = fields.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join(" ");
                ErrorPage { message, fields, ..ErrorPage::for_status(StatusCode::UNPROCESSABLE_ENTITY) }
            }
            AppError::Conflict(m) => ErrorPage {
                title: "Cannot do that",
                message: m,
                ..ErrorPage::for_status(StatusCode::CONFLICT)
            },
            AppError::Internal(e) if database_unavailable(&e) => {
                let page = ErrorPage {
                    title: "Temporarily unavailable",
                    message: "Mandate cannot reach its database just now. Nothing was changed. Try again in a few seconds.".into(),
                    cause: Some(format!("database unavailable: {e:#}")),
                    ..ErrorPage::for_status(StatusCode::SERVICE_UNAVAILABLE)
                };
                let mut res = (page.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::RETRY_AFTER, "5")], page.title).into_response();
                res.extensions_mut().insert(page);
                return res;
            }
            AppError::Internal(e) => ErrorPage {
                cause: Some(format!("{e:#}")),
                ..ErrorPage::for_status(StatusCode::INTERNAL_SERVER_ERROR)
            },
        };
        let mut res = (page.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], page.title).into_response();
        res.extensions_mut().insert(page);
        res
    }
}

/// Whether an error means PostgreSQL cannot be reached (down, restarting,
/// refusing connections, or the pool timed out waiting for one): the
/// request can be retried, so it answers 503 rather than 500.
pub fn database_unavailable(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| match cause.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed) => true,
        // Class 08: connection exceptions; 57P01-57P03: the server is shutting down or starting.
        Some(sqlx::Error::Database(d)) => d.code().is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")),
        _ => false,
    })
}

pub fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
