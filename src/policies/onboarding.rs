//! Onboarding before access: starters should acknowledge the information
//! security policy or the acceptable use policy on or before their first
//! day. This page lists starters and whether they did.
use crate::ids::{OrgId, PersonId};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::auth::session::Member;
use crate::error::AppResult;
use crate::policies::versions::model::PolicyKind;
use crate::web::{Layout, csv};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/onboarding", Can(ViewPolicies), page).get("/onboarding.csv", Can(ViewPolicies), export)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Acknowledged by the first day, or within the grace days after it.
    OnTime,
    /// Acknowledged this many days after starting.
    Late(i64),
    Missing,
}

/// Whether the first acknowledgement came by the start, allowing
/// `grace_days` after it (the organisation's setting).
pub fn timing(start: NaiveDate, first_ack: Option<DateTime<Utc>>, grace_days: i32) -> Timing {
    match first_ack {
        None => Timing::Missing,
        Some(at) if (at.date_naive() - start).num_days() <= i64::from(grace_days) => Timing::OnTime,
        Some(at) => Timing::Late((at.date_naive() - start).num_days()),
    }
}

#[derive(Debug, Clone)]
pub struct Starter {
    pub id: PersonId,
    pub name: String,
    pub email: String,
    pub department: String,
    pub start_date: NaiveDate,
    pub is_policy_ack: Option<DateTime<Utc>>,
    pub aup_ack: Option<DateTime<Utc>>,
}

impl Starter {
    pub fn first_ack(&self) -> Option<DateTime<Utc>> {
        match (self.is_policy_ack, self.aup_ack) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    pub fn timing(&self, grace_days: i32) -> Timing {
        timing(self.start_date, self.first_ack(), grace_days)
    }
    pub fn on_time(&self, grace_days: i32) -> bool {
        self.timing(grace_days) == Timing::OnTime
    }
    pub fn verdict(&self, grace_days: i32) -> String {
        match self.timing(grace_days) {
            Timing::OnTime if self.first_ack().is_some_and(|a| a.date_naive() > self.start_date) => format!("within the {grace_days}-day grace"),
            Timing::OnTime => "before access".into(),
            Timing::Late(d) => format!("{} after starting", crate::web::count(d, "day", "days")),
            Timing::Missing => "not acknowledged".into(),
        }
    }
}

/// Starters of the last `months` months (current staff), newest first.
pub async fn starters(db: &sqlx::PgPool, org_id: OrgId, today: NaiveDate, months: u32) -> AppResult<Vec<Starter>> {
    let since = today.checked_sub_months(Months::new(months)).unwrap_or(today);
    // The first acknowledgement of any version of an information security
    // policy, and of an acceptable use policy.
    Ok(sqlx::query_as!(
        Starter,
        r#"SELECT p.id AS "id: PersonId", p.name, p.email, p.department, p.start_date AS "start_date!",
                (SELECT min(a.acknowledged_at) FROM acknowledgements a
                   JOIN policy_versions v ON v.org_id = a.org_id AND v.id = a.policy_version_id
                   JOIN policies pol ON pol.org_id = v.org_id AND pol.id = v.policy_id
                  WHERE a.org_id = p.org_id AND a.person_id = p.id AND pol.kind = $4) AS is_policy_ack,
                (SELECT min(a.acknowledged_at) FROM acknowledgements a
                   JOIN policy_versions v ON v.org_id = a.org_id AND v.id = a.policy_version_id
                   JOIN policies pol ON pol.org_id = v.org_id AND pol.id = v.policy_id
                  WHERE a.org_id = p.org_id AND a.person_id = p.id AND pol.kind = $5) AS aup_ack
           FROM people p
          WHERE p.org_id = $1 AND p.start_date IS NOT NULL AND p.start_date >= $2 AND is_current_on(p.start_date, p.end_date, $3)
          ORDER BY p.start_date DESC, p.name"#,
        org_id.0,
        since,
        today,
        PolicyKind::IsPolicy.as_str(),
        PolicyKind::AcceptableUse.as_str(),
    )
    .fetch_all(db)
    .await?)
}

#[derive(Deserialize, Default)]
pub struct Window {
    months: Option<u32>,
}

impl Window {
    fn months(&self) -> u32 {
        self.months.unwrap_or(12).clamp(1, 120)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/onboarding.html")]
struct OnboardingPage {
    layout: Layout,
    starters: Vec<Starter>,
    late: usize,
    months: u32,
    /// Days after the start that still count as in time (settings).
    grace: i32,
}

async fn page(State(state): State<AppState>, me: Member, Query(w): Query<Window>) -> AppResult<OnboardingPage> {
    let starters = starters(&state.db, me.org_id, state.clock.now().date_naive(), w.months()).await?;
    let grace = crate::orgs::settings::load(&state.db, me.org_id).await?.onboarding_grace_days;
    Ok(OnboardingPage {
        layout: Layout::build(&state.db, &me.visitor, "Onboarding").await?,
        late: starters.iter().filter(|s| !s.on_time(grace)).count(),
        starters,
        months: w.months(),
        grace,
    })
}

async fn export(State(state): State<AppState>, me: Member, Query(w): Query<Window>) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let list = starters(&state.db, me.org_id, today, w.months()).await?;
    let grace = crate::orgs::settings::load(&state.db, me.org_id).await?.onboarding_grace_days;
    let mut out = csv::row(&["name", "email", "department", "start_date", "is_policy_acknowledged", "acceptable_use_acknowledged", "verdict"]);
    let day = |t: Option<DateTime<Utc>>| t.map(|t| t.date_naive().to_string()).unwrap_or_default();
    for s in &list {
        out.push_str(&csv::row(&[s.name.clone(), s.email.clone(), s.department.clone(), s.start_date.to_string(), day(s.is_policy_ack), day(s.aup_ack), s.verdict(grace)]));
    }
    Ok(csv::attachment(&format!("onboarding-{}.csv", today.format("%Y%m%d")), out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledging_on_the_first_day_is_in_time() {
        let start = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let at = |d: &str| Some(DateTime::parse_from_rfc3339(d).unwrap().with_timezone(&Utc));
        assert_eq!(timing(start, at("2026-02-27T10:00:00Z"), 0), Timing::OnTime);
        assert_eq!(timing(start, at("2026-03-02T16:00:00Z"), 0), Timing::OnTime);
        assert_eq!(timing(start, at("2026-03-09T09:00:00Z"), 0), Timing::Late(7));
        assert_eq!(timing(start, None, 0), Timing::Missing);
        // The grace days count from the first day, the last of them included.
        assert_eq!(timing(start, at("2026-03-05T09:00:00Z"), 3), Timing::OnTime);
        assert_eq!(timing(start, at("2026-03-06T09:00:00Z"), 3), Timing::Late(4));
    }
}
