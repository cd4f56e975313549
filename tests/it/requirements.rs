//! The requirements register: catalogue loading, the grouped list, owners,
//! status, exclusions and who may change what.
use crate::support::TestApp;
use axum::http::StatusCode;
use mandate::auth::policy::Role;
use mandate::requirements::catalogue::{self, Outcome};
use sqlx::PgPool;
use uuid::Uuid;

fn id(code: &str) -> Uuid {
    catalogue::requirement_id("iso27001-2022-leadership", code).0
}

#[sqlx::test]
async fn catalogues_load_once_and_versions_update_in_place(db: PgPool) {
    let app = TestApp::new(db).await;
    let (_, text) = catalogue::CATALOGUES[0];
    let now = app.state.clock.now();
    assert_eq!(catalogue::load(app.db(), now, text).await.unwrap(), Outcome::Unchanged);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM requirements WHERE retired_at IS NULL").fetch_one(app.db()).await.unwrap();
    assert_eq!(count, 19);

    // Version 3 drops an item and rewords another: the dropped one is retired, not deleted.
    let v2 = text.replace("version = 2", "version = 3").replace("Policy kept as a controlled document", "Policy under document control");
    let cut_from = v2.find("code = \"5.2(g)\"").unwrap();
    let start = v2[..cut_from].rfind("[[requirements]]").unwrap();
    let end = cut_from + v2[cut_from..].find("[[requirements]]").unwrap();
    let v2 = format!("{}{}", &v2[..start], &v2[end..]);
    assert_eq!(catalogue::load(app.db(), now, &v2).await.unwrap(), Outcome::Loaded { requirements: 18, retired: 1 });
    let title: String = sqlx::query_scalar("SELECT title FROM requirements WHERE id = $1").bind(id("5.2(e)")).fetch_one(app.db()).await.unwrap();
    assert_eq!(title, "Policy under document control");
    let retired: bool = sqlx::query_scalar("SELECT retired_at IS NOT NULL FROM requirements WHERE id = $1").bind(id("5.2(g)")).fetch_one(app.db()).await.unwrap();
    assert!(retired);
    // An older file never overwrites a newer catalogue.
    assert_eq!(catalogue::load(app.db(), now, text).await.unwrap(), Outcome::Newer { stored: 3 });
}

#[sqlx::test]
async fn the_register_groups_filters_and_exports(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    let page = c.get("/requirements").await;
    assert_eq!(page.status, StatusCode::OK);
    let headings: Vec<String> = page.texts("main section h2").iter().map(|h| h.split_whitespace().next().unwrap().to_string()).collect();
    assert_eq!(headings, vec!["5.1", "5.2", "5.3", "A.5.4"]);
    assert_eq!(page.texts("main table tbody tr").len(), 19);
    assert!(page.body.contains("19 without an owner"));
    let only = c.get("/requirements?clause=5.3").await;
    assert_eq!(only.texts("main table tbody tr td:first-child"), vec!["5.3", "5.3(a)", "5.3(b)"]);
    let csv = c.get("/requirements.csv?clause=5.3").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.body.lines().count(), 4, "{}", csv.body);
    assert!(csv.body.starts_with("code,clause,title,applicable"));
}

#[sqlx::test]
async fn owners_status_and_exclusions_are_recorded_with_history(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let ceo = app.person(org, "Cee Eo", "ceo@acme.example", true).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    let url = format!("/requirements/{}", id("5.1(c)"));
    let page = c.get(&url).await;
    assert!(page.body.contains("What the auditor looks for"));
    let res = c.post(&url, &[("applicable", "yes"), ("owner_id", &ceo.to_string()), ("status", "implemented"), ("notes", "Budget approved.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = c.get(&url).await;
    // History reads as sentences with names, never ids.
    let history = page.texts(".activity li").concat();
    assert!(history.contains("Status changed from not started to implemented"), "{history}");
    assert!(history.contains("Owner changed from nobody to Cee Eo") && !history.contains(&ceo.to_string()), "{history}");
    assert!(history.contains("by Owner on 2 November 2026"), "{history}");
    // So does the audit log, with the record by name; the row as recorded stays one click away.
    let log = c.get("/audit").await;
    let row = log.texts("table.log tbody tr").into_iter().find(|r| r.contains("Owner changed from nobody to Cee Eo")).expect("the change in the audit log");
    assert!(row.contains("requirement: 5.1(c) Resources for the ISMS made available") && row.contains("As recorded"), "{row}");
    let list = c.get(&format!("/requirements?owner={ceo}")).await;
    assert_eq!(list.texts("main table tbody tr td:first-child"), vec!["5.1(c)"]);

    // Clauses 4 to 10 are mandatory: 5.1(c) cannot be excluded, in the form or in the database.
    let mandatory = c.post(&url, &[("applicable", "no"), ("status", "implemented"), ("exclusion_reason", "Not relevant here.")]).await;
    assert_eq!(mandatory.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mandatory.texts("#f-applicable-error").concat().contains("5.1(c) is mandatory for certification"), "{}", mandatory.body);
    assert!(!c.get(&url).await.has("input[name=applicable]"), "a mandatory requirement offers no choice");
    let refused = sqlx::query("UPDATE requirement_states SET applicable = false, exclusion_reason = 'x' WHERE org_id = $1 AND requirement_id = $2")
        .bind(org)
        .bind(id("5.1(c)"))
        .execute(app.db())
        .await;
    assert!(refused.unwrap_err().to_string().contains("mandatory for certification"));

    // An Annex A control is excluded through the statement of applicability: a justification and a top-management approver.
    let control = format!("/requirements/{}", id("A.5.4"));
    let no_reason = c.post(&control, &[("applicable", "no"), ("status", "implemented"), ("exclusion_reason", "")]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.has("#f-exclusion_reason-error") && no_reason.has("#f-exclusion_approved_by-error"));
    let staff = app.person(org, "Staff", "staff@acme.example", false).await;
    let not_top = c.post(&control, &[("applicable", "no"), ("status", "implemented"), ("exclusion_reason", "No staff."), ("exclusion_approved_by", &staff.to_string())]).await;
    assert_eq!(not_top.status, StatusCode::UNPROCESSABLE_ENTITY, "someone else, and not top management: {}", not_top.body);
    // Nobody names top management as approving in their absence: only the approver, signed in as themselves.
    let in_their_name = c.post(&control, &[("applicable", "no"), ("status", "implemented"), ("exclusion_reason", "Not relevant here."), ("exclusion_approved_by", &ceo.to_string())]).await;
    assert_eq!(in_their_name.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", in_their_name.body);
    assert!(in_their_name.has("#f-exclusion_approved_by-error"));
    app.link(org, ceo, owner).await;
    let excluded = c.post(&control, &[("applicable", "no"), ("status", "implemented"), ("exclusion_reason", "Not relevant here."), ("exclusion_approved_by", &ceo.to_string())]).await;
    assert_eq!(excluded.status, StatusCode::SEE_OTHER, "{}", excluded.body);
    let (applicable, reason, approver): (bool, String, Option<Uuid>) =
        sqlx::query_as("SELECT applicable, exclusion_reason, exclusion_approved_by FROM requirement_states WHERE org_id = $1 AND requirement_id = $2")
            .bind(org)
            .bind(id("A.5.4"))
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!((applicable, reason.as_str(), approver), (false, "Not relevant here.", Some(ceo)));
    let page = c.get(&control).await;
    assert!(page.texts("#f-exclusion_approved_by option[selected]").concat().contains("Cee Eo"), "{}", page.body);

    // An owner from another organisation is refused.
    let other_owner = app.user("owner@other.example", "Other").await;
    let other = app.org("Other", other_owner).await;
    let stranger = app.person(other, "Stranger", "s@other.example", false).await;
    let res = c.post(&url, &[("applicable", "yes"), ("owner_id", &stranger.to_string()), ("status", "implemented")]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

#[sqlx::test]
async fn contributors_update_only_what_they_own_and_only_status_and_notes(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let hr = app.user("hr@acme.example", "Hr Person").await;
    app.member(org, hr, Role::Contributor).await;
    let hr_person = app.person(org, "Hr Person", "hr@acme.example", false).await;
    app.link(org, hr_person, hr).await;
    let mut o = app.signed_in(owner, Some(org)).await;
    let mine = format!("/requirements/{}", id("A.5.4"));
    o.post(&mine, &[("applicable", "yes"), ("owner_id", &hr_person.to_string()), ("status", "not_started")]).await;

    let mut c = app.signed_in(hr, Some(org)).await;
    let page = c.get(&mine).await;
    assert!(page.body.contains("You own this requirement"));
    assert!(!page.has("#f-owner_id"));
    let res = c.post(&mine, &[("status", "in_progress"), ("notes", "Collecting"), ("owner_id", ""), ("applicable", "no")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let (status, owner_id, applicable): (String, Option<Uuid>, bool) =
        sqlx::query_as("SELECT status, owner_id, applicable FROM requirement_states WHERE org_id = $1 AND requirement_id = $2")
            .bind(org)
            .bind(id("A.5.4"))
            .fetch_one(app.db())
            .await
            .unwrap();
    assert_eq!((status.as_str(), owner_id, applicable), ("in_progress", Some(hr_person), true));
    let theirs = format!("/requirements/{}", id("5.1(a)"));
    assert!(!c.get(&theirs).await.has("form[action^='/requirements/']"));
    assert_eq!(c.post(&theirs, &[("status", "implemented")]).await.status, StatusCode::FORBIDDEN);
}

/// A requirement's page shows its newest 50 evidence items and links to the
/// register's list of all of them, which pages like any list.
#[sqlx::test]
async fn a_requirement_shows_its_newest_evidence_and_links_to_all_of_it(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    let req = id("5.1(c)");
    let url = format!("/requirements/{req}");
    let shown = |c: &crate::support::Resp| c.texts("#req-evidence-h ~ table tbody tr").len();
    for n in 0..52 {
        sqlx::query(
            "WITH i AS (INSERT INTO evidence_items (id, org_id, title, kind, external_url, evidence_date, created_at, updated_at)
                        VALUES (gen_random_uuid(), $1, 'Item ' || lpad($2::text, 2, '0'), 'external_link', 'https://example.com', DATE '2026-01-01' + $2, now(), now()) RETURNING id)
             INSERT INTO evidence_links (org_id, item_id, target_kind, target_id, linked_at) SELECT $1, i.id, 'requirement', $3, now() FROM i",
        )
        .bind(org)
        .bind(n)
        .bind(req)
        .execute(app.db())
        .await
        .unwrap();
        if n == 49 {
            let page = c.get(&url).await;
            assert_eq!(shown(&page), 50, "{}", page.texts("main").concat());
            assert!(!page.body.contains("All evidence linked to 5.1(c)"), "all 50 are shown");
        }
    }
    let page = c.get(&url).await;
    assert_eq!(shown(&page), 50, "the newest 50 of 52");
    assert!(page.texts("#req-evidence-h ~ table tbody tr").first().is_some_and(|r| r.contains("Item 51")), "newest first");
    assert!(page.has(&format!("a[href='/evidence?requirement={req}']")), "{}", page.body);
    let register = c.get(&format!("/evidence?requirement={req}")).await;
    assert!(register.texts("main p").concat().contains("52 items"));
    assert!(register.has(".pager a[rel=next]"));
}
