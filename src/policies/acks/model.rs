//! Acknowledgements: campaigns that ask a policy's audience to confirm they
//! have read a signed version, personal links that work without an account,
//! and progress by department and manager. An acknowledgement of any
//! version with the same major number counts (a minor change keeps it).
use crate::ids::{AckId, CampaignId, OrgId, PersonId, PolicyId, VersionId};
use crate::audit::{self, Actor};
use crate::auth::session::hash_token;
pub use crate::notify::links::IssuedLink;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeMap;

/// How long a personal acknowledgement link works.
pub const LINK_DAYS: i64 = 30;

crate::text_enum! {
    /// How an acknowledgement was given.
    pub enum Method {
        Link = "link" => "personal link",
        SignedIn = "signed_in" => "signed in",
        Imported = "imported" => "imported",
        /// They signed the version: whoever signs it has read it.
        Signed = "signed" => "signed it",
    }
}

/// One person of a policy's audience and where they stand.
#[derive(Debug, Clone)]
pub struct Standing {
    pub person_id: PersonId,
    pub name: String,
    pub email: String,
    pub department: String,
    pub manager_name: Option<String>,
    pub top_management: bool,
    pub line_manager: bool,
    pub start_date: Option<NaiveDate>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub method: Option<Method>,
    pub link_issued_at: Option<DateTime<Utc>>,
    pub link_expires_at: Option<DateTime<Utc>>,
    /// An acknowledgement given outside Mandate: how, and the account that entered it when.
    pub how: Option<crate::imports::How>,
    pub recorded_account: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
}

impl Standing {
    /// How the acknowledgement was given, in words: "personal link", or
    /// "on paper, recorded in Mandate by … on …" for one entered later.
    pub fn how_words(&self) -> String {
        how_words(self.method, self.how, self.recorded_account.as_deref(), self.recorded_at)
    }
    pub fn done(&self) -> bool {
        self.acknowledged_at.is_some()
    }
}

/// The current members of a policy's audience with their acknowledgement of
/// major version `major`, and their link in `campaign` if given: one query
/// for any number of people.
pub async fn standings(db: &PgPool, org_id: OrgId, policy_id: PolicyId, major: i32, campaign: Option<CampaignId>, today: NaiveDate) -> AppResult<Vec<Standing>> {
    // The audience condition is `people::audience::sql_match("pol", "p")`.
    Ok(sqlx::query_as!(
        Standing,
        r#"SELECT p.id AS "person_id: PersonId", p.name, p.email, p.department, m.name AS "manager_name?", p.top_management, p.line_manager,
                p.start_date, ack.acknowledged_at AS "acknowledged_at?", ack.method AS "method?: Method",
                r.issued_at AS "link_issued_at?", r.expires_at AS "link_expires_at?",
                ack.recorded_how AS "how?: crate::imports::How", ack.email AS "recorded_account?", ack.recorded_at AS "recorded_at?"
           FROM people p
           JOIN policies pol ON pol.org_id = p.org_id AND pol.id = $2
           LEFT JOIN people m ON m.org_id = p.org_id AND m.id = p.manager_id
           LEFT JOIN LATERAL (
                SELECT a.acknowledged_at, a.method, a.recorded_how, u.email, a.recorded_at FROM acknowledgements a
                  JOIN policy_versions av ON av.org_id = a.org_id AND av.id = a.policy_version_id
                  LEFT JOIN users u ON u.id = a.recorded_by
                 WHERE a.org_id = p.org_id AND a.person_id = p.id AND av.policy_id = pol.id AND av.major = $3
                 ORDER BY a.acknowledged_at LIMIT 1) ack ON true
           LEFT JOIN ack_requests r ON r.org_id = p.org_id AND r.campaign_id = $4 AND r.person_id = p.id
          WHERE p.org_id = $1
            AND is_current_on(p.start_date, p.end_date, $5)
            AND in_audience(policy_audience(pol.kind, pol.audience, pol.audience_reason), pol.audience_departments, p.kind, p.line_manager, p.department)
          ORDER BY p.name, p.email"#,
        org_id.0,
        policy_id.0,
        major,
        campaign.map(|c| c.0),
        today,
    )
    .fetch_all(db)
    .await?)
}

/// Counts for one group of people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub label: String,
    pub total: usize,
    pub done: usize,
}

impl Tally {
    pub fn percent(&self) -> u32 {
        percent(self.done, self.total)
    }
    pub fn missing(&self) -> usize {
        self.total - self.done
    }
}

pub fn percent(done: usize, total: usize) -> u32 {
    // Nobody to ask counts as complete.
    (done * 100).checked_div(total).map_or(100, |p| p as u32)
}

/// Progress overall, by department and by manager (sorted by the most missing).
pub struct Progress {
    pub overall: Tally,
    pub by_department: Vec<Tally>,
    pub by_manager: Vec<Tally>,
    /// Top management and line managers, who are most often forgotten.
    pub leaders: Tally,
}

/// One person as progress counts them (an acknowledgement or a training campaign).
pub trait Counted {
    fn done(&self) -> bool;
    fn department(&self) -> &str;
    fn manager(&self) -> Option<&str>;
    /// Top management or a line manager.
    fn leader(&self) -> bool;
}

impl Counted for Standing {
    fn done(&self) -> bool {
        Standing::done(self)
    }
    fn department(&self) -> &str {
        &self.department
    }
    fn manager(&self) -> Option<&str> {
        self.manager_name.as_deref()
    }
    fn leader(&self) -> bool {
        self.top_management || self.line_manager
    }
}

pub fn progress<T: Counted>(rows: &[T]) -> Progress {
    let tally = |key: &dyn Fn(&T) -> String| {
        let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
        for r in rows {
            let k = key(r);
            let t = groups.entry(k.clone()).or_insert_with(|| Tally { label: k, ..Default::default() });
            t.total += 1;
            t.done += usize::from(r.done());
        }
        let mut v: Vec<Tally> = groups.into_values().collect();
        v.sort_by(|a, b| b.missing().cmp(&a.missing()).then(a.label.cmp(&b.label)));
        v
    };
    let leaders: Vec<&T> = rows.iter().filter(|r| r.leader()).collect();
    Progress {
        overall: Tally { label: "Everyone".into(), total: rows.len(), done: rows.iter().filter(|r| r.done()).count() },
        by_department: tally(&|r| if r.department().is_empty() { "(no department)".into() } else { r.department().to_string() }),
        by_manager: tally(&|r| r.manager().unwrap_or("(no manager)").to_string()),
        leaders: Tally { label: "Top management and line managers".into(), total: leaders.len(), done: leaders.iter().filter(|r| r.done()).count() },
    }
}

/// Acknowledgement figures for every policy's newest signed version at once.
#[derive(Debug, Clone)]
pub struct PolicyFigures {
    pub policy_id: PolicyId,
    pub audience: i64,
    pub acknowledged: i64,
}

pub async fn figures(db: &PgPool, org_id: OrgId, today: NaiveDate) -> AppResult<Vec<PolicyFigures>> {
    // The audience and the acknowledgements of each policy's current major
    // version are counted apart and put side by side: a check per policy and
    // person took 1.9 s for 50 policies and 5,000 people. The audience is
    // counted over groups of staff alike in what the rule reads, not person
    // by person. People count while current on `$2`
    // and in the policy's audience (`people::audience::sql_match("pol", "p")`).
    Ok(sqlx::query_as!(
        PolicyFigures,
        r#"WITH cur AS (
            SELECT DISTINCT ON (v.policy_id) v.policy_id, v.major,
                   count(*) OVER (PARTITION BY v.policy_id, v.major) = 1 AS one_version FROM policy_versions v
             WHERE v.org_id = $1 AND v.approved_at IS NOT NULL
             ORDER BY v.policy_id, v.major DESC, v.minor DESC),
         -- Current staff in groups alike in what the audience rule reads.
         staff AS (
            SELECT p.kind, p.line_manager, p.department, count(*) AS n FROM people p
             WHERE p.org_id = $1 AND is_current_on(p.start_date, p.end_date, $2) GROUP BY 1, 2, 3),
         aud AS (
            SELECT pol.id AS policy_id, sum(p.n)::bigint AS audience FROM policies pol
              JOIN cur ON cur.policy_id = pol.id
              JOIN staff p ON in_audience(policy_audience(pol.kind, pol.audience, pol.audience_reason), pol.audience_departments, p.kind, p.line_manager, p.department)
             WHERE pol.org_id = $1 GROUP BY pol.id),
         acks AS NOT MATERIALIZED (
            SELECT pol.id AS policy_id, cur.one_version, a.person_id FROM acknowledgements a
              JOIN policy_versions av ON av.org_id = a.org_id AND av.id = a.policy_version_id
              JOIN cur ON cur.policy_id = av.policy_id AND cur.major = av.major
              JOIN policies pol ON pol.org_id = a.org_id AND pol.id = av.policy_id
              JOIN people p ON p.org_id = a.org_id AND p.id = a.person_id
                   AND is_current_on(p.start_date, p.end_date, $2)
                   AND in_audience(policy_audience(pol.kind, pol.audience, pol.audience_reason), pol.audience_departments, p.kind, p.line_manager, p.department)
             WHERE a.org_id = $1),
         -- A person acknowledges a version once: where the major version has
         -- one version, rows are people and are counted as they come (in a
         -- hash); only several minor versions need people told apart (a sort).
         ack AS (
            SELECT policy_id, sum(n)::bigint AS acknowledged FROM (
                SELECT policy_id, count(*) AS n FROM acks WHERE one_version GROUP BY policy_id
                UNION ALL
                SELECT policy_id, count(DISTINCT person_id) FROM acks WHERE NOT one_version GROUP BY policy_id) x
             GROUP BY policy_id)
         SELECT aud.policy_id AS "policy_id!: PolicyId", aud.audience AS "audience!", COALESCE(ack.acknowledged, 0) AS "acknowledged!"
           FROM aud LEFT JOIN ack USING (policy_id)"#,
        org_id.0,
        today,
    )
    .fetch_all(db)
    .await?)
}

// ---------- personal links ----------

/// Gives each person a fresh personal link for the campaign (replacing any
/// earlier one). Only the SHA-256 of each secret is stored.
pub async fn issue_links(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, campaign_id: CampaignId, people: &[&Standing]) -> AppResult<Vec<IssuedLink>> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let fresh = crate::notify::links::fresh(people.iter().map(|p| (p.person_id, p.name.as_str(), p.email.as_str())));
    sqlx::query!(
        "INSERT INTO ack_requests (id, org_id, campaign_id, person_id, token_hash, expires_at, issued_at)
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
    audit::record(conn, actor, now, "campaign.links_issued", "campaign", campaign_id, json!({"people": fresh.links.len(), "expires_in_days": LINK_DAYS})).await?;
    Ok(fresh.links)
}

/// What a personal link points to.
#[derive(Debug, Clone)]
pub struct LinkTarget {
    pub org_id: OrgId,
    pub org_name: String,
    pub person_id: PersonId,
    pub person_name: String,
    pub person_end_date: Option<NaiveDate>,
    pub policy_version_id: VersionId,
    pub expires_at: DateTime<Utc>,
    /// The organisation has a logo (served at `/ack/{token}/logo`).
    pub has_logo: bool,
}

pub async fn by_token(db: &PgPool, token: &str) -> AppResult<LinkTarget> {
    if token.len() > 100 {
        return Err(AppError::NotFound);
    }
    sqlx::query_as!(
        LinkTarget,
        r#"SELECT r.org_id AS "org_id: OrgId", o.name AS org_name, r.person_id AS "person_id: PersonId", p.name AS person_name, p.end_date AS person_end_date,
                c.policy_version_id AS "policy_version_id: VersionId", r.expires_at,
                EXISTS (SELECT 1 FROM org_logos l WHERE l.org_id = r.org_id) AS "has_logo!"
           FROM ack_requests r
           JOIN organisations o ON o.id = r.org_id
           JOIN people p ON p.org_id = r.org_id AND p.id = r.person_id
           JOIN ack_campaigns c ON c.org_id = r.org_id AND c.id = r.campaign_id
          WHERE r.token_hash = $1"#,
        hash_token(token),
    )
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)
}

/// How an acknowledgement was given, in words: "personal link", "signed in",
/// or, for one entered later, "on paper, recorded in Mandate by … on …".
fn how_words(method: Option<Method>, how: Option<crate::imports::How>, account: Option<&str>, at: Option<DateTime<Utc>>) -> String {
    match crate::imports::recorded_words(how, account, at) {
        words if words.is_empty() => method.map(|m| m.label().to_string()).unwrap_or_default(),
        words => words,
    }
}

/// One of a person's acknowledgements, for their page.
#[derive(Debug, Clone)]
pub struct OfPerson {
    pub version_id: VersionId,
    pub policy_title: String,
    pub major: i32,
    pub minor: i32,
    pub acknowledged_at: DateTime<Utc>,
    pub method: Method,
    pub how: Option<crate::imports::How>,
    pub recorded_account: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
}

impl OfPerson {
    /// "personal link", "signed in", or "on paper, recorded in Mandate by … on …".
    pub fn how_words(&self) -> String {
        how_words(Some(self.method), self.how, self.recorded_account.as_deref(), self.recorded_at)
    }
}

/// Every acknowledgement `person` gave, newest first (one query).
pub async fn of_person(db: &PgPool, org_id: OrgId, person_id: PersonId) -> AppResult<Vec<OfPerson>> {
    Ok(sqlx::query_as!(
        OfPerson,
        r#"SELECT v.id AS "version_id: VersionId", p.title AS policy_title, v.major, v.minor, a.acknowledged_at, a.method AS "method: Method",
                  a.recorded_how AS "how?: crate::imports::How", u.email AS "recorded_account?", a.recorded_at
             FROM acknowledgements a
             JOIN policy_versions v ON v.org_id = a.org_id AND v.id = a.policy_version_id
             JOIN policies p ON p.org_id = v.org_id AND p.id = v.policy_id
             LEFT JOIN users u ON u.id = a.recorded_by
            WHERE a.org_id = $1 AND a.person_id = $2
            ORDER BY a.acknowledged_at DESC, p.title"#,
        org_id.0,
        person_id.0,
    )
    .fetch_all(db)
    .await?)
}

/// When (and how) `person` acknowledged any version of the policy with the same major number.
pub async fn acknowledged(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, person_id: PersonId, version_id: VersionId) -> AppResult<Option<(DateTime<Utc>, Method)>> {
    let found = sqlx::query!(
        r#"SELECT a.acknowledged_at, a.method AS "method: Method" FROM acknowledgements a
           JOIN policy_versions av ON av.org_id = a.org_id AND av.id = a.policy_version_id
           JOIN policy_versions v ON v.org_id = av.org_id AND v.policy_id = av.policy_id AND v.major = av.major
          WHERE a.org_id = $1 AND a.person_id = $2 AND v.id = $3
          ORDER BY a.acknowledged_at LIMIT 1"#,
        org_id.0,
        person_id.0,
        version_id.0,
    )
    .fetch_optional(db)
    .await?;
    Ok(found.map(|a| (a.acknowledged_at, a.method)))
}

/// Records that a person read and will follow a signed version. Returns
/// false when they had already acknowledged it.
#[allow(clippy::too_many_arguments)]
pub async fn acknowledge(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    person_id: PersonId,
    version_id: VersionId,
    method: Method,
    client_addr: &str,
    user_agent: &str,
) -> AppResult<bool> {
    let signed = sqlx::query_scalar!(r#"SELECT approved_at IS NOT NULL AS "signed!" FROM policy_versions WHERE org_id = $1 AND id = $2"#, org_id.0, version_id.0)
        .fetch_optional(&mut *conn)
        .await?;
    match signed {
        None => return Err(AppError::NotFound),
        Some(false) => return Err(AppError::Conflict("This version is not signed yet, so it cannot be acknowledged.".into())),
        Some(true) => {}
    }
    let agent: String = user_agent.chars().take(500).collect();
    let id = AckId::new();
    let inserted = sqlx::query!(
        // One entered for someone else (imported) says how it was given: not known here.
        "INSERT INTO acknowledgements (id, org_id, person_id, policy_version_id, acknowledged_at, method, client_addr, user_agent,
                                       recorded_how, recorded_by, recorded_at)
         SELECT $1, $2, $3, $4, $5::timestamptz, $6::text, $7, $8, CASE WHEN $6::text = 'imported' THEN 'other' END,
                CASE WHEN $6::text = 'imported' THEN $9::uuid END, CASE WHEN $6::text = 'imported' THEN $5::timestamptz END
         ON CONFLICT (org_id, person_id, policy_version_id) DO NOTHING",
        id.0,
        org_id.0,
        person_id.0,
        version_id.0,
        now,
        method.as_str(),
        client_addr,
        agent,
        actor.user_id.map(|u| u.0),
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    audit::record(
        conn,
        actor,
        now,
        "policy.acknowledged",
        "acknowledgement",
        id,
        json!({"person_id": person_id, "version_id": version_id, "method": method.as_str(), "address": client_addr, "user_agent": agent}),
    )
    .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(dept: &str, manager: Option<&str>, done: bool, top: bool) -> Standing {
        Standing {
            person_id: PersonId::new(),
            name: "x".into(),
            email: "x@x.example".into(),
            department: dept.into(),
            manager_name: manager.map(str::to_string),
            top_management: top,
            line_manager: false,
            start_date: None,
            acknowledged_at: done.then(Utc::now),
            method: None,
            link_issued_at: None,
            link_expires_at: None,
            how: None,
            recorded_account: None,
            recorded_at: None,
        }
    }

    #[test]
    fn progress_by_group_most_missing_first() {
        let rows = vec![
            row("IT", Some("Tom"), true, false),
            row("IT", Some("Tom"), false, false),
            row("Sales", Some("Olga"), false, false),
            row("Sales", Some("Olga"), false, false),
            row("Board", None, false, true),
        ];
        let p = progress(&rows);
        assert_eq!((p.overall.total, p.overall.done, p.overall.percent()), (5, 1, 20));
        assert_eq!(p.by_department[0], Tally { label: "Sales".into(), total: 2, done: 0 });
        assert_eq!(p.by_manager.last().unwrap().label, "Tom");
        assert_eq!((p.leaders.total, p.leaders.done), (1, 0));
        assert_eq!(percent(0, 0), 100, "nobody to ask is complete");
    }
}
