//! What the gap engine reports: a gap names its rule, the requirements it
//! touches, how serious it is, why an auditor cares, what is affected and
//! where it is fixed.
use crate::error::AppResult;
use crate::ids::{AppointmentId, ModuleId, OrgId, PolicyId, RoleId, UserId, VersionId};
use crate::leadership::{asks, meetings};
use crate::people::model as people;
use chrono::NaiveDate;
use serde::Serialize;
use sqlx::PgPool;

crate::text_enum! {
    /// How serious a gap is, most serious first (the order gaps sort by).
    pub enum Severity {
        /// A requirement is not met at all, or a lapse puts in doubt that the
        /// ISMS achieves its intended results (ISO/IEC 17021-1's grading).
        Major = "major" => "Major nonconformity",
        /// An isolated lapse: the requirement is met, not everywhere.
        Minor = "minor" => "Minor nonconformity",
        /// Nothing is broken; doing it would make the ISMS stronger.
        Improvement = "improvement" => "Opportunity for improvement",
    }
}

/// The four areas the dashboards group by.
pub const CLAUSES: [(&str, &str); 4] = [
    ("5.1", "Leadership and commitment"),
    ("5.2", "Policy"),
    ("5.3", "Roles, responsibilities and authorities"),
    ("A.5.4", "Management responsibilities"),
];

/// The clause a requirement code belongs to: "5.1(c)" → "5.1", "A.5.4" → "A.5.4".
pub fn clause_of(code: &str) -> &str {
    code.split('(').next().unwrap_or(code)
}

/// One record a gap is about, with where to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Affected {
    pub label: String,
    pub detail: String,
    pub href: Option<String>,
}

impl Affected {
    pub fn new(label: impl Into<String>, detail: impl Into<String>, href: Option<String>) -> Self {
        Affected { label: label.into(), detail: detail.into(), href }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// The rule's stable key, e.g. `policy_review_overdue`.
    pub rule: &'static str,
    /// What the gap is about, for rules that report one gap per record (the
    /// policy or training module's id); empty for a rule's single gap.
    /// With `rule`, the gap's identity from one day to the next.
    pub subject: String,
    pub title: String,
    pub requirements: Vec<String>,
    pub severity: Severity,
    /// Why it has that grade, in one sentence (and the setting it used).
    pub grade: String,
    /// Why an auditor cares, in plain words.
    pub why: &'static str,
    pub affected: Vec<Affected>,
    /// How many are affected in all (the list may be shortened).
    pub affected_total: usize,
    pub fix_href: String,
    pub fix_label: &'static str,
    /// A list of everything affected, paged like any list, where the gap's
    /// own list is shortened (the people who have not acknowledged a policy,
    /// say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_href: Option<String>,
}

impl Gap {
    /// The clauses it touches, in dashboard order.
    pub fn clauses(&self) -> Vec<&'static str> {
        CLAUSES.iter().map(|(c, _)| *c).filter(|c| self.requirements.iter().any(|r| clause_of(r) == *c)).collect()
    }
    pub fn touches(&self, clause: &str) -> bool {
        self.requirements.iter().any(|r| clause_of(r) == clause)
    }
    /// The gap's place on the gap list (`/gaps#…`).
    pub fn anchor(&self) -> String {
        if self.subject.is_empty() { format!("gap-{}", self.rule) } else { format!("gap-{}-{}", self.rule, self.subject) }
    }
    /// Affected items left out when only the first `shown` are listed.
    pub fn more_than(&self, shown: usize) -> usize {
        self.affected_total.saturating_sub(self.affected.len().min(shown))
    }
}

#[cfg(test)]
impl Gap {
    /// A gap for unit tests: `rule` at `severity`, titled `title`.
    pub fn example(rule: &'static str, severity: Severity, title: &str) -> Gap {
        Gap {
            rule,
            subject: String::new(),
            title: title.into(),
            requirements: vec!["5.3(b)".into()],
            severity,
            grade: String::new(),
            why: "",
            affected: vec![],
            affected_total: 0,
            fix_href: "/gaps".into(),
            fix_label: "Fix",
            list_href: None,
        }
    }
}

/// Gaps counted by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub major: usize,
    pub minor: usize,
    /// Opportunities for improvement.
    pub improvement: usize,
}

impl Counts {
    pub fn of<'a>(gaps: impl IntoIterator<Item = &'a Gap>) -> Counts {
        let mut c = Counts::default();
        for g in gaps {
            match g.severity {
                Severity::Major => c.major += 1,
                Severity::Minor => c.minor += 1,
                Severity::Improvement => c.improvement += 1,
            }
        }
        c
    }
    pub fn total(&self) -> usize {
        self.major + self.minor + self.improvement
    }
}

// ---------- what waits for the signed-in executive ----------

/// An appointment this person made that waits for their confirmation.
pub struct ToConfirm {
    pub id: AppointmentId,
    /// The role's page, where the appointment is confirmed.
    pub role_id: RoleId,
    pub role_name: String,
    pub person_name: String,
}

/// A policy's newest signed version this person has not acknowledged.
pub struct ToAcknowledge {
    pub policy_id: PolicyId,
    pub version_id: VersionId,
    pub title: String,
    pub major: i32,
    pub minor: i32,
}

/// A training module this person is not current on, with their last completion.
pub struct ToTrain {
    pub id: ModuleId,
    pub title: String,
    pub last: Option<NaiveDate>,
}

/// What waits for one person: the executive signed in.
pub struct Mine {
    pub name: String,
    pub confirm: Vec<ToConfirm>,
    pub acknowledge: Vec<ToAcknowledge>,
    pub train: Vec<ToTrain>,
    pub asks: Vec<asks::Ask>,
    pub sign_offs: Vec<meetings::Meeting>,
}

impl Mine {
    pub fn is_empty(&self) -> bool {
        self.confirm.is_empty() && self.acknowledge.is_empty() && self.train.is_empty() && self.asks.is_empty() && self.sign_offs.is_empty()
    }
}

/// Policies with draft versions this account may sign as top management:
/// drafts asked of the leader it acts for, and drafts asked of nobody in
/// particular or of a leader who can no longer sign (left, off the roster,
/// disabled). Accounts that act for no leader get none: a signature task
/// goes only to someone whose signature counts.
pub async fn to_sign(db: &PgPool, org_id: OrgId, user_id: UserId, today: NaiveDate) -> AppResult<Vec<(PolicyId, String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT pol.id AS "id: PolicyId", pol.title, count(*) AS "drafts!" FROM policy_versions v
             JOIN policies pol ON pol.org_id = v.org_id AND pol.id = v.policy_id AND pol.withdrawn_at IS NULL
             JOIN people me ON me.org_id = v.org_id AND me.acting_user_id = $2 AND me.top_management AND (me.end_date IS NULL OR me.end_date > $3)
            WHERE v.org_id = $1 AND v.approved_at IS NULL
              AND (v.signer_requested IS NULL OR v.signer_requested = me.id OR NOT EXISTS (
                   SELECT 1 FROM people sp JOIN memberships sm ON sm.org_id = sp.org_id AND sm.user_id = sp.acting_user_id AND sm.disabled_at IS NULL AND sm.role IN ('owner', 'executive')
                    WHERE sp.org_id = v.org_id AND sp.id = v.signer_requested AND sp.top_management AND (sp.end_date IS NULL OR sp.end_date > $3)))
            GROUP BY pol.id, pol.title ORDER BY pol.title"#,
        org_id.0,
        user_id.0,
        today,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.title, r.drafts)).collect())
}

/// Whether drafts wait for a signature while no member of top management
/// has an account to sign with: then the task is to invite one.
pub async fn drafts_without_signer(db: &PgPool, org_id: OrgId, today: NaiveDate) -> AppResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM policy_versions v JOIN policies pol ON pol.org_id = v.org_id AND pol.id = v.policy_id AND pol.withdrawn_at IS NULL
                           WHERE v.org_id = $1 AND v.approved_at IS NULL)
              AND NOT EXISTS (SELECT 1 FROM people p JOIN memberships m ON m.org_id = p.org_id AND m.user_id = p.acting_user_id AND m.disabled_at IS NULL AND m.role IN ('owner', 'executive')
                               WHERE p.org_id = $1 AND p.top_management AND (p.end_date IS NULL OR p.end_date > $2)) AS "x!""#,
        org_id.0,
        today,
    )
    .fetch_one(db)
    .await?)
}

/// What waits for the person the account `user_id` acts as (none if it acts as nobody).
pub async fn mine(db: &PgPool, org_id: OrgId, user_id: UserId, today: NaiveDate) -> AppResult<Option<Mine>> {
    let Some(me) = people::person_of_user(db, org_id, user_id).await? else { return Ok(None) };
    let confirm = sqlx::query_as!(
        ToConfirm,
        r#"SELECT a.id AS "id: AppointmentId", r.id AS "role_id: RoleId", r.name AS role_name, p.name AS person_name FROM role_appointments a
           JOIN isms_roles r ON r.org_id = a.org_id AND r.id = a.role_id AND r.retired_at IS NULL
           JOIN people p ON p.org_id = a.org_id AND p.id = a.person_id
          WHERE a.org_id = $1 AND a.appointed_by = $2 AND a.confirmed_at IS NULL AND (a.ended_on IS NULL OR a.ended_on > $3)
          ORDER BY r.name"#,
        org_id.0,
        me.id.0,
        today,
    )
    .fetch_all(db)
    .await?;
    // The audience conditions are `people::audience::sql_match("pol", "p")` and `("t", "p")`.
    let acknowledge = sqlx::query_as!(
        ToAcknowledge,
        r#"SELECT pol.id AS "policy_id: PolicyId", cur.id AS "version_id: VersionId", pol.title, cur.major, cur.minor FROM policies pol
           JOIN LATERAL (SELECT v.id, v.major, v.minor FROM policy_versions v WHERE v.org_id = pol.org_id AND v.policy_id = pol.id AND v.approved_at IS NOT NULL
                          ORDER BY v.major DESC, v.minor DESC LIMIT 1) cur ON true
           JOIN people p ON p.org_id = pol.org_id AND p.id = $2
                AND in_audience(policy_audience(pol.kind, pol.audience, pol.audience_reason), pol.audience_departments, p.kind, p.line_manager, p.department)
          WHERE pol.org_id = $1 AND pol.withdrawn_at IS NULL AND $3::date IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM acknowledgements a JOIN policy_versions v ON v.org_id = a.org_id AND v.id = a.policy_version_id
                 WHERE a.org_id = pol.org_id AND a.person_id = p.id AND v.policy_id = pol.id AND v.major = cur.major)
          ORDER BY pol.title"#,
        org_id.0,
        me.id.0,
        today,
    )
    .fetch_all(db)
    .await?;
    let train = sqlx::query_as!(
        ToTrain,
        r#"SELECT t.id AS "id: ModuleId", t.title,
                (SELECT max(r.completed_on) FROM training_records r WHERE r.org_id = t.org_id AND r.module_id = t.id AND r.person_id = p.id) AS last
           FROM training_modules t JOIN people p ON p.org_id = t.org_id AND p.id = $2
                AND in_audience(t.audience, t.audience_departments, p.kind, p.line_manager, p.department)
          WHERE t.org_id = $1 AND t.retired_at IS NULL AND NOT EXISTS (
                SELECT 1 FROM training_records r WHERE r.org_id = t.org_id AND r.module_id = t.id AND r.person_id = p.id
                   AND (r.completed_on + make_interval(months => t.validity_months))::date >= $3)
          ORDER BY t.title"#,
        org_id.0,
        me.id.0,
        today,
    )
    .fetch_all(db)
    .await?;
    Ok(Some(Mine {
        name: me.name,
        confirm,
        acknowledge,
        train,
        asks: asks::open_for_user(db, org_id, user_id).await?,
        sign_offs: meetings::to_sign_by_user(db, org_id, user_id).await?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_belong_to_their_clause() {
        assert_eq!(clause_of("5.1(c)"), "5.1");
        assert_eq!(clause_of("5.3"), "5.3");
        assert_eq!(clause_of("A.5.4"), "A.5.4");
    }
}
