//! The trust anchor: who counts as top management changes only through an
//! owner's proposal and a leader's confirmation, accounts are linked only by
//! their holders, and nobody acts in a leader's name.
use mandate::ids::OrgId;
use crate::support::{Client, TestApp};
use axum::http::StatusCode;
use mandate::auth::policy::Role;
use sqlx::PgPool;
use uuid::Uuid;

struct Org {
    app: TestApp,
    org: OrgId,
    owner: Uuid,
    lead: Uuid,
    ceo: Uuid,
    ceo_person: Uuid,
}

/// An organisation whose CEO is top management (confirmed, acting with
/// their account), with an owner and an ISMS lead who are not.
async fn org(db: PgPool) -> Org {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olga Owner").await;
    let org = app.org("Acme", owner).await;
    let lead = app.user("lead@acme.example", "Lee Lead").await;
    app.member(org, lead, Role::IsmsLead).await;
    let ceo = app.user("ceo@acme.example", "Cara Chief").await;
    app.member(org, ceo, Role::Executive).await;
    let ceo_person = app.person(org, "Cara Chief", "ceo@acme.example", true).await;
    app.link(org, ceo_person, ceo).await;
    Org { app, org, owner, lead, ceo, ceo_person }
}

impl Org {
    async fn as_user(&self, user: Uuid) -> Client {
        self.app.signed_in(user, Some(self.org)).await
    }
    async fn top(&self, person: Uuid) -> (bool, Option<Uuid>, Option<Uuid>) {
        sqlx::query_as("SELECT top_management, user_id, leader_account_id FROM people WHERE org_id = $1 AND id = $2")
            .bind(self.org)
            .bind(person)
            .fetch_one(self.app.db())
            .await
            .unwrap()
    }
    async fn pending_change(&self, person: Uuid) -> Uuid {
        sqlx::query_scalar("SELECT id FROM roster_changes WHERE org_id = $1 AND person_id = $2 AND status = 'pending'")
            .bind(self.org)
            .bind(person)
            .fetch_one(self.app.db())
            .await
            .unwrap()
    }
    async fn actions(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT action FROM audit_log WHERE org_id = $1 AND action LIKE 'roster.%' ORDER BY id")
            .bind(self.org)
            .fetch_all(self.app.db())
            .await
            .unwrap()
    }
}

#[sqlx::test]
async fn an_isms_lead_cannot_make_anyone_top_management(db: PgPool) {
    let o = org(db).await;
    let me = o.app.person(o.org, "Lee Lead", "lead@acme.example", false).await;
    let mut c = o.as_user(o.lead).await;

    // Editing a person: the flag and the account are not the form's to set.
    let res = c
        .post(
            &format!("/people/{me}"),
            &[("name", "Lee Lead"), ("email", "lead@acme.example"), ("kind", "employee"), ("top_management", "on"), ("user_id", &o.lead.to_string())],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(o.top(me).await, (false, None, None), "neither flag nor link changed");
    // Nor the CEO's account: the lead cannot take over the CEO's entry.
    let res = c
        .post(
            &format!("/people/{}", o.ceo_person),
            &[("name", "Cara Chief"), ("email", "ceo@acme.example"), ("kind", "employee"), ("user_id", &o.lead.to_string())],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(o.top(o.ceo_person).await, (true, Some(o.ceo), Some(o.ceo)));
    // A new person is created as given, never top management, never linked.
    let res = c
        .post("/people", &[("name", "Fake Boss"), ("email", "fake@acme.example"), ("kind", "employee"), ("top_management", "on"), ("user_id", &o.lead.to_string())])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let (top, user): (bool, Option<Uuid>) =
        sqlx::query_as("SELECT top_management, user_id FROM people WHERE email = 'fake@acme.example'").fetch_one(o.app.db()).await.unwrap();
    assert!(!top && user.is_none());
    // An import's top_management column is read, shown and not applied.
    let csv = "name,email,top_management\nLee Lead,lead@acme.example,yes\n";
    let res = c.upload("/people/import", "file", "people.csv", "text/csv", csv.as_bytes()).await;
    let preview = c.get(res.location()).await;
    assert!(preview.texts("#roster-differs").concat().contains("Lee Lead"), "{}", preview.body);
    let apply = c.post(&format!("{}/apply", res.location()), &[]).await;
    assert_eq!(apply.status, StatusCode::SEE_OTHER);
    assert_eq!(o.top(me).await, (false, None, None));
    // The roster is not the lead's to propose to, nor an executive's to grant.
    let res = c.post("/people/roster", &[("person_id", &me.to_string()), ("change", "add")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = c.post("/members/invite", &[("email", "boss@elsewhere.example"), ("role", "executive")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.texts("#f-role .field-error").concat().contains("cannot grant"), "{}", res.body);
    let invited: i64 = sqlx::query_scalar("SELECT count(*) FROM invitations WHERE email = 'boss@elsewhere.example'").fetch_one(o.app.db()).await.unwrap();
    assert_eq!(invited, 0);
    assert!(o.actions().await.is_empty(), "no roster change was recorded");
}

#[sqlx::test]
async fn an_owners_proposal_takes_effect_when_another_leader_confirms(db: PgPool) {
    let o = org(db).await;
    let jane = o.app.user("jane@acme.example", "Jane Director").await;
    o.app.member(o.org, jane, Role::Executive).await;
    let jane_person = o.app.person(o.org, "Jane Director", "jane@acme.example", false).await;
    // Jane links her entry herself, from her home page.
    let mut jc = o.as_user(jane).await;
    let home = jc.get("/dashboard").await;
    assert!(home.texts("#claim-h").concat().contains("Is this you?"), "{}", home.body);
    let res = jc.post(&format!("/people/{jane_person}/this-is-me"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(o.top(jane_person).await, (false, Some(jane), None));

    let mut owner = o.as_user(o.owner).await;
    let res = owner.post("/people/roster", &[("person_id", &jane_person.to_string()), ("change", "add"), ("reason", "Appointed director")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(!o.top(jane_person).await.0, "nothing changes before a leader confirms");
    let change = o.pending_change(jane_person).await;
    let confirm = format!("/people/roster/{change}/confirm");
    // Not the proposer, not an ISMS lead, not Jane while another leader exists.
    assert_eq!(owner.post(&confirm, &[]).await.status, StatusCode::CONFLICT);
    assert_eq!(o.as_user(o.lead).await.post(&confirm, &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(jc.post(&confirm, &[]).await.status, StatusCode::FORBIDDEN);
    assert!(!o.top(jane_person).await.0);

    // The CEO sees it waiting on their home page and confirms it.
    let mut ceo = o.as_user(o.ceo).await;
    let home = ceo.get("/dashboard").await;
    assert!(home.texts("#waiting-h + ul li").concat().contains("Add Jane Director to top management"), "{}", home.body);
    let res = ceo.post(&confirm, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(o.top(jane_person).await, (true, Some(jane), Some(jane)));
    let (decided_by, decided_as): (Uuid, Uuid) =
        sqlx::query_as("SELECT decided_by, decided_as FROM roster_changes WHERE id = $1").bind(change).fetch_one(o.app.db()).await.unwrap();
    assert_eq!((decided_by, decided_as), (o.ceo, o.ceo_person), "bound to the account and the person it stands for");
    assert_eq!(o.actions().await, vec!["roster.proposed", "roster.confirmed"]);
    // A decided change stays decided.
    assert_eq!(ceo.post(&format!("/people/roster/{change}/refuse"), &[]).await.status, StatusCode::CONFLICT);
    let tampered = sqlx::query("UPDATE roster_changes SET status = 'refused' WHERE id = $1").bind(change).execute(o.app.db()).await;
    assert!(tampered.is_err(), "the database refuses to change a decision");

    // The roster page shows who proposed and who confirmed, with which account.
    let page = owner.get("/people/roster").await;
    let decisions = page.texts("#history-h ~ table tbody tr").join("\n");
    assert!(decisions.contains("Olga Owner (owner@acme.example)"), "{decisions}");
    assert!(decisions.contains("Cara Chief, signed in as ceo@acme.example"), "{decisions}");
    let csv = owner.get("/people/roster.csv").await;
    assert!(csv.body.contains("Cara Chief, signed in as ceo@acme.example"), "{}", csv.body);
}

#[sqlx::test]
async fn where_the_proposer_is_the_only_leader_the_person_named_confirms(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olga Owner").await;
    let org = app.org("Acme", owner).await;
    let owner_person = app.person(org, "Olga Owner", "owner@acme.example", true).await;
    app.link(org, owner_person, owner).await;
    let jane = app.user("jane@acme.example", "Jane").await;
    app.member(org, jane, Role::Executive).await;
    let jane_person = app.person(org, "Jane", "jane@acme.example", false).await;
    app.link(org, jane_person, jane).await;
    let someone = app.person(org, "No Account", "none@acme.example", false).await;

    let mut oc = app.signed_in(owner, Some(org)).await;
    // Nobody could confirm an addition of someone without an account.
    let res = oc.post("/people/roster", &[("person_id", &someone.to_string()), ("change", "add")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    // The last leader cannot be removed.
    let res = oc.post("/people/roster", &[("person_id", &owner_person.to_string()), ("change", "remove")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("last member of top management"), "{}", res.body);

    let res = oc.post("/people/roster", &[("person_id", &jane_person.to_string()), ("change", "add")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let change: Uuid = sqlx::query_scalar("SELECT id FROM roster_changes WHERE person_id = $1 AND status = 'pending'").bind(jane_person).fetch_one(app.db()).await.unwrap();
    assert_eq!(oc.post(&format!("/people/roster/{change}/confirm"), &[]).await.status, StatusCode::CONFLICT, "not one's own proposal");
    let mut jc = app.signed_in(jane, Some(org)).await;
    assert_eq!(jc.post(&format!("/people/roster/{change}/confirm"), &[]).await.status, StatusCode::SEE_OTHER);
    let top: bool = sqlx::query_scalar("SELECT top_management FROM people WHERE id = $1").bind(jane_person).fetch_one(app.db()).await.unwrap();
    assert!(top);
    // With two leaders now, the owner may propose removing one; Jane (the other leader) decides.
    let res = oc.post("/people/roster", &[("person_id", &owner_person.to_string()), ("change", "remove")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
}

#[sqlx::test]
async fn a_new_organisation_is_bootstrapped_by_its_owner_and_shown_as_such(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@new.example", "Nora New").await;
    let org = app.org("New Co", owner).await;
    let me = app.person(org, "Nora New", "owner@new.example", false).await;
    app.link(org, me, owner).await;
    let other = app.person(org, "Other", "other@new.example", false).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    let empty = c.get("/people/roster").await;
    assert!(empty.texts("#leaders-h + p").concat().contains("Nobody yet"), "{}", empty.body);
    let res = c.post("/people/roster", &[("person_id", &me.to_string()), ("change", "add")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let (top, leader): (bool, Option<Uuid>) = sqlx::query_as("SELECT top_management, leader_account_id FROM people WHERE id = $1").bind(me).fetch_one(app.db()).await.unwrap();
    assert_eq!((top, leader), (true, Some(owner)), "in effect at once");
    let (status, bootstrap): (String, bool) = sqlx::query_as("SELECT status, bootstrap FROM roster_changes WHERE person_id = $1").bind(me).fetch_one(app.db()).await.unwrap();
    assert_eq!((status.as_str(), bootstrap), ("confirmed", true));
    let page = c.get("/people/roster").await;
    assert!(page.body.contains("set up without confirmation"), "{}", page.body);
    assert!(page.body.contains("first leader of the organisation"), "{}", page.body);
    // From now on the owner's proposals wait for a leader: the owner may not confirm their own.
    let res = c.post("/people/roster", &[("person_id", &other.to_string()), ("change", "add")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "Other has no account and the owner is the only leader");
    let audit: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE org_id = $1 AND action LIKE 'roster.%' ORDER BY id").bind(org).fetch_all(app.db()).await.unwrap();
    assert_eq!(audit, vec!["roster.proposed", "roster.bootstrapped"]);
}

#[sqlx::test]
async fn an_account_linked_later_does_not_act_for_top_management(db: PgPool) {
    let o = org(db).await;
    // A director on the roster who never signed in: no account acts for them.
    let director = o.app.person(o.org, "Dora Director", "dora@acme.example", true).await;
    let role = o.app.role(o.org, "ISMS manager", true, false).await;
    let holder = o.app.person(o.org, "Holder", "holder@acme.example", false).await;
    let (appointment, _) = o.app.appoint(o.org, role, holder, director).await;
    // The ISMS lead readdresses her entry to their own mailbox and claims it.
    let mut c = o.as_user(o.lead).await;
    let res = c.post(&format!("/people/{director}"), &[("name", "Dora Director"), ("email", "lead@acme.example"), ("kind", "employee")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = c.post(&format!("/people/{director}/this-is-me"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(o.top(director).await, (true, Some(o.lead), None), "linked, but not as top management");
    // The link does not carry her authority: the appointment she made stays unconfirmed.
    let res = c.post(&format!("/appointments/{appointment}/confirm"), &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let confirmed: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT confirmed_at FROM role_appointments WHERE id = $1").bind(appointment).fetch_one(o.app.db()).await.unwrap();
    assert!(confirmed.is_none());
    // The lead's home page says why; the roster page too.
    assert!(c.get("/dashboard").await.texts("#unconfirmed-h + p").concat().contains("has not confirmed this account"));
    // The roster page says the link is not confirmed; only a confirmed proposal would make it so.
    let page = o.as_user(o.owner).await.get("/people/roster").await;
    assert!(page.texts("#leaders-h + table").concat().contains("lead@acme.example is linked to them but not yet confirmed to act"), "{}", page.body);
}

#[sqlx::test]
async fn accepting_an_invitation_links_the_entry_with_that_address(db: PgPool) {
    let o = org(db).await;
    let person = o.app.person(o.org, "New Starter", "starter@acme.example", false).await;
    let (_, token) = o.app.invitation(o.org, o.owner, "starter@acme.example", Role::Contributor).await;
    let user = o.app.user("starter@acme.example", "New Starter").await;
    let mut c = o.app.signed_in(user, None).await;
    let res = c.post(&format!("/invite/{token}"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(o.top(person).await, (false, Some(user), None));
}

#[sqlx::test]
async fn views_as_of_a_past_day_use_the_roster_of_that_day(db: PgPool) {
    let o = org(db).await;
    let jane = o.app.user("jane@acme.example", "Jane Director").await;
    o.app.member(o.org, jane, Role::Executive).await;
    let jane_person = o.app.person(o.org, "Jane Director", "jane@acme.example", false).await;
    o.app.link(o.org, jane_person, jane).await;
    let res = o.as_user(o.owner).await.post("/people/roster", &[("person_id", &jane_person.to_string()), ("change", "add")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let change = o.pending_change(jane_person).await;
    assert_eq!(o.as_user(o.ceo).await.post(&format!("/people/roster/{change}/confirm"), &[]).await.status, StatusCode::SEE_OTHER);
    let today = o.app.state.clock.now().date_naive();
    // Both have been on the staff for years; only the roster changed today.
    sqlx::query("UPDATE people SET created_at = '2020-01-01' WHERE org_id = $1").bind(o.org).execute(o.app.db()).await.unwrap();
    let leaders_on = |day: chrono::NaiveDate| {
        let db = o.app.db().clone();
        let org = o.org;
        async move {
            let s = mandate::gaps::snapshot::load(&db, org, day).await.unwrap();
            s.leaders.iter().filter(|l| l.top_management).map(|l| l.name.clone()).collect::<Vec<_>>()
        }
    };
    assert_eq!(leaders_on(today).await, vec!["Cara Chief", "Jane Director"]);
    assert_eq!(leaders_on(today - chrono::Duration::days(1)).await, vec!["Cara Chief"], "Jane joined top management today");
}

#[sqlx::test]
async fn a_leader_leaves_only_after_leaving_the_roster(db: PgPool) {
    let o = org(db).await;
    let mut c = o.as_user(o.lead).await;
    // Marking the CEO as a leaver would drop them from those who confirm roster changes.
    let res = c.post(&format!("/people/{}/leaver", o.ceo_person), &[("end_date", "2026-12-31")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("proposes removing them from top management"), "{}", res.body);
    let res = c
        .post(&format!("/people/{}", o.ceo_person), &[("name", "Cara Chief"), ("email", "ceo@acme.example"), ("kind", "employee"), ("end_date", "2026-12-31")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.texts("#f-end_date-error").concat().contains("top management"), "{}", res.body);
    let csv = "name,email,end_date\nCara Chief,ceo@acme.example,2026-12-31\n";
    let up = c.upload("/people/import", "file", "people.csv", "text/csv", csv.as_bytes()).await;
    let preview = c.get(up.location()).await;
    assert!(preview.texts(".error-summary").concat().contains("top management"), "{}", preview.body);
    assert_eq!(c.post(&format!("{}/apply", up.location()), &[]).await.status, StatusCode::CONFLICT);
    let end: Option<chrono::NaiveDate> = sqlx::query_scalar("SELECT end_date FROM people WHERE id = $1").bind(o.ceo_person).fetch_one(o.app.db()).await.unwrap();
    assert_eq!(end, None, "nothing changed");
}

/// A leader in office before the roster was kept in Mandate: the addition
/// states the day they took office (never in the future), and once it is in
/// effect, views of past days count them from that day, so a policy they
/// approved on paper then counts as approved by top management.
#[sqlx::test]
async fn a_leader_in_office_before_mandate_counts_from_the_day_they_took_office(db: PgPool) {
    use mandate::policies::versions::model::{Bump, PolicyKind};
    let app = TestApp::new(db).await;
    let owner = app.user("ceo@old.example", "Olga Old").await;
    let org = app.org("Old Co", owner).await;
    let me = app.person(org, "Olga Old", "ceo@old.example", false).await;
    app.link(org, me, owner).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    let future = c.post("/people/roster", &[("person_id", &me.to_string()), ("change", "add"), ("in_office_since", "2027-01-01")]).await;
    assert_eq!(future.status, StatusCode::CONFLICT);
    assert!(future.body.contains("cannot be in the future"), "{}", future.body);
    let res = c.post("/people/roster", &[("person_id", &me.to_string()), ("change", "add"), ("in_office_since", "2020-01-15")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = c.get("/people/roster").await;
    assert!(page.body.contains("in office since 15 January 2020"), "{}", page.body);

    // A policy she approved on paper in 2025 counts as top management's then.
    let policy = app.policy(org, "Information security policy", PolicyKind::IsPolicy, false).await;
    let (_, scan) = app.evidence(org, "Signed IS policy (scan)", "is-policy.pdf", b"%PDF-1.4\n% scan\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").await;
    let draft = app.draft(org, policy, "", Some(scan), Bump::Major).await;
    let res = c.post(&format!("/policies/versions/{draft}/paper"), &[("approved_on", "2025-06-01"), ("approver_id", &me.to_string())]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let rules = |on: &str| {
        let (db, on) = (app.db().clone(), on.parse::<chrono::NaiveDate>().unwrap());
        async move { mandate::gaps::evaluate(&db, org, on).await.unwrap().gaps.iter().map(|g| g.rule).collect::<Vec<_>>() }
    };
    let july = rules("2025-07-01").await;
    assert!(!july.contains(&"is_policy_not_top_signed") && !july.contains(&"no_is_policy"), "{july:?}");
    let in_2019: bool = sqlx::query_scalar("SELECT $1 IN (SELECT top_management_as_of($2, '2019-12-31'::timestamptz))").bind(me).bind(org.0).fetch_one(app.db()).await.unwrap();
    assert!(!in_2019, "not before she took office");
}
