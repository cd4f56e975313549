//! Resource decisions: the queries and the types. Amounts are exact
//! (`numeric(14, 2)` read as a `Decimal`), in a three-letter currency.
use super::super::check_people;
use crate::audit::{self, Actor, Changes};
use crate::error::{AppError, AppResult};
use crate::ids::{DecisionId, MeetingId, ObjectiveId, OrgId, PersonId, RequirementId, UserId};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

crate::text_enum! {
    /// What was asked for.
    #[derive(Default)]
    pub enum DecisionWhat {
        #[default]
        Budget = "budget" => "Budget",
        Headcount = "headcount" => "Headcount",
        Tooling = "tooling" => "Tooling",
        Time = "time" => "Time",
    }
}

crate::text_enum! {
    /// What top management decided.
    #[derive(Default)]
    pub enum Outcome {
        #[default]
        Pending = "pending" => "Pending",
        Approved = "approved" => "Approved",
        Rejected = "rejected" => "Rejected",
        Deferred = "deferred" => "Deferred",
    }
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub id: DecisionId,
    pub what: DecisionWhat,
    pub title: String,
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    pub reason: String,
    pub objective_id: Option<ObjectiveId>,
    pub objective_title: Option<String>,
    pub requirement_id: Option<RequirementId>,
    pub requirement_code: Option<String>,
    pub asked_by: Option<PersonId>,
    pub asked_by_name: Option<String>,
    pub asked_on: Option<NaiveDate>,
    pub decided_by: Option<PersonId>,
    pub decided_by_name: Option<String>,
    pub decider_top_management: Option<bool>,
    pub decision: Outcome,
    pub decided_on: Option<NaiveDate>,
    pub meeting_id: Option<MeetingId>,
    pub meeting_title: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The account that entered it, and when.
    pub recorded_account: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl Decision {
    /// Entered after it was decided (from minutes or papers of before Mandate).
    pub fn entered_later(&self) -> bool {
        [self.asked_on, self.decided_on].into_iter().flatten().min().is_some_and(|d| d < self.recorded_at.date_naive())
    }
}

impl Decision {
    pub fn what_label(&self) -> &'static str {
        self.what.label()
    }
    pub fn decision_label(&self) -> &'static str {
        self.decision.label()
    }
    pub fn amount_text(&self) -> String {
        match self.amount {
            Some(a) => format!("{} {}", grouped(a), self.currency.clone().unwrap_or_default()).trim().to_string(),
            None => String::new(),
        }
    }
}

/// An amount with thousands separators and two decimals: 12500.5 → "12,500.50".
pub fn grouped(amount: Decimal) -> String {
    let text = format!("{amount:.2}");
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out}.{cents}")
}

/// An amount as typed ("12,500.50", "12500.5"): exact, rounded to cents,
/// from 0 to below a trillion; `None` when it is not one.
pub fn parse_amount(raw: &str) -> Option<Decimal> {
    let text = raw.trim().replace(',', "");
    let a = text.parse::<Decimal>().or_else(|_| Decimal::from_scientific(&text)).ok()?;
    (a >= Decimal::ZERO && a < Decimal::from(1_000_000_000_000_i64)).then(|| a.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero))
}

/// The latest decision date, if none falls within the last year.
pub fn stale_since(decisions: &[Decision], today: NaiveDate) -> Option<Option<NaiveDate>> {
    let last = decisions.iter().filter(|d| d.decision != Outcome::Pending).filter_map(|d| d.decided_on).max();
    match last {
        Some(d) if d > today - chrono::Duration::days(365) => None,
        other => Some(other),
    }
}

/// The organisation's decisions, latest first, undated requests on top; or one (`id`).
fn select(
    org_id: OrgId,
    id: Option<DecisionId>,
) -> sqlx::query::Map<'static, sqlx::Postgres, impl FnMut(sqlx::postgres::PgRow) -> Result<Decision, sqlx::Error> + Send, sqlx::postgres::PgArguments> {
    sqlx::query_as!(
        Decision,
        r#"SELECT d.id AS "id: DecisionId", d.what AS "what: DecisionWhat", d.title, d.amount, d.currency, d.reason,
        d.objective_id AS "objective_id: ObjectiveId", o.title AS "objective_title?",
        d.requirement_id AS "requirement_id: RequirementId", r.code AS "requirement_code?", d.asked_by AS "asked_by: PersonId", a.name AS "asked_by_name?", d.asked_on,
        d.decided_by AS "decided_by: PersonId", b.name AS "decided_by_name?", b.top_management AS "decider_top_management?", d.decision AS "decision: Outcome", d.decided_on,
        d.meeting_id AS "meeting_id: MeetingId", m.title AS "meeting_title?", d.created_at, ru.email AS "recorded_account?", d.recorded_at
   FROM resource_decisions d
   LEFT JOIN users ru ON ru.id = d.recorded_by
   LEFT JOIN objectives o ON o.org_id = d.org_id AND o.id = d.objective_id
   LEFT JOIN requirements r ON r.id = d.requirement_id
   LEFT JOIN people a ON a.org_id = d.org_id AND a.id = d.asked_by
   LEFT JOIN people b ON b.org_id = d.org_id AND b.id = d.decided_by
   LEFT JOIN meetings m ON m.org_id = d.org_id AND m.id = d.meeting_id
  WHERE d.org_id = $1 AND ($2::uuid IS NULL OR d.id = $2)
  ORDER BY COALESCE(d.decided_on, d.asked_on) DESC NULLS FIRST, d.created_at DESC"#,
        org_id.0,
        id.map(|i| i.0),
    )
}

reads!(Decision, DecisionId, |org, id| select(org, id));

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields {
    pub what: DecisionWhat,
    pub title: String,
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    pub reason: String,
    pub objective_id: Option<ObjectiveId>,
    pub requirement_id: Option<RequirementId>,
    pub asked_by: Option<PersonId>,
    pub asked_on: Option<NaiveDate>,
    pub decided_by: Option<PersonId>,
    pub decision: Outcome,
    pub decided_on: Option<NaiveDate>,
    pub meeting_id: Option<MeetingId>,
}

/// The linked objective and meeting must be this organisation's.
async fn check_links(conn: &mut PgConnection, org_id: OrgId, f: &Fields) -> AppResult<()> {
    let people: Vec<PersonId> = f.asked_by.into_iter().chain(f.decided_by).collect();
    check_people(conn, org_id, &people).await?;
    let ok = sqlx::query_scalar!(
        r#"SELECT ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM objectives WHERE org_id = $1 AND id = $2))
            AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM meetings WHERE org_id = $1 AND id = $3))
            AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM requirements WHERE id = $4)) AS "ok!""#,
        org_id.0,
        f.objective_id.map(|i| i.0),
        f.meeting_id.map(|i| i.0),
        f.requirement_id.map(|i| i.0),
    )
    .fetch_one(&mut *conn)
    .await?;
    if !ok {
        return Err(AppError::BadRequest("A linked objective, meeting or requirement is not in this organisation.".into()));
    }
    Ok(())
}

/// Writes the fields of a new record (`insert`) or of a changed one (`save`):
/// one statement for both, so the two can never store different columns.
///
/// A new record keeps the account that entered it (`recorded_by`) and when;
/// one entered with past dates (a decision taken before Mandate) exists
/// from the earlier of the day it was asked for and the day it was decided.
async fn write(conn: &mut PgConnection, org_id: OrgId, id: DecisionId, f: &Fields, now: DateTime<Utc>, recorded_by: Option<UserId>) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO resource_decisions (id, org_id, what, title, amount, currency, reason, objective_id, requirement_id, asked_by, asked_on, decided_by, decision, decided_on, meeting_id, created_at, updated_at, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, LEAST($16, $11::date::timestamptz, $14::date::timestamptz), $16, $17, $16)
         ON CONFLICT (id) DO UPDATE SET what = EXCLUDED.what, title = EXCLUDED.title, amount = EXCLUDED.amount, currency = EXCLUDED.currency, reason = EXCLUDED.reason, objective_id = EXCLUDED.objective_id, requirement_id = EXCLUDED.requirement_id, asked_by = EXCLUDED.asked_by, asked_on = EXCLUDED.asked_on, decided_by = EXCLUDED.decided_by, decision = EXCLUDED.decision, decided_on = EXCLUDED.decided_on, meeting_id = EXCLUDED.meeting_id, updated_at = EXCLUDED.updated_at
          WHERE resource_decisions.org_id = EXCLUDED.org_id",
        id.0,
        org_id.0,
        f.what.as_str(),
        f.title,
        f.amount,
        f.currency,
        f.reason,
        f.objective_id.map(|i| i.0),
        f.requirement_id.map(|i| i.0),
        f.asked_by.map(|i| i.0),
        f.asked_on,
        f.decided_by.map(|i| i.0),
        f.decision.as_str(),
        f.decided_on,
        f.meeting_id.map(|i| i.0),
        now,
        recorded_by.map(|u| u.0),
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Fields) -> AppResult<DecisionId> {
    check_links(conn, org_id, f).await?;
    let id = DecisionId::new();
    write(conn, org_id, id, f, now, actor.user_id).await?;
    audit::record(
        conn,
        actor,
        now,
        "decision.created",
        "resource_decision",
        id,
        json!({"title": f.title, "what": f.what, "amount": f.amount, "currency": f.currency, "decision": f.decision, "decided_by": f.decided_by, "decided_on": f.decided_on}),
    )
    .await?;
    Ok(id)
}

pub async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Decision, f: &Fields) -> AppResult<bool> {
    let mut c = Changes::new();
    c.field("what", before.what, f.what)
        .field("title", &before.title, &f.title)
        .field("amount", before.amount, f.amount)
        .field("currency", &before.currency, &f.currency)
        .field("reason", &before.reason, &f.reason)
        .field("objective_id", before.objective_id, f.objective_id)
        .field("requirement_id", before.requirement_id, f.requirement_id)
        .field("asked_by", before.asked_by, f.asked_by)
        .field("asked_on", before.asked_on, f.asked_on)
        .field("decided_by", before.decided_by, f.decided_by)
        .field("decision", before.decision, f.decision)
        .field("decided_on", before.decided_on, f.decided_on)
        .field("meeting_id", before.meeting_id, f.meeting_id);
    if c.is_empty() {
        return Ok(false);
    }
    check_links(conn, org_id, f).await?;
    write(conn, org_id, before.id, f, now, actor.user_id).await?;
    audit::record(conn, actor, now, "decision.updated", "resource_decision", before.id, c.into_value()).await?;
    Ok(true)
}

/// What a decision may be linked to, for the form's pickers.
pub struct Links {
    pub objectives: Vec<super::super::Opt<ObjectiveId>>,
    pub meetings: Vec<super::super::Opt<MeetingId>>,
    pub requirements: Vec<super::super::Opt<RequirementId>>,
}

pub async fn links(db: &PgPool, org_id: OrgId) -> AppResult<Links> {
    use super::super::Opt;
    Ok(Links {
        objectives: sqlx::query_as!(Opt::<ObjectiveId>, r#"SELECT id AS "id: ObjectiveId", title AS label FROM objectives WHERE org_id = $1 ORDER BY title"#, org_id.0)
            .fetch_all(db)
            .await?,
        meetings: sqlx::query_as!(
            Opt::<MeetingId>,
            r#"SELECT id AS "id: MeetingId", title || COALESCE(' (' || held_on::text || ')', '') AS "label!" FROM meetings WHERE org_id = $1 ORDER BY held_on DESC NULLS FIRST"#,
            org_id.0
        )
        .fetch_all(db)
        .await?,
        requirements: sqlx::query_as!(
            Opt::<RequirementId>,
            r#"SELECT id AS "id: RequirementId", code || ' ' || title AS "label!" FROM requirements WHERE retired_at IS NULL ORDER BY framework, position"#
        )
        .fetch_all(db)
        .await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped_by_thousands() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(grouped(d("0")), "0.00");
        assert_eq!(grouped(d("999.5")), "999.50");
        assert_eq!(grouped(d("1000")), "1,000.00");
        assert_eq!(grouped(d("12500.5")), "12,500.50");
        assert_eq!(grouped(d("1234567.891")), "1,234,567.89");
    }

    #[test]
    fn amounts_parse_exactly_as_typed() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(parse_amount("12,500.50"), Some(d("12500.50")));
        assert_eq!(parse_amount(" 12500.5 "), Some(d("12500.5")));
        assert_eq!(parse_amount("0.105"), Some(d("0.11")));
        assert_eq!(parse_amount("0.1").map(|a| a + d("0.2")), Some(d("0.3")), "no float drift");
        assert_eq!(parse_amount("-1"), None);
        assert_eq!(parse_amount("1000000000000"), None);
        assert_eq!(parse_amount("a lot"), None);
    }
}
