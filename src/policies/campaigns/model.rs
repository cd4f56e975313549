//! Acknowledgement campaigns: a signed version sent to its policy's
//! audience, with a due date. The personal links a campaign issues are
//! acknowledgement requests (`acks::model::issue_links`).
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use crate::ids::{CampaignId, OrgId, PolicyId, VersionId};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

#[derive(Debug, Clone)]
pub struct Campaign {
    pub id: CampaignId,
    pub policy_version_id: VersionId,
    pub policy_id: PolicyId,
    pub policy_title: String,
    pub major: i32,
    pub minor: i32,
    pub due_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub created_by_name: Option<String>,
}

impl Campaign {
    pub fn number(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

/// The campaigns of one policy (newest first), or the one campaign `only`.
async fn select(db: &PgPool, org_id: OrgId, policy: Option<PolicyId>, only: Option<CampaignId>) -> AppResult<Vec<Campaign>> {
    Ok(sqlx::query_as!(
        Campaign,
        r#"SELECT c.id AS "id: CampaignId", c.policy_version_id AS "policy_version_id: VersionId", v.policy_id AS "policy_id: PolicyId",
                p.title AS policy_title, v.major, v.minor, c.due_on, c.created_at, u.name AS "created_by_name?"
           FROM ack_campaigns c
           JOIN policy_versions v ON v.org_id = c.org_id AND v.id = c.policy_version_id
           JOIN policies p ON p.org_id = c.org_id AND p.id = v.policy_id
           LEFT JOIN users u ON u.id = c.created_by
          WHERE c.org_id = $1 AND ($2::uuid IS NULL OR v.policy_id = $2) AND ($3::uuid IS NULL OR c.id = $3)
          ORDER BY c.created_at DESC"#,
        org_id.0,
        policy.map(|p| p.0),
        only.map(|c| c.0),
    )
    .fetch_all(db)
    .await?)
}

pub async fn campaign(db: &PgPool, org_id: OrgId, id: CampaignId) -> AppResult<Campaign> {
    select(db, org_id, None, Some(id)).await?.into_iter().next().ok_or(AppError::NotFound)
}

pub async fn campaigns_of(db: &PgPool, org_id: OrgId, policy_id: PolicyId) -> AppResult<Vec<Campaign>> {
    select(db, org_id, Some(policy_id), None).await
}

pub async fn create_campaign(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, version_id: VersionId, label: &str, due_on: Option<NaiveDate>) -> AppResult<CampaignId> {
    let id = CampaignId::new();
    sqlx::query!(
        "INSERT INTO ack_campaigns (id, org_id, policy_version_id, due_on, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        id.0,
        org_id.0,
        version_id.0,
        due_on,
        actor.user_id.map(|u| u.0),
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "campaign.started", "campaign", id, json!({"version": label, "due_on": due_on})).await?;
    Ok(id)
}
