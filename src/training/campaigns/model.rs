//! Training campaigns: a module's audience asked, through personal links that
//! need no account, to take the module and confirm they completed it. A
//! confirmation records the day the person says they completed it (since
//! the campaign started), as a completion "confirmed through a personal
//! link", with the campaign, the network address and the browser.
//!
//! Someone counts as done for a campaign when their training is current, or
//! when they completed it on or after the day the campaign started (one
//! done then but due again soon counts: they did what was asked).
use super::super::model::{self as training, Module, Status};
use crate::audit::{self, Actor};
use crate::auth::session::hash_token;
use crate::error::{AppError, AppResult};
use crate::ids::{ModuleId, OrgId, PersonId, TrainingCampaignId, TrainingRecordId};
use crate::notify::links::IssuedLink;
use crate::policies::acks::model::Counted;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use uuid::Uuid;

/// How long a personal training link works.
pub const LINK_DAYS: i64 = 30;

#[derive(Debug, Clone)]
pub struct Campaign {
    pub id: TrainingCampaignId,
    pub module_id: ModuleId,
    pub module_title: String,
    pub due_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub created_by_name: Option<String>,
}

impl Campaign {
    /// The day it started: completions from then on count for it.
    pub fn started_on(&self) -> NaiveDate {
        self.created_at.date_naive()
    }
}

/// The campaigns of one module (newest first), or the one campaign `only`.
async fn select(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, module: Option<ModuleId>, only: Option<TrainingCampaignId>) -> AppResult<Vec<Campaign>> {
    Ok(sqlx::query_as!(
        Campaign,
        r#"SELECT c.id AS "id: TrainingCampaignId", c.module_id AS "module_id: ModuleId", t.title AS module_title, c.due_on, c.created_at,
                  u.name AS "created_by_name?"
             FROM training_campaigns c
             JOIN training_modules t ON t.org_id = c.org_id AND t.id = c.module_id
             LEFT JOIN users u ON u.id = c.created_by
            WHERE c.org_id = $1 AND ($2::uuid IS NULL OR c.module_id = $2) AND ($3::uuid IS NULL OR c.id = $3)
            ORDER BY c.created_at DESC"#,
        org_id.0,
        module.map(|m| m.0),
        only.map(|c| c.0),
    )
    .fetch_all(db)
    .await?)
}

pub async fn campaign(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: TrainingCampaignId) -> AppResult<Campaign> {
    select(db, org_id, None, Some(id)).await?.into_iter().next().ok_or(AppError::NotFound)
}

pub async fn campaigns_of(db: &PgPool, org_id: OrgId, module_id: ModuleId) -> AppResult<Vec<Campaign>> {
    select(db, org_id, Some(module_id), None).await
}

pub async fn create(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, module: &Module, due_on: Option<NaiveDate>) -> AppResult<TrainingCampaignId> {
    if module.retired_at.is_some() {
        return Err(AppError::Conflict(format!("{} is retired: nobody is asked to take it any more.", module.title)));
    }
    let id = TrainingCampaignId::new();
    sqlx::query!(
        "INSERT INTO training_campaigns (id, org_id, module_id, due_on, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        id.0,
        org_id.0,
        module.id.0,
        due_on,
        actor.user_id.map(|u| u.0),
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "training_campaign.started", "training_campaign", id, json!({"module": module.title, "due_on": due_on})).await?;
    Ok(id)
}

/// One person of the module's audience, and where they stand in the campaign.
#[derive(Debug, Clone)]
pub struct Standing {
    pub person: training::Standing,
    pub status: Status,
    /// Current, or completed since the campaign started.
    pub done: bool,
    pub link_issued_at: Option<DateTime<Utc>>,
    pub link_expires_at: Option<DateTime<Utc>>,
}

impl Counted for Standing {
    fn done(&self) -> bool {
        self.done
    }
    fn department(&self) -> &str {
        &self.person.department
    }
    fn manager(&self) -> Option<&str> {
        self.person.manager_name.as_deref()
    }
    fn leader(&self) -> bool {
        self.person.is_leader()
    }
}

/// Whether someone has done what a campaign started on `started_on` asks.
pub fn done(last_completed: Option<NaiveDate>, status: Status, started_on: NaiveDate) -> bool {
    status == Status::Current || last_completed.is_some_and(|d| d >= started_on)
}

/// Everyone the module is for, with their standing in `campaign`: two
/// queries for any number of people.
pub async fn standings(conn: &mut PgConnection, org_id: OrgId, module: &Module, campaign: &Campaign, today: NaiveDate) -> AppResult<Vec<Standing>> {
    let people = training::standings(&mut *conn, org_id, module.id, today).await?;
    let links: HashMap<Uuid, (DateTime<Utc>, DateTime<Utc>)> = sqlx::query!(
        "SELECT person_id, issued_at, expires_at FROM training_requests WHERE org_id = $1 AND campaign_id = $2",
        org_id.0,
        campaign.id.0
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.person_id, (r.issued_at, r.expires_at)))
    .collect();
    Ok(people
        .into_iter()
        .map(|p| {
            let status = p.status(module.validity_months, today);
            let link = links.get(&p.person_id.0);
            Standing {
                done: done(p.completed_on, status, campaign.started_on()),
                status,
                link_issued_at: link.map(|l| l.0),
                link_expires_at: link.map(|l| l.1),
                person: p,
            }
        })
        .collect())
}

/// Gives each person a fresh personal link for the campaign (replacing any
/// earlier one), in one statement. Only the SHA-256 of each secret is stored.
pub async fn issue_links(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, campaign_id: TrainingCampaignId, people: &[&Standing]) -> AppResult<Vec<IssuedLink>> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let fresh = crate::notify::links::fresh(people.iter().map(|s| (s.person.person_id, s.person.name.as_str(), s.person.email.as_str())));
    sqlx::query!(
        "INSERT INTO training_requests (id, org_id, campaign_id, person_id, token_hash, expires_at, issued_at)
         SELECT u.id, $1, $2, u.person_id, u.token_hash, $3, $4 FROM UNNEST($5::uuid[], $6::uuid[], $7::bytea[]) AS u(id, person_id, token_hash)
         ON CONFLICT (org_id, campaign_id, person_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at, issued_at = EXCLUDED.issued_at",
        org_id.0,
        campaign_id.0,
        now + Duration::days(LINK_DAYS),
        now,
        &fresh.ids[..],
        &fresh.persons[..],
        &fresh.hashes[..],
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "training_campaign.links_issued", "training_campaign", campaign_id, json!({"people": fresh.links.len(), "expires_in_days": LINK_DAYS})).await?;
    Ok(fresh.links)
}

/// What a personal training link points to.
#[derive(Debug, Clone)]
pub struct LinkTarget {
    pub org_id: OrgId,
    pub org_name: String,
    /// The organisation has a logo (served at `/training-link/{token}/logo`).
    pub has_logo: bool,
    pub person_id: PersonId,
    pub person_name: String,
    pub person_end_date: Option<NaiveDate>,
    pub module_id: ModuleId,
    pub campaign_id: TrainingCampaignId,
    pub campaign_started: DateTime<Utc>,
    pub due_on: Option<NaiveDate>,
    pub expires_at: DateTime<Utc>,
}

pub async fn by_token(db: impl sqlx::PgExecutor<'_>, token: &str) -> AppResult<LinkTarget> {
    if token.len() > 100 {
        return Err(AppError::NotFound);
    }
    sqlx::query_as!(
        LinkTarget,
        r#"SELECT r.org_id AS "org_id: OrgId", o.name AS org_name, EXISTS (SELECT 1 FROM org_logos l WHERE l.org_id = r.org_id) AS "has_logo!",
                  r.person_id AS "person_id: PersonId", p.name AS person_name, p.end_date AS person_end_date,
                  c.module_id AS "module_id: ModuleId", c.id AS "campaign_id: TrainingCampaignId", c.created_at AS campaign_started, c.due_on, r.expires_at
             FROM training_requests r
             JOIN organisations o ON o.id = r.org_id
             JOIN people p ON p.org_id = r.org_id AND p.id = r.person_id
             JOIN training_campaigns c ON c.org_id = r.org_id AND c.id = r.campaign_id
            WHERE r.token_hash = $1"#,
        hash_token(token),
    )
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

/// The person's last completion of the module, if any.
pub async fn last_completed(db: &PgPool, org_id: OrgId, module_id: ModuleId, person_id: PersonId) -> AppResult<Option<NaiveDate>> {
    Ok(sqlx::query_scalar!(
        "SELECT max(completed_on) FROM training_records WHERE org_id = $1 AND module_id = $2 AND person_id = $3",
        org_id.0,
        module_id.0,
        person_id.0
    )
    .fetch_one(db)
    .await?)
}

/// What a person confirms through their link.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// The day they say they completed the module.
    pub completed_on: NaiveDate,
    pub client_addr: String,
    pub user_agent: String,
}

/// The day a person may give: since the campaign started, and not in the future.
pub fn check_day(day: NaiveDate, started_on: NaiveDate, today: NaiveDate) -> Result<NaiveDate, String> {
    if day > today {
        Err("That day is in the future: give the day you completed it.".into())
    } else if day < started_on {
        Err(format!("This request went out on {started_on}: give a day from then on. If you completed it earlier, tell whoever sent you the link, so they can record it."))
    } else {
        Ok(day)
    }
}

/// Records that the person named by a link completed its module on the day
/// they give, on their own word. Returns false when that day was already recorded.
pub async fn confirm(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, target: &LinkTarget, c: &Confirmation) -> AppResult<bool> {
    let id = TrainingRecordId::new();
    let inserted = sqlx::query!(
        "INSERT INTO training_records (id, org_id, module_id, person_id, completed_on, source, recorded_at, campaign_id, client_addr, user_agent)
         VALUES ($1, $2, $3, $4, $5, 'link', $6, $7, $8, $9)
         ON CONFLICT (org_id, module_id, person_id, completed_on) DO NOTHING",
        id.0,
        target.org_id.0,
        target.module_id.0,
        target.person_id.0,
        c.completed_on,
        now,
        target.campaign_id.0,
        c.client_addr,
        c.user_agent,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    let details = json!({
        "module_id": target.module_id, "person_id": target.person_id, "completed_on": c.completed_on, "source": "link",
        "campaign_id": target.campaign_id, "client_addr": c.client_addr,
    });
    audit::record(conn, actor, now, "training.completed", "training_record", id, details).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_means_current_or_completed_since_the_start() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let start = d("2026-12-01");
        assert!(!done(None, Status::Overdue, start), "never trained");
        assert!(done(Some(d("2026-06-01")), Status::Current, start), "current before the campaign");
        assert!(!done(Some(d("2025-12-20")), Status::DueSoon, start), "due soon, not yet renewed");
        assert!(done(Some(d("2026-12-01")), Status::DueSoon, start), "completed on the first day, even where a short module is soon due again");
        assert!(!done(Some(d("2026-11-30")), Status::Overdue, start));
    }

    #[test]
    fn a_person_gives_a_day_since_the_request_and_not_ahead() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let (start, today) = (d("2026-12-01"), d("2026-12-07"));
        assert_eq!(check_day(d("2026-12-01"), start, today), Ok(d("2026-12-01")));
        assert_eq!(check_day(today, start, today), Ok(today));
        assert!(check_day(d("2026-11-30"), start, today).unwrap_err().contains("went out on 2026-12-01"));
        assert!(check_day(d("2026-12-08"), start, today).unwrap_err().contains("future"));
    }
}
