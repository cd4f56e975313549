//! The organisation's logo: shown on the pages staff open from a personal
//! link without signing in, and on published policies, so that they know
//! who is asking. PNG or JPEG only, judged by its bytes (never an SVG or
//! anything else a browser could run), at most `MAX_BYTES`.
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use crate::evidence::sniff::{self, FileType};
use crate::ids::OrgId;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::Digest;
use sqlx::{PgConnection, PgPool};

/// The largest logo accepted: 256 KiB.
pub const MAX_BYTES: usize = 256 * 1024;

/// A logo as uploaded: its name and its bytes.
pub struct Upload<'a> {
    pub filename: &'a str,
    pub bytes: &'a [u8],
}

/// Why a file is not accepted as a logo, in words for the person who chose it.
pub fn check(up: &Upload<'_>) -> Result<FileType, String> {
    if up.bytes.is_empty() {
        return Err("Choose an image file (PNG or JPEG).".into());
    }
    if up.bytes.len() > MAX_BYTES {
        return Err(format!("The image is larger than {} KiB. Save it smaller (a logo needs no more than 400 pixels across).", MAX_BYTES / 1024));
    }
    let tail = &up.bytes[up.bytes.len().saturating_sub(sniff::TAIL)..];
    let head = &up.bytes[..up.bytes.len().min(sniff::HEAD)];
    match sniff::judge(head, tail, up.bytes.len() as u64, false, sniff::extension(up.filename).as_deref()) {
        Ok(t @ (FileType::Png | FileType::Jpeg)) => Ok(t),
        Ok(other) => Err(format!("This file is {}: a logo must be a PNG or JPEG image.", other.label())),
        Err(sniff::Refusal::NotAllowed(_)) => Err("A logo must be a PNG or JPEG image (SVG and other formats are not accepted).".into()),
        Err(refusal) => Err(refusal.to_string()),
    }
}

/// Sets (or replaces) the logo, after `check`.
pub async fn set(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, up: &Upload<'_>, kind: FileType) -> AppResult<()> {
    let sha = sha2::Sha256::digest(up.bytes).to_vec();
    let filename: String = up.filename.chars().take(200).collect();
    sqlx::query!(
        "INSERT INTO org_logos (org_id, content_type, bytes, sha256, filename, uploaded_by, uploaded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (org_id) DO UPDATE SET content_type = EXCLUDED.content_type, bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256,
                filename = EXCLUDED.filename, uploaded_by = EXCLUDED.uploaded_by, uploaded_at = EXCLUDED.uploaded_at",
        org_id.0,
        kind.mime(),
        up.bytes,
        sha,
        filename,
        actor.user_id.map(|u| u.0),
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "organisation.logo_set", "organisation", org_id, json!({"filename": filename, "bytes": up.bytes.len(), "sha256": hex::encode(&sha)}))
        .await?;
    Ok(())
}

/// Removes the logo; false when there was none.
pub async fn remove(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId) -> AppResult<bool> {
    let gone = sqlx::query_scalar!("DELETE FROM org_logos WHERE org_id = $1 RETURNING filename", org_id.0).fetch_optional(&mut *conn).await?;
    let Some(filename) = gone else { return Ok(false) };
    audit::record(conn, actor, now, "organisation.logo_removed", "organisation", org_id, json!({"filename": filename})).await?;
    Ok(true)
}

/// The logo's file name and when it was uploaded, if there is one.
pub async fn about(db: &PgPool, org_id: OrgId) -> AppResult<Option<(String, DateTime<Utc>)>> {
    Ok(sqlx::query!("SELECT filename, uploaded_at FROM org_logos WHERE org_id = $1", org_id.0)
        .fetch_optional(db)
        .await?
        .map(|r| (r.filename, r.uploaded_at)))
}

/// The logo as an image response, or 404 when the organisation has none.
/// It is never rendered as anything but the image type it was checked to
/// be, and opened on its own it downloads.
pub async fn response(db: &PgPool, org_id: OrgId) -> AppResult<Response> {
    let logo = sqlx::query!("SELECT content_type, bytes, sha256 FROM org_logos WHERE org_id = $1", org_id.0)
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut res = Response::new(Body::from(logo.bytes));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&logo.content_type).map_err(|_| AppError::NotFound)?);
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"logo\""));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&logo.sha256[..8]))) {
        h.insert(header::ETAG, etag);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR....IEND\xaeB`\x82";

    #[test]
    fn only_png_and_jpeg_of_a_modest_size() {
        assert_eq!(check(&Upload { filename: "logo.png", bytes: PNG }), Ok(FileType::Png));
        assert_eq!(check(&Upload { filename: "logo.jpg", bytes: b"\xFF\xD8\xFF\xE0....\xFF\xD9" }), Ok(FileType::Jpeg));
        let svg = check(&Upload { filename: "logo.svg", bytes: b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>" });
        assert!(svg.as_ref().is_err_and(|e| e.contains("PNG or JPEG")), "{svg:?}");
        let pdf = check(&Upload { filename: "logo.pdf", bytes: b"%PDF-1.4\n%%EOF\n" });
        assert!(pdf.as_ref().is_err_and(|e| e.contains("PDF")), "{pdf:?}");
        let renamed = check(&Upload { filename: "logo.jpg", bytes: PNG });
        assert!(renamed.as_ref().is_err_and(|e| e.contains(".jpg")), "{renamed:?}");
        let big: Vec<u8> = PNG.iter().copied().chain(std::iter::repeat_n(0, MAX_BYTES)).collect();
        assert!(check(&Upload { filename: "logo.png", bytes: &big }).is_err_and(|e| e.contains("256 KiB")));
        assert!(check(&Upload { filename: "logo.png", bytes: b"" }).is_err());
    }
}
