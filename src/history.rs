//! Values as they stood on a day. Records edited in place keep every value
//! they had (migrations/20261207000011_as_of_history.sql): each change
//! appends the row as it was before it, and `<table>_on(org, cut)` reads the
//! rows as they stood at `cut`. The gap list, its drill-downs and CSV, and
//! evidence bundles read through those functions.
//!
//! A change is dated by the `updated_at` it stamps. A write that has no
//! `updated_at` to stamp (a deletion, a table without one) dates its changes
//! with [`stamp`] first; one that does neither keeps no history.
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Dates the history this transaction's changes leave with `now` (the
/// application's clock, which tests set).
pub async fn stamp(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT set_config('mandate.now', $1, true)", now.to_rfc3339()).fetch_one(conn).await?;
    Ok(())
}

/// Keeps no history for the rest of this transaction: for seeding the demo
/// and generated organisations, whose records are as if they had always
/// been so.
pub async fn off(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT set_config('mandate.history', 'off', true)").fetch_one(conn).await?;
    Ok(())
}
