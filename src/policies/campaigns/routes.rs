//! Acknowledgement campaigns: sending a signed version to its audience,
//! the campaign's progress (page and CSV), and reminders.
use super::model::{self as campaigns, Campaign};
use crate::auth::policy::Action;
use crate::auth::session::Member;
use crate::error::{AppError, AppResult};
use crate::ids::{CampaignId, VersionId};
use crate::notify::links::{self, Batch, IssuedLink};
use crate::notify::model::CampaignRef;
use crate::policies::acks::model::{self as acks, Progress, Standing};
use crate::policies::versions::model;
use crate::state::AppState;
use crate::web::form::parse_date;
use crate::web::routes::Routes;
use crate::web::{Id, Layout, csv};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.post("/policies/versions/{id}/campaigns", Can(ManagePolicies), start_campaign)
        .get("/campaigns/{id}", Can(ViewPolicies), campaign_page)
        .get("/campaigns/{id}/csv", Can(ViewPolicies), campaign_csv)
        .post("/campaigns/{id}/reminders", Can(ManagePolicies), reminders)
}

// ---------- campaigns ----------

#[derive(Deserialize, Default)]
struct CampaignForm {
    #[serde(default)]
    due_on: String,
    send: Option<String>,
}

/// Issues links to `people` (thousands in one go) and shows them once; their
/// e-mails go out in the background when asked (`notify::links`).
async fn links_response(state: &AppState, me: &Member, campaign: Campaign, people: &[&Standing], send: bool, reminder: bool) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let issued = acks::issue_links(&mut tx, &me.actor(), state.clock.now(), me.org_id, campaign.id, people).await?;
    let title = format!("{} v{}", campaign.policy_title, campaign.number());
    let batch = Batch {
        campaign: CampaignRef::Ack(campaign.id),
        about_href: format!("/policies/{}", campaign.policy_id),
        about: campaign.policy_title.clone(),
        heading: format!("{}: {title}", if reminder { "Reminders" } else { "Acknowledgement links" }),
        subject: format!("Please read and acknowledge: {title}"),
        path: "/ack/",
        days: acks::LINK_DAYS,
        reminder,
        nobody: "Everyone in the audience has already acknowledged this version. Nothing to send.".into(),
        filename: format!("links-{}-v{}.csv", crate::web::slug(&campaign.policy_title), campaign.number()),
    };
    let body = |l: &IssuedLink, url: &str| {
        format!(
            "Hello {},\n\n{} asks you to read {} (version {}) and confirm that you will follow it. No account is needed:\n\n{url}\n\nThe link is personal and works for {} days.\n",
            l.name,
            me.org_name,
            campaign.policy_title,
            campaign.number(),
            acks::LINK_DAYS
        )
    };
    links::respond(state, me, tx, batch, issued, send, body).await
}

async fn start_campaign(State(state): State<AppState>, me: Member, Id(id): Id<VersionId>, Form(form): Form<CampaignForm>) -> AppResult<Response> {
    let v = model::version(&state.db, me.org_id, id).await?;
    if !v.is_signed() {
        return Err(AppError::Conflict("Only a signed version can be sent for acknowledgement. Ask an executive to sign it first.".into()));
    }
    if v.policy_withdrawn {
        return Err(AppError::Conflict(format!("{} is withdrawn: nobody is asked to acknowledge it any more.", v.policy_title)));
    }
    let due_on = parse_date(&form.due_on, "the due date").map_err(AppError::BadRequest)?;
    let today = state.clock.now().date_naive();
    let standings = acks::standings(&state.db, me.org_id, v.policy_id, v.major, None, today).await?;
    let missing: Vec<&Standing> = standings.iter().filter(|s| !s.done()).collect();
    if missing.is_empty() {
        return Err(AppError::Conflict(format!("Everyone {} is for has acknowledged version {}.x: there is nobody to ask.", v.policy_title, v.major)));
    }
    let mut tx = state.db.begin().await?;
    let campaign_id = campaigns::create_campaign(&mut tx, &me.actor(), state.clock.now(), me.org_id, v.id, &format!("{} v{}", v.policy_title, v.number()), due_on).await?;
    tx.commit().await?;
    let campaign = campaigns::campaign(&state.db, me.org_id, campaign_id).await?;
    links_response(&state, &me, campaign, &missing, crate::web::form::ticked(&form.send), false).await
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/campaign.html")]
struct CampaignPage {
    layout: Layout,
    campaign: Campaign,
    standings: Vec<Standing>,
    progress: Progress,
    can_manage: bool,
    smtp: bool,
    /// The campaign's e-mails: waiting, sent, not sent.
    mail: crate::notify::model::MailProgress,
}

async fn campaign_data(state: &AppState, me: &Member, id: CampaignId) -> AppResult<(Campaign, Vec<Standing>)> {
    let campaign = campaigns::campaign(&state.db, me.org_id, id).await?;
    let standings = acks::standings(&state.db, me.org_id, campaign.policy_id, campaign.major, Some(campaign.id), state.clock.now().date_naive()).await?;
    Ok((campaign, standings))
}

async fn campaign_page(State(state): State<AppState>, me: Member, Id(id): Id<CampaignId>) -> AppResult<CampaignPage> {
    let (campaign, standings) = campaign_data(&state, &me, id).await?;
    Ok(CampaignPage {
        layout: Layout::build(&state.db, &me.visitor, format!("Acknowledgements: {}", campaign.policy_title)).await?,
        progress: acks::progress(&standings),
        standings,
        campaign,
        can_manage: me.can(Action::ManagePolicies),
        smtp: state.mailer.is_some(),
        mail: crate::notify::model::campaign_mail(&state.db, me.org_id, CampaignRef::Ack(id)).await?,
    })
}

async fn campaign_csv(State(state): State<AppState>, me: Member, Id(id): Id<CampaignId>) -> AppResult<Response> {
    let (campaign, standings) = campaign_data(&state, &me, id).await?;
    let mut out = csv::row(&["name", "email", "department", "manager", "top_management", "line_manager", "acknowledged", "acknowledged_at", "method", "how", "link_issued_at"]);
    for s in &standings {
        out.push_str(&csv::row(&[
            s.name.clone(),
            s.email.clone(),
            s.department.clone(),
            s.manager_name.clone().unwrap_or_default(),
            if s.top_management { "yes" } else { "no" }.into(),
            if s.line_manager { "yes" } else { "no" }.into(),
            if s.done() { "yes" } else { "no" }.into(),
            s.acknowledged_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            s.method.map(|m| m.label()).unwrap_or_default().into(),
            if s.done() { s.how_words() } else { String::new() },
            s.link_issued_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ]));
    }
    let name = format!("acknowledgements-{}-v{}.csv", crate::web::slug(&campaign.policy_title), campaign.number());
    Ok(csv::attachment(&name, out))
}

async fn reminders(State(state): State<AppState>, me: Member, Id(id): Id<CampaignId>, Form(form): Form<CampaignForm>) -> AppResult<Response> {
    let (campaign, standings) = campaign_data(&state, &me, id).await?;
    if model::version(&state.db, me.org_id, campaign.policy_version_id).await?.policy_withdrawn {
        return Err(AppError::Conflict(format!("{} is withdrawn: nobody is asked to acknowledge it any more.", campaign.policy_title)));
    }
    let missing: Vec<&Standing> = standings.iter().filter(|s| !s.done()).collect();
    links_response(&state, &me, campaign, &missing, crate::web::form::ticked(&form.send), true).await
}

