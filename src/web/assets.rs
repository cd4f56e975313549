//! Styles and the little script there is, compiled into the binary so the
//! app works offline and from any directory.
use crate::web::routes::Routes;
use crate::error::AppError;
use axum::http::header;
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../../static/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../static/app.js")),
];

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::Access;
    r.get("/static/{file}", Access::Public, asset)
}

async fn asset(crate::web::Segment(file): crate::web::Segment) -> Result<Response, AppError> {
    let (_, mime, body) = FILES.iter().find(|(name, _, _)| *name == file).ok_or(AppError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, *mime)], *body).into_response())
}
