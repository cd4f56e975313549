//! Clause 5.3 roles: appointments by top management, acceptance (signed in
//! or by personal link), vacancy when a holder leaves, the starting set,
//! and the RACI one-A rule.
use mandate::ids::OrgId;
use crate::support::{Client, TestApp};
use axum::http::StatusCode;
use chrono::Duration;
use mandate::auth::policy::Role;
use sqlx::PgPool;
use uuid::Uuid;

struct Acme {
    app: TestApp,
    org: OrgId,
    lead: Client,
    lead_user: Uuid,
    ceo_user: Uuid,
    ceo: Uuid,
    ops: Uuid,
    alice: Uuid,
    role: Uuid,
}

async fn acme(db: PgPool) -> Acme {
    let crate::support::AcmeCore { app, org, lead_user, ceo_user, ceo, .. } = crate::support::acme_core(db).await;
    let ops = app.person(org, "Ops Director", "ops@acme.example", false).await;
    let alice = app.person(org, "Alice Holder", "alice@acme.example", false).await;
    let role = app.role(org, "ISMS lead", true, false).await;
    let lead = app.signed_in(lead_user, Some(org)).await;
    Acme { app, org, lead, lead_user, ceo_user, ceo, ops, alice, role }
}

fn flash_link(body: &str) -> String {
    let start = body.find("http://localhost:8080/accept-role/").expect("acceptance link shown");
    let rest = &body[start + "http://localhost:8080".len()..];
    rest.split(|c: char| c.is_whitespace() || c == '<').next().unwrap().to_string()
}

#[sqlx::test]
async fn only_top_management_appoints_unless_recorded_as_a_gap(db: PgPool) {
    let mut a = acme(db).await;
    let url = format!("/roles/{}/appointments", a.role);
    let (alice, ops) = (a.alice.to_string(), a.ops.to_string());
    let form = [("person_id", alice.as_str()), ("appointed_by", ops.as_str()), ("appointed_on", "2026-10-01"), ("capacity", "holder")];
    let refused = a.lead.post(&url, &form).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.texts("#f-appointed_by-error").concat().contains("made by top management"));
    assert!(refused.has("#f-record_anyway"), "offers to record it anyway");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM role_appointments WHERE org_id = $1").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(n, 0);

    let mut insisted = form.to_vec();
    insisted.push(("record_anyway", "on"));
    let saved = a.lead.post(&url, &insisted).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = a.lead.get(&format!("/roles/{}", a.role)).await;
    assert!(page.texts(".flash").concat().contains("not made by top management"));
    let register = a.lead.get("/roles").await;
    assert!(register.body.contains("not appointed by top management"));

    // Future dates and leavers are refused.
    let ceo = a.ceo.to_string();
    let future = a.lead.post(&url, &[("person_id", a.ceo.to_string().as_str()), ("appointed_by", ceo.as_str()), ("appointed_on", "2027-01-01")]).await;
    assert!(future.texts("#f-appointed_on-error").concat().contains("future"));
}

#[sqlx::test]
async fn a_holder_who_leaves_leaves_the_role_vacant(db: PgPool) {
    let mut a = acme(db).await;
    a.app.appoint(a.org, a.role, a.alice, a.ceo).await;
    let register = a.lead.get("/roles").await;
    assert!(register.texts(".cards .card").concat().contains("Held by Alice Holder"), "{}", register.body);
    let res = a.lead.post(&format!("/people/{}/leaver", a.alice), &[("end_date", "2026-11-02")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let register = a.lead.get("/roles").await;
    let card = register.texts(".cards .card").concat();
    assert!(card.contains("Vacant"), "{card}");
    assert!(register.texts("main table tbody tr").concat().contains("vacant"));
    let req = a.lead.get(&format!("/requirements/{}", mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.3(a)"))).await;
    assert!(req.body.contains("vacant"), "{}", req.body);
    // The appointment itself stays on record.
    let page = a.lead.get(&format!("/roles/{}", a.role)).await;
    assert!(page.body.contains("left the organisation"));
}

#[sqlx::test]
async fn holders_accept_by_personal_link(db: PgPool) {
    let mut a = acme(db).await;
    let (alice, ceo) = (a.alice.to_string(), a.ceo.to_string());
    let res = a.lead.post(&format!("/roles/{}/appointments", a.role), &[("person_id", &alice), ("appointed_by", &ceo), ("appointed_on", "2026-11-01")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = a.lead.get(res.location()).await;
    let link = flash_link(&page.body);
    assert!(page.body.contains("the holder has not accepted the role"));

    let mut holder = a.app.client();
    holder.headers.insert("user-agent", "HolderBrowser/1.0".parse().unwrap());
    let view = holder.get(&link).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(view.body.contains("Cee Eo has appointed you holder of this role"), "{}", view.body);
    assert!(view.body.contains("May decide things."), "authorities shown");
    let accepted = holder.post(&link, &[]).await;
    assert_eq!(accepted.status, StatusCode::OK);
    assert!(accepted.texts(".flash").concat().contains("You accepted this role"));
    let (via, from, agent): (String, String, String) =
        sqlx::query_as("SELECT accepted_via, accepted_from, accepted_agent FROM role_appointments WHERE org_id = $1").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    assert_eq!((via.as_str(), from.as_str(), agent.as_str()), ("link", "192.0.2.10", "HolderBrowser/1.0"));
    let logged: String = sqlx::query_scalar("SELECT actor_label FROM audit_log WHERE org_id = $1 AND action = 'appointment.accepted'").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(logged, "Alice Holder (personal link)");
    // Once accepted, the link only says so.
    let again = holder.post(&link, &[]).await;
    assert_eq!(again.status, StatusCode::OK);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE org_id = $1 AND action = 'appointment.accepted'").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(n, 1);
    assert!(!a.lead.get(&format!("/roles/{}", a.role)).await.body.contains("has not accepted"));
}

#[sqlx::test]
async fn links_expire_and_renewing_replaces_them(db: PgPool) {
    let mut a = acme(db).await;
    let (id, token) = a.app.appoint(a.org, a.role, a.alice, a.ceo).await;
    a.app.clock.advance(Duration::days(31));
    // Sessions end after 30 idle minutes: sign in again.
    a.lead = a.app.signed_in(a.lead_user, Some(a.org)).await;
    let mut holder = a.app.client();
    let old = format!("/accept-role/{token}");
    assert_eq!(holder.get(&old).await.status, StatusCode::GONE);
    assert_eq!(holder.post(&old, &[]).await.status, StatusCode::GONE);
    let renewed = a.lead.post(&format!("/appointments/{id}/link"), &[]).await;
    let page = a.lead.get(renewed.location()).await;
    let link = flash_link(&page.body);
    assert_eq!(holder.get(&old).await.status, StatusCode::NOT_FOUND, "the old link is gone");
    assert_eq!(holder.post(&link, &[]).await.status, StatusCode::OK);
    assert_eq!(holder.get("/accept-role/not-a-real-token").await.status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn executives_confirm_and_holders_accept_when_signed_in(db: PgPool) {
    let a = acme(db).await;
    let alice_user = a.app.user("alice@acme.example", "Alice Holder").await;
    a.app.member(a.org, alice_user, Role::Contributor).await;
    a.app.link(a.org, a.alice, alice_user).await;
    let (id, _) = a.app.appoint(a.org, a.role, a.alice, a.ceo).await;
    let role_page = format!("/roles/{}", a.role);

    let mut ceo = a.app.signed_in(a.ceo_user, Some(a.org)).await;
    let page = ceo.get(&role_page).await;
    assert!(page.has(&format!("form[action='/appointments/{id}/confirm']")));
    assert!(!page.has(&format!("form[action='/appointments/{id}/accept']")));
    assert_eq!(ceo.post(&format!("/appointments/{id}/confirm"), &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(ceo.post(&format!("/appointments/{id}/confirm"), &[]).await.status, StatusCode::CONFLICT);
    assert_eq!(ceo.post(&format!("/appointments/{id}/accept"), &[]).await.status, StatusCode::FORBIDDEN, "only the holder accepts");

    let mut alice = a.app.signed_in(alice_user, Some(a.org)).await;
    assert!(alice.get(&role_page).await.has(&format!("form[action='/appointments/{id}/accept']")));
    assert_eq!(alice.post(&format!("/appointments/{id}/confirm"), &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(alice.post(&format!("/appointments/{id}/accept"), &[]).await.status, StatusCode::SEE_OTHER);
    let (confirmed, via): (bool, String) =
        sqlx::query_as("SELECT confirmed_at IS NOT NULL, accepted_via FROM role_appointments WHERE id = $1").bind(id).fetch_one(a.app.db()).await.unwrap();
    assert_eq!((confirmed, via.as_str()), (true, "signed_in"));
}

#[sqlx::test]
async fn top_management_holding_a_mandatory_role_notes_which_hat(db: PgPool) {
    let mut a = acme(db).await;
    let (id, _) = a.app.appoint(a.org, a.role, a.ceo, a.ceo).await;
    assert!(a.lead.get("/roles").await.body.contains("note which hat"));
    let res = a.lead.post(&format!("/appointments/{id}/hats"), &[("note", "ISMS lead in the weekly security meeting; CEO at the management review.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(!a.lead.get("/roles").await.body.contains("note which hat"));
}

#[sqlx::test]
async fn the_starting_set_and_its_matrix(db: PgPool) {
    let mut a = acme(db).await;
    assert_eq!(a.lead.post("/roles/starter", &[]).await.status, StatusCode::SEE_OTHER);
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM isms_roles WHERE org_id = $1 ORDER BY position").bind(a.org).fetch_all(a.app.db()).await.unwrap();
    assert_eq!(names.len(), 7, "the existing ISMS lead role is kept, six are added: {names:?}");
    a.lead.post("/roles/starter", &[]).await;
    let again: i64 = sqlx::query_scalar("SELECT count(*) FROM isms_roles WHERE org_id = $1").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(again, 7, "adding twice adds nothing");
    assert_eq!(a.lead.post("/raci/starter", &[]).await.status, StatusCode::SEE_OTHER);
    let page = a.lead.get("/raci").await;
    assert_eq!(page.texts("table.raci tbody tr").len(), 7);
    assert!(!page.body.contains("break the one-A rule"), "the starting matrix has one A per row");
    assert!(page.body.contains("Roles in the matrix that nobody holds"));
}

#[sqlx::test]
async fn the_raci_page_names_rows_without_exactly_one_a(db: PgPool) {
    let mut a = acme(db).await;
    let sponsor = a.app.role(a.org, "Sponsor", false, false).await;
    let activity = a.app.activity(a.org, "Approve the policy").await;
    let cell = |role: Uuid| format!("cell:{activity}:{role}");
    let (c1, c2) = (cell(a.role), cell(sponsor));
    let res = a.lead.post("/raci", &[(c1.as_str(), "A"), (c2.as_str(), "AR")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = a.lead.get("/raci").await;
    assert!(page.texts(".flash").concat().contains("1 activity row still needs exactly one A"));
    assert_eq!(page.texts("tr.broken th").len(), 1);
    assert!(page.texts("tr.broken").concat().contains("2 roles are accountable (ISMS lead, Sponsor)"));
    let csv = a.lead.get("/raci.csv").await;
    assert!(csv.body.contains("2 roles are accountable"), "{}", csv.body);
    assert_eq!(a.lead.post("/raci", &[(c1.as_str(), "X")]).await.status, StatusCode::BAD_REQUEST);

    let fixed = a.lead.post("/raci", &[(c1.as_str(), "A"), (c2.as_str(), "R")]).await;
    assert_eq!(fixed.status, StatusCode::SEE_OTHER);
    let page = a.lead.get("/raci").await;
    assert!(page.texts(".flash").concat().contains("Every activity has exactly one accountable role"));
    assert!(!page.has("tr.broken"));
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE org_id = $1 AND action = 'raci.updated'").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(logged, 2, "the refused save wrote nothing");
    // A cell someone else changed since the page was shown keeps their change.
    let res = a.lead.post("/raci", &[(c2.as_str(), "I"), (format!("was:{activity}:{sponsor}").as_str(), "C")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = a.lead.get("/raci").await;
    assert!(page.texts(".flash").concat().contains("changed by someone else"), "{}", page.body);
    let kept: String = sqlx::query_scalar("SELECT letters FROM raci_cells WHERE activity_id = $1 AND role_id = $2").bind(activity).bind(sponsor).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(kept, "R");
    // Cells of another organisation's matrix are ignored.
    let other_owner = a.app.user("o@other.example", "O").await;
    let other = a.app.org("Other", other_owner).await;
    let their_role = a.app.role(other, "Theirs", false, false).await;
    let their_activity = a.app.activity(other, "Theirs").await;
    a.lead.post("/raci", &[(format!("cell:{their_activity}:{their_role}").as_str(), "A")]).await;
    let theirs: i64 = sqlx::query_scalar("SELECT count(*) FROM raci_cells WHERE org_id = $1").bind(other).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(theirs, 0);
}

/// An activity of the RACI can stand for 5.3(a) or (b), one at a time; the
/// starting set marks its two, each accountable to the role carrying it.
#[sqlx::test]
async fn raci_activities_can_stand_for_a_5_3_assignment(db: PgPool) {
    let mut a = acme(db).await;
    let added = a.lead.post("/raci/activities", &[("name", "Keep us certified"), ("assignment", "5.3(a)")]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let again = a.lead.post("/raci/activities", &[("name", "Also conformity"), ("assignment", "5.3(a)")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("Another activity already stands for 5.3(a)"), "{}", again.body);
    let bad = a.lead.post("/raci/activities", &[("name", "Odd"), ("assignment", "5.3(c)")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let stored: Vec<(String, Option<String>)> = sqlx::query_as("SELECT name, assignment FROM raci_activities WHERE org_id = $1 ORDER BY position")
        .bind(a.org)
        .fetch_all(a.app.db())
        .await
        .unwrap();
    assert_eq!(stored, vec![("Keep us certified".to_string(), Some("5.3(a)".to_string()))]);
    assert!(a.lead.get("/raci").await.has("select#f-assignment"));
    let _ = (a.role, a.ceo, a.ceo_user, a.ops, a.alice, a.lead_user);
}
