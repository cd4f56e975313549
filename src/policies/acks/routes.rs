//! Acknowledgements: a signed-in member acknowledging a version, and the
//! personal links that let staff without an account read and acknowledge it.
use super::import::{self, Acknowledgements};
use crate::imports::routes as imports;
use super::model::{self as acks, Method};
use crate::audit::Actor;
use crate::auth::policy;
use crate::auth::session::{Flash, Member, Visitor};
use crate::error::{AppError, AppResult};
use crate::ids::VersionId;
use crate::people::model as people;
use crate::policies::versions::model::{self, Version};
use crate::policies::{document_response, markdown, user_agent};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::web::{Id, Layout, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access, Access::Can, Action::*};
    r.post("/policies/versions/{id}/acknowledge", Can(ViewPolicies), acknowledge_signed_in)
        .get("/ack/{token}", Access::Public, ack_page)
        .post("/ack/{token}", Access::Public, ack_by_link)
        .get("/ack/{token}/document", Access::Public, ack_document)
        .get("/ack/{token}/logo", Access::Public, ack_logo)
        .get("/acknowledgements/import", Can(ManagePolicies), imports::page::<Acknowledgements>)
        .get("/acknowledgements/import/template.csv", Can(ManagePolicies), imports::template::<Acknowledgements>)
        .post_upload(
            "/acknowledgements/import",
            Can(ManagePolicies),
            imports::upload::<Acknowledgements>,
            Some(import::MAX_BYTES + crate::web::sheet::FORM_ROOM),
        )
        .get("/acknowledgements/import/{id}", Can(ManagePolicies), imports::preview::<Acknowledgements>)
        .post("/acknowledgements/import/{id}/apply", Can(ManagePolicies), imports::apply::<Acknowledgements>)
}

async fn acknowledge_signed_in(State(state): State<AppState>, me: Member, Id(id): Id<VersionId>, headers: HeaderMap) -> AppResult<Response> {
    let v = model::version(&state.db, me.org_id, id).await?;
    let person = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
    let Some(person) = person.filter(|_| policy::may_act_as_person(me.role, true)) else {
        return Err(AppError::Forbidden);
    };
    let mut tx = state.db.begin().await?;
    let new = acks::acknowledge(&mut tx, &me.actor(), state.clock.now(), me.org_id, person.id, v.id, Method::SignedIn, &me.visitor.client_addr, &user_agent(&headers)).await?;
    tx.commit().await?;
    let msg = if new { format!("Thank you: you acknowledged {} v{}.", v.policy_title, v.number()) } else { "You had already acknowledged this version.".into() };
    Ok(redirect_with(&state, &format!("/policies/versions/{id}"), Flash::success(msg)))
}

// ---------- personal links ----------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Open,
    Done,
    Expired,
    Left,
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/ack.html")]
struct AckPage {
    layout: Layout,
    token: String,
    org_name: String,
    has_logo: bool,
    person_name: String,
    v: Version,
    text_html: Option<String>,
    state: LinkState,
    acknowledged_at: Option<chrono::DateTime<chrono::Utc>>,
}

async fn load_ack(state: &AppState, token: &str) -> AppResult<(acks::LinkTarget, Version, LinkState, Option<chrono::DateTime<chrono::Utc>>)> {
    let target = acks::by_token(&state.db, token).await?;
    let v = model::version(&state.db, target.org_id, target.policy_version_id).await?;
    let now = state.clock.now();
    let done = acks::acknowledged(&state.db, target.org_id, target.person_id, v.id).await?.map(|(at, _)| at);
    let st = if done.is_some() {
        LinkState::Done
    } else if target.person_end_date.is_some_and(|d| d <= now.date_naive()) || v.policy_withdrawn {
        LinkState::Left
    } else if target.expires_at <= now {
        LinkState::Expired
    } else {
        LinkState::Open
    };
    Ok((target, v, st, done))
}

fn ack_view(visitor: &Visitor, token: String, target: acks::LinkTarget, v: Version, st: LinkState, done: Option<chrono::DateTime<chrono::Utc>>) -> Response {
    let status = if matches!(st, LinkState::Open | LinkState::Done) { StatusCode::OK } else { StatusCode::GONE };
    let page = AckPage {
        layout: Layout::basic(visitor, format!("{} v{}", v.policy_title, v.number())),
        token,
        org_name: target.org_name,
        has_logo: target.has_logo,
        person_name: target.person_name,
        text_html: v.body_markdown.as_deref().map(markdown::render),
        v,
        state: st,
        acknowledged_at: done,
    };
    (status, page).into_response()
}

async fn ack_page(State(state): State<AppState>, visitor: Visitor, crate::web::Segment(token): crate::web::Segment) -> AppResult<Response> {
    let (target, v, st, done) = load_ack(&state, &token).await?;
    Ok(ack_view(&visitor, token, target, v, st, done))
}

async fn ack_by_link(State(state): State<AppState>, visitor: Visitor, crate::web::Segment(token): crate::web::Segment, headers: HeaderMap) -> AppResult<Response> {
    let (target, v, st, done) = load_ack(&state, &token).await?;
    if st != LinkState::Open {
        return Ok(ack_view(&visitor, token, target, v, st, done));
    }
    let actor = Actor {
        org_id: Some(target.org_id),
        user_id: None,
        label: format!("{} (personal link)", target.person_name),
        request_id: visitor.request_id.clone(),
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    acks::acknowledge(&mut tx, &actor, now, target.org_id, target.person_id, v.id, Method::Link, &visitor.client_addr, &user_agent(&headers)).await?;
    tx.commit().await?;
    Ok(ack_view(&visitor, token, target, v, LinkState::Done, Some(now)))
}

/// The organisation's logo, for the page of a personal link.
async fn ack_logo(State(state): State<AppState>, crate::web::Segment(token): crate::web::Segment) -> AppResult<Response> {
    let target = acks::by_token(&state.db, &token).await?;
    crate::orgs::logo::response(&state.db, target.org_id).await
}

/// Streams a version's document file as an attachment.
async fn ack_document(State(state): State<AppState>, crate::web::Segment(token): crate::web::Segment) -> AppResult<Response> {
    let (target, v, st, _) = load_ack(&state, &token).await?;
    if matches!(st, LinkState::Expired | LinkState::Left) {
        return Err(AppError::NotFound);
    }
    document_response(&state, target.org_id, &v).await
}

