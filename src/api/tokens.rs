//! Personal access tokens: made by members for themselves (and by owners
//! for integrations, acting as themselves), scoped, expiring, shown once,
//! kept as a SHA-256 of the secret, listed with their last use, revocable.
//! A token acts as its member: a disabled membership, an auditor outside
//! their access window or a role that lost the action stops it too.
use crate::audit::{self, Actor};
use crate::auth::policy::{Role, Scope};
use crate::auth::session::{hash_token, random_token};
use crate::error::{AppError, AppResult};
use crate::ids::{ApiTokenId, MembershipId, OrgId, UserId};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

/// What every secret starts with, so scanners and people can tell one.
pub const PREFIX: &str = "mandate_pat_";
/// The longest a token may live.
pub const MAX_DAYS: i64 = 366;

/// A token to make.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub days: i64,
    pub integration: bool,
}

impl NewToken {
    /// The rules a token must meet, with the field each concerns.
    pub fn check(&self, role: Role) -> Result<(), (&'static str, String)> {
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err(("name", "Give the token a name of up to 100 characters, such as the system that will use it.".into()));
        }
        if self.scopes.is_empty() {
            return Err(("scopes", "Choose at least one scope.".into()));
        }
        let allowed = crate::auth::policy::scopes_for(role);
        if let Some(s) = self.scopes.iter().find(|s| !allowed.contains(s)) {
            return Err(("scopes", format!("Your role cannot give a token the scope \u{201c}{}\u{201d}.", s.label())));
        }
        if !(1..=MAX_DAYS).contains(&self.days) {
            return Err(("days", format!("A token lasts from 1 to {MAX_DAYS} days.")));
        }
        Ok(())
    }
}

/// The member a token acts as.
#[derive(Debug, Clone, Copy)]
pub struct Holder {
    pub org_id: OrgId,
    pub membership_id: MembershipId,
    pub user_id: UserId,
}

/// Makes a token; returns its id and the secret, which is never shown again.
pub async fn create(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, holder: Holder, t: &NewToken) -> AppResult<(ApiTokenId, String)> {
    let id = ApiTokenId::new();
    let secret = format!("{PREFIX}{}", random_token());
    let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
    let prefix: String = secret.chars().take(PREFIX.len() + 6).collect();
    sqlx::query!(
        "INSERT INTO api_tokens (id, org_id, membership_id, created_by, name, integration, scopes, secret_hash, prefix, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        id.0,
        holder.org_id.0,
        holder.membership_id.0,
        holder.user_id.0,
        t.name.trim(),
        t.integration,
        &scopes as &[&str],
        hash_token(&secret),
        prefix,
        now,
        now + Duration::days(t.days),
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "api_token.created", "api_token", id, json!({"name": t.name.trim(), "scopes": scopes, "integration": t.integration, "days": t.days})).await?;
    Ok((id, secret))
}

/// A token as lists show it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: ApiTokenId,
    pub name: String,
    pub integration: bool,
    pub scopes: Vec<String>,
    pub prefix: String,
    pub holder_email: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_from: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Listed {
    pub fn state(&self, now: &DateTime<Utc>) -> &'static str {
        if self.revoked_at.is_some() {
            "Revoked"
        } else if self.expires_at <= *now {
            "Expired"
        } else {
            "Active"
        }
    }
    pub fn is_active(&self, now: &DateTime<Utc>) -> bool {
        self.state(now) == "Active"
    }
    /// What its scopes allow, in words.
    pub fn scope_words(&self) -> String {
        self.scopes.iter().map(|s| s.parse::<Scope>().map(|c| c.short()).unwrap_or("unknown")).collect::<Vec<_>>().join(", ")
    }
    pub fn last_use(&self) -> String {
        match (&self.last_used_at, &self.last_used_from) {
            (Some(at), Some(from)) => format!("{} from {from}", at.format("%Y-%m-%d %H:%M UTC")),
            (Some(at), None) => at.format("%Y-%m-%d %H:%M UTC").to_string(),
            _ => "Never used".into(),
        }
    }
}

/// The member's own tokens and, for owners (`with_integrations`), every
/// integration token of the organisation: newest first.
pub async fn listed(db: &PgPool, org_id: OrgId, membership_id: MembershipId, with_integrations: bool) -> AppResult<Vec<Listed>> {
    Ok(sqlx::query_as!(
        Listed,
        r#"SELECT t.id AS "id: ApiTokenId", t.name, t.integration, t.scopes, t.prefix, u.email AS holder_email,
                  t.created_at, t.expires_at, t.last_used_at, t.last_used_from, t.revoked_at
             FROM api_tokens t
             JOIN memberships m ON m.id = t.membership_id AND m.org_id = t.org_id
             JOIN users u ON u.id = m.user_id
            WHERE t.org_id = $1 AND (t.membership_id = $2 OR ($3 AND t.integration))
            ORDER BY t.created_at DESC, t.id
            LIMIT 500"#,
        org_id.0,
        membership_id.0,
        with_integrations,
    )
    .fetch_all(db)
    .await?)
}

/// Revokes a token of the member's own or, for owners (`any_integration`),
/// any integration token. Someone else's token is not found, like a
/// missing one. Returns its name, and whether it was still active.
pub async fn revoke(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    holder: Holder,
    id: ApiTokenId,
    any_integration: bool,
) -> AppResult<(String, bool)> {
    let row = sqlx::query!(
        "SELECT name, revoked_at FROM api_tokens WHERE org_id = $1 AND id = $2 AND (membership_id = $3 OR ($4 AND integration)) FOR UPDATE",
        holder.org_id.0,
        id.0,
        holder.membership_id.0,
        any_integration,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    if row.revoked_at.is_some() {
        return Ok((row.name, false));
    }
    sqlx::query!("UPDATE api_tokens SET revoked_at = $3, revoked_by = $4 WHERE org_id = $1 AND id = $2", holder.org_id.0, id.0, now, holder.user_id.0)
        .execute(&mut *conn)
        .await?;
    audit::record(conn, actor, now, "api_token.revoked", "api_token", id, json!({"name": row.name})).await?;
    Ok((row.name, true))
}

/// Who a valid token acts as, and where it stands against the rate limit.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub token_id: ApiTokenId,
    pub token_name: String,
    pub integration: bool,
    pub scopes: Vec<Scope>,
    pub org_id: OrgId,
    pub org_name: String,
    pub membership_id: MembershipId,
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Requests left in this minute (negative: over the limit).
    pub remaining: i32,
    /// Seconds until the minute ends.
    pub reset: i64,
}

/// Why a token was refused (the 401's description).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Expired,
    Revoked,
    /// The member it acts as is disabled, outside their access window, or
    /// stopped by the organisation's sign-in rules.
    MemberInactive,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Unknown => "The token is not known. Check that it was copied whole.",
            Refusal::Expired => "The token has expired. Make a new one under Your account \u{2192} API tokens.",
            Refusal::Revoked => "The token was revoked.",
            Refusal::MemberInactive => "The member this token acts as has no access to the organisation now: disabled, outside an access window, or stopped by its sign-in rules (a second factor or single sign-on to set up first).",
        }
    }
}

/// Checks a secret and counts the request against the token's limit, in
/// one statement: the token must be neither expired nor revoked, and its
/// member active (not disabled, inside an auditor's access window).
pub async fn authenticate(db: &PgPool, secret: &str, now: DateTime<Utc>, from: &str, per_minute: i32) -> AppResult<Result<Authenticated, Refusal>> {
    let hash = hash_token(secret);
    let today = now.date_naive();
    let minute = now - Duration::seconds(now.timestamp().rem_euclid(60)) - Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos()));
    let row = sqlx::query!(
        r#"UPDATE api_tokens t
              SET last_used_at = $2, last_used_from = $3,
                  window_count = CASE WHEN t.window_start = $4 THEN t.window_count + 1 ELSE 1 END,
                  window_start = $4
             FROM memberships m, users u, organisations o
            WHERE t.secret_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2
              AND m.id = t.membership_id AND m.org_id = t.org_id AND m.disabled_at IS NULL
              AND (m.access_from IS NULL OR m.access_from <= $5) AND (m.access_until IS NULL OR m.access_until >= $5)
              AND u.id = m.user_id AND o.id = t.org_id
              -- The organisation's sign-in rules hold for tokens too: a member the
              -- rules stop at the pages (no second factor where one is required,
              -- single sign-on required and not linked) is stopped here.
              AND NOT (o.require_second_factor AND m.role IN ('owner', 'isms_lead', 'executive')
                       AND NOT EXISTS (SELECT 1 FROM totp_factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL)
                       AND NOT EXISTS (SELECT 1 FROM passkeys k WHERE k.user_id = u.id))
              AND NOT (m.role <> 'owner' AND EXISTS (SELECT 1 FROM sso_providers sp WHERE sp.org_id = o.id AND sp.required
                       AND NOT EXISTS (SELECT 1 FROM sso_identities si WHERE si.org_id = sp.org_id AND si.issuer = sp.issuer AND si.user_id = u.id)))
        RETURNING t.id AS "id: ApiTokenId", t.name, t.integration, t.scopes, t.org_id AS "org_id: OrgId", o.name AS org_name,
                  m.id AS "membership_id: MembershipId", u.id AS "user_id: UserId", u.email, u.name AS user_name,
                  m.role AS "role: Role", t.window_count"#,
        hash,
        now,
        from,
        minute,
        today,
    )
    .fetch_optional(db)
    .await?;
    let Some(row) = row else {
        let why = sqlx::query!("SELECT revoked_at, expires_at FROM api_tokens WHERE secret_hash = $1", hash).fetch_optional(db).await?;
        return Ok(Err(match why {
            None => Refusal::Unknown,
            Some(w) if w.revoked_at.is_some() => Refusal::Revoked,
            Some(w) if w.expires_at <= now => Refusal::Expired,
            Some(_) => Refusal::MemberInactive,
        }));
    };
    Ok(Ok(Authenticated {
        token_id: row.id,
        token_name: row.name,
        integration: row.integration,
        scopes: row.scopes.iter().filter_map(|s| s.parse().ok()).collect(),
        org_id: row.org_id,
        org_name: row.org_name,
        membership_id: row.membership_id,
        user_id: row.user_id,
        email: row.email,
        name: row.user_name,
        role: row.role,
        remaining: per_minute - row.window_count,
        reset: 60 - now.timestamp().rem_euclid(60),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(scopes: Vec<Scope>, days: i64) -> NewToken {
        NewToken { name: "HR sync".into(), scopes, days, integration: false }
    }

    #[test]
    fn a_token_carries_only_scopes_its_member_could_use() {
        assert!(token(vec![Scope::Read, Scope::WritePeople], 30).check(Role::IsmsLead).is_ok());
        assert_eq!(token(vec![Scope::WritePeople], 30).check(Role::Contributor).unwrap_err().0, "scopes");
        assert_eq!(token(vec![Scope::WriteEvidence], 30).check(Role::Auditor).unwrap_err().0, "scopes");
        assert!(token(vec![Scope::Read], 30).check(Role::Auditor).is_ok());
        assert!(token(vec![Scope::WriteEvidence, Scope::WriteFindings], 30).check(Role::Contributor).is_ok());
    }

    #[test]
    fn a_token_has_a_name_a_scope_and_a_bounded_life() {
        assert_eq!(token(vec![], 30).check(Role::Owner).unwrap_err().0, "scopes");
        assert_eq!(token(vec![Scope::Read], 0).check(Role::Owner).unwrap_err().0, "days");
        assert_eq!(token(vec![Scope::Read], MAX_DAYS + 1).check(Role::Owner).unwrap_err().0, "days");
        let unnamed = NewToken { name: "  ".into(), ..token(vec![Scope::Read], 30) };
        assert_eq!(unnamed.check(Role::Owner).unwrap_err().0, "name");
    }
}
