//! `/api/v1/oscal/*`: the OSCAL documents every bundle carries, served
//! whole: the catalog, Mandate's component definition, and the
//! organisation's assessment results as of a day (evidence linked to its
//! file's download in the API, with its SHA-256).
use super::caller::ApiCaller;
use super::json::reply;
use crate::auth::policy::{Access::Token, Action, Scope};
use crate::error::{AppError, AppResult};
use crate::oscal::{self, Assessment, EvidenceRef};
use crate::state::AppState;
use crate::web::routes::Routes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

pub fn routes(r: Routes) -> Routes {
    r.get("/api/v1/oscal/catalog", Token(Action::ViewRequirements, Scope::Read), catalog)
        .get("/api/v1/oscal/component-definition", Token(Action::ViewRequirements, Scope::Read), component_definition)
        .get("/api/v1/oscal/assessment-results", Token(Action::ViewGaps, Scope::Read), assessment_results)
}

/// The requirement catalogue as an OSCAL catalog.
#[utoipa::path(get, path = "/api/v1/oscal/catalog", tag = "oscal", security(("bearer" = ["read"])),
    responses((status = 200, description = "An OSCAL 1.2.3 catalog", body = Object)))]
pub async fn catalog(State(state): State<AppState>, _me: ApiCaller, headers: HeaderMap) -> AppResult<Response> {
    let c = oscal::leadership()?;
    reply(&headers, StatusCode::OK, &oscal::catalog(&c, state.clock.now()))
}

/// Mandate as an OSCAL component: how it evidences each requirement.
#[utoipa::path(get, path = "/api/v1/oscal/component-definition", tag = "oscal", security(("bearer" = ["read"])),
    responses((status = 200, description = "An OSCAL 1.2.3 component definition", body = Object)))]
pub async fn component_definition(State(state): State<AppState>, _me: ApiCaller, headers: HeaderMap) -> AppResult<Response> {
    let c = oscal::leadership()?;
    let href = state.config.link("/api/v1/oscal/catalog");
    reply(&headers, StatusCode::OK, &oscal::component_definition(&c, state.clock.now(), &href))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOf {
    /// The day assessed (YYYY-MM-DD, not in the future); today when left out.
    pub as_of: Option<NaiveDate>,
}

/// The organisation's standing as OSCAL assessment results: a finding per
/// applicable requirement, graded by its gaps; an observation per evidence file.
#[utoipa::path(get, path = "/api/v1/oscal/assessment-results", tag = "oscal", security(("bearer" = ["read"])), params(AsOf),
    responses((status = 200, description = "OSCAL 1.2.3 assessment results as of the day", body = Object)))]
pub async fn assessment_results(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(q): Query<AsOf>) -> AppResult<Response> {
    let now = state.clock.now();
    let as_of = q.as_of.unwrap_or(now.date_naive());
    if as_of > now.date_naive() {
        return Err(AppError::BadRequest("as_of cannot be in the future: there are no records of it yet.".into()));
    }
    let org = me.token.org_id;
    let cut = crate::gaps::snapshot::cutoff(as_of);
    let e = crate::gaps::evaluate(&state.db, org, as_of).await?;
    // The newest file of each item on the day, and the requirements it was linked to then.
    let files = sqlx::query!(
        r#"SELECT r.id, i.title AS "title!", encode(r.sha256, 'hex') AS "sha256!", r.content_type, r.uploaded_at, i.evidence_date AS "evidence_date?",
                  ARRAY(SELECT q.code FROM evidence_links_on($1, $2) l JOIN requirements q ON q.id = l.target_id
                         WHERE l.org_id = i.org_id AND l.item_id = i.id AND l.target_kind = 'requirement' ORDER BY q.position) AS "requirements!"
             FROM evidence_items_on($1, $2) i
             JOIN LATERAL (SELECT v.id, v.sha256, v.content_type, v.uploaded_at FROM evidence_revisions v
                            WHERE v.org_id = i.org_id AND v.item_id = i.id AND v.uploaded_at < $2 ORDER BY v.number DESC LIMIT 1) r ON true
            WHERE i.org_id = $1
            ORDER BY i.title, r.id"#,
        org.0,
        cut,
    )
    .fetch_all(&state.db)
    .await?;
    let keys: Vec<(String, String)> = files.iter().map(|f| (format!("revision/{}", f.id), state.config.link(&format!("/api/v1/evidence/files/{}", f.id)))).collect();
    let evidence: Vec<EvidenceRef<'_>> = files
        .iter()
        .zip(&keys)
        .map(|(f, (key, href))| EvidenceRef {
            key,
            resource_key: key,
            title: &f.title,
            href: href.clone(),
            media_type: Some(&f.content_type),
            sha256: &f.sha256,
            requirements: &f.requirements,
            collected: f.evidence_date.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()).unwrap_or(f.uploaded_at),
            derived: false,
        })
        .collect();
    let catalog_href = state.config.link("/api/v1/oscal/catalog");
    let a = Assessment {
        org_id: org.0,
        org_name: &me.token.org_name,
        as_of,
        start: crate::gaps::snapshot::start_of(as_of),
        end: cut - chrono::Duration::seconds(1),
        generated: now,
        catalog_href: &catalog_href,
    };
    reply(&headers, StatusCode::OK, &oscal::assessment_results(&a, &e.snapshot.requirements, &e.gaps, &evidence))
}
