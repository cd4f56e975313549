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

/// What the throttle decided for one attempt.
#[derive(Debug)]
pub enum Admission {
    /// Refused until that moment, without looking at the password.
    Locked(DateTime<Utc>),
    /// The attempt may check the password. It is already counted as a
    /// failure (`tickets` are its rows); a success calls `forgive`.
    Admitted { tickets: Vec<i64> },
}

/// Decides and counts in one step: under a lock per key, the failures in
/// the window are counted and, unless the key is locked, this attempt is
/// recorded as a failure before the password is checked. Concurrent
/// attempts therefore see each other: of 60 wrong passwords sent at once
/// for one account, at most `max_account_failures` reach the password check.
pub async fn admit(db: &PgPool, cfg: &ThrottleConfig, now: DateTime<Utc>, keys: &[(String, i64)]) -> anyhow::Result<Admission> {
    let since = now - cfg.window;
    let mut tx = db.begin().await?;
    let mut until: Option<DateTime<Utc>> = None;
    // Always in the same order (as given: account, then address), so two attempts never wait on each other crosswise.
    for (key, max) in keys {
        sqlx::query!("SELECT 1 AS locked FROM pg_advisory_xact_lock(hashtext('throttle:' || $1))", key).fetch_one(&mut *tx).await?;
        // The max-th most recent failure inside the window decides when the lock ends.
        let nth = sqlx::query_scalar!(
            "SELECT failed_at FROM login_failures
              WHERE throttle_key = $1 AND failed_at > $2
              ORDER BY failed_at DESC OFFSET $3::bigint - 1 LIMIT 1",
            key,
            since,
            max
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(t) = nth {
            let end = t + cfg.window;
            until = Some(until.map_or(end, |u| u.max(end)));
        }
    }
    if let Some(until) = until {
        return Ok(Admission::Locked(until));
    }
    let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
    let tickets = sqlx::query_scalar!(
        "INSERT INTO login_failures (throttle_key, failed_at) SELECT k, $2 FROM UNNEST($1::text[]) k RETURNING id",
        &names as &[&str],
        now
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Admission::Admitted { tickets })
}

/// The keys a sign-in (or a password check while signed in) counts against.
pub fn sign_in_keys(cfg: &ThrottleConfig, email: &str, addr: &str) -> Vec<(String, i64)> {
    vec![(account_key(email), cfg.max_account_failures), (address_key(addr), cfg.max_address_failures)]
}

/// The key sign-ups count against: every attempt, from one address.
pub fn sign_up_keys(cfg: &ThrottleConfig, addr: &str) -> Vec<(String, i64)> {
    vec![(format!("signup:{addr}"), cfg.max_account_failures * 2)]
}

/// A successful attempt takes its tickets back.
pub async fn forgive(db: &PgPool, tickets: &[i64]) -> anyhow::Result<()> {
    sqlx::query!("DELETE FROM login_failures WHERE id = ANY($1)", tickets).execute(db).await?;
    Ok(())
}

/// The verdict on a password typed for `email` from `addr`.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    Right,
    Wrong,
    /// Not checked: too many failures; refused until then.
    Locked(DateTime<Utc>),
}

/// Checks a password through the throttle: every place that asks for a
/// password (sign-in, signing a policy, joining with an existing account,
/// changing the password) counts against the same account and address.
/// `stored` is `None` for an unknown account (still hashed, so timing says nothing).
/// A wrong password, and the lock-out it may start, go to the security log
/// with `context` ("sign-in", "signing a policy", …).
#[allow(clippy::too_many_arguments)]
pub async fn check_password(
    db: &PgPool,
    cfg: &ThrottleConfig,
    now: DateTime<Utc>,
    email: &str,
    addr: &str,
    typed: String,
    stored: Option<String>,
    context: &str,
) -> anyhow::Result<PasswordCheck> {
    let tickets = match admit(db, cfg, now, &sign_in_keys(cfg, email, addr)).await? {
        Admission::Locked(until) => return Ok(PasswordCheck::Locked(until)),
        Admission::Admitted { tickets } => tickets,
    };
    if crate::auth::password::verify(typed, stored.clone()).await? && stored.is_some() {
        forgive(db, &tickets).await?;
        clear_account(db, email).await?;
        return Ok(PasswordCheck::Right);
    }
    use crate::security_log::model::{Event, Kind, record};
    let email = email.trim().to_lowercase();
    let event = |kind, detail: String| Event { org_id: None, user_id: None, email: &email, client_addr: addr, kind, detail };
    record(db, now, event(Kind::PasswordFailed, format!("During {context}."))).await?;
    let failures = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM login_failures WHERE throttle_key = $1 AND failed_at > $2"#,
        account_key(&email),
        now - cfg.window
    )
    .fetch_one(db)
    .await?;
    if failures == cfg.max_account_failures {
        let minutes = cfg.window.num_minutes();
        record(db, now, event(Kind::LockedOut, format!("{failures} wrong passwords; passwords are refused for {minutes} minutes."))).await?;
    }
    Ok(PasswordCheck::Wrong)
}

/// A successful sign-in forgives the account's earlier failures.
pub async fn clear_account(db: &PgPool, email: &str) -> anyhow::Result<()> {
    sqlx::query!("DELETE FROM login_failures WHERE throttle_key = $1", account_key(email)).execute(db).await?;
    Ok(())
}

pub async fn sweep(db: &PgPool, cfg: &ThrottleConfig, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let done = sqlx::query!("DELETE FROM login_failures WHERE failed_at < $1", now - cfg.window).execute(db).await?;
    Ok(done.rows_affected())
}

/// What a locked account (or address) is told, wherever a password is asked for.
pub fn locked_message(until: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let minutes = ((until - now).num_seconds() + 59) / 60;
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    format!("Too many wrong passwords for this account or from this address. Passwords are refused for {minutes} more {unit}, even with the right password.")
}

/// What a locked second factor is told, wherever a code is asked for.
pub fn codes_locked_message(until: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let minutes = ((until - now).num_seconds() + 59) / 60;
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    format!("Too many wrong codes for this account or from this address. Codes are refused for {minutes} more {unit}, even the right one.")
}
