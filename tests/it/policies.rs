//! Policies: signing and immutability, the approver check, version numbers
//! and acknowledgements, personal links, campaigns, public pages, onboarding,
//! and a fixed number of queries whatever the organisation's size.
use mandate::ids::OrgId;
use crate::support::{Client, PASSWORD, TestApp, queries_during};
use axum::http::StatusCode;
use chrono::Duration;
use mandate::auth::policy::Role;
use mandate::people::model::{Kind, PersonFields};
use mandate::policies::versions::model::{Bump, PolicyKind};
use sqlx::PgPool;
use uuid::Uuid;

struct Acme {
    app: TestApp,
    org: OrgId,
    owner: Uuid,
    lead: Client,
    ceo_user: Uuid,
    ceo: Uuid,
}

async fn acme(db: PgPool) -> Acme {
    let crate::support::AcmeCore { app, org, owner, lead_user, ceo_user, ceo } = crate::support::acme_core(db).await;
    let lead = app.signed_in(lead_user, Some(org)).await;
    Acme { app, org, owner, lead, ceo_user, ceo }
}

/// Creates a policy through the form and a first Markdown draft; returns (policy, version).
async fn policy_with_draft(a: &mut Acme, kind: &str, text: &str) -> (Uuid, Uuid) {
    let res = a.lead.post("/policies", &[("title", "Information security policy"), ("kind", kind), ("review_months", "12"), ("audience", "all_staff")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let policy: Uuid = res.location().trim_start_matches("/policies/").parse().unwrap();
    let version = new_version(a, policy, "major", text).await;
    (policy, version)
}

async fn new_version(a: &mut Acme, policy: Uuid, bump: &str, text: &str) -> Uuid {
    let fields = [("bump", bump), ("source", "markdown"), ("change_summary", "Changes"), ("body_markdown", text), ("check_purpose", "Section 1")];
    let res = a.lead.multipart(&format!("/policies/{policy}/versions"), &fields, None).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    res.location().trim_start_matches("/policies/versions/").parse().unwrap()
}

/// The personal link shown for `name` on a links page, as a local path.
fn link_for(page: &crate::support::Resp, name: &str) -> String {
    let html = page.html();
    let row = scraper::Selector::parse("table tbody tr").unwrap();
    let code = scraper::Selector::parse("code.link").unwrap();
    let tr = html.select(&row).find(|r| r.text().collect::<String>().contains(name)).unwrap_or_else(|| panic!("no link for {name}"));
    let url: String = tr.select(&code).next().unwrap().text().collect();
    url.trim_start_matches("http://localhost:8080").to_string()
}

async fn sign_as(a: &TestApp, user: Uuid, org: OrgId, version: Uuid) -> crate::support::Resp {
    let mut c = a.signed_in(user, Some(org)).await;
    c.sign_version(version, PASSWORD).await
}

#[sqlx::test]
async fn a_signed_version_never_changes(db: PgPool) {
    let mut a = acme(db).await;
    let (policy, v1) = policy_with_draft(&mut a, "is_policy", "# Policy\n\nWe protect information.").await;
    // A draft can be edited.
    let res = a.lead.post(&format!("/policies/versions/{v1}"), &[("change_summary", "First"), ("body_markdown", "# Policy\n\nWe protect all information.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    let mut ceo = a.app.signed_in(a.ceo_user, Some(a.org)).await;
    ceo.headers.insert("user-agent", "CeoBrowser/2".parse().unwrap());
    let wrong = ceo.sign_version(v1, "not my password at all").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("not your password"));
    // The draft changes while the CEO reads an older copy: nothing is signed.
    let stale = ceo.get(&format!("/policies/versions/{v1}")).await;
    let sel = scraper::Selector::parse("input[name=document_sha]").unwrap();
    let seen: String = stale.html().select(&sel).next().unwrap().value().attr("value").unwrap().to_string();
    let res = a.lead.post(&format!("/policies/versions/{v1}"), &[("change_summary", "First"), ("body_markdown", "# Policy\n\nWe protect some information.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = ceo.post(&format!("/policies/versions/{v1}/sign"), &[("password", PASSWORD), ("document_sha", &seen)]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("document changed after you opened this page"));
    let signed: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar("SELECT approved_at FROM policy_versions WHERE id = $1").bind(v1).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(signed, None);
    let res = a.lead.post(&format!("/policies/versions/{v1}"), &[("change_summary", "First"), ("body_markdown", "# Policy\n\nWe protect all information.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = ceo.sign_version(v1, PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = ceo.get(res.location()).await;
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"# Policy\n\nWe protect all information."));
    assert!(page.texts(".flash").concat().contains(&sha), "the signature covers the document's SHA-256");
    let (from, agent, top): (String, String, bool) =
        sqlx::query_as("SELECT approved_from, approved_agent, approver_top_management FROM policy_versions WHERE id = $1").bind(v1).fetch_one(a.app.db()).await.unwrap();
    assert_eq!((from.as_str(), agent.as_str(), top), ("192.0.2.10", "CeoBrowser/2", true));

    // Signed: the app refuses edits and a second signature, and so does the database.
    let edit = a.lead.post(&format!("/policies/versions/{v1}"), &[("change_summary", "Sneaky"), ("body_markdown", "# Other")]).await;
    assert_eq!(edit.status, StatusCode::CONFLICT);
    assert_eq!(sign_as(&a.app, a.owner, a.org, v1).await.status, StatusCode::CONFLICT);
    assert!(sqlx::query("UPDATE policy_versions SET body_markdown = 'x' WHERE id = $1").bind(v1).execute(a.app.db()).await.is_err());
    assert!(sqlx::query("DELETE FROM policy_versions WHERE id = $1").bind(v1).execute(a.app.db()).await.is_err());
    // A change makes a new version.
    let v2 = new_version(&mut a, policy, "minor", "# Policy\n\nWe protect all information, always.").await;
    let numbers: Vec<(i32, i32)> = sqlx::query_as("SELECT major, minor FROM policy_versions WHERE policy_id = $1 ORDER BY created_at").bind(policy).fetch_all(a.app.db()).await.unwrap();
    assert_eq!(numbers, vec![(1, 0), (1, 1)]);
    assert!(a.lead.get(&format!("/policies/versions/{v2}")).await.body.contains("Draft: not yet signed"));
}

#[sqlx::test]
async fn an_approver_outside_top_management_is_flagged(db: PgPool) {
    let mut a = acme(db).await;
    let (_, v1) = policy_with_draft(&mut a, "is_policy", "# Policy").await;
    let cto_user = a.app.user("cto@acme.example", "Cee Tee Oh").await;
    a.app.member(a.org, cto_user, Role::Executive).await;
    let cto = a.app.person(a.org, "Cee Tee Oh", "cto@acme.example", false).await;
    a.app.link(a.org, cto, cto_user).await;
    let mut c = a.app.signed_in(cto_user, Some(a.org)).await;
    let page = c.get(&format!("/policies/versions/{v1}")).await;
    assert!(page.body.contains("not marked as top management"), "warned before signing");
    let res = c.sign_version(v1, PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(c.get(res.location()).await.texts(".flash").concat().contains("shows as a gap"));
    let register = a.lead.get("/policies").await;
    assert!(register.texts("main table tbody tr").concat().contains("not top management"), "{}", register.body);
    // Contributors and ISMS leads cannot sign at all.
    let (_, v2) = policy_with_draft(&mut a, "topic_specific", "# Other").await;
    let res = a.lead.post(&format!("/policies/versions/{v2}/sign"), &[("password", PASSWORD)]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn minor_versions_keep_acknowledgements_and_majors_ask_again(db: PgPool) {
    let mut a = acme(db).await;
    let staff = a.app.person(a.org, "Staff Member", "staff@acme.example", false).await;
    let (policy, v1) = policy_with_draft(&mut a, "acceptable_use", "# Use").await;
    assert_eq!(sign_as(&a.app, a.ceo_user, a.org, v1).await.status, StatusCode::SEE_OTHER);
    // A campaign gives every person a link; the member acknowledges.
    let links = a.lead.post(&format!("/policies/versions/{v1}/campaigns"), &[]).await;
    assert_eq!(links.status, StatusCode::OK);
    let urls: Vec<String> = links.texts("table code.link");
    assert_eq!(urls.len(), 1, "only the staff member: the CEO signed it, so has read it: {urls:?}");
    let staff_url = link_for(&links, "Staff Member");
    let mut reader = a.app.client();
    assert_eq!(reader.post(&staff_url, &[]).await.status, StatusCode::OK);

    let v11 = new_version(&mut a, policy, "minor", "# Use\n\nTypo fixed.").await;
    sign_as(&a.app, a.ceo_user, a.org, v11).await;
    let c11 = a.lead.post(&format!("/policies/versions/{v11}/campaigns"), &[]).await;
    assert_eq!(c11.texts("table tbody tr").len(), 0, "nobody is asked: the staff member's acknowledgement of 1.0 still counts, and the CEO signed 1.1");
    assert!(!c11.body.contains("Staff Member"));

    let v2 = new_version(&mut a, policy, "major", "# Use\n\nNew rules.").await;
    sign_as(&a.app, a.ceo_user, a.org, v2).await;
    let c2 = a.lead.post(&format!("/policies/versions/{v2}/campaigns"), &[]).await;
    assert!(c2.body.contains("Staff Member"), "a major version asks everyone again");
    let covered: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM acknowledgements a JOIN policy_versions v ON v.id = a.policy_version_id WHERE a.person_id = $1 AND v.major = 2)",
    )
    .bind(staff)
    .fetch_one(a.app.db())
    .await
    .unwrap();
    assert!(!covered);
}

#[sqlx::test]
async fn personal_links_expire_work_once_and_stay_in_their_tenant(db: PgPool) {
    let a = acme(db).await;
    let staff = a.app.person(a.org, "Staff Member", "staff@acme.example", false).await;
    let policy = a.app.policy(a.org, "Acceptable use", PolicyKind::AcceptableUse, false).await;
    let v = a.app.draft(a.org, policy, "# Use\n\n<script>alert(1)</script>", None, Bump::Major).await;
    a.app.sign(a.org, v, a.ceo_user, true).await;
    let (_, token) = a.app.campaign(a.org, v, staff).await;
    let url = format!("/ack/{token}");

    let mut reader = a.app.client();
    reader.headers.insert("user-agent", "StaffPhone/1".parse().unwrap());
    let page = reader.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("&lt;script&gt;") && !page.body.contains("<script>alert"), "the text is rendered safely");
    assert!(page.has("form[action^='/ack/'] button"));
    assert_eq!(reader.post(&url, &[]).await.status, StatusCode::OK);
    // Used: it says so, and a second post records nothing more.
    let again = reader.post(&url, &[]).await;
    assert!(again.texts(".flash").concat().contains("You acknowledged this policy"));
    let rows: Vec<(String, String, String)> = sqlx::query_as("SELECT method, client_addr, user_agent FROM acknowledgements WHERE person_id = $1")
        .bind(staff)
        .fetch_all(a.app.db())
        .await
        .unwrap();
    assert_eq!(rows, vec![("link".to_string(), "192.0.2.10".to_string(), "StaffPhone/1".to_string())]);

    // Expired links are refused.
    let late = a.app.person(a.org, "Late Reader", "late@acme.example", false).await;
    let (_, old) = a.app.campaign(a.org, v, late).await;
    a.app.clock.advance(Duration::days(31));
    let expired = reader.post(&format!("/ack/{old}"), &[]).await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(expired.body.contains("expired"));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM acknowledgements WHERE person_id = $1").bind(late).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(n, 0);
    assert_eq!(reader.get("/ack/made-up-token").await.status, StatusCode::NOT_FOUND);

    // Another organisation's version cannot be acknowledged by id, and its links name their own organisation.
    let other_owner = a.app.user("owner@other.example", "Other").await;
    let other = a.app.org("Other Org", other_owner).await;
    let theirs = a.app.policy(other, "Their policy", PolicyKind::IsPolicy, false).await;
    let tv = a.app.draft(other, theirs, "# Theirs", None, Bump::Major).await;
    a.app.sign(other, tv, other_owner, true).await;
    let mut ceo = a.app.signed_in(a.ceo_user, Some(a.org)).await;
    assert_eq!(ceo.post(&format!("/policies/versions/{tv}/acknowledge"), &[]).await.status, StatusCode::NOT_FOUND);
    let someone = a.app.person(other, "Them", "them@other.example", false).await;
    let (_, their_token) = a.app.campaign(other, tv, someone).await;
    let theirs_page = reader.get(&format!("/ack/{their_token}")).await;
    assert!(theirs_page.body.contains("Other Org") && !theirs_page.body.contains("Acme"));
}

#[sqlx::test]
async fn campaigns_show_progress_by_department_and_manager(db: PgPool) {
    let mut a = acme(db).await;
    for (name, dept) in [("Ann", "IT"), ("Bob", "IT"), ("Cid", "Sales")] {
        a.app.person(a.org, name, &format!("{}@acme.example", name.to_lowercase()), false).await;
        sqlx::query("UPDATE people SET department = $1, manager_id = $2 WHERE name = $3").bind(dept).bind(a.ceo).bind(name).execute(a.app.db()).await.unwrap();
    }
    let (_, v) = policy_with_draft(&mut a, "is_policy", "# Policy").await;
    sign_as(&a.app, a.ceo_user, a.org, v).await;
    // The register's figures are kept between views, and follow every acknowledgement.
    let register = |c: crate::support::Resp| c.texts("main table tbody tr").concat();
    let first = register(a.lead.get("/policies").await);
    assert!(first.contains("1 of 4 (25%)"), "the signer: {first}");
    let links = a.lead.post(&format!("/policies/versions/{v}/campaigns"), &[]).await;
    let url = link_for(&links, "Ann");
    a.app.client().post(&url, &[]).await;
    assert!(register(a.lead.get("/policies").await).contains("2 of 4 (50%)"), "an acknowledgement through a link shows on the next view");
    let mut ceo = a.app.signed_in(a.ceo_user, Some(a.org)).await;
    assert_eq!(ceo.post(&format!("/policies/versions/{v}/acknowledge"), &[]).await.status, StatusCode::SEE_OTHER);

    let campaign: Uuid = sqlx::query_scalar("SELECT id FROM ack_campaigns WHERE policy_version_id = $1").bind(v).fetch_one(a.app.db()).await.unwrap();
    let page = a.lead.get(&format!("/campaigns/{campaign}")).await;
    assert!(page.body.contains("2 of 4 people have acknowledged"), "{}", page.body);
    assert_eq!(page.texts("#dept-h + table tbody tr:first-child td"), vec!["IT", "1", "1", "50"]);
    assert_eq!(page.texts("#mgr-h + table tbody tr:first-child td"), vec!["Cee Eo", "1", "2", "33"]);
    assert!(page.texts("#missing-h + table tbody tr").concat().contains("Bob"));
    let csv = a.lead.get(&format!("/campaigns/{campaign}/csv")).await;
    assert_eq!(csv.body.lines().count(), 5);
    assert!(csv.body.contains("Ann,ann@acme.example,IT,Cee Eo,no,no,yes"), "{}", csv.body);
    // Reminders replace the links of those still missing.
    let reminders = a.lead.post(&format!("/campaigns/{campaign}/reminders"), &[]).await;
    assert_eq!(reminders.texts("table tbody tr").len(), 2, "Bob and Cid");
    assert_eq!(a.app.client().get(&url).await.status, StatusCode::OK, "Ann's link still shows her acknowledgement");
}

#[sqlx::test]
async fn public_pages_show_the_signed_version_only_while_public(db: PgPool) {
    let a = acme(db).await;
    let policy = a.app.policy(a.org, "Security policy", PolicyKind::IsPolicy, true).await;
    let slug: String = sqlx::query_scalar("SELECT public_slug FROM policies WHERE id = $1").bind(policy).fetch_one(a.app.db()).await.unwrap();
    let mut visitor = a.app.client();
    assert_eq!(visitor.get(&format!("/p/{slug}")).await.status, StatusCode::NOT_FOUND, "nothing signed yet");
    let v = a.app.draft(a.org, policy, "# Our commitment\n\nWe keep your data safe.", None, Bump::Major).await;
    a.app.draft(a.org, policy, "# Unsigned draft text", None, Bump::Minor).await;
    a.app.sign(a.org, v, a.ceo_user, true).await;
    let page = visitor.get(&format!("/p/{slug}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("We keep your data safe") && !page.body.contains("Unsigned draft"));
    let mut lead = a.lead;
    lead.post(&format!("/policies/{policy}"), &[("title", "Security policy"), ("kind", "is_policy"), ("review_months", "12"), ("audience", "all_staff")]).await;
    assert_eq!(visitor.get(&format!("/p/{slug}")).await.status, StatusCode::NOT_FOUND, "no longer public");
}

#[sqlx::test]
async fn starters_who_acknowledged_after_starting_are_listed(db: PgPool) {
    let a = acme(db).await;
    let policy = a.app.policy(a.org, "Acceptable use", PolicyKind::AcceptableUse, false).await;
    let v = a.app.draft(a.org, policy, "# Use", None, Bump::Major).await;
    a.app.sign(a.org, v, a.ceo_user, true).await;
    let today = a.app.state.clock.now().date_naive();
    let early = a.app.person(a.org, "Early Bird", "early@acme.example", false).await;
    let late = a.app.person(a.org, "Late Comer", "late@acme.example", false).await;
    let never = a.app.person(a.org, "Never Read", "never@acme.example", false).await;
    for (p, days_ago) in [(early, 1), (late, 40), (never, 10)] {
        sqlx::query("UPDATE people SET start_date = $1 WHERE id = $2").bind(today - Duration::days(days_ago)).bind(p).execute(a.app.db()).await.unwrap();
    }
    for p in [early, late] {
        let mut tx = a.app.db().begin().await.unwrap();
        mandate::policies::acks::model::acknowledge(&mut tx, &mandate::audit::Actor::system(Some(a.org), "t"), a.app.state.clock.now(), a.org, mandate::ids::PersonId(p), mandate::ids::VersionId(v), mandate::policies::acks::model::Method::Imported, "", "")
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let mut lead = a.lead;
    let page = lead.get("/onboarding").await;
    let rows = page.texts("main table tbody tr");
    let verdict = |name: &str| rows.iter().find(|r| r.contains(name)).cloned().unwrap_or_default();
    assert!(verdict("Early Bird").contains("within the 3-day grace"), "acknowledged today, started yesterday: {rows:?}");
    assert!(verdict("Late Comer").contains("40 days after starting"));
    assert!(verdict("Never Read").contains("not acknowledged"));
    assert!(page.body.contains("2 of 3"));
    // Without grace days, a day late is late.
    sqlx::query("UPDATE organisations SET onboarding_grace_days = 0 WHERE id = $1").bind(a.org).execute(a.app.db()).await.unwrap();
    let page = lead.get("/onboarding").await;
    let rows = page.texts("main table tbody tr");
    assert!(rows.iter().any(|r| r.contains("Early Bird") && r.contains("1 day after starting")), "{rows:?}");
    assert!(page.body.contains("3 of 3"));
}

/// Queries run by the policy register and a campaign page.
async fn measure(lead: &mut Client, campaign: Uuid) -> (usize, usize) {
    let (list, n_list) = queries_during(lead.get("/policies")).await;
    assert_eq!(list.status, StatusCode::OK);
    let (page, n_campaign) = queries_during(lead.get(&format!("/campaigns/{campaign}"))).await;
    assert_eq!(page.status, StatusCode::OK);
    (n_list, n_campaign)
}

#[sqlx::test]
async fn acknowledgement_figures_take_the_same_queries_for_five_thousand_people(db: PgPool) {
    let a = acme(db).await;
    let mut lead = a.lead;
    // Small: two people, one policy.
    let staff = a.app.person(a.org, "Staff", "staff@acme.example", false).await;
    let first = a.app.policy(a.org, "Policy 0", PolicyKind::TopicSpecific, false).await;
    let v0 = a.app.draft(a.org, first, "# 0", None, Bump::Major).await;
    a.app.sign(a.org, v0, a.ceo_user, true).await;
    let (campaign, _) = a.app.campaign(a.org, v0, staff).await;
    let small = measure(&mut lead, campaign).await;

    // Large: 5,000 people, 50 signed policies, half of everyone acknowledged.
    let people: Vec<(Uuid, PersonFields)> = (0..5000)
        .map(|i| {
            (Uuid::new_v4(), PersonFields { name: format!("Person {i}"), email: format!("p{i}@acme.example"), department: format!("Dept {}", i % 25), kind: Kind::Employee, ..Default::default() })
        })
        .collect();
    let mut tx = a.app.db().begin().await.unwrap();
    mandate::people::model::write_many(&mut tx, &mandate::audit::Actor::system(Some(a.org), "t"), a.app.state.clock.now(), a.org, &people.into_iter().map(|(id, f)| (id.into(), f)).collect::<Vec<_>>(), &[]).await.unwrap();
    tx.commit().await.unwrap();
    for i in 1..50 {
        let p = a.app.policy(a.org, &format!("Policy {i}"), PolicyKind::TopicSpecific, false).await;
        let v = a.app.draft(a.org, p, "# text", None, Bump::Major).await;
        a.app.sign(a.org, v, a.ceo_user, true).await;
    }
    sqlx::query(
        "INSERT INTO acknowledgements (id, org_id, person_id, policy_version_id, acknowledged_at, method, recorded_how)
         SELECT gen_random_uuid(), p.org_id, p.id, v.id, now(), 'imported', 'paper'
           FROM people p JOIN policy_versions v ON v.org_id = p.org_id AND v.approved_at IS NOT NULL
          WHERE p.org_id = $1 AND p.email LIKE 'p%0@acme.example'",
    )
    .bind(a.org)
    .execute(a.app.db())
    .await
    .unwrap();
    let large = measure(&mut lead, campaign).await;
    let named = |(l, c): (usize, usize)| [("/policies", l), ("/campaigns/{id}", c)];
    crate::support::assert_same_queries(&named(small), &named(large));
    let page = lead.get(&format!("/campaigns/{campaign}")).await;
    assert!(page.body.contains("of 5002 people"), "{}", &page.body[..page.body.len().min(3000)]);
}

#[sqlx::test]
async fn an_uploaded_document_is_kept_as_evidence_and_its_hash_signed(db: PgPool) {
    let mut a = acme(db).await;
    let res = a.lead.post("/policies", &[("title", "Disciplinary process"), ("kind", "disciplinary_process"), ("review_months", "24"), ("audience", "managers")]).await;
    let policy: Uuid = res.location().trim_start_matches("/policies/").parse().unwrap();
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    let fields = [("bump", "major"), ("source", "file"), ("change_summary", "Agreed with HR")];
    let bad = a.lead.multipart(&format!("/policies/{policy}/versions"), &fields, Some(("file", "process.pdf", "application/pdf", b"<html>no</html>"))).await;
    assert_eq!(bad.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = a.lead.multipart(&format!("/policies/{policy}/versions"), &fields, Some(("file", "process.pdf", "application/pdf", pdf))).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let version: Uuid = res.location().trim_start_matches("/policies/versions/").parse().unwrap();
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence_links WHERE target_kind = 'policy_version' AND target_id = $1").bind(version).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(linked, 1, "the document is evidence linked to its version");
    assert_eq!(sign_as(&a.app, a.ceo_user, a.org, version).await.status, StatusCode::SEE_OTHER);
    let signed: Vec<u8> = sqlx::query_scalar("SELECT approved_sha256 FROM policy_versions WHERE id = $1").bind(version).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(signed, <sha2::Sha256 as sha2::Digest>::digest(pdf).to_vec());
    // Staff download it through their personal link.
    let manager = a.app.person(a.org, "Line Manager", "lm@acme.example", false).await;
    sqlx::query("UPDATE people SET line_manager = true WHERE id = $1").bind(manager).execute(a.app.db()).await.unwrap();
    let (_, token) = a.app.campaign(a.org, version, manager).await;
    let doc = a.app.client().get(&format!("/ack/{token}/document")).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.body.as_bytes(), pdf);
    assert!(doc.header("content-disposition").starts_with("attachment"));

    // Text chosen with a file attached as well: the text is the version, the file is not kept.
    let files_before: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence_revisions").fetch_one(a.app.db()).await.unwrap();
    let text = [("bump", "minor"), ("source", "markdown"), ("change_summary", "Wording"), ("body_markdown", "# Process\n\nSteps.")];
    let res = a.lead.multipart(&format!("/policies/{policy}/versions"), &text, Some(("file", "process.pdf", "application/pdf", pdf))).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let files_after: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence_revisions").fetch_one(a.app.db()).await.unwrap();
    assert_eq!(files_before, files_after);
}

#[sqlx::test]
async fn policy_documents_count_against_the_evidence_quota(db: PgPool) {
    let app = TestApp::with_config(db, |c| c.org_quota_bytes = 30).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    let res = c.post("/policies", &[("title", "Disciplinary process"), ("kind", "disciplinary_process"), ("review_months", "24"), ("audience", "managers")]).await;
    let policy: Uuid = res.location().trim_start_matches("/policies/").parse().unwrap();
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    let fields = [("bump", "major"), ("source", "file"), ("change_summary", "Agreed with HR")];
    let res = c.multipart(&format!("/policies/{policy}/versions"), &fields, Some(("file", "process.pdf", "application/pdf", pdf))).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.body);
    assert!(res.body.contains("evidence storage"));
    assert!(res.body.contains("Agreed with HR"), "the form keeps what was typed");
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM policy_versions").fetch_one(app.db()).await.unwrap();
    assert_eq!(versions, 0);
}

#[sqlx::test]
async fn a_policy_for_nobody_says_so_instead_of_showing_full_marks(db: PgPool) {
    let mut a = acme(db).await;
    let res = a
        .lead
        .post("/policies", &[("title", "Manager handbook"), ("kind", "topic_specific"), ("review_months", "12"), ("audience", "managers"), ("audience_reason", "Only line managers use it")])
        .await;
    let policy: Uuid = res.location().trim_start_matches("/policies/").parse().unwrap();
    let version = new_version(&mut a, policy, "major", "# Handbook").await;
    assert_eq!(sign_as(&a.app, a.ceo_user, a.org, version).await.status, StatusCode::SEE_OTHER);
    let register = a.lead.get("/policies").await;
    let row = register.texts("main table tbody tr").into_iter().find(|r| r.contains("Manager handbook")).unwrap();
    assert!(row.contains("nobody in its audience") && !row.contains("100%"), "{row}");
}

/// Acknowledgements given on paper come in through the shared import: every
/// bad line is named and nothing is recorded; a good file is recorded once,
/// as imported, on the day the file gives; importing it again adds nothing;
/// and another kind of import is not found under this one's address.
#[sqlx::test]
async fn acknowledgements_given_elsewhere_are_imported_once(db: PgPool) {
    let mut a = acme(db).await;
    let policy = a.app.policy(a.org, "Information security policy", PolicyKind::IsPolicy, false).await;
    let version = a.app.draft(a.org, policy, "# Policy\n\nText.", None, Bump::Major).await;
    a.app.sign(a.org, version, a.ceo_user, true).await;
    let dee = a.app.person(a.org, "Dee Paper", "dee@acme.example", false).await;
    let today = a.app.state.clock.now().date_naive();
    let acks = |app: &TestApp| {
        let db = app.db().clone();
        async move {
            sqlx::query_as::<_, (String, chrono::DateTime<chrono::Utc>)>("SELECT method, acknowledged_at FROM acknowledgements WHERE person_id = $1")
                .bind(dee)
                .fetch_all(&db)
                .await
                .unwrap()
        }
    };

    let page = a.lead.get("/acknowledgements/import").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Policies with a signed version: Information security policy."), "{}", page.body);

    let bad = format!("E-mail,Policy,Date\nDEE@acme.example,Information security policy,{today}\nghost@acme.example,Information security policy,{today}\n");
    let res = a.lead.upload("/acknowledgements/import", "file", "paper.csv", "text/csv", bad.as_bytes()).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let preview_url = res.location().to_string();
    let preview = a.lead.get(&preview_url).await;
    assert!(preview.texts("#problems-h").concat().contains("1 problem: nothing will be imported"), "{}", preview.body);
    assert!(preview.body.contains("Nobody in the directory has the address ghost@acme.example"));
    let refused = a.lead.post(&format!("{preview_url}/apply"), &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(acks(&a.app).await.is_empty(), "a file with problems records nothing");

    // "How" must be a known way; the problem names the line and the value.
    let odd = format!("email,policy,acknowledged_on,how\ndee@acme.example,information security policy,{today},pigeon\n");
    let res = a.lead.upload("/acknowledgements/import", "file", "paper.csv", "text/csv", odd.as_bytes()).await;
    let preview = a.lead.get(res.location()).await;
    assert!(preview.body.contains("Write paper, e-mail or LMS (or leave it empty), not &#34;pigeon&#34;."), "{}", preview.body);
    let good = format!("email,policy,acknowledged_on,how\ndee@acme.example,information security policy,{today},Paper\n");
    let res = a.lead.upload("/acknowledgements/import", "file", "paper.csv", "text/csv", good.as_bytes()).await;
    let preview_url = res.location().to_string();
    let preview = a.lead.get(&preview_url).await;
    assert!(preview.texts("main .card li").concat().contains("1 new acknowledgement recorded"), "{}", preview.body);
    let applied = a.lead.post(&format!("{preview_url}/apply"), &[]).await;
    assert_eq!((applied.status, applied.location()), (StatusCode::SEE_OTHER, "/policies"));
    let recorded = acks(&a.app).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!((recorded[0].0.as_str(), recorded[0].1.date_naive()), ("imported", today));
    // It says how it was given, and which account entered it, when.
    let (how, by): (String, String) = sqlx::query_as(
        "SELECT a.recorded_how, u.email FROM acknowledgements a JOIN users u ON u.id = a.recorded_by WHERE a.person_id = $1",
    )
    .bind(dee)
    .fetch_one(a.app.db())
    .await
    .unwrap();
    assert_eq!((how.as_str(), by.as_str()), ("paper", "lead@acme.example"));
    // The person's page and the campaign export say so in words.
    let person = a.lead.get(&format!("/people/{dee}")).await;
    let acked = person.texts("section[aria-labelledby='acks-h'] li").concat();
    assert!(acked.contains("Information security policy v1.0") && acked.contains(&format!("{today}")) && acked.contains("on paper, recorded in Mandate by lead@acme.example on"), "{acked}");
    let again = a.lead.post(&format!("{preview_url}/apply"), &[]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "an import applies once");
    assert!(a.lead.get(&preview_url).await.body.contains("Applied on"));

    let res = a.lead.upload("/acknowledgements/import", "file", "paper.csv", "text/csv", good.as_bytes()).await;
    let preview = a.lead.get(res.location()).await;
    assert!(preview.body.contains("There is nothing to apply"), "{}", preview.body);
    assert!(!preview.has("form[action$='/apply']"));
    assert_eq!(acks(&a.app).await.len(), 1);

    let people = a.lead.upload("/people/import", "file", "staff.csv", "text/csv", b"name,email\nEve,eve@acme.example\n").await;
    let people_id = people.location().rsplit('/').next().unwrap().to_string();
    assert_eq!(a.lead.get(&format!("/acknowledgements/import/{people_id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(a.lead.get(&format!("/people/import/{people_id}")).await.status, StatusCode::OK);
}

/// Whoever signs a version has read it: the signature is recorded as their
/// acknowledgement too, so the signer is never listed as not communicated.
#[sqlx::test]
async fn the_signer_counts_as_having_acknowledged_what_they_signed(db: PgPool) {
    let mut a = acme(db).await;
    let (_, version) = policy_with_draft(&mut a, "is_policy", "# Policy\n\nText.").await;
    let ack = |app: &TestApp, person: Uuid| {
        let db = app.db().clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT method FROM acknowledgements WHERE person_id = $1 AND policy_version_id = $2")
                .bind(person)
                .bind(version)
                .fetch_optional(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(ack(&a.app, a.ceo).await, None);
    let res = sign_as(&a.app, a.ceo_user, a.org, version).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(ack(&a.app, a.ceo).await.as_deref(), Some("signed"));
    let gaps = a.lead.get("/gaps").await;
    let missing = gaps.texts("details.gap li").join("\n");
    assert!(!missing.contains("Cee Eo: has not acknowledged"), "{missing}");
    let page = a.lead.get(&format!("/policies/versions/{version}")).await;
    assert_eq!(page.status, StatusCode::OK);
}

/// A policy approved by a leader who has since left stays approved: the gap
/// list asks, as an opportunity for improvement, for current top management
/// to reaffirm it.
#[sqlx::test]
async fn an_approver_who_left_leaves_an_opportunity_to_reaffirm(db: PgPool) {
    let mut a = acme(db).await;
    let (_, version) = policy_with_draft(&mut a, "is_policy", "# Policy\n\nText.").await;
    assert_eq!(sign_as(&a.app, a.ceo_user, a.org, version).await.status, StatusCode::SEE_OTHER);
    let today = a.app.state.clock.now().date_naive();
    let rules = |app: &TestApp| {
        let db = app.db().clone();
        let org = a.org;
        async move { mandate::gaps::evaluate(&db, org, today).await.unwrap().gaps.into_iter().map(|g| (g.rule, g.severity)).collect::<Vec<_>>() }
    };
    assert!(!rules(&a.app).await.iter().any(|(r, _)| *r == "approver_left"));
    sqlx::query("UPDATE people SET end_date = $2 WHERE id = $1").bind(a.ceo).bind(today - Duration::days(1)).execute(a.app.db()).await.unwrap();
    let found = rules(&a.app).await;
    assert!(found.contains(&("approver_left", mandate::gaps::model::Severity::Improvement)), "{found:?}");
    assert!(!found.iter().any(|(r, _)| *r == "is_policy_not_top_signed" || *r == "no_is_policy"), "it stays approved: {found:?}");
}

/// The organisation's logo: set by an ISMS lead as a checked PNG (an SVG,
/// a PDF renamed and a file over the limit are refused, keeping nothing),
/// shown on a personal link's page and a published policy's page of that
/// organisation only, served as an image that downloads when opened on
/// its own, and removed again; each change is in the audit log.
#[sqlx::test]
async fn a_logo_is_checked_shown_to_staff_on_personal_links_and_removable(db: PgPool) {
    let mut a = acme(db).await;
    let policy = a.app.policy(a.org, "Clean desk policy", PolicyKind::TopicSpecific, true).await;
    let v = a.app.draft(a.org, policy, "# Clean desk\n\nClear it.", None, Bump::Major).await;
    a.app.sign(a.org, v, a.ceo_user, true).await;
    let reader = a.app.person(a.org, "Reader", "reader@acme.example", false).await;
    let (_, token) = a.app.campaign(a.org, v, reader).await;
    let slug: String = sqlx::query_scalar("SELECT public_slug FROM policies WHERE id = $1").bind(policy).fetch_one(a.app.db()).await.unwrap();
    let mut anon = a.app.client();

    // No logo yet: the name alone, and the logo's address answers 404.
    assert!(anon.get(&format!("/ack/{token}")).await.html().select(&scraper::Selector::parse("img.org-logo").unwrap()).next().is_none());
    assert_eq!(anon.get(&format!("/ack/{token}/logo")).await.status, StatusCode::NOT_FOUND);
    let settings = a.lead.get("/settings").await;
    assert!(settings.body.contains("No logo yet"), "{}", settings.body);

    // Refused: markup, a PDF under a picture's name, and too large.
    for (name, bytes, says) in [
        ("logo.svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(), "PNG or JPEG"),
        ("logo.png", b"%PDF-1.4\n%%EOF\n".to_vec(), ".png"),
        ("logo.png", crate::support::PNG.iter().copied().chain(std::iter::repeat_n(0u8, 300 * 1024)).collect(), "256 KiB"),
    ] {
        let res = a.lead.upload("/settings/logo", "file", name, "image/png", &bytes).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", res.body);
        assert!(res.texts(".error-summary p").join(" ").contains(says), "{name}: {:?}", res.texts(".error-summary p"));
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM org_logos").fetch_one(a.app.db()).await.unwrap();
    assert_eq!(stored, 0, "nothing refused is kept");

    // Accepted: a PNG.
    let res = a.lead.upload("/settings/logo", "file", "acme.png", "image/png", crate::support::PNG).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let settings = a.lead.get("/settings").await;
    assert!(settings.body.contains("acme.png") && settings.body.contains("src=\"/settings/logo\""), "{}", settings.body);
    for page in [format!("/ack/{token}"), format!("/p/{slug}")] {
        let res = anon.get(&page).await;
        let srcs: Vec<String> = res.html().select(&scraper::Selector::parse("img.org-logo").unwrap()).filter_map(|i| i.value().attr("src").map(str::to_string)).collect();
        assert_eq!(srcs, vec![format!("{page}/logo")], "{page}");
        let img = anon.get(&format!("{page}/logo")).await;
        assert_eq!(img.status, StatusCode::OK, "{page}/logo");
        assert_eq!(img.header("content-type"), "image/png");
        assert!(img.header("content-disposition").starts_with("attachment"), "{}", img.header("content-disposition"));
        assert_eq!(img.header("x-content-type-options"), "nosniff");
        assert_eq!(img.header("content-length"), crate::support::PNG.len().to_string());
    }

    // Another organisation's personal link shows that organisation's (none).
    let other_owner = a.app.user("owner@other.example", "Other Owner").await;
    let other = a.app.org("Other Ltd", other_owner).await;
    let other_policy = a.app.policy(other, "Other policy", PolicyKind::TopicSpecific, false).await;
    let ov = a.app.draft(other, other_policy, "# Other", None, Bump::Major).await;
    a.app.sign(other, ov, other_owner, true).await;
    let other_reader = a.app.person(other, "Other reader", "reader@other.example", false).await;
    let (_, other_token) = a.app.campaign(other, ov, other_reader).await;
    let res = anon.get(&format!("/ack/{other_token}")).await;
    assert!(res.body.contains("Other Ltd") && !res.body.contains("org-logo"), "{}", res.body);
    assert_eq!(anon.get(&format!("/ack/{other_token}/logo")).await.status, StatusCode::NOT_FOUND);

    // Removed: gone from the pages and the address.
    let res = a.lead.post("/settings/logo/remove", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.get(&format!("/ack/{token}/logo")).await.status, StatusCode::NOT_FOUND);
    assert!(!anon.get(&format!("/ack/{token}")).await.body.contains("org-logo"));
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE org_id = $1 AND action LIKE 'organisation.logo%' ORDER BY seq")
        .bind(a.org.0)
        .fetch_all(a.app.db())
        .await
        .unwrap();
    assert_eq!(actions, vec!["organisation.logo_set", "organisation.logo_removed"]);
}
