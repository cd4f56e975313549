//! Acknowledgement campaigns: sending a signed version to its audience,
//! the campaign's progress (page and CSV), and reminders.
use super::model::{self as campaigns, Campaign};
use crate::auth::policy::Action;
use crate::auth::session::Member;
use crate::error::{AppError, AppResult};
use crate::ids::{CampaignId, VersionId};
use crate::policies::acks::model::{self as acks, IssuedLink, Progress, Standing};
use crate::policies::versions::model;
use crate::state::AppState;
use crate::web::form::parse_date;
use crate::web::routes::Routes;
use crate::web::{Id, Layout, csv};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.post("/policies/versions/{id}/campaigns", Can(ManagePolicies), start_campaign)
        .post("/link-exports/{id}/download", Can(ManagePolicies), download_links)
        .get("/campaigns/{id}", Can(ViewPolicies), campaign_page)
        .get("/campaigns/{id}/csv", Can(ViewPolicies), campaign_csv)
        .post("/campaigns/{id}/reminders", Can(ManagePolicies), reminders)
}

// ---------- campaigns ----------

#[derive(Template, WebTemplate)]
#[template(path = "policies/links.html")]
struct LinksPage {
    layout: Layout,
    campaign: Campaign,
    /// The first links (all of them when there are few).
    links: Vec<(IssuedLink, String)>,
    /// How many were issued.
    total: usize,
    /// E-mails written to the outbox, to go out in the background.
    emailed: Option<u64>,
    reminder: bool,
    /// Every link as text to copy, when there are few.
    all_links: String,
    /// The CSV of every link, to download once within the hour.
    export: Option<uuid::Uuid>,
}

/// Links a page lists; more are in the CSV.
const LINKS_SHOWN: usize = 50;

impl LinksPage {
    fn mailto(&self, l: &IssuedLink, url: &str) -> String {
        let subject = format!("Please read and acknowledge: {} v{}", self.campaign.policy_title, self.campaign.number());
        let body = format!(
            "Hello {},\n\nPlease read our {} (version {}) and confirm that you will follow it. It takes a few minutes and needs no account:\n\n{url}\n\nThe link is personal and works for {} days.\n",
            l.name,
            self.campaign.policy_title,
            self.campaign.number(),
            acks::LINK_DAYS
        );
        format!("mailto:{}?subject={}&body={}", l.email, crate::error::url_encode(&subject).replace('+', "%20"), crate::error::url_encode(&body).replace('+', "%20"))
    }
}

#[derive(Deserialize, Default)]
struct CampaignForm {
    #[serde(default)]
    due_on: String,
    send: Option<String>,
}

/// Issues links to `people` (thousands in one go), writes their e-mails to
/// the outbox when asked and a mail server is set up (they go out in the
/// background; the campaign page shows how many did), keeps them as a CSV
/// for one download within the hour, and shows the first ones once.
async fn links_response(state: &AppState, me: &Member, campaign: Campaign, people: &[&Standing], send: bool, reminder: bool) -> AppResult<Response> {
    use crate::notify::model::{self as notify, Kind, NewMessage};
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let issued = acks::issue_links(&mut tx, &me.actor(), now, me.org_id, campaign.id, people).await?;
    let mut links: Vec<(IssuedLink, String)> = issued
        .into_iter()
        .map(|l| {
            let url = state.config.link(&format!("/ack/{}", l.token));
            (l, url)
        })
        .collect();
    let emailed = if send && state.mailer.is_some() && !links.is_empty() {
        let subject = format!("Please read and acknowledge: {} v{}", campaign.policy_title, campaign.number());
        let messages: Vec<NewMessage> = links
            .iter()
            .map(|(l, url)| NewMessage {
                user_id: None,
                campaign_id: Some(campaign.id),
                to_email: l.email.clone(),
                kind: Kind::Link,
                dedupe_key: format!("link:{}:{}:{}", campaign.id, l.person_id, now.timestamp_micros()),
                subject: subject.clone(),
                body: format!(
                    "Hello {},\n\n{} asks you to read {} (version {}) and confirm that you will follow it. No account is needed:\n\n{url}\n\nThe link is personal and works for {} days.\n",
                    l.name,
                    me.org_name,
                    campaign.policy_title,
                    campaign.number(),
                    acks::LINK_DAYS
                ),
            })
            .collect();
        Some(notify::enqueue(&mut tx, me.org_id, now, &messages).await?)
    } else {
        None
    };
    let export = if links.is_empty() {
        None
    } else {
        let mut body = csv::row(&["name", "email", "personal_link", "expires_in_days"]);
        for (l, url) in &links {
            body.push_str(&csv::row(&[l.name.clone(), l.email.clone(), url.clone(), acks::LINK_DAYS.to_string()]));
        }
        let filename = format!("links-{}-v{}.csv", campaign.policy_title.to_lowercase().replace(|c: char| !c.is_alphanumeric(), "-"), campaign.number());
        Some(notify::save_export(&mut tx, me.org_id, me.user_id, campaign.id, &filename, &body, now).await?)
    };
    tx.commit().await?;
    let total = links.len();
    let all_links = if total <= LINKS_SHOWN { links.iter().map(|(l, url)| format!("{} <{}>: {url}", l.name, l.email)).collect::<Vec<_>>().join("\n") } else { String::new() };
    links.truncate(LINKS_SHOWN);
    let page = LinksPage {
        layout: Layout::build(&state.db, &me.visitor, format!("Links for {}", campaign.policy_title)).await?,
        campaign,
        links,
        total,
        emailed,
        reminder,
        all_links,
        export,
    };
    Ok(page.into_response())
}

/// The issued links as CSV: for the member who issued them, once, within the hour.
async fn download_links(State(state): State<AppState>, me: Member, crate::web::Id(id): crate::web::Id<uuid::Uuid>) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // Downloaded already, expired, someone else's or another organisation's: not found alike.
    let Some((filename, body, campaign)) = crate::notify::model::take_export(&mut tx, me.org_id, me.user_id, id, now).await? else {
        return Err(AppError::NotFound);
    };
    crate::audit::record(&mut tx, &me.actor(), now, "campaign.links_downloaded", "campaign", campaign, serde_json::json!({"file": filename})).await?;
    tx.commit().await?;
    Ok(csv::attachment(&filename, body))
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
    let mut tx = state.db.begin().await?;
    let campaign_id = campaigns::create_campaign(&mut tx, &me.actor(), state.clock.now(), me.org_id, v.id, &format!("{} v{}", v.policy_title, v.number()), due_on).await?;
    tx.commit().await?;
    let campaign = campaigns::campaign(&state.db, me.org_id, campaign_id).await?;
    let standings = acks::standings(&state.db, me.org_id, v.policy_id, v.major, Some(campaign_id), today).await?;
    let missing: Vec<&Standing> = standings.iter().filter(|s| !s.done()).collect();
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
        mail: crate::notify::model::campaign_mail(&state.db, me.org_id, id).await?,
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
    let name = format!("acknowledgements-{}-v{}.csv", campaign.policy_title.to_lowercase().replace(|c: char| !c.is_alphanumeric(), "-"), campaign.number());
    Ok(csv::attachment(&name, out))
}

async fn reminders(State(state): State<AppState>, me: Member, Id(id): Id<CampaignId>, Form(form): Form<CampaignForm>) -> AppResult<Response> {
    let (campaign, standings) = campaign_data(&state, &me, id).await?;
    let missing: Vec<&Standing> = standings.iter().filter(|s| !s.done()).collect();
    links_response(&state, &me, campaign, &missing, crate::web::form::ticked(&form.send), true).await
}

