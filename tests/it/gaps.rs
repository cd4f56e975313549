//! The gap engine against a real database: a compliant organisation has no
//! gaps, and each rule fires when its condition is made true; evaluations as
//! of past days ignore later records; dashboards follow changes at once;
//! the pages, filters and export; a fixed number of queries at any size.
use mandate::ids::OrgId;
use crate::support::{Client, TestApp, queries_during};
use axum::http::StatusCode;
use chrono::{Duration, NaiveDate};
use mandate::audit::Actor;
use mandate::auth::policy::Role;
use mandate::evidence::model::{self as evidence, Target, TargetKind};
use mandate::people::model::{self as people, Kind, PersonFields};
use mandate::policies::versions::model::{Bump, PolicyKind};
use sqlx::PgPool;
use uuid::Uuid;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A person on the staff since 2020 whose contract has the security clause.
async fn staff(app: &TestApp, org: OrgId, name: &str, top: bool, start: &str) -> Uuid {
    let f = PersonFields {
        name: name.into(),
        email: format!("{}@acme.example", name.to_lowercase().replace(' ', ".")),
        kind: Kind::Employee,
        top_management: top,
        line_manager: top,
        security_clause: true,
        start_date: Some(day(start)),
        ..Default::default()
    };
    let mut tx = app.db().begin().await.unwrap();
    let id = people::create(&mut tx, &Actor::system(Some(org), "test"), app.state.clock.now(), org, &f, None).await.unwrap();
    // Top management as the organisation was set up (the roster dates it from their start).
    mandate::people::roster::model::record_seeded(&mut tx, org).await.unwrap();
    tx.commit().await.unwrap();
    id.into()
}

async fn ack(app: &TestApp, org: OrgId, person: Uuid, version: Uuid) {
    use mandate::policies::acks::model::{Method, acknowledge};
    let mut tx = app.db().begin().await.unwrap();
    acknowledge(&mut tx, &Actor::system(Some(org), "test"), app.state.clock.now(), org, mandate::ids::PersonId(person), mandate::ids::VersionId(version), Method::Link, "192.0.2.9", "test").await.unwrap();
    tx.commit().await.unwrap();
}

async fn train(app: &TestApp, org: OrgId, module: Uuid, person: Uuid, on: &str) {
    use mandate::training::model::{Completion, record};
    let mut tx = app.db().begin().await.unwrap();
    record(&mut tx, &Actor::system(Some(org), "test"), app.state.clock.now(), org, mandate::training::model::RecordSource::Manual, &[Completion { module_id: module.into(), person_id: person.into(), completed_on: day(on), score: None, how: None }]).await.unwrap();
    tx.commit().await.unwrap();
}

/// A signed version of a new policy, with the four 5.2 checks noted, signed by top management or not.
async fn signed_policy(app: &TestApp, org: OrgId, owner: Uuid, title: &str, kind: PolicyKind, top: bool) -> (Uuid, Uuid) {
    let policy = app.policy(org, title, kind, false).await;
    let version = app.draft(org, policy, &format!("# {title}"), None, Bump::Major).await;
    sqlx::query("UPDATE policy_versions SET check_purpose = '1', check_objectives = '2', check_requirements = '3', check_improvement = '4' WHERE id = $1")
        .bind(version)
        .execute(app.db())
        .await
        .unwrap();
    app.sign(org, version, owner, top).await;
    (policy, version)
}

async fn sql(app: &TestApp, query: &str, id: impl Into<Uuid>) {
    sqlx::query(query).bind(id.into()).execute(app.db()).await.unwrap_or_else(|e| panic!("{query}: {e}"));
}

async fn rules_on(app: &TestApp, org: OrgId, on: NaiveDate) -> Vec<&'static str> {
    mandate::gaps::evaluate(app.db(), org, on).await.unwrap().gaps.iter().map(|g| g.rule).collect()
}

struct Compliant {
    org: OrgId,
    owner: Uuid,
    ceo: Uuid,
    holder: Uuid,
    roles: [Uuid; 3],
    appointments: Vec<Uuid>,
    activity: Uuid,
    policies: [Uuid; 4],
    is_version: Uuid,
    module: Uuid,
    meeting: Uuid,
    requirement: Uuid,
}

/// An organisation that does everything the rules ask, on 2026-11-02.
async fn compliant(app: &TestApp) -> Compliant {
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let ceo = staff(app, org, "Cee Eo", true, "2015-01-01").await;
    let holder = staff(app, org, "Ima Lead", false, "2020-01-01").await;
    // Roles: 5.3(a), 5.3(b) and one more, all held, appointed by the CEO and accepted.
    let roles = [app.role(org, "ISMS lead", true, false).await, app.role(org, "ISMS reporter", false, true).await, app.role(org, "Risk owner", false, false).await];
    let mut appointments = Vec::new();
    for r in roles {
        appointments.push(app.appoint(org, r, holder, ceo).await.0);
    }
    sqlx::query("UPDATE role_appointments SET accepted_at = $2, accepted_via = 'link', confirmed_at = $2 WHERE org_id = $1").bind(org).bind(app.state.clock.now()).execute(app.db()).await.unwrap();
    let activity = app.activity(org, "Run the management review").await;
    sqlx::query("INSERT INTO raci_cells (org_id, activity_id, role_id, letters) VALUES ($1, $2, $3, 'A')").bind(org).bind(activity).bind(roles[0]).execute(app.db()).await.unwrap();
    // Policies signed by top management and acknowledged by everyone.
    let (is_policy, is_version) = signed_policy(app, org, owner, "Information security policy", PolicyKind::IsPolicy, true).await;
    let (statement, sv) = signed_policy(app, org, owner, "Why security matters", PolicyKind::ManagementStatement, true).await;
    let (plan, pv) = signed_policy(app, org, owner, "Training plan", PolicyKind::TrainingPlan, true).await;
    let (discipline, dv) = signed_policy(app, org, owner, "Disciplinary process", PolicyKind::DisciplinaryProcess, true).await;
    for p in [ceo, holder] {
        for v in [is_version, sv, pv, dv] {
            ack(app, org, p, v).await;
        }
    }
    let module = app.module(org, "Security awareness").await;
    sqlx::query("UPDATE training_modules SET kind = 'awareness' WHERE id = $1").bind(module).execute(app.db()).await.unwrap();
    for p in [ceo, holder] {
        train(app, org, module, p, "2026-10-01").await;
    }
    // Leadership records.
    let meeting = app.meeting(org, "Management review", ceo, "2026-10-01", "Minutes.").await;
    app.decision(org, "Security budget", Some(ceo), Some("2026-09-01")).await;
    app.communication(org, "Why security matters", ceo, "2026-09-15").await;
    app.objective(org, "Train everyone", Some(holder)).await;
    // Every requirement owned, implemented and evidenced.
    sqlx::query(
        "INSERT INTO requirement_states (org_id, requirement_id, applicable, owner_id, status, updated_at)
         SELECT $1, id, true, $2, 'implemented', $3 FROM requirements WHERE retired_at IS NULL",
    )
    .bind(org)
    .bind(holder)
    .bind(app.state.clock.now())
    .execute(app.db())
    .await
    .unwrap();
    let (item, _) = app.evidence(org, "Evidence pack", "pack.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").await;
    let requirements: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM requirements WHERE retired_at IS NULL ORDER BY position").fetch_all(app.db()).await.unwrap();
    let mut tx = app.db().begin().await.unwrap();
    for r in &requirements {
        evidence::link(&mut tx, &Actor::system(Some(org), "test"), app.state.clock.now(), org, mandate::ids::EvidenceId(item), Target { kind: TargetKind::Requirement, id: *r }).await.unwrap();
    }
    tx.commit().await.unwrap();
    Compliant {
        org,
        owner,
        ceo,
        holder,
        roles,
        appointments,
        activity,
        policies: [is_policy, statement, plan, discipline],
        is_version,
        module,
        meeting,
        requirement: requirements[0],
    }
}

#[sqlx::test]
async fn a_compliant_organisation_has_no_gaps_and_each_rule_fires_when_broken(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    let org = c.org;
    let today = day("2026-11-02");
    let gaps = mandate::gaps::evaluate(app.db(), org, today).await.unwrap().gaps;
    assert!(gaps.is_empty(), "a compliant organisation has gaps: {:#?}", gaps.iter().map(|g| &g.title).collect::<Vec<_>>());

    // Break one thing at a time; each step must make its rule fire (earlier ones may keep firing).
    let mut steps: Vec<&str> = Vec::new();
    macro_rules! fires {
        ($rule:expr) => {
            let now = rules_on(&app, org, today).await;
            assert!(now.contains(&$rule), "{} did not fire; firing: {now:?}", $rule);
            steps.push($rule);
        };
    }
    // The activity said to stand for 5.3(b) is accountable to the 5.3(a) role; then it stands for nothing again.
    sql(&app, "UPDATE raci_activities SET assignment = '5.3(b)' WHERE id = $1", c.activity).await;
    fires!("raci_disagrees_with_roles");
    sql(&app, "UPDATE raci_activities SET assignment = NULL WHERE id = $1", c.activity).await;
    assert!(!rules_on(&app, org, today).await.contains(&"raci_disagrees_with_roles"));
    let (old, _) = app.evidence(org, "Old plan", "old.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").await;
    sql(&app, "UPDATE evidence_items SET valid_until = '2026-10-01' WHERE id = $1", old).await;
    let mut tx = app.db().begin().await.unwrap();
    evidence::link(&mut tx, &Actor::system(Some(org), "t"), app.state.clock.now(), org, mandate::ids::EvidenceId(old), Target { kind: TargetKind::Requirement, id: c.requirement }).await.unwrap();
    tx.commit().await.unwrap();
    fires!("evidence_expired");
    // 5.1(h) has only uploaded evidence here: no line manager below top management yet.
    let h = mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.1(h)");
    sqlx::query("DELETE FROM evidence_links WHERE target_id = $1").bind(h.0).execute(app.db()).await.unwrap();
    fires!("requirement_without_evidence");
    app.ask(org, c.ceo, "Approve the audit", Some("2026-10-20")).await;
    fires!("unanswered_asks");
    sql(&app, "UPDATE objectives SET due_on = '2026-10-31' WHERE org_id = $1", org).await;
    fires!("objective_past_due");
    sql(&app, "UPDATE objectives SET status = 'achieved' WHERE org_id = $1", org).await;
    fires!("no_objectives");
    sql(&app, "UPDATE communications SET sent_on = '2026-04-30' WHERE org_id = $1", org).await;
    fires!("silent_leadership");
    sql(&app, "UPDATE resource_decisions SET decided_on = '2025-10-30' WHERE org_id = $1", org).await;
    fires!("no_resource_decision");
    app.action_item(org, c.meeting, "Patch the VPN", None, Some("2026-10-15")).await;
    fires!("overdue_actions");
    sql(&app, "UPDATE meetings SET inputs = '{earlier_actions,context,performance,feedback,risk,improvement}' WHERE id = $1", c.meeting).await;
    fires!("review_inputs_incomplete");
    sql(&app, "UPDATE meetings SET attendee_ids = '{}', chair_id = NULL WHERE id = $1", c.meeting).await;
    fires!("review_without_top_management");
    sql(&app, "UPDATE meetings SET minutes = '' WHERE id = $1", c.meeting).await;
    fires!("review_without_minutes");
    sql(&app, "UPDATE meetings SET held_on = '2025-10-01' WHERE id = $1", c.meeting).await;
    fires!("no_management_review");
    sql(&app, "UPDATE policies SET kind = 'topic_specific' WHERE id = $1", c.policies[3]).await;
    fires!("no_disciplinary_process");
    sql(&app, "UPDATE people SET security_clause = false WHERE id = $1", c.holder).await;
    fires!("contract_clause_missing");
    // A line manager who started in September, acknowledged only now and never trained.
    let late = staff(&app, org, "Late Starter", false, "2026-09-01").await;
    sql(&app, "UPDATE people SET line_manager = true WHERE id = $1", late).await;
    ack(&app, org, late, c.is_version).await;
    fires!("onboarding_after_access");
    fires!("training_overdue");
    fires!("policy_not_communicated");
    fires!("leaders_exempt");
    sql(&app, "UPDATE policies SET kind = 'topic_specific' WHERE id = $1", c.policies[2]).await;
    fires!("training_plan_not_approved");
    sql(&app, "UPDATE policies SET kind = 'topic_specific' WHERE id = $1", c.policies[1]).await;
    fires!("no_management_statement");
    // A minor version without the 5.2(d) note, signed by someone outside top management.
    let v2 = app.draft(org, c.policies[0], "# Policy 1.1", None, Bump::Minor).await;
    app.sign(org, v2, c.owner, false).await;
    fires!("policy_content_incomplete");
    fires!("is_policy_not_top_signed");
    sqlx::query("INSERT INTO raci_cells (org_id, activity_id, role_id, letters) VALUES ($1, $2, $3, 'A')").bind(org).bind(c.activity).bind(c.roles[1]).execute(app.db()).await.unwrap();
    fires!("raci_incomplete");
    sql(&app, "UPDATE people SET top_management = true WHERE id = $1", c.holder).await;
    let mut tx = app.db().begin().await.unwrap();
    mandate::people::roster::model::record_seeded(&mut tx, org).await.unwrap();
    tx.commit().await.unwrap();
    fires!("hats_not_documented");
    sql(&app, "UPDATE isms_roles SET authorities = '' WHERE id = $1", c.roles[2]).await;
    fires!("role_without_authority");
    sql(&app, "UPDATE isms_roles SET carries_conformance = true WHERE id = $1", c.roles[2]).await;
    fires!("only_mandatory_pair");
    sql(&app, "UPDATE role_appointments SET accepted_at = NULL WHERE id = $1", c.appointments[2]).await;
    fires!("holder_not_accepted");
    sql(&app, "UPDATE role_appointments SET appointed_on = NULL WHERE id = $1", c.appointments[2]).await;
    fires!("appointer_not_top_management");
    sql(&app, "UPDATE role_appointments SET ended_on = '2026-10-01' WHERE id = $1", c.appointments[1]).await;
    fires!("reporting_unassigned");
    sql(&app, "UPDATE role_appointments SET ended_on = '2026-10-01' WHERE role_id IN (SELECT id FROM isms_roles WHERE carries_conformance)", c.org).await;
    fires!("conformance_unassigned");
    // Nobody named, and nobody holds the role that would own it (5.1(h): no other finding names it).
    sql(&app, "UPDATE requirement_states SET owner_id = NULL WHERE requirement_id = $1", h.0).await;
    fires!("requirement_without_owner");
    // A new version signed by the CEO, who then leaves: the policy stays approved.
    let v2 = app.draft(org, c.policies[0], "# Policy\n\nReaffirmed.", None, Bump::Minor).await;
    let v = mandate::policies::versions::model::version(app.db(), org, mandate::ids::VersionId(v2)).await.unwrap();
    let signer = mandate::policies::versions::model::Signer {
        user_id: None,
        name: "Cee Eo".into(),
        person_id: Some(mandate::ids::PersonId(c.ceo)),
        top_management: true,
        client_addr: "192.0.2.1".into(),
        user_agent: "test".into(),
        passkey: None,
    };
    let mut tx = app.db().begin().await.unwrap();
    mandate::policies::versions::model::sign(&mut tx, &Actor::system(Some(org), "test"), app.state.clock.now(), org, &v, &signer).await.unwrap();
    tx.commit().await.unwrap();
    sql(&app, "UPDATE people SET end_date = '2026-11-01' WHERE id = $1", c.ceo).await;
    fires!("approver_left");
    sql(&app, "UPDATE policies SET kind = 'topic_specific' WHERE id = $1", c.policies[0]).await;
    fires!("no_is_policy");
    // Review periods are read against the day: a year on, every signed policy is due.
    assert!(rules_on(&app, org, day("2027-12-01")).await.contains(&"policy_review_overdue"));
    steps.push("policy_review_overdue");

    let all: std::collections::BTreeSet<&str> = mandate::gaps::rules::RULES.iter().map(|r| r.key).collect();
    let seen: std::collections::BTreeSet<&str> = steps.into_iter().collect();
    assert_eq!(seen, all, "every rule was made to fire against the database");
    let _ = (c.module, c.ceo);
}

#[sqlx::test]
async fn a_past_day_ignores_what_came_later_and_reads_dates_as_they_stood(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    // Back to March: the CEO signs the policy; a holder of 5.3(a) is appointed.
    app.clock.advance(Duration::days(-246));
    let ceo = staff(&app, org, "Cee Eo", true, "2015-01-01").await;
    let holder = staff(&app, org, "Ima Lead", false, "2020-01-01").await;
    signed_policy(&app, org, owner, "Information security policy", PolicyKind::IsPolicy, true).await;
    let role = app.role(org, "ISMS lead", true, false).await;
    app.appoint(org, role, holder, ceo).await;
    // September: the first management review; October: an ask, answered on the 20th.
    app.clock.advance(Duration::days(183));
    app.meeting(org, "Management review", ceo, "2026-09-01", "Minutes.").await;
    app.clock.advance(Duration::days(30));
    let ask = app.ask(org, ceo, "Approve the audit", Some("2026-10-15")).await;
    sqlx::query("UPDATE leadership_asks SET response = 'Yes', responded_on = '2026-10-20' WHERE id = $1").bind(ask).execute(app.db()).await.unwrap();
    // The holder leaves on 2026-08-01.
    sqlx::query("UPDATE people SET end_date = '2026-08-01' WHERE id = $1").bind(holder).execute(app.db()).await.unwrap();
    app.clock.advance(Duration::days(33));
    assert_eq!(app.state.clock.now().date_naive(), day("2026-11-02"));

    let june = rules_on(&app, org, day("2026-06-30")).await;
    assert!(june.contains(&"no_management_review"), "the September review did not exist yet: {june:?}");
    assert!(!june.contains(&"no_is_policy"), "the policy signed in March counts");
    assert!(!june.contains(&"conformance_unassigned"), "the holder still worked here");
    assert!(!june.contains(&"unanswered_asks"), "the ask came later");
    let october = rules_on(&app, org, day("2026-10-18")).await;
    assert!(!october.contains(&"no_management_review"));
    assert!(october.contains(&"conformance_unassigned"), "the holder left in August: {october:?}");
    assert!(october.contains(&"unanswered_asks"), "due on the 15th, answered on the 20th");
    let now = rules_on(&app, org, day("2026-11-02")).await;
    assert!(!now.contains(&"unanswered_asks"));
    // Before the organisation had anything: no policy, no review.
    let february = rules_on(&app, org, day("2026-02-01")).await;
    assert!(february.contains(&"no_is_policy") && february.contains(&"no_management_review"));
}

/// Values edited in place after a day are read as they stood on it: by the
/// evaluation, its CSV export and a bundle as of that day.
#[sqlx::test]
async fn a_past_day_reads_values_edited_since_as_they_stood_then(db: PgPool) {
    use mandate::requirements::model as requirements;
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    let nov2 = day("2026-11-02");
    assert!(rules_on(&app, c.org, nov2).await.is_empty());
    // Five weeks later, edits in place through the application:
    app.clock.advance(Duration::days(35));
    let now = app.state.clock.now();
    let system = Actor::system(Some(c.org), "test");
    let mut tx = app.db().begin().await.unwrap();
    // the role carrying 5.3(a) no longer carries it;
    let role = mandate::roles::model::role_any(&mut tx, c.org, c.roles[0].into()).await.unwrap();
    let f = mandate::roles::model::RoleFields {
        name: role.name.clone(),
        responsibilities: role.responsibilities.clone(),
        authorities: role.authorities.clone(),
        carries_conformance: false,
        carries_reporting: role.carries_reporting,
    };
    assert!(mandate::roles::model::update_role(&mut tx, &system, now, c.org, &role, &f).await.unwrap());
    // a requirement loses its owner;
    let before = requirements::get(&mut *tx, c.org, c.requirement.into(), now.date_naive()).await.unwrap();
    let state = requirements::State { owner_id: None, ..before.state() };
    assert!(requirements::save(&mut tx, &system, now, c.org, &before, &state).await.unwrap());
    // the holder is recorded as having left in October, before the day;
    let holder = people::get_in(&mut *tx, c.org, c.holder.into()).await.unwrap();
    let fields = PersonFields { end_date: Some(day("2026-10-15")), job_title: "Former lead".into(), ..holder.fields() };
    assert!(people::update(&mut tx, &system, now, c.org, c.holder.into(), &fields).await.unwrap());
    // and the widespread share is raised.
    let g = mandate::orgs::settings::Grading { widespread_percent: 90, ..Default::default() };
    assert!(mandate::orgs::settings::save(&mut tx, &system, now, c.org, &g).await.unwrap());
    tx.commit().await.unwrap();

    let today = rules_on(&app, c.org, now.date_naive()).await;
    for rule in ["conformance_unassigned", "requirement_without_owner"] {
        assert!(today.contains(&rule), "today {rule} fires: {today:?}");
    }
    let then = mandate::gaps::evaluate(app.db(), c.org, nov2).await.unwrap();
    assert!(then.gaps.is_empty(), "on 2 November the role carried 5.3(a), the requirement had its owner and the holder was on the staff: {:?}", then.gaps.iter().map(|g| g.rule).collect::<Vec<_>>());
    let snapshot = mandate::gaps::snapshot::load(app.db(), c.org, nov2).await.unwrap();
    assert_eq!(snapshot.grading.widespread_percent, 50, "the settings as they stood");
    assert_eq!(mandate::gaps::snapshot::load(app.db(), c.org, now.date_naive()).await.unwrap().grading.widespread_percent, 90);

    // The export of that day says the same.
    let mut lead = lead_of(&app, c.org).await;
    let csv = lead.get("/gaps.csv?as_of=2026-11-02").await;
    assert_eq!(csv.body.lines().count(), 1, "only the header: {}", csv.body);
    assert!(lead.get("/gaps.csv").await.body.contains("conformance_unassigned"));

    // So does a bundle as of that day: the owner, the role's assignment and the holder's details as they were.
    let params = mandate::bundles::manifest::Params { as_of: nov2, period_from: None, period_to: None };
    let mut out = Vec::new();
    mandate::bundles::build::build(app.db(), &app.state.store, c.org, &params, now, &Default::default(), &mut out).await.unwrap();
    let files = crate::bundles::entries(&crate::bundles::temp_zip(&out)).await;
    let text = |name: &str| String::from_utf8(files[name].clone()).unwrap();
    let requirement_row = text("records/requirements.csv").lines().nth(1).unwrap().to_string();
    assert!(requirement_row.contains("Ima Lead"), "{requirement_row}");
    let role_row = text("records/roles.csv").lines().find(|l| l.starts_with("ISMS lead,")).unwrap().to_string();
    assert!(role_row.contains(",true,false,Ima Lead,"), "{role_row}");
    // What Mandate held that day counts as evidence in the bundle too, with its dates.
    let derived = text("records/derived-evidence.csv");
    assert!(derived.lines().any(|l| l.starts_with("5.2(e),") && l.contains("Information security policy v1.0, signed by Signer") && l.contains(",yes,")), "{derived}");
    assert!(derived.lines().any(|l| l.starts_with("5.3(a),") && l.contains("Ima Lead holds ISMS lead (5.3(a))")), "the role as it stood: {derived}");
    assert!(text("index.html").contains("held in Mandate"));
    let person = text("records/people.csv").lines().find(|l| l.starts_with("Ima Lead,")).unwrap().to_string();
    assert!(!person.contains("2026-10-15") && !person.contains("Former lead"), "{person}");
}

/// Rows removed after a day (a RACI letter cleared, evidence unlinked) still
/// count on it, an action reopened since was closed on it, and the history
/// that says so cannot be rewritten.
#[sqlx::test]
async fn a_past_day_keeps_what_was_removed_since(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    let nov2 = day("2026-11-02");
    let system = Actor::system(Some(c.org), "test");
    // On 2 November an action due in October is closed; ten days later it is reopened.
    use mandate::leadership::meetings::model::{self as meetings, ActionFields, ActionStatus};
    let action = app.action_item(c.org, c.meeting, "Patch the VPN", Some(c.holder), Some("2026-10-20")).await;
    let fields = |a: &meetings::ActionItem, status| ActionFields { title: a.title.clone(), owner_id: a.owner_id, due_on: a.due_on, status, closing_note: String::new() };
    let mut tx = app.db().begin().await.unwrap();
    let open = meetings::action(&mut *tx, c.org, action.into()).await.unwrap();
    assert!(meetings::save_action(&mut tx, &system, app.state.clock.now(), c.org, &open, &fields(&open, ActionStatus::Done)).await.unwrap());
    tx.commit().await.unwrap();
    app.clock.advance(Duration::days(10));
    let now = app.state.clock.now();
    let mut tx = app.db().begin().await.unwrap();
    let closed = meetings::action(&mut *tx, c.org, action.into()).await.unwrap();
    assert!(meetings::save_action(&mut tx, &system, now, c.org, &closed, &fields(&closed, ActionStatus::Open)).await.unwrap());
    // The accountable letter for the review activity is cleared.
    let before = mandate::roles::raci::load(app.db(), c.org).await.unwrap();
    assert!(mandate::roles::raci::save_cells(&mut tx, &system, now, c.org, &before, &Default::default()).await.unwrap() > 0);
    // The evidence pack is unlinked from 5.1(h), which has no other evidence here.
    let h = mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.1(h)").0;
    let item: Uuid = sqlx::query_scalar("SELECT item_id FROM evidence_links WHERE org_id = $1 AND target_id = $2").bind(c.org).bind(h).fetch_one(&mut *tx).await.unwrap();
    assert!(evidence::unlink(&mut tx, &system, now, c.org, mandate::ids::EvidenceId(item), Target { kind: TargetKind::Requirement, id: h }).await.unwrap());
    tx.commit().await.unwrap();

    let today = rules_on(&app, c.org, now.date_naive()).await;
    assert!(today.contains(&"raci_incomplete") && today.contains(&"requirement_without_evidence") && today.contains(&"overdue_actions"), "{today:?}");
    assert!(rules_on(&app, c.org, nov2).await.is_empty(), "on 2 November the letter and the link were there, and the action was closed");

    // The history is append-only.
    for attempt in ["UPDATE history SET changed_at = changed_at - interval '1 year'", "DELETE FROM history"] {
        let err = sqlx::query(attempt).execute(app.db()).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{attempt}: {err}");
    }
}

/// What Mandate holds counts as evidence: the requirement page lists the
/// records beside uploaded evidence, marked as derived, dated and linked;
/// "without evidence" counts them, and stops counting an expired one.
#[sqlx::test]
async fn records_mandate_holds_count_as_evidence_on_the_requirement_page(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    let req = |code: &str| mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", code).0;
    // No uploaded evidence at all: the records still count where the catalogue says they do.
    sqlx::query("DELETE FROM evidence_links WHERE org_id = $1").bind(c.org).execute(app.db()).await.unwrap();
    let found = rules_on(&app, c.org, day("2026-11-02")).await;
    let missing = mandate::gaps::evaluate(app.db(), c.org, day("2026-11-02")).await.unwrap();
    let without: Vec<String> = missing.gaps.iter().filter(|g| g.rule == "requirement_without_evidence").flat_map(|g| g.requirements.clone()).collect();
    assert!(found.contains(&"requirement_without_evidence"), "{found:?}");
    for code in ["5.1(a)", "5.1(c)", "5.1(d)", "5.1(e)", "5.2(a)", "5.2(e)", "5.2(f)", "5.3", "5.3(a)", "5.3(b)", "A.5.4"] {
        assert!(!without.contains(&code.to_string()), "{code} has records of its own: {without:?}");
    }
    for code in ["5.1(h)", "5.2(g)"] {
        assert!(without.contains(&code.to_string()), "{code}: no line manager below top management, no public page: {without:?}");
    }

    let mut lead = lead_of(&app, c.org).await;
    let page = lead.get(&format!("/requirements/{}", req("5.2(e)"))).await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.texts("table.derived tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("Information security policy v1.0, signed by Signer") && rows[0].contains("derived") && rows[0].contains("Current"), "{rows:?}");
    assert!(page.has(&format!("table.derived a[href='/policies/{}']", c.policies[0])));
    assert!(page.body.contains("No evidence is uploaded yet"), "uploaded evidence is listed apart");
    let none = lead.get(&format!("/requirements/{}", req("5.1(h)"))).await;
    assert!(!none.has("table.derived") && none.body.contains("No evidence is linked yet"));
    // Nobody named for 5.2(e): the holder of the role carrying 5.3(a) owns it, on the page and in the register.
    sqlx::query("UPDATE requirement_states SET owner_id = NULL WHERE requirement_id = $1").bind(req("5.2(e)")).execute(app.db()).await.unwrap();
    app.ask(c.org, c.ceo, "Read the register", None).await; // a change the cache sees
    let page = lead.get(&format!("/requirements/{}", req("5.2(e)"))).await;
    assert!(page.body.contains("Ima Lead, who holds ISMS lead (5.3(a))"), "{}", page.body);
    let register = lead.get("/requirements").await;
    let row = register.texts("table.register tbody tr").into_iter().find(|t| t.starts_with("5.2(e)")).unwrap();
    assert!(row.contains("Ima Lead") && row.contains("by role"), "{row}");
    assert!(!register.body.contains("without an owner"), "role-owned requirements are owned");

    // A year and a half on, the signature is past its review date: listed, no longer counting.
    let later = mandate::gaps::evaluate(app.db(), c.org, day("2028-04-01")).await.unwrap();
    let without: Vec<String> = later.gaps.iter().filter(|g| g.rule == "requirement_without_evidence").flat_map(|g| g.requirements.clone()).collect();
    let r = later.snapshot.requirements.iter().find(|r| r.code == "5.2(a)").unwrap();
    let items = mandate::gaps::derived::for_requirement(&later.snapshot, r);
    assert!(!items.is_empty() && !items[0].counts_on(day("2028-04-01")), "{items:?}");
    assert!(without.contains(&"5.2(a)".to_string()), "an expired record does not count: {without:?}");
}

/// One click downloads a requirement's current evidence: the uploaded files
/// that count today, what Mandate holds for it, and a SHA256SUMS that checks
/// every other file of the ZIP.
#[sqlx::test]
async fn a_requirements_current_evidence_downloads_as_one_checked_zip(db: PgPool) {
    use sha2::Digest;
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    let req = mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.2(e)").0;
    // An expired item is linked too: it is not current, so it stays out.
    let (old, _) = app.evidence(c.org, "Old register", "old.pdf", b"%PDF-1.4\n% old\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").await;
    sqlx::query("UPDATE evidence_items SET valid_until = '2026-10-01' WHERE id = $1").bind(old).execute(app.db()).await.unwrap();
    let mut tx = app.db().begin().await.unwrap();
    evidence::link(&mut tx, &Actor::system(Some(c.org), "t"), app.state.clock.now(), c.org, mandate::ids::EvidenceId(old), Target { kind: TargetKind::Requirement, id: req }).await.unwrap();
    tx.commit().await.unwrap();

    let mut auditor = {
        let a = app.user("ann@cb.example", "Ann Auditor").await;
        app.member(c.org, a, Role::Auditor).await;
        app.signed_in(a, Some(c.org)).await
    };
    let page = auditor.get(&format!("/requirements/{req}")).await;
    assert!(page.has(&format!("a[href='/requirements/{req}/evidence.zip']")), "the page offers the download");
    let res = auditor.get(&format!("/requirements/{req}/evidence.zip")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("content-type"), "application/zip");
    assert!(res.header("content-disposition").starts_with("attachment; filename=\"evidence-5.2-e-20261102.zip\""), "{}", res.header("content-disposition"));
    let files = crate::bundles::entries(&crate::bundles::temp_zip(&res.bytes)).await;
    let names: Vec<&String> = files.keys().collect();
    assert!(names.iter().any(|n| n.starts_with("evidence/evidence-pack-")), "the current upload: {names:?}");
    assert!(!names.iter().any(|n| n.contains("old-register")), "an expired upload stays out: {names:?}");
    let held = String::from_utf8(files["held-in-mandate.csv"].clone()).unwrap();
    assert!(held.contains("5.2(e),Information security policy signed by top management,\"Information security policy v1.0, signed by Signer\",2026-11-02,2027-11-02,/policies/"), "{held}");
    assert!(String::from_utf8(files["held-in-mandate.txt"].clone()).unwrap().contains("counts until 2027-11-02"));
    // SHA256SUMS lists every other file with its SHA-256.
    let sums = String::from_utf8(files["SHA256SUMS"].clone()).unwrap();
    assert_eq!(sums.lines().count(), files.len() - 1, "{sums}");
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").unwrap();
        assert_eq!(hash, hex::encode(sha2::Sha256::digest(&files[name])), "{name}");
    }
}

/// A policy approved on paper before Mandate: a member of top management,
/// signed in as themselves, records the day and who signed, with the scan as
/// the document (the ISMS lead prepares the draft but cannot vouch for a
/// leader's signature). It counts from that day, as-of views honour it, and
/// it shows everywhere as recorded from paper, by which account and when,
/// never as a signature made in Mandate.
#[sqlx::test]
async fn a_paper_approval_counts_from_its_own_day_and_shows_as_such(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let ceo = staff(&app, org, "Cee Eo", true, "2015-01-01").await;
    let clerk = staff(&app, org, "Clerk Kent", false, "2015-01-01").await;
    let mut lead = lead_of(&app, org).await;
    let policy = app.policy(org, "Information security policy", PolicyKind::IsPolicy, false).await;
    let (_, scan) = app.evidence(org, "Signed IS policy (scan)", "is-policy-2025.pdf", b"%PDF-1.4\n% scan\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").await;
    let draft = app.draft(org, policy, "", Some(scan), Bump::Major).await;
    let url = format!("/policies/versions/{draft}/paper");
    assert!(!lead.get(&format!("/policies/versions/{draft}")).await.has(&format!("form[action='{url}']")), "not offered to the ISMS lead");
    assert_eq!(lead.post(&url, &[("approved_on", "2025-06-01"), ("approver_id", &ceo.to_string())]).await.status, StatusCode::FORBIDDEN);
    let mut isms_lead = lead;
    let ceo_user = app.user("ceo@acme.example", "Cee Eo").await;
    app.member(org, ceo_user, Role::Executive).await;
    app.link(org, ceo, ceo_user).await;
    let mut lead = app.signed_in(ceo_user, Some(org)).await;
    assert!(lead.get(&format!("/policies/versions/{draft}")).await.has(&format!("form[action='{url}']")), "offered to a member of top management");

    // Refused: a day in the future, nobody chosen; nothing is recorded.
    let future = lead.post(&url, &[("approved_on", "2027-01-01"), ("approver_id", &ceo.to_string())]).await;
    assert_eq!(future.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(future.has("#f-approved_on-error") && future.body.contains("2027-01-01"), "the value is kept and the error named");
    let nobody = lead.post(&url, &[("approved_on", "2025-06-01"), ("approver_id", "")]).await;
    assert_eq!(nobody.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nobody.has("#f-approver_id-error"));
    assert!(rules_on(&app, org, day("2026-11-02")).await.contains(&"no_is_policy"));

    let ok = lead.post(&url, &[("approved_on", "2025-06-01"), ("approver_id", &ceo.to_string())]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = lead.get(&format!("/policies/versions/{draft}")).await;
    let sig = page.texts("section.signed").concat();
    assert!(sig.contains("Cee Eo") && sig.contains("on paper, recorded in Mandate by ceo@acme.example") && sig.contains("2025-06-01"), "{sig}");
    assert!(!sig.contains("signed in as"), "not a signature made in Mandate: {sig}");

    // It counts from its own day: as of July 2025 the policy was signed by top management; before June it did not exist.
    let july = rules_on(&app, org, day("2025-07-01")).await;
    assert!(!july.contains(&"no_is_policy") && !july.contains(&"is_policy_not_top_signed"), "{july:?}");
    assert!(rules_on(&app, org, day("2025-05-01")).await.contains(&"no_is_policy"));
    // The signer has read it from that day; the clerk has not.
    let (method, at): (String, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("SELECT method, acknowledged_at FROM acknowledgements WHERE person_id = $1").bind(ceo).fetch_one(app.db()).await.unwrap();
    assert_eq!((method.as_str(), at.date_naive()), ("signed", day("2025-06-01")));
    let _ = clerk;
    // The audit log says who entered it, in words.
    let log = isms_lead.get("/audit").await;
    assert!(log.texts("table.log tbody tr").iter().any(|r| r.contains("recorded a policy version approved on paper") && r.contains("Approved on: \u{201c}2025-06-01\u{201d}")), "{}", log.texts("table.log tbody tr").join("\n"));
    // A bundle says so too.
    let params = mandate::bundles::manifest::Params { as_of: day("2026-11-02"), period_from: None, period_to: None };
    let mut out = Vec::new();
    mandate::bundles::build::build(app.db(), &app.state.store, org, &params, app.state.clock.now(), &Default::default(), &mut out).await.unwrap();
    let files = crate::bundles::entries(&crate::bundles::temp_zip(&out)).await;
    let csv = String::from_utf8(files["records/policies.csv"].clone()).unwrap();
    assert!(csv.contains("on paper, recorded in Mandate by ceo@acme.example on 2026-11-02"), "{csv}");
    // A second record of the same version is refused.
    assert_eq!(lead.post(&url, &[("approved_on", "2025-06-01"), ("approver_id", &ceo.to_string())]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A management review held before Mandate, its minutes signed off on
/// paper: the ISMS lead records the meeting (and edits it: history is kept),
/// but only a member of top management, signed in as themselves, records
/// the chair's paper sign-off. It then counts from its own days (as-of views
/// too), shows everywhere as signed on paper, by which account and when,
/// and the record is final.
#[sqlx::test]
async fn minutes_signed_off_on_paper_count_from_their_own_day_and_show_as_such(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let ceo = staff(&app, org, "Cee Eo", true, "2015-01-01").await;
    let mut lead = lead_of(&app, org).await;
    let all_inputs: Vec<(&str, &str)> = mandate::leadership::meetings::model::INPUTS.iter().map(|(k, _)| ("inputs", *k)).collect();
    let ceo_s = ceo.to_string();
    let mut fields = vec![("kind", "management_review"), ("title", "Management review 2025"), ("held_on", "2025-03-10"), ("chair_id", ceo_s.as_str()), ("attendees", ceo_s.as_str())];
    fields.extend(all_inputs.iter().copied());
    let res = lead.post("/meetings", &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let meeting = res.location().trim_start_matches("/meetings/").to_string();
    // Edited later the same day: its history now says it had no minutes before.
    app.clock.advance(chrono::Duration::minutes(10));
    fields.push(("minutes", "Minutes as signed on paper: objectives reviewed, budget approved."));
    assert_eq!(lead.post(&format!("/meetings/{meeting}"), &fields).await.status, StatusCode::SEE_OTHER);
    assert!(rules_on(&app, org, day("2025-06-01")).await.contains(&"no_management_review"), "recorded today, it did not exist then");

    let url = format!("/meetings/{meeting}/paper");
    let page = lead.get(&format!("/meetings/{meeting}")).await;
    assert!(!page.has(&format!("form[action='{url}']")) && page.body.contains("ask a member of top management"), "not offered to the ISMS lead");
    assert_eq!(lead.post(&url, &[("signed_on", "2025-03-20")]).await.status, StatusCode::FORBIDDEN);
    let ceo_user = app.user("ceo@acme.example", "Cee Eo").await;
    app.member(org, ceo_user, Role::Executive).await;
    app.link(org, ceo, ceo_user).await;
    let mut leader = app.signed_in(ceo_user, Some(org)).await;
    // The scan of the signed minutes comes first: it is what shows the signature.
    let refused = leader.post(&url, &[("signed_on", "2025-03-20")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.texts(".error-summary").concat().contains("Link the scan"), "{}", refused.body);
    let (scan, _) = app.evidence(org, "Signed minutes 2025 (scan)", "minutes-2025.pdf", b"%PDF-1.4\n% scan\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").await;
    app.link_to_meeting(org, scan, meeting.parse().unwrap()).await;
    assert!(leader.get(&format!("/meetings/{meeting}")).await.has(&format!("form[action='{url}']")), "offered to a member of top management");

    // Refused: the future, before the meeting, no day; nothing is recorded.
    for (when, says) in [("2027-01-01", "in the past"), ("2025-03-01", "after the meeting"), ("", "Enter the day")] {
        let res = leader.post(&url, &[("signed_on", when)]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{when}");
        assert!(res.texts("#f-signed_on-error").concat().contains(says), "{when}: {:?}", res.texts("#f-signed_on-error"));
    }
    let ok = leader.post(&url, &[("signed_on", "2025-03-20")]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);

    // Shown as signed on paper, by whom it was recorded and when; never as signed in Mandate.
    let page = lead.get(&format!("/meetings/{meeting}")).await;
    let card = page.texts("section.signed").concat();
    assert!(card.contains("on paper") && card.contains("Cee Eo") && card.contains("2025-03-20") && card.contains("Recorded in Mandate by ceo@acme.example on 2026-11-02"), "{card}");
    assert!(!card.contains("signed in as"), "{card}");
    assert!(lead.get("/meetings").await.body.contains("signed off on paper"));
    let csv = lead.get("/meetings.csv").await.body;
    assert!(csv.contains("on paper, recorded in Mandate by ceo@acme.example"), "{csv}");

    // It counts on its own days, views of past days included, though edited since it was entered.
    assert!(!rules_on(&app, org, day("2025-06-01")).await.iter().any(|r| *r == "no_management_review" || *r == "review_without_minutes"));
    assert!(rules_on(&app, org, day("2025-03-05")).await.contains(&"no_management_review"), "not held yet");
    // Final: no edit, no second sign-off.
    assert_eq!(lead.post(&format!("/meetings/{meeting}"), &fields).await.status, StatusCode::CONFLICT);
    assert_eq!(leader.post(&url, &[("signed_on", "2025-03-20")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The audit log and a bundle say how it was given.
    let log = lead.get("/audit").await;
    assert!(log.texts("table.log tbody tr").iter().any(|r| r.contains("recorded meeting minutes signed off on paper") && r.contains("2025-03-20")), "{}", log.texts("table.log tbody tr").join("\n"));
    let params = mandate::bundles::manifest::Params { as_of: day("2025-06-01"), period_from: None, period_to: None };
    let mut out = Vec::new();
    mandate::bundles::build::build(app.db(), &app.state.store, org, &params, app.state.clock.now(), &Default::default(), &mut out).await.unwrap();
    let files = crate::bundles::entries(&crate::bundles::temp_zip(&out)).await;
    let csv = String::from_utf8(files["records/meetings.csv"].clone()).unwrap();
    assert!(csv.contains("Management review 2025") && csv.contains("on paper, recorded in Mandate by ceo@acme.example on 2026-11-02"), "{csv}");
    let index = String::from_utf8(files["index.html"].clone()).unwrap();
    assert!(index.contains("2025-03-20 by Cee Eo, on paper, recorded in Mandate by ceo@acme.example"), "{index}");
    // The scan of the signed minutes, uploaded later, is in the bundle of that earlier day.
    assert!(files.keys().any(|k| k.ends_with("minutes-2025.pdf")), "{:?}", files.keys().collect::<Vec<_>>());
}

/// An appointment made with a letter on paper before Mandate: the ISMS
/// lead records it and the holder's countersignature; only a member of top
/// management records the appointer's signature. Each counts from its own
/// day (as-of views too), shows everywhere as given on paper and by which
/// account it was recorded, and nothing else may be recorded twice.
#[sqlx::test]
async fn an_appointment_letter_signed_on_paper_counts_from_its_day_and_shows_as_such(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let ceo = staff(&app, org, "Cee Eo", true, "2015-01-01").await;
    let holder = staff(&app, org, "Hol Der", false, "2015-01-01").await;
    let role = app.role(org, "ISMS manager", true, true).await;
    let mut lead = lead_of(&app, org).await;
    let res = lead
        .post(&format!("/roles/{role}/appointments"), &[("person_id", &holder.to_string()), ("capacity", "holder"), ("appointed_by", &ceo.to_string()), ("appointed_on", "2025-02-01")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let appointment: Uuid = sqlx::query_scalar("SELECT id FROM role_appointments WHERE role_id = $1").bind(role).fetch_one(app.db()).await.unwrap();
    // The role is edited after it was entered: its history says it did not exist before today.
    app.clock.advance(chrono::Duration::minutes(10));
    let edit = [("name", "ISMS manager"), ("responsibilities", "Runs the ISMS."), ("authorities", "May stop a release."), ("conformance", "on"), ("reporting", "on")];
    assert_eq!(lead.post(&format!("/roles/{role}"), &edit).await.status, StatusCode::SEE_OTHER);
    let june = rules_on(&app, org, day("2025-06-01")).await;
    assert!(june.contains(&"reporting_unassigned") && june.contains(&"conformance_unassigned"), "recorded today, it did not exist then: {june:?}");

    // The holder's countersignature: the ISMS lead may record it; not the appointer's signature.
    let confirm = format!("/appointments/{appointment}/paper-confirmation");
    let accept = format!("/appointments/{appointment}/paper-acceptance");
    let page = lead.get(&format!("/roles/{role}")).await;
    assert!(page.has(&format!("form[action='{accept}']")) && !page.has(&format!("form[action='{confirm}']")));
    assert_eq!(lead.post(&confirm, &[("signed_on", "2025-02-01")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(lead.post(&accept, &[("signed_on", "2025-01-20")]).await.status, StatusCode::CONFLICT, "before the appointment");
    assert_eq!(lead.post(&accept, &[("signed_on", "2025-02-03")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(lead.post(&accept, &[("signed_on", "2025-02-03")]).await.status, StatusCode::CONFLICT, "once only");

    let ceo_user = app.user("ceo@acme.example", "Cee Eo").await;
    app.member(org, ceo_user, Role::Executive).await;
    app.link(org, ceo, ceo_user).await;
    let mut leader = app.signed_in(ceo_user, Some(org)).await;
    assert!(leader.get(&format!("/roles/{role}")).await.has(&format!("form[action='{confirm}']")));
    assert_eq!(leader.post(&confirm, &[("signed_on", "2027-01-01")]).await.status, StatusCode::CONFLICT, "the future");
    assert_eq!(leader.post(&confirm, &[("signed_on", "2025-02-01")]).await.status, StatusCode::SEE_OTHER);

    // Shown as on paper, by which account; in the page, the CSV and a bundle of a past day.
    let row = lead.get(&format!("/roles/{role}")).await.texts(&format!("tr#appointment-{appointment}")).concat();
    assert!(row.contains("confirmed 2025-02-01 by Cee Eo, on paper, recorded in Mandate by ceo@acme.example"), "{row}");
    assert!(row.contains("2025-02-03 by Hol Der, on paper, recorded in Mandate by lead@acme.example"), "{row}");
    assert!(!row.contains("signed in as"), "{row}");
    let csv = lead.get("/roles.csv").await.body;
    assert!(csv.contains("on paper, recorded in Mandate by ceo@acme.example") && csv.contains("on paper, recorded in Mandate by lead@acme.example"), "{csv}");
    // Counted from the letter's days, views of past days included.
    let june = rules_on(&app, org, day("2025-06-01")).await;
    assert!(!june.iter().any(|r| matches!(*r, "reporting_unassigned" | "conformance_unassigned" | "holder_not_accepted")), "{june:?}");
    assert!(rules_on(&app, org, day("2025-02-02")).await.contains(&"holder_not_accepted"), "appointed, not yet accepted");
    assert!(rules_on(&app, org, day("2025-01-15")).await.contains(&"reporting_unassigned"), "not yet appointed");
    let params = mandate::bundles::manifest::Params { as_of: day("2025-06-01"), period_from: None, period_to: None };
    let mut out = Vec::new();
    mandate::bundles::build::build(app.db(), &app.state.store, org, &params, app.state.clock.now(), &Default::default(), &mut out).await.unwrap();
    let files = crate::bundles::entries(&crate::bundles::temp_zip(&out)).await;
    let roles = String::from_utf8(files["records/roles.csv"].clone()).unwrap();
    assert!(roles.contains("Hol Der") && roles.contains("on paper, recorded in Mandate by ceo@acme.example on 2026-11-02"), "{roles}");
    // A former holder's letter can still be recorded, for the time they held the role.
    let former = staff(&app, org, "Form Er", false, "2015-01-01").await;
    let res = lead
        .post(&format!("/roles/{role}/appointments"), &[("person_id", &former.to_string()), ("capacity", "deputy"), ("appointed_by", &ceo.to_string()), ("appointed_on", "2023-01-10")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let old: Uuid = sqlx::query_scalar("SELECT id FROM role_appointments WHERE person_id = $1").bind(former).fetch_one(app.db()).await.unwrap();
    assert_eq!(lead.post(&format!("/appointments/{old}/end"), &[("ended_on", "2024-01-31"), ("reason", "Moved on")]).await.status, StatusCode::SEE_OTHER);
    let page = lead.get(&format!("/roles/{role}")).await;
    assert!(page.has(&format!("form[action='/appointments/{old}/paper-acceptance']")), "offered for an ended appointment too");
    assert_eq!(lead.post(&format!("/appointments/{old}/paper-acceptance"), &[("signed_on", "2024-02-01")]).await.status, StatusCode::CONFLICT, "after it ended");
    assert_eq!(lead.post(&format!("/appointments/{old}/paper-acceptance"), &[("signed_on", "2023-01-12")]).await.status, StatusCode::SEE_OTHER);
    let log = lead.get("/audit").await.texts("table.log tbody tr").join("\n");
    assert!(log.contains("recorded a role accepted on paper") && log.contains("recorded an appointment letter signed on paper by the appointer"), "{log}");
}

/// A resource decision taken before Mandate, entered from old papers: it
/// counts from its own dates (views of past days too), and says when and
/// by which account it was entered.
#[sqlx::test]
async fn a_decision_entered_later_counts_from_its_own_dates_and_says_so(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let ceo = staff(&app, org, "Cee Eo", true, "2015-01-01").await;
    let mut lead = lead_of(&app, org).await;
    assert!(rules_on(&app, org, day("2025-06-01")).await.contains(&"no_resource_decision"));
    let ceo_s = ceo.to_string();
    let res = lead
        .post(
            "/decisions",
            &[("title", "Budget for the ISMS, 2025"), ("what", "budget"), ("amount", "40000"), ("currency", "EUR"), ("asked_by", &ceo_s), ("asked_on", "2025-01-10"),
              ("decided_by", &ceo_s), ("decision", "approved"), ("decided_on", "2025-02-01")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = lead.get(res.location()).await;
    let facts = page.texts("dl.facts").concat();
    assert!(facts.contains("2026-11-02, by lead@acme.example") && facts.contains("entered later"), "{facts}");
    assert!(!rules_on(&app, org, day("2025-06-01")).await.contains(&"no_resource_decision"), "it counts from its own day");
    assert!(rules_on(&app, org, day("2025-01-05")).await.contains(&"no_resource_decision"), "not before it was asked for");
    let csv = lead.get("/decisions.csv").await.body;
    assert!(csv.contains("lead@acme.example"), "{csv}");
    let params = mandate::bundles::manifest::Params { as_of: day("2025-06-01"), period_from: None, period_to: None };
    let mut out = Vec::new();
    mandate::bundles::build::build(app.db(), &app.state.store, org, &params, app.state.clock.now(), &Default::default(), &mut out).await.unwrap();
    let files = crate::bundles::entries(&crate::bundles::temp_zip(&out)).await;
    let decisions = String::from_utf8(files["records/resource-decisions.csv"].clone()).unwrap();
    assert!(decisions.contains("Budget for the ISMS, 2025") && decisions.contains("2026-11-02 by lead@acme.example"), "{decisions}");
}

async fn lead_of(app: &TestApp, org: OrgId) -> Client {
    let lead = app.user("lead@acme.example", "Lead").await;
    app.member(org, lead, Role::IsmsLead).await;
    app.signed_in(lead, Some(org)).await
}

#[sqlx::test]
async fn the_gap_list_follows_changes_filters_and_exports(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    let mut lead = lead_of(&app, c.org).await;
    let page = lead.get("/gaps").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No gaps: every rule is satisfied today"), "{}", page.body);
    // A change made anywhere shows on the next view (the cached evaluation is replaced).
    let mut tx = app.db().begin().await.unwrap();
    mandate::leadership::asks::insert(
        &mut tx,
        &Actor::system(Some(c.org), "t"),
        app.state.clock.now(),
        c.org,
        &mandate::leadership::asks::Fields { asked_of: Some(mandate::ids::PersonId(c.ceo)), what: "Approve the audit".into(), asked_on: Some(day("2026-10-01")), due_on: Some(day("2026-10-20")), ..Default::default() },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("UPDATE requirement_states SET owner_id = NULL WHERE requirement_id = $1").bind(c.requirement).execute(app.db()).await.unwrap();
    // (The owner change went around the application, so it has no audit row; the ask's row moves the head.)
    // 5.1(a) has no owner named, but the holder of the role carrying 5.3(a) owns it.
    let page = lead.get("/gaps").await;
    let titles = page.texts("ul.gaps summary");
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert!(titles[0].contains("Asks to top management left unanswered"));

    // Filters: by clause and by severity; the owner filter keeps gaps on requirements they own.
    let only_53 = lead.get("/gaps?clause=5.3").await;
    assert!(only_53.texts("ul.gaps summary").is_empty(), "{:?}", only_53.texts("ul.gaps summary"));
    assert!(only_53.body.contains("No gap matches this filter"));
    let opportunities = lead.get("/gaps?severity=improvement").await;
    assert_eq!(opportunities.texts("ul.gaps summary").len(), 1, "an unanswered ask is an opportunity");
    assert!(lead.get("/gaps?severity=minor").await.texts("ul.gaps summary").is_empty());
    // The holder owns 5.1(f), which the ask touches; the CEO owns nothing.
    let owned = lead.get(&format!("/gaps?owner={}", c.holder)).await;
    let titles = owned.texts("ul.gaps summary");
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert!(titles[0].contains("Asks to top management"));
    assert!(lead.get(&format!("/gaps?owner={}", c.ceo)).await.texts("ul.gaps summary").is_empty());

    // Export with the same filter.
    let csv = lead.get("/gaps.csv?severity=improvement").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-disposition").starts_with("attachment; filename=\"gaps-20261102.csv\""), "{}", csv.header("content-disposition"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.body);
    assert!(lines[0].starts_with("as_of,severity,why_this_grade,rule,gap"));
    assert!(csv.body.contains("unanswered_asks"));
    assert!(csv.body.contains("An unanswered request is Mandate's signal that support is slow"), "each row says why it has its grade");

    // A past day, and a bad one.
    let past = lead.get("/gaps?as_of=2026-01-15").await;
    assert!(past.texts("main h1").concat().contains("as of 2026-01-15"));
    assert!(past.body.contains("No signed information security policy"), "nothing was signed yet in January");
    let bad = lead.get("/gaps?as_of=15%2F01%2F2026").await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.body.contains("year-month-day"));
}

#[sqlx::test]
async fn the_leadership_dashboard_speaks_plainly_and_lists_what_only_the_executive_can_do(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    let ceo_user = app.user("ceo@acme.example", "Cee Eo").await;
    app.member(c.org, ceo_user, Role::Executive).await;
    app.link(c.org, c.ceo, ceo_user).await;
    app.sign_meeting(c.org, c.meeting, "Cee Eo").await;
    let mut ceo = app.signed_in(ceo_user, Some(c.org)).await;
    let page = ceo.get("/leadership").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts(".status-word"), vec!["On track"; 4]);
    assert!(page.body.contains("Nothing waits for you"), "{}", page.body);
    assert!(page.body.contains("Ima Lead (ISMS lead)"), "who holds 5.3(a)");

    // Work for the CEO: a draft to sign, an ask to answer, a new module to complete.
    app.draft(c.org, c.policies[0], "# Policy 2", None, Bump::Major).await;
    app.ask(c.org, c.ceo, "Approve the audit", Some("2026-10-20")).await;
    app.module(c.org, "Phishing basics").await;
    let page = ceo.get("/leadership").await;
    let todo = page.texts("ul.todo li");
    assert!(todo.iter().any(|t| t.contains("Sign Information security policy")), "{todo:?}");
    assert!(todo.iter().any(|t| t.contains("Answer Approve the audit") && t.contains("overdue")), "{todo:?}");
    assert!(todo.iter().any(|t| t.contains("Complete Phishing basics") && t.contains("never done")), "{todo:?}");
    assert_eq!(page.texts(".status-word"), vec!["On track", "On track", "On track", "At risk"], "nobody has done the new module: A.5.4 is at risk; the overdue ask is an opportunity, not a lapse of 5.1");

    // The trend chart is an SVG of its own with its figures inside.
    let svg = ceo.get("/leadership/trend.svg").await;
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.header("content-type"), "image/svg+xml");
    assert!(svg.body.contains("2026-11-02: ") && svg.body.contains("2026-10-31: "), "{}", svg.body);
}

/// A large organisation, generated the same way as the benchmark's.
async fn grow(app: &TestApp, org: OrgId, people: usize) {
    let sizes = mandate::generate::Sizes::scaled(people);
    let mut conn = app.db().acquire().await.unwrap();
    mandate::generate::fill(&mut conn, org, app.state.clock.now(), &sizes).await.unwrap();
}

/// Queries run by the two dashboards, each first view (nothing cached).
async fn measure(app: &TestApp, org: OrgId) -> (usize, usize, usize) {
    let user = app.user(&format!("exec-{org}@acme.example"), "Exec").await;
    app.member(org, user, Role::Executive).await;
    let mut c = app.signed_in(user, Some(org)).await;
    let (gaps, n_gaps) = queries_during(c.get("/gaps")).await;
    assert_eq!(gaps.status, StatusCode::OK);
    let (board, n_board) = queries_during(c.get("/leadership")).await;
    assert_eq!(board.status, StatusCode::OK);
    let (again, n_cached) = queries_during(c.get("/gaps")).await;
    assert_eq!(again.status, StatusCode::OK);
    (n_gaps, n_board, n_cached)
}

#[sqlx::test]
async fn dashboards_take_the_same_queries_for_a_small_and_a_large_organisation(db: PgPool) {
    let app = TestApp::new(db).await;
    let small = compliant(&app).await;
    let small_counts = measure(&app, small.org).await;
    let owner = app.user("big@acme.example", "Big").await;
    let big = app.org("Big Co", owner).await;
    grow(&app, big, 1500).await;
    let people: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE org_id = $1").bind(big).fetch_one(app.db()).await.unwrap();
    assert!(people >= 1500);
    let big_counts = measure(&app, big).await;
    let named = |(g, b, c): (usize, usize, usize)| [("/gaps", g), ("/leadership", b), ("/gaps (cached)", c)];
    crate::support::assert_same_queries(&named(small_counts), &named(big_counts));
    assert!(small_counts.2 < small_counts.0, "a cached view skips the evaluation");
}

/// Signing in writes an audit row but changes no record: the cached
/// evaluation stays (a load run of sign-ins and dashboards once recomputed
/// it on every view). A change still replaces it.
#[sqlx::test]
async fn a_sign_in_keeps_the_cached_evaluation_and_a_change_replaces_it(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    let mut lead = lead_of(&app, c.org).await;
    let (_, first) = queries_during(lead.get("/gaps")).await;
    let (_, cached) = queries_during(lead.get("/gaps")).await;
    assert!(cached < first, "the second view is served from the cache ({cached} < {first} queries)");

    let signed_in = || async { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_log WHERE org_id = $1 AND action = 'session.signed_in'").bind(c.org).fetch_one(app.db()).await.unwrap() };
    let before = signed_in().await;
    let mut other = app.client();
    assert_eq!(other.login("owner@acme.example", crate::support::PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in().await, before + 1, "the sign-in is in the organisation's audit chain");
    let (_, after_sign_in) = queries_during(lead.get("/gaps")).await;
    assert_eq!(after_sign_in, cached, "a sign-in does not throw the evaluation away");

    let res = lead.post("/meetings/cadence", &[("months", "6")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let (_, after_change) = queries_during(lead.get("/gaps")).await;
    assert_eq!(after_change, first, "a change makes the next view evaluate again");
}

/// Findings are graded as a certification body grades: a lapse among a
/// share of the staff is minor below the organisation's widespread share and
/// major from it. The owner moves the share on the settings page; a bad
/// value is refused and kept; an executive may read it but not change it. A
/// version signed today leaves missing acknowledgements an opportunity for
/// improvement while people still have time.
#[sqlx::test]
async fn the_widespread_share_is_a_setting_that_grades_findings(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    // One of the two people is not current on the training (50%), and has
    // not acknowledged the IS policy signed today.
    for table in ["training_records", "acknowledgements"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE org_id = $1 AND person_id = $2"))
            .bind(c.org)
            .bind(c.holder)
            .execute(app.db())
            .await
            .unwrap();
    }
    let mut owner = app.signed_in(c.owner, Some(c.org)).await;
    let finding = |page: &crate::support::Resp, what: &str| {
        page.texts("details.gap").into_iter().find(|t| t.contains(what)).unwrap_or_else(|| panic!("no {what}: {}", page.body))
    };
    let page = owner.get("/gaps").await;
    let training = finding(&page, "are not current");
    assert!(training.contains("Major nonconformity") && training.contains("at or above the 50% this organisation counts as widespread"), "{training}");
    let policy = finding(&page, "Information security policy v1.0: 1 of 2 people");
    assert!(policy.contains("Opportunity for improvement") && policy.contains("within the 30 days this organisation gives"), "{policy}");

    let settings = owner.get("/settings").await;
    assert_eq!(settings.status, StatusCode::OK);
    assert!(settings.body.contains("value=\"50\""), "the default shows");
    let bad = owner.post("/settings/grading", &[("widespread_percent", "150"), ("ack_grace_days", "30"), ("minutes_grace_days", "30"), ("onboarding_grace_days", "3"), ("repeated_from", "3")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has("#f-widespread_percent-error") && bad.body.contains("value=\"150\""), "the value is kept and named");
    let once = owner.post("/settings/grading", &[("widespread_percent", "60"), ("ack_grace_days", "30"), ("minutes_grace_days", "30"), ("onboarding_grace_days", "3"), ("repeated_from", "1")]).await;
    assert_eq!(once.status, StatusCode::UNPROCESSABLE_ENTITY, "once is not repeated");
    assert!(once.has("#f-repeated_from-error") && once.body.contains("from 2 to 50"), "{}", once.body);
    let ok = owner.post("/settings/grading", &[("widespread_percent", "60"), ("ack_grace_days", "30"), ("minutes_grace_days", "30"), ("onboarding_grace_days", "3"), ("repeated_from", "4")]).await;
    assert_eq!((ok.status, ok.location()), (StatusCode::SEE_OTHER, "/settings"));
    let training = finding(&owner.get("/gaps").await, "are not current");
    assert!(training.contains("Minor nonconformity") && training.contains("below the 60% this organisation counts as widespread"), "{training}");
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE org_id = $1 AND action = 'organisation.grading_set'").bind(c.org).fetch_one(app.db()).await.unwrap();
    assert_eq!(audited, 1);

    let exec_user = app.user("exec@acme.example", "Exec").await;
    app.member(c.org, exec_user, Role::Executive).await;
    let mut exec = app.signed_in(exec_user, Some(c.org)).await;
    let read = exec.get("/settings").await;
    assert!(read.body.contains("60% of the people concerned") && read.body.contains("4 occurrences of the same lapse"), "{}", read.body);
    assert!(!read.has("form[action='/settings/grading']"), "an executive reads the settings and cannot change them");
}

/// The chair of a management review is present at it: a review chaired by
/// top management with no one else listed is not a review without top
/// management, and a review chaired and attended by others is.
#[sqlx::test]
async fn the_chair_counts_as_present_at_the_review(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    let today = app.state.clock.now().date_naive();
    sql(&app, "UPDATE meetings SET attendee_ids = '{}' WHERE id = $1", c.meeting).await;
    assert!(!rules_on(&app, c.org, today).await.contains(&"review_without_top_management"), "the CEO chaired it");
    let ids: Vec<Uuid> = vec![c.holder];
    sqlx::query("UPDATE meetings SET chair_id = $2, attendee_ids = $3 WHERE id = $1").bind(c.meeting).bind(c.holder).bind(&ids).execute(app.db()).await.unwrap();
    assert!(rules_on(&app, c.org, today).await.contains(&"review_without_top_management"), "nobody from top management was there");
}

/// Contractors are personnel: a policy whose audience leaves them out
/// without saying why still asks them, and the gap list names them; with a
/// reason the narrower audience counts. A training plan or disciplinary
/// process may be published only: then nobody is "not communicated".
#[sqlx::test]
async fn narrower_audiences_need_a_reason_and_published_documents_ask_nobody(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    let today = app.state.clock.now().date_naive();
    let contractor = staff(&app, c.org, "Con Tractor", false, "2020-01-01").await;
    sql(&app, "UPDATE people SET kind = 'contractor' WHERE id = $1", contractor).await;
    let missing = |app: &TestApp| {
        let db = app.db().clone();
        let org = c.org;
        async move {
            mandate::gaps::evaluate(&db, org, today)
                .await
                .unwrap()
                .gaps
                .into_iter()
                .filter(|g| g.rule == "policy_not_communicated")
                .map(|g| g.title.split(" v").next().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        }
    };
    let all = missing(&app).await;
    assert!(all.contains(&"Information security policy".to_string()) && all.contains(&"Training plan".to_string()), "{all:?}");

    // Employees only, without a reason: the contractor is still asked.
    sql(&app, "UPDATE policies SET audience = 'employees' WHERE id = $1", c.policies[0]).await;
    assert!(missing(&app).await.contains(&"Information security policy".to_string()));
    // With the reason, the narrower audience counts.
    sql(&app, "UPDATE policies SET audience_reason = 'Contractors sign the supplier policy instead' WHERE id = $1", c.policies[0]).await;
    assert!(!missing(&app).await.contains(&"Information security policy".to_string()));

    // Published only: the training plan and the disciplinary process ask nobody.
    for p in [c.policies[2], c.policies[3]] {
        sql(&app, "UPDATE policies SET audience = 'published' WHERE id = $1", p).await;
    }
    let now = missing(&app).await;
    assert!(!now.contains(&"Training plan".to_string()) && !now.contains(&"Disciplinary process".to_string()), "{now:?}");
    // So may management's statement: it is communicated, not signed for by each person.
    sql(&app, "UPDATE policies SET audience = 'published' WHERE id = $1", c.policies[1]).await;
    assert!(!missing(&app).await.contains(&"Why security matters".to_string()));
    // Publishing the IS policy needs a reason: without one, everyone is asked.
    sql(&app, "UPDATE policies SET audience = 'published', audience_reason = '' WHERE id = $1", c.policies[0]).await;
    assert!(missing(&app).await.contains(&"Information security policy".to_string()));

    // The policy page says why the audience does not count as set.
    let mut owner = app.signed_in(c.owner, Some(c.org)).await;
    let page = owner.get(&format!("/policies/{}", c.policies[0])).await;
    assert!(page.has("#audience-counts"), "{}", page.body);
}

/// A withdrawn policy and a retired training module stop producing
/// findings and asking anyone, from the day they are withdrawn or retired;
/// the gap list as of an earlier day still has them, and so does history.
#[sqlx::test]
async fn withdrawn_policies_and_retired_modules_stop_producing_findings(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    let today = app.state.clock.now().date_naive();
    let newcomer = staff(&app, c.org, "New Comer", false, "2020-01-01").await;
    let _ = newcomer;
    let before = rules_on(&app, c.org, today).await;
    assert!(before.contains(&"policy_not_communicated") && before.contains(&"training_overdue"), "{before:?}");

    // Withdrawn and retired the next day.
    app.clock.advance(Duration::days(1));
    let mut owner = app.signed_in(c.owner, Some(c.org)).await;
    for p in c.policies {
        let res = owner.post(&format!("/policies/{p}/withdraw"), &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    }
    let again = owner.post(&format!("/policies/{}/withdraw", c.policies[0]), &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "withdrawing twice is refused");
    let res = owner.post(&format!("/training/modules/{}/retire", c.module), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    let after = rules_on(&app, c.org, today + Duration::days(1)).await;
    assert!(!after.contains(&"policy_not_communicated") && !after.contains(&"training_overdue"), "{after:?}");
    assert!(after.contains(&"no_is_policy"), "withdrawing the IS policy leaves none in force: {after:?}");
    assert!(rules_on(&app, c.org, today).await.contains(&"policy_not_communicated"), "the day before, they were in force");
    let page = owner.get(&format!("/policies/{}", c.policies[0])).await;
    assert!(page.has("#withdrawn") && !page.has("form[action$='/withdraw']"), "{}", page.body);
    let version_page = owner.get(&format!("/policies/versions/{}", c.is_version)).await;
    assert!(!version_page.has("form[action$='/campaigns']") && version_page.body.contains("The policy is withdrawn"), "{}", version_page.body);
    let campaign = owner.post(&format!("/policies/versions/{}/campaigns", c.is_version), &[]).await;
    assert_eq!(campaign.status, StatusCode::CONFLICT, "a withdrawn policy asks nobody: {}", campaign.body);
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE org_id = $1 AND action IN ('policy.withdrawn', 'training.module_retired')")
        .bind(c.org)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(audited, 5);
}

/// Leaders exempt themselves from any policy they ask others to acknowledge,
/// not only the IS policy: the finding names the policy, once the days
/// given to acknowledge a new version are over.
#[sqlx::test]
async fn leaders_who_skip_any_policy_they_require_are_named(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    sqlx::query("DELETE FROM acknowledgements a USING policy_versions v WHERE v.id = a.policy_version_id AND a.person_id = $1 AND v.policy_id = $2")
        .bind(c.ceo)
        .bind(c.policies[1])
        .execute(app.db())
        .await
        .unwrap();
    let today = app.state.clock.now().date_naive();
    let named = |app: &TestApp, on: NaiveDate| {
        let db = app.db().clone();
        let org = c.org;
        async move {
            mandate::gaps::evaluate(&db, org, on)
                .await
                .unwrap()
                .gaps
                .into_iter()
                .filter(|g| g.rule == "leaders_exempt")
                .flat_map(|g| g.affected.into_iter().map(|a| format!("{}: {}", a.label, a.detail)))
                .collect::<Vec<_>>()
        }
    };
    assert!(named(&app, today).await.is_empty(), "signed today: the CEO still has time");
    app.clock.advance(Duration::days(31));
    let later = named(&app, today + Duration::days(31)).await;
    assert!(later.iter().any(|l| l.starts_with("Cee Eo") && l.contains("has not acknowledged Why security matters")), "{later:?}");
}

/// The generator sets a large table's keys and indexes aside while it fills
/// it and builds them again after: the table ends with the same constraints
/// and indexes as the migrations gave it, enforced.
#[sqlx::test]
async fn generating_a_large_organisation_keeps_every_key_and_index(db: PgPool) {
    let app = TestApp::new(db).await;
    let catalogue = || async {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT c.conname || ' ' || pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.conrelid IN ('acknowledgements'::regclass, 'training_records'::regclass)
             UNION ALL SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid IN ('acknowledgements'::regclass, 'training_records'::regclass)
             ORDER BY 1",
        )
        .fetch_all(app.db())
        .await
        .unwrap();
        rows
    };
    let before = catalogue().await;
    assert!(before.iter().any(|d| d.contains("FOREIGN KEY (org_id, person_id) REFERENCES people(org_id, id)")), "{before:?}");
    let owner = app.user("big@acme.example", "Big").await;
    let org = app.org("Big Co", owner).await;
    let sizes = mandate::generate::Sizes { acknowledgements: 100_000, training_records: 100_000, ..mandate::generate::Sizes::scaled(7_000) };
    let mut conn = app.db().acquire().await.unwrap();
    mandate::generate::fill(&mut conn, org, app.state.clock.now(), &sizes).await.unwrap();
    drop(conn);
    assert_eq!(catalogue().await, before);
    let counts: (i64, i64) = sqlx::query_as("SELECT (SELECT count(*) FROM acknowledgements WHERE org_id = $1), (SELECT count(*) FROM training_records WHERE org_id = $1)")
        .bind(org)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(counts, (100_000, 100_000));
    // The keys are enforced again: a second copy of an acknowledgement, or one by nobody, is refused.
    let copy = sqlx::query("INSERT INTO acknowledgements (id, org_id, person_id, policy_version_id, acknowledged_at, method)
                            SELECT gen_random_uuid(), org_id, person_id, policy_version_id, acknowledged_at, method FROM acknowledgements WHERE org_id = $1 LIMIT 1")
        .bind(org)
        .execute(app.db())
        .await;
    assert!(copy.unwrap_err().to_string().contains("acknowledgements_org_id_person_id_policy_version_id_key"));
    let nobody = sqlx::query("INSERT INTO acknowledgements (id, org_id, person_id, policy_version_id, acknowledged_at, method)
                              SELECT gen_random_uuid(), org_id, gen_random_uuid(), policy_version_id, acknowledged_at, method FROM acknowledgements WHERE org_id = $1 LIMIT 1")
        .bind(org)
        .execute(app.db())
        .await;
    assert!(nobody.unwrap_err().to_string().contains("acknowledgements_org_id_person_id_fkey"));
}

/// A gap's list is shortened, and leads to the whole list, paged like any
/// other: the people who have not acknowledged a policy are the directory
/// narrowed to them. Another organisation's policy is not found there.
#[sqlx::test]
async fn a_shortened_gap_leads_to_everyone_it_affects(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    for i in 0..7 {
        staff(&app, c.org, &format!("Late {i}"), false, "2020-01-01").await;
    }
    let mut lead = lead_of(&app, c.org).await;
    let gaps = lead.get("/gaps").await;
    let href = format!("/people?unacknowledged={}", c.policies[0]);
    assert!(gaps.has(&format!("a[href='{href}']")), "the gap lists 5 of 7 and links to all: {}", gaps.texts("main").concat());
    let list = lead.get(&href).await;
    assert_eq!(list.status, StatusCode::OK);
    let names = list.texts("main table tbody tr td:first-child");
    assert_eq!(names.len(), 7, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("Late ")), "those who acknowledged are left out: {names:?}");
    assert!(list.texts(".notice").concat().contains("who have not acknowledged its current version"), "{}", list.texts("main").concat());
    assert!(list.has("input[type=hidden][name=unacknowledged]"), "filtering further keeps the policy");
    let one = lead.get(&format!("{href}&q=Late+3")).await;
    assert_eq!(one.texts("main table tbody tr td:first-child").len(), 1);

    let other_owner = app.user("other@elsewhere.example", "Other").await;
    let other = app.org("Elsewhere", other_owner).await;
    let theirs = app.policy(other, "Their policy", PolicyKind::IsPolicy, false).await;
    assert_eq!(lead.get(&format!("/people?unacknowledged={theirs}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(lead.get(&format!("/people?unacknowledged={}", Uuid::new_v4())).await.status, StatusCode::NOT_FOUND);
}

/// An evaluation reads on two connections when it can and on one when the
/// pool has no second to give: a pool of one evaluates the same gaps as a
/// larger pool, instead of waiting for a connection it already holds.
#[sqlx::test]
async fn a_pool_of_one_connection_evaluates_the_same_gaps(db: PgPool) {
    let app = TestApp::new(db).await;
    let c = compliant(&app).await;
    staff(&app, c.org, "Late One", false, "2020-01-01").await;
    let day = app.state.clock.now().date_naive();
    let titles = |e: mandate::gaps::Evaluation| e.gaps.into_iter().map(|g| (g.title, g.affected_total)).collect::<Vec<_>>();
    let wide = titles(mandate::gaps::evaluate(app.db(), c.org, day).await.unwrap());
    let one = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_with(app.db().connect_options().as_ref().clone())
        .await
        .unwrap();
    let narrow = titles(mandate::gaps::evaluate(&one, c.org, day).await.unwrap());
    assert!(wide.iter().any(|(t, _)| t.contains("have not acknowledged")), "{wide:?}");
    assert_eq!(narrow, wide);
}
