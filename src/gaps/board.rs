//! The leadership dashboard: where each clause stands in plain words, the
//! trend of open gaps, what only the signed-in executive can do, and a card
//! to prepare for the audit interview.
use crate::ids::OrgId;
use super::model::{CLAUSES, Counts, Gap, Severity};
use super::snapshot::{Decision, Meeting, Objective};
use super::trend::{self, Point};
use super::{Evaluation, evaluation, trend_point};
use crate::state::AppState;
use crate::auth::policy::Action;
use crate::auth::session::Member;
use crate::error::AppResult;
use crate::leadership::{asks, meetings};
use crate::people::{audience, model as people};
use crate::web::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use futures_util::{StreamExt, TryStreamExt};
use sqlx::PgPool;
use uuid::Uuid;

pub fn routes(r: crate::web::routes::Routes) -> crate::web::routes::Routes {
    r.get("/leadership", board_page).get("/leadership/trend.svg", trend_svg)
}

/// One clause in a sentence.
pub struct ClauseStatus {
    pub code: &'static str,
    pub title: &'static str,
    pub status: &'static str,
    pub class: &'static str,
    pub sentence: String,
}

fn all_good(code: &str) -> &'static str {
    match code {
        "5.1" => "Reviews, resource decisions, objectives and communication are on record.",
        "5.2" => "The policy is signed by top management, current and acknowledged.",
        "5.3" => "The mandatory roles are held, appointed by top management and accepted.",
        _ => "Leaders and staff have acknowledged the policy and are trained.",
    }
}

pub fn clause_statuses(gaps: &[Gap]) -> Vec<ClauseStatus> {
    CLAUSES
        .iter()
        .map(|(code, title)| {
            let mine: Vec<&Gap> = gaps.iter().filter(|g| g.touches(code) && g.severity != Severity::Advice).collect();
            let (status, class) = match mine.first().map(|g| g.severity) {
                Some(Severity::Major) => ("At risk", "at-risk"),
                Some(_) => ("Needs attention", "attention"),
                None => ("On track", "on-track"),
            };
            let sentence = match mine.as_slice() {
                [] => all_good(code).to_string(),
                [only] => format!("{}.", only.title),
                [first, rest @ ..] => format!("{}, and {} more issue(s).", first.title, rest.len()),
            };
            ClauseStatus { code, title, status, class, sentence }
        })
        .collect()
}

#[derive(sqlx::FromRow)]
pub struct ToConfirm {
    pub id: Uuid,
    pub role_name: String,
    pub person_name: String,
}

#[derive(sqlx::FromRow)]
pub struct ToAcknowledge {
    pub policy_id: Uuid,
    pub version_id: Uuid,
    pub title: String,
    pub major: i32,
    pub minor: i32,
}

#[derive(sqlx::FromRow)]
pub struct ToTrain {
    pub id: Uuid,
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

async fn mine(db: &PgPool, org_id: OrgId, user_id: Uuid, today: NaiveDate) -> AppResult<Option<Mine>> {
    let Some(me) = people::person_of_user(db, org_id, user_id).await? else { return Ok(None) };
    let confirm = sqlx::query_as(
        "SELECT a.id, r.name AS role_name, p.name AS person_name FROM role_appointments a
           JOIN isms_roles r ON r.org_id = a.org_id AND r.id = a.role_id AND r.retired_at IS NULL
           JOIN people p ON p.org_id = a.org_id AND p.id = a.person_id
          WHERE a.org_id = $1 AND a.appointed_by = $2 AND a.confirmed_at IS NULL AND (a.ended_on IS NULL OR a.ended_on > $3)
          ORDER BY r.name",
    )
    .bind(org_id)
    .bind(me.id)
    .bind(today)
    .fetch_all(db)
    .await?;
    let acknowledge = sqlx::query_as(&format!(
        "SELECT pol.id AS policy_id, cur.id AS version_id, pol.title, cur.major, cur.minor FROM policies pol
           JOIN LATERAL (SELECT v.id, v.major, v.minor FROM policy_versions v WHERE v.org_id = pol.org_id AND v.policy_id = pol.id AND v.approved_at IS NOT NULL
                          ORDER BY v.major DESC, v.minor DESC LIMIT 1) cur ON true
           JOIN people p ON p.org_id = pol.org_id AND p.id = $2 AND {}
          WHERE pol.org_id = $1 AND $3::date IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM acknowledgements a JOIN policy_versions v ON v.org_id = a.org_id AND v.id = a.policy_version_id
                 WHERE a.org_id = pol.org_id AND a.person_id = p.id AND v.policy_id = pol.id AND v.major = cur.major)
          ORDER BY pol.title",
        audience::sql_match("pol", "p")
    ))
    .bind(org_id)
    .bind(me.id)
    .bind(today)
    .fetch_all(db)
    .await?;
    let train = sqlx::query_as(&format!(
        "SELECT t.id, t.title, (SELECT max(r.completed_on) FROM training_records r WHERE r.org_id = t.org_id AND r.module_id = t.id AND r.person_id = p.id) AS last
           FROM training_modules t JOIN people p ON p.org_id = t.org_id AND p.id = $2 AND {}
          WHERE t.org_id = $1 AND NOT EXISTS (
                SELECT 1 FROM training_records r WHERE r.org_id = t.org_id AND r.module_id = t.id AND r.person_id = p.id
                   AND (r.completed_on + make_interval(months => t.validity_months))::date >= $3)
          ORDER BY t.title",
        audience::sql_match("t", "p")
    ))
    .bind(org_id)
    .bind(me.id)
    .bind(today)
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

/// The facts an executive should have at hand in the audit interview.
pub struct Prep {
    pub objectives: Vec<Objective>,
    pub last_review: Option<Meeting>,
    pub last_decision: Option<Decision>,
    pub top_gaps: Vec<Gap>,
    pub conformance: Vec<String>,
    pub reporting: Vec<String>,
}

pub fn prep(e: &Evaluation) -> Prep {
    let s = &e.snapshot;
    let holders = |carries: fn(&super::snapshot::Role) -> bool| -> Vec<String> {
        let mut v: Vec<String> = s
            .appointments
            .iter()
            .filter(|a| a.is_holder() && a.person_current && s.roles.iter().any(|r| r.id == a.role_id && carries(r)))
            .map(|a| format!("{} ({})", a.person_name, a.role_name))
            .collect();
        v.dedup();
        v
    };
    Prep {
        objectives: s.objectives.iter().filter(|o| o.is_current()).cloned().collect(),
        last_review: s.meetings.iter().filter(|m| m.is_review() && m.held_by(s.as_of).is_some()).max_by_key(|m| m.held_on).cloned(),
        last_decision: s.decisions.iter().filter(|d| d.decision != "pending" && d.decided_on.is_some()).max_by_key(|d| d.decided_on).cloned(),
        top_gaps: e.gaps.iter().filter(|g| g.severity != Severity::Advice).take(3).cloned().collect(),
        conformance: holders(|r| r.carries_conformance),
        reporting: holders(|r| r.carries_reporting),
    }
}

/// The next management review: one planned, and when one is due at the latest.
pub struct NextReview {
    pub planned: Option<(Uuid, String, NaiveDate)>,
    pub due: NaiveDate,
    pub overdue: bool,
}

fn next_review(e: &Evaluation) -> NextReview {
    let s = &e.snapshot;
    let last = s.meetings.iter().filter(|m| m.is_review()).filter_map(|m| m.held_by(s.as_of)).max();
    let due = meetings::next_review_due(last, s.cadence_months, s.as_of);
    let planned = s
        .meetings
        .iter()
        .filter(|m| m.is_review() && m.held_by(s.as_of).is_none())
        .filter_map(|m| Some((m.id, m.title.clone(), m.planned_on.filter(|d| *d >= s.as_of)?)))
        .min_by_key(|(_, _, d)| *d);
    NextReview { planned, due, overdue: last.is_some() && due < s.as_of }
}

#[derive(Template, WebTemplate)]
#[template(path = "gaps/board.html")]
struct BoardPage {
    layout: Layout,
    today: NaiveDate,
    counts: Counts,
    clauses: Vec<ClauseStatus>,
    mine: Option<Mine>,
    /// Policies with drafts awaiting a signature: (policy, title, drafts).
    drafts: Vec<(Uuid, String, i64)>,
    next: NextReview,
    prep: Prep,
}

async fn board_page(State(state): State<AppState>, me: Member) -> AppResult<BoardPage> {
    me.require(Action::ViewGaps)?;
    let today = state.clock.now().date_naive();
    let e = evaluation(&state.db, &state.gaps, me.org_id, today).await?;
    let can_sign = me.can(Action::SignPolicies);
    let drafts = if can_sign { e.snapshot.policies.iter().filter(|p| p.drafts > 0).map(|p| (p.id, p.title.clone(), p.drafts)).collect() } else { Vec::new() };
    Ok(BoardPage {
        layout: Layout::build(&state.db, &me.visitor, "Leadership dashboard").await?,
        mine: mine(&state.db, me.org_id, me.user_id.into(), today).await?,
        counts: Counts::of(&e.gaps),
        clauses: clause_statuses(&e.gaps),
        next: next_review(&e),
        prep: prep(&e),
        drafts,
        today,
    })
}

/// The trend chart as an image of its own, so the dashboard never waits for it.
/// How many of the trend's evaluations run at once.
const TREND_PARALLEL: usize = 3;

async fn trend_svg(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    me.require(Action::ViewGaps)?;
    let today = state.clock.now().date_naive();
    let head = crate::audit::records_version(&state.db, me.org_id).await?;
    // Thirteen evaluations when nothing is cached: run a few side by side,
    // so PostgreSQL can use more than one core for them.
    let points: Vec<Point> = futures_util::stream::iter(trend::days(today))
        .map(|day| {
            let state = &state;
            async move {
                let e = if day == today { evaluation(&state.db, &state.gaps, me.org_id, day).await? } else { trend_point(&state.db, &state.gaps, me.org_id, day, head).await? };
                AppResult::Ok(Point { day, counts: Counts::of(&e.gaps) })
            }
        })
        .buffered(TREND_PARALLEL)
        .try_collect()
        .await?;
    let mut res = trend::svg(&points).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    Ok(res)
}
