//! Auditors: access windows (before, during, after), read-only access,
//! evidence requests and their answers.
use crate::support::{PASSWORD, TestApp};
use axum::http::StatusCode;
use chrono::Duration;
use sqlx::PgPool;
use uuid::Uuid;

fn link_in(body: &str) -> String {
    let start = body.find("http://localhost:8080/invite/").expect("invitation link shown");
    let rest = &body[start + "http://localhost:8080".len()..];
    rest.split(|c: char| c.is_whitespace() || c == '<').next().unwrap().to_string()
}

#[sqlx::test]
async fn an_auditor_has_access_only_inside_the_window(db: PgPool) {
    let app = TestApp::new(db).await; // the clock reads 2026-11-02 09:00 UTC
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let mut o = app.signed_in(owner, Some(org)).await;

    // Bad windows are refused with the field to fix, and nothing is created.
    let res = o.post("/members/invite", &[("email", "ann@cb.example"), ("role", "auditor"), ("access_from", "2026-11-20"), ("access_until", "2026-11-10")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("must end on or after"), "{}", res.body);
    let res = o.post("/members/invite", &[("email", "carl@acme.example"), ("role", "contributor"), ("access_until", "2026-11-30")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("An access window is for auditors"));
    let res = o.post("/members/invite", &[("email", "ann@cb.example"), ("role", "auditor"), ("access_until", "2026-11-01")]).await;
    assert!(res.body.contains("already ended"));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM invitations").fetch_one(app.db()).await.unwrap();
    assert_eq!(n, 0);

    let res = o.post("/members/invite", &[("email", "ann@cb.example"), ("role", "auditor"), ("access_from", "2026-11-10"), ("access_until", "2026-11-20")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let members = o.get("/members").await;
    let link = link_in(&members.body);
    assert!(members.body.contains("10 Nov 2026 to 20 Nov 2026"), "the pending invitation shows its window");

    // She accepts before the window opens: the account exists, the organisation is closed to her.
    let mut a = app.client();
    assert!(a.get(&link).await.body.contains("Your access is limited to 10 Nov 2026 to 20 Nov 2026"));
    let res = a.post(&link, &[("name", "Ann Auditor"), ("password", PASSWORD), ("confirm", PASSWORD)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let ann: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'ann@cb.example'").fetch_one(app.db()).await.unwrap();
    let window: (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) =
        sqlx::query_as("SELECT access_from, access_until FROM memberships WHERE user_id = $1").bind(ann).fetch_one(app.db()).await.unwrap();
    assert_eq!(window, (Some("2026-11-10".parse().unwrap()), Some("2026-11-20".parse().unwrap())));

    let mut a = app.signed_in(ann, Some(org)).await;
    let res = a.get("/requirements").await;
    assert_eq!((res.status, res.location()), (StatusCode::SEE_OTHER, "/orgs"), "before the window");
    let orgs = a.get("/orgs").await;
    assert!(orgs.body.contains("Acme: your auditor access opens on 10 Nov 2026"), "{}", orgs.body);
    assert_eq!(a.post("/orgs/switch", &[("org_id", &org.to_string())]).await.status, StatusCode::NOT_FOUND);
    // Signing in with the password lands on the organisation list, not inside.
    let mut form = app.client();
    let res = form.post("/login", &[("email", "ann@cb.example"), ("password", PASSWORD)]).await;
    assert_eq!((res.status, res.location()), (StatusCode::SEE_OTHER, "/orgs"));

    // During the window (first day included): read-only access.
    app.clock.advance(Duration::days(8)); // 2026-11-10 09:00
    let mut a = app.signed_in(ann, Some(org)).await;
    for page in ["/requirements", "/evidence", "/policies", "/roles", "/raci", "/meetings", "/decisions", "/communications", "/objectives", "/gaps"] {
        assert_eq!(a.get(page).await.status, StatusCode::OK, "{page} during the window");
    }
    let req = mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.1(a)");
    let res = a.post(&format!("/requirements/{req}"), &[("applicable", "yes"), ("status", "implemented")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // The last day is included too.
    app.clock.advance(Duration::days(10) + Duration::hours(14) + Duration::minutes(50)); // 2026-11-20 23:50
    let mut a = app.signed_in(ann, Some(org)).await;
    assert_eq!(a.get("/requirements").await.status, StatusCode::OK, "on the last day");

    // After the window: closed again, with the reason.
    app.clock.advance(Duration::minutes(20)); // 2026-11-21 00:10
    let res = a.get("/requirements").await;
    assert_eq!((res.status, res.location()), (StatusCode::SEE_OTHER, "/orgs"), "a session open at midnight loses access too");
    let orgs = a.get("/orgs").await;
    assert!(orgs.body.contains("your auditor access ended on 20 Nov 2026"));

    // The ISMS side extends the window; the change is logged and access returns.
    let membership: Uuid = sqlx::query_scalar("SELECT id FROM memberships WHERE user_id = $1").bind(ann).fetch_one(app.db()).await.unwrap();
    let mut o = app.signed_in(owner, Some(org)).await;
    let res = o.post(&format!("/members/{membership}/window"), &[("access_from", "2026-11-10"), ("access_until", "2026-11-27")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(o.get("/members").await.body.contains("10 Nov 2026 to 27 Nov 2026"));
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'membership.window_set' AND org_id = $1").bind(org).fetch_one(app.db()).await.unwrap();
    assert_eq!(logged, 1);
    assert_eq!(a.get("/requirements").await.status, StatusCode::OK);
    // A window cannot be put on a member who is not an auditor.
    let owner_membership: Uuid = sqlx::query_scalar("SELECT id FROM memberships WHERE user_id = $1").bind(owner).fetch_one(app.db()).await.unwrap();
    let res = o.post(&format!("/members/{owner_membership}/window"), &[("access_until", "2026-12-31")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
}

#[sqlx::test]
async fn an_auditor_asks_for_evidence_and_both_sides_follow_the_request(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let lead = app.user("lead@acme.example", "Lena Lead").await;
    app.member(org, lead, mandate::auth::policy::Role::IsmsLead).await;
    let auditor = app.user("ann@cb.example", "Ann Auditor").await;
    app.member(org, auditor, mandate::auth::policy::Role::Auditor).await;
    let req = mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.1(a)");
    let (minutes, _) = app.evidence(org, "Q3 review minutes", "minutes.pdf", b"%PDF-1.4\nminutes\n%%EOF\n").await;
    let mut tx = app.db().begin().await.unwrap();
    mandate::evidence::model::link(&mut tx, &mandate::audit::Actor::system(Some(org), "test"), app.state.clock.now(), org, mandate::ids::EvidenceId(minutes),
        mandate::evidence::model::Target { kind: mandate::evidence::model::TargetKind::Requirement, id: req.0 }).await.unwrap();
    tx.commit().await.unwrap();

    // The auditor asks from the requirement's page.
    let mut a = app.signed_in(auditor, Some(org)).await;
    let page = a.get(&format!("/requirements/{req}")).await;
    assert!(page.body.contains("Ask for evidence"));
    let empty = a.post("/evidence-requests", &[("requirement_id", &req.to_string()), ("question", "  ")]).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let res = a.post("/evidence-requests", &[("requirement_id", &req.to_string()), ("question", "Show me the Q3 review minutes")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let id: Uuid = res.location().trim_start_matches("/evidence-requests/").parse().unwrap();
    assert!(a.get(&format!("/evidence-requests/{id}")).await.body.contains("Waiting for an answer"));
    // The auditor cannot answer their own request nor link evidence to it.
    assert_eq!(a.post(&format!("/evidence-requests/{id}/answer"), &[("answer", "self-service")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(a.post(&format!("/evidence-requests/{id}/link"), &[("item_id", &minutes.to_string())]).await.status, StatusCode::FORBIDDEN);

    // The ISMS lead sees it waiting, links the minutes already on 5.1(a) and answers.
    let mut l = app.signed_in(lead, Some(org)).await;
    let list = l.get("/evidence-requests?status=open").await;
    assert!(list.body.contains("Show me the Q3 review minutes"));
    let page = l.get(&format!("/evidence-requests/{id}")).await;
    assert!(page.body.contains("Q3 review minutes"), "the requirement's evidence is offered for linking");
    assert!(page.body.contains(&format!("/evidence/new?link=evidence_request:{id}")));
    let nothing = l.post(&format!("/evidence-requests/{id}/answer"), &[("answer", "")]).await;
    assert_eq!(nothing.status, StatusCode::BAD_REQUEST, "an empty answer with no evidence is refused");
    assert_eq!(l.post(&format!("/evidence-requests/{id}/link"), &[("item_id", &minutes.to_string())]).await.status, StatusCode::SEE_OTHER);
    let res = l.post(&format!("/evidence-requests/{id}/answer"), &[("answer", "Signed off by the CEO on 3 October.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    // The auditor sees the answer and the evidence, and closes the request.
    let page = a.get(&format!("/evidence-requests/{id}")).await;
    assert!(page.body.contains("Answered, waiting for the auditor"));
    assert!(page.body.contains("Signed off by the CEO on 3 October."));
    assert!(page.body.contains(&format!("/evidence/{minutes}")));
    // Closing is the asker's verdict, not the answerer's; and only those who answer link evidence to a request.
    assert_eq!(l.post(&format!("/evidence-requests/{id}/close"), &[]).await.status, StatusCode::FORBIDDEN);
    let contributor = app.user("carl@acme.example", "Carl Contributor").await;
    app.member(org, contributor, mandate::auth::policy::Role::Contributor).await;
    let mut k = app.signed_in(contributor, Some(org)).await;
    let (own, _) = app.evidence(org, "Carl's note", "note.pdf", b"%PDF-1.4\nnote\n%%EOF\n").await;
    sqlx::query("UPDATE evidence_items SET created_by = $2 WHERE id = $1").bind(own).bind(contributor).execute(app.db()).await.unwrap();
    let res = k.post(&format!("/evidence/{own}/links"), &[("target", &format!("evidence_request:{id}"))]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "a contributor cannot answer for the ISMS lead");
    let res = k.post(&format!("/evidence/{own}/links"), &[("target", &format!("requirement:{req}"))]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "though they link their own item to a requirement");
    assert_eq!(a.post(&format!("/evidence-requests/{id}/close"), &[]).await.status, StatusCode::SEE_OTHER);
    assert!(l.get(&format!("/evidence-requests/{id}")).await.body.contains("Closed"));
    let late = l.post(&format!("/evidence-requests/{id}/answer"), &[("answer", "More")]).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "a closed request takes no more answers");
    assert_eq!(a.post(&format!("/evidence-requests/{id}/reopen"), &[]).await.status, StatusCode::SEE_OTHER);
    assert!(l.get("/evidence-requests?status=open").await.body.contains("Show me the Q3 review minutes"));

    let csv = l.get("/evidence-requests.csv").await;
    assert!(csv.body.starts_with("requirement,question,status,asked_by"));
    assert!(csv.body.contains("5.1(a),Show me the Q3 review minutes,open,Ann Auditor"));
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE org_id = $1 AND entity = 'evidence_request' ORDER BY seq")
        .bind(org).fetch_all(app.db()).await.unwrap();
    assert_eq!(actions, ["evidence_request.raised", "evidence_request.answered", "evidence_request.closed", "evidence_request.reopened"]);
}
