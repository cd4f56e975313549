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

/// Acme with an owner, an ISMS lead, a contributor and an auditor, its findings followed up.
struct Team {
    app: TestApp,
    org: OrgId,
    lead: uuid::Uuid,
    sam: uuid::Uuid,
    audrey: uuid::Uuid,
}

async fn team(db: PgPool) -> Team {
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
    Team { app, org, lead, sam, audrey }
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
    let Team { app, org, lead, sam, audrey, .. } = team(db).await;
    let f = tracked(&app, org, "reporting_unassigned").await;
    let path = format!("/findings/{}", f.id);

    let mut s = app.signed_in(sam, Some(org)).await;
    assert_eq!(s.post(&path, &[("cause", "Nobody asked")]).await.status, 403, "not theirs");
    let mut l = app.signed_in(lead, Some(org)).await;
    // Auditors cannot own one.
    let refused = l.post(&path, &[("owner_id", &audrey.to_string()), ("cause", "Typed before the mistake")]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Typed before the mistake"), "what was typed is kept");
    assert!(refused.texts(".error-summary li").join(" ").contains("not an auditor"));
    let res = l.post(&path, &[("owner_id", &sam.to_string()), ("due_on", "2026-12-15")]).await;
    assert_eq!(res.status, 303);
    // Now Sam owns it: they write down the cause and the action, but cannot hand it on.
    let res = s.post(&path, &[("owner_id", &sam.to_string()), ("due_on", "2026-12-15"), ("cause", "The role was never defined."), ("action_taken", "Defining it now.")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(s.post(&path, &[("owner_id", &lead.to_string()), ("due_on", "2026-12-15")]).await.status, 403);
    let mut a = app.signed_in(audrey, Some(org)).await;
    assert_eq!(a.post(&path, &[("cause", "x")]).await.status, 403);
    // The fix opens a form only those who keep the records use: the auditor reads, without the button.
    assert!(!a.get(&path).await.has("section[aria-labelledby='now-h'] a.button"));
    assert!(l.get(&path).await.has("section[aria-labelledby='now-h'] a.button"));
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

/// The row of `rule` in a bundle's corrective-actions.csv, as columns.
async fn bundled(app: &TestApp, c: &mut crate::support::Client, as_of: &str, rule: &str) -> Vec<String> {
    let res = c.post("/bundles", &[("as_of", as_of)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    while mandate::bundles::jobs::run_next(&app.state, "findings").await.unwrap().is_some() {}
    let zip = c.get(&format!("{}/download", res.location())).await;
    assert_eq!(zip.status, 200);
    let path = crate::bundles::temp_zip(&zip.bytes);
    let files = crate::bundles::entries(&path).await;
    let csv = String::from_utf8(files["records/corrective-actions.csv"].clone()).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let header = rows.headers().unwrap().clone();
    let row = rows.records().map(|r| r.unwrap()).find(|r| &r[1] == rule).unwrap_or_else(|| panic!("{rule} in {csv}"));
    header.iter().zip(row.iter()).map(|(h, v)| format!("{h}={v}")).collect()
}

#[sqlx::test]
async fn a_bundle_states_each_finding_as_it_stood_on_its_day(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olu Owner").await;
    let org = app.org("Acme", owner).await;
    let ceo = app.person(org, "Cleo Chief", "ceo@acme.example", true).await;
    let ian = app.person(org, "Ian Isms", "ian@acme.example", false).await;
    let day1 = app.state.clock.now().date_naive();
    sync(&app, org).await;
    let role = app.role(org, "ISMS manager", true, true).await;
    let (appointment, _) = app.appoint(org, role, ian, ceo).await;
    sync(&app, org).await;
    app.clock.advance(Duration::days(2));
    let day3 = app.state.clock.now().date_naive();
    let mut c = app.signed_in(owner, Some(org)).await;
    let res = c.post(&format!("/appointments/{appointment}/end"), &[("ended_on", &day3.to_string()), ("reason", "Left")]).await;
    assert_eq!(res.status, 303);
    sync(&app, org).await;
    assert_eq!(tracked(&app, org, "reporting_unassigned").await.reopened_count, 1);

    let then = bundled(&app, &mut c, &day1.to_string(), "reporting_unassigned").await;
    for cell in ["status_on_the_day=resolved", "times_reopened=0", &format!("resolved_on={day1}")] {
        assert!(then.contains(&cell.to_string()), "{cell} in {then:?}");
    }
    assert!(then.iter().any(|c| c.starts_with("cleared_by=") && c.contains("recorded an appointment")), "{then:?}");
    let now = bundled(&app, &mut c, &day3.to_string(), "reporting_unassigned").await;
    for cell in ["status_on_the_day=open", "times_reopened=1", "resolved_on=", "cleared_by="] {
        assert!(now.contains(&cell.to_string()), "{cell} in {now:?}");
    }
}

#[sqlx::test]
async fn each_role_lands_on_its_own_work(db: PgPool) {
    let Team { app, org, lead, sam, audrey, .. } = team(db).await;
    let today = app.state.clock.now().date_naive();
    let reporting = tracked(&app, org, "reporting_unassigned").await;
    let conformance = tracked(&app, org, "conformance_unassigned").await;

    let mut l = app.signed_in(lead, Some(org)).await;
    let soon = (today + Duration::days(3)).to_string();
    assert_eq!(l.post(&format!("/findings/{}", reporting.id), &[("owner_id", &lead.to_string()), ("due_on", &soon)]).await.status, 303);
    assert_eq!(l.post(&format!("/findings/{}", conformance.id), &[("owner_id", &sam.to_string()), ("due_on", "2027-01-31")]).await.status, 303);
    let mut a = app.signed_in(audrey, Some(org)).await;
    let requirement = mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.3(b)").to_string();
    assert_eq!(a.post("/evidence-requests", &[("requirement_id", requirement.as_str()), ("question", "Who reports on the ISMS?")]).await.status, 303);

    // The ISMS lead: what they own, the auditor's request, what falls due this week.
    let home = l.get("/dashboard").await;
    let yours = home.texts("#owned-h ~ ul li").join("\n");
    assert!(yours.contains(&reporting.title) && yours.contains(&format!("due {soon}")), "{yours}");
    assert!(!yours.contains(&conformance.title), "handed to Sam: {yours}");
    assert!(home.texts("#requests-h ~ ul li").concat().contains("Who reports on the ISMS?"));
    assert!(home.texts("#due-h ~ ul li").concat().contains(&reporting.title));
    assert!(home.has("#readiness-h"));
    // The contributor: the finding handed to them, and nothing about anyone else's work.
    let mut s = app.signed_in(sam, Some(org)).await;
    let home = s.get("/dashboard").await;
    let theirs = home.texts("section[aria-labelledby='yours-h'] li").join("\n");
    assert!(theirs.contains(&conformance.title) && !theirs.contains(&reporting.title), "{theirs}");
    assert!(!home.has("#queue-h") && !home.has("#readiness-h"));
    // The auditor: their requests and bundles, then the requirements.
    let home = a.get("/dashboard").await;
    assert!(home.texts("#requests-h ~ ul li").concat().contains("Who reports on the ISMS?"));
    assert!(home.body.contains("No bundle made yet"));
    assert!(!home.has("#queue-h") && !home.has("section[aria-labelledby='yours-h']"));
}

#[sqlx::test]
async fn a_signature_task_reaches_only_the_leader_asked_and_an_owner_invites_one_when_none_can_sign(db: PgPool) {
    use mandate::policies::versions::model::{Bump, PolicyKind};
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olu Owner").await;
    let org = app.org("Acme", owner).await;
    let lead = app.user("lead@acme.example", "Lee Lead").await;
    app.member(org, lead, Role::IsmsLead).await;
    let policy = app.policy(org, "Information security policy", PolicyKind::IsPolicy, false).await;
    app.draft(org, policy, "# Policy", None, Bump::Major).await;

    // No leader has an account: the owner's task is to invite one; the ISMS lead (who cannot invite executives) has none.
    let mut o = app.signed_in(owner, Some(org)).await;
    let first = o.get("/dashboard").await.texts(".first-task p").concat();
    assert!(first.contains("Invite a member of top management"), "{first}");
    assert!(o.get("/dashboard").await.has(".first-task a[href='/members?role=executive#invite']"));
    let invite = o.get("/members?role=executive").await;
    assert!(invite.has("input[name=role][value=executive][checked]"), "the invitation form is filled in");
    let mut l = app.signed_in(lead, Some(org)).await;
    assert!(!l.get("/dashboard").await.body.contains("Invite a member of top management"));
    assert!(l.get(&format!("/policies/{policy}")).await.body.contains("No member of top management has an account to sign with yet"));

    // Two leaders with accounts; an executive outside the roster.
    let (ceo_user, cfo_user, vp_user) = (app.user("ceo@acme.example", "Cleo Chief").await, app.user("cfo@acme.example", "Fin Finance").await, app.user("vp@acme.example", "Vic Vice").await);
    for u in [ceo_user, cfo_user, vp_user] {
        app.member(org, u, Role::Executive).await;
    }
    let ceo = app.person(org, "Cleo Chief", "ceo@acme.example", true).await;
    app.link(org, ceo, ceo_user).await;
    let cfo = app.person(org, "Fin Finance", "cfo@acme.example", true).await;
    app.link(org, cfo, cfo_user).await;
    let vp = app.person(org, "Vic Vice", "vp@acme.example", false).await;
    app.link(org, vp, vp_user).await;
    // The draft asked of nobody in particular: both leaders see it, the executive outside the roster and the owner do not.
    let sign_task = |body: &str| body.contains("Sign Information security policy");
    let mut ceo_c = app.signed_in(ceo_user, Some(org)).await;
    let mut cfo_c = app.signed_in(cfo_user, Some(org)).await;
    let mut vp_c = app.signed_in(vp_user, Some(org)).await;
    assert!(sign_task(&ceo_c.get("/leadership").await.texts("#mine-h ~ ul li").concat()));
    assert!(sign_task(&cfo_c.get("/leadership").await.texts("#mine-h ~ ul li").concat()));
    assert!(!sign_task(&vp_c.get("/leadership").await.body), "not top management: the signature would not count");
    assert!(!sign_task(&o.get("/dashboard").await.body) && !o.get("/dashboard").await.body.contains("Invite a member of top management"));

    // A new version asked of the CFO: only the CFO is asked for it (the CEO still has the first draft).
    let form = l.get(&format!("/policies/{policy}?signer={cfo}")).await;
    assert!(form.has(&format!("#f-signer option[value='{cfo}'][selected]")), "the fix link fills in who signs");
    sqlx::query("UPDATE policy_versions SET signer_requested = $2 WHERE policy_id = $1").bind(policy).bind(cfo).execute(app.db()).await.unwrap();
    assert!(!sign_task(&ceo_c.get("/leadership").await.body), "asked of the CFO, not the CEO");
    let cfo_home = cfo_c.get("/dashboard").await;
    assert!(sign_task(&cfo_home.texts(".first-task p").concat()), "the CFO's first task");
    assert!(l.get(&format!("/policies/{policy}")).await.body.contains("awaiting Fin Finance's signature"));
    // Asking someone who cannot sign is refused with the form kept.
    let vp_id = vp.to_string();
    let res = l.multipart(&format!("/policies/{policy}/versions"), &[("bump", "minor"), ("source", "markdown"), ("body_markdown", "# Kept text"), ("signer", vp_id.as_str())], None).await;
    assert_eq!(res.status, 422, "{}", res.body);
    assert!(res.body.contains("Kept text") && res.body.contains("Only a member of top management with an account"));
}

/// Every kind of task, and who finds it on their home page: only those
/// who can complete it (a signature, a confirmation, a sign-off and an
/// answer only the leader concerned; an acknowledgement and training the
/// person themselves; a corrective action its owner; an action item only
/// those who update action items).
#[sqlx::test]
async fn every_task_kind_reaches_only_those_who_can_do_it(db: PgPool) {
    use mandate::policies::versions::model::{Bump, PolicyKind};
    let a = crate::support::acme_core(db).await;
    let (app, org) = (&a.app, a.org);
    let cfo_user = app.user("cfo@acme.example", "Fin Finance").await;
    app.member(org, cfo_user, Role::Executive).await;
    let cfo = app.person(org, "Fin Finance", "cfo@acme.example", false).await;
    app.link(org, cfo, cfo_user).await;
    let sam_user = app.user("sam@acme.example", "Sam Staff").await;
    app.member(org, sam_user, Role::Contributor).await;
    let sam = app.person(org, "Sam Staff", "sam@acme.example", false).await;
    app.link(org, sam, sam_user).await;
    let audrey = app.user("audrey@acme.example", "Audrey Auditor").await;
    app.member(org, audrey, Role::Auditor).await;

    let is = app.policy(org, "Information security policy", PolicyKind::IsPolicy, false).await;
    app.draft(org, is, "# Policy", None, Bump::Major).await;
    let role = app.role(org, "ISMS manager", true, true).await;
    app.appoint(org, role, sam, a.ceo).await;
    app.meeting(org, "Management review 2026", a.ceo, "2026-10-20", "We reviewed everything.").await;
    app.ask(org, a.ceo, "Approve the audit budget", None).await;
    app.ask(org, sam, "Confirm the laptop inventory", None).await;
    let aup = app.policy(org, "Acceptable use", PolicyKind::AcceptableUse, false).await;
    let v = app.draft(org, aup, "# Use", None, Bump::Major).await;
    app.sign(org, v, a.ceo_user, true).await;
    app.module(org, "Security awareness").await;
    let meeting = app.meeting(org, "Steering", a.ceo, "2026-10-01", "Notes.").await;
    app.action_item(org, meeting, "Buy a password manager", Some(sam), Some("2026-11-03")).await;
    mandate::findings::sync_org(&app.state, org).await.unwrap();
    let finding = tracked(app, org, "holder_not_accepted").await;
    sqlx::query("UPDATE findings SET owner_id = $2 WHERE id = $1").bind(finding.id.0).bind(sam_user).execute(app.db()).await.unwrap();

    let members = [("owner", a.owner), ("ISMS lead", a.lead_user), ("CEO", a.ceo_user), ("CFO outside the roster", cfo_user), ("contributor", sam_user), ("auditor", audrey)];
    let mut homes = std::collections::HashMap::new();
    for (who, user) in members {
        let mut c = app.signed_in(user, Some(org)).await;
        homes.insert(who, c.get("/dashboard").await.texts("main").concat());
    }
    let expect: &[(&str, &[&str])] = &[
        ("Sign Information security policy", &["CEO"]),
        ("Confirm that you appointed Sam Staff as ISMS manager", &["CEO"]),
        ("Sign off the minutes of Management review 2026", &["CEO"]),
        ("Answer Approve the audit budget", &["CEO"]),
        ("Answer Confirm the laptop inventory", &["contributor"]),
        ("Acknowledge Acceptable use v1.0", &["CEO", "CFO outside the roster", "contributor"]),
        ("Complete Security awareness", &["CEO", "CFO outside the roster", "contributor"]),
        (finding.title.as_str(), &["contributor"]),
        ("Buy a password manager", &["ISMS lead", "owner"]),
    ];
    for (task, to) in expect {
        for (who, _) in members {
            let shown = homes[who].matches(task).count();
            assert_eq!(shown, usize::from(to.contains(&who)), "{task:?} on the home page of the {who} (once, or not at all): {}", homes[who]);
        }
    }
}
