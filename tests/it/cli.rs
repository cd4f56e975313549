//! The `mandate` binary itself: `audit verify` against a test database.
use crate::support::TestApp;
use axum::http::StatusCode;
use sqlx::PgPool;
use std::process::Command;

pub fn database_url(db: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").unwrap();
    let name = db.connect_options().get_database().unwrap().to_string();
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{name}")
}

fn verify(db: &PgPool) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mandate"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", database_url(db))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[sqlx::test]
async fn audit_verify_command_reports_the_first_bad_row(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    assert_eq!(c.post("/members/invite", &[("email", "a@acme.example"), ("role", "auditor")]).await.status, StatusCode::SEE_OTHER);

    let (code, out) = verify(app.db());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("verified"), "{out}");

    let target: i64 = sqlx::query_scalar("SELECT id FROM audit_log WHERE action = 'invitation.created'").fetch_one(app.db()).await.unwrap();
    app.tamper_audit(&format!("UPDATE audit_log SET actor_label = 'someone else' WHERE id = {target}")).await;

    let (code, out) = verify(app.db());
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(&format!("row {target}")), "{out}");
}

#[test]
fn help_documents_single_sign_on_and_passkey_signatures() {
    let help = |args: &[&str]| String::from_utf8_lossy(&Command::new(env!("CARGO_BIN_EXE_mandate")).args(args).output().unwrap().stdout).into_owned();
    let top = help(&["--help"]);
    assert!(top.contains("OpenID Connect") && top.contains("/auth/oidc/callback") && top.contains("break-glass"), "{top}");
    let verify = help(&["verify-bundle", "--help"]);
    assert!(verify.contains("passkey-bound signature"), "{verify}");
}
