//! How the organisation wants findings graded: the share of the people
//! concerned from which a lapse is widespread, and the grace periods before
//! a lapse is a finding at all (docs/RULES.md, "Grading").
use crate::audit::{self, Actor, Changes};
use crate::error::AppResult;
use crate::ids::OrgId;
use crate::web::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

/// The grading settings, with their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Grading {
    /// From this share (in percent) of the people concerned, a lapse is
    /// widespread: a major nonconformity, not a minor one.
    pub widespread_percent: i32,
    /// Days after a version is signed during which missing acknowledgements
    /// are an opportunity for improvement, not a nonconformity.
    pub ack_grace_days: i32,
    /// Days after a meeting during which its minutes may still be missing.
    pub minutes_grace_days: i32,
    /// Days after their start during which a starter's acknowledgement still counts as on time.
    pub onboarding_grace_days: i32,
    /// From this many occurrences, the same lapse (a review without minutes,
    /// an overdue action...) is repeated: a major nonconformity.
    pub repeated_from: i32,
}

impl Default for Grading {
    fn default() -> Self {
        Grading { widespread_percent: 50, ack_grace_days: 30, minutes_grace_days: 30, onboarding_grace_days: 3, repeated_from: 3 }
    }
}

/// The settings form, as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GradingForm {
    #[serde(default)]
    pub widespread_percent: String,
    #[serde(default)]
    pub ack_grace_days: String,
    #[serde(default)]
    pub minutes_grace_days: String,
    #[serde(default)]
    pub onboarding_grace_days: String,
    #[serde(default)]
    pub repeated_from: String,
}

impl GradingForm {
    pub fn of(g: &Grading) -> Self {
        GradingForm {
            widespread_percent: g.widespread_percent.to_string(),
            ack_grace_days: g.ack_grace_days.to_string(),
            minutes_grace_days: g.minutes_grace_days.to_string(),
            onboarding_grace_days: g.onboarding_grace_days.to_string(),
            repeated_from: g.repeated_from.to_string(),
        }
    }

    pub fn parse(&self) -> Result<Grading, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut number = |field: &'static str, raw: &str, low: i32, high: i32, what: &str| match raw.trim().parse::<i32>() {
            Ok(n) if (low..=high).contains(&n) => n,
            _ => {
                errors.add(field, format!("Enter {what} from {low} to {high}."));
                low
            }
        };
        let g = Grading {
            widespread_percent: number("widespread_percent", &self.widespread_percent, 1, 100, "a percentage"),
            ack_grace_days: number("ack_grace_days", &self.ack_grace_days, 0, 180, "a number of days"),
            minutes_grace_days: number("minutes_grace_days", &self.minutes_grace_days, 0, 180, "a number of days"),
            onboarding_grace_days: number("onboarding_grace_days", &self.onboarding_grace_days, 0, 60, "a number of days"),
            repeated_from: number("repeated_from", &self.repeated_from, 2, 50, "a number of occurrences"),
        };
        if errors.is_empty() { Ok(g) } else { Err(errors) }
    }
}

pub async fn load(db: impl sqlx::PgExecutor<'_>, org_id: OrgId) -> AppResult<Grading> {
    Ok(sqlx::query_as!(
        Grading,
        "SELECT widespread_percent, ack_grace_days, minutes_grace_days, onboarding_grace_days, repeated_from FROM organisations WHERE id = $1",
        org_id.0
    )
    .fetch_one(db)
    .await?)
}

/// Stores new settings with an audit row naming what changed; false when nothing did.
pub async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, g: &Grading) -> AppResult<bool> {
    let before = sqlx::query_as!(
        Grading,
        "SELECT widespread_percent, ack_grace_days, minutes_grace_days, onboarding_grace_days, repeated_from FROM organisations WHERE id = $1 FOR UPDATE",
        org_id.0
    )
    .fetch_one(&mut *conn)
    .await?;
    let mut c = Changes::new();
    c.field("widespread_percent", before.widespread_percent, g.widespread_percent)
        .field("ack_grace_days", before.ack_grace_days, g.ack_grace_days)
        .field("minutes_grace_days", before.minutes_grace_days, g.minutes_grace_days)
        .field("onboarding_grace_days", before.onboarding_grace_days, g.onboarding_grace_days)
        .field("repeated_from", before.repeated_from, g.repeated_from);
    if c.is_empty() {
        return Ok(false);
    }
    crate::history::stamp(&mut *conn, now).await?;
    sqlx::query!(
        "UPDATE organisations SET widespread_percent = $2, ack_grace_days = $3, minutes_grace_days = $4, onboarding_grace_days = $5, repeated_from = $6 WHERE id = $1",
        org_id.0,
        g.widespread_percent,
        g.ack_grace_days,
        g.minutes_grace_days,
        g.onboarding_grace_days,
        g.repeated_from
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "organisation.grading_set", "organisation", org_id, c.into_value()).await?;
    Ok(true)
}
