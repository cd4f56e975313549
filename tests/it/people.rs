//! The people directory: forms, leavers, and the CSV import's promises
//! (line-numbered errors that change nothing, idempotent re-imports,
//! updates by e-mail, thousands of rows at once).
use mandate::ids::OrgId;
use crate::support::{Client, TestApp};
use axum::http::StatusCode;
use mandate::auth::policy::Role;
use mandate::people::model::Kind;
use sqlx::PgPool;
use uuid::Uuid;

async fn lead(app: &TestApp) -> (OrgId, Client) {
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let lead = app.user("lead@acme.example", "Lead").await;
    app.member(org, lead, Role::IsmsLead).await;
    (org, app.signed_in(lead, Some(org)).await)
}

async fn count(app: &TestApp, org: OrgId) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM people WHERE org_id = $1").bind(org).fetch_one(app.db()).await.unwrap()
}

/// Uploads a CSV and returns the preview page's address.
async fn upload(c: &mut Client, csv: &str) -> String {
    let res = c.upload("/people/import", "file", "staff.csv", "text/csv", csv.as_bytes()).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    res.location().to_string()
}

#[sqlx::test]
async fn add_edit_and_field_errors(db: PgPool) {
    let app = TestApp::new(db).await;
    let (org, mut c) = lead(&app).await;
    let bad = c.post("/people", &[("name", "Ada"), ("email", "not-an-email"), ("kind", "employee"), ("start_date", "2026-05-01"), ("end_date", "2026-01-01")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has("#f-email-error"));
    assert!(bad.body.contains("value=\"Ada\""), "input kept");
    let bad_dates = c.post("/people", &[("name", "Ada"), ("email", "ada@acme.example"), ("kind", "employee"), ("start_date", "2026-05-01"), ("end_date", "2026-01-01")]).await;
    assert!(bad_dates.texts("#f-end_date-error").concat().contains("before the start date"));
    assert_eq!(count(&app, org).await, 0, "nothing saved on bad input");

    let ok = c.post("/people", &[("name", "Ada Lovelace"), ("email", "Ada@Acme.example"), ("kind", "employee"), ("top_management", "on")]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = c.get(ok.location()).await;
    assert_eq!(page.texts("main h1"), vec!["Ada Lovelace"]);
    let dup = c.post("/people", &[("name", "Other Ada"), ("email", "ada@acme.example"), ("kind", "employee")]).await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.texts("#f-email-error").concat().contains("already has"));

    let edit = c.post(ok.location(), &[("name", "Ada Lovelace"), ("email", "ada@acme.example"), ("kind", "contractor"), ("department", "Board"), ("top_management", "on")]).await;
    assert_eq!(edit.status, StatusCode::SEE_OTHER);
    let page = c.get(ok.location()).await;
    let history = page.texts(".activity li").join("\n");
    assert!(history.contains("(updated a person) by Lead on 2 November 2026") && history.contains("Department changed from nothing to \u{201c}Board\u{201d}"), "{history}");
    assert!(history.contains("Kind changed from employee to contractor"), "{history}");
}

#[sqlx::test]
async fn nobody_manages_themselves_or_someone_of_another_tenant(db: PgPool) {
    let app = TestApp::new(db).await;
    let (org, mut c) = lead(&app).await;
    let boss = app.person(org, "Boss", "boss@acme.example", true).await;
    let worker = app.person(org, "Worker", "worker@acme.example", false).await;
    let set_manager = |of: Uuid, manager: Uuid, name: &'static str, email: &'static str| {
        (format!("/people/{of}"), vec![("name", name.to_string()), ("email", email.to_string()), ("kind", "employee".to_string()), ("manager_id", manager.to_string())])
    };
    let (url, form) = set_manager(worker, boss, "Worker", "worker@acme.example");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(c.post(&url, &fields).await.status, StatusCode::SEE_OTHER);
    let (url, form) = set_manager(boss, worker, "Boss", "boss@acme.example");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let loop_ = c.post(&url, &fields).await;
    assert_eq!(loop_.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(loop_.texts("#f-manager_id-error").concat().contains("cannot manage themselves"));

    let other_owner = app.user("owner@other.example", "Other").await;
    let other = app.org("Other", other_owner).await;
    let stranger = app.person(other, "Stranger", "stranger@other.example", false).await;
    let (url, form) = set_manager(worker, stranger, "Worker", "worker@acme.example");
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = c.post(&url, &fields).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let manager: Option<Uuid> = sqlx::query_scalar("SELECT manager_id FROM people WHERE id = $1").bind(worker).fetch_one(app.db()).await.unwrap();
    assert_eq!(manager, Some(boss), "unchanged");
}

#[sqlx::test]
async fn leavers_are_kept_and_filtered(db: PgPool) {
    let app = TestApp::new(db).await;
    let (org, mut c) = lead(&app).await;
    let p = app.person(org, "Leaving Soon", "leaving@acme.example", false).await;
    let res = c.post(&format!("/people/{p}/leaver"), &[("end_date", "2026-10-31")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let current = c.get("/people").await;
    assert!(current.texts(".flash").concat().contains("leaving on 2026-10-31"));
    assert!(!current.texts("main table").concat().contains("Leaving Soon"));
    assert!(current.texts(".empty").concat().contains("Nobody current"));
    let leavers = c.get("/people?status=leavers").await;
    assert_eq!(leavers.texts("main table tbody tr td:first-child a"), vec!["Leaving Soon"]);
    assert_eq!(count(&app, org).await, 1, "never deleted");
}

#[sqlx::test]
async fn a_bad_file_names_every_line_and_changes_nothing(db: PgPool) {
    let app = TestApp::new(db).await;
    let (org, mut c) = lead(&app).await;
    app.person(org, "Existing", "existing@acme.example", false).await;
    let csv = "name,email,manager_email,start_date\n\
               Good One,good@acme.example,existing@acme.example,2024-01-01\n\
               Bad Mail,bad-mail,,\n\
               Lost,lost@acme.example,ghost@acme.example,\n\
               Again,GOOD@acme.example,,\n\
               Date,date@acme.example,,31/01/2024\n";
    let preview = upload(&mut c, csv).await;
    let page = c.get(&preview).await;
    assert_eq!(page.status, StatusCode::OK);
    let lines = page.texts(".error-summary tbody tr td:first-child");
    assert_eq!(lines, vec!["3", "4", "5", "6"], "{}", page.body);
    let text = page.texts(".error-summary tbody tr").join("\n");
    assert!(text.contains("Unknown manager ghost@acme.example"), "{text}");
    assert!(text.contains("Duplicate: good@acme.example is already on line 2"), "{text}");
    assert!(text.contains("2026-03-31") || text.contains("year-month-day"), "{text}");
    assert!(!page.has("form[action$='/apply']"), "no apply button");
    let apply = c.post(&format!("{preview}/apply"), &[]).await;
    assert_eq!(apply.status, StatusCode::CONFLICT);
    assert_eq!(count(&app, org).await, 1);
}

#[sqlx::test]
async fn import_applies_once_matches_by_email_and_reimports_change_nothing(db: PgPool) {
    let app = TestApp::new(db).await;
    let (org, mut c) = lead(&app).await;
    let csv = "name,email,job_title,department,manager_email,kind,top_management,security_clause\n\
               Ceo Person,ceo@acme.example,CEO,Board,,employee,yes,yes\n\
               Dev Person,dev@acme.example,Developer,Engineering,ceo@acme.example,contractor,no,no\n";
    let preview = upload(&mut c, csv).await;
    let page = c.get(&preview).await;
    assert!(page.body.contains("Apply: add 2, update 0"), "{}", page.body);
    let audit_before: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE org_id = $1").bind(org).fetch_one(app.db()).await.unwrap();
    let applied = c.post(&format!("{preview}/apply"), &[]).await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER);
    assert!(c.get("/people").await.body.contains("Import applied: 2 added"));
    let (manager, kind): (Option<Uuid>, String) =
        sqlx::query_as("SELECT manager_id, kind FROM people WHERE org_id = $1 AND email = 'dev@acme.example'").bind(org).fetch_one(app.db()).await.unwrap();
    let ceo: Uuid = sqlx::query_scalar("SELECT id FROM people WHERE org_id = $1 AND email = 'ceo@acme.example'").bind(org).fetch_one(app.db()).await.unwrap();
    assert_eq!((manager, kind.as_str()), (Some(ceo), "contractor"));
    let audit_after: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE org_id = $1").bind(org).fetch_one(app.db()).await.unwrap();
    assert_eq!(audit_after - audit_before, 3, "one row per person and one for the import");
    assert_eq!(c.post(&format!("{preview}/apply"), &[]).await.status, StatusCode::CONFLICT, "applied once");

    // The same file again: nothing to do.
    let snapshot: Vec<(Uuid, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT id, updated_at FROM people WHERE org_id = $1 ORDER BY id").bind(org).fetch_all(app.db()).await.unwrap();
    app.clock.advance(chrono::Duration::minutes(5));
    let again = upload(&mut c, csv).await;
    let page = c.get(&again).await;
    assert!(page.body.contains("already matches"), "{}", page.body);
    c.post(&format!("{again}/apply"), &[]).await;
    let after: Vec<(Uuid, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT id, updated_at FROM people WHERE org_id = $1 ORDER BY id").bind(org).fetch_all(app.db()).await.unwrap();
    assert_eq!(snapshot, after);

    // A newer file with fewer columns updates what it names and leaves the rest.
    let newer = upload(&mut c, "email,name,department\ndev@acme.example,Dev Person,Platform\n").await;
    assert!(c.get(&newer).await.body.contains("Apply: add 0, update 1"));
    c.post(&format!("{newer}/apply"), &[]).await;
    let (department, manager): (String, Option<Uuid>) =
        sqlx::query_as("SELECT department, manager_id FROM people WHERE org_id = $1 AND email = 'dev@acme.example'").bind(org).fetch_one(app.db()).await.unwrap();
    assert_eq!((department.as_str(), manager), ("Platform", Some(ceo)));
    assert_eq!(count(&app, org).await, 2);
}

#[sqlx::test]
async fn the_export_reimports_as_unchanged(db: PgPool) {
    let app = TestApp::new(db).await;
    let (org, mut c) = lead(&app).await;
    let boss = app.person(org, "Boss, The", "boss@acme.example", true).await;
    let w = app.person(org, "=Worker", "worker@acme.example", false).await;
    sqlx::query("UPDATE people SET manager_id = $1 WHERE id = $2").bind(boss).bind(w).execute(app.db()).await.unwrap();
    let export = c.get("/people.csv").await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(export.header("content-disposition").starts_with("attachment"));
    assert!(export.body.contains("\"Boss, The\""));
    assert!(export.body.contains("'=Worker"), "formulas are defused");
    let csv = export.body.clone();
    let preview = upload(&mut c, &csv).await;
    let page = c.get(&preview).await;
    assert!(page.body.contains("already matches"), "{}", page.body);
}

#[sqlx::test]
async fn five_thousand_people_in_one_file(db: PgPool) {
    let app = TestApp::new(db).await;
    let (org, mut c) = lead(&app).await;
    let mut csv = String::from("name,email,department,manager_email,start_date,security_clause\n");
    for i in 0..5000 {
        let manager = if i == 0 { String::new() } else { format!("person{}@acme.example", (i - 1) / 10) };
        csv.push_str(&format!("Person {i},person{i}@acme.example,Dept {},{manager},2024-01-01,yes\n", i % 20));
    }
    let preview = upload(&mut c, &csv).await;
    assert!(c.get(&preview).await.body.contains("Apply: add 5000, update 0"));
    let res = c.post(&format!("{preview}/apply"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(count(&app, org).await, 5000);
    let managed: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE org_id = $1 AND manager_id IS NOT NULL").bind(org).fetch_one(app.db()).await.unwrap();
    assert_eq!(managed, 4999);
    assert_eq!(mandate::audit::verify(app.db()).await.unwrap().first_problem, None);
    let list = c.get("/people").await;
    assert_eq!(list.texts("main table tbody tr").len(), 50, "paged");
    assert!(list.texts("main p").concat().contains("more than 1,000 people"), "not counted past a thousand");
    assert!(list.texts(".pager").concat().contains("Page 1 (rows 1–50 of more than 1,000)"), "{}", list.body);
    // Pages follow by key: the third page goes on from the second's last row.
    let next = |page: &crate::support::Resp| page.attr(".pager a[rel=next]", "href").expect("a next page");
    let page2 = c.get(&next(&list)).await;
    let page3 = c.get(&next(&page2)).await;
    let names = |page: &crate::support::Resp| page.texts("main table tbody tr td:first-child");
    assert!(names(&page3).first().is_some_and(|r| r.starts_with("Person 1")), "ordered by name: {:?}", names(&page3).first());
    assert!(names(&page2).last() < names(&page3).first(), "{:?} then {:?}", names(&page2).last(), names(&page3).first());
    assert!(page3.texts(".pager").concat().contains("Page 3 (rows 101–150 of more than 1,000)"), "{}", page3.texts(".pager").concat());
    assert!(page3.has(".pager a[rel=first]") && page3.has(".pager a[rel=next]"));
    // Nobody is shown twice or skipped across the pages of a filtered list.
    let mut page = c.get("/people?department=Dept+3").await;
    assert!(page.texts(".pager").concat().contains("Page 1 of 5 (rows 1–50 of 250)"), "a filter's rows are counted: {}", page.texts(".pager").concat());
    let mut seen = names(&page);
    while page.has(".pager a[rel=next]") {
        page = c.get(&next(&page)).await;
        seen.extend(names(&page));
    }
    assert!(page.texts(".pager").concat().contains("Page 5 of 5 (rows 201–250 of 250)"), "{}", page.texts(".pager").concat());
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (250, 250));
    // A cursor past the end shows no rows and leads back to the first page;
    // one that is not a cursor shows the first page.
    let past = c.get("/people?after=WyJ6enoiLCJ6enoiLCIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiXQ&at=4950").await;
    assert_eq!(past.texts("main table tbody tr").len(), 0);
    assert!(past.has(".pager a[rel=first]"), "a page past the end still leads back");
    let garbled = c.get("/people?after=garbled&at=700").await;
    assert_eq!(names(&garbled), names(&list));
}

#[sqlx::test]
async fn uploads_are_limited_and_checked(db: PgPool) {
    let app = TestApp::new(db).await;
    let (org, mut c) = lead(&app).await;
    let big = vec![b'a'; 11 * 1024 * 1024];
    let res = c.upload("/people/import", "file", "big.csv", "text/csv", &big).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    let binary = c.upload("/people/import", "file", "sheet.xlsx", "application/octet-stream", b"PK\x03\x04\x00\x00binary").await;
    let page = c.get(binary.location()).await;
    assert!(page.body.contains("not a CSV file"), "{}", page.body);
    let empty = c.upload("/people/import", "file", "empty.csv", "text/csv", b"").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("Choose a CSV file"));
    // Without the token in the action URL, an upload is refused.
    let url_without_token = "/people/import";
    let res = c
        .send(axum::http::Method::POST, url_without_token, Some("multipart/form-data; boundary=x"), b"--x--\r\n".to_vec())
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&app, org).await, 0);
}

/// A file over the byte or line limit is refused whole with a message that
/// names the limit: no import is stored, nothing is checked or recorded.
#[sqlx::test]
async fn files_over_the_limits_are_refused_whole(db: PgPool) {
    let app = TestApp::new(db).await;
    let (org, mut c) = lead(&app).await;
    let stored = || async {
        let imports: i64 = sqlx::query_scalar("SELECT count(*) FROM imports WHERE org_id = $1 AND kind = 'people'").bind(org).fetch_one(app.db()).await.unwrap();
        let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE org_id = $1 AND action LIKE 'people.import%'")
            .bind(org)
            .fetch_one(app.db())
            .await
            .unwrap();
        (imports, audited)
    };
    let file = |rows: usize, title: usize| {
        let mut csv = String::from("name,email,job_title\n");
        for i in 0..rows {
            csv.push_str(&format!("Person {i},person{i}@acme.example,{}\n", "t".repeat(title)));
        }
        csv
    };
    // Just over 4 MiB (the form around it fits the request limit), and far over.
    let over = file(8_500, 460);
    assert!(over.len() > 4 * 1024 * 1024 && over.len() < 4 * 1024 * 1024 + 60_000, "{}", over.len());
    for (what, csv) in [("just over", over), ("far over", file(20_000, 460))] {
        let res = c.upload("/people/import", "file", "big.csv", "text/csv", csv.as_bytes()).await;
        assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{what}");
        assert!(res.body.contains("larger than 4 MiB, the most one import takes") && res.body.contains("nothing was imported"), "{what}: {}", res.body);
    }
    let res = c.upload("/people/import", "file", "long.csv", "text/csv", file(10_001, 0).as_bytes()).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.body.contains("more than 10,000 lines, the most one import takes"), "{}", res.body);
    assert_eq!(stored().await, (0, 0), "nothing stored");
    assert_eq!(count(&app, org).await, 0);
    // The page says what the limits are, and a file at the line limit is taken.
    assert!(c.get("/people/import").await.body.contains("Up to 4 MiB and 10,000 lines"));
    let preview = upload(&mut c, &file(10_000, 0)).await;
    assert!(c.get(&preview).await.body.contains("Apply: add 10000, update 0"));
    assert_eq!(stored().await, (1, 1));
}

#[sqlx::test]
async fn people_are_linked_to_their_accounts_only_by_the_account_holder(db: PgPool) {
    let app = TestApp::new(db).await;
    let (org, mut c) = lead(&app).await;
    let preview = upload(&mut c, "name,email\nLead Person,LEAD@acme.example\nCeo,ceo@acme.example\n").await;
    c.post(&format!("{preview}/apply"), &[]).await;
    let linked = || async {
        sqlx::query_scalar::<_, Option<Uuid>>("SELECT user_id FROM people WHERE org_id = $1 AND email = 'lead@acme.example'").bind(org).fetch_one(app.db()).await.unwrap()
    };
    assert_eq!(linked().await, None, "an import links nobody");
    // The lead confirms on their home page that the entry with their address is them.
    let home = c.get("/dashboard").await;
    let claim = home.html().select(&scraper::Selector::parse("form[action$='/this-is-me']").unwrap()).next().unwrap().attr("action").unwrap().to_string();
    assert_eq!(c.post(&claim, &[]).await.status, StatusCode::SEE_OTHER);
    let lead_user: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'lead@acme.example'").fetch_one(app.db()).await.unwrap();
    assert_eq!(linked().await, Some(lead_user));
    assert!(!c.get("/dashboard").await.has("#claim-h"), "nothing left to claim");

    // The CEO joins later through an invitation and is linked on arrival.
    let owner: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'owner@acme.example'").fetch_one(app.db()).await.unwrap();
    let (_, token) = app.invitation(org, owner, "ceo@acme.example", Role::Executive).await;
    let mut ceo = app.client();
    let joined = ceo.post(&format!("/invite/{token}"), &[("name", "Ceo"), ("password", crate::support::PASSWORD), ("confirm", crate::support::PASSWORD)]).await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    let linked: bool = sqlx::query_scalar("SELECT user_id IS NOT NULL FROM people WHERE org_id = $1 AND email = 'ceo@acme.example'").bind(org).fetch_one(app.db()).await.unwrap();
    assert!(linked);
}

#[sqlx::test]
async fn clashes_with_the_directory_are_named_before_anything_changes(db: PgPool) {
    let app = TestApp::new(db).await;
    let (org, mut c) = lead(&app).await;
    let boss = app.person(org, "Boss", "boss@acme.example", true).await;
    let worker = app.person(org, "Worker", "worker@acme.example", false).await;
    sqlx::query("UPDATE people SET manager_id = $1 WHERE id = $2").bind(boss).bind(worker).execute(app.db()).await.unwrap();
    sqlx::query("UPDATE people SET end_date = '2026-01-31' WHERE id = $1").bind(worker).execute(app.db()).await.unwrap();
    // The boss would report to the worker, who reports to the boss; the worker would start after leaving.
    let preview = upload(&mut c, "name,email,manager_email\nBoss,boss@acme.example,worker@acme.example\n").await;
    let page = c.get(&preview).await;
    assert!(page.texts(".error-summary").concat().contains("form a loop"), "{}", page.body);
    assert_eq!(c.post(&format!("{preview}/apply"), &[]).await.status, StatusCode::CONFLICT);
    let dates = upload(&mut c, "name,email,start_date\nWorker,worker@acme.example,2026-05-01\n").await;
    let page = c.get(&dates).await;
    assert!(page.texts(".error-summary").concat().contains("before the start date"), "{}", page.body);
    assert_eq!(c.post(&format!("{dates}/apply"), &[]).await.status, StatusCode::CONFLICT);
    let boss_manager: Option<Uuid> = sqlx::query_scalar("SELECT manager_id FROM people WHERE id = $1").bind(boss).fetch_one(app.db()).await.unwrap();
    assert_eq!(boss_manager, None, "nothing changed");
}

/// Who a policy or module is for is stated once in SQL (`in_audience`) and
/// once in Rust (`Audience::includes`): both give the same answer for every
/// kind of audience and every kind of person, and no query writes the rule
/// out again.
#[sqlx::test]
async fn the_audience_rule_is_one_rule_in_sql_and_in_rust(db: PgPool) {
    use mandate::people::audience::{Audience, AudienceKind};
    let app = TestApp::new(db).await;
    let (org, _) = lead(&app).await;
    let audiences: Vec<Audience> = AudienceKind::ALL
        .iter()
        .map(|k| Audience::of(*k, &["IT".to_string(), "Board".to_string()]))
        .chain([Audience::Departments(Vec::new())])
        .collect();
    let mut checked = 0;
    for (kind, line_manager, department) in
        [Kind::Employee, Kind::Contractor].into_iter().flat_map(|k| [false, true].into_iter().flat_map(move |m| ["IT", "Sales", ""].map(move |d| (k, m, d))))
    {
        let id = app.person(org, "Someone", &format!("p{checked}@acme.example"), false).await;
        sqlx::query("UPDATE people SET kind = $2, line_manager = $3, department = $4 WHERE id = $1")
            .bind(id)
            .bind(kind.as_str())
            .bind(line_manager)
            .bind(department)
            .execute(app.db())
            .await
            .unwrap();
        let person = mandate::people::model::get(app.db(), org, mandate::ids::PersonId(id)).await.unwrap();
        for audience in &audiences {
            let sql: Option<bool> = sqlx::query_scalar("SELECT in_audience($1, $2, p.kind, p.line_manager, p.department) FROM people p WHERE p.id = $3")
                .bind(audience.kind())
                .bind(audience.departments())
                .bind(id)
                .fetch_one(app.db())
                .await
                .unwrap();
            assert_eq!(sql.unwrap_or(false), audience.includes(&person), "{audience:?} for {kind:?}, manager {line_manager}, department {department:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 12 * audiences.len());

    fn sources(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let written_out: Vec<_> = files.iter().filter(|(_, text)| text.contains("WHEN 'all_staff'")).map(|(path, _)| path.display().to_string()).collect();
    assert!(written_out.is_empty(), "queries that write the audience rule out instead of calling in_audience: {written_out:?}");
}

/// Which audience a policy asks is stated once in SQL (`policy_audience`)
/// and once in Rust (`effective_audience`): both agree for every kind,
/// declared audience and reason, the documents published by default included.
#[sqlx::test]
async fn the_policy_audience_rule_is_one_rule_in_sql_and_in_rust(db: PgPool) {
    use mandate::people::audience::{Audience, AudienceKind};
    use mandate::policies::versions::model::{PolicyKind, effective_audience};
    let mut published_without_reason = Vec::new();
    for kind in PolicyKind::ALL {
        for declared in AudienceKind::ALL {
            for reason in ["", "Only the finance team handles card data."] {
                let sql: String = sqlx::query_scalar("SELECT policy_audience($1, $2, $3)").bind(kind.as_str()).bind(declared.as_str()).bind(reason).fetch_one(&db).await.unwrap();
                let rust = effective_audience(*kind, Audience::of(*declared, &["Finance".to_string()]), reason);
                assert_eq!(sql, rust.kind(), "{kind:?}, declared {declared:?}, reason {reason:?}");
                if reason.is_empty() && rust == Audience::Published {
                    published_without_reason.push(*kind);
                }
            }
        }
    }
    assert_eq!(published_without_reason, vec![PolicyKind::ManagementStatement, PolicyKind::DisciplinaryProcess, PolicyKind::TrainingPlan]);
}

/// Who is current staff on a day is stated once in SQL (`is_current_on`) and
/// once in Rust (`people::model::is_current`): both agree on every case, the
/// first and the last working day included, and no query writes it out again.
#[sqlx::test]
async fn the_current_staff_rule_is_one_rule_in_sql_and_in_rust(db: PgPool) {
    use chrono::NaiveDate;
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let day = d("2026-06-15");
    let dates = [None, Some(d("2026-06-14")), Some(day), Some(d("2026-06-16"))];
    for start in dates {
        for end in dates {
            let sql: bool = sqlx::query_scalar("SELECT is_current_on($1, $2, $3)").bind(start).bind(end).bind(day).fetch_one(&db).await.unwrap();
            assert_eq!(sql, mandate::people::model::is_current(start, end, day), "start {start:?}, end {end:?}");
        }
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
                assert!(!text.contains("start_date IS NULL OR p.start_date <="), "{} writes the current-staff rule out instead of calling is_current_on", path.display());
            }
        }
    }
}

/// Adds "New Starter" with the line manager typed as `manager`.
async fn new_person(c: &mut Client, manager: &str) -> crate::support::Resp {
    c.post("/people", &[("name", "New Starter"), ("email", "new@acme.example"), ("kind", "employee"), ("manager_id", manager)]).await
}

/// Person fields never list the directory: a page suggests top management
/// and whoever the record names, the search answers the rest as one types,
/// and what was typed (a name, an e-mail address, a suggestion's label) is
/// found when the form is sent, or kept with a message saying what to type.
#[sqlx::test]
async fn person_fields_find_people_by_name_or_e_mail_and_never_list_everyone(db: PgPool) {
    let app = TestApp::new(db).await;
    let (org, mut c) = lead(&app).await;
    let ceo = app.person(org, "Cee Eo", "ceo@acme.example", true).await;
    let bo = app.person(org, "Bo Worker", "bo@acme.example", false).await;
    let _ann1 = app.person(org, "Ann Lee", "ann1@acme.example", false).await;
    let ann2 = app.person(org, "Ann Lee", "ann2@acme.example", false).await;
    for n in 0..30 {
        app.person(org, &format!("Staff Member {n}"), &format!("staff{n}@acme.example"), false).await;
    }
    let other_owner = app.user("owner@other.example", "Other").await;
    let other = app.org("Other", other_owner).await;
    app.person(other, "Ann Leeds", "ann@other.example", false).await;

    // The search: word starts and e-mail starts, this organisation's only, top management first, capped.
    let found = |body: &str| -> Vec<(String, String)> {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        v.as_array().unwrap().iter().map(|p| (p["label"].as_str().unwrap().to_string(), p["detail"].as_str().unwrap().to_string())).collect()
    };
    let anns = found(&c.get("/people/search?q=lee").await.body);
    assert_eq!(anns.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), vec!["Ann Lee <ann1@acme.example>", "Ann Lee <ann2@acme.example>"], "another tenant's Ann Leeds never shows");
    assert_eq!(found(&c.get("/people/search?q=CEE").await.body), vec![("Cee Eo <ceo@acme.example>".to_string(), "top management".to_string())]);
    assert_eq!(found(&c.get("/people/search?q=bo%40").await.body).len(), 1, "by the start of an e-mail address");
    assert!(found(&c.get("/people/search?q=%25").await.body).is_empty(), "LIKE's wildcards are taken literally");
    assert_eq!(found(&c.get("/people/search?q=staff").await.body).len(), 20, "at most 20 suggestions");

    // A page suggests top management, not everyone.
    let page = c.get("/people/new").await;
    assert!(page.has("datalist option[value='Cee Eo <ceo@acme.example>']"), "{}", page.body);
    assert!(!page.body.contains("Staff Member 7") && !page.body.contains("Bo Worker"), "the page lists only top management");

    // Ambiguous, unknown, or another tenant's: refused, the text kept, saying what to type instead.
    let two = new_person(&mut c, "ann lee").await;
    assert_eq!(two.status, StatusCode::UNPROCESSABLE_ENTITY);
    let msg = two.texts("#f-manager_id-error").concat();
    assert!(msg.contains("2 people are called") && msg.contains("ann1@acme.example") && msg.contains("ann2@acme.example"), "{msg}");
    assert!(two.has("#f-manager_id[value='ann lee']"), "what was typed is kept");
    assert!(two.has("#f-manager_id[aria-invalid=true][aria-describedby~=f-manager_id-error]"), "the field points at its error");
    assert!(!page.has("#f-manager_id[aria-invalid]") && page.has("#f-manager_id[aria-describedby=f-manager_id-how]"), "a field without an error is not marked");
    for typed in ["Nobody Here", "ann@other.example"] {
        let none = new_person(&mut c, typed).await;
        assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
        assert!(none.texts("#f-manager_id-error").concat().contains("Nobody in the directory"), "{typed}");
    }
    assert_eq!(count(&app, org).await, 34, "nothing saved on a person not found");

    // A suggestion's label, an e-mail address or a unique name: found.
    let ok = new_person(&mut c, "Ann Lee <ann2@acme.example>").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let manager = |id: Uuid| {
        let db = app.db().clone();
        async move { sqlx::query_scalar::<_, Option<Uuid>>("SELECT manager_id FROM people WHERE id = $1").bind(id).fetch_one(&db).await.unwrap() }
    };
    let starter: Uuid = ok.location().rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(manager(starter).await, Some(ann2));
    let page = c.get(ok.location()).await;
    assert!(page.has("#f-manager_id[value='Ann Lee <ann2@acme.example>']"), "the record's person is shown by their label");
    for (typed, want) in [("BO@acme.example", bo), ("  bo worker ", bo), ("Cee Eo", ceo)] {
        let res = c.post(ok.location(), &[("name", "New Starter"), ("email", "new@acme.example"), ("kind", "employee"), ("manager_id", typed)]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{typed}: {}", res.body);
        assert_eq!(manager(starter).await, Some(want), "{typed}");
    }

    // Letters beyond A to Z fold alike on both sides, whatever the database's locale.
    let lukasz = app.person(org, "Łukasz Żak", "lukasz@acme.example", false).await;
    assert_eq!(found(&c.get("/people/search?q=%C5%BCak").await.body).len(), 1, "żak finds Żak");
    let res = c.post(ok.location(), &[("name", "New Starter"), ("email", "new@acme.example"), ("kind", "employee"), ("manager_id", "łukasz żak")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(manager(starter).await, Some(lukasz));

    // Register filters offer those who own something there, not the directory.
    let req = mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.1(c)").0;
    let res = c.post(&format!("/requirements/{req}"), &[("applicable", "yes"), ("owner_id", "bo@acme.example"), ("status", "in_progress"), ("notes", "")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let filter = c.get("/requirements").await;
    assert!(filter.has(&format!("#f-owner option[value='{bo}']")) && !filter.has(&format!("#f-owner option[value='{ann2}']")), "{}", filter.body);
    assert!(!c.get("/evidence").await.has(&format!("#f-owner option[value='{bo}']")), "Bo owns no evidence");

    // A meeting's others present, one a line, join the attendees; a line not found keeps them all typed.
    let meeting = [("kind", "management_review"), ("title", "Review"), ("held_on", "2026-10-01"), ("chair_id", "Cee Eo")];
    let bad = c.post("/meetings", &[&meeting[..], &[("attendees_more", "bo@acme.example\nNo Such Person")]].concat()).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.texts("#f-attendees_more-error").concat().contains("No Such Person"));
    assert!(bad.body.contains("bo@acme.example\nNo Such Person"), "the lines are kept as typed");
    let good = c.post("/meetings", &[&meeting[..], &[("attendees_more", "bo@acme.example\n\nAnn Lee <ann2@acme.example>")]].concat()).await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
    let (chair, attendees): (Option<Uuid>, Vec<Uuid>) =
        sqlx::query_as("SELECT chair_id, attendee_ids FROM meetings WHERE org_id = $1").bind(org).fetch_one(app.db()).await.unwrap();
    assert_eq!(chair, Some(ceo));
    let mut want = vec![bo, ann2];
    want.sort();
    let mut got = attendees;
    got.sort();
    assert_eq!(got, want);
}
