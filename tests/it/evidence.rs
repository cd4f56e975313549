//! The evidence vault: limits, content checks, names, revisions, links,
//! validity, tenancy, downloads and the sweep of interrupted uploads.
use mandate::ids::OrgId;
use crate::support::{Client, TestApp};
use axum::body::{Body, Bytes};
use axum::http::{Method, StatusCode};
use futures_util::StreamExt;
use mandate::auth::policy::Role;
use mandate::config::MIB;
use mandate::evidence::store::EvidenceStore;
use mandate::requirements::catalogue::requirement_id;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

struct Acme {
    app: TestApp,
    org: OrgId,
    lead: Client,
}

async fn acme_with(db: PgPool, tweak: impl FnOnce(&mut mandate::config::Config)) -> Acme {
    let app = TestApp::with_config(db, tweak).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let lead_user = app.user("lead@acme.example", "Lead").await;
    app.member(org, lead_user, Role::IsmsLead).await;
    let lead = app.signed_in(lead_user, Some(org)).await;
    Acme { app, org, lead }
}

async fn acme(db: PgPool) -> Acme {
    acme_with(db, |_| {}).await
}

async fn items(app: &TestApp, org: OrgId) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM evidence_items WHERE org_id = $1").bind(org).fetch_one(app.db()).await.unwrap()
}

/// Files at final keys in the store, found by walking its folder.
fn stored_files(app: &TestApp) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(std::path::Path::new(&app.state.store.description), &mut out);
    out
}

async fn add(c: &mut Client, title: &str, filename: &str, bytes: &[u8], extra: &[(&str, &str)]) -> crate::support::Resp {
    let mut fields = vec![("title", title), ("kind", "document")];
    fields.extend_from_slice(extra);
    c.multipart("/evidence", &fields, Some(("file", filename, "application/octet-stream", bytes))).await
}

#[sqlx::test]
async fn upload_revise_download_and_history(db: PgPool) {
    let mut a = acme(db).await;
    let res = add(&mut a.lead, "Signed IS policy", "policy.pdf", PDF, &[("evidence_date", "2026-10-01"), ("review_interval_months", "12")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = a.lead.get(res.location()).await;
    assert!(page.texts(".flash").concat().contains("was added"));
    assert!(page.body.contains("until 2027-10-01"));
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(PDF));
    assert!(page.body.contains(&sha), "the SHA-256 is shown");

    let v2 = b"%PDF-1.7\nsecond version\n%%EOF";
    let res = a.lead.upload(&format!("{}/revisions", res.location()), "file", "policy-v2.pdf", "application/pdf", v2).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = a.lead.get(res.location()).await;
    assert_eq!(page.texts("#revisions-h + table tbody tr").len(), 2);
    let links: Vec<String> = page.html().select(&scraper::Selector::parse("#revisions-h + table a").unwrap()).map(|e| e.value().attr("href").unwrap().to_string()).collect();
    let newest = a.lead.get(&links[0]).await;
    assert_eq!(newest.body.as_bytes(), v2);
    let oldest = a.lead.get(&links[1]).await;
    assert_eq!(oldest.body.as_bytes(), PDF, "earlier revisions stay downloadable");
    assert_eq!(oldest.header("content-type"), "application/pdf");
    assert_eq!(oldest.header("content-disposition"), "attachment; filename=\"policy.pdf\"; filename*=UTF-8''policy.pdf");
    assert_eq!(oldest.header("x-content-type-options"), "nosniff");
    assert!(oldest.header("content-security-policy").starts_with("sandbox"));
    assert_eq!(oldest.header("x-evidence-sha256"), sha);
    let history = page.texts(".activity li").join("\n");
    assert!(history.contains("uploaded a new evidence file") && history.contains("added evidence"), "{history}");
    // Revisions are immutable in the database itself.
    let refused = sqlx::query("UPDATE evidence_revisions SET filename = 'x'").execute(a.app.db()).await;
    assert!(refused.is_err());
}

#[sqlx::test]
async fn the_limit_is_exact_and_checked_while_streaming(db: PgPool) {
    let mut a = acme_with(db, |c| c.max_upload_bytes = MIB).await;
    let exact = vec![b'a'; MIB as usize];
    let res = add(&mut a.lead, "Exactly one MiB", "big.txt", &exact, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let over = vec![b'a'; MIB as usize + 1];
    let res = add(&mut a.lead, "One byte more", "bigger.txt", &over, &[]).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.body.contains("larger than the 1 MiB"));
    assert_eq!(items(&a.app, a.org).await, 1);

    // A body that never ends is refused once it passes the limit: nothing waits for the rest.
    let token = a.lead.token().await;
    let url = mandate::auth::csrf::upload_action("/evidence", &token);
    let head = "--b\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nEndless\r\n--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ndocument\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"endless.txt\"\r\n\r\n";
    // Like a network connection, it has nothing ready now and then.
    let endless = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from(head))]).chain(futures_util::stream::unfold((), |_| async {
        tokio::task::yield_now().await;
        Some((Ok(Bytes::from(vec![b'x'; 64 * 1024])), ()))
    }));
    let res = tokio::time::timeout(
        Duration::from_secs(20),
        a.lead.send_body(Method::POST, &url, Some("multipart/form-data; boundary=b"), Body::from_stream(endless)),
    )
    .await
    .expect("answered without reading an endless body");
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(items(&a.app, a.org).await, 1);
    let files = stored_files(&a.app);
    assert_eq!(files.len(), 1, "only the accepted file is stored: {files:?}");
}

#[sqlx::test]
async fn a_declared_length_over_the_limit_is_refused_before_reading(db: PgPool) {
    let mut a = acme_with(db, |c| c.max_upload_bytes = MIB).await;
    let token = a.lead.token().await;
    let url = mandate::auth::csrf::upload_action("/evidence", &token);
    // Declares 100 MiB but sends nothing: reading would hang.
    let pending = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
    a.lead.headers.insert("content-length", (100 * MIB).to_string().parse().unwrap());
    let res = tokio::time::timeout(
        Duration::from_secs(10),
        a.lead.send_body(Method::POST, &url, Some("multipart/form-data; boundary=b"), Body::from_stream(pending)),
    )
    .await
    .expect("refused before reading the body");
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[sqlx::test]
async fn content_decides_the_type_not_the_name(db: PgPool) {
    let mut a = acme(db).await;
    let cases: [(&str, &[u8]); 6] = [
        ("policy.pdf", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"),
        ("logo.pdf", b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"></svg>"),
        ("empty.pdf", b""),
        ("cut.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n"),
        ("report.pdf", b"plain words pretending"),
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"),
    ];
    for (name, bytes) in cases {
        let res = add(&mut a.lead, "Bad", name, bytes, &[]).await;
        assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{name}: {}", res.body);
        assert!(res.has(".error-summary"), "{name}: the reason is shown");
    }
    assert_eq!(items(&a.app, a.org).await, 0);
    assert!(stored_files(&a.app).is_empty(), "nothing left in the store");
    for (name, bytes) in [("notes.md", &b"# Notes"[..]), ("staff.csv", b"a,b\n1,2\n"), ("scan.png", b"\x89PNG\r\n\x1a\n....IEND\xaeB`\x82")] {
        let res = add(&mut a.lead, name, name, bytes, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{name}: {}", res.body);
    }
}

#[sqlx::test]
async fn hostile_file_names_are_cleaned(db: PgPool) {
    let mut a = acme(db).await;
    let long = format!("{}.pdf", "x".repeat(300));
    let names = ["../../etc/passwd.pdf", "a\u{0}b.pdf", "quarterly\u{202E}fdp.pdf", long.as_str(), "..\\..\\windows\\evil.pdf"];
    for name in names {
        let res = add(&mut a.lead, "Named", name, PDF, &[]).await;
        assert!(res.status == StatusCode::SEE_OTHER || res.status == StatusCode::BAD_REQUEST, "{name:?}: {}", res.status);
    }
    let stored: Vec<String> = sqlx::query_scalar("SELECT filename FROM evidence_revisions WHERE org_id = $1").bind(a.org).fetch_all(a.app.db()).await.unwrap();
    assert!(stored.contains(&"passwd.pdf".to_string()), "{stored:?}");
    assert!(stored.contains(&"evil.pdf".to_string()), "{stored:?}");
    assert!(stored.contains(&"quarterlyfdp.pdf".to_string()), "{stored:?}");
    for name in &stored {
        assert!(name.len() <= 200 && name.ends_with(".pdf"), "{name}");
        assert!(!name.contains(['/', '\\', '\0', '\r', '\n', '\u{202E}']), "{name:?}");
    }
    // Keys are ours: no part of a file name reaches the store.
    let keys: Vec<String> = sqlx::query_scalar("SELECT object_key FROM evidence_revisions WHERE org_id = $1").bind(a.org).fetch_all(a.app.db()).await.unwrap();
    for k in keys {
        let parts: Vec<&str> = k.split('/').collect();
        assert_eq!(parts.len(), 3, "{k}");
        assert_eq!(parts[0], "orgs");
        assert!(parts[1].parse::<Uuid>().is_ok() && parts[2].parse::<Uuid>().is_ok(), "{k}");
    }
}

#[sqlx::test]
async fn other_tenants_and_auditors(db: PgPool) {
    let a = acme(db).await;
    let (item, revision) = a.app.evidence(a.org, "Minutes", "minutes.pdf", PDF).await;
    let other_owner = a.app.user("owner@other.example", "Other").await;
    let other = a.app.org("Other", other_owner).await;
    let mut o = a.app.signed_in(other_owner, Some(other)).await;
    assert_eq!(o.get(&format!("/evidence/files/{revision}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(o.get(&format!("/evidence/{item}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(o.get(&format!("/evidence/files/{}", Uuid::new_v4())).await.status, StatusCode::NOT_FOUND, "same answer as a missing id");
    let res = o.upload(&format!("/evidence/{item}/revisions"), "file", "x.pdf", "application/pdf", PDF).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(!o.get("/evidence").await.body.contains("Minutes"));

    let auditor = a.app.user("auditor@cb.example", "Auditor").await;
    a.app.member(a.org, auditor, Role::Auditor).await;
    let mut au = a.app.signed_in(auditor, Some(a.org)).await;
    assert_eq!(au.get(&format!("/evidence/files/{revision}")).await.status, StatusCode::OK, "auditors read");
    let res = add(&mut au, "Sneaky", "x.pdf", PDF, &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = au.upload(&format!("/evidence/{item}/revisions"), "file", "x.pdf", "application/pdf", PDF).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(items(&a.app, a.org).await, 1);
    let revisions: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence_revisions").fetch_one(a.app.db()).await.unwrap();
    assert_eq!(revisions, 1);
    assert!(!au.get(&format!("/evidence/{item}")).await.has("form[enctype]"), "no upload form for auditors");
}

#[sqlx::test]
async fn requirement_pages_show_and_prelink_their_evidence(db: PgPool) {
    let mut a = acme(db).await;
    let req = requirement_id("iso27001-2022-leadership", "5.2(a)");
    let page = a.lead.get(&format!("/requirements/{req}")).await;
    assert!(page.body.contains("No evidence is linked yet"));
    let new = a.lead.get(&format!("/evidence/new?requirement={req}")).await;
    assert!(new.has(&format!("input[name=links][value='requirement:{req}'][checked]")));
    let link = format!("requirement:{req}");
    let res = add(&mut a.lead, "IS policy v3", "policy.pdf", PDF, &[("links", link.as_str())]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = a.lead.get(&format!("/requirements/{req}")).await;
    assert_eq!(page.texts("#req-evidence-h + table tbody tr td:first-child"), vec!["IS policy v3"]);
    let filtered = a.lead.get(&format!("/evidence?requirement={req}")).await;
    assert_eq!(filtered.texts("main table tbody tr td:first-child"), vec!["IS policy v3"]);

    // Links to another tenant's records are refused.
    let other_owner = a.app.user("owner@other.example", "Other").await;
    let other = a.app.org("Other", other_owner).await;
    let role = a.app.role(other, "Theirs", false, false).await;
    let someone = a.app.person(other, "Them", "them@other.example", true).await;
    let (appointment, _) = a.app.appoint(other, role, someone, someone).await;
    let item = res.location().to_string();
    let res = a.lead.post(&format!("{item}/links"), &[("target", &format!("appointment:{appointment}"))]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn validity_filters_and_export(db: PgPool) {
    let mut a = acme(db).await;
    for (title, until) in [("Old minutes", "2026-10-01"), ("Expiring plan", "2026-11-20"), ("Fresh policy", "2027-10-01")] {
        let res = add(&mut a.lead, title, "f.pdf", PDF, &[("evidence_date", "2026-01-01"), ("valid_until", until)]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    }
    let titles = |res: &crate::support::Resp| res.texts("main table tbody tr td:first-child");
    assert_eq!(titles(&a.lead.get("/evidence?status=expired").await), vec!["Old minutes"]);
    assert_eq!(titles(&a.lead.get("/evidence?status=expiring").await), vec!["Expiring plan"]);
    assert_eq!(titles(&a.lead.get("/evidence?status=current").await), vec!["Fresh policy"]);
    assert_eq!(titles(&a.lead.get("/evidence?q=plan").await), vec!["Expiring plan"]);
    let csv = a.lead.get("/evidence.csv?status=expired").await;
    assert_eq!(csv.body.lines().count(), 2);
    assert!(csv.body.contains("Old minutes") && csv.body.contains("Expired"));
}

#[sqlx::test]
async fn bad_details_keep_nothing_and_say_so(db: PgPool) {
    let mut a = acme(db).await;
    let res = add(&mut a.lead, "", "policy.pdf", PDF, &[("evidence_date", "2099-01-01")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.has("#f-title-error") && res.has("#f-evidence_date-error"));
    assert!(res.body.contains("choose the file again"));
    assert_eq!(items(&a.app, a.org).await, 0);
    assert!(stored_files(&a.app).is_empty(), "the uploaded file was removed");
    let link = a.lead.multipart("/evidence", &[("title", "Wiki page"), ("kind", "external_link"), ("external_url", "https://wiki.acme.example/isms")], None).await;
    assert_eq!(link.status, StatusCode::SEE_OTHER, "external links need no file: {}", link.body);
    let js = a.lead.multipart("/evidence", &[("title", "Bad link"), ("kind", "external_link"), ("external_url", "javascript:alert(1)")], None).await;
    assert_eq!(js.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test]
async fn the_quota_is_per_organisation(db: PgPool) {
    let mut a = acme_with(db, |c| c.org_quota_bytes = 100).await;
    assert_eq!(add(&mut a.lead, "Small", "a.txt", &[b'a'; 60], &[]).await.status, StatusCode::SEE_OTHER);
    let res = add(&mut a.lead, "Too much", "b.txt", &[b'b'; 60], &[]).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.body.contains("evidence storage"), "{}", res.body);
    let other_owner = a.app.user("owner@other.example", "Other").await;
    let other = a.app.org("Other", other_owner).await;
    let mut o = a.app.signed_in(other_owner, Some(other)).await;
    assert_eq!(add(&mut o, "Theirs", "c.txt", &[b'c'; 60], &[]).await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn the_sweep_removes_partial_and_unreferenced_files_only(db: PgPool) {
    let a = acme(db).await;
    let (_, kept) = a.app.evidence(a.org, "Kept", "kept.pdf", PDF).await;
    let root = std::path::PathBuf::from(&a.app.state.store.description);
    let orphan_key = EvidenceStore::key_for(a.org, mandate::ids::RevisionId::new());
    std::fs::write(root.join(&orphan_key), PDF).unwrap();
    let partial = root.join(format!("{}#1", EvidenceStore::key_for(a.org, mandate::ids::RevisionId::new())));
    std::fs::write(&partial, b"half a fi").unwrap();
    let now = a.app.state.clock.now();
    // Young leftovers may belong to an upload still running elsewhere.
    let young = a.app.state.store.sweep(a.app.db(), chrono::Utc::now(), chrono::Duration::hours(1)).await.unwrap();
    assert_eq!(young, Default::default());
    let swept = a.app.state.store.sweep(a.app.db(), now.max(chrono::Utc::now()) + chrono::Duration::hours(2), chrono::Duration::hours(1)).await.unwrap();
    assert_eq!((swept.partial, swept.orphans), (1, 1));
    assert!(!partial.exists() && !root.join(&orphan_key).exists());
    assert!(root.join(EvidenceStore::key_for(a.org, mandate::ids::RevisionId(kept))).exists());
}

#[sqlx::test]
async fn a_failure_after_the_file_leaves_no_file_and_keeps_the_form(db: PgPool) {
    let mut a = acme(db).await;
    // The file arrives first, then a field far too long: the stored file must go again.
    let token = a.lead.token().await;
    let url = mandate::auth::csrf::upload_action("/evidence", &token);
    let long = "x".repeat(300 * 1024);
    let body = format!(
        "--b\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nKept title\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.pdf\"\r\n\r\n{}\r\n--b\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n{long}\r\n--b--\r\n",
        String::from_utf8_lossy(PDF)
    );
    let res = a.lead.send(Method::POST, &url, Some("multipart/form-data; boundary=b"), body.into_bytes()).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.body.contains("value=\"Kept title\""), "typed input is shown again");
    assert!(stored_files(&a.app).is_empty(), "{:?}", stored_files(&a.app));
    assert_eq!(items(&a.app, a.org).await, 0);

    let many: Vec<(String, String)> = (0..300).map(|i| (format!("f{i}"), "x".to_string())).collect();
    let fields: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = a.lead.multipart("/evidence", &fields, None).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "too many fields");
}
