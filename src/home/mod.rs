//! The landing page and an organisation's home page: each role lands on
//! its work (the day's verdict, then what it alone does next).
pub mod queue;

use crate::state::AppState;
use crate::web::routes::Routes;
use crate::auth::policy::{Action, Role};
use crate::auth::session::{Member, Visitor};
use crate::error::AppResult;
use crate::web::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access, Access::Can, Action::*};
    r.get("/", Access::Public, landing).get("/dashboard", Can(ViewHome), dashboard)
}

#[derive(Template, WebTemplate)]
#[template(path = "home/landing.html")]
struct LandingPage {
    layout: Layout,
}

async fn landing(visitor: Visitor) -> Response {
    if visitor.session.is_some() {
        return Redirect::to("/dashboard").into_response();
    }
    LandingPage { layout: Layout::basic(&visitor, "Mandate") }.into_response()
}

pub struct Activity {
    pub at: DateTime<Utc>,
    pub actor_label: String,
    pub action: String,
}

impl Activity {
    pub fn what(&self) -> &str {
        crate::audit::describe(&self.action)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "home/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    member: Member,
    /// What an auditor would raise today, in one sentence.
    verdict: String,
    /// The most serious open finding, with its fix one click away (for those who fix).
    first: Option<crate::gaps::model::Gap>,
    /// Findings in all (opportunities included).
    findings: usize,
    can_fix: bool,
    /// Signs, appoints, approves: their own work is on the leadership page.
    leads: bool,
    activity: Vec<Activity>,
    can_invite: bool,
    can_see_log: bool,
    missing_roles: Vec<&'static str>,
    /// Top-management changes this member may confirm or refuse.
    roster: Vec<crate::people::roster::model::ChangeRow>,
    /// The directory entry with this member's address, not yet claimed.
    claim: Option<crate::people::model::Person>,
    /// A top-management entry linked to this account that the roster has not
    /// confirmed the account for: its name.
    unconfirmed_leader: Option<String>,
    today: chrono::NaiveDate,
    /// Readiness cards need the day shown (always today here).
    as_of: chrono::NaiveDate,
    /// What the member owns and has not finished (all who can act).
    owned: queue::Listed,
    /// For those who follow findings up: their queue and readiness per clause.
    work: Option<Work>,
    /// What only the member can do (leaders: signatures, confirmations,
    /// asks; everyone linked to a person: their acknowledgements and training).
    tasks: Vec<crate::gaps::board::Task>,
    /// The audit-interview card, for executives.
    prep: Option<crate::gaps::board::Prep>,
    /// For auditors: the requests they raised and not closed, and the latest bundles.
    audit_room: Option<AuditRoom>,
}

/// An owner's or ISMS lead's queue.
pub struct Work {
    pub unowned: i64,
    pub requests: queue::Listed,
    pub due: queue::Listed,
    pub readiness: Vec<crate::gaps::routes::Readiness>,
}

pub struct AuditRoom {
    pub requests: queue::Listed,
    pub bundles: Vec<crate::bundles::jobs::Job>,
}

async fn dashboard(State(state): State<AppState>, member: Member) -> AppResult<DashboardPage> {
    let now = state.clock.now();
    let counts = sqlx::query!(r#"SELECT role, count(*) AS "count!" FROM memberships WHERE org_id = $1 AND disabled_at IS NULL GROUP BY role"#, member.org_id.0)
        .fetch_all(&state.db)
        .await?;
    // The day's findings, from the cache while nothing changed.
    let e = crate::gaps::evaluation(&state.db, &state.kept, member.org_id, now.date_naive()).await?;
    let first = e.gaps.iter().find(|g| g.severity != crate::gaps::model::Severity::Improvement).cloned();
    let can_see_log = member.can(Action::ViewAuditLog);
    let activity = if can_see_log {
        sqlx::query_as!(Activity, "SELECT at, actor_label, action FROM audit_log WHERE org_id = $1 ORDER BY at DESC, id DESC LIMIT 8", member.org_id.0)
            .fetch_all(&state.db)
            .await?
    } else {
        Vec::new()
    };
    let count_of = |role: Role| counts.iter().find(|c| c.role == role.as_str()).map(|c| c.count).unwrap_or(0);
    // Leadership work needs these people in the app; say who is missing.
    let missing_roles = [Role::IsmsLead, Role::Executive]
        .into_iter()
        .filter(|r| count_of(*r) == 0)
        .map(Role::label)
        .collect();
    let roster = roster_to_decide(&state, &member, now.date_naive()).await?;
    let claim = if crate::auth::policy::may_act_as_person(member.role, true) {
        crate::people::model::unclaimed_entry(&state.db, member.org_id, member.user_id, &member.email).await?
    } else {
        None
    };
    let today = now.date_naive();
    let owned = if crate::auth::policy::may_act_as_person(member.role, true) { queue::owned(&state.db, member.org_id, member.user_id, member.role).await? } else { Default::default() };
    let work = if member.can(Action::ManageFindings) {
        Some(Work {
            unowned: queue::unowned_findings(&state.db, member.org_id).await?,
            requests: queue::requests(&state.db, member.org_id, None).await?,
            due: queue::due_by(&state.db, member.org_id, today + chrono::Duration::days(7)).await?,
            readiness: crate::gaps::routes::readiness(&e),
        })
    } else {
        None
    };
    let mine = crate::gaps::model::mine(&state.db, member.org_id, member.user_id, today).await?;
    let drafts = if member.can(Action::SignPolicies) { crate::gaps::model::to_sign(&state.db, member.org_id, member.user_id, today).await? } else { Vec::new() };
    let invite_leader = crate::auth::policy::may_grant(member.role, Role::Executive) && crate::gaps::model::drafts_without_signer(&state.db, member.org_id, today).await?;
    let tasks = if member.role == Role::Auditor { Vec::new() } else { crate::gaps::board::tasks(mine.as_ref(), &drafts, invite_leader, today) };
    let prep = (member.role == Role::Executive).then(|| crate::gaps::board::prep(&e));
    let audit_room = if member.role == Role::Auditor {
        let mut bundles = crate::bundles::jobs::list(&state.db, member.org_id).await?;
        bundles.truncate(3);
        Some(AuditRoom { requests: queue::requests(&state.db, member.org_id, Some(member.user_id)).await?, bundles })
    } else {
        None
    };
    let unconfirmed_leader = sqlx::query_scalar!(
        "SELECT name FROM people WHERE org_id = $1 AND user_id = $2 AND top_management AND leader_account_id IS DISTINCT FROM user_id",
        member.org_id.0,
        member.user_id.0,
    )
    .fetch_optional(&state.db)
    .await?;
    Ok(DashboardPage {
        as_of: today,
        owned,
        work,
        tasks,
        prep,
        audit_room,
        roster,
        claim,
        unconfirmed_leader,
        today: now.date_naive(),
        layout: Layout::build(&state.db, &member.visitor, format!("{} — home", member.org_name)).await?,
        can_invite: member.can(Action::InviteMember),
        verdict: crate::gaps::board::verdict(&e.gaps),
        first,
        findings: e.gaps.len(),
        can_fix: member.can(Action::ManageEvidence) || member.can(Action::ManageLeadership),
        leads: member.can(Action::SignPolicies),
        member,
        activity,
        can_see_log,
        missing_roles,
    })
}

/// Pending top-management changes the member may decide: two queries.
async fn roster_to_decide(state: &AppState, me: &Member, today: chrono::NaiveDate) -> AppResult<Vec<crate::people::roster::model::ChangeRow>> {
    use crate::people::roster::model;
    let mut conn = state.db.acquire().await?;
    let acting = model::acting_accounts(&mut conn, me.org_id, today).await?;
    let pending = model::pending_changes(&mut conn, me.org_id).await?;
    Ok(pending.into_iter().filter(|c| model::may_decide(me.role, me.user_id, c.proposed_by, c.account_id, &acting)).collect())
}
