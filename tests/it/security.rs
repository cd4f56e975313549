use crate::support::{PASSWORD, TestApp};
use axum::http::{HeaderValue, Method, StatusCode};
use sqlx::PgPool;

async fn owner_client(app: &TestApp) -> crate::support::Client {
    let user = app.user("o@example.com", "Olive Owner").await;
    let org = app.org("Org", user).await;
    app.signed_in(user, Some(org)).await
}

#[sqlx::test]
async fn state_changes_without_the_token_are_refused(db: PgPool) {
    let app = TestApp::new(db).await;
    let mut c = owner_client(&app).await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM organisations").fetch_one(app.db()).await.unwrap();
    for fields in [vec![("name", "No token")], vec![("csrf_token", "forged"), ("name", "Bad token")]] {
        let res = c.post_raw("/orgs", &fields).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert!(res.body.contains("did not come from a page of this site"));
    }
    // JSON or other bodies without the header token are refused too.
    let res = c.send(Method::POST, "/orgs", Some("application/json"), br#"{"name":"json"}"#.to_vec()).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM organisations").fetch_one(app.db()).await.unwrap();
    assert_eq!(before, after);
    assert_eq!(c.post("/orgs", &[("name", "With token")]).await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn anonymous_forms_need_the_cookie_token(db: PgPool) {
    let app = TestApp::new(db).await;
    let mut c = app.client();
    // No cookie yet: any token is refused.
    let res = c.post_raw("/login", &[("csrf_token", "guess"), ("email", "a@b.c"), ("password", "x")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // With the page's token it is accepted (and the login itself fails normally).
    assert_eq!(c.login("a@b.c", "whatever password").await.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn cross_site_requests_are_refused_even_with_a_token(db: PgPool) {
    let app = TestApp::new(db).await;
    let mut c = owner_client(&app).await;
    let token = c.token().await;
    c.headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
    let res = c.post_raw("/orgs", &[("csrf_token", &token), ("name", "x")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    c.headers.clear();
    c.headers.insert("origin", HeaderValue::from_static("https://evil.example"));
    let res = c.post_raw("/orgs", &[("csrf_token", &token), ("name", "x")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    c.headers.clear();
    c.headers.insert("origin", HeaderValue::from_static("http://localhost:8080"));
    c.headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
    let res = c.post_raw("/orgs", &[("csrf_token", &token), ("name", "x")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn no_state_changes_on_get(db: PgPool) {
    let app = TestApp::new(db).await;
    let mut c = owner_client(&app).await;
    // The API's routes are fetched with a token of every scope (the owner's).
    let (user, org): (uuid::Uuid, mandate::ids::OrgId) = sqlx::query_as("SELECT user_id, org_id FROM memberships").fetch_one(app.db()).await.unwrap();
    let mut api = app.api_client(&app.api_token(user, org, &mandate::auth::policy::Scope::ALL).await);
    let audit_before: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(app.db()).await.unwrap();
    for (method, path, _) in mandate::app::route_list() {
        if method == Method::POST || method == Method::PATCH {
            // The same path must not change anything when fetched with GET.
            let client = if path.starts_with("/api/") { &mut api } else { &mut c };
            let res = client.get(&path.replace("{id}", &uuid::Uuid::new_v4().to_string()).replace("{token}", "x")).await;
            assert!(
                matches!(res.status, StatusCode::METHOD_NOT_ALLOWED | StatusCode::OK | StatusCode::NOT_FOUND | StatusCode::SEE_OTHER | StatusCode::GONE),
                "GET {path} answered {}",
                res.status
            );
        }
    }
    let audit_after: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(app.db()).await.unwrap();
    assert_eq!(audit_before, audit_after, "no GET wrote an audit row");
}

#[sqlx::test]
async fn security_headers_on_pages_errors_and_downloads(db: PgPool) {
    let app = TestApp::new(db).await;
    let mut c = owner_client(&app).await;
    for path in ["/dashboard", "/no-such-page", "/audit.csv", "/members.csv", "/static/app.css", "/healthz"] {
        let res = c.get(path).await;
        let csp = res.header("content-security-policy");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(res.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(res.header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(res.header("x-frame-options"), "DENY", "{path}");
        if path != "/static/app.css" {
            assert_eq!(res.header("cache-control"), "no-store", "{path}");
        }
    }
    let csv = c.get("/audit.csv").await;
    assert!(csv.header("content-disposition").starts_with("attachment; filename=\"audit-log-"));
}

#[sqlx::test]
async fn error_pages_have_request_ids_and_hide_internals(db: PgPool) {
    let app = TestApp::new(db).await;
    let mut c = owner_client(&app).await;
    let res = c.get("/no-such-page").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.texts("h1"), vec!["Not found"]);
    let id = res.header("x-request-id").to_string();
    assert_eq!(id.len(), 32);
    assert!(res.body.contains(&id));

    // A broken database answers with a generic 500 page, not the SQL error.
    sqlx::query("ALTER TABLE memberships RENAME TO memberships_gone").execute(app.db()).await.unwrap();
    let res = c.get("/members").await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(res.texts("h1"), vec!["Something went wrong"]);
    assert!(res.body.contains(res.header("x-request-id")));
    assert!(!res.body.contains("memberships"), "no SQL in the page");
    assert!(!res.body.to_lowercase().contains("relation"));
}

#[sqlx::test]
async fn forbidden_page_is_rendered(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("o@example.com", "O").await;
    let org = app.org("Org", owner).await;
    let exec = app.user("e@example.com", "E").await;
    app.member(org, exec, mandate::auth::policy::Role::Executive).await;
    let mut c = app.signed_in(exec, Some(org)).await;
    let res = c.get("/audit").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.texts("h1"), vec!["Not allowed"]);
    assert!(res.has("nav a[href='/members']"), "the error page keeps the signed-in navigation");
    assert!(!res.has("nav a[href='/audit']"), "navigation hides what the role cannot open");
    assert_eq!(res.texts(".account"), vec!["E Executive"]);
}

#[sqlx::test]
async fn health_and_readiness(db: PgPool) {
    let app = TestApp::new(db).await;
    let mut c = app.client();
    assert_eq!(c.get("/healthz").await.body, "ok");
    let ready = c.get("/readyz").await;
    assert_eq!((ready.status, ready.body.as_str()), (StatusCode::OK, "ready"));
    app.db().close().await;
    let ready = c.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(c.get("/healthz").await.status, StatusCode::OK);
}

#[sqlx::test]
async fn owners_read_a_security_log_of_their_members_and_changes(db: PgPool) {
    use mandate::auth::policy::Role;
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olga Owner").await;
    let org = app.org("Acme", owner).await;
    let lead = app.user("lead@acme.example", "Lee Lead").await;
    let lead_member = app.member(org, lead, Role::IsmsLead).await;
    let stranger = app.user("stranger@else.example", "Stranger").await;
    app.org("Elsewhere", stranger).await;
    // A member types wrong passwords from one address until the account locks, then signs in later.
    let mut attacker = app.client();
    attacker.addr = "203.0.113.66:4444".parse().unwrap();
    for _ in 0..5 {
        assert_eq!(attacker.login("lead@acme.example", "wrong wrong wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    // Someone outside the organisation fails too: not this owner's business.
    assert_eq!(attacker.login("stranger@else.example", "wrong wrong wrong").await.status, StatusCode::UNAUTHORIZED);
    app.clock.advance(chrono::Duration::minutes(16));
    let mut lead_client = app.client();
    assert_eq!(lead_client.login("lead@acme.example", PASSWORD).await.status, StatusCode::SEE_OTHER);
    // The owner changes the lead's role and invites someone.
    let mut c = app.signed_in(owner, Some(org)).await;
    assert_eq!(c.post(&format!("/members/{lead_member}/role"), &[("role", "contributor")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(c.post("/members/invite", &[("email", "new@acme.example"), ("role", "auditor")]).await.status, StatusCode::SEE_OTHER);

    let page = c.get("/security").await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.texts("main table tbody tr").join("\n");
    assert_eq!(rows.matches("Wrong password").count(), 5, "{rows}");
    assert!(rows.contains("Locked out after repeated wrong passwords"), "{rows}");
    assert!(rows.contains("203.0.113.66"), "the client address is shown: {rows}");
    assert!(rows.contains("Signed in") && rows.contains("Changed a member's role") && rows.contains("Lee Lead is now Contributor"), "{rows}");
    assert!(rows.contains("Invited someone") && rows.contains("new@acme.example as Auditor"), "{rows}");
    assert!(!rows.contains("stranger@else.example"), "another organisation's account stays out: {rows}");
    let only = c.get("/security?kind=locked_out").await.texts("main table tbody tr");
    assert_eq!(only.len(), 1, "{only:?}");
    let csv = c.get("/security.csv").await;
    assert!(csv.header("content-disposition").starts_with("attachment"));
    assert!(csv.body.starts_with("time_utc,event,account,client_address,detail"));
    assert!(csv.body.contains("Locked out after repeated wrong passwords,lead@acme.example,203.0.113.66"), "{}", csv.body);
    // Only owners read it; the log cannot be rewritten.
    assert_eq!(lead_client.get("/security").await.status, StatusCode::FORBIDDEN);
    assert!(sqlx::query("DELETE FROM security_events").execute(app.db()).await.is_err());
}
