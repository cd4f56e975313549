//! Personal links as a campaign issues them, for acknowledgement and
//! training campaigns alike: the page that shows them once, their e-mails
//! written to the outbox (sent in the background), and their CSV kept for one
//! download within the hour.
use super::model::{self as notify, CampaignRef, Kind, NewMessage};
use crate::auth::session::{Member, random_token};
use crate::error::{AppError, AppResult};
use crate::ids::PersonId;
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::web::{Layout, csv};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use sqlx::{PgConnection, Postgres, Transaction};

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::Access;
    // Only the member who issued the links can download them (`take_export`).
    r.post("/link-exports/{id}/download", Access::Member, download)
}

/// A personal link, shown once to whoever issued it.
#[derive(Debug, Clone)]
pub struct IssuedLink {
    pub person_id: PersonId,
    pub name: String,
    pub email: String,
    pub token: String,
}

/// Fresh links for people (id, name, e-mail), with the columns their rows
/// take: a new row id each, the person, and only the SHA-256 of the secret.
pub struct Fresh {
    pub links: Vec<IssuedLink>,
    pub ids: Vec<uuid::Uuid>,
    pub persons: Vec<uuid::Uuid>,
    pub hashes: Vec<Vec<u8>>,
}

pub fn fresh<'a>(people: impl Iterator<Item = (PersonId, &'a str, &'a str)>) -> Fresh {
    let links: Vec<IssuedLink> = people.map(|(person_id, name, email)| IssuedLink { person_id, name: name.to_string(), email: email.to_string(), token: random_token() }).collect();
    Fresh {
        ids: links.iter().map(|_| uuid::Uuid::new_v4()).collect(),
        persons: links.iter().map(|l| l.person_id.0).collect(),
        hashes: links.iter().map(|l| crate::auth::session::hash_token(&l.token)).collect(),
        links,
    }
}

/// What a batch of links asks for, in words.
pub struct Batch {
    pub campaign: CampaignRef,
    /// The record the campaign is about: its page and its name.
    pub about_href: String,
    pub about: String,
    /// "Acknowledgement links: Access control policy v2.0".
    pub heading: String,
    /// The e-mail's subject.
    pub subject: String,
    /// Where a link leads: "/ack/" or "/training-link/", followed by its secret.
    pub path: &'static str,
    /// How many days a link works.
    pub days: i64,
    /// Sent again to those who have not acted yet.
    pub reminder: bool,
    /// What an empty batch means: "Everyone … has already …".
    pub nobody: String,
    /// The CSV's name.
    pub filename: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "links.html")]
struct LinksPage {
    layout: Layout,
    batch: Batch,
    /// The first links (all of them when there are few): link, its address, a `mailto:` to send it by hand.
    links: Vec<(IssuedLink, String, String)>,
    /// How many were issued.
    total: usize,
    /// E-mails written to the outbox, to go out in the background.
    emailed: Option<u64>,
    /// Every link as text to copy, when there are few.
    all_links: String,
    /// The CSV of every link, to download once within the hour.
    export: Option<uuid::Uuid>,
}

/// Links a page lists; more are in the CSV.
const LINKS_SHOWN: usize = 50;

fn mailto(email: &str, subject: &str, body: &str) -> String {
    let enc = |s: &str| crate::error::url_encode(s).replace('+', "%20");
    format!("mailto:{email}?subject={}&body={}", enc(subject), enc(body))
}

/// Finishes issuing `issued` (written in `tx`, with its audit row): writes
/// their e-mails to the outbox when asked and a mail server is set up, keeps
/// them as a CSV for one download within the hour, commits, and shows the
/// first ones once. `body` writes a person's e-mail around their link.
pub async fn respond(
    state: &AppState,
    me: &Member,
    mut tx: Transaction<'_, Postgres>,
    batch: Batch,
    issued: Vec<IssuedLink>,
    send: bool,
    body: impl Fn(&IssuedLink, &str) -> String,
) -> AppResult<Response> {
    let now = state.clock.now();
    let mut links: Vec<(IssuedLink, String, String)> = issued
        .into_iter()
        .map(|l| {
            let url = state.config.link(&format!("{}{}", batch.path, l.token));
            let write = mailto(&l.email, &batch.subject, &body(&l, &url));
            (l, url, write)
        })
        .collect();
    // Links replaced now would arrive dead: their e-mails still waiting go.
    let emails: Vec<String> = links.iter().map(|(l, _, _)| l.email.clone()).collect();
    notify::drop_queued_links(&mut tx, me.org_id, batch.campaign, &emails).await?;
    let emailed = if send && state.mailer.is_some() && !links.is_empty() {
        let messages: Vec<NewMessage> = links
            .iter()
            .map(|(l, url, _)| NewMessage {
                user_id: None,
                campaign: Some(batch.campaign),
                to_email: l.email.clone(),
                kind: Kind::Link,
                dedupe_key: format!("link:{}:{}:{}", batch.campaign.entity().1, l.person_id, now.timestamp_micros()),
                subject: batch.subject.clone(),
                body: body(l, url),
            })
            .collect();
        Some(notify::enqueue(&mut tx, me.org_id, now, &messages).await?)
    } else {
        None
    };
    let export = if links.is_empty() { None } else { Some(save_csv(&mut tx, me, &batch, &links, now).await?) };
    tx.commit().await?;
    let total = links.len();
    let all_links = if total <= LINKS_SHOWN { links.iter().map(|(l, url, _)| format!("{} <{}>: {url}", l.name, l.email)).collect::<Vec<_>>().join("\n") } else { String::new() };
    links.truncate(LINKS_SHOWN);
    let page = LinksPage { layout: Layout::build(&state.db, &me.visitor, batch.heading.clone()).await?, batch, links, total, emailed, all_links, export };
    Ok(page.into_response())
}

async fn save_csv(conn: &mut PgConnection, me: &Member, batch: &Batch, links: &[(IssuedLink, String, String)], now: chrono::DateTime<chrono::Utc>) -> AppResult<uuid::Uuid> {
    let mut body = csv::row(&["name", "email", "personal_link", "expires_in_days"]);
    for (l, url, _) in links {
        body.push_str(&csv::row(&[l.name.clone(), l.email.clone(), url.clone(), batch.days.to_string()]));
    }
    notify::save_export(conn, me.org_id, me.user_id, batch.campaign, &batch.filename, &body, now).await
}

/// The issued links as CSV: for the member who issued them, once, within the hour.
async fn download(State(state): State<AppState>, me: Member, crate::web::Id(id): crate::web::Id<uuid::Uuid>) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // Downloaded already, expired, someone else's or another organisation's: not found alike.
    let Some((filename, body, campaign)) = notify::take_export(&mut tx, me.org_id, me.user_id, id, now).await? else {
        return Err(AppError::NotFound);
    };
    let (entity, entity_id) = campaign.entity();
    crate::audit::record(&mut tx, &me.actor(), now, "campaign.links_downloaded", entity, entity_id, serde_json::json!({"file": filename})).await?;
    tx.commit().await?;
    Ok(csv::attachment(&filename, body))
}
