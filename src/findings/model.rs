//! Findings tracked as corrective actions: the types, the queries, and how
//! the tracked list follows what the gap engine finds (`plan`, `sync`).
use crate::audit::{self, Actor, Changes};
use crate::error::{AppError, AppResult};
use crate::gaps::model::{Gap, Severity};
use crate::ids::{FindingId, OrgId, UserId};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

crate::text_enum! {
    /// Where a finding stands.
    pub enum FindingStatus {
        /// The rule fires and nobody accepted it as a risk.
        Open = "open" => "Open",
        /// Top management accepted it as a risk until a day.
        Accepted = "accepted" => "Accepted as a risk",
        /// The rule stopped firing.
        Resolved = "resolved" => "Resolved",
    }
}

/// The due date a newly opened (or reopened) finding gets: a major one
/// within a month, a minor one within a quarter (the time certification
/// bodies commonly give for a corrective action plan); an opportunity for
/// improvement has none.
pub fn default_due(severity: Severity, opened_on: NaiveDate) -> Option<NaiveDate> {
    match severity {
        Severity::Major => Some(opened_on + Duration::days(30)),
        Severity::Minor => Some(opened_on + Duration::days(90)),
        Severity::Improvement => None,
    }
}

/// The longest a risk acceptance may run before top management looks again.
pub const MAX_ACCEPTANCE_DAYS: i64 = 366;

#[derive(Debug, Clone)]
pub struct Finding {
    pub id: FindingId,
    pub rule: String,
    pub subject: String,
    pub title: String,
    pub severity: Severity,
    pub requirements: Vec<String>,
    pub status: FindingStatus,
    pub owner_id: Option<UserId>,
    pub owner_name: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub cause: String,
    pub action_taken: String,
    pub first_opened_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub reopened_count: i32,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    pub accepted_by: Option<UserId>,
    pub accepted_by_name: Option<String>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_until: Option<NaiveDate>,
    pub acceptance_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Finding {
    pub fn is_open(&self) -> bool {
        self.status == FindingStatus::Open
    }
    pub fn is_accepted(&self) -> bool {
        self.status == FindingStatus::Accepted
    }
    pub fn is_resolved(&self) -> bool {
        self.status == FindingStatus::Resolved
    }
    /// Still open after its due date.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.is_open() && self.due_on.is_some_and(|d| d < today)
    }
    /// Opened again after it had been resolved.
    pub fn reopened(&self) -> bool {
        self.reopened_count > 0
    }
    pub fn opened_on(&self) -> NaiveDate {
        self.opened_at.date_naive()
    }
    pub fn resolved_on(&self) -> Option<NaiveDate> {
        self.resolved_at.map(|t| t.date_naive())
    }
    pub fn requirements_text(&self) -> String {
        self.requirements.join(", ")
    }
    /// Where it stands, in a few words, for lists and the CSV.
    pub fn standing(&self, today: NaiveDate) -> String {
        match self.status {
            FindingStatus::Open if self.overdue(today) => format!("Open, overdue since {}", self.due_on.map(|d| d.to_string()).unwrap_or_default()),
            FindingStatus::Open if self.reopened() => format!("Reopened on {}", self.opened_on()),
            FindingStatus::Open => "Open".into(),
            FindingStatus::Accepted => format!("Accepted as a risk until {}", self.accepted_until.map(|d| d.to_string()).unwrap_or_default()),
            FindingStatus::Resolved => format!("Resolved on {}", self.resolved_on().map(|d| d.to_string()).unwrap_or_default()),
        }
    }
}

/// The organisation's findings: open ones first (soonest due first, so the
/// overdue lead; then by grade), then accepted (ending soonest first), then
/// resolved (newest first); or one (`id`).
fn select(
    org_id: OrgId,
    id: Option<FindingId>,
) -> sqlx::query::Map<'static, sqlx::Postgres, impl FnMut(sqlx::postgres::PgRow) -> Result<Finding, sqlx::Error> + Send, sqlx::postgres::PgArguments> {
    sqlx::query_as!(
        Finding,
        r#"SELECT f.id AS "id: FindingId", f.rule, f.subject, f.title, f.severity AS "severity: Severity", f.requirements, f.status AS "status: FindingStatus",
                  f.owner_id AS "owner_id: UserId", u.name AS "owner_name?", f.due_on, f.cause, f.action_taken, f.first_opened_at, f.opened_at,
                  f.reopened_count, f.resolved_at, f.resolved_by, f.accepted_by AS "accepted_by: UserId", f.accepted_by_name, f.accepted_at,
                  f.accepted_until, f.acceptance_reason, f.updated_at
             FROM findings f LEFT JOIN users u ON u.id = f.owner_id
            WHERE f.org_id = $1 AND ($2::uuid IS NULL OR f.id = $2)
            ORDER BY CASE f.status WHEN 'open' THEN 0 WHEN 'accepted' THEN 1 ELSE 2 END,
                     CASE f.status WHEN 'open' THEN f.due_on WHEN 'accepted' THEN f.accepted_until END NULLS LAST,
                     CASE f.severity WHEN 'major' THEN 0 WHEN 'minor' THEN 1 ELSE 2 END,
                     f.resolved_at DESC NULLS LAST, f.title"#,
        org_id.0,
        id.map(|i| i.0),
    )
}

/// Every finding of the organisation, in the list's order.
pub async fn list(db: &PgPool, org_id: OrgId) -> AppResult<Vec<Finding>> {
    Ok(select(org_id, None).fetch_all(db).await?)
}

/// The findings as `list` orders them, read as they are sent (the CSV).
pub fn stream(db: &PgPool, org_id: OrgId) -> crate::leadership::Rows<'_, Finding> {
    select(org_id, None).fetch(db)
}

/// One finding of the organisation; another's is not found.
pub async fn get(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: FindingId) -> AppResult<Finding> {
    select(org_id, Some(id)).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

// ---------- following the gap engine ----------

/// What `plan` needs of a tracked finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub id: FindingId,
    pub rule: String,
    pub subject: String,
    pub status: FindingStatus,
    pub accepted_until: Option<NaiveDate>,
    pub title: String,
    pub severity: Severity,
    pub requirements: Vec<String>,
}

/// One change that brings the tracked findings in line with the gaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'g> {
    /// A rule fires that was never tracked.
    Open(&'g Gap),
    /// A resolved finding's rule fires again.
    Reopen(FindingId, &'g Gap),
    /// An acceptance ran out while the rule still fires: open again.
    AcceptanceEnded(FindingId, &'g Gap),
    /// Still open or accepted, with another title, grade or requirements.
    Restate(FindingId, &'g Gap),
    /// The rule stopped firing.
    Resolve(FindingId),
}

/// The changes that make `tracked` follow `gaps` as of `today`. Rules are
/// tracked one finding each; what a rule reports (its title, grade and the
/// records affected) may change while it stays open.
pub fn plan<'g>(tracked: &[Tracked], gaps: &'g [Gap], today: NaiveDate) -> Vec<Step<'g>> {
    let mut steps = Vec::new();
    for g in gaps {
        let step = match tracked.iter().find(|t| t.rule == g.rule && t.subject == g.subject) {
            None => Step::Open(g),
            Some(t) if t.status == FindingStatus::Resolved => Step::Reopen(t.id, g),
            Some(t) if t.status == FindingStatus::Accepted && t.accepted_until.is_none_or(|d| d < today) => Step::AcceptanceEnded(t.id, g),
            Some(t) if t.title != g.title || t.severity != g.severity || t.requirements != g.requirements => Step::Restate(t.id, g),
            Some(_) => continue,
        };
        steps.push(step);
    }
    for t in tracked.iter().filter(|t| t.status != FindingStatus::Resolved) {
        if !gaps.iter().any(|g| g.rule == t.rule && g.subject == t.subject) {
            steps.push(Step::Resolve(t.id));
        }
    }
    steps
}

/// The account findings are opened and resolved under in the log.
pub fn engine(org_id: OrgId) -> Actor {
    Actor::system(Some(org_id), "Mandate (finding tracker)")
}

/// What a sync did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    pub opened: usize,
    pub reopened: usize,
    pub resolved: usize,
    pub acceptances_ended: usize,
}

/// Where an organisation's records stand: its records version (what the
/// gap cache keys on) and the audit row reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub version: i64,
    pub audit_seq: i64,
}

/// Brings the organisation's findings in line with the gap engine as of
/// today, in one transaction with an audit row per change. `evaluate` gives
/// the gaps at a records version; it runs while the organisation's sync row
/// is locked, after the head was read, so a slower sync never overwrites a
/// newer one and one that finds the work done does nothing. The findings
/// are locked before any audit row is written (the order every edit of a
/// finding takes too). A finding that resolves names the last change
/// recorded since the previous sync: the one after which its rule stopped firing.
pub async fn sync<F, Fut>(db: &PgPool, org_id: OrgId, now: DateTime<Utc>, evaluate: F) -> AppResult<Synced>
where
    F: FnOnce(i64) -> Fut,
    Fut: std::future::Future<Output = AppResult<std::sync::Arc<crate::gaps::Evaluation>>>,
{
    let today = now.date_naive();
    let mut tx = db.begin().await?;
    sqlx::query!(
        "INSERT INTO finding_syncs (org_id, synced_version, synced_audit_seq, synced_on, synced_at) VALUES ($1, -2, -1, $2, $3) ON CONFLICT (org_id) DO NOTHING",
        org_id.0,
        today,
        now,
    )
    .execute(&mut *tx)
    .await?;
    let at = sqlx::query!("SELECT synced_version, synced_audit_seq, synced_on FROM finding_syncs WHERE org_id = $1 FOR UPDATE", org_id.0).fetch_one(&mut *tx).await?;
    let head = sqlx::query_as!(Head, r#"SELECT records_seq AS version, seq AS audit_seq FROM audit_heads WHERE chain = $1"#, org_id.0)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(Head { version: -1, audit_seq: -1 });
    if (at.synced_version == head.version && at.synced_on == today) || at.synced_on > today {
        return Ok(Synced::default());
    }
    let evaluation = evaluate(head.version).await?;
    let tracked = sqlx::query_as!(
        Tracked,
        r#"SELECT id AS "id: FindingId", rule, subject, status AS "status: FindingStatus", accepted_until, title, severity AS "severity: Severity", requirements
             FROM findings WHERE org_id = $1 ORDER BY id FOR UPDATE"#,
        org_id.0
    )
    .fetch_all(&mut *tx)
    .await?;
    let steps = plan(&tracked, &evaluation.gaps, today);
    let cleared_by = if steps.iter().any(|s| matches!(s, Step::Resolve(_))) { clearing_change(&mut tx, org_id, at.synced_audit_seq, today).await? } else { (None, String::new()) };
    let actor = engine(org_id);
    let mut done = Synced::default();
    for step in steps {
        apply(&mut tx, &actor, now, org_id, &step, &cleared_by).await?;
        match step {
            Step::Open(_) => done.opened += 1,
            Step::Reopen(..) => done.reopened += 1,
            Step::Resolve(_) => done.resolved += 1,
            Step::AcceptanceEnded(..) => done.acceptances_ended += 1,
            Step::Restate(..) => {}
        }
    }
    sqlx::query!(
        "UPDATE finding_syncs SET synced_version = $2, synced_audit_seq = $3, synced_on = $4, synced_at = $5 WHERE org_id = $1",
        org_id.0,
        head.version,
        head.audit_seq,
        today,
        now,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done)
}

/// The last change to the records after audit row `after`, in words ("Ada
/// Lovelace recorded an appointment on 2026-12-07"), with its audit row.
/// None recorded (the rule stopped firing as a date passed): says so.
async fn clearing_change(conn: &mut PgConnection, org_id: OrgId, after: i64, today: NaiveDate) -> AppResult<(Option<i64>, String)> {
    let row = sqlx::query!(
        r#"SELECT a.seq, a.action, a.at, COALESCE(u.name, a.actor_label) AS "who!" FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
            WHERE a.chain = $1 AND a.seq > $2 AND a.action NOT LIKE 'finding.%' AND a.action NOT LIKE 'session.%' AND a.action NOT LIKE 'bundle.%'
              AND a.action <> 'user.password_changed'
            ORDER BY a.seq DESC LIMIT 1"#,
        org_id.0,
        after,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(r) => (Some(r.seq), format!("{} {} on {}", r.who, audit::describe(&r.action), r.at.date_naive())),
        None => (None, format!("no record changed: it stopped applying on {today}, as a date it depended on passed")),
    })
}

async fn apply(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, step: &Step<'_>, cleared_by: &(Option<i64>, String)) -> AppResult<()> {
    let today = now.date_naive();
    match step {
        Step::Open(g) => {
            let id = FindingId::new();
            let due = default_due(g.severity, today);
            sqlx::query!(
                "INSERT INTO findings (id, org_id, rule, subject, title, severity, requirements, status, due_on, first_opened_at, opened_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $9, $9, $9)",
                id.0,
                org_id.0,
                g.rule,
                g.subject,
                g.title,
                g.severity.as_str(),
                &g.requirements,
                due,
                now,
            )
            .execute(&mut *conn)
            .await?;
            let details = json!({"rule": g.rule, "title": g.title, "severity": g.severity.as_str(), "due_on": due});
            audit::record(conn, actor, now, "finding.opened", "finding", id, details).await?;
        }
        Step::Reopen(id, g) | Step::AcceptanceEnded(id, g) => {
            let reopen = matches!(step, Step::Reopen(..));
            let due = default_due(g.severity, today);
            sqlx::query!(
                "UPDATE findings SET status = 'open', title = $3, severity = $4, requirements = $5,
                        opened_at = CASE WHEN $6 THEN $7 ELSE opened_at END, reopened_count = reopened_count + CASE WHEN $6 THEN 1 ELSE 0 END,
                        due_on = CASE WHEN due_on IS NULL OR due_on < $8 OR $6 THEN $9 ELSE due_on END, updated_at = $7
                  WHERE org_id = $1 AND id = $2",
                org_id.0,
                id.0,
                g.title,
                g.severity.as_str(),
                &g.requirements,
                reopen,
                now,
                today,
                due,
            )
            .execute(&mut *conn)
            .await?;
            let (action, details) = if reopen {
                ("finding.reopened", json!({"title": g.title, "severity": g.severity.as_str(), "due_on": due}))
            } else {
                ("finding.acceptance_ended", json!({"title": g.title}))
            };
            audit::record(conn, actor, now, action, "finding", id, details).await?;
        }
        Step::Restate(id, g) => {
            let before = sqlx::query!("SELECT title, severity, requirements FROM findings WHERE org_id = $1 AND id = $2", org_id.0, id.0).fetch_one(&mut *conn).await?;
            sqlx::query!(
                "UPDATE findings SET title = $3, severity = $4, requirements = $5, updated_at = $6 WHERE org_id = $1 AND id = $2",
                org_id.0,
                id.0,
                g.title,
                g.severity.as_str(),
                &g.requirements,
                now,
            )
            .execute(&mut *conn)
            .await?;
            let mut c = Changes::new();
            c.field("title", &before.title, &g.title).field("severity", &before.severity, g.severity.as_str()).field("requirements", &before.requirements, &g.requirements);
            if !c.is_empty() {
                audit::record(conn, actor, now, "finding.restated", "finding", id, c.into_value()).await?;
            }
        }
        Step::Resolve(id) => {
            sqlx::query!(
                "UPDATE findings SET status = 'resolved', resolved_at = $3, resolved_by_seq = $4, resolved_by = $5, updated_at = $3 WHERE org_id = $1 AND id = $2",
                org_id.0,
                id.0,
                now,
                cleared_by.0,
                cleared_by.1,
            )
            .execute(&mut *conn)
            .await?;
            audit::record(conn, actor, now, "finding.resolved", "finding", id, json!({"cleared_by": cleared_by.1})).await?;
        }
    }
    Ok(())
}

// ---------- what people add ----------

/// What the owner, ISMS lead or the finding's owner write down.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields {
    pub owner_id: Option<UserId>,
    pub due_on: Option<NaiveDate>,
    pub cause: String,
    pub action_taken: String,
}

/// Saves the corrective action's details; false when nothing changed.
pub async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Finding, f: &Fields) -> AppResult<bool> {
    let mut c = Changes::new();
    c.field("owner_id", before.owner_id, f.owner_id)
        .field("due_on", before.due_on, f.due_on)
        .field("cause", &before.cause, &f.cause)
        .field("action_taken", &before.action_taken, &f.action_taken);
    if c.is_empty() {
        return Ok(false);
    }
    if let Some(owner) = f.owner_id.filter(|o| before.owner_id != Some(*o))
        && !may_own(&mut *conn, org_id, owner).await?
    {
        return Err(AppError::BadRequest("The owner must be an active member who can act (not an auditor).".into()));
    }
    sqlx::query!(
        "UPDATE findings SET owner_id = $3, due_on = $4, cause = $5, action_taken = $6, updated_at = $7 WHERE org_id = $1 AND id = $2",
        org_id.0,
        before.id.0,
        f.owner_id.map(|u| u.0),
        f.due_on,
        f.cause,
        f.action_taken,
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "finding.updated", "finding", before.id, c.into_value()).await?;
    Ok(true)
}

/// Whether an account may own a corrective action: an active member of the
/// organisation who can act (auditors change nothing).
pub async fn may_own(conn: &mut PgConnection, org_id: OrgId, user_id: UserId) -> AppResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2 AND disabled_at IS NULL AND role <> 'auditor') AS "x!""#,
        org_id.0,
        user_id.0
    )
    .fetch_one(conn)
    .await?)
}

/// A member who may own a corrective action, for the picker.
pub struct OwnerChoice {
    pub id: UserId,
    pub name: String,
    pub role: String,
}

/// The members who may own a corrective action, by name.
pub async fn owner_choices(db: &PgPool, org_id: OrgId) -> AppResult<Vec<OwnerChoice>> {
    Ok(sqlx::query_as!(
        OwnerChoice,
        r#"SELECT u.id AS "id: UserId", u.name, m.role FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.org_id = $1 AND m.disabled_at IS NULL AND m.role <> 'auditor' ORDER BY u.name"#,
        org_id.0
    )
    .fetch_all(db)
    .await?)
}

/// A risk acceptance as entered: why, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    pub reason: String,
    pub until: NaiveDate,
}

/// Records that a member of top management (`leader`, signed in as
/// themselves, checked by the caller) accepts the finding as a risk.
pub async fn accept(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Finding, leader: (UserId, &str), a: &Acceptance) -> AppResult<()> {
    if !f.is_open() {
        return Err(AppError::Conflict("Only an open finding can be accepted as a risk.".into()));
    }
    sqlx::query!(
        "UPDATE findings SET status = 'accepted', accepted_by = $3, accepted_by_name = $4, accepted_at = $5, accepted_until = $6, acceptance_reason = $7, updated_at = $5
          WHERE org_id = $1 AND id = $2",
        org_id.0,
        f.id.0,
        leader.0.0,
        leader.1,
        now,
        a.until,
        a.reason,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "finding.risk_accepted", "finding", f.id, json!({"reason": a.reason, "accepted_until": a.until})).await?;
    Ok(())
}

/// Ends an acceptance before its day (the leader who accepted it, or another
/// member of top management): the finding is open again.
pub async fn end_acceptance(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Finding) -> AppResult<()> {
    if !f.is_accepted() {
        return Err(AppError::Conflict("This finding is not accepted as a risk.".into()));
    }
    sqlx::query!("UPDATE findings SET status = 'open', updated_at = $3 WHERE org_id = $1 AND id = $2", org_id.0, f.id.0, now).execute(&mut *conn).await?;
    audit::record(conn, actor, now, "finding.acceptance_withdrawn", "finding", f.id, json!({})).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(rule: &'static str, severity: Severity) -> Gap {
        Gap::example(rule, severity, &format!("{rule} fires"))
    }

    fn tracked(rule: &str, status: FindingStatus, until: Option<NaiveDate>) -> Tracked {
        Tracked {
            id: FindingId::new(),
            rule: rule.into(),
            subject: String::new(),
            status,
            accepted_until: until,
            title: format!("{rule} fires"),
            severity: Severity::Minor,
            requirements: vec!["5.3(b)".into()],
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn new_rules_open_and_silent_ones_resolve() {
        let gaps = [gap("a", Severity::Minor)];
        let old = tracked("b", FindingStatus::Open, None);
        let steps = plan(std::slice::from_ref(&old), &gaps, day(7));
        assert_eq!(steps, vec![Step::Open(&gaps[0]), Step::Resolve(old.id)]);
    }

    #[test]
    fn a_resolved_finding_reopens_when_its_rule_fires_again() {
        let gaps = [gap("a", Severity::Minor)];
        let t = tracked("a", FindingStatus::Resolved, None);
        assert_eq!(plan(std::slice::from_ref(&t), &gaps, day(7)), vec![Step::Reopen(t.id, &gaps[0])]);
        // Resolved and still silent: nothing to do.
        assert!(plan(&[t], &[], day(7)).is_empty());
    }

    #[test]
    fn an_acceptance_holds_through_its_last_day_and_then_ends() {
        let gaps = [gap("a", Severity::Minor)];
        let t = tracked("a", FindingStatus::Accepted, Some(day(7)));
        assert!(plan(std::slice::from_ref(&t), &gaps, day(7)).is_empty());
        assert_eq!(plan(std::slice::from_ref(&t), &gaps, day(8)), vec![Step::AcceptanceEnded(t.id, &gaps[0])]);
        // An accepted finding whose rule stops firing is resolved all the same.
        assert_eq!(plan(std::slice::from_ref(&t), &[], day(7)), vec![Step::Resolve(t.id)]);
    }

    #[test]
    fn a_rule_reporting_per_record_tracks_each_record_apart() {
        let mut one = gap("a", Severity::Minor);
        one.subject = "policy-1".into();
        let mut two = gap("a", Severity::Minor);
        two.subject = "policy-2".into();
        let mut t = tracked("a", FindingStatus::Open, None);
        t.subject = "policy-1".into();
        let gaps = [one, two];
        assert_eq!(plan(std::slice::from_ref(&t), &gaps, day(7)), vec![Step::Open(&gaps[1])]);
        assert_eq!(plan(std::slice::from_ref(&t), &gaps[1..], day(7)), vec![Step::Open(&gaps[1]), Step::Resolve(t.id)]);
    }

    #[test]
    fn a_changed_grade_is_restated() {
        let gaps = [gap("a", Severity::Major)];
        let t = tracked("a", FindingStatus::Open, None);
        assert_eq!(plan(std::slice::from_ref(&t), &gaps, day(7)), vec![Step::Restate(t.id, &gaps[0])]);
    }

    #[test]
    fn due_dates_follow_the_grade() {
        assert_eq!(default_due(Severity::Major, day(1)), Some(day(31)));
        assert_eq!(default_due(Severity::Improvement, day(1)), None);
    }
}
