//! An account's second factors: an authenticator app (TOTP, `auth::totp`)
//! and ten single-use recovery codes. What an account holds, enrolment,
//! and checking a code through the throttle. The pages are in
//! `auth::two_factor`; the sign-in step in `auth::second_step`.
use crate::auth::throttle::{self, Admission};
use crate::auth::totp::{SECRET_LEN, Secret};
use crate::config::ThrottleConfig;
use crate::ids::UserId;
use crate::security_log::model::{self as security_log, Event, Kind};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// How many recovery codes an account gets at a time.
pub const RECOVERY_CODES: usize = 10;

/// What second factors an account holds.
#[derive(Debug, Clone, Default)]
pub struct Factors {
    /// When the authenticator app was confirmed, if there is one.
    pub totp_since: Option<DateTime<Utc>>,
    /// Recovery codes not yet used.
    pub recovery_left: i64,
    /// Passkeys registered.
    pub passkeys: i64,
}

impl Factors {
    pub fn any(&self) -> bool {
        self.totp_since.is_some() || self.passkeys > 0
    }
}

pub async fn of_user(db: impl sqlx::PgExecutor<'_>, user_id: UserId) -> anyhow::Result<Factors> {
    let row = sqlx::query!(
        r#"SELECT (SELECT confirmed_at FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL) AS "totp_since",
                  (SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL) AS "recovery_left!",
                  (SELECT count(*) FROM passkeys WHERE user_id = $1) AS "passkeys!""#,
        user_id.0
    )
    .fetch_one(db)
    .await?;
    Ok(Factors { totp_since: row.totp_since, recovery_left: row.recovery_left, passkeys: row.passkeys })
}

fn secret_of(bytes: Vec<u8>) -> anyhow::Result<Secret> {
    let raw: [u8; SECRET_LEN] = bytes.try_into().map_err(|_| anyhow::anyhow!("a stored TOTP secret has the wrong length"))?;
    Ok(Secret(raw))
}

/// The authenticator being set up (not yet confirmed by a first code).
pub async fn pending_totp(db: &PgPool, user_id: UserId) -> anyhow::Result<Option<Secret>> {
    let raw = sqlx::query_scalar!("SELECT secret FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NULL", user_id.0).fetch_optional(db).await?;
    raw.map(secret_of).transpose()
}

/// Starts setting up an authenticator with a new secret, replacing one
/// being set up. `false` when the account already has a confirmed one.
pub async fn start_totp(conn: &mut PgConnection, user_id: UserId, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let secret = Secret::random();
    let done = sqlx::query!(
        "INSERT INTO totp_factors (user_id, secret, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = EXCLUDED.created_at
          WHERE totp_factors.confirmed_at IS NULL",
        user_id.0,
        &secret.0[..],
        now
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Confirms the authenticator being set up, as of the step of its first code.
pub async fn confirm_totp(conn: &mut PgConnection, user_id: UserId, step: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let done = sqlx::query!(
        "UPDATE totp_factors SET confirmed_at = $2, last_step = $3 WHERE user_id = $1 AND confirmed_at IS NULL",
        user_id.0,
        now,
        step
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes the authenticator and the recovery codes that went with it.
pub async fn remove_totp(conn: &mut PgConnection, user_id: UserId) -> anyhow::Result<bool> {
    let done = sqlx::query!("DELETE FROM totp_factors WHERE user_id = $1", user_id.0).execute(&mut *conn).await?;
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user_id.0).execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

/// The QR code an authenticator app scans, as SVG.
pub fn qr_svg(uri: &str) -> anyhow::Result<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(uri.as_bytes())?;
    let svg = code.render::<svg::Color>().min_dimensions(200, 200).quiet_zone(true).build();
    // Inline in a page: without the XML declaration.
    Ok(svg.find("<svg").map_or(svg.clone(), |at| svg[at..].to_string()))
}

/// Letters and digits that cannot be misread for each other (no 0/o, 1/l/i).
const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

fn new_code() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let mut s: String = (0..10).map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char).collect();
    s.insert(5, '-');
    s
}

/// A recovery code as typed: lower case, without spaces or dashes.
fn normalise_code(typed: &str) -> String {
    typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// Replaces the account's recovery codes with ten new ones, answered once
/// in clear (to show) and stored only hashed.
pub async fn new_recovery_codes(conn: &mut PgConnection, user_id: UserId, now: DateTime<Utc>) -> anyhow::Result<Vec<String>> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_code()).collect();
    let mut hashes = Vec::with_capacity(codes.len());
    for c in &codes {
        hashes.push(crate::auth::password::hash(normalise_code(c)).await?);
    }
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user_id.0).execute(&mut *conn).await?;
    sqlx::query!(
        "INSERT INTO recovery_codes (user_id, code_hash, created_at) SELECT $1, h, $3 FROM UNNEST($2::text[]) h",
        user_id.0,
        &hashes,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(codes)
}

/// What a code typed for a second factor came to.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeCheck {
    Right,
    Wrong,
    /// Not checked: too many wrong codes; refused until then.
    Locked(DateTime<Utc>),
}

/// Which kind of code was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// From the authenticator app.
    App,
    /// One of the recovery codes (used up by a right answer).
    Recovery,
}

/// Who typed a code, where, and for what (the security log's words).
pub struct Attempt<'a> {
    pub user_id: UserId,
    pub email: &'a str,
    pub client_addr: &'a str,
    /// "signing in", "confirming before a sensitive change", …
    pub context: &'a str,
}

fn factor_key(user_id: UserId) -> String {
    format!("factor:{user_id}")
}

/// Checks a code through the throttle: an account may get only a few codes
/// wrong (on top of what its address may) before codes are refused for a
/// while, even right ones. A right app code is accepted once (its step is
/// kept); a right recovery code is used up. Failures, lock-outs and uses go
/// to the security log.
pub async fn check_code(db: &PgPool, cfg: &ThrottleConfig, now: DateTime<Utc>, who: &Attempt<'_>, kind: CodeKind, typed: &str) -> anyhow::Result<CodeCheck> {
    let keys = vec![(factor_key(who.user_id), cfg.max_account_failures), (format!("address:{}", who.client_addr), cfg.max_address_failures)];
    let tickets = match throttle::admit(db, cfg, now, &keys).await? {
        Admission::Locked(until) => return Ok(CodeCheck::Locked(until)),
        Admission::Admitted { tickets } => tickets,
    };
    let right = match kind {
        CodeKind::App => app_code_right(db, who.user_id, typed, now).await?,
        CodeKind::Recovery => recovery_code_right(db, who.user_id, typed, now).await?,
    };
    let event = |kind, detail: String| Event { org_id: None, user_id: Some(who.user_id), email: who.email, client_addr: who.client_addr, kind, detail };
    let (article, what) = match kind {
        CodeKind::App => ("An", "authenticator app code"),
        CodeKind::Recovery => ("A", "recovery code"),
    };
    if right {
        throttle::forgive(db, &tickets).await?;
        forgive_account(db, who.user_id).await?;
        security_log::record(db, now, event(Kind::FactorUsed, format!("{article} {what}, {}.", who.context))).await?;
        return Ok(CodeCheck::Right);
    }
    security_log::record(db, now, event(Kind::FactorFailed, format!("A wrong {what}, {}.", who.context))).await?;
    let failures = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM login_failures WHERE throttle_key = $1 AND failed_at > $2"#,
        factor_key(who.user_id),
        now - cfg.window
    )
    .fetch_one(db)
    .await?;
    if failures == cfg.max_account_failures {
        let minutes = cfg.window.num_minutes();
        security_log::record(db, now, event(Kind::LockedOut, format!("{failures} wrong codes; codes are refused for {minutes} minutes."))).await?;
    }
    Ok(CodeCheck::Wrong)
}

/// A right code forgives the account's earlier wrong ones.
async fn forgive_account(db: &PgPool, user_id: UserId) -> anyhow::Result<()> {
    sqlx::query!("DELETE FROM login_failures WHERE throttle_key = $1", factor_key(user_id)).execute(db).await?;
    Ok(())
}

/// A confirmed authenticator's code, accepted once: the step is kept in the
/// same statement that checks it was not used, so two requests racing with
/// one code cannot both pass.
async fn app_code_right(db: &PgPool, user_id: UserId, typed: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let row = sqlx::query!("SELECT secret, last_step FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL", user_id.0).fetch_optional(db).await?;
    let Some(row) = row else { return Ok(false) };
    let Some(step) = secret_of(row.secret)?.verify(typed, now.timestamp(), row.last_step) else { return Ok(false) };
    let done = sqlx::query!(
        "UPDATE totp_factors SET last_step = $2 WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)",
        user_id.0,
        step
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn recovery_code_right(db: &PgPool, user_id: UserId, typed: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let typed = normalise_code(typed);
    if typed.len() != 10 {
        return Ok(false);
    }
    let unused = sqlx::query!("SELECT id, code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL ORDER BY id", user_id.0).fetch_all(db).await?;
    for code in unused {
        if crate::auth::password::verify(typed.clone(), Some(code.code_hash)).await? {
            let done = sqlx::query!("UPDATE recovery_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL", code.id, now).execute(db).await?;
            return Ok(done.rows_affected() == 1);
        }
    }
    Ok(false)
}

/// Checks the code of an authenticator being set up (not throttled by the
/// account's sign-in codes, but by the same throttle keys).
pub async fn check_setup_code(db: &PgPool, cfg: &ThrottleConfig, now: DateTime<Utc>, who: &Attempt<'_>, typed: &str) -> anyhow::Result<Result<i64, CodeCheck>> {
    let keys = vec![(factor_key(who.user_id), cfg.max_account_failures)];
    let tickets = match throttle::admit(db, cfg, now, &keys).await? {
        Admission::Locked(until) => return Ok(Err(CodeCheck::Locked(until))),
        Admission::Admitted { tickets } => tickets,
    };
    let Some(secret) = pending_totp(db, who.user_id).await? else { return Ok(Err(CodeCheck::Wrong)) };
    match secret.verify(typed, now.timestamp(), None) {
        Some(step) => {
            throttle::forgive(db, &tickets).await?;
            forgive_account(db, who.user_id).await?;
            Ok(Ok(step))
        }
        None => Ok(Err(CodeCheck::Wrong)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_read_easily_and_type_forgivingly() {
        let c = new_code();
        assert_eq!(c.len(), 11);
        assert_eq!(&c[5..6], "-");
        assert!(c.chars().filter(|c| *c != '-').all(|ch| CODE_ALPHABET.contains(&(ch as u8))));
        assert_eq!(normalise_code(" ABCDE-fghjk "), "abcdefghjk");
        assert_ne!(new_code(), new_code());
    }

    #[test]
    fn the_qr_code_is_an_svg() {
        let svg = qr_svg("otpauth://totp/Mandate:a%40b.example?secret=ABC").unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
    }
}
