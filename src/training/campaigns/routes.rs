//! Training campaigns: sending a module to those of its audience who are not
//! current, the campaign's progress (page and CSV), reminders, and the
//! public page where a person confirms through their link.
use super::model::{self as campaigns, Campaign, LinkTarget, Standing};
use crate::audit::Actor;
use crate::auth::policy::Action;
use crate::auth::session::{Member, Visitor};
use crate::error::{AppError, AppResult};
use crate::ids::{ModuleId, TrainingCampaignId};
use crate::notify::links::{self, Batch, IssuedLink};
use crate::notify::model::{self as notify, CampaignRef, MailProgress};
use crate::policies::acks::model::{Progress, progress};
use crate::policies::acks::routes::LinkState;
use crate::state::AppState;
use crate::training::model::{self as training, Module};
use crate::web::form::{parse_date, ticked};
use crate::web::routes::Routes;
use crate::web::{Id, Layout, Segment, csv};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access, Access::Can, Action::*};
    r.post("/training/modules/{id}/campaigns", Can(ManageTraining), start)
        .get("/training/campaigns/{id}", Can(ViewTraining), campaign_page)
        .get("/training/campaigns/{id}/csv", Can(ViewTraining), campaign_csv)
        .post("/training/campaigns/{id}/reminders", Can(ManageTraining), reminders)
        .get("/training-link/{token}", Access::Public, link_page)
        .post("/training-link/{token}", Access::Public, confirm_by_link)
        .get("/training-link/{token}/logo", Access::Public, link_logo)
}

#[derive(Deserialize, Default)]
pub struct CampaignForm {
    #[serde(default)]
    due_on: String,
    send: Option<String>,
}

/// Issues links to `people` (thousands in one go) and shows them once; their
/// e-mails go out in the background when asked (`notify::links`).
async fn links_response(state: &AppState, me: &Member, campaign: Campaign, people: &[&Standing], send: bool, reminder: bool) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let issued = campaigns::issue_links(&mut tx, &me.actor(), state.clock.now(), me.org_id, campaign.id, people).await?;
    let batch = Batch {
        campaign: CampaignRef::Training(campaign.id),
        about_href: format!("/training/modules/{}", campaign.module_id),
        about: campaign.module_title.clone(),
        heading: format!("{}: {}", if reminder { "Reminders" } else { "Training links" }, campaign.module_title),
        subject: format!("Training to complete: {}", campaign.module_title),
        path: "/training-link/",
        days: campaigns::LINK_DAYS,
        reminder,
        nobody: "Everyone this module is for is current or has completed it since the campaign started. Nothing to send.".into(),
        filename: format!("training-links-{}-{}.csv", crate::web::slug(&campaign.module_title), campaign.started_on().format("%Y%m%d")),
    };
    let due = campaign.due_on.map(|d| format!(" by {d}")).unwrap_or_default();
    let body = |l: &IssuedLink, url: &str| {
        format!(
            "Hello {},\n\n{} asks you to complete the training \"{}\"{due}. When you have, confirm it on this page (no account is needed):\n\n{url}\n\nThe link is personal and works for {} days.\n",
            l.name,
            me.org_name,
            campaign.module_title,
            campaigns::LINK_DAYS
        )
    };
    links::respond(state, me, tx, batch, issued, send, body).await
}

/// The module's audience in the campaign: everyone, and those to ask.
async fn campaign_data(state: &AppState, me: &Member, id: TrainingCampaignId) -> AppResult<(Module, Campaign, Vec<Standing>)> {
    let campaign = campaigns::campaign(&state.db, me.org_id, id).await?;
    let module = training::module(&state.db, me.org_id, campaign.module_id).await?;
    let standings = campaigns::standings(&mut *state.db.acquire().await?, me.org_id, &module, &campaign, state.clock.now().date_naive()).await?;
    Ok((module, campaign, standings))
}

async fn start(State(state): State<AppState>, me: Member, Id(id): Id<ModuleId>, Form(form): Form<CampaignForm>) -> AppResult<Response> {
    let module = training::module(&state.db, me.org_id, id).await?;
    let today = state.clock.now().date_naive();
    let due_on = match parse_date(&form.due_on, "the due date").map_err(AppError::BadRequest)? {
        Some(d) if d < today => return Err(AppError::BadRequest("The due date is in the past: choose today or a later day, or leave it empty.".into())),
        d => d,
    };
    let not_current = training::standings(&state.db, me.org_id, module.id, today).await?.iter().any(|s| s.status(module.validity_months, today) != training::Status::Current);
    if !not_current && module.retired_at.is_none() {
        return Err(AppError::Conflict(format!("Everyone {} is for is current: there is nobody to ask.", module.title)));
    }
    let mut tx = state.db.begin().await?;
    let campaign_id = campaigns::create(&mut tx, &me.actor(), state.clock.now(), me.org_id, &module, due_on).await?;
    tx.commit().await?;
    let (_, campaign, standings) = campaign_data(&state, &me, campaign_id).await?;
    let missing: Vec<&Standing> = standings.iter().filter(|s| !s.done).collect();
    links_response(&state, &me, campaign, &missing, ticked(&form.send), false).await
}

async fn reminders(State(state): State<AppState>, me: Member, Id(id): Id<TrainingCampaignId>, Form(form): Form<CampaignForm>) -> AppResult<Response> {
    let (module, campaign, standings) = campaign_data(&state, &me, id).await?;
    if module.retired_at.is_some() {
        return Err(AppError::Conflict(format!("{} is retired: nobody is asked to take it any more.", module.title)));
    }
    let missing: Vec<&Standing> = standings.iter().filter(|s| !s.done).collect();
    links_response(&state, &me, campaign, &missing, ticked(&form.send), true).await
}

/// People a campaign page lists by name; the CSV has everyone.
const MISSING_SHOWN: usize = 200;

#[derive(Template, WebTemplate)]
#[template(path = "training/campaign.html")]
struct CampaignPage {
    layout: Layout,
    module: Module,
    campaign: Campaign,
    progress: Progress,
    /// The first of those who have not done it yet.
    missing: Vec<Standing>,
    can_manage: bool,
    smtp: bool,
    mail: MailProgress,
}

async fn campaign_page(State(state): State<AppState>, me: Member, Id(id): Id<TrainingCampaignId>) -> AppResult<CampaignPage> {
    let (module, campaign, standings) = campaign_data(&state, &me, id).await?;
    let progress = progress(&standings);
    let missing = standings.into_iter().filter(|s| !s.done).take(MISSING_SHOWN).collect();
    Ok(CampaignPage {
        layout: Layout::build(&state.db, &me.visitor, format!("Training: {}", campaign.module_title)).await?,
        progress,
        missing,
        can_manage: me.can(Action::ManageTraining) && module.retired_at.is_none(),
        smtp: state.mailer.is_some(),
        mail: notify::campaign_mail(&state.db, me.org_id, CampaignRef::Training(id)).await?,
        module,
        campaign,
    })
}

async fn campaign_csv(State(state): State<AppState>, me: Member, Id(id): Id<TrainingCampaignId>) -> AppResult<Response> {
    let (_, campaign, standings) = campaign_data(&state, &me, id).await?;
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    let mut out = csv::row(&["name", "email", "department", "manager", "top_management", "line_manager", "done", "status", "last_completed", "how", "link_issued_at"]);
    for s in &standings {
        let p = &s.person;
        out.push_str(&csv::row(&[
            p.name.clone(),
            p.email.clone(),
            p.department.clone(),
            p.manager_name.clone().unwrap_or_default(),
            yes(p.top_management),
            yes(p.line_manager),
            yes(s.done),
            s.status.label().into(),
            p.completed_on.map(|d| d.to_string()).unwrap_or_default(),
            p.recorded_words(),
            s.link_issued_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ]));
    }
    let name = format!("training-campaign-{}-{}.csv", crate::web::slug(&campaign.module_title), campaign.started_on().format("%Y%m%d"));
    Ok(csv::attachment(&name, out))
}

// ---------- the personal link ----------

#[derive(Template, WebTemplate)]
#[template(path = "training/link.html")]
struct LinkPage {
    layout: Layout,
    token: String,
    target: LinkTarget,
    module: Module,
    state: LinkState,
    /// The completion that counts, when done.
    completed_on: Option<NaiveDate>,
    /// The day as typed, and what is wrong with it.
    day: String,
    error: Option<String>,
    today: NaiveDate,
}

#[derive(Deserialize, Default)]
struct ConfirmForm {
    #[serde(default)]
    completed_on: String,
}

async fn load_link(state: &AppState, token: &str) -> AppResult<(LinkTarget, Module, LinkState, Option<NaiveDate>)> {
    let target = campaigns::by_token(&state.db, token).await?;
    let module = training::module(&state.db, target.org_id, target.module_id).await?;
    let today = state.clock.now().date_naive();
    let last = campaigns::last_completed(&state.db, target.org_id, module.id, target.person_id).await?;
    let done = campaigns::done(last, training::status(last, module.validity_months, today), target.campaign_started.date_naive());
    let st = if done {
        LinkState::Done
    } else if target.person_end_date.is_some_and(|d| d <= today) || module.retired_at.is_some() {
        LinkState::Left
    } else if target.expires_at <= state.clock.now() {
        LinkState::Expired
    } else {
        LinkState::Open
    };
    Ok((target, module, st, last.filter(|_| done)))
}

/// A link's page: what it asks, or where it stands; `day` and `error` when a confirmation was refused.
struct LinkView {
    token: String,
    target: LinkTarget,
    module: Module,
    state: LinkState,
    completed_on: Option<NaiveDate>,
}

fn link_view(state: &AppState, visitor: &Visitor, v: LinkView, day: Option<String>, error: Option<String>) -> Response {
    let status = match v.state {
        LinkState::Open if error.is_some() => StatusCode::UNPROCESSABLE_ENTITY,
        LinkState::Open | LinkState::Done => StatusCode::OK,
        LinkState::Expired | LinkState::Left => StatusCode::GONE,
    };
    let today = state.clock.now().date_naive();
    let page = LinkPage {
        layout: Layout::basic(visitor, v.module.title.clone()),
        token: v.token,
        target: v.target,
        module: v.module,
        state: v.state,
        completed_on: v.completed_on,
        day: day.unwrap_or_else(|| today.to_string()),
        error,
        today,
    };
    (status, page).into_response()
}

async fn link_page(State(state): State<AppState>, visitor: Visitor, Segment(token): Segment) -> AppResult<Response> {
    let (target, module, st, completed_on) = load_link(&state, &token).await?;
    Ok(link_view(&state, &visitor, LinkView { token, target, module, state: st, completed_on }, None, None))
}

async fn confirm_by_link(State(state): State<AppState>, visitor: Visitor, Segment(token): Segment, headers: HeaderMap, Form(form): Form<ConfirmForm>) -> AppResult<Response> {
    let (target, module, st, completed_on) = load_link(&state, &token).await?;
    let view = LinkView { token, target, module, state: st, completed_on };
    if st != LinkState::Open {
        return Ok(link_view(&state, &visitor, view, None, None));
    }
    let now = state.clock.now();
    let started = view.target.campaign_started.date_naive();
    let day = match parse_date(&form.completed_on, "the day you completed it") {
        Ok(Some(d)) => campaigns::check_day(d, started, now.date_naive()),
        Ok(None) => Err("Give the day you completed it.".into()),
        Err(e) => Err(e),
    };
    let day = match day {
        Ok(d) => d,
        Err(e) => return Ok(link_view(&state, &visitor, view, Some(form.completed_on), Some(e))),
    };
    let actor = Actor { org_id: Some(view.target.org_id), user_id: None, label: format!("{} (personal link)", view.target.person_name), request_id: visitor.request_id.clone() };
    let confirmation = campaigns::Confirmation { completed_on: day, client_addr: visitor.client_addr.clone(), user_agent: crate::web::user_agent(&headers) };
    let mut tx = state.db.begin().await?;
    campaigns::confirm(&mut tx, &actor, now, &view.target, &confirmation).await?;
    tx.commit().await?;
    Ok(link_view(&state, &visitor, LinkView { state: LinkState::Done, completed_on: Some(day), ..view }, None, None))
}

/// The organisation's logo, for the page of a personal link.
async fn link_logo(State(state): State<AppState>, Segment(token): Segment) -> AppResult<Response> {
    let target = campaigns::by_token(&state.db, &token).await?;
    crate::orgs::logo::response(&state.db, target.org_id).await
}
