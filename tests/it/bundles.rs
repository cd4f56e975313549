//! Evidence bundles: contents equal the tenant's evidence and nothing of
//! another tenant, offline verification catches tampering (of the files and
//! of the ZIP itself), CSV cells are defused, a job whose worker died is
//! restarted cleanly, and the command line does the same.
use mandate::ids::OrgId;
use crate::support::TestApp;
use async_zip::base::write::ZipFileWriter;
use async_zip::tokio::read::fs::ZipFileReader;
use async_zip::{Compression, ZipEntryBuilder};
use axum::http::StatusCode;
use chrono::Duration;
use futures_util::AsyncReadExt;
use mandate::auth::policy::Role;
use mandate::bundles::{jobs, manifest};
use mandate::policies::versions::model::{Bump, PolicyKind};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use uuid::Uuid;

const PDF_A: &[u8] = b"%PDF-1.4\n% Acme board minutes\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
const PDF_A2: &[u8] = b"%PDF-1.4\n% Acme signed policy\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
const PDF_B: &[u8] = b"%PDF-1.4\n% Beta secret plan\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

struct Setup {
    app: TestApp,
    org: OrgId,
    other: OrgId,
    auditor: Uuid,
}

async fn setup(db: PgPool) -> Setup {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme Ltd", owner).await;
    let auditor = app.user("ann@cb.example", "Ann Auditor").await;
    app.member(org, auditor, Role::Auditor).await;
    app.evidence(org, "Board minutes Q3", "minutes.pdf", PDF_A).await;
    let (_, revision) = app.evidence(org, "Signed IS policy", "../../policy.pdf", PDF_A2).await;
    let policy = app.policy(org, "Information security policy", PolicyKind::IsPolicy, true).await;
    let signed = app.draft(org, policy, "", Some(revision), Bump::Major).await;
    app.sign(org, signed, owner, true).await;
    app.draft(org, policy, "# Draft\n\nThe next version.", None, Bump::Minor).await;
    app.person(org, "=HYPERLINK(\"http://evil.example\")", "formula@acme.example", false).await;
    app.person(org, "Carol CEO", "carol@acme.example", true).await;

    let b_owner = app.user("owner@beta.example", "Beta Owner").await;
    let other = app.org("Beta Corp", b_owner).await;
    app.evidence(other, "Beta plan", "plan.pdf", PDF_B).await;
    app.person(other, "Bertha Beta", "bertha@beta.example", false).await;
    Setup { app, org, other, auditor }
}

/// The SHA-256 of every evidence revision of an organisation, in hex.
async fn revision_hashes(s: &Setup, org: OrgId) -> BTreeSet<String> {
    let raw: Vec<Vec<u8>> = sqlx::query_scalar("SELECT sha256 FROM evidence_revisions WHERE org_id = $1").bind(org).fetch_all(s.app.db()).await.unwrap();
    raw.into_iter().map(hex::encode).collect()
}

pub(crate) fn temp_zip(bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("mandate-bundle-{}.zip", Uuid::new_v4().simple()));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Every entry of a ZIP, by name.
pub(crate) async fn entries(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let zip = ZipFileReader::new(path).await.unwrap();
    let mut out = BTreeMap::new();
    for i in 0..zip.file().entries().len() {
        let name = zip.file().entries()[i].filename().as_str().unwrap().to_string();
        let mut data = Vec::new();
        zip.reader_without_entry(i).await.unwrap().read_to_end(&mut data).await.unwrap();
        out.insert(name, data);
    }
    out
}

/// Writes a copy of a bundle with entries changed, dropped or added.
pub async fn rewrite(path: &Path, change: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>, add: Option<(&str, &[u8])>) -> PathBuf {
    let out = std::env::temp_dir().join(format!("mandate-tampered-{}.zip", Uuid::new_v4().simple()));
    let file = tokio::fs::File::create(&out).await.unwrap();
    let mut zip = ZipFileWriter::with_tokio(file);
    for (name, data) in entries(path).await {
        if let Some(data) = change(&name, data) {
            zip.write_entry_whole(ZipEntryBuilder::new(name.into(), Compression::Stored), &data).await.unwrap();
        }
    }
    if let Some((name, data)) = add {
        zip.write_entry_whole(ZipEntryBuilder::new(name.to_string().into(), Compression::Stored), data).await.unwrap();
    }
    zip.close().await.unwrap();
    out
}

async fn bundle_through_the_app(s: &Setup) -> (Uuid, PathBuf) {
    let mut a = s.app.signed_in(s.auditor, Some(s.org)).await;
    assert!(a.get("/bundles").await.body.contains("No bundle has been made yet"));
    let bad = a.post("/bundles", &[("as_of", "2027-01-01")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "the future has no records");
    let res = a.post("/bundles", &[("as_of", "2026-11-02"), ("period_from", "2026-01-01"), ("period_to", "2026-12-31")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let id: Uuid = res.location().trim_start_matches("/bundles/").parse().unwrap();
    let waiting = a.get(&format!("/bundles/{id}")).await;
    assert!(waiting.body.contains("Waiting for a worker"));
    assert_eq!(waiting.header("refresh"), "2", "the progress page refreshes itself");
    assert_eq!(a.get(&format!("/bundles/{id}/download")).await.status, StatusCode::CONFLICT, "not ready yet");

    assert_eq!(jobs::run_next(&s.app.state, "test-worker").await.unwrap(), Some(mandate::ids::JobId(id)));
    assert_eq!(jobs::run_next(&s.app.state, "test-worker").await.unwrap(), None, "nothing else to do");
    let done = a.get(&format!("/bundles/{id}")).await;
    assert!(done.body.contains("Download the bundle"), "{}", done.body);
    let zip = a.get(&format!("/bundles/{id}/download")).await;
    assert_eq!(zip.status, StatusCode::OK);
    assert_eq!(zip.header("content-type"), "application/zip");
    assert!(zip.header("content-disposition").starts_with("attachment;"));
    (id, temp_zip(&zip.bytes))
}

#[sqlx::test]
async fn a_bundle_holds_the_tenants_evidence_and_records_and_verifies(db: PgPool) {
    let s = setup(db).await;
    let (id, path) = bundle_through_the_app(&s).await;

    let report = manifest::verify(&path).await.unwrap();
    assert!(report.ok(), "{report:?}");
    let recorded: Vec<u8> = sqlx::query_scalar("SELECT manifest_sha256 FROM jobs WHERE id = $1").bind(id).fetch_one(s.app.db()).await.unwrap();
    assert_eq!(report.manifest_sha256, hex::encode(recorded), "verify-bundle prints the manifest hash the app recorded");

    let files = entries(&path).await;
    let m: manifest::Manifest = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(m.organisation, "Acme Ltd");
    assert_eq!(m.as_of, "2026-11-02");
    // Hash-set equality: the bundle's evidence files are exactly the tenant's revisions.
    let in_bundle: BTreeSet<String> = m.files.iter().filter(|f| f.kind == "evidence").map(|f| f.sha256.clone()).collect();
    assert_eq!(in_bundle, revision_hashes(&s, s.org).await);
    let others = revision_hashes(&s, s.other).await;
    assert!(in_bundle.is_disjoint(&others));
    for (name, data) in &files {
        let text = String::from_utf8_lossy(data);
        assert!(!text.contains("Beta") && !text.contains("bertha@beta.example"), "{name} leaks the other tenant");
        assert!(!name.contains("..") && !name.starts_with('/'), "entry name {name} is tamed");
    }
    // Every file is listed, the manifest itself and SHA256SUMS (written after it) excepted.
    let listed: BTreeSet<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    let present: BTreeSet<&str> = files.keys().map(String::as_str).filter(|n| !["manifest.json", "SHA256SUMS"].contains(n)).collect();
    assert_eq!(listed, present);
    assert_eq!(m.format, "mandate-evidence-bundle/2");
    for expected in ["README.txt", "index.html", "records/people.csv", "records/acknowledgements.csv", "records/acknowledgement-status.csv", "records/training.csv", "records/roles.csv", "records/raci.csv", "records/meetings.csv", "records/actions.csv", "records/resource-decisions.csv", "records/communications.csv", "records/objectives.csv", "records/corrective-actions.csv", "records/policies.csv", "records/gaps.csv", "audit/audit-log.jsonl"] {
        assert!(files.contains_key(expected), "{expected} is in the bundle");
    }
    // Spreadsheets never run a cell as a formula.
    let people = String::from_utf8_lossy(&files["records/people.csv"]).into_owned();
    assert!(people.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""), "{people}");
    // The index links requirement → evidence with relative links that exist in the bundle.
    let index = String::from_utf8_lossy(&files["index.html"]).into_owned();
    assert!(index.contains("Information security policy"));
    for href in index.split("href=\"").skip(1).map(|r| r.split('"').next().unwrap()) {
        assert!(files.contains_key(href), "index links to {href}, which is in the bundle");
    }
    // Binary evidence is stored as is, text is compressed.
    let zip = ZipFileReader::new(&path).await.unwrap();
    for e in zip.file().entries() {
        let name = e.filename().as_str().unwrap();
        let expect = if name.starts_with("evidence/") { Compression::Stored } else { Compression::Deflate };
        assert_eq!(e.compression(), expect, "{name}");
    }
    // The policy text and the signed document are both there.
    assert!(files.keys().any(|k| k.starts_with("policies/") && k.ends_with("/v1.1.md")));
    assert!(files.keys().any(|k| k.starts_with("evidence/signed-is-policy-") && k.ends_with("/r1-policy.pdf")));
    // The audit trail shows the request and the bundle.
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE org_id = $1 AND entity = 'bundle' ORDER BY seq").bind(s.org).fetch_all(s.app.db()).await.unwrap();
    assert_eq!(actions, ["bundle.requested", "bundle.built"]);
}

#[sqlx::test]
async fn verify_bundle_names_altered_missing_and_extra_files(db: PgPool) {
    let s = setup(db).await;
    let (_, path) = bundle_through_the_app(&s).await;
    let evidence = entries(&path).await.keys().find(|k| k.starts_with("evidence/")).unwrap().clone();

    // One byte of an evidence file changed.
    let altered = rewrite(&path, |name, mut data| {
        if name == evidence {
            data[12] ^= 1;
        }
        Some(data)
    }, None)
    .await;
    let r = manifest::verify(&altered).await.unwrap();
    assert_eq!(r.altered, vec![evidence.clone()]);
    assert!(!r.ok());

    // A file removed, another slipped in.
    let moved = rewrite(&path, |name, data| (name != "records/people.csv").then_some(data), Some(("evidence/extra.pdf", PDF_B))).await;
    let r = manifest::verify(&moved).await.unwrap();
    assert_eq!(r.missing, vec!["records/people.csv".to_string()]);
    assert_eq!(r.extra, vec!["evidence/extra.pdf".to_string()]);

    // A second manifest.json (a ZIP tool would show only one of them) is refused outright.
    let doubled = rewrite(&path, |_, data| Some(data), Some(("manifest.json", b"{}"))).await;
    let err = manifest::verify(&doubled).await.unwrap_err().to_string();
    assert!(err.contains("2 entries named manifest.json"), "{err}");

    // An audit row edited, with the manifest updated to match: the chain check still catches it.
    let forged = rewrite(&path, |name, data| {
        if name == "audit/audit-log.jsonl" {
            Some(String::from_utf8(data).unwrap().replacen("ann@cb.example", "someone@else.example", 1).into_bytes())
        } else {
            Some(data)
        }
    }, None)
    .await;
    let files = entries(&forged).await;
    let log = &files["audit/audit-log.jsonl"];
    let mut m: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    for f in m["files"].as_array_mut().unwrap() {
        if f["path"] == "audit/audit-log.jsonl" {
            f["sha256"] = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(log)).into();
            f["size"] = log.len().into();
        }
    }
    let new_manifest = serde_json::to_vec(&m).unwrap();
    let forged2 = rewrite(&forged, |name, data| Some(if name == "manifest.json" { new_manifest.clone() } else { data }), None).await;
    let r = manifest::verify(&forged2).await.unwrap();
    assert!(r.altered.is_empty() && r.missing.is_empty(), "{r:?}");
    assert!(r.audit_log.iter().any(|p| p.contains("does not match its hash")), "{r:?}");
    assert!(!r.ok());
}

#[sqlx::test]
async fn a_job_whose_worker_died_is_restarted_cleanly(db: PgPool) {
    let s = setup(db).await;
    let mut a = s.app.signed_in(s.auditor, Some(s.org)).await;
    let res = a.post("/bundles", &[("as_of", "2026-11-02")]).await;
    let id: Uuid = res.location().trim_start_matches("/bundles/").parse().unwrap();
    // A worker claims the job and dies without a word (no heartbeat, no result).
    let dead = jobs::claim(&s.app.state.db, "dead-worker", s.app.state.clock.now(), s.app.state.config.job_stale_after).await.unwrap().unwrap();
    assert_eq!((dead.id, dead.attempt), (mandate::ids::JobId(id), 1));
    assert_eq!(jobs::run_next(&s.app.state, "live").await.unwrap(), None, "a job with a fresh heartbeat is left alone");
    assert!(a.get(&format!("/bundles/{id}")).await.body.contains("Starting"));
    // Once its heartbeat is stale, another worker takes it over from the start.
    s.app.clock.advance(Duration::seconds(61));
    let taken = jobs::claim(&s.app.state.db, "live", s.app.state.clock.now(), s.app.state.config.job_stale_after).await.unwrap().unwrap();
    assert_eq!((taken.id, taken.attempt), (mandate::ids::JobId(id), 2));
    // Should the first attempt wake up and finish after all, its work is thrown away.
    jobs::run(&s.app.state, dead).await.unwrap();
    let (status, key): (String, Option<String>) = sqlx::query_as("SELECT status, result_key FROM jobs WHERE id = $1").bind(id).fetch_one(s.app.db()).await.unwrap();
    assert_eq!((status.as_str(), key), ("running", None), "the lost attempt neither finishes nor fails the job");
    assert!(s.app.state.store.read(&format!("bundles/{}/{id}-1.zip", s.org)).await.is_err(), "nor leaves its file");
    jobs::run(&s.app.state, taken).await.unwrap();
    let (status, attempts, key): (String, i32, String) =
        sqlx::query_as("SELECT status, attempts, result_key FROM jobs WHERE id = $1").bind(id).fetch_one(s.app.db()).await.unwrap();
    assert_eq!((status.as_str(), attempts), ("done", 2));
    assert!(key.ends_with(&format!("{id}-2.zip")), "each attempt writes its own file: {key}");
    let zip = a.get(&format!("/bundles/{id}/download")).await;
    assert!(manifest::verify(&temp_zip(&zip.bytes)).await.unwrap().ok());
}

#[sqlx::test]
async fn the_command_line_exports_and_verifies_a_bundle(db: PgPool) {
    let s = setup(db).await;
    let out = std::env::temp_dir().join(format!("mandate-cli-{}.zip", Uuid::new_v4().simple()));
    let url = crate::cli::database_url(s.app.db());
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_mandate"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("MANDATE_EVIDENCE_URL", format!("file://{}", s.app.state.store.description))
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        (o.status.code().unwrap(), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
    };
    let (code, text) = run(&["export", "--org", "No Such Org", "--out", out.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(text.contains("no organisation has the id or name"), "{text}");
    let (code, text) = run(&["export", "--org", "Acme Ltd", "--as-of", "2026-11-02", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("manifest SHA-256"), "{text}");
    let (code, text) = run(&["verify-bundle", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("The bundle verifies"), "{text}");
    let files = entries(&out).await;
    let m: manifest::Manifest = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(m.files.iter().filter(|f| f.kind == "evidence").count(), 2);
    // The exported bundle's OSCAL validates, and verify-bundle checked its links.
    assert!(text.contains("OSCAL evidence links checked"), "{text}");
    validate_oscal(&[("assessment-results.json", &files["oscal/assessment-results.json"]), ("catalog.json", &files["oscal/catalog.json"])]);

    let (code, text) = run(&["verify-bundle", "--expect-manifest", &"0".repeat(64), out.to_str().unwrap()]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("the manifest itself was replaced"), "{text}");
    let real = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&files["manifest.json"]));
    let (code, text) = run(&["verify-bundle", "--expect-manifest", &real, out.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("The manifest is the one Mandate recorded"), "{text}");

    let tampered = rewrite(&out, |name, data| (name != "index.html").then_some(data), None).await;
    let (code, text) = run(&["verify-bundle", tampered.to_str().unwrap()]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("MISSING: index.html"), "{text}");
}

#[sqlx::test]
async fn a_bundle_as_of_a_past_day_leaves_out_what_came_later(db: PgPool) {
    let s = setup(db).await;
    s.app.clock.advance(Duration::days(3)); // 2026-11-05
    let (late, _) = s.app.evidence(s.org, "Late minutes", "late.pdf", b"%PDF-1.4\n% later\n%%EOF\n").await;
    s.app.person(s.org, "Late Starter", "late@acme.example", false).await;
    let (_, path) = bundle_through_the_app(&s).await; // as of 2026-11-02
    let files = entries(&path).await;
    let m: manifest::Manifest = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let in_bundle: BTreeSet<String> = m.files.iter().filter(|f| f.kind == "evidence").map(|f| f.sha256.clone()).collect();
    let mut expected = revision_hashes(&s, s.org).await;
    let late_sha: Vec<u8> = sqlx::query_scalar("SELECT sha256 FROM evidence_revisions WHERE item_id = $1").bind(late).fetch_one(s.app.db()).await.unwrap();
    assert!(expected.remove(&hex::encode(late_sha)));
    assert_eq!(in_bundle, expected, "the evidence of 2026-11-02, not what was uploaded on the 5th");
    assert!(!String::from_utf8_lossy(&files["records/people.csv"]).contains("Late Starter"));
    assert!(!String::from_utf8_lossy(&files["index.html"]).contains("Late minutes"));
}

/// `mandate verify-bundle FILE`, run as a user runs it: exit code and output.
fn verify_bundle_cli(path: &Path) -> (i32, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mandate")).arg("verify-bundle").arg(path).env("RUST_LOG", "error").output().unwrap();
    (o.status.code().unwrap(), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
}

/// Where a field lies in the raw bytes: position and width (4 or 8 bytes).
type Field = (usize, usize);

/// One central-directory entry, read from the raw bytes the plain way.
struct RawEntry {
    name: String,
    local: u64,
    offset_at: Field,
    compressed_at: Field,
}

/// The parts of a ZIP a tamperer edits: the end records and the central directory.
struct RawZip {
    eocd: usize,
    locator: Option<usize>,
    zip64_end: Option<usize>,
    cd: u64,
    entries: Vec<RawEntry>,
}

fn le(b: &[u8], (at, width): Field) -> u64 {
    let mut v = [0u8; 8];
    v[..width].copy_from_slice(&b[at..at + width]);
    u64::from_le_bytes(v)
}

fn put(b: &mut [u8], (at, width): Field, value: u64) {
    b[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
}

/// Reads a ZIP without comment as any tool would: end record, ZIP64 end
/// record if there is one, then each central-directory entry with its
/// ZIP64 extra field (the saturated fields, in order: size, compressed size, offset).
fn raw_zip(b: &[u8]) -> RawZip {
    let eocd = b.len() - 22;
    assert_eq!(&b[eocd..eocd + 4], b"PK\x05\x06");
    let locator = (eocd >= 20 && &b[eocd - 20..eocd - 16] == b"PK\x06\x07").then_some(eocd - 20);
    let zip64_end = locator.map(|l| le(b, (l + 8, 8)) as usize);
    let (cd, count) = match zip64_end {
        Some(z) => (le(b, (z + 48, 8)), le(b, (z + 32, 8))),
        None => (le(b, (eocd + 16, 4)), le(b, (eocd + 10, 2))),
    };
    let mut at = cd as usize;
    let mut entries = Vec::new();
    for _ in 0..count {
        assert_eq!(&b[at..at + 4], b"PK\x01\x02");
        let (n, x, c) = (le(b, (at + 28, 2)) as usize, le(b, (at + 30, 2)) as usize, le(b, (at + 32, 2)) as usize);
        let name = String::from_utf8(b[at + 46..at + 46 + n].to_vec()).unwrap();
        let mut zip64 = None;
        let mut e = at + 46 + n;
        while e < at + 46 + n + x {
            if le(b, (e, 2)) == 1 {
                zip64 = Some(e + 4);
            }
            e += 4 + le(b, (e + 2, 2)) as usize;
        }
        let mut field = |short: usize| {
            if le(b, (short, 4)) == 0xFFFF_FFFF {
                let p = zip64.expect("a ZIP64 extra field");
                zip64 = Some(p + 8);
                (p, 8)
            } else {
                (short, 4)
            }
        };
        let _size = field(at + 24);
        let compressed_at = field(at + 20);
        let offset_at = field(at + 42);
        entries.push(RawEntry { name, local: le(b, offset_at), offset_at, compressed_at });
        at += 46 + n + x + c;
    }
    RawZip { eocd, locator, zip64_end, cd, entries }
}

impl RawZip {
    fn entry(&self, name: &str) -> &RawEntry {
        self.entries.iter().find(|e| e.name == name).unwrap()
    }

    /// Entries in the order their bytes come in the file.
    fn in_file_order(&self) -> Vec<&RawEntry> {
        let mut all: Vec<&RawEntry> = self.entries.iter().collect();
        all.sort_by_key(|e| e.local);
        all
    }
}

#[sqlx::test]
async fn verify_bundle_refuses_a_local_header_that_renames_an_entry(db: PgPool) {
    let s = setup(db).await;
    let (_, path) = bundle_through_the_app(&s).await;
    let (code, text) = verify_bundle_cli(&path);
    assert_eq!(code, 0, "the bundle as made verifies: {text}");

    // The local header's name changed, same length (every offset stays
    // valid), the central directory untouched: a tool that reads local
    // headers (a streaming unzip) would show another file than the one listed.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = raw_zip(&bytes).entry("records/people.csv").local as usize + 30;
    assert_eq!(&bytes[at..at + 18], b"records/people.csv");
    bytes[at..at + 18].copy_from_slice(b"records/peoplx.csv");
    let renamed = temp_zip(&bytes);
    let (code, text) = verify_bundle_cli(&renamed);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("\"records/people.csv\"") && text.contains("\"records/peoplx.csv\""), "names the entry and what its local header says: {text}");
    assert!(!manifest::verify(&renamed).await.unwrap().ok());
}

#[sqlx::test]
async fn verify_bundle_refuses_a_local_header_whose_crc_or_size_differs(db: PgPool) {
    let s = setup(db).await;
    let (_, path) = bundle_through_the_app(&s).await;
    let bytes = std::fs::read(&path).unwrap();
    let zip = raw_zip(&bytes);
    let entry = zip.entry("records/training.csv");
    let local = entry.local as usize;
    let name_len = le(&bytes, (local + 26, 2)) as usize;
    let flags = le(&bytes, (local + 6, 2));
    assert_eq!(flags & 8, 8, "entries are streamed: sizes and CRC-32 follow the data in a data descriptor");

    // A CRC-32 in the local header that is neither the central directory's nor the 0 of "see the data descriptor".
    let mut crc = bytes.clone();
    put(&mut crc, (local + 14, 4), 0x1234_5678);
    let (code, text) = verify_bundle_cli(&temp_zip(&crc));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("\"records/training.csv\"") && text.contains("CRC-32"), "{text}");

    // A compressed size in the local header (its ZIP64 field, when the 32-bit one says "see there") that differs.
    let mut size = bytes.clone();
    let field = if le(&bytes, (local + 18, 4)) == 0xFFFF_FFFF {
        let extra = local + 30 + name_len;
        assert_eq!(le(&bytes, (extra, 2)), 1, "the local ZIP64 field comes first");
        (extra + 4 + 8, 8)
    } else {
        (local + 18, 4)
    };
    put(&mut size, field, 12_345);
    let (code, text) = verify_bundle_cli(&temp_zip(&size));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("\"records/training.csv\"") && text.contains("compressed size"), "{text}");

    // The CRC-32 of the data descriptor that follows the data.
    let mut descriptor = bytes.clone();
    let data_end = local + 30 + name_len + le(&bytes, (local + 28, 2)) as usize + le(&bytes, entry.compressed_at) as usize;
    assert_eq!(&bytes[data_end..data_end + 4], b"PK\x07\x08");
    descriptor[data_end + 4] ^= 0xff;
    let (code, text) = verify_bundle_cli(&temp_zip(&descriptor));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("\"records/training.csv\"") && text.contains("data descriptor"), "{text}");
}

#[sqlx::test]
async fn verify_bundle_refuses_bytes_outside_the_entries(db: PgPool) {
    let s = setup(db).await;
    let (_, path) = bundle_through_the_app(&s).await;
    let bytes = std::fs::read(&path).unwrap();
    let zip = raw_zip(&bytes);

    // Bytes after the end record, which declares no comment.
    let note = b"a hidden note after the end";
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(note);
    let (code, text) = verify_bundle_cli(&temp_zip(&trailing));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("end-of-central-directory"), "{text}");
    // The same bytes declared as the ZIP's comment are part of the ZIP.
    let mut comment = trailing.clone();
    put(&mut comment, (zip.eocd + 20, 2), note.len() as u64);
    let (code, text) = verify_bundle_cli(&temp_zip(&comment));
    assert_eq!(code, 0, "a declared comment is allowed: {text}");

    // Bytes slipped in between two entries, every offset after them moved on
    // so that each entry still reads: the bytes belong to no entry.
    let order = zip.in_file_order();
    let (first, second) = (order[0], order[1]);
    let junk = b"sixteen bytes!!!";
    let mut inserted = bytes.clone();
    for e in &zip.entries {
        if e.local >= second.local {
            put(&mut inserted, e.offset_at, e.local + 16);
        }
    }
    let z = zip.zip64_end.unwrap();
    put(&mut inserted, (z + 48, 8), zip.cd + 16);
    put(&mut inserted, (zip.locator.unwrap() + 8, 8), z as u64 + 16);
    put(&mut inserted, (zip.eocd + 16, 4), zip.cd + 16);
    inserted.splice(second.local as usize..second.local as usize, junk.iter().copied());
    let inserted = temp_zip(&inserted);
    let files = entries(&inserted).await;
    assert_eq!(files, entries(&path).await, "every entry still reads as before");
    let (code, text) = verify_bundle_cli(&inserted);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("16 bytes") && text.contains("belong to no entry"), "{text}");
    assert!(text.contains(&format!("\"{}\"", first.name)) && text.contains(&format!("\"{}\"", second.name)), "{text}");

    // An entry's compressed size grown so its bytes run over the next entry's
    // local header (deflate stops at its own end, so it still reads).
    let text_entry = order.iter().position(|e| e.name == "records/people.csv").unwrap();
    let (grown_entry, next) = (order[text_entry], order[text_entry + 1]);
    let mut grown = bytes.clone();
    put(&mut grown, grown_entry.compressed_at, le(&bytes, grown_entry.compressed_at) + 40);
    let (code, text) = verify_bundle_cli(&temp_zip(&grown));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("overlaps") && text.contains(&format!("\"{}\"", next.name)), "{text}");

    // An entry's offset pointed into another entry.
    let mut pointed = bytes.clone();
    put(&mut pointed, second.offset_at, first.local);
    let (code, text) = verify_bundle_cli(&temp_zip(&pointed));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("overlaps") && text.contains(&format!("\"{}\"", second.name)), "{text}");
}

#[sqlx::test]
async fn an_unzipped_bundle_checks_with_sha256sum_alone(db: PgPool) {
    let s = setup(db).await;
    let (_, path) = bundle_through_the_app(&s).await;
    let files = entries(&path).await;
    let readme = String::from_utf8(files["README.txt"].clone()).unwrap();
    assert!(readme.contains("sha256sum -c SHA256SUMS") && readme.contains("mandate verify-bundle") && readme.contains("manifest.json"), "{readme}");

    // SHA256SUMS lists every file but itself, in the format sha256sum writes.
    let sums = String::from_utf8(files["SHA256SUMS"].clone()).unwrap();
    let listed: BTreeSet<&str> = sums.lines().map(|l| {
        let (hash, name) = l.split_once("  ").unwrap();
        assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "{l}");
        name
    }).collect();
    let present: BTreeSet<&str> = files.keys().map(String::as_str).filter(|n| *n != "SHA256SUMS").collect();
    assert_eq!(listed, present);
    assert!(listed.contains("manifest.json") && listed.contains("README.txt"));

    let dir = std::env::temp_dir().join(format!("mandate-unzipped-{}", Uuid::new_v4().simple()));
    for (name, data) in &files {
        let file = dir.join(name);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, data).unwrap();
    }
    let check = || std::process::Command::new("sha256sum").args(["-c", "SHA256SUMS"]).current_dir(&dir).output().unwrap();
    let ok = check();
    let out = String::from_utf8_lossy(&ok.stdout).into_owned() + &String::from_utf8_lossy(&ok.stderr);
    assert!(ok.status.success(), "{out}");
    assert_eq!(out.lines().filter(|l| l.ends_with(": OK")).count(), files.len() - 1, "{out}");

    std::fs::write(dir.join("records/people.csv"), b"name,email\nSomeone Else,else@acme.example\n").unwrap();
    let bad = check();
    let out = String::from_utf8_lossy(&bad.stdout).into_owned();
    assert!(!bad.status.success(), "{out}");
    assert!(out.contains("records/people.csv: FAILED"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[sqlx::test]
async fn verify_bundle_checks_sha256sums(db: PgPool) {
    let s = setup(db).await;
    let (_, path) = bundle_through_the_app(&s).await;
    let sums = String::from_utf8(entries(&path).await["SHA256SUMS"].clone()).unwrap();

    // A line whose hash is not the file's, a line dropped, a line for a file that is not there.
    let wrong = sums.lines().map(|l| if l.ends_with("  records/roles.csv") { format!("{}  records/roles.csv", "0".repeat(64)) } else { l.to_string() }).collect::<Vec<_>>().join("\n") + "\n";
    let dropped: String = sums.lines().filter(|l| !l.ends_with("  index.html")).map(|l| format!("{l}\n")).collect();
    let ghost = format!("{sums}{}  records/ghost.csv\n", "1".repeat(64));
    for (sums, expect) in [(wrong, "records/roles.csv"), (dropped, "index.html"), (ghost, "records/ghost.csv")] {
        let tampered = rewrite(&path, |name, data| Some(if name == "SHA256SUMS" { sums.clone().into_bytes() } else { data }), None).await;
        let (code, text) = verify_bundle_cli(&tampered);
        assert_eq!(code, 2, "{text}");
        assert!(text.lines().any(|l| l.contains("SHA256SUMS") && l.contains(expect)), "{expect}: {text}");
    }

    // Without SHA256SUMS the bundle does not verify, unless its manifest
    // says it was made before bundles carried one.
    let without = rewrite(&path, |name, data| (name != "SHA256SUMS").then_some(data), None).await;
    let (code, text) = verify_bundle_cli(&without);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("the bundle has no SHA256SUMS"), "{text}");
    let old_format = rewrite(&path, |name, data| match name {
        "SHA256SUMS" => None,
        "manifest.json" => Some(String::from_utf8(data).unwrap().replace("\"mandate-evidence-bundle/2\"", "\"mandate-evidence-bundle/1\"").into_bytes()),
        _ => Some(data),
    }, None)
    .await;
    let (code, text) = verify_bundle_cli(&old_format);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("made before bundles carried one"), "{text}");
}

#[sqlx::test]
async fn a_bundle_names_top_management_as_of_its_day_and_every_roster_change(db: PgPool) {
    let s = setup(db).await;
    let (_, path) = bundle_through_the_app(&s).await;
    let files = entries(&path).await;
    let roster = String::from_utf8(files["records/top-management-changes.csv"].clone()).unwrap();
    assert!(roster.starts_with("person,change,acting_account,reason,proposed_by"), "{roster}");
    assert!(roster.contains("Carol CEO,add,") && roster.contains("confirmed (first leader, no confirmation)"), "{roster}");
    let people = String::from_utf8(files["records/people.csv"].clone()).unwrap();
    let carol = people.lines().find(|l| l.starts_with("Carol CEO")).unwrap();
    assert!(carol.contains(",true,"), "Carol was top management on the bundle's day: {carol}");
    // Someone flagged without a roster record is not top management in the bundle.
    sqlx::query("UPDATE people SET top_management = true WHERE email = 'formula@acme.example'").execute(s.app.db()).await.unwrap();
    let (_, path) = bundle_through_the_app_again(&s).await;
    let people = String::from_utf8(entries(&path).await["records/people.csv"].clone()).unwrap();
    let flagged = people.lines().find(|l| l.contains("formula@acme.example")).unwrap();
    assert!(flagged.contains(",false,"), "{flagged}");
}

/// A second bundle of the same day, made directly (the page flow is tested above).
async fn bundle_through_the_app_again(s: &Setup) -> (Uuid, PathBuf) {
    let mut a = s.app.signed_in(s.auditor, Some(s.org)).await;
    let res = a.post("/bundles", &[("as_of", "2026-11-02")]).await;
    let id: Uuid = res.location().trim_start_matches("/bundles/").parse().unwrap();
    assert_eq!(jobs::run_next(&s.app.state, "test-worker").await.unwrap(), Some(mandate::ids::JobId(id)));
    let zip = a.get(&format!("/bundles/{id}/download")).await;
    (id, temp_zip(&zip.bytes))
}

/// Runs NIST's OSCAL schema over documents (tests/oscal/validate.py, with
/// jsonschema-rs from target/py-venv, which scripts/test installs).
pub(crate) fn validate_oscal(docs: &[(&str, &[u8])]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("target/py-venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/test, which installs it", python.display());
    let dir = std::env::temp_dir().join(format!("mandate-oscal-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut args = vec![root.join("tests/oscal/validate.py").display().to_string()];
    for (name, data) in docs {
        let file = dir.join(name);
        std::fs::write(&file, data).unwrap();
        args.push(file.display().to_string());
    }
    let out = std::process::Command::new(python).args(&args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the OSCAL documents do not validate:\n{text}");
    assert!(text.contains(&format!("{} passed, 0 failed", docs.len())), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[sqlx::test]
async fn a_bundle_carries_oscal_that_validates_and_points_at_its_evidence_by_hash(db: PgPool) {
    let s = setup(db).await;
    let (_, path) = bundle_through_the_app(&s).await;
    let files = entries(&path).await;
    let names = ["oscal/catalog.json", "oscal/assessment-results.json", "oscal/component-definition.json"];
    validate_oscal(&names.map(|n| (n.trim_start_matches("oscal/"), files[n].as_slice())));

    let doc: serde_json::Value = serde_json::from_slice(&files["oscal/assessment-results.json"]).unwrap();
    let ar = &doc["assessment-results"];
    let resources = ar["back-matter"]["resources"].as_array().unwrap();
    // Every resource's file is in the bundle with the SHA-256 the resource gives.
    let mut linked = BTreeSet::new();
    for r in resources {
        for link in r["rlinks"].as_array().unwrap() {
            let href = link["href"].as_str().unwrap();
            let path = href.strip_prefix("../").map(str::to_string).unwrap_or_else(|| format!("oscal/{href}"));
            let data = files.get(&path).unwrap_or_else(|| panic!("{href} is not in the bundle"));
            if let Some(h) = link["hashes"].as_array() {
                assert_eq!(h[0]["algorithm"], "SHA-256");
                assert_eq!(h[0]["value"].as_str().unwrap(), hex::encode(Sha256::digest(data)), "{path}");
                linked.insert(path);
            }
        }
    }
    // Every evidence file has its observation, and every observation's evidence is a resource.
    let m: manifest::Manifest = serde_json::from_slice(&files["manifest.json"]).unwrap();
    for f in m.files.iter().filter(|f| f.kind == "evidence") {
        assert!(linked.contains(&f.path), "{} has no observation", f.path);
    }
    let ids: BTreeSet<&str> = resources.iter().map(|r| r["uuid"].as_str().unwrap()).collect();
    let result = &ar["results"][0];
    for o in result["observations"].as_array().unwrap() {
        let href = o["relevant-evidence"][0]["href"].as_str().unwrap();
        assert!(ids.contains(href.trim_start_matches('#')), "{href}");
    }
    // A finding per applicable requirement; the gaps make some not satisfied, graded.
    let findings = result["findings"].as_array().unwrap();
    let applicable: i64 = sqlx::query_scalar("SELECT count(*) FROM requirements r LEFT JOIN requirement_states s ON s.requirement_id = r.id AND s.org_id = $1 WHERE r.retired_at IS NULL AND COALESCE(s.applicable, true)").bind(s.org).fetch_one(s.app.db()).await.unwrap();
    assert_eq!(findings.len() as i64, applicable);
    let failing: Vec<&serde_json::Value> = findings.iter().filter(|f| f["target"]["status"]["state"] == "not-satisfied").collect();
    assert!(!failing.is_empty(), "an organisation this new has gaps");
    assert!(failing.iter().all(|f| f["props"].as_array().unwrap().iter().any(|p| p["name"] == "grade")), "each gap is graded");

    // verify-bundle checks the links too: an OSCAL file whose hash is changed (and listed so) is caught.
    let report = manifest::verify(&path).await.unwrap();
    assert!(report.ok() && report.oscal_checked > 0, "{report:?}");
    let some = files.iter().find(|(k, _)| k.starts_with("evidence/")).map(|(_, v)| hex::encode(Sha256::digest(v))).unwrap();
    let forged = String::from_utf8(files["oscal/assessment-results.json"].clone()).unwrap().replace(&some, &"0".repeat(64));
    let forged_sha = hex::encode(Sha256::digest(forged.as_bytes()));
    let old_sha = hex::encode(Sha256::digest(&files["oscal/assessment-results.json"]));
    let tampered = rewrite(&path, |name, data| match name {
        "oscal/assessment-results.json" => Some(forged.clone().into_bytes()),
        "manifest.json" | "SHA256SUMS" => Some(String::from_utf8(data).unwrap().replace(&old_sha, &forged_sha).into_bytes()),
        _ => Some(data),
    }, None).await;
    let report = manifest::verify(&tampered).await.unwrap();
    assert!(!report.oscal.is_empty(), "{report:?}");
}
