use crate::support::{PASSWORD, TestApp};
use axum::http::StatusCode;
use chrono::Duration;
use mandate::auth::policy::Role;
use sqlx::PgPool;

/// Finds the invitation link in the flash message.
fn link_in(body: &str) -> String {
    let start = body.find("http://localhost:8080/invite/").expect("invitation link shown");
    let rest = &body[start + "http://localhost:8080".len()..];
    rest.split(|c: char| c.is_whitespace() || c == '<').next().unwrap().to_string()
}

#[sqlx::test]
async fn invitation_creates_account_and_membership_once(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let mut o = app.signed_in(owner, Some(org)).await;
    let res = o.post("/members/invite", &[("email", "New.Exec@Acme.example"), ("role", "executive")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = o.get("/members").await;
    let link = link_in(&page.body);
    assert!(page.texts("#pending-h + table td").contains(&"new.exec@acme.example".to_string()));

    let mut newcomer = app.client();
    let invite = newcomer.get(&link).await;
    assert_eq!(invite.status, StatusCode::OK);
    assert!(invite.body.contains("Create account and join"));
    let weak = newcomer.post(&link, &[("name", "Nia"), ("password", "short"), ("confirm", "short")]).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("value=\"Nia\""), "name kept");
    let ok = newcomer.post(&link, &[("name", "Nia Exec"), ("password", PASSWORD), ("confirm", PASSWORD)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let home = newcomer.get("/dashboard").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Executive"));

    // Single use: the link no longer works, for anyone.
    let mut stranger = app.client();
    let again = stranger.get(&link).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.body.contains("already been used"));
    let replay = stranger.post(&link, &[("name", "Eve"), ("password", PASSWORD), ("confirm", PASSWORD)]).await;
    assert_eq!(replay.status, StatusCode::GONE);
    let members: i64 = sqlx::query_scalar("SELECT count(*) FROM memberships WHERE org_id = $1").bind(org).fetch_one(app.db()).await.unwrap();
    assert_eq!(members, 2);
}

#[sqlx::test]
async fn invitations_expire_and_can_be_withdrawn(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let (_, token) = app.invitation(org, owner, "late@acme.example", Role::Contributor).await;
    let (withdrawn_id, withdrawn) = app.invitation(org, owner, "gone@acme.example", Role::Contributor).await;
    let mut o = app.signed_in(owner, Some(org)).await;
    assert_eq!(o.post(&format!("/invitations/{withdrawn_id}/revoke"), &[]).await.status, StatusCode::SEE_OTHER);
    let mut c = app.client();
    assert!(c.get(&format!("/invite/{withdrawn}")).await.body.contains("withdrawn"));
    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    let res = c.get(&format!("/invite/{token}")).await;
    assert_eq!(res.status, StatusCode::GONE);
    assert!(res.body.contains("expired"));
    let res = c.post(&format!("/invite/{token}"), &[("name", "Late"), ("password", PASSWORD), ("confirm", PASSWORD)]).await;
    assert_eq!(res.status, StatusCode::GONE);
    assert_eq!(c.get("/invite/not-a-real-token").await.status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn existing_user_joins_a_second_organisation_and_switches(db: PgPool) {
    let app = TestApp::new(db).await;
    let consultant = app.user("consultant@example.com", "Casey").await;
    let first = app.org("Client One", consultant).await;
    let owner2 = app.user("boss@two.example", "Boss").await;
    let second = app.org("Client Two", owner2).await;
    let (_, token) = app.invitation(second, owner2, "consultant@example.com", Role::IsmsLead).await;
    // Not signed in: the password of the existing account is asked for.
    let mut c = app.client();
    let page = c.get(&format!("/invite/{token}")).await;
    assert!(page.body.contains("Sign in and join"));
    let bad = c.post(&format!("/invite/{token}"), &[("password", "not it at all")]).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let ok = c.post(&format!("/invite/{token}"), &[("password", PASSWORD)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let home = c.get("/dashboard").await;
    assert_eq!(home.texts("h1"), vec!["Client Two"]);
    assert_eq!(home.texts("#org-switch option").len(), 2);
    let res = c.post("/orgs/switch", &[("org_id", &first.to_string())]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(c.get("/dashboard").await.texts("h1"), vec!["Client One"]);
}

#[sqlx::test]
async fn signed_in_as_someone_else_cannot_take_an_invitation(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let other = app.user("other@example.com", "Other").await;
    let (_, token) = app.invitation(org, owner, "intended@acme.example", Role::Auditor).await;
    let mut c = app.signed_in(other, None).await;
    let page = c.get(&format!("/invite/{token}")).await;
    assert!(page.body.contains("different e-mail address"));
    let res = c.post(&format!("/invite/{token}"), &[]).await;
    assert_eq!(res.status, StatusCode::GONE);
    let used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT accepted_at FROM invitations").fetch_one(app.db()).await.unwrap();
    assert!(used.is_none());
}

#[sqlx::test]
async fn isms_lead_invites_but_cannot_make_owners(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let lead = app.user("lead@acme.example", "Lead").await;
    app.member(org, lead, Role::IsmsLead).await;
    let mut c = app.signed_in(lead, Some(org)).await;
    let page = c.get("/members").await;
    assert!(!page.has("input[value=owner]"), "owner is not offered");
    let res = c.post("/members/invite", &[("email", "x@acme.example"), ("role", "owner")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("cannot grant"));
    let res = c.post("/members/invite", &[("email", "owner@acme.example"), ("role", "auditor")]).await;
    assert!(res.body.contains("already a member"));
    let res = c.post("/members/invite", &[("email", "x@acme.example"), ("role", "auditor")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn owners_change_roles_and_disable_members(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let grace = app.user("grace@acme.example", "Grace").await;
    let grace_m = app.member(org, grace, Role::Contributor).await;
    // Grace also belongs to another organisation, where she stays signed out too.
    let mut grace_c = app.signed_in(grace, Some(org)).await;
    assert_eq!(grace_c.get("/dashboard").await.status, StatusCode::OK);

    let mut o = app.signed_in(owner, Some(org)).await;
    let res = o.post(&format!("/members/{grace_m}/role"), &[("role", "isms_lead")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(grace_c.get("/dashboard").await.body.contains("ISMS lead"), "role change takes effect at once");

    let res = o.post(&format!("/members/{grace_m}/disable"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(grace_c.get("/dashboard").await.status, StatusCode::SEE_OTHER, "disabled member's sessions end");
    let mut again = app.client();
    assert_eq!(again.login("grace@acme.example", PASSWORD).await.location(), "/orgs", "no way back into Acme");
    assert_eq!(again.get("/members").await.location(), "/orgs");
    let res = again.post("/orgs/switch", &[("org_id", &org.to_string())]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    assert_eq!(o.post(&format!("/members/{grace_m}/enable"), &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(again.post("/orgs/switch", &[("org_id", &org.to_string())]).await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn the_last_owner_stays(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let owner_m: uuid::Uuid = sqlx::query_scalar("SELECT id FROM memberships WHERE user_id = $1").bind(owner).fetch_one(app.db()).await.unwrap();
    let mut o = app.signed_in(owner, Some(org)).await;
    let res = o.post(&format!("/members/{owner_m}/role"), &[("role", "executive")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("at least one active owner"));
    let res = o.post(&format!("/members/{owner_m}/disable"), &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let role: String = sqlx::query_scalar("SELECT role FROM memberships WHERE id = $1").bind(owner_m).fetch_one(app.db()).await.unwrap();
    assert_eq!(role, "owner");
}

#[sqlx::test]
async fn members_export_as_csv(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "=HYPERLINK(\"x\")").await;
    let org = app.org("Acme", owner).await;
    let mut o = app.signed_in(owner, Some(org)).await;
    let res = o.get("/members.csv").await;
    assert_eq!(res.header("content-type"), "text/csv; charset=utf-8");
    assert!(res.header("content-disposition").starts_with("attachment;"));
    let lines: Vec<&str> = res.body.lines().collect();
    assert_eq!(lines[0], "name,email,role,status,member_since,access_from,access_until");
    assert!(lines[1].starts_with("\"'=HYPERLINK"), "formula defused: {}", lines[1]);
}

#[sqlx::test]
async fn signed_in_invitee_joins_with_one_click(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let auditor = app.user("auditor@certbody.example", "Aud").await;
    let home = app.org("Cert Body", auditor).await;
    let (_, token) = app.invitation(org, owner, "Auditor@CertBody.example", Role::Auditor).await;
    let mut c = app.signed_in(auditor, Some(home)).await;
    let page = c.get(&format!("/invite/{token}")).await;
    assert!(page.has("form[action^='/invite/'] button"));
    assert!(!page.has("#f-password"), "no password asked when already signed in as the invitee");
    let res = c.post(&format!("/invite/{token}"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let dash = c.get("/dashboard").await;
    assert_eq!(dash.texts("main h1"), vec!["Acme"], "switched to the new organisation");
    assert!(dash.body.contains("Auditor"));
    assert_eq!(c.get("/audit").await.status, StatusCode::FORBIDDEN, "auditors do not see the admin log");
}
