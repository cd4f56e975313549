//! No page's number of SQL statements grows with the organisation (no N+1).
//! Every signed-in GET route the router serves is loaded in a small and in a
//! large generated organisation, and must run the same number of statements
//! in both, and more than none (a page that ran none would prove nothing).
//! A GET route added to the router without a row here fails the test.
use crate::support::{Client, TestApp, assert_same_queries, queries_during};
use mandate::auth::policy::Role;
use mandate::ids::OrgId;
use sqlx::PgPool;
use std::collections::BTreeSet;
use uuid::Uuid;

/// What `{id}` stands for in a route: the SQL that finds one such record of
/// the organisation (`$1`), newest first so both organisations show a
/// record with as much attached to it as they have.
const PAGES: &[(&str, Option<&str>)] = &[
    ("/dashboard", None),
    ("/account", None),
    ("/account/two-factor", None),
    ("/settings/sso", None),
    ("/orgs", None),
    ("/members", None),
    ("/settings", None),
    ("/members.csv", None),
    ("/security", None),
    ("/security.csv", None),
    ("/audit", None),
    ("/audit.csv", None),
    ("/requirements", None),
    ("/requirements.csv", None),
    ("/requirements/{id}", Some("SELECT requirement_id FROM requirement_states WHERE org_id = $1 ORDER BY requirement_id LIMIT 1")),
    ("/requirements/{id}/evidence.zip", Some("SELECT requirement_id FROM requirement_states WHERE org_id = $1 ORDER BY requirement_id LIMIT 1")),
    ("/people", None),
    ("/people.csv", None),
    ("/people/search", None),
    ("/people/new", None),
    ("/people/import", None),
    ("/people/import/template.csv", None),
    ("/people/import/{id}", Some("SELECT id FROM imports WHERE org_id = $1 AND kind = 'people' ORDER BY created_at DESC LIMIT 1")),
    ("/people/{id}", Some("SELECT id FROM people WHERE org_id = $1 AND top_management ORDER BY name LIMIT 1")),
    ("/people/roster", None),
    ("/people/roster.csv", None),
    ("/roles", None),
    ("/roles.csv", None),
    ("/roles/{id}", Some("SELECT id FROM isms_roles WHERE org_id = $1 ORDER BY position, name LIMIT 1")),
    ("/raci", None),
    ("/raci.csv", None),
    ("/evidence", None),
    ("/evidence.csv", None),
    ("/evidence/new", None),
    ("/evidence/files/{id}", Some("SELECT id FROM evidence_revisions WHERE org_id = $1 ORDER BY uploaded_at DESC LIMIT 1")),
    ("/evidence/{id}", Some("SELECT id FROM evidence_items WHERE org_id = $1 ORDER BY created_at DESC, id LIMIT 1")),
    ("/policies", None),
    ("/policies.csv", None),
    ("/policies/{id}", Some("SELECT policy_id FROM policy_versions WHERE org_id = $1 AND approved_at IS NOT NULL ORDER BY approved_at DESC, id LIMIT 1")),
    ("/policies/versions/{id}", Some("SELECT id FROM policy_versions WHERE org_id = $1 AND approved_at IS NOT NULL ORDER BY approved_at DESC, id LIMIT 1")),
    ("/campaigns/{id}", Some("SELECT id FROM ack_campaigns WHERE org_id = $1 ORDER BY created_at DESC LIMIT 1")),
    ("/campaigns/{id}/csv", Some("SELECT id FROM ack_campaigns WHERE org_id = $1 ORDER BY created_at DESC LIMIT 1")),
    ("/onboarding", None),
    ("/onboarding.csv", None),
    ("/training", None),
    ("/training/modules/{id}", Some("SELECT id FROM training_modules WHERE org_id = $1 ORDER BY title, id LIMIT 1")),
    ("/training/modules/{id}/csv", Some("SELECT id FROM training_modules WHERE org_id = $1 ORDER BY title, id LIMIT 1")),
    ("/training/campaigns/{id}", Some("SELECT id FROM training_campaigns WHERE org_id = $1 ORDER BY created_at DESC LIMIT 1")),
    ("/training/campaigns/{id}/csv", Some("SELECT id FROM training_campaigns WHERE org_id = $1 ORDER BY created_at DESC LIMIT 1")),
    ("/training/import", None),
    ("/training/import/template.csv", None),
    ("/training/import/{id}", Some("SELECT id FROM imports WHERE org_id = $1 AND kind = 'training' ORDER BY created_at DESC LIMIT 1")),
    ("/acknowledgements/import", None),
    ("/acknowledgements/import/template.csv", None),
    ("/acknowledgements/import/{id}", Some("SELECT id FROM imports WHERE org_id = $1 AND kind = 'acknowledgements' ORDER BY created_at DESC LIMIT 1")),
    ("/meetings", None),
    ("/meetings.csv", None),
    ("/meetings/new", None),
    ("/meetings/{id}", Some("SELECT id FROM meetings WHERE org_id = $1 ORDER BY held_on DESC NULLS LAST, id LIMIT 1")),
    ("/actions", None),
    ("/actions.csv", None),
    ("/actions/{id}", Some("SELECT id FROM action_items WHERE org_id = $1 ORDER BY id LIMIT 1")),
    ("/decisions", None),
    ("/decisions.csv", None),
    ("/decisions/new", None),
    ("/decisions/{id}", Some("SELECT id FROM resource_decisions WHERE org_id = $1 ORDER BY id LIMIT 1")),
    ("/communications", None),
    ("/communications.csv", None),
    ("/communications/new", None),
    ("/communications/{id}", Some("SELECT id FROM communications WHERE org_id = $1 ORDER BY id LIMIT 1")),
    ("/findings", None),
    ("/settings/notifications", None),
    ("/outbox", None),
    ("/findings.csv", None),
    ("/findings/{id}", Some("SELECT id FROM findings WHERE org_id = $1 ORDER BY id LIMIT 1")),
    ("/objectives", None),
    ("/objectives.csv", None),
    ("/objectives/new", None),
    ("/objectives/{id}", Some("SELECT id FROM objectives WHERE org_id = $1 ORDER BY id LIMIT 1")),
    ("/asks", None),
    ("/asks.csv", None),
    ("/asks/new", None),
    ("/asks/{id}", Some("SELECT id FROM leadership_asks WHERE org_id = $1 ORDER BY id LIMIT 1")),
    ("/gaps", None),
    ("/gaps.csv", None),
    ("/leadership", None),
    ("/leadership/trend.svg", None),
    ("/evidence-requests", None),
    ("/evidence-requests.csv", None),
    ("/evidence-requests/{id}", Some("SELECT id FROM evidence_requests WHERE org_id = $1 ORDER BY id LIMIT 1")),
    ("/bundles", None),
    ("/bundles/{id}", Some("SELECT id FROM jobs WHERE org_id = $1 ORDER BY requested_at DESC LIMIT 1")),
    ("/bundles/{id}/download", Some("SELECT id FROM jobs WHERE org_id = $1 AND status = 'done' ORDER BY requested_at DESC LIMIT 1")),
    ("/account/tokens", None),
    // The JSON API (the client sends the owner's token with every request).
    ("/api/v1/me", None),
    ("/api/v1/people", None),
    ("/api/v1/people/{id}", Some("SELECT id FROM people WHERE org_id = $1 AND top_management ORDER BY name LIMIT 1")),
    ("/api/v1/requirements", None),
    ("/api/v1/requirements/{id}", Some("SELECT requirement_id FROM requirement_states WHERE org_id = $1 ORDER BY requirement_id LIMIT 1")),
    ("/api/v1/roles", None),
    ("/api/v1/appointments", None),
    ("/api/v1/evidence", None),
    ("/api/v1/evidence/files/{id}", Some("SELECT id FROM evidence_revisions WHERE org_id = $1 ORDER BY uploaded_at DESC LIMIT 1")),
    ("/api/v1/evidence/{id}", Some("SELECT id FROM evidence_items WHERE org_id = $1 ORDER BY created_at DESC, id LIMIT 1")),
    ("/api/v1/policies", None),
    ("/api/v1/policies/{id}", Some("SELECT policy_id FROM policy_versions WHERE org_id = $1 AND approved_at IS NOT NULL ORDER BY approved_at DESC, id LIMIT 1")),
    ("/api/v1/training/modules", None),
    ("/api/v1/training/records", None),
    ("/api/v1/meetings", None),
    ("/api/v1/meetings/{id}", Some("SELECT id FROM meetings WHERE org_id = $1 ORDER BY held_on DESC NULLS LAST, id LIMIT 1")),
    ("/api/v1/findings", None),
    ("/api/v1/findings/{id}", Some("SELECT id FROM findings WHERE org_id = $1 ORDER BY id LIMIT 1")),
    ("/api/v1/gaps", None),
    ("/api/v1/decisions", None),
    ("/api/v1/communications", None),
    ("/api/v1/objectives", None),
    ("/api/v1/asks", None),
    ("/api/v1/actions", None),
    ("/api/v1/policy-versions", None),
    ("/api/v1/acknowledgements", None),
    ("/api/v1/evidence-requests", None),
    ("/api/v1/members", None),
    ("/api/v1/raci", None),
    ("/api/v1/audit-log", None),
    ("/api/v1/oscal/catalog", None),
    ("/api/v1/oscal/component-definition", None),
    ("/api/v1/oscal/assessment-results", None),
];

/// GET routes that are not an organisation's pages: public, personal-link
/// and sign-in pages, whose work does not depend on the organisation's size.
const OUTSIDE: &[&str] = &[
    "/healthz", "/readyz", "/static/{file}", "/", "/signup", "/signup/{token}", "/login", "/login/code", "/auth/oidc/callback", "/invite/{token}",
    "/accept-role/{token}", "/ack/{token}", "/ack/{token}/document", "/p/{slug}", "/p/{slug}/document",
    // The logo: one row by key, whatever the size.
    "/ack/{token}/logo", "/p/{slug}/logo", "/settings/logo", "/training-link/{token}/logo",
    // A personal training link: its request, module and the person's last completion, by key.
    "/training-link/{token}",
    // A member's unsubscribe link: one row by its secret.
    "/unsubscribe/{token}",
    // The API's description and reference: made from the code, no database.
    "/api/v1/openapi.json", "/docs/api",
];

/// An organisation generated at `people` people, with an owner signed in and
/// one of each record the generator does not make (imports, campaigns, an
/// evidence request, a finished bundle).
async fn organisation(app: &TestApp, name: &str, people: usize) -> (OrgId, Client) {
    let owner = app.user(&format!("owner@{name}.example"), "Owner").await;
    let org = app.org(name, owner).await;
    let mut conn = app.db().acquire().await.unwrap();
    mandate::generate::fill(&mut conn, org, app.state.clock.now(), &mandate::generate::Sizes::scaled(people)).await.unwrap();
    drop(conn);
    sqlx::query("ANALYZE").execute(app.db()).await.unwrap();
    let auditor = app.user(&format!("auditor@{name}.example"), "Auditor").await;
    app.member(org, auditor, Role::Auditor).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    // Pages read the session; the API only this token.
    let token = app.api_token(owner, org, &[mandate::auth::policy::Scope::Read]).await;
    c.headers.insert(axum::http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());

    let res = c.upload("/people/import", "file", "people.csv", "text/csv", format!("name,email\nNew Starter,new@{name}.example\n").as_bytes()).await;
    assert_eq!(res.status, 303, "people import: {}", res.body);
    let csv = format!("email,module,completed_on\nnew@{name}.example,Security awareness,2026-10-01\n");
    let res = c.upload("/training/import", "file", "training.csv", "text/csv", csv.as_bytes()).await;
    assert_eq!(res.status, 303, "training import: {}", res.body);
    let policy: String = sqlx::query_scalar(
        "SELECT p.title FROM policies p JOIN policy_versions v ON v.policy_id = p.id WHERE p.org_id = $1 AND v.approved_at IS NOT NULL ORDER BY p.title LIMIT 1",
    )
    .bind(org)
    .fetch_one(app.db())
    .await
    .unwrap();
    let email: String = sqlx::query_scalar("SELECT email FROM people WHERE org_id = $1 AND end_date IS NULL ORDER BY name LIMIT 1").bind(org).fetch_one(app.db()).await.unwrap();
    let csv = format!("email,policy,acknowledged_on\n{email},{policy},2026-11-01\n");
    let res = c.upload("/acknowledgements/import", "file", "acks.csv", "text/csv", csv.as_bytes()).await;
    assert_eq!(res.status, 303, "acknowledgements import: {}", res.body);
    let res = c.post("/bundles", &[("as_of", "2026-11-02")]).await;
    assert_eq!(res.status, 303, "bundle: {}", res.body);
    while mandate::bundles::jobs::run_next(&app.state, "queries").await.unwrap().is_some() {}

    let mut a = app.signed_in(auditor, Some(org)).await;
    let requirement = mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.1(a)").to_string();
    let res = a.post("/evidence-requests", &[("requirement_id", requirement.as_str()), ("question", "Show me the strategy paper")]).await;
    assert_eq!(res.status, 303, "evidence request: {}", res.body);

    let version: Uuid = sqlx::query_scalar("SELECT id FROM policy_versions WHERE org_id = $1 AND approved_at IS NOT NULL ORDER BY approved_at DESC, id LIMIT 1")
        .bind(org)
        .fetch_one(app.db())
        .await
        .expect("the generator signs policy versions");
    let person: Uuid = sqlx::query_scalar("SELECT id FROM people WHERE org_id = $1 AND end_date IS NULL ORDER BY name LIMIT 1").bind(org).fetch_one(app.db()).await.unwrap();
    app.campaign(org, version, person).await;
    let module: Uuid = sqlx::query_scalar("SELECT id FROM training_modules WHERE org_id = $1 AND audience = 'all_staff' ORDER BY title LIMIT 1").bind(org).fetch_one(app.db()).await.unwrap();
    app.training_campaign(org, module, person).await;
    app.evidence(org, "Signed policy", "policy.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").await;
    mandate::findings::sync_org(&app.state, org).await.unwrap();
    (org, c)
}

/// Statements run by every page, in `PAGES` order.
async fn measure(app: &TestApp, org: OrgId, c: &mut Client) -> Vec<(&'static str, usize)> {
    let mut counts = Vec::new();
    for (path, find) in PAGES {
        let url = match find {
            Some(sql) => {
                let id: Uuid = sqlx::query_scalar(sql).bind(org).fetch_optional(app.db()).await.unwrap().unwrap_or_else(|| panic!("no record for {path}"));
                path.replace("{id}", &id.to_string())
            }
            None => path.to_string(),
        };
        let (res, n) = queries_during(c.get(&url)).await;
        assert_eq!(res.status, 200, "{url}: {}", &res.body[..res.body.len().min(500)]);
        counts.push((*path, n));
    }
    counts
}

#[sqlx::test]
async fn every_page_runs_the_same_statements_for_ten_or_a_thousand_people(db: PgPool) {
    let served: BTreeSet<&str> = mandate::app::route_list().into_iter().filter(|(m, _, _)| m == "GET").map(|(_, p, _)| p).collect();
    let listed: BTreeSet<&str> = PAGES.iter().map(|(p, _)| *p).chain(OUTSIDE.iter().copied()).collect();
    let missing: Vec<_> = served.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&served).collect();
    assert!(missing.is_empty(), "GET routes without a row in PAGES or OUTSIDE: {missing:?}");
    assert!(stale.is_empty(), "rows for routes that do not exist: {stale:?}");

    let app = TestApp::new(db).await;
    let (small, mut s) = organisation(&app, "small", 10).await;
    let (large, mut l) = organisation(&app, "large", 1000).await;
    let people: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE org_id = $1").bind(large).fetch_one(app.db()).await.unwrap();
    assert!(people >= 1000, "{people} people");
    // Every kind of record the pages list differs in number between the two.
    for table in ["people", "policies", "policy_versions", "meetings", "evidence_items", "training_records", "acknowledgements"] {
        let sql = format!("SELECT count(*) FROM {table} WHERE org_id = $1");
        let n_small: i64 = sqlx::query_scalar(&sql).bind(small).fetch_one(app.db()).await.unwrap();
        let n_large: i64 = sqlx::query_scalar(&sql).bind(large).fetch_one(app.db()).await.unwrap();
        assert!(n_small < n_large, "{table}: {n_small} in the small organisation, {n_large} in the large one");
    }
    let small_counts = measure(&app, small, &mut s).await;
    let large_counts = measure(&app, large, &mut l).await;
    assert_same_queries(&small_counts, &large_counts);
}
