//! Training: modules, completions by hand and by import, and where each
//! person stands, with leaders shown apart.
use mandate::ids::OrgId;
use crate::support::{Client, TestApp};
use axum::http::StatusCode;
use mandate::auth::policy::Role;
use sqlx::PgPool;

struct Acme {
    app: TestApp,
    org: OrgId,
    lead: Client,
}

async fn acme(db: PgPool) -> Acme {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let lead_user = app.user("lead@acme.example", "Lead").await;
    app.member(org, lead_user, Role::IsmsLead).await;
    let lead = app.signed_in(lead_user, Some(org)).await;
    Acme { app, org, lead }
}

async fn records(app: &TestApp, org: OrgId) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM training_records WHERE org_id = $1").bind(org).fetch_one(app.db()).await.unwrap()
}

async fn upload(c: &mut Client, csv: &str) -> String {
    let res = c.upload("/training/import", "file", "lms-export.csv", "text/csv", csv.as_bytes()).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    res.location().to_string()
}

#[sqlx::test]
async fn leaders_who_skipped_training_stand_out(db: PgPool) {
    let mut a = acme(db).await;
    let ceo = a.app.person(a.org, "Cee Eo", "ceo@acme.example", true).await;
    let dev = a.app.person(a.org, "Dev Eloper", "dev@acme.example", false).await;
    let old = a.app.person(a.org, "Old Timer", "old@acme.example", false).await;
    let res = a.lead.post("/training/modules", &[("title", "Security awareness 2026"), ("kind", "awareness"), ("validity_months", "12"), ("audience", "all_staff")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let module = res.location().to_string();
    // The overview's figures are kept between views, and follow every completion.
    let before = a.lead.get("/training").await.texts("main table tbody tr").concat();
    for (person, day) in [(dev, "2026-06-01"), (old, "2025-11-20")] {
        let r = a.lead.post(&format!("{module}/records"), &[("person_id", &person.to_string()), ("completed_on", day), ("score", "88")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
    let again = a.lead.post(&format!("{module}/records"), &[("person_id", &dev.to_string()), ("completed_on", "2026-06-01")]).await;
    assert!(a.lead.get(again.location()).await.texts(".flash").concat().contains("already recorded"));
    let future = a.lead.post(&format!("{module}/records"), &[("person_id", &dev.to_string()), ("completed_on", "2027-01-01")]).await;
    assert_eq!(future.status, StatusCode::UNPROCESSABLE_ENTITY);

    let page = a.lead.get(&module).await;
    let leaders = page.texts("#leaders-h + table tbody tr").join("\n");
    assert!(leaders.contains("Cee Eo") && leaders.contains("Overdue") && leaders.contains("never"), "{leaders}");
    let staff = page.texts("#staff-h + table tbody tr");
    assert!(staff.iter().any(|r| r.contains("Dev Eloper") && r.contains("Current")), "{staff:?}");
    assert!(staff.iter().any(|r| r.contains("Old Timer") && r.contains("Due soon")), "{staff:?}");
    let overview = a.lead.get("/training").await;
    assert!(overview.texts("main table tbody tr").concat().contains("1 of 1"), "the CEO is the leader overdue: {}", overview.body);
    assert_ne!(overview.texts("main table tbody tr").concat(), before, "the completions show on the next view");
    let csv = a.lead.get(&format!("{module}/csv")).await;
    assert!(csv.body.contains("Cee Eo,ceo@acme.example,,,yes,no,Overdue"), "{}", csv.body);
    let _ = ceo;
}

#[sqlx::test]
async fn a_bad_file_names_every_line_and_changes_nothing(db: PgPool) {
    let mut a = acme(db).await;
    a.app.person(a.org, "Ada", "ada@acme.example", false).await;
    a.app.module(a.org, "Security awareness").await;
    let csv = "User Email,Course,Completion Date,Score\n\
               ada@acme.example,Security awareness,2026-03-14,90\n\
               ghost@acme.example,Security awareness,2026-03-14,\n\
               ada@acme.example,Knitting,2026-03-14,\n\
               ada@acme.example,Security awareness,03/14/2026,\n\
               ada@acme.example,Security awareness,2026-03-15,ninety\n\
               ada@acme.example,Security awareness,2026-03-14,90\n";
    let preview = upload(&mut a.lead, csv).await;
    let page = a.lead.get(&preview).await;
    assert_eq!(page.texts(".error-summary tbody tr td:first-child"), vec!["3", "4", "5", "6", "7"], "{}", page.body);
    assert!(page.texts(".error-summary").concat().contains("Duplicate of line 2"));
    assert_eq!(a.lead.post(&format!("{preview}/apply"), &[]).await.status, StatusCode::CONFLICT);
    assert_eq!(records(&a.app, a.org).await, 0);
}

#[sqlx::test]
async fn importing_the_same_file_twice_adds_nothing(db: PgPool) {
    let mut a = acme(db).await;
    a.app.person(a.org, "Ada", "ada@acme.example", false).await;
    a.app.person(a.org, "Bob", "bob@acme.example", true).await;
    a.app.module(a.org, "Security awareness").await;
    let csv = "email;module;completed_on;score;how\nADA@acme.example;security awareness;2026-03-14T09:30:00Z;91%;LMS\nbob@acme.example;Security awareness;2026-04-01;;\n";
    let preview = upload(&mut a.lead, csv).await;
    assert!(a.lead.get(&preview).await.body.contains("Apply: record 2"));
    let applied = a.lead.post(&format!("{preview}/apply"), &[]).await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER);
    assert!(a.lead.get("/training").await.texts(".flash").concat().contains("2 completions added"));
    assert_eq!(records(&a.app, a.org).await, 2);
    let (score, source, how, by): (Option<f64>, String, String, String) = sqlx::query_as(
        "SELECT r.score::float8, r.source, r.recorded_how, u.email FROM training_records r JOIN people p ON p.id = r.person_id
           JOIN users u ON u.id = r.recorded_by WHERE p.email = 'ada@acme.example'",
    )
    .fetch_one(a.app.db())
    .await
    .unwrap();
    assert_eq!((score, source.as_str(), how.as_str(), by.as_str()), (Some(91.0), "import", "lms", "lead@acme.example"), "how it was given and who entered it");
    let bob: String = sqlx::query_scalar("SELECT r.recorded_how FROM training_records r JOIN people p ON p.id = r.person_id WHERE p.email = 'bob@acme.example'")
        .fetch_one(a.app.db())
        .await
        .unwrap();
    assert_eq!(bob, "other", "an empty cell is another way");
    // The person's page and the module's page say how it came in.
    let ada: uuid::Uuid = sqlx::query_scalar("SELECT id FROM people WHERE email = 'ada@acme.example'").fetch_one(a.app.db()).await.unwrap();
    let page = a.lead.get(&format!("/people/{ada}")).await;
    let done = page.texts("section[aria-labelledby='training-h'] li").concat();
    assert!(done.contains("Security awareness, 2026-03-14") && done.contains("in a learning platform, recorded in Mandate by lead@acme.example on 2026-11-02"), "{done}");
    let module: uuid::Uuid = sqlx::query_scalar("SELECT id FROM training_modules WHERE org_id = $1").bind(a.org.0).fetch_one(a.app.db()).await.unwrap();
    let rows = a.lead.get(&format!("/training/modules/{module}")).await.texts("tbody tr").join("\n");
    assert!(rows.contains("in a learning platform, recorded in Mandate by lead@acme.example") && rows.contains("recorded in Mandate by lead@acme.example on 2026-11-02"), "{rows}");
    assert_eq!(a.lead.post(&format!("{preview}/apply"), &[]).await.status, StatusCode::CONFLICT, "applied once");

    let again = upload(&mut a.lead, csv).await;
    let page = a.lead.get(&again).await;
    assert!(page.body.contains("already recorded") && page.body.contains("nothing to apply"), "{}", page.body);
    a.lead.post(&format!("{again}/apply"), &[]).await;
    assert_eq!(records(&a.app, a.org).await, 2);
}

/// A file over the byte or line limit is refused whole, naming the limit;
/// no import is stored.
#[sqlx::test]
async fn files_over_the_limits_are_refused_whole(db: PgPool) {
    let mut a = acme(db).await;
    a.app.person(a.org, "Ada", "ada@acme.example", false).await;
    let file = |rows: usize, pad: usize| {
        let mut csv = String::from("email,module,completed_on\n");
        for i in 0..rows {
            csv.push_str(&format!("ada@acme.example,Module {i}{},2026-01-01\n", "m".repeat(pad)));
        }
        csv
    };
    let res = a.lead.upload("/training/import", "file", "big.csv", "text/csv", file(40_000, 150).as_bytes()).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.body.contains("larger than 6 MiB, the most one import takes"), "{}", res.body);
    let res = a.lead.upload("/training/import", "file", "long.csv", "text/csv", file(50_001, 0).as_bytes()).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.body.contains("more than 50,000 lines, the most one import takes") && res.body.contains("nothing was imported"), "{}", res.body);
    let imports: i64 = sqlx::query_scalar("SELECT count(*) FROM imports WHERE org_id = $1 AND kind = 'training'").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(imports, 0, "nothing stored");
    assert_eq!(records(&a.app, a.org).await, 0);
}

/// The personal links a links page shows, by the person's name.
fn links_on(page: &crate::support::Resp) -> Vec<(String, String)> {
    let cells = page.texts("main table tbody td:first-child");
    let emails = page.texts("main table tbody td:first-child span");
    let urls = page.texts("main table tbody code.link");
    cells
        .iter()
        .zip(emails)
        .zip(urls)
        .map(|((cell, email), url)| (cell.trim_end_matches(email.as_str()).trim().to_string(), url[url.find("/training-link/").unwrap()..].to_string()))
        .collect()
}

#[sqlx::test]
async fn a_training_campaign_asks_those_not_current_and_their_links_record_what_they_confirm(db: PgPool) {
    use chrono::Duration;
    let mut a = acme(db).await;
    let ceo = a.app.person(a.org, "Cee Eo", "ceo@acme.example", true).await;
    let done = a.app.person(a.org, "Dana Done", "dana@acme.example", false).await;
    let soon = a.app.person(a.org, "Sol Soon", "sol@acme.example", false).await;
    let never = a.app.person(a.org, "Nev Never", "nev@acme.example", false).await;
    let leaver = a.app.person(a.org, "Lea Leaving", "lea@acme.example", false).await;
    let module = a.app.module(a.org, "Security awareness").await;
    let record = |person: uuid::Uuid, day: &'static str| {
        let app = &a.app;
        let org = a.org;
        async move {
            use mandate::training::model::{Completion, RecordSource, record};
            let mut tx = app.db().begin().await.unwrap();
            let c = Completion { module_id: mandate::ids::ModuleId(module), person_id: mandate::ids::PersonId(person), completed_on: day.parse().unwrap(), score: None, how: None };
            record(&mut tx, &app.system(org), app.state.clock.now(), org, RecordSource::Manual, &[c]).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    record(done, "2026-06-01").await;
    record(soon, "2025-11-20").await;

    // The module page offers to ask the four who are not current.
    let page = a.lead.get(&format!("/training/modules/{module}")).await;
    assert!(page.texts("#campaigns-h + p + p.empty").concat().contains("No campaign yet"), "{}", page.body);
    assert!(page.texts("form[action$='/campaigns'] button").concat().contains("Ask the 4 not current"));
    let past = a.lead.post(&format!("/training/modules/{module}/campaigns"), &[("due_on", "2026-01-01")]).await;
    assert_eq!(past.status, StatusCode::BAD_REQUEST, "a due date in the past");
    let res = a.lead.post(&format!("/training/modules/{module}/campaigns"), &[("due_on", "2026-11-30")]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.texts("h1").concat().contains("Training links: Security awareness"));
    let links = links_on(&res);
    let names: Vec<&str> = links.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Cee Eo", "Lea Leaving", "Nev Never", "Sol Soon"], "leaders first, the current one left out");
    let link = |name: &str| links.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert!(res.body.contains("mailto:nev@acme.example?subject=Training%20to%20complete%3A%20Security%20awareness"), "a hand-written e-mail carries the link");

    // Nev confirms through the link, without an account.
    let mut nev = a.app.client();
    let open = nev.get(&link("Nev Never")).await;
    assert_eq!(open.status, StatusCode::OK);
    assert!(open.texts(".lead").concat().contains("Acme asks you to complete this training by 2026-11-30"), "{}", open.body);
    assert!(open.has("input[type=date][name=completed_on][min='2026-11-02'][max='2026-11-02']"));
    // A day before the request went out, or ahead, is refused, with what to do instead.
    let early = nev.post(&link("Nev Never"), &[("completed_on", "2026-10-01")]).await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(early.texts(".field-error").concat().contains("This request went out on 2026-11-02"), "{}", early.body);
    assert_eq!(nev.post(&link("Nev Never"), &[("completed_on", "2026-11-03")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(records(&a.app, a.org).await, 2, "nothing recorded from a refused day");
    nev.headers.insert("user-agent", "NevPhone/2".parse().unwrap());
    let thanks = nev.post(&link("Nev Never"), &[("completed_on", "2026-11-02")]).await;
    assert_eq!(thanks.status, StatusCode::OK);
    assert!(thanks.texts(".flash").concat().contains("Your completion on 2026-11-02 is recorded"), "{}", thanks.body);
    let again = nev.post(&link("Nev Never"), &[("completed_on", "2026-11-02")]).await;
    assert!(again.texts(".flash").concat().contains("Thank you"), "a second post records nothing more");
    assert!(!again.has("form[action^='/training-link/'] button"));
    let rows: Vec<(String, String, Option<uuid::Uuid>, String, String)> =
        sqlx::query_as("SELECT completed_on::text, source, recorded_by, client_addr, user_agent FROM training_records WHERE person_id = $1")
            .bind(never)
            .fetch_all(a.app.db())
            .await
            .unwrap();
    assert_eq!(rows, vec![("2026-11-02".to_string(), "link".to_string(), None, "192.0.2.10".to_string(), "NevPhone/2".to_string())]);
    let actor: String = sqlx::query_scalar("SELECT actor_label FROM audit_log WHERE action = 'training.completed' AND details::jsonb->>'source' = 'link'").fetch_one(a.app.db()).await.unwrap();
    assert_eq!(actor, "Nev Never (personal link)");
    let logged: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE org_id = $1 AND entity = 'training_campaign' ORDER BY seq").bind(a.org).fetch_all(a.app.db()).await.unwrap();
    assert_eq!(logged, ["training_campaign.started", "training_campaign.links_issued"]);
    let module_page = a.lead.get(&format!("/training/modules/{module}")).await;
    assert!(module_page.texts("#staff-h + table tbody tr").iter().any(|r| r.contains("Nev Never") && r.contains("Current") && r.contains("confirmed by the person through a personal link")));

    // The campaign page: Dana (current) and Nev done of five.
    let campaign: uuid::Uuid = sqlx::query_scalar("SELECT id FROM training_campaigns WHERE module_id = $1").bind(module).fetch_one(a.app.db()).await.unwrap();
    let progress = a.lead.get(&format!("/training/campaigns/{campaign}")).await;
    assert!(progress.texts("#progress").concat().contains("2 of 5 people done. 3 to go."), "{}", progress.body);
    let missing = progress.texts("#missing-h + table tbody tr").join("\n");
    assert!(missing.contains("Cee Eo") && missing.contains("Sol Soon") && !missing.contains("Nev Never") && !missing.contains("Dana Done"), "{missing}");
    let csv = a.lead.get(&format!("/training/campaigns/{campaign}/csv")).await;
    assert!(csv.body.lines().any(|l| l.starts_with("Nev Never,nev@acme.example,") && l.contains(",yes,Current,2026-11-02,confirmed by the person through a personal link")), "{}", csv.body);

    // A leaver's link is no longer needed; reminders replace the old links of the rest.
    sqlx::query("UPDATE people SET end_date = '2026-11-02' WHERE id = $1").bind(leaver).execute(a.app.db()).await.unwrap();
    let gone = a.app.client().post(&link("Lea Leaving"), &[("completed_on", "2026-11-02")]).await;
    assert_eq!(gone.status, StatusCode::GONE);
    assert!(gone.body.contains("no longer needed"));
    let reminders = a.lead.post(&format!("/training/campaigns/{campaign}/reminders"), &[]).await;
    assert!(reminders.texts("h1").concat().contains("Reminders: Security awareness"));
    let again: Vec<String> = links_on(&reminders).into_iter().map(|(n, _)| n).collect();
    assert_eq!(again, ["Cee Eo", "Sol Soon"]);
    assert_eq!(a.app.client().get(&link("Sol Soon")).await.status, StatusCode::NOT_FOUND, "the earlier link was replaced");

    // Links expire.
    let fresh = links_on(&reminders).into_iter().find(|(n, _)| n == "Sol Soon").unwrap().1;
    let cee = links_on(&reminders).into_iter().find(|(n, _)| n == "Cee Eo").unwrap().1;
    a.app.clock.advance(Duration::days(31));
    let expired = a.app.client().post(&fresh, &[("completed_on", "2026-12-03")]).await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(expired.body.contains("expired"));
    assert_eq!(records(&a.app, a.org).await, 3, "nothing recorded through a dead link");
    a.app.clock.advance(Duration::days(-31));
    // A retired module asks nobody any more, and its links are no longer needed.
    let retire = a.lead.post(&format!("/training/modules/{module}/retire"), &[]).await;
    assert_eq!(retire.status, StatusCode::SEE_OTHER);
    assert_eq!(a.lead.post(&format!("/training/modules/{module}/campaigns"), &[]).await.status, StatusCode::CONFLICT);
    assert_eq!(a.lead.post(&format!("/training/campaigns/{campaign}/reminders"), &[]).await.status, StatusCode::CONFLICT);
    assert_eq!(a.app.client().post(&cee, &[("completed_on", "2026-11-02")]).await.status, StatusCode::GONE);
    assert_eq!(records(&a.app, a.org).await, 3);
    let _ = (ceo, soon);
}

#[sqlx::test]
async fn another_organisations_training_campaign_is_not_found(db: PgPool) {
    let mut a = acme(db).await;
    let other_owner = a.app.user("owner@other.example", "Other").await;
    let other = a.app.org("Other Org", other_owner).await;
    let module = a.app.module(other, "Their awareness").await;
    let someone = a.app.person(other, "Them", "them@other.example", false).await;
    let (campaign, token) = a.app.training_campaign(other, module, someone).await;
    assert_eq!(a.lead.get(&format!("/training/campaigns/{campaign}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(a.lead.post(&format!("/training/campaigns/{campaign}/reminders"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(a.lead.post(&format!("/training/modules/{module}/campaigns"), &[]).await.status, StatusCode::NOT_FOUND);
    // Their link names their organisation only.
    let page = a.app.client().get(&format!("/training-link/{token}")).await;
    assert!(page.body.contains("Other Org") && !page.body.contains("Acme"));
    assert_eq!(a.app.client().get("/training-link/made-up").await.status, StatusCode::NOT_FOUND);
}

/// A module's page lists a page of 50 people at a time (the figures count
/// them all), and at most 50 of its leaders; the CSV lists everyone.
#[sqlx::test]
async fn a_module_page_shows_a_page_of_people_at_a_time(db: PgPool) {
    let mut a = acme(db).await;
    for n in 0..60 {
        a.app.person(a.org, &format!("Staff {n:02}"), &format!("staff{n}@acme.example"), false).await;
    }
    for n in 0..52 {
        a.app.person(a.org, &format!("Manager {n:02}"), &format!("manager{n}@acme.example"), false).await;
    }
    sqlx::query("UPDATE people SET line_manager = true WHERE org_id = $1 AND name LIKE 'Manager %'").bind(a.org).execute(a.app.db()).await.unwrap();
    let res = a.lead.post("/training/modules", &[("title", "Security awareness"), ("kind", "awareness"), ("validity_months", "12"), ("audience", "all_staff")]).await;
    let module = res.location().to_string();
    let page = a.lead.get(&module).await;
    assert_eq!(page.texts(".cards .card h2").concat(), "00112", "none current, none due soon, all 112 overdue");
    assert_eq!(page.texts("#leaders-h + table tbody tr").len(), 50);
    assert!(page.texts("#leaders-h ~ p").concat().contains("and 2 more"), "{}", page.body);
    let staff = page.texts("#staff-h + table tbody tr");
    assert_eq!(staff.len(), 50);
    assert!(staff[0].contains("Staff 00") && staff[49].contains("Staff 49"));
    assert!(page.texts(".pager").concat().contains("Page 1 of 2 (rows 1–50 of 60)"), "{}", page.texts(".pager").concat());
    let next = page.attr(".pager a[rel=next]", "href").expect("a second page");
    assert!(next.ends_with("#staff-h"), "the next page opens at its list: {next}");
    let second = a.lead.get(next.trim_end_matches("#staff-h")).await;
    assert!(second.texts(".pager").concat().contains("Page 2 of 2 (rows 51–60 of 60)"), "{}", second.texts(".pager").concat());
    let staff = second.texts("#staff-h + table tbody tr");
    assert_eq!(staff.len(), 10);
    assert!(staff[0].contains("Staff 50") && !second.has(".pager a[rel=next]"));
    let csv = a.lead.get(&format!("{module}/csv")).await;
    assert_eq!(csv.body.lines().count(), 113, "the CSV lists everyone");
}
