//! Leadership communications: the queries and the types.
use super::super::check_people;
use crate::audit::{self, Actor, Changes};
use crate::error::{AppError, AppResult};
use crate::ids::{CommunicationId, OrgId, PersonId, VersionId};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

crate::text_enum! {
    /// How it reached people.
    #[derive(Default)]
    pub enum Channel {
        AllHands = "all_hands" => "All-hands meeting",
        #[default]
        Email = "email" => "E-mail",
        Intranet = "intranet" => "Intranet",
        Video = "video" => "Video",
        Handbook = "handbook" => "Handbook",
        OnboardingPack = "onboarding_pack" => "Onboarding pack",
    }
}

#[derive(Debug, Clone)]
pub struct Communication {
    pub id: CommunicationId,
    pub sent_on: NaiveDate,
    pub from_id: Option<PersonId>,
    pub from_name: Option<String>,
    pub from_top_management: Option<bool>,
    pub channel: Channel,
    pub audience: String,
    pub reach: Option<i32>,
    pub subject: String,
    pub summary: String,
    pub policy_version_id: Option<VersionId>,
    pub statement: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Communication {
    pub fn channel_label(&self) -> &'static str {
        self.channel.label()
    }
}

/// The organisation's communications, latest first; or one (`id`).
fn select(
    org_id: OrgId,
    id: Option<CommunicationId>,
) -> sqlx::query::Map<'static, sqlx::Postgres, impl FnMut(sqlx::postgres::PgRow) -> Result<Communication, sqlx::Error> + Send, sqlx::postgres::PgArguments> {
    sqlx::query_as!(
        Communication,
        r#"SELECT c.id AS "id: CommunicationId", c.sent_on, c.from_id AS "from_id: PersonId", p.name AS "from_name?", p.top_management AS "from_top_management?",
        c.channel AS "channel: Channel", c.audience, c.reach, c.subject, c.summary, c.policy_version_id AS "policy_version_id: VersionId",
        pol.title || ' v' || v.major || '.' || v.minor AS statement, c.created_at
   FROM communications c
   LEFT JOIN people p ON p.org_id = c.org_id AND p.id = c.from_id
   LEFT JOIN policy_versions v ON v.org_id = c.org_id AND v.id = c.policy_version_id
   LEFT JOIN policies pol ON pol.org_id = v.org_id AND pol.id = v.policy_id
  WHERE c.org_id = $1 AND ($2::uuid IS NULL OR c.id = $2)
  ORDER BY c.sent_on DESC, c.created_at DESC"#,
        org_id.0,
        id.map(|i| i.0),
    )
}

reads!(Communication, CommunicationId, |org, id| select(org, id));

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields {
    pub sent_on: Option<NaiveDate>,
    pub from_id: Option<PersonId>,
    pub channel: Channel,
    pub audience: String,
    pub reach: Option<i32>,
    pub subject: String,
    pub summary: String,
    pub policy_version_id: Option<VersionId>,
}

async fn check_links(conn: &mut PgConnection, org_id: OrgId, f: &Fields) -> AppResult<()> {
    check_people(conn, org_id, &f.from_id.into_iter().collect::<Vec<_>>()).await?;
    if let Some(v) = f.policy_version_id {
        let ok = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM policy_versions WHERE org_id = $1 AND id = $2 AND approved_at IS NOT NULL) AS "ok!""#,
            org_id.0,
            v.0
        )
        .fetch_one(&mut *conn)
        .await?;
        if !ok {
            return Err(AppError::BadRequest("The statement chosen is not a signed policy version of this organisation.".into()));
        }
    }
    Ok(())
}

/// Writes the fields of a new record (`insert`) or of a changed one (`save`):
/// one statement for both, so the two can never store different columns.
async fn write(conn: &mut PgConnection, org_id: OrgId, id: CommunicationId, f: &Fields, now: DateTime<Utc>) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO communications (id, org_id, sent_on, from_id, channel, audience, reach, subject, summary, policy_version_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
         ON CONFLICT (id) DO UPDATE SET sent_on = EXCLUDED.sent_on, from_id = EXCLUDED.from_id, channel = EXCLUDED.channel, audience = EXCLUDED.audience, reach = EXCLUDED.reach, subject = EXCLUDED.subject, summary = EXCLUDED.summary, policy_version_id = EXCLUDED.policy_version_id, updated_at = EXCLUDED.updated_at
          WHERE communications.org_id = EXCLUDED.org_id",
        id.0,
        org_id.0,
        f.sent_on,
        f.from_id.map(|i| i.0),
        f.channel.as_str(),
        f.audience,
        f.reach,
        f.subject,
        f.summary,
        f.policy_version_id.map(|i| i.0),
        now,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Fields) -> AppResult<CommunicationId> {
    check_links(conn, org_id, f).await?;
    let id = CommunicationId::new();
    write(conn, org_id, id, f, now).await?;
    audit::record(
        conn,
        actor,
        now,
        "communication.created",
        "communication",
        id,
        json!({"subject": f.subject, "sent_on": f.sent_on, "from_id": f.from_id, "channel": f.channel, "reach": f.reach}),
    )
    .await?;
    Ok(id)
}

pub async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Communication, f: &Fields) -> AppResult<bool> {
    let mut c = Changes::new();
    c.field("sent_on", Some(before.sent_on), f.sent_on)
        .field("from_id", before.from_id, f.from_id)
        .field("channel", before.channel, f.channel)
        .field("audience", &before.audience, &f.audience)
        .field("reach", before.reach, f.reach)
        .field("subject", &before.subject, &f.subject)
        .field("summary", &before.summary, &f.summary)
        .field("policy_version_id", before.policy_version_id, f.policy_version_id);
    if c.is_empty() {
        return Ok(false);
    }
    check_links(conn, org_id, f).await?;
    write(conn, org_id, before.id, f, now).await?;
    audit::record(conn, actor, now, "communication.updated", "communication", before.id, c.into_value()).await?;
    Ok(true)
}


/// The signed management statements a communication may carry.
pub async fn statements(db: &PgPool, org_id: OrgId) -> AppResult<Vec<super::super::Opt<VersionId>>> {
    Ok(sqlx::query_as!(
        super::super::Opt::<VersionId>,
        r#"SELECT v.id AS "id: VersionId", p.title || ' v' || v.major || '.' || v.minor AS "label!" FROM policy_versions v
           JOIN policies p ON p.org_id = v.org_id AND p.id = v.policy_id
          WHERE v.org_id = $1 AND v.approved_at IS NOT NULL AND p.kind = 'management_statement'
          ORDER BY v.approved_at DESC"#,
        org_id.0
    )
    .fetch_all(db)
    .await?)
}
