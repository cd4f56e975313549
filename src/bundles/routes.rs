//! The bundle pages: request a bundle, follow its progress, download it.
use crate::ids::JobId;
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::web::form::parse_date;
use crate::web::{FieldErrors, Id, Layout, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use super::manifest::Params;
use chrono::NaiveDate;
use super::jobs::{self, Job};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/bundles", Can(ExportBundles), list_page).post("/bundles", Can(ExportBundles), request).get("/bundles/{id}", Can(ExportBundles), show_page).get("/bundles/{id}/download", Can(ExportBundles), download)
}

#[derive(Deserialize, Default)]
struct RequestForm {
    #[serde(default)]
    as_of: String,
    #[serde(default)]
    period_from: String,
    #[serde(default)]
    period_to: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "requests/bundles.html")]
struct ListPage {
    layout: Layout,
    jobs: Vec<Job>,
    form: RequestForm,
    errors: FieldErrors,
}

async fn list_view(state: &AppState, me: &Member, form: RequestForm, errors: FieldErrors) -> AppResult<ListPage> {
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Evidence bundles").await?,
        jobs: jobs::list(&state.db, me.org_id).await?,
        form,
        errors,
    })
}

async fn list_page(State(state): State<AppState>, me: Member) -> AppResult<ListPage> {
    let today = state.clock.now().date_naive();
    list_view(&state, &me, RequestForm { as_of: today.to_string(), ..Default::default() }, FieldErrors::default()).await
}

/// Reads the request form: the day (not in the future) and an optional period.
fn parse(form: &RequestForm, today: NaiveDate) -> Result<Params, FieldErrors> {
    let mut errors = FieldErrors::default();
    let as_of = match parse_date(&form.as_of, "the day") {
        Ok(Some(d)) if d <= today => Some(d),
        Ok(Some(_)) => {
            errors.add("as_of", "Choose today or a day in the past: the future has no records yet.");
            None
        }
        Ok(None) => Some(today),
        Err(e) => {
            errors.add("as_of", e);
            None
        }
    };
    let mut day = |raw: &str, field: &'static str| match parse_date(raw, "the date") {
        Ok(d) => d,
        Err(e) => {
            errors.add(field, e);
            None
        }
    };
    let (from, to) = (day(&form.period_from, "period_from"), day(&form.period_to, "period_to"));
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.add("period_to", "The period must end on or after the day it starts.");
    }
    match as_of {
        Some(as_of) if errors.is_empty() => Ok(Params { as_of, period_from: from, period_to: to }),
        _ => Err(errors),
    }
}

async fn request(State(state): State<AppState>, me: Member, Form(form): Form<RequestForm>) -> AppResult<Response> {
    let now = state.clock.now();
    let params = match parse(&form, now.date_naive()) {
        Ok(p) => p,
        Err(errors) => return Ok((StatusCode::UNPROCESSABLE_ENTITY, list_view(&state, &me, form, errors).await?).into_response()),
    };
    let mut tx = state.db.begin().await?;
    let id = jobs::enqueue(&mut tx, &me.actor(), now, me.org_id, &params).await?;
    tx.commit().await?;
    jobs::wake();
    Ok(redirect_with(&state, &format!("/bundles/{id}"), Flash::success("The bundle is being made. This page shows its progress.")))
}

#[derive(Template, WebTemplate)]
#[template(path = "requests/bundle.html")]
struct ShowPage {
    layout: Layout,
    job: Job,
}

async fn show_page(State(state): State<AppState>, me: Member, Id(id): Id<JobId>) -> AppResult<Response> {
    let job = jobs::get(&state.db, me.org_id, id).await?;
    let refresh = job.is_pending();
    let mut res = ShowPage { layout: Layout::build(&state.db, &me.visitor, "Evidence bundle").await?, job }.into_response();
    if refresh {
        // Progress without JavaScript: the page reloads itself while the job runs.
        res.headers_mut().insert(header::REFRESH, HeaderValue::from_static("2"));
    }
    Ok(res)
}

async fn download(State(state): State<AppState>, me: Member, Id(id): Id<JobId>) -> AppResult<Response> {
    let job = jobs::get(&state.db, me.org_id, id).await?;
    let Some(key) = jobs::result_key(&state.db, me.org_id, id).await? else {
        return Err(AppError::Conflict("This bundle is not ready yet.".into()));
    };
    let (size, stream) = state.store.read(&key).await?;
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&crate::web::layout::attachment(&job.filename())) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    if let Ok(v) = HeaderValue::from_str(&job.sha_hex()) {
        h.insert("x-bundle-sha256", v);
    }
    Ok(res)
}
