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
