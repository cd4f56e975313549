//! The bundle's OSCAL files (`crate::oscal`): the catalog and Mandate's
//! component definition, small and written whole, and the assessment
//! results, streamed: an observation and a back-matter resource per evidence
//! file, read back from the manifest's lines on disk, so memory stays flat
//! whatever the number of files. Each resource links its file by its path in
//! the bundle and carries its SHA-256; `verify-bundle` checks them.
use super::manifest::FileEntry;
use super::zip::Writer;
use crate::gaps::Evaluation;
use crate::gaps::derived::ByCode;
use crate::oscal::{self, Assessment, EvidenceRef};
use std::collections::BTreeMap;
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

/// Where the derived records are listed in the bundle.
pub const DERIVED: &str = "records/derived-evidence.csv";

/// An OSCAL file links other files of the bundle relative to itself (`oscal/`).
fn href(path: &str) -> String {
    format!("../{path}")
}

/// A JSON object's text without its closing brace, to carry on writing into it.
fn open(v: &serde_json::Value) -> String {
    let text = v.to_string();
    text[..text.len().saturating_sub(1)].to_string()
}

fn midnight(day: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    day.parse::<chrono::NaiveDate>().ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

async fn entries(path: &std::path::Path) -> anyhow::Result<tokio::io::Lines<tokio::io::BufReader<tokio::fs::File>>> {
    Ok(tokio::io::BufReader::new(tokio::fs::File::open(path).await?).lines())
}

/// Writes the three files; returns how many were written.
pub(super) async fn write<W: AsyncWrite + Unpin + Send>(w: &mut Writer<W>, a: &Assessment<'_>, e: &Evaluation, derived: &ByCode) -> anyhow::Result<usize> {
    let catalogue = oscal::leadership()?;
    w.add_text(oscal::CATALOG_FILE, "oscal", serde_json::to_string_pretty(&oscal::catalog(&catalogue, a.generated))? + "\n").await?;
    w.add_text(oscal::COMPONENT_FILE, "oscal", serde_json::to_string_pretty(&oscal::component_definition(&catalogue, a.generated, "catalog.json"))? + "\n").await?;

    // First pass over the files listed so far: which observations each requirement has.
    w.manifest_lines.flush().await?;
    let manifest = w.manifest_path.clone();
    let mut observed: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    let mut derived_sha = None;
    let mut any = false;
    let mut lines = entries(&manifest).await?;
    while let Some(line) = lines.next_line().await? {
        let f: FileEntry = serde_json::from_str(&line)?;
        if f.path == DERIVED {
            derived_sha = Some(f.sha256.clone());
        }
        if f.kind == "evidence" {
            let (id, _, _) = oscal::observation(a, &file_ref(&f, a));
            for code in &f.requirements {
                observed.entry(code.clone()).or_default().push(id);
            }
            any = true;
        }
    }
    let derived_refs: Vec<(String, String, &crate::gaps::derived::Derived, [String; 1])> = derived
        .iter()
        .flat_map(|(code, items)| items.iter().enumerate().map(move |(i, d)| (format!("derived/{code}/{i}"), code.clone(), d, [code.clone()])))
        .collect();
    let derived_sha = derived_sha.unwrap_or_default();
    let derived_href = href(DERIVED);
    let derived_ref = |(key, _, d, codes): &(String, String, &crate::gaps::derived::Derived, [String; 1])| -> (Uuid, serde_json::Value, serde_json::Value) {
        let r = EvidenceRef {
            key,
            resource_key: DERIVED,
            title: &d.title,
            href: derived_href.clone(),
            media_type: Some("text/csv"),
            sha256: &derived_sha,
            requirements: codes,
            collected: midnight(&d.on.to_string()).unwrap_or(a.end),
            derived: true,
        };
        oscal::observation(a, &r)
    };
    if !derived_sha.is_empty() {
        for r in &derived_refs {
            let (id, _, _) = derived_ref(r);
            observed.entry(r.1.clone()).or_default().push(id);
            any = true;
        }
    }

    // The document, written as it goes.
    let (doc, result) = oscal::heads(a, &e.snapshot.requirements);
    let mut entry = w.start(oscal::RESULTS_FILE, true).await?;
    entry.write(format!("{{\"assessment-results\":{},\"results\":[{}", open(&doc), open(&result)).as_bytes()).await?;
    if any {
        entry.write(b",\"observations\":[").await?;
        let mut first = true;
        let mut lines = entries(&manifest).await?;
        while let Some(line) = lines.next_line().await? {
            let f: FileEntry = serde_json::from_str(&line)?;
            if f.kind != "evidence" {
                continue;
            }
            let (_, obs, _) = oscal::observation(a, &file_ref(&f, a));
            entry.write(format!("{}{obs}", if std::mem::take(&mut first) { "" } else { "," }).as_bytes()).await?;
        }
        if !derived_sha.is_empty() {
            for r in &derived_refs {
                let (_, obs, _) = derived_ref(r);
                entry.write(format!("{}{obs}", if std::mem::take(&mut first) { "" } else { "," }).as_bytes()).await?;
            }
        }
        entry.write(b"]").await?;
    }
    let findings = oscal::findings(a, &e.snapshot.requirements, &e.gaps, &observed);
    if !findings.is_empty() {
        entry.write(format!(",\"findings\":{}", serde_json::Value::Array(findings)).as_bytes()).await?;
    }
    entry.write(format!("}}],\"back-matter\":{{\"resources\":[{}", oscal::plan_resource(a)).as_bytes()).await?;
    let mut lines = entries(&manifest).await?;
    while let Some(line) = lines.next_line().await? {
        let f: FileEntry = serde_json::from_str(&line)?;
        if f.kind != "evidence" {
            continue;
        }
        let (_, _, res) = oscal::observation(a, &file_ref(&f, a));
        entry.write(format!(",{res}").as_bytes()).await?;
    }
    if let Some(r) = derived_refs.first().filter(|_| !derived_sha.is_empty()) {
        let (_, _, res) = derived_ref(r);
        entry.write(format!(",{res}").as_bytes()).await?;
    }
    entry.write(b"]}}}\n").await?;
    let (sha, size) = entry.finish().await?;
    w.list(FileEntry {
        path: oscal::RESULTS_FILE.into(),
        sha256: hex::encode(sha),
        size,
        kind: "oscal".into(),
        title: Some("OSCAL assessment results: a finding per requirement, an observation per piece of evidence".into()),
        ..super::zip::blank()
    })
    .await?;
    Ok(3)
}

/// An evidence file of the bundle as an observation sees it.
fn file_ref<'a>(f: &'a FileEntry, a: &Assessment<'_>) -> EvidenceRef<'a> {
    EvidenceRef {
        key: &f.path,
        resource_key: &f.path,
        title: f.title.as_deref().unwrap_or(&f.path),
        href: href(&f.path),
        media_type: None,
        sha256: &f.sha256,
        requirements: &f.requirements,
        collected: f.evidence_date.as_deref().and_then(midnight).unwrap_or(a.end),
        derived: false,
    }
}
