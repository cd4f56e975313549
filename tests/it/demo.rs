use crate::support::TestApp;
use axum::http::StatusCode;
use chrono::Duration;
use mandate::auth::policy::Role;
use mandate::demo;
use sqlx::PgPool;

#[sqlx::test]
async fn demo_loads_once_with_a_working_login_per_role(db: PgPool) {
    let app = TestApp::new(db).await;
    let logins = demo::load_if_empty(app.db(), &app.clock, Duration::days(7)).await.unwrap().expect("loaded into an empty database");
    let roles: Vec<Role> = logins.iter().map(|l| l.role).collect();
    assert_eq!(roles, Role::ALL.to_vec(), "one login per role");
    assert!(demo::load_if_empty(app.db(), &app.clock, Duration::days(7)).await.unwrap().is_none(), "never twice");
    let orgs: i64 = sqlx::query_scalar("SELECT count(*) FROM organisations").fetch_one(app.db()).await.unwrap();
    assert_eq!(orgs, 1);
    for l in &logins {
        let mut c = app.client();
        let res = c.login(l.email, &l.password).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", l.email);
        let home = c.get("/dashboard").await;
        assert_eq!(home.texts("main h1"), vec![demo::ORG_NAME]);
        assert!(home.body.contains(l.role.label()));
    }
    assert_eq!(mandate::audit::verify(app.db()).await.unwrap().first_problem, None);
}

#[sqlx::test]
async fn demo_is_skipped_when_an_organisation_exists(db: PgPool) {
    let app = TestApp::new(db).await;
    let u = app.user("first@example.com", "First").await;
    app.org("Real Co", u).await;
    assert!(demo::load_if_empty(app.db(), &app.clock, Duration::days(7)).await.unwrap().is_none());
}
