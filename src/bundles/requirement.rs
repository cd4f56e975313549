//! One requirement's current evidence as a ZIP, in one click: every
//! uploaded file that counts today (its newest revision, each checked
//! against the SHA-256 recorded at upload), the records Mandate holds that
//! count for it (a plain-text rendering and a CSV of their data), and a
//! `SHA256SUMS` of everything, so `sha256sum -c SHA256SUMS` checks it.
//! Written as it is sent, in constant memory.
use super::manifest::{SUMS, evidence_path};
use super::zip::{Hashing, Zip, compresses};
use crate::evidence::store::EvidenceStore;
use crate::gaps::derived::Derived;
use crate::ids::{EvidenceId, OrgId, RequirementId};
use anyhow::bail;
use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipDateTime, ZipEntryBuilder};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{AsyncWriteExt as _, StreamExt};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

/// The file a requirement's evidence downloads as.
pub fn filename(code: &str, today: NaiveDate) -> String {
    let code: String = code.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' }).collect();
    format!("evidence-{}-{}.zip", code.trim_matches('-'), today.format("%Y%m%d"))
}

struct Current {
    item_id: EvidenceId,
    title: String,
    number: i32,
    filename: String,
    content_type: String,
    object_key: String,
    size: i64,
    sha256: Vec<u8>,
}

/// Writes the ZIP into `out`: uploaded evidence current on `today`, the
/// records in `derived` that count on it, and `SHA256SUMS` last.
#[allow(clippy::too_many_arguments)]
pub async fn write<W: AsyncWrite + Unpin + Send>(
    db: &PgPool,
    store: &EvidenceStore,
    org_id: OrgId,
    requirement: RequirementId,
    code: &str,
    title: &str,
    derived: &[Derived],
    today: NaiveDate,
    now: DateTime<Utc>,
    out: W,
) -> anyhow::Result<()> {
    let files = sqlx::query_as!(
        Current,
        r#"SELECT i.id AS "item_id: EvidenceId", i.title, v.number, v.filename, v.content_type, v.object_key, v.size, v.sha256
             FROM evidence_links l
             JOIN evidence_items i ON i.org_id = l.org_id AND i.id = l.item_id
             JOIN LATERAL (SELECT r.number, r.filename, r.content_type, r.object_key, r.size, r.sha256 FROM evidence_revisions r
                            WHERE r.org_id = i.org_id AND r.item_id = i.id ORDER BY r.number DESC LIMIT 1) v ON true
            WHERE l.org_id = $1 AND l.target_kind = 'requirement' AND l.target_id = $2
              AND (i.evidence_date IS NULL OR i.evidence_date <= $3)
              AND (COALESCE(i.valid_until, (i.evidence_date + make_interval(months => i.review_interval_months))::date) IS NULL
                   OR COALESCE(i.valid_until, (i.evidence_date + make_interval(months => i.review_interval_months))::date) >= $3)
            ORDER BY i.title, i.id"#,
        org_id.0,
        requirement.0,
        today,
    )
    .fetch_all(db)
    .await?;

    let mut zip: Zip<W> = ZipFileWriter::with_tokio(Hashing { inner: out, hasher: Sha256::new(), size: 0 });
    let stamp = ZipDateTime::from_chrono(&now);
    let mut sums = String::new();
    let entry = |name: &str, compress: bool| {
        ZipEntryBuilder::new(name.to_string().into(), if compress { Compression::Deflate } else { Compression::Stored }).last_modification_date(stamp).unix_permissions(0o644)
    };

    for f in &files {
        let path = evidence_path(f.item_id, &f.title, f.number, &f.filename);
        let (_, mut stream) = store.read(&f.object_key).await?;
        let mut w = zip.write_entry_stream(entry(&path, compresses(&f.content_type))).await?;
        let (mut hasher, mut size) = (Sha256::new(), 0u64);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            w.write_all(&chunk).await?;
        }
        w.close().await?;
        let sha = hasher.finalize();
        if sha.as_slice() != f.sha256.as_slice() || size != f.size as u64 {
            bail!("the stored file of \"{}\" (revision {}) no longer matches the SHA-256 recorded when it was uploaded", f.title, f.number);
        }
        sums.push_str(&format!("{}  {path}\n", hex::encode(sha)));
    }

    let counting: Vec<&Derived> = derived.iter().filter(|d| d.counts_on(today)).collect();
    let mut text = format!("{code} {title}\nEvidence held in Mandate on {today}: records that count without an upload.\n\n");
    if counting.is_empty() {
        text.push_str("None.\n");
    }
    let mut csv = crate::web::csv::row(&["requirement", "kind", "record", "dated", "valid_until", "where_in_mandate"]);
    for d in &counting {
        let valid = d.valid_until.map(|u| u.to_string()).unwrap_or_default();
        text.push_str(&format!(
            "- {}\n  {}\n  Dated {}{}\n  In Mandate at {}\n\n",
            d.title,
            d.source.label(),
            d.on,
            if valid.is_empty() { String::new() } else { format!(", counts until {valid}") },
            d.href
        ));
        csv.push_str(&crate::web::csv::row(&[code, d.source.label(), &d.title, &d.on.to_string(), &valid, &d.href]));
    }
    for (name, body) in [("held-in-mandate.txt", text), ("held-in-mandate.csv", csv)] {
        zip.write_entry_whole(entry(name, true), body.as_bytes()).await?;
        sums.push_str(&format!("{}  {name}\n", hex::encode(Sha256::digest(body.as_bytes()))));
    }
    zip.write_entry_whole(entry(SUMS, true), sums.as_bytes()).await?;
    let mut hashing = zip.close().await?.into_inner();
    hashing.shutdown().await?;
    Ok(())
}
