//! The bundle's manifest (every file with its SHA-256 and size), the rules
//! for naming entries, and the offline check `mandate verify-bundle` runs.
use anyhow::Context;
use async_zip::tokio::read::fs::ZipFileReader;
use futures_util::AsyncReadExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use crate::ids::{EvidenceId, PolicyId};
use chrono::NaiveDate;

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Params {
    pub as_of: NaiveDate,
    /// The audit period: the audit-log segment covers these days.
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
}

/// Where an evidence revision goes in the bundle.
pub fn evidence_path(item_id: EvidenceId, title: &str, number: i32, filename: &str) -> String {
    format!("evidence/{}-{}/r{}-{}", safe_segment(title, 40), item_id.0.simple(), number, safe_segment(filename, 60))
}

pub fn policy_path(policy_id: PolicyId, title: &str, major: i32, minor: i32) -> String {
    format!("policies/{}-{}/v{major}.{minor}.md", safe_segment(title, 40), policy_id.0.simple())
}

pub const FORMAT: &str = "mandate-evidence-bundle/2";
/// Bundles made before they carried `SHA256SUMS` and `README.txt`.
pub const FORMAT_1: &str = "mandate-evidence-bundle/1";
pub const MANIFEST: &str = "manifest.json";
/// Every file's SHA-256 but its own, as `sha256sum -c` reads it; written
/// last, so the manifest cannot list it.
pub const SUMS: &str = "SHA256SUMS";
/// What the bundle is and how to check it, in plain words.
pub const README: &str = "README.txt";
/// Signatures bound to a leader's passkey (JSON): each entry names its
/// record and carries `auth::assertion::BoundSignature`.
pub const PASSKEY_SIGNATURES: &str = "signatures/passkey-signatures.json";
pub const PASSKEY_SIGNATURES_KIND: &str = "passkey_signatures";
/// A SHA256SUMS of more than this is not a bundle's (some 800,000 files).
const MAX_SUMS: usize = 64 << 20;

/// One line of `SHA256SUMS`: hash, two spaces (text mode), path. A path
/// that `sha256sum` would have to escape is refused (bundle paths never are).
pub fn sums_line(sha256_hex: &str, path: &str) -> anyhow::Result<String> {
    if path.contains(['\\', '\n', '\r']) {
        anyhow::bail!("the bundle path {path:?} cannot be listed in {SUMS}");
    }
    Ok(format!("{sha256_hex}  {path}\n"))
}

/// One file of the bundle, as the manifest lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    /// evidence, policy_text, record_csv, audit_log, index
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_item: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_date: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// Other records the item supports, as `kind:id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditSegment {
    pub path: String,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// The organisation's chain head when the bundle was made.
    pub head_seq: i64,
    pub head_hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub organisation: String,
    pub organisation_id: String,
    pub as_of: String,
    pub period_from: Option<String>,
    pub period_to: Option<String>,
    pub generated_at: String,
    pub audit_log: AuditSegment,
    pub files: Vec<FileEntry>,
}

/// A name segment safe in any ZIP tool and file system: lower-case ASCII
/// letters, digits, `.`, `-` and `_`, no leading dots, at most `max` bytes.
pub fn safe_segment(raw: &str, max: usize) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_') { c.to_ascii_lowercase() } else { '-' };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let mut s = out.replace("-.", ".").trim_matches(|c| c == '-' || c == '.').to_string();
    if s.len() > max {
        // Keep the extension of a long file name, if the name keeps most of the room.
        let ext = s.rfind('.').map(|i| s[i..].to_string()).filter(|e| e.len() <= 10 && e.len() < max / 2).unwrap_or_default();
        s.truncate(max - ext.len());
        s = s.trim_end_matches(['-', '.']).to_string() + &ext;
        s = s.trim_start_matches(['-', '.']).to_string();
    }
    if s.is_empty() { "file".into() } else { s }
}

/// What `verify` found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub checked: usize,
    pub altered: Vec<String>,
    pub missing: Vec<String>,
    pub extra: Vec<String>,
    /// Problems in the audit-log segment (a row that does not hash or chain).
    pub audit_log: Vec<String>,
    /// Problems of the ZIP itself: a local header that differs from the
    /// central directory, bytes outside every entry, data that does not
    /// match its CRC-32 (see `structure`).
    pub structure: Vec<String>,
    /// Problems with `SHA256SUMS`: a line that does not match its file, a
    /// file not listed, a line for a file that is not there.
    pub sums: Vec<String>,
    /// Whether the bundle has a `SHA256SUMS` (those of format 1 have none).
    pub sums_checked: bool,
    /// Passkey-bound signatures checked, and those that do not verify.
    pub signatures_checked: usize,
    pub signatures: Vec<String>,
    /// OSCAL evidence links checked (each back-matter resource's file and
    /// SHA-256, each observation's resource), and those that do not hold.
    pub oscal_checked: usize,
    pub oscal: Vec<String>,
    pub manifest_sha256: String,
    pub head_hash: String,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.altered.is_empty() && self.missing.is_empty() && self.extra.is_empty() && self.audit_log.is_empty() && self.structure.is_empty() && self.sums.is_empty() && self.signatures.is_empty() && self.oscal.is_empty()
    }
}

/// Checks the ZIP's structure (local headers against the central
/// directory, no byte outside the entries), every file of a bundle against
/// its manifest and its CRC-32, and the audit-log segment's hash chain.
/// Reads each entry as a stream.
pub async fn verify(path: &Path) -> anyhow::Result<Report> {
    let owned = path.to_path_buf();
    let structure = tokio::task::spawn_blocking(move || super::structure::check(&owned))
        .await
        .context("checking the ZIP structure")?
        .with_context(|| format!("cannot read {}", path.display()))?;
    let zip = ZipFileReader::new(path).await.with_context(|| {
        let found = if structure.is_empty() { String::new() } else { format!(" ({})", structure.join("; ")) };
        format!("{} is not a readable ZIP file{found}", path.display())
    })?;
    // Every entry counts, whatever its name: one that is not valid UTF-8 is
    // named lossily and, not being listed, reported as extra.
    let entries: Vec<(usize, String)> = zip
        .file()
        .entries()
        .iter()
        .enumerate()
        .map(|(i, e)| (i, String::from_utf8_lossy(e.filename().as_bytes()).into_owned()))
        .collect();
    let manifests: Vec<usize> = entries.iter().filter(|(_, n)| n == MANIFEST).map(|(i, _)| *i).collect();
    let mi = match manifests.as_slice() {
        [one] => one,
        [] => anyhow::bail!("the bundle has no {MANIFEST}"),
        _ => anyhow::bail!("the bundle has {} entries named {MANIFEST}: a ZIP tool would show one and hide the others", manifests.len()),
    };
    let sums: Vec<usize> = entries.iter().filter(|(_, n)| n == SUMS).map(|(i, _)| *i).collect();
    if sums.len() > 1 {
        anyhow::bail!("the bundle has {} entries named {SUMS}: a ZIP tool would show one and hide the others", sums.len());
    }
    let crc_of = |i: usize| zip.file().entries()[i].crc32();
    let crc_problem = |name: &str| format!("entry {name:?}: its data does not match the CRC-32 the central directory gives");
    let mut raw = Vec::new();
    let mut reader = zip.reader_without_entry(*mi).await?;
    reader.read_to_end(&mut raw).await.context("reading the manifest")?;
    let manifest_crc_ok = reader.compute_hash() == crc_of(*mi);
    drop(reader);
    let manifest: Manifest = serde_json::from_slice(&raw).context("the manifest is not valid JSON of the expected shape")?;
    let mut report = Report { manifest_sha256: hex::encode(Sha256::digest(&raw)), head_hash: manifest.audit_log.head_hash.clone(), structure, ..Default::default() };
    if !manifest_crc_ok {
        report.structure.push(crc_problem(MANIFEST));
    }
    let mut listed: BTreeMap<&str, &FileEntry> = manifest.files.iter().map(|f| (f.path.as_str(), f)).collect();
    // Every entry's actual SHA-256 but SHA256SUMS's, by name, to check SHA256SUMS against.
    let mut actual: BTreeMap<String, String> = BTreeMap::from([(MANIFEST.to_string(), report.manifest_sha256.clone())]);
    let mut sums_text: Option<Vec<u8>> = None;
    let mut signatures_text: Option<Vec<u8>> = None;
    let mut oscal_text: Option<Vec<u8>> = None;
    for (i, name) in &entries {
        if *i == *mi {
            continue;
        }
        let is_sums = sums.contains(i);
        // A second entry of a listed name is extra too. Extra entries are
        // read as well: SHA256SUMS must list them with their true hash.
        let expected = if is_sums { None } else { listed.remove(name.as_str()) };
        if expected.is_none() && !is_sums {
            report.extra.push(name.clone());
        }
        let mut reader = zip.reader_without_entry(*i).await?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        let is_signatures = expected.is_some_and(|e| e.kind == PASSKEY_SIGNATURES_KIND);
        let is_oscal = expected.is_some() && name == crate::oscal::RESULTS_FILE;
        let mut text = (is_sums || is_signatures || is_oscal).then(Vec::new);
        let mut audit_lines = (expected.is_some() && name == &manifest.audit_log.path)
            .then(|| AuditChainCheck { first_expected: manifest.audit_log.first_seq, ..Default::default() });
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(n) => n,
                Err(_) => {
                    // A damaged entry (its compression broken) counts as altered.
                    size = u64::MAX;
                    break;
                }
            };
            if n == 0 {
                if reader.compute_hash() != crc_of(*i) {
                    report.structure.push(crc_problem(name));
                }
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
            if let Some(check) = audit_lines.as_mut() {
                check.feed(&buf[..n]);
            }
            if let Some(t) = text.as_mut().filter(|t| t.len() <= MAX_SUMS) {
                t.extend_from_slice(&buf[..n]);
            }
        }
        let sha = hex::encode(hasher.finalize());
        if let Some(expected) = expected {
            report.checked += 1;
            if size != expected.size || sha != expected.sha256 {
                report.altered.push(name.clone());
            }
        }
        if let Some(check) = audit_lines {
            report.audit_log = check.finish(&manifest.audit_log);
        }
        match text {
            Some(t) if is_signatures => {
                signatures_text = Some(t);
                actual.entry(name.clone()).or_insert(sha);
            }
            Some(t) if is_oscal => {
                oscal_text = Some(t);
                actual.entry(name.clone()).or_insert(sha);
            }
            Some(t) => sums_text = Some(t),
            None => {
                actual.entry(name.clone()).or_insert(sha);
            }
        }
    }
    report.missing = listed.keys().map(|k| k.to_string()).collect();
    if let Some(t) = signatures_text {
        let (checked, problems) = check_signatures(&t);
        report.signatures_checked = checked;
        report.signatures = problems;
    }
    if let Some(t) = oscal_text {
        (report.oscal_checked, report.oscal) = check_oscal(&t, &actual);
    }
    report.sums_checked = sums_text.is_some();
    report.sums = match sums_text {
        Some(t) if t.len() > MAX_SUMS => vec![format!("it is larger than {} MiB, more than any bundle's list: not checked", MAX_SUMS >> 20)],
        Some(t) => check_sums(&t, &actual),
        // Bundles made before SHA256SUMS existed say so in their manifest.
        None if manifest.format == FORMAT_1 => Vec::new(),
        None => vec![format!("the bundle has no {SUMS}, which a bundle of format {:?} carries", manifest.format)],
    };
    Ok(report)
}

/// Checks the OSCAL assessment results' links into the bundle: every
/// back-matter resource's file is in the bundle with the SHA-256 the
/// resource gives, and every observation's evidence names a resource.
/// `actual` holds each entry's SHA-256 by name.
fn check_oscal(text: &[u8], actual: &BTreeMap<String, String>) -> (usize, Vec<String>) {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(text) else {
        return (0, vec![format!("{} is not JSON", crate::oscal::RESULTS_FILE)]);
    };
    let (mut checked, mut problems) = (0, Vec::new());
    let resources = doc.pointer("/assessment-results/back-matter/resources").and_then(|r| r.as_array()).cloned().unwrap_or_default();
    let ids: std::collections::HashSet<String> = resources.iter().filter_map(|r| r["uuid"].as_str().map(str::to_string)).collect();
    for r in &resources {
        for link in r["rlinks"].as_array().into_iter().flatten() {
            let Some(hashes) = link["hashes"].as_array() else { continue };
            let href = link["href"].as_str().unwrap_or_default();
            // Links are relative to the OSCAL file, in oscal/.
            let path = href.strip_prefix("../").map(str::to_string).unwrap_or_else(|| format!("oscal/{href}"));
            for h in hashes {
                checked += 1;
                let want = h["value"].as_str().unwrap_or_default();
                match actual.get(&path) {
                    None => problems.push(format!("resource {}: {href} is not in the bundle", r["uuid"])),
                    Some(sha) if h["algorithm"] != "SHA-256" || !sha.eq_ignore_ascii_case(want) => {
                        problems.push(format!("resource {}: {path} does not have the SHA-256 the OSCAL file gives", r["uuid"]))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    let observations = doc.pointer("/assessment-results/results").and_then(|r| r.as_array()).into_iter().flatten().flat_map(|r| r["observations"].as_array().cloned().unwrap_or_default());
    for o in observations {
        for e in o["relevant-evidence"].as_array().into_iter().flatten() {
            checked += 1;
            let href = e["href"].as_str().unwrap_or_default();
            if !href.strip_prefix('#').is_some_and(|id| ids.contains(id)) {
                problems.push(format!("observation {}: its evidence {href} is no resource of the file", o["uuid"]));
            }
        }
    }
    (checked, problems)
}

/// Checks `SHA256SUMS` as `sha256sum -c` would, and more: every line is
/// `<SHA-256>  <path>`, names an entry of the bundle once and gives its true
/// hash, and every entry but SHA256SUMS itself is listed. `actual` holds
/// each entry's SHA-256 by name.
fn check_sums(text: &[u8], actual: &BTreeMap<String, String>) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(text) else {
        return vec!["it is not UTF-8 text".into()];
    };
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let body = text.strip_suffix('\n').unwrap_or(text);
    for (n, line) in body.split('\n').enumerate().filter(|_| !text.is_empty()) {
        let parsed = line.split_once("  ").filter(|(hash, path)| hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) && !path.is_empty());
        let Some((hash, path)) = parsed else {
            let shown: String = line.chars().take(100).collect();
            problems.push(format!("line {} is not \"<SHA-256>  <file>\": {shown:?}", n + 1));
            continue;
        };
        if !seen.insert(path) {
            problems.push(format!("it lists {path:?} more than once"));
            continue;
        }
        match actual.get(path) {
            Some(sha) if sha.eq_ignore_ascii_case(hash) => {}
            Some(_) => problems.push(format!("{path:?} does not match the SHA-256 it gives for it")),
            None if path == SUMS => problems.push(format!("it lists itself, whose hash it cannot hold: {path:?}")),
            None => problems.push(format!("it lists {path:?}, which is not in the bundle")),
        }
    }
    for name in actual.keys().filter(|n| !seen.contains(n.as_str())) {
        problems.push(format!("{name:?} is in the bundle but not listed"));
    }
    // A list that is wrong throughout need not be printed whole.
    if problems.len() > 100 {
        let more = problems.len() - 100;
        problems.truncate(100);
        problems.push(format!("and {more} more problems with it"));
    }
    problems
}

/// Re-computes each exported audit row's hash from its fields and checks
/// that each row chains to the one before.
/// An exported audit row is far shorter than this; a longer line is damage.
const MAX_LINE: usize = 1 << 20;
const TOO_LONG: &str = "a line of the audit log is longer than any audit row";

#[derive(Default)]
struct AuditChainCheck {
    first_expected: Option<i64>,
    pending: Vec<u8>,
    prev: Option<String>,
    last_seq: Option<i64>,
    problems: Vec<String>,
}

impl AuditChainCheck {
    fn feed(&mut self, bytes: &[u8]) {
        for piece in bytes.split_inclusive(|b| *b == b'\n') {
            if self.pending.len() + piece.len() > MAX_LINE {
                if self.problems.last().map(String::as_str) != Some(TOO_LONG) {
                    self.problems.push(TOO_LONG.into());
                }
                self.pending.clear();
                continue;
            }
            self.pending.extend_from_slice(piece);
            if piece.ends_with(b"\n") {
                let line = std::mem::take(&mut self.pending);
                self.line(&line[..line.len() - 1]);
            }
        }
    }

    fn line(&mut self, line: &[u8]) {
        if line.is_empty() || self.problems.len() >= 20 {
            return;
        }
        let row: crate::audit::ExportedRow = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(_) => {
                self.problems.push("a line of the audit log is not a valid row".into());
                return;
            }
        };
        if let Some(prev) = &self.prev
            && &row.prev_hash != prev
        {
            self.problems.push(format!("row {} does not chain to the row before it", row.seq));
        }
        if let Some(last) = self.last_seq
            && row.seq != last + 1
        {
            self.problems.push(format!("row {} follows row {last}: rows are missing", row.seq));
        }
        if self.last_seq.is_none() && Some(row.seq) != self.first_expected {
            self.problems.push(format!("the audit log starts at row {}, the manifest says {:?}", row.seq, self.first_expected));
        }
        if !row.hash_is_valid() {
            self.problems.push(format!("row {} does not match its hash", row.seq));
        }
        self.prev = Some(row.hash.clone());
        self.last_seq = Some(row.seq);
    }

    fn finish(mut self, segment: &AuditSegment) -> Vec<String> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.line(&rest);
        }
        if self.last_seq != segment.last_seq {
            self.problems.push(format!("the audit log ends at row {:?}, the manifest says {:?}", self.last_seq, segment.last_seq));
        }
        if segment.last_seq == Some(segment.head_seq) && self.prev.as_deref() != Some(segment.head_hash.as_str()) {
            self.problems.push("the last audit row's hash is not the chain head the manifest gives".into());
        }
        self.problems
    }
}

/// Checks every passkey-bound signature of `signatures/passkey-signatures.json`
/// (`auth::assertion::verify`): how many, and what failed, by record.
fn check_signatures(text: &[u8]) -> (usize, Vec<String>) {
    #[derive(Deserialize)]
    struct Entry {
        record: String,
        id: String,
        signature: crate::auth::assertion::BoundSignature,
    }
    let entries: Vec<Entry> = match serde_json::from_slice(text) {
        Ok(e) => e,
        Err(e) => return (0, vec![format!("{PASSKEY_SIGNATURES} is not a list of signatures: {e}")]),
    };
    let words = |record: &str| match record {
        "meeting" => "meeting minutes".to_string(),
        other => other.replace('_', " "),
    };
    let problems = entries
        .iter()
        .filter_map(|e| {
            let named = format!("record: {} {}", words(&e.record), e.id);
            let why = if e.signature.statement.lines().any(|l| l == named) {
                crate::auth::assertion::verify(&e.signature).err()?
            } else {
                "the statement signed is about another record".to_string()
            };
            Some(format!("{} {}: {why}", words(&e.record), e.id))
        })
        .collect();
    (entries.len(), problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_tamed() {
        assert_eq!(safe_segment("../../etc/passwd", 60), "etc-passwd");
        assert_eq!(safe_segment("Q3 Review — Minutes (final).PDF", 60), "q3-review-minutes-final.pdf");
        assert_eq!(safe_segment("..hidden", 60), "hidden");
        assert_eq!(safe_segment("C:\\Users\\x\\report.docx", 60), "c-users-x-report.docx");
        assert_eq!(safe_segment("", 60), "file");
        assert_eq!(safe_segment("\u{202e}fdp.exe", 60), "fdp.exe");
        let long = safe_segment(&format!("{}.pdf", "a".repeat(200)), 40);
        assert!(long.len() <= 40 && long.ends_with(".pdf"), "{long}");
    }
}
