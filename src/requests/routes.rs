//! Evidence request pages: the handlers and their routes.
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::auth::policy::{self, Action};
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::evidence::model::{self as evidence, Item, Target, TargetKind};
use crate::web::form::{parse_optional, parse_text};
use crate::web::{Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use super::model::{self, Request, Status};
use crate::ids::{EvidenceRequestId, RequirementId};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/evidence-requests", Can(ViewEvidenceRequests), list_page)
        .get("/evidence-requests.csv", Can(ViewEvidenceRequests), export)
        .post("/evidence-requests", Can(RaiseEvidenceRequests), raise)
        .get("/evidence-requests/{id}", Can(ViewEvidenceRequests), show_page)
        .post("/evidence-requests/{id}/answer", Can(AnswerEvidenceRequests), answer)
        .post("/evidence-requests/{id}/link", Can(AnswerEvidenceRequests), link_existing)
        .post("/evidence-requests/{id}/close", Can(RaiseEvidenceRequests), close)
        .post("/evidence-requests/{id}/reopen", Can(RaiseEvidenceRequests), reopen)
}

#[derive(Deserialize, Default)]
struct Filter {
    #[serde(default)]
    status: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "requests/list.html")]
struct ListPage {
    layout: Layout,
    requests: Vec<Request>,
    status: String,
    statuses: [Status; 3],
    can_raise: bool,
}

async fn list_page(State(state): State<AppState>, me: Member, Query(f): Query<Filter>) -> AppResult<ListPage> {
    let status = f.status.parse::<Status>().ok();
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Evidence requests").await?,
        requests: model::list(&state.db, me.org_id, status, None).await?,
        status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        statuses: [Status::Open, Status::Answered, Status::Closed],
        can_raise: me.can(Action::RaiseEvidenceRequests),
    })
}

async fn export(State(state): State<AppState>, me: Member, Query(f): Query<Filter>) -> AppResult<Response> {
    let requests = model::list(&state.db, me.org_id, f.status.parse().ok(), None).await?;
    let mut out = csv::row(&["requirement", "question", "status", "asked_by", "asked_at", "answer", "answered_by", "answered_at", "evidence_items", "closed_at"]);
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default();
    for q in &requests {
        out.push_str(&csv::row(&[
            q.code.clone(),
            q.question.clone(),
            q.status.as_str().into(),
            q.asked_by_name.clone(),
            time(Some(q.asked_at)),
            q.answer.clone(),
            q.answered_by_name.clone().unwrap_or_default(),
            time(q.answered_at),
            q.evidence_count.to_string(),
            time(q.closed_at),
        ]));
    }
    Ok(csv::attachment("evidence-requests.csv", out))
}

#[derive(Deserialize)]
struct RaiseForm {
    #[serde(default)]
    requirement_id: String,
    #[serde(default)]
    question: String,
}

async fn raise(State(state): State<AppState>, me: Member, Form(form): Form<RaiseForm>) -> AppResult<Response> {
    let requirement: RequirementId = form.requirement_id.parse().map_err(|_| AppError::NotFound)?;
    let question = parse_text(&form.question, "what you want to see", 2000).map_err(AppError::BadRequest)?;
    let mut tx = state.db.begin().await?;
    let id = model::raise(&mut tx, &me.actor(), state.clock.now(), me.org_id, requirement, &question).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/evidence-requests/{id}"), Flash::success("Your request was sent to the ISMS lead.")))
}

#[derive(Template, WebTemplate)]
#[template(path = "requests/show.html")]
struct ShowPage {
    layout: Layout,
    q: Request,
    evidence: Vec<Item>,
    /// Items linked to the request's requirement but not yet to the request.
    candidates: Vec<Item>,
    can_answer: bool,
    /// Close or reopen: the asker's side.
    can_close: bool,
    can_upload: bool,
}

async fn show_page(State(state): State<AppState>, me: Member, Id(id): Id<EvidenceRequestId>) -> AppResult<ShowPage> {
    let q = model::get(&state.db, me.org_id, id).await?;
    let evidence = evidence::for_target(&state.db, me.org_id, Target { kind: TargetKind::EvidenceRequest, id: id.0 }).await?;
    let can_answer = me.can(Action::AnswerEvidenceRequests);
    let candidates = if can_answer {
        evidence::for_target(&state.db, me.org_id, Target { kind: TargetKind::Requirement, id: q.requirement_id.0 })
            .await?
            .into_iter()
            .filter(|i| !evidence.iter().any(|e| e.id == i.id))
            .collect()
    } else {
        Vec::new()
    };
    Ok(ShowPage {
        layout: Layout::build(&state.db, &me.visitor, format!("Request on {}", q.code)).await?,
        can_close: policy::may_close_request(me.role, q.asked_by == me.user_id),
        can_upload: can_answer && me.can(Action::UploadEvidence),
        can_answer,
        candidates,
        evidence,
        q,
    })
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    answer: String,
}

async fn answer(State(state): State<AppState>, me: Member, Id(id): Id<EvidenceRequestId>, Form(form): Form<AnswerForm>) -> AppResult<Response> {
    let note = parse_optional(&form.answer, "the answer", 4000, true).map_err(AppError::BadRequest)?;
    let mut tx = state.db.begin().await?;
    model::answer(&mut tx, &me.actor(), state.clock.now(), me.org_id, id, &note).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/evidence-requests/{id}"), Flash::success("The request is answered. The auditor sees your answer and the linked evidence.")))
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    item_id: String,
}

/// Links an item already in the vault to the request.
async fn link_existing(State(state): State<AppState>, me: Member, Id(id): Id<EvidenceRequestId>, Form(form): Form<LinkForm>) -> AppResult<Response> {
    let item: crate::ids::EvidenceId = form.item_id.parse().map_err(|_| AppError::BadRequest("Choose an evidence item to link.".into()))?;
    model::get(&state.db, me.org_id, id).await?;
    let mut tx = state.db.begin().await?;
    evidence::get(&mut *tx, me.org_id, item).await?;
    // `link` locks the request and refuses a closed one.
    let added = evidence::link(&mut tx, &me.actor(), state.clock.now(), me.org_id, item, Target { kind: TargetKind::EvidenceRequest, id: id.0 }).await?;
    tx.commit().await?;
    let msg = if added { "Linked. Send your answer when the request is covered." } else { "It was already linked." };
    Ok(redirect_with(&state, &format!("/evidence-requests/{id}"), Flash::success(msg)))
}

async fn set_closed(state: AppState, me: Member, id: EvidenceRequestId, closed: bool) -> AppResult<Response> {
    let q = model::get(&state.db, me.org_id, id).await?;
    if !policy::may_close_request(me.role, q.asked_by == me.user_id) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.db.begin().await?;
    model::set_closed(&mut tx, &me.actor(), state.clock.now(), me.org_id, id, closed).await?;
    tx.commit().await?;
    let msg = if closed { "The request is closed." } else { "The request is open again; the ISMS lead sees it as waiting." };
    Ok(redirect_with(&state, &format!("/evidence-requests/{id}"), Flash::success(msg)))
}

async fn close(State(state): State<AppState>, me: Member, Id(id): Id<EvidenceRequestId>) -> AppResult<Response> {
    set_closed(state, me, id, true).await
}

async fn reopen(State(state): State<AppState>, me: Member, Id(id): Id<EvidenceRequestId>) -> AppResult<Response> {
    set_closed(state, me, id, false).await
}
