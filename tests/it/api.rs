//! The JSON API: tokens (made, shown once, scoped, expiring, revoked),
//! problem details, paging, ETags, the rate limit, the OpenAPI document,
//! and the HR and training syncs (idempotent, with dry runs).
use crate::support::{Client, TestApp};
use chrono::Duration;
use mandate::auth::policy::{Role, Scope};
use mandate::ids::OrgId;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::{BTreeSet, HashSet};
use uuid::Uuid;

fn body(res: &crate::support::Resp) -> Value {
    serde_json::from_str(&res.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", res.body))
}

async fn send(c: &mut Client, method: &str, path: &str, json: Value) -> crate::support::Resp {
    c.send(axum::http::Method::from_bytes(method.as_bytes()).unwrap(), path, Some("application/json"), json.to_string().into_bytes()).await
}

struct Acme {
    app: TestApp,
    org: OrgId,
    owner: Uuid,
}

async fn acme(db: PgPool) -> Acme {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olive Owner").await;
    let org = app.org("Acme", owner).await;
    Acme { app, org, owner }
}

#[sqlx::test]
async fn without_a_token_the_api_answers_401_with_a_challenge_and_never_reads_cookies(db: PgPool) {
    let a = acme(db).await;
    let res = a.app.client().get("/api/v1/people").await;
    assert_eq!(res.status, 401);
    assert!(res.header("www-authenticate").starts_with("Bearer realm=\"mandate\""), "{:?}", res.headers);
    assert_eq!(res.header("content-type"), "application/problem+json");
    let p = body(&res);
    assert_eq!(p["status"], 401);
    assert_eq!(p["instance"], "/api/v1/people");
    assert!(!p["request_id"].as_str().unwrap().is_empty());
    // A signed-in browser's cookies are not a token.
    let mut signed_in = a.app.signed_in(a.owner, Some(a.org)).await;
    assert_eq!(signed_in.get("/api/v1/people").await.status, 401);
    // A made-up token is refused the same way, saying so.
    let res = a.app.api_client("mandate_pat_not-a-real-one").get("/api/v1/people").await;
    assert_eq!(res.status, 401);
    assert!(res.header("www-authenticate").contains("invalid_token"));
    assert!(body(&res)["detail"].as_str().unwrap().contains("not known"));
}

#[sqlx::test]
async fn a_read_only_token_reads_but_gets_403_on_writes(db: PgPool) {
    let a = acme(db).await;
    let token = a.app.api_token(a.owner, a.org, &[Scope::Read]).await;
    let mut c = a.app.api_client(&token);
    let res = c.get("/api/v1/me").await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(body(&res)["role"], "owner");
    assert_eq!(res.header("ratelimit-limit"), "600");
    assert_eq!(res.header("ratelimit-remaining"), "599");
    let res = send(&mut c, "POST", "/api/v1/people", json!({"name": "Nina New", "email": "nina@acme.example"})).await;
    assert_eq!(res.status, 403);
    assert!(body(&res)["detail"].as_str().unwrap().contains("people:write"), "{}", res.body);
    let res = send(&mut c, "POST", "/api/v1/people/sync", json!({"people": []})).await;
    assert_eq!(res.status, 403);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE org_id = $1").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(n, 0, "nothing was written");
}

#[sqlx::test]
async fn tokens_are_made_on_the_account_page_shown_once_stored_hashed_and_revoked(db: PgPool) {
    let a = acme(db).await;
    let mut page = a.app.signed_in(a.owner, Some(a.org)).await;
    let res = page.post("/account/tokens", &[("name", "Workday sync"), ("scopes", "read"), ("scopes", "people:write"), ("days", "30"), ("integration", "on")]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let secret = res.texts("#token-secret").pop().expect("the secret is shown");
    assert!(secret.starts_with("mandate_pat_"));
    let stored: (Vec<u8>, Vec<String>, bool) = sqlx::query_as("SELECT secret_hash, scopes, integration FROM api_tokens WHERE org_id = $1").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(stored.0, Sha256::digest(secret.as_bytes()).to_vec(), "only the SHA-256 is kept");
    assert_eq!(stored.1, vec!["read", "people:write"]);
    assert!(stored.2);
    let again = page.get("/account/tokens").await;
    assert!(!again.body.contains(&secret), "shown once");
    assert!(again.body.contains("Workday sync") && again.body.contains("Never used"));
    assert!(again.body.contains("reads everything, writes people"), "the scopes in words");

    // It works, its use is listed, and its writes are logged as its member, with the token named.
    let mut c = a.app.api_client(&secret);
    let res = send(&mut c, "POST", "/api/v1/people", json!({"name": "Nina New", "email": "nina@acme.example", "external_id": "E-1"})).await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(body(&res)["external_id"], "E-1");
    let label: String = sqlx::query_scalar("SELECT actor_label FROM audit_log WHERE org_id = $1 AND action = 'person.created'").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(label, "owner@acme.example (integration token \u{201c}Workday sync\u{201d})");
    assert!(page.get("/account/tokens").await.body.contains("from 192.0.2.10"), "last use is listed");

    // Revoked: refused at once, saying why.
    let id: Uuid = sqlx::query_scalar("SELECT id FROM api_tokens WHERE org_id = $1").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    let res = page.post(&format!("/account/tokens/{id}/revoke"), &[]).await;
    assert_eq!(res.status, 303);
    let res = c.get("/api/v1/me").await;
    assert_eq!(res.status, 401);
    assert!(body(&res)["detail"].as_str().unwrap().contains("revoked"));
    let events: Vec<String> = sqlx::query_scalar("SELECT kind FROM security_events WHERE org_id = $1 AND kind LIKE 'token_%' ORDER BY at").bind(a.org).fetch_all(a.app.db()).await.unwrap();
    assert_eq!(events, vec!["token_created", "token_revoked"]);
}

#[sqlx::test]
async fn a_token_expires_and_never_carries_more_than_its_member_may(db: PgPool) {
    let a = acme(db).await;
    let contributor = a.app.user("carl@acme.example", "Carl Contributor").await;
    a.app.member(a.org, contributor, Role::Contributor).await;
    let mut carl = a.app.signed_in(contributor, Some(a.org)).await;
    // A contributor cannot give a token the people scope, nor make an integration's.
    let res = carl.post("/account/tokens", &[("name", "Mine"), ("scopes", "people:write"), ("days", "30")]).await;
    assert_eq!(res.status, 422);
    assert!(res.body.contains("cannot give a token"));
    let res = carl.post("/account/tokens", &[("name", "Mine"), ("scopes", "read"), ("days", "400")]).await;
    assert_eq!(res.status, 422, "at most a year");
    let res = carl.post("/account/tokens", &[("name", "Mine"), ("scopes", "read"), ("days", "7")]).await;
    let secret = res.texts("#token-secret").pop().expect("made");
    let mut c = a.app.api_client(&secret);
    assert_eq!(c.get("/api/v1/me").await.status, 200);
    a.app.clock.advance(Duration::days(8));
    let res = c.get("/api/v1/me").await;
    assert_eq!(res.status, 401);
    assert!(body(&res)["detail"].as_str().unwrap().contains("expired"));
    // Even a token given every scope directly acts only as its member: a contributor adds nobody.
    let all = a.app.api_token(contributor, a.org, &Scope::ALL).await;
    let res = send(&mut a.app.api_client(&all), "POST", "/api/v1/people", json!({"name": "X", "email": "x@acme.example"})).await;
    assert_eq!(res.status, 403);
    // Disabled members' tokens stop working.
    sqlx::query("UPDATE memberships SET disabled_at = now() WHERE user_id = $1").bind(contributor).execute(a.app.db()).await.unwrap();
    assert_eq!(a.app.api_client(&all).get("/api/v1/me").await.status, 401);
}

#[sqlx::test]
async fn lists_page_by_cursor_filter_by_updated_since_and_answer_etags(db: PgPool) {
    let a = acme(db).await;
    for i in 0..7 {
        a.app.person(a.org, &format!("Person {i}"), &format!("p{i}@acme.example"), false).await;
    }
    let token = a.app.api_token(a.owner, a.org, &[Scope::Read]).await;
    let mut c = a.app.api_client(&token);
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let url = match &cursor {
            Some(k) => format!("/api/v1/people?limit=3&cursor={k}"),
            None => "/api/v1/people?limit=3".to_string(),
        };
        let res = c.get(&url).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let page = body(&res);
        pages += 1;
        seen.extend(page["items"].as_array().unwrap().iter().map(|p| p["email"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(k) => cursor = Some(k.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7, "no person twice");

    // The same answer again: 304 without a body.
    let res = c.get("/api/v1/people").await;
    let etag = res.header("etag").to_string();
    assert!(etag.starts_with('"'));
    c.headers.insert("if-none-match", etag.parse().unwrap());
    let res = c.get("/api/v1/people").await;
    assert_eq!(res.status, 304);
    assert!(res.body.is_empty());
    c.headers.remove("if-none-match");

    // Changed since: only what changed after the moment given.
    a.app.clock.advance(Duration::hours(1));
    let since = a.app.state.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut w = a.app.api_client(&a.app.api_token(a.owner, a.org, &[Scope::WritePeople]).await);
    let id = body(&c.get("/api/v1/people?limit=1").await)["items"][0]["id"].as_str().unwrap().to_string();
    let res = send(&mut w, "PATCH", &format!("/api/v1/people/{id}"), json!({"department": "Finance"})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(body(&res)["department"], "Finance");
    let res = c.get(&format!("/api/v1/people?updated_since={}", since.replace('+', "%2B"))).await;
    let items = body(&res)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{}", res.body);
    assert_eq!(items[0]["id"], id.as_str());

    // What cannot be read is a problem, not a crash.
    for bad in ["/api/v1/people?cursor=bm9wZQ", "/api/v1/people?limit=0", "/api/v1/people?updated_since=yesterday"] {
        let res = c.get(bad).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
        assert_eq!(res.header("content-type"), "application/problem+json", "{bad}");
    }
    let res = send(&mut w, "PATCH", &format!("/api/v1/people/{id}"), json!({"email": "not an address"})).await;
    assert_eq!(res.status, 422);
    assert_eq!(body(&res)["errors"][0]["field"], "email");
    let res = send(&mut w, "PATCH", &format!("/api/v1/people/{id}"), json!({"shoe_size": 44})).await;
    assert_eq!(res.status, 422, "unknown fields are refused: {}", res.body);
}

#[sqlx::test]
async fn the_rate_limit_answers_429_with_retry_after(db: PgPool) {
    let app = TestApp::with_config(db, |c| c.api_requests_per_minute = 3).await;
    let owner = app.user("owner@acme.example", "Olive Owner").await;
    let org = app.org("Acme", owner).await;
    let mut c = app.api_client(&app.api_token(owner, org, &[Scope::Read]).await);
    for left in ["2", "1", "0"] {
        let res = c.get("/api/v1/me").await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("ratelimit-remaining"), left);
    }
    let res = c.get("/api/v1/me").await;
    assert_eq!(res.status, 429);
    assert!(res.header("retry-after").parse::<i64>().unwrap() > 0);
    assert_eq!(res.header("ratelimit-remaining"), "0");
    app.clock.advance(Duration::minutes(1));
    assert_eq!(c.get("/api/v1/me").await.status, 200, "a new minute, a new allowance");
}

#[sqlx::test]
async fn the_openapi_document_describes_every_api_route_with_its_scope(db: PgPool) {
    let app = TestApp::new(db).await;
    let res = app.client().get("/api/v1/openapi.json").await;
    assert_eq!(res.status, 200);
    let doc = body(&res);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "{} paths", paths.len());
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let scopes: Vec<&str> = op["security"][0]["bearer"].as_array().map(|a| a.iter().filter_map(|s| s.as_str()).collect()).unwrap_or_default();
            documented.insert((method.to_uppercase(), path.clone(), scopes.join(",")));
            assert!(op["responses"]["401"].is_object(), "{method} {path} documents 401");
        }
    }
    let served: BTreeSet<(String, String, String)> = mandate::app::route_list()
        .into_iter()
        .filter_map(|(m, p, a)| match a {
            mandate::auth::policy::Access::Token(_, scope) => Some((m.to_string(), p.to_string(), scope.as_str().to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(documented, served, "the document and the router agree on paths, methods and scopes");
    let page = app.client().get("/docs/api").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/api/v1/people/sync") && page.body.contains("people:write"));
}

fn hr(i: usize) -> Value {
    json!({"external_id": format!("HR-{i:05}"), "email": format!("person{i:05}@acme.example"), "name": format!("Person {i:05}"),
           "department": if i.is_multiple_of(2) { "Sales" } else { "Engineering" }, "kind": "employee"})
}

#[sqlx::test]
async fn an_hr_sync_of_5000_people_is_idempotent_and_a_dry_run_changes_nothing(db: PgPool) {
    let a = acme(db).await;
    let mut c = a.app.api_client(&a.app.api_token(a.owner, a.org, &[Scope::WritePeople]).await);
    let people: Vec<Value> = (0..5000).map(hr).collect();
    let count = |app: &TestApp| {
        let db = app.db().clone();
        async move { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM people").fetch_one(&db).await.unwrap() }
    };
    let audit_rows = |app: &TestApp| {
        let db = app.db().clone();
        async move { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_log").fetch_one(&db).await.unwrap() }
    };

    let res = send(&mut c, "POST", "/api/v1/people/sync?dry_run=true", json!({"people": people})).await;
    assert_eq!(res.status, 200, "{}", &res.body[..res.body.len().min(500)]);
    assert_eq!((body(&res)["created"].as_u64(), body(&res)["dry_run"].as_bool()), (Some(5000), Some(true)));
    assert_eq!(count(&a.app).await, 0, "a dry run changes nothing");

    let res = send(&mut c, "POST", "/api/v1/people/sync", json!({"people": people})).await;
    assert_eq!(res.status, 200, "{}", &res.body[..res.body.len().min(500)]);
    assert_eq!(body(&res)["created"], 5000);
    assert_eq!(count(&a.app).await, 5000);
    let logged = audit_rows(&a.app).await;

    let res = send(&mut c, "POST", "/api/v1/people/sync", json!({"people": people})).await;
    let r = body(&res);
    assert_eq!((r["created"].as_u64(), r["updated"].as_u64(), r["unchanged"].as_u64()), (Some(0), Some(0), Some(5000)));
    assert_eq!(audit_rows(&a.app).await, logged, "repeating it changes nothing, not even the log");

    // A move, a leaver and a new address (same external id: the same person).
    let mut changed = people.clone();
    changed[1]["department"] = json!("Finance");
    changed[2]["end_date"] = json!("2026-12-31");
    changed[3]["email"] = json!("renamed@acme.example");
    let before: Uuid = sqlx::query_scalar("SELECT id FROM people WHERE external_id = 'HR-00003'").fetch_one(a.app.db()).await.unwrap();
    let res = send(&mut c, "POST", "/api/v1/people/sync", json!({"people": changed})).await;
    let r = body(&res);
    assert_eq!((r["created"].as_u64(), r["updated"].as_u64()), (Some(0), Some(3)), "{}", &res.body[..res.body.len().min(800)]);
    let after: (Uuid, String) = sqlx::query_as("SELECT id, email FROM people WHERE external_id = 'HR-00003'").fetch_one(a.app.db()).await.unwrap();
    assert_eq!(after, (before, "renamed@acme.example".to_string()));
    let left: Option<chrono::NaiveDate> = sqlx::query_scalar("SELECT end_date FROM people WHERE external_id = 'HR-00002'").fetch_one(a.app.db()).await.unwrap();
    assert_eq!(left.map(|d| d.to_string()).as_deref(), Some("2026-12-31"));
    assert_eq!(count(&a.app).await, 5000, "nobody is deleted");

    // Problems stop the whole call and say where.
    let mut bad = people[..3].to_vec();
    bad[1]["email"] = json!("nope");
    let res = send(&mut c, "POST", "/api/v1/people/sync", json!({"people": bad})).await;
    assert_eq!(res.status, 422);
    let r = body(&res);
    assert_eq!((r["problems"][0]["index"].as_u64(), r["problems"][0]["field"].as_str()), (Some(1), Some("email")), "{}", res.body);
}

#[sqlx::test]
async fn a_training_sync_matches_the_lms_record_ids(db: PgPool) {
    let a = acme(db).await;
    a.app.person(a.org, "Tia Trainee", "tia@acme.example", false).await;
    a.app.module(a.org, "Security awareness").await;
    let mut c = a.app.api_client(&a.app.api_token(a.owner, a.org, &[Scope::WriteTraining, Scope::Read]).await);
    let records = json!({"records": [
        {"external_id": "LMS-1", "email": "tia@acme.example", "module": "Security awareness", "completed_on": "2026-10-01", "score": 92.5},
    ]});
    let res = send(&mut c, "POST", "/api/v1/training/records/sync?dry_run=true", records.clone()).await;
    assert_eq!(body(&res)["created"], 1, "{}", res.body);
    assert_eq!(body(&c.get("/api/v1/training/records").await)["items"].as_array().unwrap().len(), 0);
    let res = send(&mut c, "POST", "/api/v1/training/records/sync", records.clone()).await;
    assert_eq!(body(&res)["created"], 1, "{}", res.body);
    let res = send(&mut c, "POST", "/api/v1/training/records/sync", records).await;
    assert_eq!((body(&res)["created"].as_u64(), body(&res)["unchanged"].as_u64()), (Some(0), Some(1)));
    // The LMS corrects the day: the same record changes.
    let corrected = json!({"records": [{"external_id": "LMS-1", "email": "tia@acme.example", "module": "Security awareness", "completed_on": "2026-10-02", "score": 92.5}]});
    let res = send(&mut c, "POST", "/api/v1/training/records/sync", corrected).await;
    assert_eq!(body(&res)["updated"], 1, "{}", res.body);
    let items = body(&c.get("/api/v1/training/records").await)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!((items[0]["completed_on"].as_str(), items[0]["source"].as_str()), (Some("2026-10-02"), Some("api")));
    let res = send(&mut c, "POST", "/api/v1/training/records/sync", json!({"records": [{"external_id": "LMS-2", "email": "nobody@acme.example", "module": "Security awareness", "completed_on": "2026-10-02"}]})).await;
    assert_eq!(res.status, 422);
    assert_eq!(body(&res)["problems"][0]["field"], "email", "{}", res.body);
}

#[sqlx::test]
async fn evidence_streams_in_acknowledgements_import_and_corrective_actions_are_written(db: PgPool) {
    let a = acme(db).await;
    let mut c = a.app.api_client(&a.app.api_token(a.owner, a.org, &Scope::ALL).await);
    let pdf: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    let res = c.multipart("/api/v1/evidence", &[("title", "Board minutes"), ("kind", "document")], Some(("file", "minutes.pdf", "application/pdf", pdf))).await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(body(&res)["sha256"], hex::encode(Sha256::digest(pdf)));
    let res = c.multipart("/api/v1/evidence", &[("title", "A program"), ("kind", "document")], Some(("file", "tool.exe", "application/octet-stream", b"MZ\x90\x00\x03"))).await;
    assert_eq!(res.status, 415, "{}", res.body);
    assert_eq!(res.header("content-type"), "application/problem+json");

    // Acknowledgements given in the LMS: recorded once.
    a.app.person(a.org, "Rita Reader", "rita@acme.example", false).await;
    let policy = a.app.policy(a.org, "Information security policy", mandate::policies::versions::model::PolicyKind::IsPolicy, false).await;
    let version = a.app.draft(a.org, policy, "# Policy\n\nText.", None, mandate::policies::versions::model::Bump::Major).await;
    a.app.sign(a.org, version, a.owner, true).await;
    let today = a.app.state.clock.now().date_naive().to_string();
    let acks = json!({"acknowledgements": [{"email": "rita@acme.example", "policy": "Information security policy", "acknowledged_on": today, "how": "lms"}]});
    let res = send(&mut c, "POST", "/api/v1/acknowledgements", acks.clone()).await;
    assert_eq!((res.status.as_u16(), body(&res)["recorded"].as_u64()), (200, Some(1)), "{}", res.body);
    let res = send(&mut c, "POST", "/api/v1/acknowledgements", acks).await;
    assert_eq!((body(&res)["recorded"].as_u64(), body(&res)["skipped"].as_u64()), (Some(0), Some(1)));

    // A corrective action: written by the owner; a contributor who does not own it is refused.
    mandate::findings::sync_org(&a.app.state, a.org).await.unwrap();
    let finding: Uuid = sqlx::query_scalar("SELECT id FROM findings WHERE org_id = $1 AND status = 'open' ORDER BY id LIMIT 1").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    let res = send(&mut c, "PATCH", &format!("/api/v1/findings/{finding}"), json!({"cause": "Nobody owned it.", "due_on": "2026-12-20"})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!((body(&res)["cause"].as_str(), body(&res)["due_on"].as_str()), (Some("Nobody owned it."), Some("2026-12-20")));
    let carl = a.app.user("carl@acme.example", "Carl Contributor").await;
    a.app.member(a.org, carl, Role::Contributor).await;
    let mut cc = a.app.api_client(&a.app.api_token(carl, a.org, &[Scope::WriteFindings]).await);
    let res = send(&mut cc, "PATCH", &format!("/api/v1/findings/{finding}"), json!({"cause": "Mine now"})).await;
    assert_eq!(res.status, 403);
}

#[sqlx::test]
async fn the_oscal_documents_are_served_and_validate(db: PgPool) {
    let a = acme(db).await;
    let (_, _) = a.app.evidence(a.org, "Board minutes", "minutes.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").await;
    let mut c = a.app.api_client(&a.app.api_token(a.owner, a.org, &[Scope::Read]).await);
    let mut docs = Vec::new();
    for name in ["catalog", "component-definition", "assessment-results"] {
        let res = c.get(&format!("/api/v1/oscal/{name}")).await;
        assert_eq!(res.status, 200, "{name}: {}", res.body);
        assert!(body(&res).get(name).is_some(), "{name}");
        docs.push((format!("{name}.json"), res.bytes));
    }
    let refs: Vec<(&str, &[u8])> = docs.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    crate::bundles::validate_oscal(&refs);
    let res = c.get("/api/v1/oscal/assessment-results?as_of=2099-01-01").await;
    assert_eq!(res.status, 400, "the future has no records");
}

#[sqlx::test]
async fn syncs_refuse_what_they_cannot_apply_and_say_where_at_any_length(db: PgPool) {
    let a = acme(db).await;
    a.app.person(a.org, "Tia Trainee", "tia@acme.example", false).await;
    a.app.module(a.org, "Security awareness").await;
    let mut c = a.app.api_client(&a.app.api_token(a.owner, a.org, &[Scope::WritePeople, Scope::WriteTraining]).await);
    // Two hundred bad addresses: the whole list comes back, however long.
    let bad: Vec<Value> = (0..200).map(|i| json!({"email": format!("not-an-address-{i}"), "name": format!("P {i}")})).collect();
    let res = send(&mut c, "POST", "/api/v1/people/sync", json!({"people": bad})).await;
    assert_eq!(res.status, 422);
    assert_eq!(body(&res)["problems"].as_array().unwrap().len(), 200, "{}", &res.body[..res.body.len().min(300)]);
    // The same external id twice.
    let twice = json!({"people": [{"external_id": "X", "email": "a@acme.example", "name": "A"}, {"external_id": "X", "email": "b@acme.example", "name": "B"}]});
    let res = send(&mut c, "POST", "/api/v1/people/sync?dry_run=true", twice).await;
    assert_eq!((res.status.as_u16(), body(&res)["problems"][0]["index"].as_u64()), (422, Some(1)), "{}", res.body);
    // The same completion under two record ids; a score kept to one decimal is no change the second time.
    let dup = json!({"records": [
        {"external_id": "L-1", "email": "tia@acme.example", "module": "Security awareness", "completed_on": "2026-10-01"},
        {"external_id": "L-2", "email": "tia@acme.example", "module": "Security awareness", "completed_on": "2026-10-01"}]});
    let res = send(&mut c, "POST", "/api/v1/training/records/sync", dup).await;
    assert_eq!((res.status.as_u16(), body(&res)["problems"][0]["index"].as_u64()), (422, Some(1)), "{}", res.body);
    let scored = json!({"records": [{"external_id": "L-3", "email": "tia@acme.example", "module": "Security awareness", "completed_on": "2026-10-02", "score": 86.67}]});
    assert_eq!(body(&send(&mut c, "POST", "/api/v1/training/records/sync", scored.clone()).await)["created"], 1);
    let res = send(&mut c, "POST", "/api/v1/training/records/sync", scored).await;
    assert_eq!((body(&res)["updated"].as_u64(), body(&res)["unchanged"].as_u64()), (Some(0), Some(1)), "{}", res.body);
}

#[sqlx::test]
async fn an_external_id_change_is_logged_and_the_sign_in_rules_stop_tokens_too(db: PgPool) {
    let a = acme(db).await;
    let id = a.app.person(a.org, "Pat Person", "pat@acme.example", false).await;
    let mut c = a.app.api_client(&a.app.api_token(a.owner, a.org, &[Scope::WritePeople]).await);
    let res = send(&mut c, "PATCH", &format!("/api/v1/people/{id}"), json!({"external_id": "HR-9"})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let logged: Value = sqlx::query_scalar("SELECT details::jsonb FROM audit_log WHERE org_id = $1 AND action = 'person.updated' AND entity_id = $2").bind(a.org).bind(id.to_string()).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(logged["external_id"], json!([null, "HR-9"]));
    // The owner requires a second factor and has none: the pages stop them, and so does the API.
    sqlx::query("UPDATE organisations SET require_second_factor = true WHERE id = $1").bind(a.org).execute(a.app.db()).await.unwrap();
    let res = c.get("/api/v1/me").await;
    assert_eq!(res.status, 401);
    assert!(body(&res)["detail"].as_str().unwrap().contains("sign-in rules"));
}

#[sqlx::test]
async fn leadership_records_are_listed_and_evidence_gets_new_revisions(db: PgPool) {
    let a = acme(db).await;
    let ceo = a.app.person(a.org, "Chief Executive", "ceo@acme.example", true).await;
    let meeting = a.app.meeting(a.org, "Management review", ceo, "2026-10-01", "Minutes.").await;
    a.app.action_item(a.org, meeting, "Follow up", None, Some("2026-12-01")).await;
    a.app.decision(a.org, "Security budget", Some(ceo), Some("2026-09-01")).await;
    a.app.communication(a.org, "Why security matters", ceo, "2026-09-15").await;
    a.app.objective(a.org, "Train everyone", None).await;
    a.app.ask(a.org, ceo, "Approve the audit budget", None).await;
    let mut c = a.app.api_client(&a.app.api_token(a.owner, a.org, &[Scope::Read, Scope::WriteEvidence]).await);
    for (path, field, want) in [
        ("/api/v1/actions", "title", "Follow up"),
        ("/api/v1/decisions", "title", "Security budget"),
        ("/api/v1/communications", "subject", "Why security matters"),
        ("/api/v1/objectives", "title", "Train everyone"),
        ("/api/v1/asks", "what", "Approve the audit budget"),
    ] {
        let res = c.get(path).await;
        assert_eq!(res.status, 200, "{path}: {}", res.body);
        assert_eq!(body(&res)["items"][0][field], want, "{path}");
    }
    // A newer file for an item: the item now names it, and the older stays.
    let (item, _) = a.app.evidence(a.org, "Signed policy", "policy.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").await;
    let v2: &[u8] = b"%PDF-1.4\n% version 2\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    let res = c.multipart(&format!("/api/v1/evidence/{item}/revisions"), &[], Some(("file", "policy-v2.pdf", "application/pdf", v2))).await;
    assert_eq!(res.status, 201, "{}", res.body);
    let e = body(&res);
    assert_eq!((e["revisions"].as_i64(), e["filename"].as_str()), (Some(2), Some("policy-v2.pdf")));
    let file = c.get(&format!("/api/v1/evidence/files/{}", e["revision_id"].as_str().unwrap())).await;
    assert_eq!(file.bytes, v2);
    assert_eq!(file.header("x-evidence-sha256"), hex::encode(Sha256::digest(v2)));
    let res = c.multipart(&format!("/api/v1/evidence/{item}/revisions"), &[], None).await;
    assert_eq!(res.status, 422, "no file: {}", res.body);
}

#[sqlx::test]
async fn the_audit_log_and_the_members_are_read_page_by_page(db: PgPool) {
    let a = acme(db).await;
    for i in 0..5 {
        a.app.person(a.org, &format!("Person {i}"), &format!("p{i}@acme.example"), false).await;
    }
    let mut c = a.app.api_client(&a.app.api_token(a.owner, a.org, &[Scope::Read]).await);
    let (mut rows, mut after) = (Vec::new(), None::<i64>);
    loop {
        let url = after.map_or("/api/v1/audit-log?limit=2".to_string(), |s| format!("/api/v1/audit-log?limit=2&after_seq={s}"));
        let page = body(&c.get(&url).await);
        rows.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_after_seq"].as_i64() {
            Some(s) => after = Some(s),
            None => break,
        }
    }
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE chain = $1").bind(a.org).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(rows.len() as i64, logged);
    // The rows chain: each names the hash of the one before.
    for pair in rows.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
        assert_eq!(pair[1]["seq"].as_i64().unwrap(), pair[0]["seq"].as_i64().unwrap() + 1);
    }
    let members = body(&c.get("/api/v1/members").await);
    assert_eq!(members["items"][0]["email"], "owner@acme.example");
    assert_eq!(members["items"][0]["role"], "owner");
}
