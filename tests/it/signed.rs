//! Signed means final (issue 17): a signed-off management review and a
//! signed policy version keep the exact evidence revisions they were signed
//! with, in their pages, exports and bundles; their evidence cannot be
//! linked or unlinked any more; every edit is refused with a sentence that
//! says what to do instead; corrections go into append-only addenda; and
//! every act records the account and the person it stands for.
use mandate::ids::OrgId;
use crate::support::{id_after, Client, PASSWORD, TestApp};
use async_zip::tokio::read::fs::ZipFileReader;
use axum::http::StatusCode;
use futures_util::AsyncReadExt;
use mandate::auth::policy::Role;
use mandate::bundles::manifest::evidence_path;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::BTreeMap;
use uuid::Uuid;

const MINUTES_V1: &[u8] = b"%PDF-1.4\n% minutes as signed off\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
const MINUTES_V2: &[u8] = b"%PDF-1.4\n% minutes rewritten afterwards\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
const OTHER: &[u8] = b"%PDF-1.4\n% something else\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

struct Acme {
    app: TestApp,
    org: OrgId,
    lead: Client,
    ceo_client: Client,
    /// The CEO in the directory: top management, acting with `ceo_client`'s account.
    ceo: Uuid,
}

async fn acme(db: PgPool) -> Acme {
    let crate::support::AcmeCore { app, org, lead_user, ceo_user, ceo, .. } = crate::support::acme_core(db).await;
    let lead = app.signed_in(lead_user, Some(org)).await;
    let ceo_client = app.signed_in(ceo_user, Some(org)).await;
    Acme { app, org, lead, ceo_client, ceo }
}

/// Adds evidence through the upload form, linked to `link` (`kind:id`); returns (item, revision).
async fn upload(a: &mut Acme, title: &str, filename: &str, bytes: &[u8], link: &str) -> (Uuid, Uuid) {
    let fields = [("title", title), ("kind", "minutes"), ("links", link)];
    let res = a.lead.multipart("/evidence", &fields, Some(("file", filename, "application/pdf", bytes))).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let item = id_after(res.location(), "/evidence/");
    (item, newest_revision(&a.app, item).await)
}

async fn newest_revision(app: &TestApp, item: Uuid) -> Uuid {
    sqlx::query_scalar("SELECT id FROM evidence_revisions WHERE item_id = $1 ORDER BY number DESC LIMIT 1").bind(item).fetch_one(app.db()).await.unwrap()
}

/// A new revision through the item's upload form; returns it.
async fn revise(a: &mut Acme, item: Uuid, filename: &str, bytes: &[u8]) -> Uuid {
    let res = a.lead.upload(&format!("/evidence/{item}/revisions"), "file", filename, "application/pdf", bytes).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    // Follow the redirect, as a browser does: the flash naming the new file is shown there.
    assert!(a.lead.get(res.location()).await.body.contains(filename));
    newest_revision(&a.app, item).await
}

/// A bundle as of today, made and downloaded through the app; its entries by name.
async fn bundle(a: &mut Acme) -> BTreeMap<String, Vec<u8>> {
    let res = a.lead.post("/bundles", &[("as_of", "2026-11-02")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let id = id_after(res.location(), "/bundles/");
    assert_eq!(mandate::bundles::jobs::run_next(&a.app.state, "test").await.unwrap(), Some(mandate::ids::JobId(id)));
    let zip = a.lead.get(&format!("/bundles/{id}/download")).await;
    assert_eq!(zip.status, StatusCode::OK);
    let path = std::env::temp_dir().join(format!("mandate-signed-{}.zip", Uuid::new_v4().simple()));
    std::fs::write(&path, &zip.bytes).unwrap();
    let reader = ZipFileReader::new(&path).await.unwrap();
    let mut out = BTreeMap::new();
    for i in 0..reader.file().entries().len() {
        let name = reader.file().entries()[i].filename().as_str().unwrap().to_string();
        let mut data = Vec::new();
        reader.reader_without_entry(i).await.unwrap().read_to_end(&mut data).await.unwrap();
        out.insert(name, data);
    }
    let _ = std::fs::remove_file(&path);
    out
}

fn text(entries: &BTreeMap<String, Vec<u8>>, name: &str) -> String {
    String::from_utf8(entries.get(name).unwrap_or_else(|| panic!("no {name} in the bundle")).clone()).unwrap()
}

/// The part of the bundle's index.html from one heading to the next.
fn index_section(index: &str, heading: &str) -> String {
    let start = index.find(heading).unwrap_or_else(|| panic!("no {heading} in the index"));
    let rest = &index[start + heading.len()..];
    rest[..rest.find("<h2>").unwrap_or(rest.len())].to_string()
}

#[sqlx::test]
async fn a_signed_off_review_keeps_the_evidence_revisions_it_was_signed_off_with(db: PgPool) {
    let mut a = acme(db).await;
    let meeting = a.app.meeting(a.org, "Management review 2026", a.ceo, "2026-10-01", "").await;
    let (minutes, r1) = upload(&mut a, "Review minutes", "minutes-v1.pdf", MINUTES_V1, &format!("meeting:{meeting}")).await;
    let res = a.ceo_client.post(&format!("/meetings/{meeting}/sign-off"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // The revision current at the sign-off is recorded with it.
    let pinned: Vec<(Uuid, Option<Uuid>)> =
        sqlx::query_as("SELECT item_id, revision_id FROM evidence_pins WHERE target_kind = 'meeting' AND target_id = $1").bind(meeting).fetch_all(a.app.db()).await.unwrap();
    assert_eq!(pinned, vec![(minutes, Some(r1))]);

    // The minutes file gets a new revision later: the evidence item may change...
    a.app.clock.advance(chrono::Duration::minutes(10));
    let r2 = revise(&mut a, minutes, "minutes-v2.pdf", MINUTES_V2).await;
    assert_ne!(r1, r2);

    // ...but the signed review still shows, exports and bundles revision 1.
    let page = a.lead.get(&format!("/meetings/{meeting}")).await;
    assert!(page.has(&format!("a[href='/evidence/files/{r1}']")), "{}", page.body);
    assert!(!page.has(&format!("a[href='/evidence/files/{r2}']")));
    assert!(page.body.contains("minutes-v1.pdf") && !page.body.contains("minutes-v2.pdf"), "{}", page.body);
    let file = a.lead.get(&format!("/evidence/files/{r1}")).await;
    assert_eq!(file.bytes, MINUTES_V1);

    let csv = a.lead.get("/meetings.csv").await;
    let row = csv.body.lines().find(|l| l.contains("Management review 2026")).unwrap().to_string();
    assert!(row.contains("Review minutes (revision 1, minutes-v1.pdf, SHA-256 "), "{row}");
    assert!(row.contains(&hex::encode(Sha256::digest(MINUTES_V1))), "{row}");
    assert!(!row.contains("minutes-v2.pdf"), "{row}");

    let entries = bundle(&mut a).await;
    let v1_path = evidence_path(mandate::ids::EvidenceId(minutes), "Review minutes", 1, "minutes-v1.pdf");
    let v2_path = evidence_path(mandate::ids::EvidenceId(minutes), "Review minutes", 2, "minutes-v2.pdf");
    assert_eq!(entries.get(&v1_path).map(Vec::as_slice), Some(MINUTES_V1), "the pinned file is in the bundle");
    let meetings = index_section(&text(&entries, "index.html"), "<h2>Meetings and their sign-off</h2>");
    assert!(meetings.contains("Management review 2026"), "{meetings}");
    assert!(meetings.contains(&format!("href=\"{v1_path}\"")), "the index leads to the pinned revision: {meetings}");
    assert!(!meetings.contains(&v2_path), "never to a later one: {meetings}");
    let csv = text(&entries, "records/meetings.csv");
    assert!(csv.contains("Review minutes (revision 1, minutes-v1.pdf"), "{csv}");
    assert!(!csv.contains("minutes-v2.pdf"), "{csv}");

    // Unlinking the minutes, or linking something else, is refused with a reason...
    let target = format!("meeting:{meeting}");
    let res = a.lead.post(&format!("/evidence/{minutes}/links/remove"), &[("target", &target)]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("signed off") && res.body.contains("addendum"), "{}", res.body);
    let res = a.lead.multipart("/evidence", &[("title", "Late slides"), ("kind", "document"), ("links", &target)], Some(("file", "slides.pdf", "application/pdf", OTHER))).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    let (other, _) = a.app.evidence(a.org, "Other file", "other.pdf", OTHER).await;
    let res = a.lead.post(&format!("/evidence/{other}/links"), &[("target", &target)]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("signed off"), "{}", res.body);

    // ...and by the database itself, whoever asks.
    let unlink = sqlx::query("DELETE FROM evidence_links WHERE target_id = $1").bind(meeting).execute(a.app.db()).await.unwrap_err();
    assert_eq!(unlink.as_database_error().and_then(|d| d.code()).as_deref(), Some("MF001"));
    assert!(
        sqlx::query("INSERT INTO evidence_links (org_id, item_id, target_kind, target_id, linked_at) VALUES ($1, $2, 'meeting', $3, now())")
            .bind(a.org)
            .bind(other)
            .bind(meeting)
            .execute(a.app.db())
            .await
            .is_err()
    );
    assert!(sqlx::query("DELETE FROM evidence_pins WHERE target_id = $1").bind(meeting).execute(a.app.db()).await.is_err());
    assert!(sqlx::query("UPDATE evidence_pins SET revision_id = $2 WHERE target_id = $1").bind(meeting).bind(r2).execute(a.app.db()).await.is_err());
    // A refusal by the database reads as the same sentence, answered 409.
    match mandate::error::AppError::from(unlink) {
        mandate::error::AppError::Conflict(m) => assert!(m.contains("signed off"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let still: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence_links WHERE target_id = $1").bind(meeting).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(still, 1);
}

#[sqlx::test]
async fn a_signed_policy_version_keeps_the_document_revision_it_was_signed_with(db: PgPool) {
    let mut a = acme(db).await;
    let res = a.lead.post("/policies", &[("title", "Acceptable use"), ("kind", "acceptable_use"), ("review_months", "12"), ("audience", "all_staff")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let policy = id_after(res.location(), "/policies/");
    let fields = [("bump", "major"), ("source", "file"), ("change_summary", "First")];
    let res = a.lead.multipart(&format!("/policies/{policy}/versions"), &fields, Some(("file", "aup-v1.pdf", "application/pdf", MINUTES_V1))).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let version = id_after(res.location(), "/policies/versions/");
    let (document, r1): (Uuid, Uuid) = sqlx::query_as("SELECT r.item_id, r.id FROM policy_versions v JOIN evidence_revisions r ON r.id = v.evidence_revision_id WHERE v.id = $1")
        .bind(version)
        .fetch_one(a.app.db())
        .await
        .unwrap();
    let res = a.ceo_client.sign_version(version, PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // The document's evidence item gets a new revision afterwards.
    a.app.clock.advance(chrono::Duration::minutes(10));
    let r2 = revise(&mut a, document, "aup-v2.pdf", MINUTES_V2).await;

    // The version still names, shows and serves the file it was signed with.
    let (named, signed_sha): (Uuid, Vec<u8>) =
        sqlx::query_as("SELECT evidence_revision_id, approved_sha256 FROM policy_versions WHERE id = $1").bind(version).fetch_one(a.app.db()).await.unwrap();
    assert_eq!(named, r1);
    assert_eq!(signed_sha, Sha256::digest(MINUTES_V1).to_vec());
    let page = a.lead.get(&format!("/policies/versions/{version}")).await;
    assert!(page.has(&format!("a[href='/evidence/files/{r1}']")), "{}", page.body);
    assert!(!page.has(&format!("a[href='/evidence/files/{r2}']")));
    assert!(page.body.contains("aup-v1.pdf") && !page.body.contains("aup-v2.pdf"));
    assert!(page.body.contains(&hex::encode(Sha256::digest(MINUTES_V1))), "the document's hash is the signed one");
    assert_eq!(a.lead.get(&format!("/evidence/files/{r1}")).await.bytes, MINUTES_V1);

    // The bundle's index leads to the signed revision.
    let entries = bundle(&mut a).await;
    let title: String = sqlx::query_scalar("SELECT title FROM evidence_items WHERE id = $1").bind(document).fetch_one(a.app.db()).await.unwrap();
    let v1_path = evidence_path(mandate::ids::EvidenceId(document), &title, 1, "aup-v1.pdf");
    let v2_path = evidence_path(mandate::ids::EvidenceId(document), &title, 2, "aup-v2.pdf");
    assert_eq!(entries.get(&v1_path).map(Vec::as_slice), Some(MINUTES_V1));
    let policies = index_section(&text(&entries, "index.html"), "<h2>Policies and their approvals</h2>");
    assert!(policies.contains(&format!("href=\"{v1_path}\"")), "{policies}");
    assert!(!policies.contains(&v2_path), "{policies}");

    // Its evidence is final: the document cannot be unlinked, nothing added.
    let target = format!("policy_version:{version}");
    let res = a.lead.post(&format!("/evidence/{document}/links/remove"), &[("target", &target)]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("signed") && res.body.contains("new version"), "{}", res.body);
    let (other, _) = a.app.evidence(a.org, "Other file", "other.pdf", OTHER).await;
    let res = a.lead.post(&format!("/evidence/{other}/links"), &[("target", &target)]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(sqlx::query("DELETE FROM evidence_links WHERE target_id = $1").bind(version).execute(a.app.db()).await.is_err());

    // A draft still takes evidence.
    let res = a.lead.multipart(&format!("/policies/{policy}/versions"), &[("bump", "minor"), ("source", "markdown"), ("body_markdown", "# AUP\n\nText.")], None).await;
    let draft = id_after(res.location(), "/policies/versions/");
    let res = a.lead.post(&format!("/evidence/{other}/links"), &[("target", &format!("policy_version:{draft}"))]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
}

#[sqlx::test]
async fn every_edit_of_a_signed_record_is_refused_with_what_to_do_instead(db: PgPool) {
    let mut a = acme(db).await;
    let ceo = a.ceo.to_string();
    let meeting = a.app.meeting(a.org, "Review", a.ceo, "2026-10-01", "Minutes as agreed.").await;
    let action = a.app.action_item(a.org, meeting, "Follow up", None, Some("2026-12-01")).await;
    assert_eq!(a.ceo_client.post(&format!("/meetings/{meeting}/sign-off"), &[]).await.status, StatusCode::SEE_OTHER);

    // Fields, minutes, decisions and attendees are one form: refused, saying why and what instead.
    for fields in [
        vec![("kind", "management_review"), ("title", "Renamed"), ("held_on", "2026-10-01"), ("chair_id", ceo.as_str())],
        vec![("kind", "management_review"), ("title", "Review"), ("held_on", "2026-10-01"), ("minutes", "Rewritten minutes")],
        vec![("kind", "management_review"), ("title", "Review"), ("held_on", "2026-10-01"), ("decisions", "Other decisions")],
        vec![("kind", "management_review"), ("title", "Review"), ("held_on", "2026-10-01"), ("attendees", ceo.as_str())],
    ] {
        let res = a.lead.post(&format!("/meetings/{meeting}"), &fields).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{fields:?}");
        assert!(res.body.contains("signed off") && res.body.contains("addendum"), "{}", res.body);
    }
    let res = a.ceo_client.post(&format!("/meetings/{meeting}/sign-off"), &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("already signed off"), "{}", res.body);
    // The database says the same, in words, when asked directly.
    let err = sqlx::query("UPDATE meetings SET minutes = 'x' WHERE id = $1").bind(meeting).execute(a.app.db()).await.unwrap_err();
    assert_eq!(err.as_database_error().and_then(|d| d.code()).as_deref(), Some("MF001"));
    assert!(err.to_string().contains("addendum"), "{err}");

    // Action items are follow-up, not part of the signed record: they stay open to change.
    let res = a.lead.post(&format!("/meetings/{meeting}/actions"), &[("action_title", "Another follow-up"), ("due_on", "2026-12-15")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = a.lead.post(&format!("/actions/{action}"), &[("action_title", "Follow up"), ("status", "done"), ("closing_note", "Done in November.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // A signed policy version: the draft form and a second signature are refused.
    let policy = a.app.policy(a.org, "IS policy", mandate::policies::versions::model::PolicyKind::IsPolicy, false).await;
    let version = a.app.draft(a.org, policy, "# Policy\n\nText.", None, mandate::policies::versions::model::Bump::Major).await;
    assert_eq!(a.ceo_client.sign_version(version, PASSWORD).await.status, StatusCode::SEE_OTHER);
    let res = a.lead.post(&format!("/policies/versions/{version}"), &[("change_summary", "Edited"), ("body_markdown", "# Policy\n\nOther text.")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("new version"), "{}", res.body);
    let res = a.ceo_client.post(&format!("/policies/versions/{version}/sign"), &[("password", PASSWORD), ("document_sha", "")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let err = sqlx::query("UPDATE policy_versions SET change_summary = 'x' WHERE id = $1").bind(version).execute(a.app.db()).await.unwrap_err();
    assert_eq!(err.as_database_error().and_then(|d| d.code()).as_deref(), Some("MF001"));
}

#[sqlx::test]
async fn addenda_correct_a_signed_record_append_only_dated_and_attributed(db: PgPool) {
    let mut a = acme(db).await;
    let contributor = a.app.user("con@acme.example", "Con Tributor").await;
    a.app.member(a.org, contributor, Role::Contributor).await;
    let mut contributor = a.app.signed_in(contributor, Some(a.org)).await;
    let auditor = a.app.user("aud@cb.example", "Ann Auditor").await;
    a.app.member(a.org, auditor, Role::Auditor).await;
    let mut auditor = a.app.signed_in(auditor, Some(a.org)).await;
    let cfo_user = a.app.user("cfo@acme.example", "Cef Oh").await;
    a.app.member(a.org, cfo_user, Role::Executive).await;
    let cfo = a.app.person(a.org, "Cef Oh", "cfo@acme.example", true).await;
    a.app.link(a.org, cfo, cfo_user).await;
    let mut cfo_client = a.app.signed_in(cfo_user, Some(a.org)).await;

    let meeting = a.app.meeting(a.org, "Management review 2026", a.ceo, "2026-10-01", "The next review is on 2027-02-01.").await;
    let path = format!("/meetings/{meeting}/addenda");
    // Minutes not yet signed off are corrected in place, not by addendum.
    let res = a.lead.post(&path, &[("addendum", "Too early")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("not signed off yet"), "{}", res.body);
    assert_eq!(a.ceo_client.post(&format!("/meetings/{meeting}/sign-off"), &[]).await.status, StatusCode::SEE_OTHER);

    // The ISMS lead and the chair add addenda; others may not.
    let res = a.lead.post(&path, &[("addendum", "The next review is on 2027-03-01, not 2027-02-01.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    a.app.clock.advance(chrono::Duration::minutes(5));
    let res = a.ceo_client.post(&path, &[("addendum", "Confirmed: 2027-03-01.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(contributor.post(&path, &[("addendum", "Mine")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(auditor.post(&path, &[("addendum", "Mine")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(cfo_client.post(&path, &[("addendum", "Not the chair")]).await.status, StatusCode::FORBIDDEN);
    let res = a.lead.post(&path, &[("addendum", "   ")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Write the addendum"), "{}", res.body);

    // Shown under the unchanged record, oldest first, each with who, as which account, and when.
    let page = a.lead.get(&format!("/meetings/{meeting}")).await;
    let shown = page.texts(".addendum");
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown[0].contains("2026-11-02") && shown[0].contains("Lead, signed in as lead@acme.example") && shown[0].contains("2027-03-01, not 2027-02-01"), "{}", shown[0]);
    assert!(shown[1].contains("Cee Eo, signed in as ceo@acme.example") && shown[1].contains("Confirmed"), "{}", shown[1]);
    assert!(page.body.contains("The next review is on 2027-02-01."), "the minutes stay as signed");
    assert!(!contributor.get(&format!("/meetings/{meeting}")).await.has(&format!("form[action='{path}']")), "no form for those who may not");
    let csv = a.lead.get("/meetings.csv").await;
    assert!(csv.body.contains("2026-11-02 Lead, signed in as lead@acme.example: The next review is on 2027-03-01"), "{}", csv.body);
    assert!(csv.body.contains("2026-11-02 Cee Eo, signed in as ceo@acme.example: Confirmed: 2027-03-01."), "{}", csv.body);
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'meeting.addendum_added' AND entity_id = $1")
        .bind(meeting.to_string())
        .fetch_one(a.app.db())
        .await
        .unwrap();
    assert_eq!(logged, 2);

    // Append-only: the database refuses to change or remove one, or to add one to an unsigned record.
    let err = sqlx::query("UPDATE addenda SET body = 'rewritten' WHERE target_id = $1").bind(meeting).execute(a.app.db()).await.unwrap_err();
    assert_eq!(err.as_database_error().and_then(|d| d.code()).as_deref(), Some("MF001"));
    assert!(sqlx::query("DELETE FROM addenda WHERE target_id = $1").bind(meeting).execute(a.app.db()).await.is_err());
    let draft_meeting = a.app.meeting(a.org, "Next review", a.ceo, "2026-10-20", "").await;
    let lead_id: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'lead@acme.example'").fetch_one(a.app.db()).await.unwrap();
    assert!(
        sqlx::query("INSERT INTO addenda (id, org_id, target_kind, target_id, body, written_by, author_name, written_at) VALUES ($1, $2, 'meeting', $3, 'x', $4, 'x', now())")
            .bind(Uuid::new_v4())
            .bind(a.org)
            .bind(draft_meeting)
            .bind(lead_id)
            .execute(a.app.db())
            .await
            .is_err()
    );

    // A signed policy version: its signer and the ISMS lead add addenda; another executive does not.
    let policy = a.app.policy(a.org, "IS policy", mandate::policies::versions::model::PolicyKind::IsPolicy, false).await;
    let version = a.app.draft(a.org, policy, "# Policy\n\nText.", None, mandate::policies::versions::model::Bump::Major).await;
    let vpath = format!("/policies/versions/{version}/addenda");
    assert_eq!(a.lead.post(&vpath, &[("addendum", "Too early")]).await.status, StatusCode::CONFLICT);
    assert_eq!(a.ceo_client.sign_version(version, PASSWORD).await.status, StatusCode::SEE_OTHER);
    let res = a.ceo_client.post(&vpath, &[("addendum", "Section 2 means all staff, contractors included.")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    a.app.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(a.lead.post(&vpath, &[("addendum", "Noted by the ISMS lead.")]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(cfo_client.post(&vpath, &[("addendum", "Not the signer")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(contributor.post(&vpath, &[("addendum", "Mine")]).await.status, StatusCode::FORBIDDEN);
    let page = a.lead.get(&format!("/policies/versions/{version}")).await;
    let shown = page.texts(".addendum");
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown[0].contains("Cee Eo, signed in as ceo@acme.example") && shown[0].contains("contractors included"), "{}", shown[0]);
    let csv = a.lead.get("/policies.csv").await;
    assert!(csv.body.contains("Cee Eo, signed in as ceo@acme.example: Section 2 means all staff"), "{}", csv.body);

    // The bundle carries them all: a CSV and a section of the index.
    let entries = bundle(&mut a).await;
    let csv = text(&entries, "records/addenda.csv");
    assert!(csv.lines().next().unwrap().starts_with("record_kind,record,written_at_utc,written_by,title,account,text"), "{csv}");
    assert!(csv.contains("meeting,Management review 2026 (2026-10-01),2026-11-02 09:00,Lead,,signed in as lead@acme.example,"), "{csv}");
    assert!(csv.contains("policy version,IS policy v1.0,") && csv.contains("Section 2 means all staff"), "{csv}");
    let index = index_section(&text(&entries, "index.html"), "<h2>Addenda to signed records</h2>");
    assert!(index.contains("Confirmed: 2027-03-01.") && index.contains("Cee Eo, signed in as ceo@acme.example"), "{index}");
}

/// The CSV line of `csv` that contains `key`.
fn line_with(csv: &str, key: &str) -> String {
    csv.lines().find(|l| l.contains(key)).unwrap_or_else(|| panic!("no line with {key} in {csv}")).to_string()
}

#[sqlx::test]
async fn every_act_records_the_account_and_the_person_it_stands_for(db: PgPool) {
    let mut a = acme(db).await;
    sqlx::query("UPDATE people SET job_title = 'Chief Executive Officer' WHERE id = $1").bind(a.ceo).execute(a.app.db()).await.unwrap();
    let ceo_user: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'ceo@acme.example'").fetch_one(a.app.db()).await.unwrap();
    let lead_user: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = 'lead@acme.example'").fetch_one(a.app.db()).await.unwrap();
    let ceo_says = "Cee Eo, Chief Executive Officer, signed in as ceo@acme.example";

    // The chair's sign-off.
    let meeting = a.app.meeting(a.org, "Management review 2026", a.ceo, "2026-10-01", "Minutes.").await;
    assert_eq!(a.ceo_client.post(&format!("/meetings/{meeting}/sign-off"), &[]).await.status, StatusCode::SEE_OTHER);
    let (by, as_, title): (Option<Uuid>, Option<Uuid>, Option<String>) =
        sqlx::query_as("SELECT signed_off_by, signed_off_as, signed_off_title FROM meetings WHERE id = $1").bind(meeting).fetch_one(a.app.db()).await.unwrap();
    assert_eq!((by, as_, title.as_deref()), (Some(ceo_user), Some(a.ceo), Some("Chief Executive Officer")));
    let page = a.lead.get(&format!("/meetings/{meeting}")).await;
    assert!(page.texts(".card.signed").iter().any(|t| t.contains(ceo_says) && t.contains("2026-11-02")), "{}", page.body);
    let row = line_with(&a.lead.get("/meetings.csv").await.body, "Management review 2026");
    assert!(row.contains("Cee Eo,Chief Executive Officer,signed in as ceo@acme.example,2026-11-02"), "{row}");

    // A policy signature.
    let policy = a.app.policy(a.org, "IS policy", mandate::policies::versions::model::PolicyKind::IsPolicy, false).await;
    let version = a.app.draft(a.org, policy, "# Policy\n\nText.", None, mandate::policies::versions::model::Bump::Major).await;
    assert_eq!(a.ceo_client.sign_version(version, PASSWORD).await.status, StatusCode::SEE_OTHER);
    let (by, as_, title): (Option<Uuid>, Option<Uuid>, Option<String>) =
        sqlx::query_as("SELECT approved_by, approver_person_id, approver_title FROM policy_versions WHERE id = $1").bind(version).fetch_one(a.app.db()).await.unwrap();
    assert_eq!((by, as_, title.as_deref()), (Some(ceo_user), Some(a.ceo), Some("Chief Executive Officer")));
    let page = a.lead.get(&format!("/policies/versions/{version}")).await;
    assert!(page.texts(".card.signed dd").iter().any(|t| t.contains(ceo_says)), "{}", page.body);
    let row = line_with(&a.lead.get("/policies.csv").await.body, "IS policy");
    assert!(row.contains("2026-11-02,Cee Eo,Chief Executive Officer,signed in as ceo@acme.example,yes"), "{row}");

    // An appointment: the appointer confirms signed in; one holder accepts signed in, another through the personal link.
    let holder_user = a.app.user("rob@acme.example", "Rob Holder").await;
    a.app.member(a.org, holder_user, Role::Contributor).await;
    let holder = a.app.person(a.org, "Rob Holder", "rob@acme.example", false).await;
    sqlx::query("UPDATE people SET job_title = 'Security analyst' WHERE id = $1").bind(holder).execute(a.app.db()).await.unwrap();
    a.app.link(a.org, holder, holder_user).await;
    let mut holder_client = a.app.signed_in(holder_user, Some(a.org)).await;
    let linked = a.app.person(a.org, "Lin Kedin", "lin@acme.example", false).await;
    let role = a.app.role(a.org, "ISMS lead", true, true).await;
    let res = a.lead.post(&format!("/roles/{role}/appointments"), &[("person_id", &holder.to_string()), ("appointed_by", &a.ceo.to_string()), ("appointed_on", "2026-11-02"), ("capacity", "holder")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = a.lead.post(&format!("/roles/{role}/appointments"), &[("person_id", &linked.to_string()), ("appointed_by", &a.ceo.to_string()), ("appointed_on", "2026-11-02"), ("capacity", "deputy")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let flash = a.lead.get(res.location()).await.body;
    let token = flash.split("/accept-role/").nth(1).unwrap().split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_').next().unwrap().to_string();
    let (held, deputy): (Uuid, Uuid) = (
        sqlx::query_scalar("SELECT id FROM role_appointments WHERE person_id = $1").bind(holder).fetch_one(a.app.db()).await.unwrap(),
        sqlx::query_scalar("SELECT id FROM role_appointments WHERE person_id = $1").bind(linked).fetch_one(a.app.db()).await.unwrap(),
    );
    assert_eq!(a.ceo_client.post(&format!("/appointments/{held}/confirm"), &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(holder_client.post(&format!("/appointments/{held}/accept"), &[]).await.status, StatusCode::SEE_OTHER);
    let mut stranger = a.app.client();
    assert_eq!(stranger.post(&format!("/accept-role/{token}"), &[]).await.status, StatusCode::OK);
    type Acts = (Option<Uuid>, Option<Uuid>, Option<String>, Option<Uuid>, Option<Uuid>, Option<String>);
    let acts: Acts = sqlx::query_as("SELECT confirmed_by, confirmed_as, confirmed_title, accepted_by, accepted_as, accepted_title FROM role_appointments WHERE id = $1")
        .bind(held)
        .fetch_one(a.app.db())
        .await
        .unwrap();
    assert_eq!(acts, (Some(ceo_user), Some(a.ceo), Some("Chief Executive Officer".into()), Some(holder_user), Some(holder), Some("Security analyst".into())));
    let (by, as_): (Option<Uuid>, Option<Uuid>) = sqlx::query_as("SELECT accepted_by, accepted_as FROM role_appointments WHERE id = $1").bind(deputy).fetch_one(a.app.db()).await.unwrap();
    assert_eq!((by, as_), (None, Some(linked)), "through the link: no account, the person it was sent to");
    let page = a.lead.get(&format!("/roles/{role}")).await;
    assert!(page.body.contains(&format!("confirmed 2026-11-02 by {ceo_says}")), "{}", page.body);
    assert!(page.body.contains("2026-11-02 by Rob Holder, Security analyst, signed in as rob@acme.example"), "{}", page.body);
    assert!(page.body.contains("2026-11-02 by Lin Kedin, by personal link from 192.0.2.10"), "{}", page.body);
    let csv = a.lead.get("/roles.csv").await.body;
    let row = line_with(&csv, "Rob Holder");
    assert!(row.contains("Chief Executive Officer,signed in as ceo@acme.example") && row.contains("Security analyst,signed in as rob@acme.example"), "{row}");
    assert!(line_with(&csv, "Lin Kedin").contains(",link,,by personal link from 192.0.2.10,"), "{csv}");

    // An ask answered by the person asked, and one whose answer the ISMS lead recorded.
    let ask = a.app.ask(a.org, a.ceo, "Approve the audit budget", None).await;
    assert_eq!(a.ceo_client.post(&format!("/asks/{ask}/respond"), &[("answer", "Approved.")]).await.status, StatusCode::SEE_OTHER);
    let (by, as_, title): (Option<Uuid>, Option<Uuid>, Option<String>) =
        sqlx::query_as("SELECT answered_by, answered_as, answered_title FROM leadership_asks WHERE id = $1").bind(ask).fetch_one(a.app.db()).await.unwrap();
    assert_eq!((by, as_, title.as_deref()), (Some(ceo_user), Some(a.ceo), Some("Chief Executive Officer")));
    let other = a.app.ask(a.org, a.ceo, "Name a deputy", None).await;
    let res = a.lead.post(&format!("/asks/{other}"), &[("asked_of", &a.ceo.to_string()), ("what", "Name a deputy"), ("asked_on", "2026-10-01"), ("response", "Said yes in the corridor."), ("responded_on", "2026-11-01")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let (by, as_): (Option<Uuid>, Option<Uuid>) = sqlx::query_as("SELECT answered_by, answered_as FROM leadership_asks WHERE id = $1").bind(other).fetch_one(a.app.db()).await.unwrap();
    assert_eq!((by, as_), (Some(lead_user), None), "recorded by the lead's account, standing for nobody's own answer");
    let page = a.lead.get(&format!("/asks/{ask}")).await;
    assert!(page.body.contains(&format!("Answered 2026-11-02 by {ceo_says}.")), "{}", page.body);
    let page = a.lead.get(&format!("/asks/{other}")).await;
    assert!(page.body.contains("Answered 2026-11-01, another way; recorded by Lead, signed in as lead@acme.example."), "{}", page.body);
    let csv = a.lead.get("/asks.csv").await.body;
    assert!(line_with(&csv, "Approve the audit budget").contains("Approved.,2026-11-02,Cee Eo,Chief Executive Officer,signed in as ceo@acme.example,"), "{csv}");
    assert!(line_with(&csv, "Name a deputy").contains("recorded by Lead,,signed in as lead@acme.example,"), "{csv}");

    // The bundle says the same.
    let entries = bundle(&mut a).await;
    let meetings = text(&entries, "records/meetings.csv");
    assert!(line_with(&meetings, "Management review 2026").contains("Cee Eo,Chief Executive Officer,signed in as ceo@acme.example,2026-11-02"), "{meetings}");
    let policies = text(&entries, "records/policies.csv");
    assert!(line_with(&policies, "IS policy").contains("Cee Eo,Chief Executive Officer,signed in as ceo@acme.example,true"), "{policies}");
    let roles = text(&entries, "records/roles.csv");
    assert!(line_with(&roles, "Rob Holder").contains("Chief Executive Officer,signed in as ceo@acme.example,yes,2026-11-02 09:00,Security analyst,signed in as rob@acme.example"), "{roles}");
    assert!(line_with(&roles, "Lin Kedin").contains("by personal link from 192.0.2.10"), "{roles}");
    let asks = text(&entries, "records/asks.csv");
    assert!(line_with(&asks, "Approve the audit budget").contains("Cee Eo,Chief Executive Officer,signed in as ceo@acme.example"), "{asks}");
    assert!(line_with(&asks, "Name a deputy").contains("recorded by Lead,,signed in as lead@acme.example"), "{asks}");
    let index = text(&entries, "index.html");
    assert!(index_section(&index, "<h2>Policies and their approvals</h2>").contains(ceo_says), "{index}");
    assert!(index_section(&index, "<h2>Meetings and their sign-off</h2>").contains(ceo_says), "{index}");
}
