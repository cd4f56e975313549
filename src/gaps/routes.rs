//! The two dashboards: the ISMS lead's (readiness per clause and the gap
//! list, as of any past day, filtered by clause, owner and severity, with
//! CSV export) and the leadership dashboard with its trend chart.
use super::model::{self, CLAUSES, Counts, Gap, Severity, clause_of};
use super::trend::{self, Point};
use super::{Evaluation, board, evaluation, trend_point};
use crate::ids::PersonId;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use futures_util::{StreamExt, TryStreamExt};
use crate::state::AppState;
use crate::auth::policy::Action;
use crate::auth::session::Member;
use crate::error::AppResult;
use crate::web::form::{parse_choice, parse_date};
use crate::web::{Layout, csv};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::BTreeMap;

pub fn routes(r: crate::web::routes::Routes) -> crate::web::routes::Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/gaps", Can(ViewGaps), gaps_page).get("/gaps.csv", Can(ViewGaps), gaps_export).get("/leadership", Can(ViewGaps), board_page).get("/leadership/trend.svg", Can(ViewGaps), trend_svg)
}

/// The day to evaluate, as typed: empty means today; a bad or future date
/// falls back to today with a message.
pub fn as_of(raw: Option<&str>, today: NaiveDate) -> (NaiveDate, Option<String>) {
    match parse_date(raw.unwrap_or(""), "the date") {
        Ok(None) => (today, None),
        Ok(Some(d)) if d > today => (today, Some("That date is in the future; showing today instead.".into())),
        Ok(Some(d)) => (d, None),
        Err(e) => (today, Some(e)),
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct Filter {
    pub as_of: Option<String>,
    pub clause: Option<String>,
    pub owner: Option<String>,
    pub severity: Option<String>,
}

impl Filter {
    fn clause(&self) -> Option<&str> {
        self.clause.as_deref().filter(|c| CLAUSES.iter().any(|(k, _)| k == c))
    }
    fn owner(&self) -> Option<PersonId> {
        parse_choice(self.owner.as_deref().unwrap_or("")).map(PersonId)
    }
    fn severity(&self) -> Option<Severity> {
        self.severity.as_deref().and_then(|s| s.parse().ok())
    }
    /// The filter as a query string, for the export link.
    pub fn query(&self, as_of: NaiveDate, today: NaiveDate) -> String {
        let mut parts = Vec::new();
        if as_of != today {
            parts.push(format!("as_of={as_of}"));
        }
        if let Some(c) = self.clause() {
            parts.push(format!("clause={c}"));
        }
        if let Some(o) = self.owner() {
            parts.push(format!("owner={o}"));
        }
        if let Some(s) = self.severity() {
            parts.push(format!("severity={}", s.as_str()));
        }
        if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
    }
}

/// A gap with the people who own the requirements it touches.
pub struct Row {
    pub gap: Gap,
    pub owners: Vec<String>,
}

/// Who owns each requirement code.
/// Each requirement's owner: the person named, or else the holder of the
/// role the catalogue names for it.
fn owners_of(e: &Evaluation) -> BTreeMap<&str, (PersonId, &str)> {
    let s = &e.snapshot;
    s.requirements
        .iter()
        .filter_map(|r| {
            let named = r.owner_id.zip(r.owner_name.as_deref());
            let owner = named.or_else(|| super::derived::owner_by_role(s, r).map(|a| (a.person_id, a.person_name.as_str())))?;
            Some((r.code.as_str(), owner))
        })
        .collect()
}

/// The gaps a filter keeps, with their owners.
pub fn rows(e: &Evaluation, f: &Filter) -> Vec<Row> {
    let owners = owners_of(e);
    e.gaps
        .iter()
        .filter(|g| f.clause().is_none_or(|c| g.touches(c)))
        .filter(|g| f.severity().is_none_or(|s| g.severity == s))
        .filter(|g| f.owner().is_none_or(|o| g.requirements.iter().any(|r| owners.get(r.as_str()).is_some_and(|(id, _)| *id == o))))
        .map(|g| {
            let mut names: Vec<String> = g.requirements.iter().filter_map(|r| owners.get(r.as_str()).map(|(_, n)| n.to_string())).collect();
            names.sort();
            names.dedup();
            Row { gap: g.clone(), owners: names }
        })
        .collect()
}

/// How far one clause is.
pub struct Readiness {
    pub code: &'static str,
    pub title: &'static str,
    pub applicable: usize,
    pub implemented: usize,
    pub with_evidence: usize,
    pub gaps: Counts,
}

impl Readiness {
    pub fn percent(&self) -> usize {
        (self.implemented * 100).checked_div(self.applicable).unwrap_or(0)
    }
}

pub fn readiness(e: &Evaluation) -> Vec<Readiness> {
    CLAUSES
        .iter()
        .map(|(code, title)| {
            let reqs: Vec<_> = e.snapshot.requirements.iter().filter(|r| clause_of(&r.code) == *code && r.applicable).collect();
            Readiness {
                code,
                title,
                applicable: reqs.len(),
                implemented: reqs.iter().filter(|r| r.status == "implemented").count(),
                with_evidence: reqs.iter().filter(|r| r.evidence > 0).count(),
                gaps: Counts::of(e.gaps.iter().filter(|g| g.touches(code))),
            }
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "gaps/list.html")]
struct GapsPage {
    layout: Layout,
    as_of: NaiveDate,
    today: NaiveDate,
    date_problem: Option<String>,
    readiness: Vec<Readiness>,
    total: Counts,
    rows: Vec<Row>,
    shown: Counts,
    owners: Vec<(PersonId, String)>,
    clauses: Vec<(&'static str, &'static str)>,
    severities: Vec<Severity>,
    filter: Filter,
    export: String,
    /// The corrective actions that follow today's gaps (none for a past day).
    findings: Vec<crate::findings::model::Finding>,
    /// Fix links open forms of those who keep the records (owners, ISMS leads).
    can_fix: bool,
}

impl GapsPage {
    /// The corrective action that follows a gap's rule.
    fn finding_for(&self, g: &Gap) -> Option<&crate::findings::model::Finding> {
        self.findings.iter().find(|f| f.rule == g.rule && f.subject == g.subject)
    }
    fn chosen_owner(&self, id: &PersonId) -> bool {
        self.filter.owner() == Some(*id)
    }
    fn chosen_clause(&self, code: &str) -> bool {
        self.filter.clause() == Some(code)
    }
    fn chosen_severity(&self, s: &Severity) -> bool {
        self.filter.severity() == Some(*s)
    }
}

async fn gaps_page(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<GapsPage> {
    let today = state.clock.now().date_naive();
    let (as_of, date_problem) = as_of(filter.as_of.as_deref(), today);
    let e = evaluation(&state.db, &state.kept, me.org_id, as_of).await?;
    let rows = rows(&e, &filter);
    let mut owners: Vec<(PersonId, String)> = e.snapshot.requirements.iter().filter_map(|r| Some((r.owner_id?, r.owner_name.clone()?))).collect();
    owners.sort_by(|a, b| a.1.cmp(&b.1));
    owners.dedup();
    let findings = if as_of == today { crate::findings::model::list(&state.db, me.org_id).await? } else { Vec::new() };
    Ok(GapsPage {
        layout: Layout::build(&state.db, &me.visitor, "Gaps").await?,
        can_fix: me.can(Action::ManageFindings),
        findings,
        export: format!("/gaps.csv{}", filter.query(as_of, today)),
        shown: Counts::of(rows.iter().map(|r| &r.gap)),
        total: Counts::of(&e.gaps),
        readiness: readiness(&e),
        rows,
        owners,
        clauses: CLAUSES.to_vec(),
        severities: Severity::ALL.to_vec(),
        as_of,
        today,
        date_problem,
        filter,
    })
}

async fn gaps_export(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let (as_of, _) = as_of(filter.as_of.as_deref(), today);
    let e = evaluation(&state.db, &state.kept, me.org_id, as_of).await?;
    let out = csv_text(&e, &filter);
    Ok(csv::attachment(&format!("gaps-{}.csv", as_of.format("%Y%m%d")), out))
}

/// The gap list as CSV (the export, and the evidence bundle's gaps.csv).
pub fn csv_text(e: &Evaluation, filter: &Filter) -> String {
    let mut out = csv::row(&["as_of", "severity", "why_this_grade", "rule", "gap", "requirements", "clauses", "owners", "affected_count", "affected", "why_it_matters", "fix_at"]);
    for r in rows(e, filter) {
        let g = &r.gap;
        let affected: Vec<String> = g.affected.iter().map(|a| format!("{} ({})", a.label, a.detail)).collect();
        out.push_str(&csv::row(&[
            e.as_of.to_string(),
            g.severity.label().to_string(),
            g.grade.clone(),
            g.rule.to_string(),
            g.title.clone(),
            g.requirements.join("; "),
            g.clauses().join("; "),
            r.owners.join("; "),
            g.affected_total.to_string(),
            affected.join("; "),
            g.why.to_string(),
            g.fix_href.clone(),
        ]));
    }
    out
}

#[derive(Template, WebTemplate)]
#[template(path = "gaps/board.html")]
struct BoardPage {
    layout: Layout,
    today: NaiveDate,
    counts: Counts,
    clauses: Vec<board::ClauseStatus>,
    mine: Option<model::Mine>,
    /// What only the reader can do (see `board::tasks`).
    tasks: Vec<board::Task>,
    next: board::NextReview,
    prep: board::Prep,
}

async fn board_page(State(state): State<AppState>, me: Member) -> AppResult<BoardPage> {
    let today = state.clock.now().date_naive();
    let e = evaluation(&state.db, &state.kept, me.org_id, today).await?;
    let drafts = if me.can(Action::SignPolicies) { model::to_sign(&state.db, me.org_id, me.user_id, today).await? } else { Vec::new() };
    let invite_leader = crate::auth::policy::may_grant(me.role, crate::auth::policy::Role::Executive) && model::drafts_without_signer(&state.db, me.org_id, today).await?;
    let mine = model::mine(&state.db, me.org_id, me.user_id, today).await?;
    Ok(BoardPage {
        layout: Layout::build(&state.db, &me.visitor, "Leadership dashboard").await?,
        tasks: board::tasks(mine.as_ref(), &drafts, invite_leader, today),
        mine,
        counts: Counts::of(&e.gaps),
        clauses: board::clause_statuses(&e.gaps),
        next: board::next_review(&e),
        prep: board::prep(&e),
        today,
    })
}

/// The trend chart as an image of its own, so the dashboard never waits for it.
/// How many of the trend's evaluations run at once.
const TREND_PARALLEL: usize = 3;

async fn trend_svg(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let head = crate::audit::records_version(&state.db, me.org_id).await?;
    // Thirteen evaluations when nothing is cached: run a few side by side,
    // so PostgreSQL can use more than one core for them.
    let points: Vec<Point> = futures_util::stream::iter(trend::days(today))
        .map(|day| {
            let state = &state;
            async move {
                let e = if day == today { evaluation(&state.db, &state.kept, me.org_id, day).await? } else { trend_point(&state.db, &state.kept, me.org_id, day, head).await? };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_defaults_to_today_and_refuses_the_future() {
        let today: NaiveDate = "2026-11-02".parse().unwrap();
        assert_eq!(as_of(None, today), (today, None));
        assert_eq!(as_of(Some("2026-06-30"), today).0, "2026-06-30".parse::<NaiveDate>().unwrap());
        assert!(as_of(Some("2027-01-01"), today).1.is_some());
        let (day, problem) = as_of(Some("30/06/2026"), today);
        assert_eq!(day, today);
        assert!(problem.unwrap().contains("year-month-day"));
    }
}
