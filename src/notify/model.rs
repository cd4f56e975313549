//! Reminders and digests: each member's settings, the outbox, and the
//! planning of what goes out (each message keyed so that planning it twice,
//! in one process or two, writes it once).
use crate::audit::{self, Actor};
use crate::auth::policy::Role;
use crate::error::AppResult;
use crate::ids::{CampaignId, OrgId, TrainingCampaignId, UserId};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

crate::text_enum! {
    /// How often a member gets a digest.
    pub enum Digest {
        Daily = "daily" => "Every day",
        Weekly = "weekly" => "Every week",
        Off = "off" => "Never",
    }
}

crate::text_enum! {
    /// What a message is.
    pub enum Kind {
        Digest = "digest" => "Digest",
        Reminder = "reminder" => "Reminder",
        /// A personal link, sent for an acknowledgement or training campaign.
        Link = "link" => "Personal link",
    }
}

/// The campaign personal links were issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignRef {
    /// Acknowledging a policy version.
    Ack(CampaignId),
    /// Confirming a training module's completion.
    Training(TrainingCampaignId),
}

impl CampaignRef {
    fn ack(self) -> Option<Uuid> {
        match self {
            CampaignRef::Ack(c) => Some(c.0),
            CampaignRef::Training(_) => None,
        }
    }
    fn training(self) -> Option<Uuid> {
        match self {
            CampaignRef::Training(c) => Some(c.0),
            CampaignRef::Ack(_) => None,
        }
    }
    /// From the pair of columns that name one of them.
    fn from_columns(ack: Option<Uuid>, training: Option<Uuid>) -> Option<CampaignRef> {
        match (ack, training) {
            (Some(a), _) => Some(CampaignRef::Ack(CampaignId(a))),
            (None, Some(t)) => Some(CampaignRef::Training(TrainingCampaignId(t))),
            (None, None) => None,
        }
    }
    /// Its page.
    pub fn href(self) -> String {
        match self {
            CampaignRef::Ack(c) => format!("/campaigns/{c}"),
            CampaignRef::Training(c) => format!("/training/campaigns/{c}"),
        }
    }
    /// How the audit log names it: (entity, id).
    pub fn entity(self) -> (&'static str, Uuid) {
        match self {
            CampaignRef::Ack(c) => ("campaign", c.0),
            CampaignRef::Training(c) => ("training_campaign", c.0),
        }
    }
}

crate::text_enum! {
    /// Where a message stands.
    pub enum Status {
        Queued = "queued" => "Waiting to be sent",
        Sending = "sending" => "Being sent",
        Sent = "sent" => "Sent",
        /// No SMTP server is configured: the message is kept here instead.
        Held = "held" => "Not sent: no mail server configured",
        /// Sending was interrupted: it may have gone out, so it is not sent again.
        Uncertain = "uncertain" => "Sending was interrupted; not sent again",
        /// Refused or unreachable at every attempt: given up.
        Failed = "failed" => "Given up after repeated failures",
    }
}

/// What a member starts with: a weekly digest for executives (the verdict
/// and what only they can do), a daily one for owners and ISMS leads (new,
/// reopened and overdue findings), none for contributors; reminders for all.
pub fn default_digest(role: Role) -> Digest {
    match role {
        Role::Executive => Digest::Weekly,
        Role::Owner | Role::IsmsLead => Digest::Daily,
        Role::Contributor | Role::Auditor => Digest::Off,
    }
}

/// Days before something falls due that a reminder goes out.
pub const REMIND_DAYS: i64 = 3;

#[derive(Debug, Clone)]
pub struct Settings {
    pub digest: Digest,
    pub reminders: bool,
    pub unsubscribe_token: String,
}

/// How many times a message is tried before it is given up.
pub const MAX_ATTEMPTS: i32 = 8;

/// Creates the settings of members who have none yet (their role's
/// defaults), with an audit row. Call it inside a transaction.
pub async fn ensure_settings(conn: &mut PgConnection, org_id: OrgId, now: DateTime<Utc>) -> AppResult<()> {
    let missing = sqlx::query!(
        r#"SELECT m.user_id AS "user_id: UserId", m.role AS "role: Role" FROM memberships m
             LEFT JOIN notification_settings n ON n.org_id = m.org_id AND n.user_id = m.user_id
            WHERE m.org_id = $1 AND m.disabled_at IS NULL AND m.role <> 'auditor' AND n.user_id IS NULL"#,
        org_id.0
    )
    .fetch_all(&mut *conn)
    .await?;
    if missing.is_empty() {
        return Ok(());
    }
    let actor = Actor::system(Some(org_id), "Mandate (reminders and digests)");
    let details = json!({"members": missing.len()});
    for m in missing {
        sqlx::query!(
            "INSERT INTO notification_settings (org_id, user_id, digest, reminders, unsubscribe_token, updated_at) VALUES ($1, $2, $3, true, $4, $5)
             ON CONFLICT (org_id, user_id) DO NOTHING",
            org_id.0,
            m.user_id.0,
            default_digest(m.role).as_str(),
            crate::auth::session::random_token(),
            now,
        )
        .execute(&mut *conn)
        .await?;
    }
    audit::record(conn, &actor, now, "notify.defaults_set", "organisation", org_id, details).await?;
    Ok(())
}

/// A member's settings as saved, or their role's defaults (without a link
/// secret yet) until the planner or their own save writes them. Reads only.
pub async fn settings(db: &PgPool, org_id: OrgId, user_id: UserId, role: Role) -> AppResult<Settings> {
    let saved = sqlx::query_as!(
        Settings,
        r#"SELECT digest AS "digest: Digest", reminders, unsubscribe_token FROM notification_settings WHERE org_id = $1 AND user_id = $2"#,
        org_id.0,
        user_id.0
    )
    .fetch_optional(db)
    .await?;
    Ok(saved.unwrap_or(Settings { digest: default_digest(role), reminders: true, unsubscribe_token: String::new() }))
}

/// Saves a member's own settings, with an audit row.
pub async fn save_settings(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, user_id: UserId, digest: Digest, reminders: bool) -> AppResult<()> {
    ensure_settings(&mut *conn, org_id, now).await?;
    sqlx::query!(
        "UPDATE notification_settings SET digest = $3, reminders = $4, updated_at = $5 WHERE org_id = $1 AND user_id = $2",
        org_id.0,
        user_id.0,
        digest.as_str(),
        reminders,
        now
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "notify.settings_changed", "membership", user_id, json!({"digest": digest.as_str(), "reminders": reminders})).await?;
    Ok(())
}

/// Whose link a token is: (organisation, its name, the member's e-mail).
pub async fn by_token(db: &PgPool, token: &str) -> AppResult<Option<(OrgId, UserId, String, String)>> {
    let row = sqlx::query!(
        r#"SELECT n.org_id AS "org_id: OrgId", n.user_id AS "user_id: UserId", o.name, u.email FROM notification_settings n
             JOIN organisations o ON o.id = n.org_id JOIN users u ON u.id = n.user_id WHERE n.unsubscribe_token = $1"#,
        token
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.org_id, r.user_id, r.name, r.email)))
}

/// The one-click stop: no digest, no reminders, from this organisation.
pub async fn unsubscribe(db: &PgPool, token: &str, now: DateTime<Utc>) -> AppResult<Option<String>> {
    let Some((org_id, user_id, org_name, email)) = by_token(db, token).await? else { return Ok(None) };
    let mut tx = db.begin().await?;
    let actor = Actor { org_id: Some(org_id), user_id: Some(user_id), label: email, request_id: "unsubscribe".into() };
    save_settings(&mut tx, &actor, now, org_id, user_id, Digest::Off, false).await?;
    tx.commit().await?;
    Ok(Some(org_name))
}

// ---------- the outbox ----------

/// A message to write to the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The member it is for (none for a personal link to someone without an account).
    pub user_id: Option<UserId>,
    /// The campaign a personal link belongs to.
    pub campaign: Option<CampaignRef>,
    pub to_email: String,
    pub kind: Kind,
    pub dedupe_key: String,
    pub subject: String,
    pub body: String,
}

/// Writes messages not written before (by key), thousands in one
/// statement; returns how many were new.
pub async fn enqueue(conn: &mut PgConnection, org_id: OrgId, now: DateTime<Utc>, messages: &[NewMessage]) -> AppResult<u64> {
    if messages.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = messages.iter().map(|_| Uuid::new_v4()).collect();
    let users: Vec<Option<Uuid>> = messages.iter().map(|m| m.user_id.map(|u| u.0)).collect();
    let column = |f: fn(&NewMessage) -> String| -> Vec<String> { messages.iter().map(f).collect() };
    let acks: Vec<Option<Uuid>> = messages.iter().map(|m| m.campaign.and_then(CampaignRef::ack)).collect();
    let trainings: Vec<Option<Uuid>> = messages.iter().map(|m| m.campaign.and_then(CampaignRef::training)).collect();
    Ok(sqlx::query!(
        "INSERT INTO outbox (id, org_id, user_id, to_email, kind, dedupe_key, subject, body, status, next_attempt_at, created_at, campaign_id, training_campaign_id)
         SELECT u.id, $1, u.user_id, u.to_email, u.kind, u.dedupe_key, u.subject, u.body, 'queued', $2, $2, u.campaign_id, u.training_campaign_id
           FROM UNNEST($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::uuid[], $11::uuid[])
                AS u(id, user_id, to_email, kind, dedupe_key, subject, body, campaign_id, training_campaign_id)
         ON CONFLICT (org_id, dedupe_key) DO NOTHING",
        org_id.0,
        now,
        &ids,
        &users as &[Option<Uuid>],
        &column(|m| m.to_email.clone()),
        &column(|m| m.kind.as_str().to_string()),
        &column(|m| m.dedupe_key.clone()),
        &column(|m| m.subject.clone()),
        &column(|m| m.body.clone()),
        &acks as &[Option<Uuid>],
        &trainings as &[Option<Uuid>],
    )
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Drops a campaign's link e-mails still waiting to go to `emails`: their
/// links were just replaced, so they would arrive dead.
pub async fn drop_queued_links(conn: &mut PgConnection, org_id: OrgId, campaign: CampaignRef, emails: &[String]) -> AppResult<u64> {
    Ok(sqlx::query!(
        "DELETE FROM outbox WHERE org_id = $1 AND kind = 'link' AND status = 'queued' AND (campaign_id = $2 OR training_campaign_id = $3) AND to_email = ANY($4)",
        org_id.0,
        campaign.ack(),
        campaign.training(),
        emails,
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// One message as the outbox page shows it.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: Uuid,
    pub to_email: String,
    pub kind: Kind,
    pub subject: String,
    pub body: String,
    pub status: Status,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl Message {
    /// The body with the recipient's own links left out (they are theirs alone).
    pub fn body_for_others(&self) -> String {
        self.body
            .lines()
            .map(|l| {
                if l.contains("/unsubscribe/") {
                    "[the recipient's own link to stop these e-mails]"
                } else if l.contains("/ack/") || l.contains("/training-link/") {
                    "[the recipient's personal link]"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The organisation's latest messages, newest first.
pub async fn latest(db: &PgPool, org_id: OrgId, limit: i64) -> AppResult<Vec<Message>> {
    Ok(sqlx::query_as!(
        Message,
        r#"SELECT id, to_email, kind AS "kind: Kind", subject, body, status AS "status: Status", attempts, last_error, created_at, sent_at
             FROM outbox WHERE org_id = $1 ORDER BY created_at DESC, id LIMIT $2"#,
        org_id.0,
        limit
    )
    .fetch_all(db)
    .await?)
}

/// A claimed message, ready to go out.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub org_id: OrgId,
    pub to_email: String,
    pub subject: String,
    pub body: String,
    pub unsubscribe_token: Option<String>,
}

/// Claims up to `limit` due messages for sending (`mail`: SMTP is set up)
/// or, without SMTP, holds them for owners to read. A claim is committed
/// before anything is sent, so two processes never send one message; send
/// what you claim at once (a claim older than ten minutes counts as an
/// interrupted send).
pub async fn claim(db: &PgPool, now: DateTime<Utc>, mail: bool, limit: i64) -> AppResult<Vec<Claimed>> {
    let mut tx = db.begin().await?;
    // Sending that never finished (the process died): it may have gone out.
    sqlx::query!("UPDATE outbox SET status = 'uncertain' WHERE status = 'sending' AND claimed_at < $1", now - Duration::minutes(10)).execute(&mut *tx).await?;
    let status = if mail { "sending" } else { "held" };
    let rows = sqlx::query_as!(
        Claimed,
        r#"WITH due AS (SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
           UPDATE outbox o SET status = $3, claimed_at = $1 FROM due WHERE o.id = due.id
           RETURNING o.id, o.org_id AS "org_id: OrgId", o.to_email, o.subject, o.body,
                     (SELECT n.unsubscribe_token FROM notification_settings n WHERE n.org_id = o.org_id AND n.user_id = o.user_id) AS unsubscribe_token"#,
        now,
        limit,
        status,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(if mail { rows } else { Vec::new() })
}

/// After a send: sent, or back in the queue after a pause that doubles with
/// each failure (a minute, two, four... at most six hours).
pub async fn finish(db: &PgPool, id: Uuid, now: DateTime<Utc>, error: Option<String>) -> AppResult<()> {
    match error {
        None => {
            sqlx::query!("UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1 AND status = 'sending'", id, now)
                .execute(db)
                .await?;
        }
        Some(e) => {
            sqlx::query!(
                "UPDATE outbox SET status = CASE WHEN attempts + 1 >= $4 THEN 'failed' ELSE 'queued' END, attempts = attempts + 1, last_error = $3,
                        next_attempt_at = $2::timestamptz + LEAST(interval '6 hours', interval '1 minute' * power(2, attempts)) WHERE id = $1 AND status = 'sending'",
                id,
                now,
                e,
                MAX_ATTEMPTS,
            )
            .execute(db)
            .await?;
        }
    }
    Ok(())
}

/// How a campaign's e-mails stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailProgress {
    pub waiting: i64,
    pub sent: i64,
    /// Held (no mail server) or interrupted: not sent.
    pub not_sent: i64,
}

impl MailProgress {
    pub fn total(&self) -> i64 {
        self.waiting + self.sent + self.not_sent
    }
    pub fn percent(&self) -> i64 {
        (self.sent * 100).checked_div(self.total()).unwrap_or(0)
    }
}

/// The e-mails of one campaign, counted by where they stand.
pub async fn campaign_mail(db: &PgPool, org_id: OrgId, campaign: CampaignRef) -> AppResult<MailProgress> {
    let r = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE status IN ('queued', 'sending')) AS "waiting!", count(*) FILTER (WHERE status = 'sent') AS "sent!",
                  count(*) FILTER (WHERE status IN ('held', 'uncertain')) AS "not_sent!"
             FROM outbox WHERE org_id = $1 AND (campaign_id = $2 OR training_campaign_id = $3)"#,
        org_id.0,
        campaign.ack(),
        campaign.training(),
    )
    .fetch_one(db)
    .await?;
    Ok(MailProgress { waiting: r.waiting, sent: r.sent, not_sent: r.not_sent })
}

// ---------- personal links kept for one download ----------

/// How long issued links wait for their one download.
pub const EXPORT_MINUTES: i64 = 60;

/// Keeps issued links as a CSV for their issuer to download once.
pub async fn save_export(conn: &mut PgConnection, org_id: OrgId, by: UserId, campaign: CampaignRef, filename: &str, body: &str, now: DateTime<Utc>) -> AppResult<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO link_exports (id, org_id, created_by, campaign_id, training_campaign_id, filename, body, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        id,
        org_id.0,
        by.0,
        campaign.ack(),
        campaign.training(),
        filename,
        body,
        now,
        now + Duration::minutes(EXPORT_MINUTES),
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Takes the export for download: only its issuer, once, within the hour.
pub async fn take_export(conn: &mut PgConnection, org_id: OrgId, by: UserId, id: Uuid, now: DateTime<Utc>) -> AppResult<Option<(String, String, CampaignRef)>> {
    let row = sqlx::query!(
        r#"DELETE FROM link_exports WHERE org_id = $1 AND id = $2 AND created_by = $3 AND expires_at > $4
           RETURNING filename, body, campaign_id, training_campaign_id"#,
        org_id.0,
        id,
        by.0,
        now
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|r| Some((r.filename, r.body, CampaignRef::from_columns(r.campaign_id, r.training_campaign_id)?))))
}

/// Drops exports nobody downloaded in time.
pub async fn sweep_exports(db: &PgPool, now: DateTime<Utc>) -> AppResult<u64> {
    Ok(sqlx::query!("DELETE FROM link_exports WHERE expires_at <= $1", now).execute(db).await?.rows_affected())
}

// ---------- what to send ----------

/// A member who may hear from Mandate, with their settings.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub digest: Digest,
    pub reminders: bool,
    pub unsubscribe_token: String,
}

pub async fn recipients(conn: &mut PgConnection, org_id: OrgId) -> AppResult<Vec<Recipient>> {
    Ok(sqlx::query_as!(
        Recipient,
        r#"SELECT n.user_id AS "user_id: UserId", u.email, u.name, m.role AS "role: Role", n.digest AS "digest: Digest", n.reminders, n.unsubscribe_token
             FROM notification_settings n JOIN memberships m ON m.org_id = n.org_id AND m.user_id = n.user_id AND m.disabled_at IS NULL AND m.role <> 'auditor'
             JOIN users u ON u.id = n.user_id
            WHERE n.org_id = $1 ORDER BY u.email"#,
        org_id.0
    )
    .fetch_all(conn)
    .await?)
}

/// Something a member must do by a day.
#[derive(Debug, Clone)]
pub struct Due {
    pub user_id: UserId,
    pub kind: String,
    pub id: String,
    pub title: String,
    pub href: String,
    pub due_on: NaiveDate,
}

/// What falls due between `from` and `until` (both included), for the
/// account that must do it: corrective actions their owners hold, review
/// action items of the people owners and ISMS leads act for (only they
/// update action items), asks of the people accounts act for, policies
/// still in force they have not acknowledged in a campaign with a due
/// date, training that expires, and training a campaign with a due date
/// asked of them that they have not completed since it started. Leavers
/// and disabled accounts get none.
pub async fn due_between(conn: &mut PgConnection, org_id: OrgId, from: NaiveDate, until: NaiveDate) -> AppResult<Vec<Due>> {
    Ok(sqlx::query_as!(
        Due,
        r#"SELECT user_id AS "user_id!: UserId", kind AS "kind!", id AS "id!", title AS "title!", href AS "href!", due_on AS "due_on!" FROM (
             SELECT f.owner_id AS user_id, 'corrective action' AS kind, f.id::text AS id, f.title, '/findings/' || f.id AS href, f.due_on
               FROM findings f WHERE f.org_id = $1 AND f.status = 'open' AND f.owner_id IS NOT NULL AND f.due_on BETWEEN $2 AND $3
             UNION ALL
             SELECT p.acting_user_id, 'action item', a.id::text, a.title, '/actions/' || a.id, a.due_on
               FROM action_items a JOIN people p ON p.org_id = a.org_id AND p.id = a.owner_id AND p.acting_user_id IS NOT NULL
               JOIN memberships m ON m.org_id = a.org_id AND m.user_id = p.acting_user_id AND m.role IN ('owner', 'isms_lead')
              WHERE a.org_id = $1 AND a.status = 'open' AND a.due_on BETWEEN $2 AND $3
             UNION ALL
             SELECT p.acting_user_id, 'ask', k.id::text, k.what, '/asks/' || k.id, k.due_on
               FROM leadership_asks k JOIN people p ON p.org_id = k.org_id AND p.id = k.asked_of AND p.acting_user_id IS NOT NULL
              WHERE k.org_id = $1 AND k.responded_on IS NULL AND k.due_on BETWEEN $2 AND $3
             UNION ALL
             SELECT p.acting_user_id, 'acknowledgement', c.id::text || ':' || p.id::text, pol.title || ' v' || v.major || '.' || v.minor, '/policies/versions/' || v.id, c.due_on
               FROM ack_campaigns c JOIN ack_requests r ON r.org_id = c.org_id AND r.campaign_id = c.id
               JOIN people p ON p.org_id = r.org_id AND p.id = r.person_id AND p.acting_user_id IS NOT NULL
               JOIN policy_versions v ON v.org_id = c.org_id AND v.id = c.policy_version_id
               JOIN policies pol ON pol.org_id = v.org_id AND pol.id = v.policy_id AND pol.withdrawn_at IS NULL
              WHERE c.org_id = $1 AND c.due_on BETWEEN $2 AND $3 AND (p.end_date IS NULL OR p.end_date > $2)
                AND NOT EXISTS (SELECT 1 FROM acknowledgements x JOIN policy_versions xv ON xv.org_id = x.org_id AND xv.id = x.policy_version_id
                                 WHERE x.org_id = c.org_id AND x.person_id = p.id AND xv.policy_id = v.policy_id AND xv.major = v.major)
             UNION ALL
             SELECT p.acting_user_id, 'training', t.id::text || ':' || p.id::text, t.title, '/training/modules/' || t.id,
                    (last.done + make_interval(months => t.validity_months))::date
               FROM training_modules t JOIN people p ON p.org_id = t.org_id AND p.acting_user_id IS NOT NULL AND p.end_date IS NULL
                    AND in_audience(t.audience, t.audience_departments, p.kind, p.line_manager, p.department)
               JOIN LATERAL (SELECT max(r.completed_on) AS done FROM training_records r WHERE r.org_id = t.org_id AND r.module_id = t.id AND r.person_id = p.id) last ON last.done IS NOT NULL
              WHERE t.org_id = $1 AND t.retired_at IS NULL
                AND (last.done + make_interval(months => t.validity_months))::date BETWEEN $2 AND $3
             UNION ALL
             SELECT p.acting_user_id, 'training', c.id::text || ':' || p.id::text, t.title, '/training/modules/' || t.id, c.due_on
               FROM training_campaigns c JOIN training_requests r ON r.org_id = c.org_id AND r.campaign_id = c.id
               JOIN people p ON p.org_id = r.org_id AND p.id = r.person_id AND p.acting_user_id IS NOT NULL
               JOIN training_modules t ON t.org_id = c.org_id AND t.id = c.module_id AND t.retired_at IS NULL
              WHERE c.org_id = $1 AND c.due_on BETWEEN $2 AND $3 AND (p.end_date IS NULL OR p.end_date > $2)
                AND NOT EXISTS (SELECT 1 FROM training_records x WHERE x.org_id = c.org_id AND x.module_id = t.id AND x.person_id = p.id
                                   AND x.completed_on >= c.created_at::date)
           ) due ORDER BY due_on, kind, title"#,
        org_id.0,
        from,
        until,
    )
    .fetch_all(conn)
    .await?)
}

/// A finding that changed for the daily digest: new, reopened or overdue.
#[derive(Debug, Clone)]
pub struct FindingNews {
    pub what: String,
    pub title: String,
    pub href: String,
}

/// Findings opened or reopened since `since`, and those overdue today.
pub async fn finding_news(conn: &mut PgConnection, org_id: OrgId, since: DateTime<Utc>, today: NaiveDate) -> AppResult<Vec<FindingNews>> {
    Ok(sqlx::query_as!(
        FindingNews,
        r#"SELECT CASE WHEN f.opened_at >= $2 AND f.reopened_count > 0 THEN 'Reopened' WHEN f.opened_at >= $2 THEN 'New' ELSE 'Overdue' END AS "what!",
                  f.title, '/findings/' || f.id AS "href!"
             FROM findings f
            WHERE f.org_id = $1 AND f.status = 'open' AND (f.opened_at >= $2 OR f.due_on < $3)
            ORDER BY 1 DESC, f.title"#,
        org_id.0,
        since,
        today,
    )
    .fetch_all(conn)
    .await?)
}

/// The key of a digest: one per member and day, or per member and ISO week.
pub fn digest_key(user: UserId, digest: Digest, today: NaiveDate) -> Option<String> {
    match digest {
        Digest::Daily => Some(format!("digest:{user}:{today}")),
        Digest::Weekly => {
            let w = today.iso_week();
            Some(format!("digest:{user}:{}-W{:02}", w.year(), w.week()))
        }
        Digest::Off => None,
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_starts_with_its_digest() {
        assert_eq!(default_digest(Role::Executive), Digest::Weekly);
        assert_eq!(default_digest(Role::IsmsLead), Digest::Daily);
        assert_eq!(default_digest(Role::Contributor), Digest::Off);
    }

    #[test]
    fn digest_keys_are_one_per_day_or_week() {
        let u = UserId::nil();
        let mon: NaiveDate = "2026-12-07".parse().unwrap();
        let sun: NaiveDate = "2026-12-13".parse().unwrap();
        assert_eq!(digest_key(u, Digest::Weekly, mon), digest_key(u, Digest::Weekly, sun));
        assert_ne!(digest_key(u, Digest::Daily, mon), digest_key(u, Digest::Daily, sun));
        assert_eq!(digest_key(u, Digest::Off, mon), None);
    }

    #[test]
    fn others_never_read_a_members_unsubscribe_link_or_anyones_personal_link() {
        let m = Message {
            id: Uuid::nil(),
            to_email: "a@b".into(),
            kind: Kind::Digest,
            subject: "s".into(),
            body: "Hello\nStop: http://x/unsubscribe/secret\nRead: http://x/ack/secret2\nConfirm: http://x/training-link/secret3\nBye".into(),
            status: Status::Held,
            attempts: 0,
            last_error: None,
            created_at: Utc::now(),
            sent_at: None,
        };
        assert!(!m.body_for_others().contains("secret"));
        assert!(m.body_for_others().contains("Bye"));
    }
}
