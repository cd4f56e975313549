//! The organisation's sign-in rules, set by owners: whether owners, ISMS
//! leads and executives must have a second factor, and how recent a proof
//! of identity sensitive changes need (`auth::step_up`).
use crate::audit::{self, Actor, Changes};
use crate::auth::policy::{self, Role};
use crate::error::AppResult;
use crate::ids::OrgId;
use crate::web::FieldErrors;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub require_second_factor: bool,
    pub step_up_minutes: i32,
}

/// The rules and who they leave without a second factor.
#[derive(Debug, Clone)]
pub struct Standing {
    pub rules: Rules,
    /// Active owners, ISMS leads and executives.
    pub concerned: usize,
    /// Of them, those without a second factor (names).
    pub without: Vec<String>,
}

pub async fn load(db: &PgPool, org_id: OrgId) -> AppResult<Standing> {
    let rules = sqlx::query_as!(Rules, "SELECT require_second_factor, step_up_minutes FROM organisations WHERE id = $1", org_id.0).fetch_one(db).await?;
    let members = sqlx::query!(
        r#"SELECT u.name, m.role AS "role: Role",
                  (EXISTS (SELECT 1 FROM totp_factors t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)
                   OR EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id)) AS "has_factor!"
             FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.org_id = $1 AND m.disabled_at IS NULL ORDER BY u.name"#,
        org_id.0
    )
    .fetch_all(db)
    .await?;
    let concerned: Vec<_> = members.into_iter().filter(|m| policy::needs_second_factor(m.role)).collect();
    Ok(Standing { rules, concerned: concerned.len(), without: concerned.into_iter().filter(|m| !m.has_factor).map(|m| m.name).collect() })
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Form {
    #[serde(default)]
    pub require_second_factor: Option<String>,
    #[serde(default)]
    pub step_up_minutes: String,
}

impl Form {
    pub fn of(r: &Rules) -> Self {
        Form { require_second_factor: r.require_second_factor.then(|| "on".to_string()), step_up_minutes: r.step_up_minutes.to_string() }
    }

    pub fn parse(&self) -> Result<Rules, FieldErrors> {
        let mut errors = FieldErrors::default();
        let minutes = match self.step_up_minutes.trim().parse::<i32>() {
            Ok(n) if (1..=120).contains(&n) => n,
            _ => {
                errors.add("step_up_minutes", "Enter a number of minutes from 1 to 120.");
                10
            }
        };
        let rules = Rules { require_second_factor: self.require_second_factor.is_some(), step_up_minutes: minutes };
        if errors.is_empty() { Ok(rules) } else { Err(errors) }
    }
}

/// Stores the rules with an audit row naming what changed; false when nothing did.
pub async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, r: &Rules) -> AppResult<bool> {
    let before = sqlx::query_as!(Rules, "SELECT require_second_factor, step_up_minutes FROM organisations WHERE id = $1 FOR UPDATE", org_id.0)
        .fetch_one(&mut *conn)
        .await?;
    let mut c = Changes::new();
    c.field("require_second_factor", before.require_second_factor, r.require_second_factor).field("step_up_minutes", before.step_up_minutes, r.step_up_minutes);
    if c.is_empty() {
        return Ok(false);
    }
    crate::history::stamp(&mut *conn, now).await?;
    sqlx::query!("UPDATE organisations SET require_second_factor = $2, step_up_minutes = $3 WHERE id = $1", org_id.0, r.require_second_factor, r.step_up_minutes)
        .execute(&mut *conn)
        .await?;
    audit::record(conn, actor, now, "organisation.sign_in_rules_set", "organisation", org_id, c.into_value()).await?;
    Ok(true)
}
