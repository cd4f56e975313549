//! Everything the gap rules look at, for one organisation as of one day,
//! read in a fixed number of queries, in one read-only snapshot of the
//! database (shared by two transactions, see `load`).
//!
//! As of a date means: records created after the end of that day are left
//! out, and dated facts (starts and ends, appointments, signatures,
//! acknowledgements, completions, meetings, decisions, answers, evidence
//! validity) are read as they stood on that day. Records edited in place
//! (a person's details, a requirement's owner and status, a role's texts,
//! audiences, settings...) are read with the values they had that day, from
//! their history (`crate::history`); who was top management, from the roster.
use crate::ids::{ActionItemId, AppointmentId, AskId, CommunicationId, DecisionId, EvidenceId, MeetingId, ModuleId, ObjectiveId, OrgId, PersonId, PolicyId, RaciActivityId, RequirementId, RoleId, VersionId};
use crate::leadership::objectives::model::ObjectiveStatus;
use crate::policies::versions::model::PolicyKind;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};

/// How many affected items a list keeps; the total is counted in full.
pub const SAMPLE: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct PersonRef {
    pub id: PersonId,
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct Staff {
    /// Current staff and contractors on the day.
    pub total: i64,
    /// Of them, whose contract lacks the security clause.
    pub no_clause: i64,
    pub no_clause_sample: Vec<PersonRef>,
}

#[derive(Debug, Clone)]
pub struct Requirement {
    pub id: RequirementId,
    pub code: String,
    pub clause: String,
    pub title: String,
    pub applicable: bool,
    pub owner_id: Option<PersonId>,
    pub owner_name: Option<String>,
    pub status: String,
    /// Linked evidence that counts on the day.
    pub evidence: i64,
    /// The kinds of record that count as its evidence (the catalogue's).
    pub records: Vec<crate::requirements::records::Source>,
    /// "5.3(a)" or "5.3(b)": the holder of the role carrying it owns the
    /// requirement when nobody is named.
    pub owner_assignment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub has_responsibilities: bool,
    pub has_authorities: bool,
    pub carries_conformance: bool,
    pub carries_reporting: bool,
}

/// An appointment in force on the day.
#[derive(Debug, Clone)]
pub struct Appointment {
    pub id: AppointmentId,
    pub role_id: RoleId,
    pub role_name: String,
    pub capacity: String,
    pub person_id: PersonId,
    pub person_name: String,
    pub person_top: bool,
    /// The person still works here on the day.
    pub person_current: bool,
    pub appointer_name: Option<String>,
    pub appointer_top: Option<bool>,
    pub appointed_on: Option<NaiveDate>,
    /// The appointer confirmed it (signed in as themselves, or a leader recorded their signed letter).
    pub confirmed: bool,
    pub accepted: bool,
    pub no_hats_note: bool,
}

impl Appointment {
    pub fn is_holder(&self) -> bool {
        self.capacity == "holder"
    }
}

#[derive(Debug, Clone)]
pub struct RaciActivity {
    pub id: RaciActivityId,
    pub name: String,
    pub accountable: i64,
    /// The 5.3 assignment it stands for ("5.3(a)", "5.3(b)"), if any.
    pub assignment: Option<String>,
    /// The roles accountable for it.
    pub accountable_roles: Vec<RoleId>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub id: PolicyId,
    pub title: String,
    pub kind: PolicyKind,
    pub review_months: i32,
    pub version_id: Option<VersionId>,
    pub major: Option<i32>,
    pub minor: Option<i32>,
    pub approved_at: Option<DateTime<Utc>>,
    pub approver_name: Option<String>,
    pub approver_top: Option<bool>,
    /// The approver of the current version has left the organisation since.
    pub approver_left: Option<bool>,
    /// Which of the 5.2(a)–(d) checks the current version meets.
    pub checks: Vec<bool>,
    /// The newest signature by top management, on any version.
    pub last_top_approval: Option<DateTime<Utc>>,
    /// The newest signature on any version.
    pub last_approval: Option<DateTime<Utc>>,
    /// When the current major version was first signed: acknowledgements
    /// are asked for since then (a minor version keeps them).
    pub major_since: Option<DateTime<Utc>>,
    /// Drafts waiting for a signature.
    pub drafts: i64,
    /// It has a public page (5.2(g)).
    pub public: bool,
}

impl Policy {
    pub fn number(&self) -> Option<String> {
        Some(format!("{}.{}", self.major?, self.minor?))
    }
}

/// Acknowledgement of a policy's current major version by its audience.
#[derive(Debug, Clone)]
pub struct PolicyFigures {
    pub policy_id: PolicyId,
    pub audience: i64,
    pub acknowledged: i64,
    pub missing: Json<Vec<PersonRef>>,
    /// Of those missing, how many had not acknowledged the previous major
    /// version either (the grace days of a new version do not cover them).
    pub stale: i64,
}

#[derive(Debug, Clone)]
pub struct Module {
    pub id: ModuleId,
    pub title: String,
    pub kind: String,
    pub audience: i64,
    pub overdue: i64,
    pub missing: Json<Vec<PersonRef>>,
}

/// A top manager or line manager, with whether they did what they ask of others.
#[derive(Debug, Clone)]
pub struct Leader {
    pub id: PersonId,
    pub name: String,
    pub top_management: bool,
    pub line_manager: bool,
    /// Policies in force they are asked to acknowledge and have not, past
    /// the grace days (the IS policy, acceptable use, topic-specific ones).
    pub unacknowledged: Vec<String>,
    pub trained: bool,
}

#[derive(Debug, Clone)]
pub struct Starter {
    pub id: PersonId,
    pub name: String,
    pub start_date: NaiveDate,
    pub first_ack: Option<DateTime<Utc>>,
}

impl Starter {
    /// Whether they acknowledged before access, the same rule as the onboarding page's.
    pub fn timing(&self, grace_days: i32) -> crate::policies::onboarding::Timing {
        crate::policies::onboarding::timing(self.start_date, self.first_ack, grace_days)
    }
}

#[derive(Debug, Clone)]
pub struct ExpiredItem {
    pub id: EvidenceId,
    pub title: String,
    pub expires: NaiveDate,
    pub codes: Vec<String>,
    pub total: i64,
}

#[derive(Debug, Clone)]
pub struct Meeting {
    pub id: MeetingId,
    pub title: String,
    pub kind: String,
    pub planned_on: Option<NaiveDate>,
    pub held_on: Option<NaiveDate>,
    pub chair_name: Option<String>,
    pub has_minutes: bool,
    pub top_present: bool,
    pub signed: bool,
    /// The sign-off was given on paper and recorded in Mandate later.
    pub on_paper: bool,
    pub decisions: String,
    /// The 9.3.2 inputs it considered (`leadership::meetings::INPUTS` keys).
    pub inputs: Vec<String>,
}

impl Meeting {
    pub fn is_review(&self) -> bool {
        self.kind == "management_review"
    }
    pub fn held_by(&self, day: NaiveDate) -> Option<NaiveDate> {
        self.held_on.filter(|d| *d <= day)
    }
}

#[derive(Debug, Clone)]
pub struct Action {
    pub id: ActionItemId,
    pub title: String,
    pub meeting_title: Option<String>,
    pub owner_name: Option<String>,
    pub due_on: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub id: DecisionId,
    pub title: String,
    pub decision: String,
    pub decided_on: Option<NaiveDate>,
    pub decider_name: Option<String>,
    pub decider_top: Option<bool>,
    pub amount: Option<rust_decimal::Decimal>,
    pub currency: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Communication {
    pub id: CommunicationId,
    pub subject: String,
    pub sent_on: NaiveDate,
    pub from_name: Option<String>,
    pub from_top: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Objective {
    pub id: ObjectiveId,
    pub title: String,
    pub status: ObjectiveStatus,
    pub measure: String,
    pub target: String,
    pub owner_name: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
}

impl Objective {
    /// Still pursued: planned, on track or at risk (not achieved or dropped).
    pub fn is_open(&self) -> bool {
        self.status.is_live()
    }
    /// Open, with a measure and an owner.
    pub fn is_current(&self) -> bool {
        self.is_open() && !self.measure.trim().is_empty() && self.owner_name.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct Ask {
    pub id: AskId,
    pub what: String,
    pub asked_of_name: String,
    pub asked_on: NaiveDate,
    pub due_on: Option<NaiveDate>,
    pub responded_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub as_of: NaiveDate,
    pub cadence_months: i32,
    /// How the organisation wants findings graded (settings).
    pub grading: crate::orgs::settings::Grading,
    pub staff: Staff,
    pub requirements: Vec<Requirement>,
    pub roles: Vec<Role>,
    pub appointments: Vec<Appointment>,
    pub raci: Vec<RaciActivity>,
    pub policies: Vec<Policy>,
    pub figures: Vec<PolicyFigures>,
    pub modules: Vec<Module>,
    pub leaders: Vec<Leader>,
    pub starters: Vec<Starter>,
    pub expired: Vec<ExpiredItem>,
    pub meetings: Vec<Meeting>,
    pub actions: Vec<Action>,
    pub decisions: Vec<Decision>,
    pub communications: Vec<Communication>,
    pub objectives: Vec<Objective>,
    pub asks: Vec<Ask>,
}

/// The first instant after `day`: records created before it existed on that day.
pub fn cutoff(day: NaiveDate) -> DateTime<Utc> {
    start_of(day + Duration::days(1))
}

/// The first instant of `day` (UTC).
pub fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// Loads the organisation's records as of `as_of`: 19 queries, whatever its size.
/// Who counts as top management is read from the roster as it stood that day,
/// and every record edited in place with the values it had then (`crate::history`).
///
/// Two connections read it at once, in the same snapshot of the database
/// (exported by the first transaction, imported by the second): one the
/// policy figures, the largest query, the other everything else. At most
/// `AT_ONCE` evaluations run at a time in a process. When the pool has no
/// second connection to give within `SECOND_WAIT` (a pool of one, or one
/// busy with other work), the first reads everything in turn: an evaluation
/// never holds one connection waiting long for another.
pub async fn load(db: &PgPool, org_id: OrgId, as_of: NaiveDate) -> AppResult<Snapshot> {
    let _turn = EVALUATIONS.acquire().await.map_err(|e| AppError::Internal(e.into()))?;
    let mut tx = begin(db.begin().await?).await?;
    let exported = sqlx::query_scalar!(r#"SELECT pg_export_snapshot() AS "id!""#).fetch_one(&mut *tx).await?;
    let second = match tokio::time::timeout(SECOND_WAIT, db.begin()).await {
        Ok(tx2) => Some(join(tx2?, &exported).await?),
        Err(_) => None,
    };
    let snapshot = match second {
        Some(mut tx2) => {
            let (snapshot, figures) = tokio::join!(read(&mut tx, org_id, as_of), policy_figures(&mut tx2, org_id, as_of));
            tx2.rollback().await?;
            Snapshot { figures: figures?, ..snapshot? }
        }
        None => {
            let figures = policy_figures(&mut tx, org_id, as_of).await?;
            Snapshot { figures, ..read(&mut tx, org_id, as_of).await? }
        }
    };
    tx.rollback().await?;
    Ok(snapshot)
}

/// How long an evaluation waits for its second connection before reading
/// everything on its first.
const SECOND_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// How many evaluations a process runs at once (each on two connections);
/// more would only share the same processor cores.
const AT_ONCE: usize = 2;
static EVALUATIONS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(AT_ONCE);

/// A read-only transaction that sees one snapshot throughout.
async fn begin(mut tx: Transaction<'static, Postgres>) -> AppResult<Transaction<'static, Postgres>> {
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    // The audience × acknowledgement joins of a large organisation sort and
    // hash a few hundred thousand rows: let them do it in memory.
    sqlx::query!("SET LOCAL work_mem = '32MB'").execute(&mut *tx).await?;
    Ok(tx)
}

/// `begin`, seeing the snapshot another transaction exported.
async fn join(tx: Transaction<'static, Postgres>, exported: &str) -> AppResult<Transaction<'static, Postgres>> {
    let mut tx = begin(tx).await?;
    // PostgreSQL names snapshots in hexadecimal digits and dashes ("00000003-0000001B-1").
    if exported.is_empty() || !exported.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(AppError::Internal(anyhow::anyhow!("an unexpected snapshot name")));
    }
    // dynamic: SET TRANSACTION SNAPSHOT takes a literal, the name PostgreSQL gave the snapshot (checked above)
    // Not prepared: every snapshot has its own name, and would fill the connection's statement cache.
    sqlx::QueryBuilder::<Postgres>::new(format!("SET TRANSACTION SNAPSHOT '{exported}'")).build().persistent(false).execute(&mut *tx).await?;
    Ok(tx)
}

/// Each policy's audience, acknowledgements and who is missing, as of
/// `as_of`: the largest of the snapshot's queries (it reads every
/// acknowledgement of the current and previous major versions), so `load`
/// runs it beside the others when it has a second connection.
async fn policy_figures(tx: &mut Transaction<'static, Postgres>, org_id: OrgId, as_of: NaiveDate) -> AppResult<Vec<PolicyFigures>> {
    let cut = cutoff(as_of);
    let org = org_id.0;
    Ok(sqlx::query_as!(
        PolicyFigures,
        r#"WITH cur AS MATERIALIZED (
            SELECT row_number() OVER () AS k, c.* FROM (
              SELECT DISTINCT ON (pol.id) pol.id AS policy_id, policy_audience(pol.kind, pol.audience, pol.audience_reason) AS audience, pol.audience_departments, v.major,
                     (SELECT max(v2.major) FROM policy_versions v2 WHERE v2.org_id = pol.org_id AND v2.policy_id = pol.id AND v2.major < v.major
                         AND v2.approved_at < $3) AS prev_major
                FROM policies_on($1, $3) pol JOIN policy_versions v ON v.org_id = pol.org_id AND v.policy_id = pol.id AND v.approved_at < $3
               WHERE pol.org_id = $1 AND pol.created_at < $3 AND (pol.withdrawn_at IS NULL OR pol.withdrawn_at >= $3)
               ORDER BY pol.id, v.major DESC, v.minor DESC) c),
         staff AS MATERIALIZED (
            SELECT p.id, p.name, p.kind, p.department, p.line_manager,
                   row_number() OVER (ORDER BY (p.id IN (SELECT top_management_as_of($1, $3))) OR p.line_manager DESC, p.name) AS rank
              FROM people_on($1, $3) p WHERE p.org_id = $1 AND p.created_at < $3 AND is_current_on(p.start_date, p.end_date, $2)),
         acked AS (
            SELECT a.person_id, cur.k FROM acknowledgements a
              JOIN policy_versions v ON v.org_id = a.org_id AND v.id = a.policy_version_id
              JOIN cur ON cur.policy_id = v.policy_id AND cur.major = v.major
             WHERE a.org_id = $1 AND a.acknowledged_at < $3),
         prev_acked AS (
            SELECT a.person_id, cur.k FROM acknowledgements a
              JOIN policy_versions v ON v.org_id = a.org_id AND v.id = a.policy_version_id
              JOIN cur ON cur.policy_id = v.policy_id AND cur.prev_major = v.major
             WHERE a.org_id = $1 AND a.acknowledged_at < $3),
         missing AS (
            SELECT cur.k, p.id, p.name, p.rank, row_number() OVER (PARTITION BY cur.k ORDER BY p.rank) AS n,
                   cur.prev_major IS NOT NULL AND NOT EXISTS (SELECT 1 FROM prev_acked WHERE prev_acked.person_id = p.id AND prev_acked.k = cur.k) AS stale
              FROM cur JOIN staff p ON in_audience(cur.audience, cur.audience_departments, p.kind, p.line_manager, p.department)
             WHERE NOT EXISTS (SELECT 1 FROM acked WHERE acked.person_id = p.id AND acked.k = cur.k))
         SELECT cur.policy_id AS "policy_id!: PolicyId", a.audience AS "audience!", a.audience - COALESCE(m.total, 0) AS "acknowledged!",
                COALESCE(m.sample, '[]'::json) AS "missing!: Json<Vec<PersonRef>>", COALESCE(m.stale, 0) AS "stale!"
           FROM cur
           -- Audiences are counted over groups of staff alike in what the rule reads.
           JOIN (SELECT cur.k, sum(g.n)::bigint AS audience
                   FROM cur JOIN (SELECT kind, line_manager, department, count(*) AS n FROM staff GROUP BY 1, 2, 3) g
                     ON in_audience(cur.audience, cur.audience_departments, g.kind, g.line_manager, g.department)
                  GROUP BY cur.k) a ON a.k = cur.k
           LEFT JOIN (SELECT k, count(*) AS total, count(*) FILTER (WHERE stale) AS stale,
                             json_agg(json_build_object('id', id, 'name', name) ORDER BY rank) FILTER (WHERE n <= $4) AS sample
                        FROM missing GROUP BY k) m ON m.k = cur.k"#,
        org,
        as_of,
        cut,
        SAMPLE,
    )
    .fetch_all(&mut **tx)
    .await?)
}

// Every query below takes the same three parameters: the organisation ($1),
// the day ($2) and the cut-off ($3, the start of the next day); one that
// needs fewer still names the others (`$2::date IS NOT NULL`) so PostgreSQL
// knows their types. Conditions they share, written out in each:
// - current staff on the day, created by then (as a condition on `p`):
//   `p.created_at < $3 AND is_current_on(p.start_date, p.end_date, $2)`;
// - when an evidence item stops counting (NULL: never):
//   `COALESCE(i.valid_until, (i.evidence_date + make_interval(months => i.review_interval_months))::date)`;
// - the audience of a policy or module: `people::audience::sql_match`;
// Affected lists keep `SAMPLE` items ($4); the totals are counted in full.
async fn read(tx: &mut Transaction<'static, Postgres>, org_id: OrgId, as_of: NaiveDate) -> AppResult<Snapshot> {
    let cut = cutoff(as_of);
    let org = org_id.0;
    // The settings too are read as they stood that day.
    let o = sqlx::query!(r#"SELECT review_cadence_months AS "review_cadence_months!", widespread_percent AS "widespread_percent!", ack_grace_days AS "ack_grace_days!",
                minutes_grace_days AS "minutes_grace_days!", onboarding_grace_days AS "onboarding_grace_days!", repeated_from AS "repeated_from!"
           FROM organisations_on($1, $2)"#, org, cut)
        .fetch_one(&mut **tx)
        .await?;
    let cadence_months = o.review_cadence_months;
    let grading = crate::orgs::settings::Grading {
        widespread_percent: o.widespread_percent,
        ack_grace_days: o.ack_grace_days,
        minutes_grace_days: o.minutes_grace_days,
        onboarding_grace_days: o.onboarding_grace_days,
        repeated_from: o.repeated_from,
    };

    let st = sqlx::query!(
        r#"WITH staff AS (SELECT p.id, p.name, p.security_clause, (p.id IN (SELECT top_management_as_of($1, $3))) AS top_management, p.line_manager FROM people_on($1, $3) p
                          WHERE p.org_id = $1 AND p.created_at < $3 AND is_current_on(p.start_date, p.end_date, $2))
         SELECT (SELECT count(*) FROM staff) AS "total!", (SELECT count(*) FROM staff WHERE NOT security_clause) AS "no_clause!",
                COALESCE((SELECT json_agg(json_build_object('id', id, 'name', name)) FROM
                    (SELECT id, name FROM staff WHERE NOT security_clause ORDER BY top_management DESC, line_manager DESC, name LIMIT $4) x), '[]'::json)
                    AS "sample!: Json<Vec<PersonRef>>""#,
        org,
        as_of,
        cut,
        SAMPLE,
    )
    .fetch_one(&mut **tx)
    .await?;
    let staff = Staff { total: st.total, no_clause: st.no_clause, no_clause_sample: st.sample.0 };

    let requirements = sqlx::query_as!(
        Requirement,
        r#"SELECT r.id AS "id: RequirementId", r.code, r.clause, r.title, requirement_applies(r.code, s.applicable) AS "applicable!", o.id AS "owner_id?: PersonId",
                o.name AS "owner_name?", COALESCE(s.status, 'not_started') AS "status!", COALESCE(ev.n, 0) AS "evidence!",
                r.records AS "records: Vec<crate::requirements::records::Source>", r.owner_assignment
           FROM requirements r
           LEFT JOIN requirement_states_on($1, $3) s ON s.org_id = $1 AND s.requirement_id = r.id
           LEFT JOIN people_on($1, $3) o ON o.org_id = $1 AND o.id = s.owner_id
           LEFT JOIN (SELECT l.target_id, count(*) AS n FROM evidence_links_on($1, $3) l JOIN evidence_items_on($1, $3) i ON i.org_id = l.org_id AND i.id = l.item_id
                       WHERE l.org_id = $1 AND l.target_kind = 'requirement' AND l.linked_at < $3 AND i.created_at < $3
                         AND (i.evidence_date IS NULL OR i.evidence_date <= $2)
                         AND (COALESCE(i.valid_until, (i.evidence_date + make_interval(months => i.review_interval_months))::date) IS NULL
                              OR COALESCE(i.valid_until, (i.evidence_date + make_interval(months => i.review_interval_months))::date) >= $2)
                       GROUP BY l.target_id) ev ON ev.target_id = r.id
          WHERE (r.retired_at IS NULL OR r.retired_at >= $3)
          ORDER BY r.framework, r.position"#,
        org,
        as_of,
        cut,
    )
    .fetch_all(&mut **tx)
    .await?;

    let roles = sqlx::query_as!(
        Role,
        r#"SELECT id AS "id!: RoleId", name AS "name!", btrim(responsibilities) <> '' AS "has_responsibilities!", btrim(authorities) <> '' AS "has_authorities!",
                carries_conformance AS "carries_conformance!", carries_reporting AS "carries_reporting!"
           FROM isms_roles_on($1, $3) r WHERE org_id = $1 AND created_at < $3 AND (retired_at IS NULL OR retired_at >= $3) AND $2::date IS NOT NULL
          ORDER BY position, lower(name)"#,
        org,
        as_of,
        cut,
    )
    .fetch_all(&mut **tx)
    .await?;

    let appointments = sqlx::query_as!(
        Appointment,
        r#"SELECT a.id AS "id!: AppointmentId", a.role_id AS "role_id!: RoleId", r.name AS "role_name!", a.capacity AS "capacity!", p.id AS "person_id!: PersonId",
                p.name AS "person_name!", (p.id IN (SELECT top_management_as_of($1, $3))) AS "person_top!",
                (is_current_on(p.start_date, p.end_date, $2)) AS "person_current!",
                b.name AS "appointer_name?", (b.id IN (SELECT top_management_as_of($1, $3))) AS "appointer_top?", a.appointed_on,
                (a.confirmed_at IS NOT NULL AND a.confirmed_at < $3) AS "confirmed!",
                (a.accepted_at IS NOT NULL AND a.accepted_at < $3) AS "accepted!", btrim(a.hats_note) = '' AS "no_hats_note!"
           FROM role_appointments_known_on($1, $3) a
           JOIN isms_roles_on($1, $3) r ON r.org_id = a.org_id AND r.id = a.role_id AND r.created_at < $3 AND (r.retired_at IS NULL OR r.retired_at >= $3)
           JOIN people_on($1, $3) p ON p.org_id = a.org_id AND p.id = a.person_id
           LEFT JOIN people_on($1, $3) b ON b.org_id = a.org_id AND b.id = a.appointed_by
          WHERE a.org_id = $1 AND a.created_at < $3 AND (a.appointed_on IS NULL OR a.appointed_on <= $2) AND (a.ended_on IS NULL OR a.ended_on > $2)
          ORDER BY r.position, lower(r.name), a.capacity DESC, p.name"#,
        org,
        as_of,
        cut,
    )
    .fetch_all(&mut **tx)
    .await?;

    let raci = sqlx::query_as!(
        RaciActivity,
        r#"SELECT a.id AS "id!: RaciActivityId", a.name AS "name!", count(r.id) FILTER (WHERE c.letters IN ('A', 'AR')) AS "accountable!", a.assignment,
                COALESCE(array_agg(r.id) FILTER (WHERE c.letters IN ('A', 'AR') AND r.id IS NOT NULL), '{}') AS "accountable_roles!: Vec<RoleId>"
           FROM raci_activities_on($1, $3) a
           LEFT JOIN raci_cells_on($1, $3) c ON c.org_id = a.org_id AND c.activity_id = a.id
           LEFT JOIN isms_roles_on($1, $3) r ON r.org_id = c.org_id AND r.id = c.role_id AND r.created_at < $3 AND (r.retired_at IS NULL OR r.retired_at >= $3)
          WHERE a.org_id = $1 AND a.created_at < $3 AND (a.retired_at IS NULL OR a.retired_at >= $3) AND $2::date IS NOT NULL
          GROUP BY a.id, a.name, a.position, a.assignment ORDER BY a.position, a.name"#,
        org,
        as_of,
        cut,
    )
    .fetch_all(&mut **tx)
    .await?;

    let policies = sqlx::query_as!(
        Policy,
        r#"SELECT pol.id AS "id!: PolicyId", pol.title AS "title!", pol.kind AS "kind!: PolicyKind", pol.review_months AS "review_months!", cur.id AS "version_id?: VersionId",
                cur.major AS "major?", cur.minor AS "minor?", cur.approved_at AS "approved_at?", cur.approver_name AS "approver_name?",
                cur.approver_top_management AS "approver_top?",
                (SELECT NOT is_current_on(ap.start_date, ap.end_date, $2) FROM people_on($1, $3) ap WHERE ap.org_id = pol.org_id AND ap.id = cur.approver_person_id) AS approver_left,
                CASE WHEN cur.id IS NULL THEN ARRAY[]::boolean[] ELSE ARRAY[
                    COALESCE(btrim(cur.check_purpose), '') <> '', COALESCE(btrim(cur.check_objectives), '') <> '',
                    COALESCE(btrim(cur.check_requirements), '') <> '', COALESCE(btrim(cur.check_improvement), '') <> ''] END AS "checks!",
                (SELECT max(v.approved_at) FROM policy_versions v WHERE v.org_id = pol.org_id AND v.policy_id = pol.id AND v.approved_at < $3
                    AND v.approver_top_management) AS last_top_approval,
                (SELECT max(v.approved_at) FROM policy_versions v WHERE v.org_id = pol.org_id AND v.policy_id = pol.id AND v.approved_at < $3) AS last_approval,
                (SELECT min(v.approved_at) FROM policy_versions v WHERE v.org_id = pol.org_id AND v.policy_id = pol.id AND v.approved_at < $3
                    AND v.major = cur.major) AS major_since,
                (SELECT count(*) FROM policy_versions v WHERE v.org_id = pol.org_id AND v.policy_id = pol.id AND v.created_at < $3
                    AND (v.approved_at IS NULL OR v.approved_at >= $3)) AS "drafts!",
                pol.public_slug IS NOT NULL AS "public!"
           FROM policies_on($1, $3) pol
           LEFT JOIN LATERAL (SELECT v.* FROM policy_versions v WHERE v.org_id = pol.org_id AND v.policy_id = pol.id AND v.approved_at < $3
                               ORDER BY v.major DESC, v.minor DESC LIMIT 1) cur ON true
          WHERE pol.org_id = $1 AND pol.created_at < $3 AND (pol.withdrawn_at IS NULL OR pol.withdrawn_at >= $3) AND $2::date IS NOT NULL
          ORDER BY array_position(ARRAY['is_policy','management_statement','acceptable_use','topic_specific','disciplinary_process','training_plan'], pol.kind), pol.title"#,
        org,
        as_of,
        cut,
    )
    .fetch_all(&mut **tx)
    .await?;


    let modules = sqlx::query_as!(
        Module,
        r#"WITH s AS (
            SELECT t.id AS module_id, p.id, p.name, (p.id IN (SELECT top_management_as_of($1, $3))) OR p.line_manager AS leader,
                   EXISTS (SELECT 1 FROM training_records r WHERE r.org_id = t.org_id AND r.module_id = t.id AND r.person_id = p.id
                              AND r.recorded_at < $3 AND r.completed_on <= $2
                              AND (r.completed_on + make_interval(months => t.validity_months))::date >= $2) AS current
              FROM training_modules_on($1, $3) t JOIN people_on($1, $3) p ON p.org_id = t.org_id
                   AND p.created_at < $3 AND is_current_on(p.start_date, p.end_date, $2)
                   AND in_audience(t.audience, t.audience_departments, p.kind, p.line_manager, p.department)
             WHERE t.org_id = $1 AND t.created_at < $3 AND (t.retired_at IS NULL OR t.retired_at >= $3))
         SELECT t.id AS "id!: ModuleId", t.title AS "title!", t.kind AS "kind!", count(s.id) AS "audience!", count(s.id) FILTER (WHERE NOT s.current) AS "overdue!",
                COALESCE(to_json((array_agg(json_build_object('id', s.id, 'name', s.name) ORDER BY s.leader DESC, s.name) FILTER (WHERE NOT s.current))[1:$4::int]), '[]'::json)
                    AS "missing!: Json<Vec<PersonRef>>"
           FROM training_modules_on($1, $3) t LEFT JOIN s ON s.module_id = t.id
          WHERE t.org_id = $1 AND t.created_at < $3 AND (t.retired_at IS NULL OR t.retired_at >= $3)
          GROUP BY t.id, t.title, t.kind ORDER BY t.kind, t.title"#,
        org,
        as_of,
        cut,
        SAMPLE as i32,
    )
    .fetch_all(&mut **tx)
    .await?;

    // Every policy in force that asks people to acknowledge it, with the day
    // its current major version was first signed (the grace days run from then).
    let leaders = sqlx::query_as!(
        Leader,
        r#"WITH cur AS MATERIALIZED (
            SELECT DISTINCT ON (pol.id) pol.id AS policy_id, pol.title, policy_audience(pol.kind, pol.audience, pol.audience_reason) AS audience,
                   pol.audience_departments, v.major,
                   (SELECT min(v2.approved_at) FROM policy_versions v2 WHERE v2.org_id = pol.org_id AND v2.policy_id = pol.id AND v2.major = v.major
                       AND v2.approved_at < $3) AS since
              FROM policies_on($1, $3) pol JOIN policy_versions v ON v.org_id = pol.org_id AND v.policy_id = pol.id AND v.approved_at < $3
             WHERE pol.org_id = $1 AND pol.created_at < $3 AND (pol.withdrawn_at IS NULL OR pol.withdrawn_at >= $3)
             ORDER BY pol.id, v.major DESC, v.minor DESC)
         SELECT p.id AS "id!: PersonId", p.name AS "name!", (p.id IN (SELECT top_management_as_of($1, $3))) AS "top_management!", p.line_manager AS "line_manager!",
                COALESCE((SELECT array_agg(cur.title ORDER BY cur.title) FROM cur
                           WHERE in_audience(cur.audience, cur.audience_departments, p.kind, p.line_manager, p.department)
                             AND (cur.since AT TIME ZONE 'UTC')::date < ($2::date - $4::int)
                             AND NOT EXISTS (SELECT 1 FROM acknowledgements a JOIN policy_versions v ON v.org_id = a.org_id AND v.id = a.policy_version_id
                                              WHERE a.org_id = p.org_id AND a.person_id = p.id AND v.policy_id = cur.policy_id AND v.major = cur.major
                                                AND a.acknowledged_at < $3)), '{}') AS "unacknowledged!",
                EXISTS (SELECT 1 FROM training_records r JOIN training_modules_on($1, $3) t ON t.org_id = r.org_id AND t.id = r.module_id AND t.kind = 'awareness'
                         WHERE r.org_id = $1 AND t.org_id = $1 AND r.person_id = p.id AND r.recorded_at < $3 AND r.completed_on <= $2
                           AND (r.completed_on + make_interval(months => t.validity_months))::date >= $2) AS "trained!"
           FROM people_on($1, $3) p
          WHERE p.org_id = $1 AND p.created_at < $3 AND is_current_on(p.start_date, p.end_date, $2)
            AND ((p.id IN (SELECT top_management_as_of($1, $3))) OR p.line_manager)
          ORDER BY (p.id IN (SELECT top_management_as_of($1, $3))) DESC, p.name"#,
        org,
        as_of,
        cut,
        grading.ack_grace_days,
    )
    .fetch_all(&mut **tx)
    .await?;

    let starters = sqlx::query_as!(
        Starter,
        r#"SELECT p.id AS "id!: PersonId", p.name AS "name!", p.start_date AS "start_date!",
                f.first_ack AS "first_ack?"
           FROM people_on($1, $3) p
           LEFT JOIN (SELECT a.person_id, min(a.acknowledged_at) AS first_ack FROM acknowledgements a
                        JOIN policy_versions v ON v.org_id = a.org_id AND v.id = a.policy_version_id
                        JOIN policies_on($1, $3) pol ON pol.org_id = v.org_id AND pol.id = v.policy_id AND pol.kind IN ('is_policy', 'acceptable_use')
                       WHERE a.org_id = $1 AND a.acknowledged_at < $3
                       GROUP BY a.person_id) f ON f.person_id = p.id
          WHERE p.org_id = $1 AND p.created_at < $3 AND p.start_date IS NOT NULL AND is_current_on(p.start_date, p.end_date, $2)
            AND p.start_date >= ($2 - interval '12 months')::date
          ORDER BY p.start_date DESC, p.name"#,
        org,
        as_of,
        cut,
    )
    .fetch_all(&mut **tx)
    .await?;

    let expired = sqlx::query_as!(
        ExpiredItem,
        r#"SELECT i.id AS "id!: EvidenceId", i.title AS "title!", x.expires AS "expires!", count(*) OVER () AS "total!",
                ARRAY(SELECT r.code FROM evidence_links_on($1, $3) l JOIN requirements r ON r.id = l.target_id
                       WHERE l.org_id = i.org_id AND l.item_id = i.id AND l.target_kind = 'requirement' AND l.linked_at < $3
                       ORDER BY r.position) AS "codes!"
           FROM evidence_items_on($1, $3) i
           CROSS JOIN LATERAL (SELECT COALESCE(i.valid_until, (i.evidence_date + make_interval(months => i.review_interval_months))::date) AS expires) x
          WHERE i.org_id = $1 AND i.created_at < $3 AND x.expires < $2
            AND EXISTS (SELECT 1 FROM evidence_links_on($1, $3) l WHERE l.org_id = i.org_id AND l.item_id = i.id AND l.linked_at < $3)
          ORDER BY x.expires, i.title LIMIT $4"#,
        org,
        as_of,
        cut,
        SAMPLE,
    )
    .fetch_all(&mut **tx)
    .await?;

    let meetings = sqlx::query_as!(
        Meeting,
        r#"SELECT m.id AS "id!: MeetingId", m.title AS "title!", m.kind AS "kind!", m.planned_on, m.held_on, c.name AS "chair_name?",
                -- Signed off on paper: the minutes are shown to exist from the day the chair signed them.
                (CASE WHEN m.signed_off_recorded_at IS NOT NULL THEN m.signed_off_at < $3
                      ELSE btrim(m.minutes) <> '' OR EXISTS (SELECT 1 FROM evidence_links_on($1, $3) l WHERE l.org_id = m.org_id AND l.target_kind = 'meeting'
                                                              AND l.target_id = m.id AND l.linked_at < $3) END) AS "has_minutes!",
                EXISTS (SELECT 1 FROM people_on($1, $3) p WHERE p.org_id = m.org_id AND p.id = ANY(m.attendee_ids || m.chair_id) AND (p.id IN (SELECT top_management_as_of($1, $3)))) AS "top_present!",
                (m.signed_off_at IS NOT NULL AND m.signed_off_at < $3) AS "signed!",
                (m.signed_off_recorded_at IS NOT NULL AND m.signed_off_at < $3) AS "on_paper!", m.decisions AS "decisions!", m.inputs AS "inputs!"
           FROM meetings_known_on($1, $3) m LEFT JOIN people_on($1, $3) c ON c.org_id = m.org_id AND c.id = m.chair_id
          WHERE m.org_id = $1 AND m.created_at < $3 AND $2::date IS NOT NULL
          ORDER BY COALESCE(m.held_on, m.planned_on) DESC NULLS LAST, m.created_at DESC"#,
        org,
        as_of,
        cut,
    )
    .fetch_all(&mut **tx)
    .await?;

    let actions = sqlx::query_as!(
        Action,
        r#"SELECT a.id AS "id!: ActionItemId", a.title AS "title!", m.title AS "meeting_title?", o.name AS "owner_name?", a.due_on
           FROM action_items_on($1, $3) a
           LEFT JOIN meetings_known_on($1, $3) m ON m.org_id = a.org_id AND m.id = a.meeting_id
           LEFT JOIN people_on($1, $3) o ON o.org_id = a.org_id AND o.id = a.owner_id
          WHERE a.org_id = $1 AND a.created_at < $3 AND (a.status = 'open' OR a.closed_at IS NULL OR a.closed_at >= $3) AND $2::date IS NOT NULL
          ORDER BY a.due_on NULLS LAST, a.title"#,
        org,
        as_of,
        cut,
    )
    .fetch_all(&mut **tx)
    .await?;

    let decisions = sqlx::query_as!(
        Decision,
        r#"SELECT d.id AS "id!: DecisionId", d.title AS "title!", CASE WHEN d.decided_on <= $2 THEN d.decision ELSE 'pending' END AS "decision!",
                CASE WHEN d.decided_on <= $2 THEN d.decided_on END AS decided_on, b.name AS "decider_name?",
                (b.id IN (SELECT top_management_as_of($1, $3))) AS "decider_top?",
                d.amount, d.currency
           FROM resource_decisions_on($1, $3) d LEFT JOIN people_on($1, $3) b ON b.org_id = d.org_id AND b.id = d.decided_by
          WHERE d.org_id = $1 AND d.created_at < $3
          ORDER BY d.decided_on DESC NULLS LAST, d.created_at DESC"#,
        org,
        as_of,
        cut,
    )
    .fetch_all(&mut **tx)
    .await?;

    let communications = sqlx::query_as!(
        Communication,
        r#"SELECT c.id AS "id!: CommunicationId", c.subject AS "subject!", c.sent_on AS "sent_on!", f.name AS "from_name?", (f.id IN (SELECT top_management_as_of($1, $3))) AS "from_top?"
           FROM communications_on($1, $3) c LEFT JOIN people_on($1, $3) f ON f.org_id = c.org_id AND f.id = c.from_id
          WHERE c.org_id = $1 AND c.created_at < $3 AND c.sent_on <= $2
          ORDER BY c.sent_on DESC"#,
        org,
        as_of,
        cut,
    )
    .fetch_all(&mut **tx)
    .await?;

    let objectives = sqlx::query_as!(
        Objective,
        r#"SELECT o.id AS "id!: ObjectiveId", o.title AS "title!", o.status AS "status!: ObjectiveStatus", o.measure AS "measure!", o.target AS "target!", p.name AS "owner_name?", o.due_on, o.created_at AS "created_at!"
           FROM objectives_on($1, $3) o LEFT JOIN people_on($1, $3) p ON p.org_id = o.org_id AND p.id = o.owner_id
          WHERE o.org_id = $1 AND o.created_at < $3 AND $2::date IS NOT NULL
          ORDER BY o.due_on NULLS LAST, o.title"#,
        org,
        as_of,
        cut,
    )
    .fetch_all(&mut **tx)
    .await?;

    let asks = sqlx::query_as!(
        Ask,
        r#"SELECT a.id AS "id!: AskId", a.what AS "what!", p.name AS "asked_of_name!", a.asked_on AS "asked_on!", a.due_on,
                CASE WHEN a.responded_on <= $2 THEN a.responded_on END AS responded_on
           FROM leadership_asks_on($1, $3) a JOIN people_on($1, $3) p ON p.org_id = a.org_id AND p.id = a.asked_of
          WHERE a.org_id = $1 AND a.created_at < $3 AND a.asked_on <= $2
          ORDER BY a.due_on NULLS LAST, a.asked_on"#,
        org,
        as_of,
        cut,
    )
    .fetch_all(&mut **tx)
    .await?;

    Ok(Snapshot {
        as_of,
        cadence_months,
        grading,
        staff,
        requirements,
        roles,
        appointments,
        raci,
        policies,
        figures: Vec::new(),
        modules,
        leaders,
        starters,
        expired,
        meetings,
        actions,
        decisions,
        communications,
        objectives,
        asks,
    })
}
