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
