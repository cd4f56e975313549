//! The top-management roster: who counts as top management, and the
//! proposals that change it. An owner proposes; the change takes effect
//! when a leader other than the proposer confirms it (or, where the proposer
//! is the only leader, the person it names, with their own account). An
//! organisation with nobody on the roster yet is bootstrapped by its owner,
//! and that is recorded as such.
//!
//! Being on the roster is not enough to act as top management: the
//! confirmation also names the account that acts for the person
//! (`people.leader_account_id`). A person's account link that changed since
//! then does not carry the authority along.
use crate::audit::{self, Actor};
use crate::ids::{OrgId, PersonId, RosterChangeId, UserId};
use crate::auth::policy::{self, Role};
use crate::error::{AppError, AppResult};
use crate::people::model::{is_current, lock_directory};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::PgConnection;

crate::text_enum! {
    /// What a roster change does (`roster_changes.change`).
    pub enum Change {
        Add = "add" => "Add to top management",
        Remove = "remove" => "Remove from top management",
    }
}

crate::text_enum! {
    /// Where a roster change stands (`roster_changes.status`).
    pub enum ChangeStatus {
        Pending = "pending" => "Waiting for confirmation",
        Confirmed = "confirmed" => "Confirmed",
        Refused = "refused" => "Refused",
        Withdrawn = "withdrawn" => "Withdrawn",
    }
}

/// Someone on the roster, as the roster page shows them.
#[derive(Debug, Clone)]
pub struct Leader {
    pub person_id: PersonId,
    pub name: String,
    pub job_title: String,
    pub end_date: Option<NaiveDate>,
    /// The account confirmed to act for them, if any.
    pub account_email: Option<String>,
    /// Their confirmed account is still the one linked to them.
    pub account_current: bool,
    /// The account linked to them now (by its holder), confirmed or not.
    pub linked_email: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub bootstrap: bool,
}

impl Leader {
    pub fn has_left(&self, today: NaiveDate) -> bool {
        self.end_date.is_some_and(|e| e <= today)
    }
    pub fn acts(&self) -> bool {
        self.account_email.is_some() && self.account_current
    }
}

pub async fn leaders(conn: &mut PgConnection, org_id: OrgId) -> AppResult<Vec<Leader>> {
    Ok(sqlx::query_as!(
        Leader,
        r#"SELECT p.id AS "person_id: PersonId", p.name, p.job_title, p.end_date, u.email AS "account_email?",
                  coalesce(p.leader_account_id = p.user_id, false) AS "account_current!", l.email AS "linked_email?",
                  c.decided_at AS "since?", coalesce(c.bootstrap, false) AS "bootstrap!"
             FROM people p
             LEFT JOIN users u ON u.id = p.leader_account_id
             LEFT JOIN users l ON l.id = p.user_id
             LEFT JOIN LATERAL (SELECT decided_at, bootstrap FROM roster_changes r
                                 WHERE r.org_id = p.org_id AND r.person_id = p.id AND r.status = 'confirmed'
                                 ORDER BY r.decided_at DESC LIMIT 1) c ON true
            WHERE p.org_id = $1 AND p.top_management
            ORDER BY p.name"#,
        org_id.0,
    )
    .fetch_all(conn)
    .await?)
}

/// The accounts that act as top management on `today`: someone current on
/// the roster, still linked to the account the roster confirmed, whose
/// membership is active.
pub async fn acting_accounts(conn: &mut PgConnection, org_id: OrgId, today: NaiveDate) -> AppResult<Vec<UserId>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT p.leader_account_id AS "account!: UserId" FROM people p
             JOIN memberships m ON m.org_id = p.org_id AND m.user_id = p.leader_account_id AND m.disabled_at IS NULL
            WHERE p.org_id = $1 AND p.top_management AND p.leader_account_id = p.user_id
              AND is_current_on(p.start_date, p.end_date, $2)"#,
        org_id.0,
        today,
    )
    .fetch_all(conn)
    .await?)
}

/// A proposed or decided change, with who proposed and who decided.
#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub id: RosterChangeId,
    pub person_id: PersonId,
    pub person_name: String,
    pub person_title: String,
    pub change: Change,
    pub account_id: Option<UserId>,
    pub account_email: Option<String>,
    pub reason: String,
    pub proposed_by: Option<UserId>,
    pub proposed_by_name: Option<String>,
    pub proposed_by_email: Option<String>,
    pub proposed_at: DateTime<Utc>,
    pub status: ChangeStatus,
    pub decided_by_name: Option<String>,
    pub decided_by_email: Option<String>,
    pub decided_as_name: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub bootstrap: bool,
    /// For an addition: the day they took office before the roster was kept here.
    pub in_office_since: Option<NaiveDate>,
}

impl ChangeRow {
    pub fn is_pending(&self) -> bool {
        self.status == ChangeStatus::Pending
    }
    /// The change in words: "Add Jane Doe to top management".
    pub fn what(&self) -> String {
        match self.change {
            Change::Add => match self.in_office_since {
                Some(d) => format!("Add {} to top management, in office since {}", self.person_name, d.format("%-d %B %Y")),
                None => format!("Add {} to top management", self.person_name),
            },
            Change::Remove => format!("Remove {} from top management", self.person_name),
        }
    }
    pub fn status_label(&self) -> &'static str {
        match (self.status, self.bootstrap) {
            (ChangeStatus::Confirmed, true) => "In effect without confirmation (first leader of the organisation)",
            (status, _) => status.label(),
        }
    }
    /// "Jane Doe (jane@example.com)": the person and the account behind a decision.
    pub fn decided_by(&self) -> String {
        match (&self.decided_as_name, &self.decided_by_email) {
            (Some(p), Some(a)) => format!("{p}, signed in as {a}"),
            (None, Some(a)) => a.clone(),
            _ => String::new(),
        }
    }
    pub fn proposed_by(&self) -> String {
        match (&self.proposed_by_name, &self.proposed_by_email) {
            (Some(n), Some(e)) => format!("{n} ({e})"),
            _ => "Recorded before the roster existed".into(),
        }
    }
}

/// `query_as!(ChangeRow, ..)` with the select list of every query of
/// changes (`$1` the organisation), then the rest of the statement.
macro_rules! changes {
    ([$($rest:tt)+] $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ChangeRow,
            r#"SELECT c.id AS "id: RosterChangeId", c.person_id AS "person_id: PersonId", p.name AS person_name,
                      p.job_title AS person_title, c.change AS "change: Change", c.account_id AS "account_id: UserId",
                      a.email AS "account_email?", c.reason, c.proposed_by AS "proposed_by: UserId", pu.name AS "proposed_by_name?",
                      pu.email AS "proposed_by_email?", c.proposed_at, c.status AS "status: ChangeStatus", du.name AS "decided_by_name?",
                      du.email AS "decided_by_email?", dp.name AS "decided_as_name?", c.decided_at, c.bootstrap, c.in_office_since
                 FROM roster_changes c
                 JOIN people p ON p.org_id = c.org_id AND p.id = c.person_id
                 LEFT JOIN users a ON a.id = c.account_id
                 LEFT JOIN users pu ON pu.id = c.proposed_by
                 LEFT JOIN users du ON du.id = c.decided_by
                 LEFT JOIN people dp ON dp.org_id = c.org_id AND dp.id = c.decided_as
                WHERE c.org_id = $1 "# + $($rest)+
            $(, $arg)*
        )
    };
}

/// Every change, open ones first, then the latest decisions. Its argument
/// is bound already: run it with `fetch_all` or `fetch`.
pub fn all_changes(
    org_id: OrgId,
) -> sqlx::query::Map<'static, sqlx::Postgres, impl FnMut(sqlx::postgres::PgRow) -> Result<ChangeRow, sqlx::Error> + Send + use<>, sqlx::postgres::PgArguments> {
    changes!(["ORDER BY c.status = 'pending' DESC, coalesce(c.decided_at, c.proposed_at) DESC, c.id"], org_id.0)
}

pub async fn change(conn: &mut PgConnection, org_id: OrgId, id: RosterChangeId) -> AppResult<ChangeRow> {
    changes!(["AND c.id = $2"], org_id.0, id.0).fetch_optional(conn).await?.ok_or(AppError::NotFound)
}

/// Changes nobody has decided yet (what Home offers to leaders).
pub async fn pending_changes(conn: &mut PgConnection, org_id: OrgId) -> AppResult<Vec<ChangeRow>> {
    Ok(changes!(["AND c.status = 'pending' ORDER BY c.proposed_at, c.id"], org_id.0).fetch_all(conn).await?)
}

pub async fn changes(conn: &mut PgConnection, org_id: OrgId) -> AppResult<Vec<ChangeRow>> {
    Ok(all_changes(org_id).fetch_all(conn).await?)
}

/// The facts about the person a change names, read under the directory lock.
struct Subject {
    name: String,
    top_management: bool,
    user_id: Option<UserId>,
    leader_account_id: Option<UserId>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
}

async fn subject(conn: &mut PgConnection, org_id: OrgId, person_id: PersonId) -> AppResult<Subject> {
    sqlx::query_as!(
        Subject,
        r#"SELECT name, top_management, user_id AS "user_id: UserId", leader_account_id AS "leader_account_id: UserId", start_date, end_date
             FROM people
            WHERE org_id = $1 AND id = $2 FOR UPDATE"#,
        org_id.0,
        person_id.0,
    )
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound)
}

/// How many current people are on the roster (with or without an account).
async fn roster_size(conn: &mut PgConnection, org_id: OrgId, today: NaiveDate) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM people WHERE org_id = $1 AND top_management
              AND is_current_on(start_date, end_date, $2)"#,
        org_id.0,
        today,
    )
    .fetch_one(conn)
    .await?)
}

/// The member proposing or deciding a change.
pub struct Decider {
    pub actor: Actor,
    pub user_id: UserId,
    pub role: Role,
}

impl Decider {
    pub fn of(me: &crate::auth::session::Member) -> Self {
        Decider { actor: me.actor(), user_id: me.user_id, role: me.role }
    }
}

/// Why a proposal cannot be made, in the owner's words; `None` when it can.
/// `acting`: the accounts acting as top management now.
fn proposal_refusal(change: Change, s: &Subject, today: NaiveDate, roster: i64, acting: &[UserId], proposer: UserId) -> Option<String> {
    let others = acting.iter().any(|a| *a != proposer);
    match change {
        Change::Add => {
            if !is_current(s.start_date, s.end_date, today) {
                return Some(format!("{} does not work here on {today}: only current staff join top management.", s.name));
            }
            if s.top_management && s.leader_account_id == s.user_id {
                return Some(format!("{} is already top management.", s.name));
            }
            if roster > 0 && !others && s.user_id.is_none() {
                return Some(format!(
                    "Nobody but you acts as top management, so {} confirms this with their own account, and they have none yet. \
                     Invite them first; propose again once they have joined.",
                    s.name
                ));
            }
            if roster > 0 && !others && s.user_id == Some(proposer) {
                return Some("Another member of top management must confirm your own addition, and nobody else acts as top management yet.".into());
            }
        }
        Change::Remove => {
            if !s.top_management {
                return Some(format!("{} is not top management.", s.name));
            }
            if roster <= 1 {
                return Some(format!("{} is the last member of top management. Add someone else first.", s.name));
            }
            if !others && s.leader_account_id.is_none() {
                return Some(format!("Nobody but you acts as top management and {} has no account to confirm with.", s.name));
            }
        }
    }
    None
}

/// Records a proposal. Where nobody is on the roster yet it takes effect
/// at once, recorded as the owner's bootstrap. Returns the change's id and
/// whether it is already in effect.
/// What an owner proposes: to add or remove a person, why, and for an
/// addition, optionally the day they took office before the roster was
/// kept in Mandate (views of past days count them from then once confirmed).
#[derive(Debug, Clone, Copy)]
pub struct Proposal<'a> {
    pub person_id: PersonId,
    pub change: Change,
    pub reason: &'a str,
    pub in_office_since: Option<NaiveDate>,
}

/// Why a stated day of taking office cannot stand, if it cannot: in the
/// future, only for additions, and not before an earlier decided change for
/// the same person (`last_decided`) or their first day (`start`).
pub fn since_refusal(change: Change, since: NaiveDate, today: NaiveDate, start: Option<NaiveDate>, last_decided: Option<NaiveDate>) -> Option<String> {
    if change != Change::Add {
        Some("Only an addition to top management has a day they took office.".into())
    } else if since > today {
        Some("The day they took office cannot be in the future: leave it empty for today.".into())
    } else if let Some(s) = start.filter(|s| since < *s) {
        Some(format!("They started on {s}: they cannot have taken office before that."))
    } else {
        last_decided
            .filter(|d| since <= *d)
            .map(|d| format!("The roster already has a decision about them on {d}: the day they took office must come after it."))
    }
}

pub async fn propose(conn: &mut PgConnection, by: &Decider, now: DateTime<Utc>, org_id: OrgId, proposal: Proposal<'_>) -> AppResult<(RosterChangeId, bool)> {
    let Proposal { person_id, change, reason, in_office_since } = proposal;
    if !policy::allows(by.role, policy::Action::ProposeRosterChange) {
        return Err(AppError::Forbidden);
    }
    lock_directory(conn, org_id).await?;
    let today = now.date_naive();
    let s = subject(conn, org_id, person_id).await?;
    let acting = acting_accounts(conn, org_id, today).await?;
    let roster = roster_size(conn, org_id, today).await?;
    if let Some(why) = proposal_refusal(change, &s, today, roster, &acting, by.user_id) {
        return Err(AppError::Conflict(why));
    }
    if let Some(since) = in_office_since {
        let last_decided = sqlx::query_scalar!(
            r#"SELECT max(decided_at) AS "at" FROM roster_changes WHERE org_id = $1 AND person_id = $2 AND status = 'confirmed'"#,
            org_id.0,
            person_id.0
        )
        .fetch_one(&mut *conn)
        .await?
        .map(|t| t.date_naive());
        let start = sqlx::query_scalar!("SELECT start_date FROM people WHERE org_id = $1 AND id = $2", org_id.0, person_id.0).fetch_one(&mut *conn).await?;
        if let Some(why) = since_refusal(change, since, today, start, last_decided) {
            return Err(AppError::Conflict(why));
        }
    }
    let bootstrap = change == Change::Add && roster == 0;
    let account = match change {
        Change::Add => s.user_id,
        Change::Remove => s.leader_account_id,
    };
    let id = RosterChangeId::new();
    let inserted = sqlx::query!(
        "INSERT INTO roster_changes (id, org_id, person_id, change, account_id, reason, proposed_by, proposed_at, status, in_office_since)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9)",
        id.0,
        org_id.0,
        person_id.0,
        change.as_str(),
        account.map(|a| a.0),
        reason,
        by.user_id.0,
        now,
        in_office_since,
    )
    .execute(&mut *conn)
    .await;
    if let Err(sqlx::Error::Database(d)) = &inserted
        && d.constraint() == Some("roster_changes_one_pending")
    {
        return Err(AppError::Conflict(format!("A change for {} is already waiting. Decide or withdraw it first.", s.name)));
    }
    inserted?;
    audit::record(
        conn,
        &by.actor,
        now,
        "roster.proposed",
        "roster_change",
        id,
        json!({"person": s.name, "person_id": person_id, "change": change.as_str(), "account_id": account, "reason": reason, "in_office_since": in_office_since}),
    )
    .await?;
    if bootstrap {
        decide_as(conn, by, now, org_id, id, person_id, change, account, ChangeStatus::Confirmed, true).await?;
    }
    Ok((id, bootstrap))
}

/// A pending change, locked for the rest of the transaction.
struct Pending {
    person_id: PersonId,
    change: Change,
    account_id: Option<UserId>,
    proposed_by: Option<UserId>,
    status: ChangeStatus,
}

async fn pending(conn: &mut PgConnection, org_id: OrgId, id: RosterChangeId) -> AppResult<Pending> {
    let p = sqlx::query_as!(
        Pending,
        r#"SELECT person_id AS "person_id: PersonId", change AS "change: Change", account_id AS "account_id: UserId",
                  proposed_by AS "proposed_by: UserId", status AS "status: ChangeStatus"
             FROM roster_changes WHERE org_id = $1 AND id = $2 FOR UPDATE"#,
        org_id.0,
        id.0,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    if p.status != ChangeStatus::Pending {
        return Err(AppError::Conflict("This change was already decided.".into()));
    }
    Ok(p)
}

/// Whether `user_id` may confirm or refuse the change (see `policy::may_decide_roster_change`).
pub fn may_decide(role: Role, user_id: UserId, proposed_by: Option<UserId>, subject_account: Option<UserId>, acting: &[UserId]) -> bool {
    let others = acting.iter().any(|a| Some(*a) != proposed_by);
    policy::may_decide_roster_change(role, proposed_by == Some(user_id), acting.contains(&user_id), others, subject_account == Some(user_id))
}

/// Confirms (`true`) or refuses a pending change as `by`.
pub async fn decide(conn: &mut PgConnection, by: &Decider, now: DateTime<Utc>, org_id: OrgId, id: RosterChangeId, confirm: bool) -> AppResult<String> {
    lock_directory(conn, org_id).await?;
    let today = now.date_naive();
    let p = pending(conn, org_id, id).await?;
    let change = p.change;
    let s = subject(conn, org_id, p.person_id).await?;
    let acting = acting_accounts(conn, org_id, today).await?;
    if p.proposed_by == Some(by.user_id) {
        return Err(AppError::Conflict("You proposed this change: another member of top management decides it.".into()));
    }
    if !may_decide(by.role, by.user_id, p.proposed_by, p.account_id, &acting) {
        return Err(AppError::Forbidden);
    }
    if confirm {
        match change {
            Change::Add if s.user_id != p.account_id => {
                return Err(AppError::Conflict(format!(
                    "{}'s account changed since this was proposed. Refuse it and ask an owner to propose it again.",
                    s.name
                )));
            }
            Change::Add if !is_current(s.start_date, s.end_date, today) => {
                return Err(AppError::Conflict(format!("{} no longer works here.", s.name)));
            }
            Change::Remove if roster_size(conn, org_id, today).await? <= 1 => {
                return Err(AppError::Conflict(format!("{} is the last member of top management and cannot be removed.", s.name)));
            }
            _ => {}
        }
    }
    let status = if confirm { ChangeStatus::Confirmed } else { ChangeStatus::Refused };
    decide_as(conn, by, now, org_id, id, p.person_id, change, p.account_id, status, false).await?;
    Ok(s.name)
}

/// Writes the decision, and applies a confirmed one to the directory.
#[allow(clippy::too_many_arguments)]
async fn decide_as(
    conn: &mut PgConnection,
    by: &Decider,
    now: DateTime<Utc>,
    org_id: OrgId,
    id: RosterChangeId,
    person_id: PersonId,
    change: Change,
    account: Option<UserId>,
    status: ChangeStatus,
    bootstrap: bool,
) -> AppResult<()> {
    let decided_as = sqlx::query_scalar!(
        r#"SELECT id AS "id: PersonId" FROM people WHERE org_id = $1 AND acting_user_id = $2"#,
        org_id.0,
        by.user_id.0,
    )
    .fetch_optional(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE roster_changes SET status = $3, decided_by = $4, decided_as = $5, decided_at = $6, bootstrap = $7
          WHERE org_id = $1 AND id = $2",
        org_id.0,
        id.0,
        status.as_str(),
        by.user_id.0,
        decided_as.map(|p| p.0),
        now,
        bootstrap,
    )
    .execute(&mut *conn)
    .await?;
    if status == ChangeStatus::Confirmed {
        let (top, leader) = match change {
            Change::Add => (true, account),
            Change::Remove => (false, None),
        };
        sqlx::query!(
            "UPDATE people SET top_management = $3, leader_account_id = $4, updated_at = $5 WHERE org_id = $1 AND id = $2",
            org_id.0,
            person_id.0,
            top,
            leader.map(|l| l.0),
            now,
        )
        .execute(&mut *conn)
        .await?;
    }
    let action = match (status, bootstrap) {
        (ChangeStatus::Confirmed, true) => "roster.bootstrapped",
        (ChangeStatus::Confirmed, false) => "roster.confirmed",
        _ => "roster.refused",
    };
    audit::record(
        conn,
        &by.actor,
        now,
        action,
        "roster_change",
        id,
        json!({"person_id": person_id, "change": change.as_str(), "account_id": account, "decided_as": decided_as}),
    )
    .await?;
    Ok(())
}

/// The proposer takes back a change nobody has decided yet.
pub async fn withdraw(conn: &mut PgConnection, by: &Decider, now: DateTime<Utc>, org_id: OrgId, id: RosterChangeId) -> AppResult<()> {
    let p = pending(conn, org_id, id).await?;
    if p.proposed_by != Some(by.user_id) {
        return Err(AppError::Forbidden);
    }
    sqlx::query!(
        "UPDATE roster_changes SET status = 'withdrawn', decided_by = $3, decided_at = $4 WHERE org_id = $1 AND id = $2",
        org_id.0,
        id.0,
        by.user_id.0,
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, &by.actor, now, "roster.withdrawn", "roster_change", id, json!({"person_id": p.person_id, "change": p.change})).await?;
    Ok(())
}

/// Seeds (the demo, the generator): everyone already flagged as top
/// management is recorded as the organisation's bootstrap, acting with the
/// account they are linked to, from the day they started.
pub async fn record_seeded(conn: &mut PgConnection, org_id: OrgId) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO roster_changes (id, org_id, person_id, change, account_id, reason, proposed_by, proposed_at, status, decided_by, decided_at, bootstrap)
         SELECT gen_random_uuid(), p.org_id, p.id, 'add', p.user_id, 'Top management when the organisation was set up.', NULL, d.at,
                'confirmed', NULL, d.at, true
           FROM people p
          CROSS JOIN LATERAL (SELECT LEAST(p.created_at, COALESCE(p.start_date, DATE '2015-01-01')::timestamptz) AS at) d
          WHERE p.org_id = $1 AND p.top_management
            AND NOT EXISTS (SELECT 1 FROM roster_changes c WHERE c.org_id = p.org_id AND c.person_id = p.id)",
        org_id.0,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("UPDATE people SET leader_account_id = user_id WHERE org_id = $1 AND top_management AND leader_account_id IS NULL", org_id.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_of_taking_office_is_past_after_the_start_and_after_earlier_decisions() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let today = d("2026-11-02");
        assert_eq!(since_refusal(Change::Add, d("2021-03-01"), today, Some(d("2015-01-01")), None), None);
        assert!(since_refusal(Change::Remove, d("2021-03-01"), today, None, None).is_some_and(|w| w.contains("Only an addition")));
        assert!(since_refusal(Change::Add, d("2026-11-03"), today, None, None).is_some_and(|w| w.contains("future")));
        assert!(since_refusal(Change::Add, d("2014-12-31"), today, Some(d("2015-01-01")), None).is_some_and(|w| w.contains("started on 2015-01-01")));
        assert!(since_refusal(Change::Add, d("2022-06-01"), today, None, Some(d("2023-01-01"))).is_some_and(|w| w.contains("2023-01-01")));
    }

    fn person(top: bool, user: Option<UserId>, leader: Option<UserId>) -> Subject {
        Subject { name: "Jane".into(), top_management: top, user_id: user, leader_account_id: leader, start_date: None, end_date: None }
    }

    #[test]
    fn proposals_that_could_never_be_confirmed_are_refused_up_front() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let (owner, jane, ceo) = (UserId::new(), UserId::new(), UserId::new());
        // Nobody on the roster: the owner bootstraps anyone, themselves included.
        assert_eq!(proposal_refusal(Change::Add, &person(false, Some(owner), None), today, 0, &[], owner), None);
        // Another leader confirms.
        assert_eq!(proposal_refusal(Change::Add, &person(false, None, None), today, 1, &[ceo], owner), None);
        // The proposer is the only leader: the person named confirms, so they need an account...
        assert!(proposal_refusal(Change::Add, &person(false, None, None), today, 1, &[owner], owner).is_some());
        assert_eq!(proposal_refusal(Change::Add, &person(false, Some(jane), None), today, 1, &[owner], owner), None);
        // ...and cannot be the proposer.
        assert!(proposal_refusal(Change::Add, &person(false, Some(owner), None), today, 1, &[], owner).is_some());
        // Already on the roster with their account.
        assert!(proposal_refusal(Change::Add, &person(true, Some(jane), Some(jane)), today, 2, &[ceo], owner).is_some());
        // On the roster but their account changed since: confirming the new account is a proposal too.
        assert_eq!(proposal_refusal(Change::Add, &person(true, Some(jane), Some(ceo)), today, 2, &[ceo], owner), None);
        // The last leader stays.
        assert!(proposal_refusal(Change::Remove, &person(true, Some(ceo), Some(ceo)), today, 1, &[ceo], owner).is_some());
        assert_eq!(proposal_refusal(Change::Remove, &person(true, Some(jane), Some(jane)), today, 2, &[ceo, jane], owner), None);
        assert!(proposal_refusal(Change::Remove, &person(false, None, None), today, 2, &[ceo], owner).is_some());
        // Leavers do not join.
        let left = Subject { end_date: Some(today), ..person(false, Some(jane), None) };
        assert!(proposal_refusal(Change::Add, &left, today, 1, &[ceo], owner).is_some());
    }

    #[test]
    fn deciders_are_other_leaders_or_the_person_named() {
        let (owner, ceo, jane, lead) = (UserId::new(), UserId::new(), UserId::new(), UserId::new());
        assert!(may_decide(Role::Executive, ceo, Some(owner), Some(jane), &[ceo]));
        assert!(!may_decide(Role::IsmsLead, lead, Some(owner), Some(jane), &[ceo]));
        assert!(!may_decide(Role::Executive, jane, Some(owner), Some(jane), &[ceo]), "another leader exists: they decide");
        assert!(may_decide(Role::Executive, jane, Some(owner), Some(jane), &[owner]), "the proposer is the only leader");
        assert!(!may_decide(Role::Owner, owner, Some(owner), Some(jane), &[owner, ceo]), "never one's own proposal");
    }
}
