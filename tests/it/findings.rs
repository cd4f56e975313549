//! Findings as corrective actions: opened when a rule fires, resolved by
//! themselves (naming the change that cleared them) when it stops, reopened
//! when it fires again; risk acceptance by top management alone, and its end.
use crate::support::TestApp;
use chrono::Duration;
use mandate::auth::policy::Role;
use mandate::findings::model::{self as findings, Finding, FindingStatus};
use mandate::ids::OrgId;
use sqlx::PgPool;

async fn tracked(app: &TestApp, org: OrgId, rule: &str) -> Finding {
    findings::list(app.db(), org).await.unwrap().into_iter().find(|f| f.rule == rule).unwrap_or_else(|| panic!("no finding for {rule}"))
}

async fn sync(app: &TestApp, org: OrgId) -> findings::Synced {
    mandate::findings::sync_org(&app.state, org).await.unwrap()
}

#[sqlx::test]
async fn a_finding_resolves_when_its_rule_stops_firing_and_reopens_when_it_fires_again(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olu Owner").await;
    let org = app.org("Acme", owner).await;
    let ceo = app.person(org, "Cleo Chief", "ceo@acme.example", true).await;
    let ian = app.person(org, "Ian Isms", "ian@acme.example", false).await;
    let today = app.state.clock.now().date_naive();

    let first = sync(&app, org).await;
    assert!(first.opened > 3, "a new organisation has findings: {first:?}");
    let f = tracked(&app, org, "reporting_unassigned").await;
    assert_eq!(f.status, FindingStatus::Open);
    assert_eq!(f.due_on, Some(today + Duration::days(30)), "a major finding is due within a month");
    assert_eq!(sync(&app, org).await, findings::Synced::default(), "nothing changed, nothing to do");

    // The ISMS manager is appointed: 5.3(b) is held, the finding resolves by itself.
    let role = app.role(org, "ISMS manager", true, true).await;
    let (appointment, _) = app.appoint(org, role, ian, ceo).await;
    let done = sync(&app, org).await;
    assert!(done.resolved >= 2, "5.3(a) and 5.3(b) both held now: {done:?}");
    let f = tracked(&app, org, "reporting_unassigned").await;
    assert_eq!(f.status, FindingStatus::Resolved);
    assert_eq!(f.resolved_on(), Some(today));
    assert!(f.resolved_by.as_deref().unwrap_or("").contains("recorded an appointment"), "{:?}", f.resolved_by);
    assert_eq!(f.reopened_count, 0);

    // A day later the holder leaves the role: it fires again and the finding reopens.
    app.clock.advance(Duration::days(1));
    let mut c = app.signed_in(owner, Some(org)).await;
    let res = c.post(&format!("/appointments/{appointment}/end"), &[("ended_on", &(today + Duration::days(1)).to_string()), ("reason", "Left the company")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let done = sync(&app, org).await;
    assert!(done.reopened >= 1, "{done:?}");
    let f = tracked(&app, org, "reporting_unassigned").await;
    assert_eq!(f.status, FindingStatus::Open);
    assert_eq!(f.reopened_count, 1);
    assert_eq!(f.opened_on(), today + Duration::days(1));
    assert_eq!(f.first_opened_at.date_naive(), today, "the first opening is kept");

    // Pages: the finding's page shows the reopening and its history; the list and CSV too.
    let page = c.get(&format!("/findings/{}", f.id)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("reopened 1 time"), "{}", page.body);
    let history = page.texts("#history li").join("\n");
    for step in ["opened a finding", "resolved a finding", "reopened a finding"] {
        assert!(history.contains(step), "{step} in {history}");
    }
    assert!(page.body.contains("Appoint a holder"), "the fix is one click away while it fires");
    let list = c.get("/findings").await;
    assert!(list.body.contains(&format!("Reopened on {}", today + Duration::days(1))));
    let csv = c.get("/findings.csv").await;
    assert!(csv.header("content-disposition").contains("corrective-actions.csv"));
    let row = csv.body.lines().find(|l| l.contains("reporting_unassigned")).unwrap();
    assert!(row.contains(",1,"), "times reopened: {row}");
    // The gap list links each gap to the action that follows it.
    let gaps = c.get("/gaps").await;
    assert!(gaps.body.contains(&format!("/findings/{}", f.id)));
}

#[sqlx::test]
async fn people_write_down_the_cause_and_action_and_only_managers_hand_it_over(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olu Owner").await;
    let org = app.org("Acme", owner).await;
    let lead = app.user("lead@acme.example", "Lee Lead").await;
    app.member(org, lead, Role::IsmsLead).await;
    let sam = app.user("sam@acme.example", "Sam Contributor").await;
    app.member(org, sam, Role::Contributor).await;
    let audrey = app.user("audrey@acme.example", "Audrey Auditor").await;
    app.member(org, audrey, Role::Auditor).await;
    sync(&app, org).await;
    let f = tracked(&app, org, "reporting_unassigned").await;
    let path = format!("/findings/{}", f.id);

    let mut s = app.signed_in(sam, Some(org)).await;
    assert_eq!(s.post(&path, &[("cause", "Nobody asked")]).await.status, 403, "not theirs");
    let mut l = app.signed_in(lead, Some(org)).await;
    // Auditors cannot own one.
    let refused = l.post(&path, &[("owner_id", &audrey.to_string())]).await;
    assert_eq!(refused.status, 400);
    let res = l.post(&path, &[("owner_id", &sam.to_string()), ("due_on", "2026-12-15")]).await;
    assert_eq!(res.status, 303);
    // Now Sam owns it: they write down the cause and the action, but cannot hand it on.
    let res = s.post(&path, &[("owner_id", &sam.to_string()), ("due_on", "2026-12-15"), ("cause", "The role was never defined."), ("action_taken", "Defining it now.")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(s.post(&path, &[("owner_id", &lead.to_string()), ("due_on", "2026-12-15")]).await.status, 403);
    let mut a = app.signed_in(audrey, Some(org)).await;
    assert_eq!(a.post(&path, &[("cause", "x")]).await.status, 403);
    let f = tracked(&app, org, "reporting_unassigned").await;
    assert_eq!(f.owner_name.as_deref(), Some("Sam Contributor"));
    assert_eq!(f.cause, "The role was never defined.");
    // A bad date keeps what was typed and says what is wrong.
    let bad = l.post(&path, &[("owner_id", &sam.to_string()), ("due_on", "15/12/2026"), ("cause", "Kept")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Kept"));
    assert!(!bad.texts(".error-summary li").is_empty());
}

#[sqlx::test]
async fn only_top_management_accepts_a_risk_and_the_finding_returns_when_it_ends(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olu Owner").await;
    let org = app.org("Acme", owner).await;
    let lead = app.user("lead@acme.example", "Lee Lead").await;
    app.member(org, lead, Role::IsmsLead).await;
    let cfo = app.user("cfo@acme.example", "Fay Finance").await;
    app.member(org, cfo, Role::Executive).await;
    let ceo_user = app.user("ceo@acme.example", "Cleo Chief").await;
    app.member(org, ceo_user, Role::Executive).await;
    let ceo = app.person(org, "Cleo Chief", "ceo@acme.example", true).await;
    app.link(org, ceo, ceo_user).await;
    let fay = app.person(org, "Fay Finance", "cfo@acme.example", false).await;
    app.link(org, fay, cfo).await;
    sync(&app, org).await;
    let f = tracked(&app, org, "reporting_unassigned").await;
    let path = format!("/findings/{}/accept", f.id);
    let today = app.state.clock.now().date_naive();
    let until = (today + Duration::days(10)).to_string();
    let form = [("reason", "We hire an ISMS manager in January; the CISO of the parent company reports meanwhile."), ("until", until.as_str())];

    // Nobody outside the roster accepts in a leader's name.
    for (user, who) in [(lead, "ISMS lead"), (owner, "owner outside the roster"), (cfo, "executive outside the roster")] {
        let mut c = app.signed_in(user, Some(org)).await;
        assert_eq!(c.post(&path, &form).await.status, 403, "{who}");
    }
    let mut cfo_c = app.signed_in(cfo, Some(org)).await;
    let page = cfo_c.get(&format!("/findings/{}", f.id)).await;
    assert!(!page.has("form[action$='/accept']"));
    assert!(page.body.contains("not on the top-management roster"));

    let mut c = app.signed_in(ceo_user, Some(org)).await;
    assert!(c.get(&format!("/findings/{}", f.id)).await.has("form[action$='/accept']"));
    let no_reason = c.post(&path, &[("reason", ""), ("until", until.as_str())]).await;
    assert_eq!(no_reason.status, 422);
    let too_long = c.post(&path, &[("reason", "Later"), ("until", &(today + Duration::days(400)).to_string())]).await;
    assert_eq!(too_long.status, 422);
    assert!(too_long.body.contains("at most a year"));
    let res = c.post(&path, &form).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let f = tracked(&app, org, "reporting_unassigned").await;
    assert_eq!(f.status, FindingStatus::Accepted);
    assert_eq!(f.accepted_by_name.as_deref(), Some("Cleo Chief"));
    assert_eq!(f.accepted_by, Some(mandate::ids::UserId(ceo_user)));
    assert_eq!(c.post(&path, &form).await.status, 409, "already accepted");
    let list = c.get("/findings").await;
    let accepted = list.texts("section[aria-labelledby='accepted-h'] td").join(" ");
    assert!(accepted.contains("Cleo Chief") && accepted.contains(&until), "{accepted}");
    let open = list.texts("section[aria-labelledby='open-h'] td").join(" ");
    assert!(!open.contains("5.3(b) unassigned") && !open.contains(&f.title), "shown apart: {open}");

    // Through its last day it holds; the day after, the finding is open again.
    app.clock.advance(Duration::days(10));
    sync(&app, org).await;
    assert_eq!(tracked(&app, org, "reporting_unassigned").await.status, FindingStatus::Accepted);
    app.clock.advance(Duration::days(1));
    let done = sync(&app, org).await;
    assert_eq!(done.acceptances_ended, 1);
    let f = tracked(&app, org, "reporting_unassigned").await;
    assert_eq!(f.status, FindingStatus::Open);
    assert!(f.due_on.is_some_and(|d| d > today + Duration::days(11)), "a fresh due date: {:?}", f.due_on);
    let mut c = app.signed_in(ceo_user, Some(org)).await;
    let history = c.get(&format!("/findings/{}", f.id)).await.texts("#history li").join("\n");
    assert!(history.contains("accepted a finding as a risk") && history.contains("risk acceptance ran out"), "{history}");

    // Accepted again, then ended early by the leader.
    let until = (today + Duration::days(20)).to_string();
    assert_eq!(c.post(&path, &[("reason", "Again"), ("until", until.as_str())]).await.status, 303);
    assert_eq!(c.post(&format!("/findings/{}/end-acceptance", f.id), &[]).await.status, 303);
    assert_eq!(tracked(&app, org, "reporting_unassigned").await.status, FindingStatus::Open);
}

#[sqlx::test]
async fn the_tracker_runs_by_itself(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olu Owner").await;
    let org = app.org("Acme", owner).await;
    mandate::findings::spawn_worker(app.state.clone());
    for _ in 0..100 {
        if !findings::list(app.db(), org).await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the tracker opened no finding within 10 seconds");
}
