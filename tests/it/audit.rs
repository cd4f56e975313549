use mandate::ids::OrgId;
use crate::support::TestApp;
use axum::http::StatusCode;
use mandate::audit::{self, Actor};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

async fn some_history(app: &TestApp) -> (Uuid, OrgId) {
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let other = app.user("other@beta.example", "Other").await;
    app.org("Beta", other).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    for i in 0..3 {
        let res = c.post("/members/invite", &[("email", &format!("p{i}@acme.example")), ("role", "contributor")]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
    }
    (owner, org)
}

#[sqlx::test]
async fn changes_write_chained_rows_that_verify(db: PgPool) {
    let app = TestApp::new(db).await;
    let (_, org) = some_history(&app).await;
    let rows: Vec<(i64, String, String)> = sqlx::query_as("SELECT seq, action, request_id FROM audit_log WHERE org_id = $1 ORDER BY seq")
        .bind(org)
        .fetch_all(app.db())
        .await
        .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        actions,
        ["organisation.created", "membership.created", "invitation.created", "invitation.created", "invitation.created"]
    );
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert_eq!(rows[2].2.len(), 32, "the request id is recorded");
    let report = audit::verify(app.db()).await.unwrap();
    assert_eq!(report.first_problem, None);
    assert!(report.rows >= 7);
    assert_eq!(report.chains, 3, "two organisations and the account chain");
}

#[sqlx::test]
async fn the_database_refuses_update_and_delete(db: PgPool) {
    let app = TestApp::new(db).await;
    some_history(&app).await;
    for sql in ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"] {
        let err = sqlx::query(sql).execute(app.db()).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

#[sqlx::test]
async fn an_edited_row_is_named(db: PgPool) {
    let app = TestApp::new(db).await;
    let (_, org) = some_history(&app).await;
    let target: i64 = sqlx::query_scalar("SELECT id FROM audit_log WHERE org_id = $1 AND seq = 3").bind(org).fetch_one(app.db()).await.unwrap();
    app.tamper_audit(&format!("UPDATE audit_log SET details = '{{\"email\":\"someone-else@acme.example\"}}' WHERE id = {target}")).await;
    let problem = audit::verify(app.db()).await.unwrap().first_problem.expect("tampering detected");
    assert_eq!(problem.row_id, Some(target));
    assert!(problem.reason.contains("altered"));
}

#[sqlx::test]
async fn a_removed_row_is_detected(db: PgPool) {
    let app = TestApp::new(db).await;
    let (_, org) = some_history(&app).await;
    app.tamper_audit(&format!("DELETE FROM audit_log WHERE org_id = '{org}' AND seq = 2")).await;
    let problem = audit::verify(app.db()).await.unwrap().first_problem.expect("gap detected");
    assert_eq!(problem.seq, 3);
    assert!(problem.reason.contains("missing"));
}

#[sqlx::test]
async fn a_removed_tail_is_detected(db: PgPool) {
    let app = TestApp::new(db).await;
    let (_, org) = some_history(&app).await;
    app.tamper_audit(&format!("DELETE FROM audit_log WHERE org_id = '{org}' AND seq = 5")).await;
    let problem = audit::verify(app.db()).await.unwrap().first_problem.expect("truncation detected");
    assert!(problem.reason.contains("removed from the end"), "{problem}");
}

#[sqlx::test]
async fn concurrent_writers_never_fork_the_chain(db: PgPool) {
    let app = TestApp::new(db).await;
    let org = OrgId::new();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let pool = app.db().clone();
        let now = app.state.clock.now();
        tasks.push(tokio::spawn(async move {
            let mut tx = pool.begin().await.unwrap();
            let actor = Actor { org_id: Some(org), user_id: None, label: format!("writer {i}"), request_id: format!("r{i}") };
            audit::record(&mut tx, &actor, now, "test.write", "test", i, json!({"i": i})).await.unwrap();
            tx.commit().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM audit_log WHERE chain = $1 ORDER BY seq").bind(org).fetch_all(app.db()).await.unwrap();
    assert_eq!(seqs, (1..=24).collect::<Vec<_>>());
    assert_eq!(audit::verify(app.db()).await.unwrap().first_problem, None);
}

#[sqlx::test]
async fn a_rolled_back_change_leaves_no_row(db: PgPool) {
    let app = TestApp::new(db).await;
    let org = OrgId::new();
    {
        let mut tx = app.db().begin().await.unwrap();
        audit::record(&mut tx, &Actor::system(Some(org), "t"), app.state.clock.now(), "x", "y", 1, json!({})).await.unwrap();
        tx.rollback().await.unwrap();
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE org_id = $1").bind(org).fetch_one(app.db()).await.unwrap();
    assert_eq!(n, 0);
    assert_eq!(audit::verify(app.db()).await.unwrap().first_problem, None);
}

#[sqlx::test]
async fn owners_browse_filter_and_export_only_their_log(db: PgPool) {
    let app = TestApp::new(db).await;
    let (owner, org) = some_history(&app).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    let page = c.get("/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts("table.log tbody tr").len(), 5);
    assert!(!page.body.contains("other@beta.example"), "another tenant's rows never show");
    let filtered = c.get("/audit?entity=invitation").await;
    assert_eq!(filtered.texts("table.log tbody tr").len(), 3);
    let none = c.get("/audit?from=2030-01-01").await;
    assert!(none.has(".empty"));
    let day = c.get("/audit?from=2026-11-02&to=2026-11-02&actor=owner%40acme").await;
    assert_eq!(day.texts("table.log tbody tr").len(), 3, "test-made rows are by 'test', invitations by the owner");

    let csv = c.get("/audit.csv?entity=invitation").await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "seq,at,actor,action,entity,entity_id,request_id,details,hash");
    assert_eq!(lines.len(), 4);
    assert!(lines[1].contains("invitation.created"));
}
