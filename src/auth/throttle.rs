//! Sign-in throttling, kept in PostgreSQL so every app process sees the same
//! counts. An account (by the e-mail typed, whether or not it exists) locks
//! after a few failures; a client address after many more. While locked even
//! the right password is refused.
use crate::config::ThrottleConfig;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

fn address_key(addr: &str) -> String {
    format!("address:{addr}")
}

/// `Some(until)` when sign-in must be refused until that moment.
pub async fn locked_until(
    db: &PgPool,
    cfg: &ThrottleConfig,
    now: DateTime<Utc>,
    email: &str,
    addr: &str,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let since = now - cfg.window;
    let mut until = None;
    for (key, max) in [(account_key(email), cfg.max_account_failures), (address_key(addr), cfg.max_address_failures)] {
        // The max-th most recent failure inside the window decides when the lock ends.
        let nth: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT failed_at FROM login_failures
              WHERE throttle_key = $1 AND failed_at > $2
              ORDER BY failed_at DESC OFFSET $3 - 1 LIMIT 1",
        )
        .bind(&key)
        .bind(since)
        .bind(max)
        .fetch_optional(db)
        .await?;
        if let Some(t) = nth {
            let end = t + cfg.window;
            until = Some(until.map_or(end, |u: DateTime<Utc>| u.max(end)));
        }
    }
    Ok(until)
}

pub async fn record_failure(db: &PgPool, now: DateTime<Utc>, email: &str, addr: &str) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO login_failures (throttle_key, failed_at) VALUES ($1, $3), ($2, $3)")
        .bind(account_key(email))
        .bind(address_key(addr))
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// A successful sign-in forgives the account's earlier failures.
pub async fn clear_account(db: &PgPool, email: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
        .bind(account_key(email))
        .execute(db)
        .await?;
    Ok(())
}

pub async fn sweep(db: &PgPool, cfg: &ThrottleConfig, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM login_failures WHERE failed_at < $1")
        .bind(now - cfg.window)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
