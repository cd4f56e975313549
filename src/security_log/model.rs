//! Security events: recorded where they happen, read by owners.
use crate::ids::{OrgId, UserId};
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use sqlx::PgPool;

crate::text_enum! {
    /// What happened. Stored by `as_str`; shown by `label`.
    pub enum Kind {
        SignedIn = "signed_in" => "Signed in",
        PasswordFailed = "password_failed" => "Wrong password",
        LockedOut = "locked_out" => "Locked out after repeated wrong passwords",
        PasswordChanged = "password_changed" => "Changed their password",
        RoleChanged = "role_changed" => "Changed a member's role",
        MemberDisabled = "member_disabled" => "Disabled a member",
        MemberEnabled = "member_enabled" => "Re-enabled a member",
        AccessWindowChanged = "access_window_changed" => "Changed an auditor's access window",
        InvitationSent = "invitation_sent" => "Invited someone",
        InvitationWithdrawn = "invitation_withdrawn" => "Withdrew an invitation",
        InvitationAccepted = "invitation_accepted" => "Accepted an invitation",
        RosterProposed = "roster_proposed" => "Proposed a change to top management",
        RosterConfirmed = "roster_confirmed" => "Confirmed a change to top management",
        RosterRefused = "roster_refused" => "Refused a change to top management",
        RosterWithdrawn = "roster_withdrawn" => "Withdrew a proposed change to top management",
        RosterBootstrapped = "roster_bootstrapped" => "Set up the first member of top management",
        FactorEnrolled = "factor_enrolled" => "Added a second factor",
        FactorUsed = "factor_used" => "Used a second factor",
        FactorFailed = "factor_failed" => "Wrong second-factor code",
        FactorRemoved = "factor_removed" => "Removed a second factor",
        RecoveryCodesMade = "recovery_codes_made" => "Made new recovery codes",
        IdentityConfirmed = "identity_confirmed" => "Confirmed who they are before a sensitive change",
        SignInRulesChanged = "sign_in_rules_changed" => "Changed the organisation's sign-in rules",
        TokenCreated = "token_created" => "Made a personal access token for the API",
        TokenRevoked = "token_revoked" => "Revoked a personal access token",
    }
}

impl Kind {
    /// The kind a stored or submitted value names, if any.
    pub fn parse(raw: &str) -> Option<Kind> {
        raw.parse().ok()
    }
}

/// One event to record.
pub struct Event<'a> {
    /// `None` for account-level events (sign-ins, passwords).
    pub org_id: Option<OrgId>,
    pub user_id: Option<UserId>,
    pub email: &'a str,
    pub client_addr: &'a str,
    pub kind: Kind,
    pub detail: String,
}

impl<'a> Event<'a> {
    /// An organisation event made by a signed-in member.
    pub fn by(me: &'a crate::auth::session::Member, kind: Kind, detail: impl Into<String>) -> Self {
        Event { org_id: Some(me.org_id), user_id: Some(me.user_id), email: &me.email, client_addr: &me.visitor.client_addr, kind, detail: detail.into() }
    }
}

/// Records an event; call it in the transaction of the change it describes.
pub async fn record(db: impl sqlx::PgExecutor<'_>, at: DateTime<Utc>, e: Event<'_>) -> anyhow::Result<()> {
    sqlx::query!(
        "INSERT INTO security_events (at, org_id, user_id, email, client_addr, kind, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        at,
        e.org_id.map(|o| o.0),
        e.user_id.map(|u| u.0),
        e.email,
        e.client_addr,
        e.kind.as_str(),
        e.detail
    )
    .execute(db)
    .await?;
    Ok(())
}

/// An event as the log shows it.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// Read as text: the column has no CHECK constraint, and a kind this
    /// version does not know shows as "Other event" rather than failing the page.
    pub kind: String,
    pub email: String,
    pub client_addr: String,
    pub detail: String,
}

impl Row {
    pub fn what(&self) -> &'static str {
        Kind::parse(&self.kind).map(Kind::label).unwrap_or("Other event")
    }
}

/// The organisation's own events, and the account-level events of its
/// members (by account, or by the address typed at a failed sign-in), of
/// `kind` (`None`: all), newest first: `limit` of them (`None`: all) after
/// the event at this time with this id (`None`: from the newest). `count`
/// counts the same rows.
pub fn events<'a>(db: &'a PgPool, org_id: OrgId, kind: Option<Kind>, limit: Option<i64>, after: Option<(DateTime<Utc>, i64)>) -> BoxStream<'a, Result<Row, sqlx::Error>> {
    let (after_at, after_id) = after.unzip();
    sqlx::query_as!(
        Row,
        "SELECT e.id, e.at, e.kind, e.email, e.client_addr, e.detail FROM security_events e
          WHERE (e.org_id = $1
                 OR (e.org_id IS NULL AND (e.user_id IN (SELECT user_id FROM memberships WHERE org_id = $1)
                      OR lower(e.email) IN (SELECT lower(u.email) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1))))
            AND ($2::text IS NULL OR e.kind = $2)
            AND ($4::timestamptz IS NULL OR (e.at, e.id) < ($4, $5::bigint))
          ORDER BY e.at DESC, e.id DESC
          LIMIT $3",
        org_id.0,
        kind.map(Kind::as_str),
        limit,
        after_at,
        after_id
    )
    .fetch(db)
}

/// How many rows `events` has for the organisation and kind (the same
/// condition), counted up to `cap`.
pub async fn count(db: &PgPool, org_id: OrgId, kind: Option<Kind>, cap: i64) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM (SELECT 1 FROM security_events e
          WHERE (e.org_id = $1
                 OR (e.org_id IS NULL AND (e.user_id IN (SELECT user_id FROM memberships WHERE org_id = $1)
                      OR lower(e.email) IN (SELECT lower(u.email) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1))))
            AND ($2::text IS NULL OR e.kind = $2)
          LIMIT $3) capped"#,
        org_id.0,
        kind.map(Kind::as_str),
        cap
    )
    .fetch_one(db)
    .await?)
}
