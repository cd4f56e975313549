//! The `imports` table: an uploaded file's checked rows and problems, kept
//! until the file is applied (once) or replaced by a new upload.
use super::{Checked, Kind};
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use crate::ids::{ImportId, OrgId};
use crate::web::sheet::Problem;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use sqlx::PgConnection;
use sqlx::types::Json;

/// A stored import, its rows read as the kind's rows.
pub struct Stored<R> {
    pub filename: String,
    pub created_at: DateTime<Utc>,
    pub columns: Vec<String>,
    pub rows: Vec<R>,
    pub problems: Vec<Problem>,
    pub applied_at: Option<DateTime<Utc>>,
    pub summary: Option<serde_json::Value>,
}

/// Stores a checked file, with its audit row, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn store<R: Serialize>(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    kind: Kind,
    filename: &str,
    sha256: &[u8],
    checked: &Checked<R>,
) -> AppResult<ImportId> {
    let id = ImportId::new();
    let created_by = actor.user_id.ok_or_else(|| AppError::Internal(anyhow::anyhow!("an import needs a signed-in member")))?;
    sqlx::query!(
        "INSERT INTO imports (id, org_id, kind, created_by, created_at, filename, file_sha256, columns, rows, problems)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        id.0,
        org_id.0,
        kind.as_str(),
        created_by.0,
        now,
        filename,
        sha256,
        &checked.columns,
        Json(&checked.rows) as _,
        Json(&checked.problems) as _,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        audit_names(kind).0,
        audit_names(kind).2,
        id,
        json!({"file": filename, "rows": checked.rows.len(), "problems": checked.problems.len()}),
    )
    .await?;
    Ok(id)
}

/// How the audit log names an import of this kind (as it always has):
/// the check, the apply, and the record.
fn audit_names(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::People => ("people.import_checked", "people.imported", "people_import"),
        Kind::Training => ("training.import_checked", "training.imported", "training_import"),
        Kind::Acknowledgements => ("policy.acknowledgements_import_checked", "policy.acknowledgements_imported", "acknowledgements_import"),
    }
}

/// An import of this organisation and kind; another's is not found.
/// `lock`: for the rest of the transaction.
pub async fn load<R: DeserializeOwned>(conn: &mut PgConnection, org_id: OrgId, kind: Kind, id: ImportId, lock: bool) -> AppResult<Stored<R>> {
    let row = if lock {
        sqlx::query!(
            r#"SELECT filename, created_at, columns, rows, problems AS "problems: Json<Vec<Problem>>", applied_at, summary
                 FROM imports WHERE org_id = $1 AND kind = $2 AND id = $3 FOR UPDATE"#,
            org_id.0,
            kind.as_str(),
            id.0,
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| (r.filename, r.created_at, r.columns, r.rows, r.problems, r.applied_at, r.summary))
    } else {
        sqlx::query!(
            r#"SELECT filename, created_at, columns, rows, problems AS "problems: Json<Vec<Problem>>", applied_at, summary
                 FROM imports WHERE org_id = $1 AND kind = $2 AND id = $3"#,
            org_id.0,
            kind.as_str(),
            id.0,
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| (r.filename, r.created_at, r.columns, r.rows, r.problems, r.applied_at, r.summary))
    };
    let (filename, created_at, columns, rows, problems, applied_at, summary) = row.ok_or(AppError::NotFound)?;
    let rows: Vec<R> = serde_json::from_value(rows).map_err(|e| AppError::Internal(anyhow::anyhow!("stored import rows: {e}")))?;
    Ok(Stored { filename, created_at, columns, rows, problems: problems.0, applied_at, summary })
}

/// Marks an import applied, with what it did, and writes the audit row.
#[allow(clippy::too_many_arguments)]
pub async fn mark_applied(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    kind: Kind,
    id: ImportId,
    filename: &str,
    summary: &serde_json::Value,
) -> AppResult<()> {
    sqlx::query!("UPDATE imports SET applied_at = $3, summary = $4 WHERE org_id = $1 AND id = $2", org_id.0, id.0, now, summary)
        .execute(&mut *conn)
        .await?;
    let (_, applied, entity) = audit_names(kind);
    audit::record(conn, actor, now, applied, entity, id, json!({"file": filename, "summary": summary})).await?;
    Ok(())
}
