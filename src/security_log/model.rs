//! Security events: recorded where they happen, read by owners.
use crate::ids::OrgId;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// What happened. Stored by `as_str`; shown by `label`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SignedIn,
    PasswordFailed,
    LockedOut,
    PasswordChanged,
    RoleChanged,
    MemberDisabled,
    MemberEnabled,
    AccessWindowChanged,
    InvitationSent,
    InvitationWithdrawn,
    InvitationAccepted,
    RosterProposed,
    RosterConfirmed,
    RosterRefused,
    RosterWithdrawn,
    RosterBootstrapped,
}

impl Kind {
    pub const ALL: [Kind; 16] = [
        Kind::SignedIn,
        Kind::PasswordFailed,
        Kind::LockedOut,
        Kind::PasswordChanged,
        Kind::RoleChanged,
        Kind::MemberDisabled,
        Kind::MemberEnabled,
        Kind::AccessWindowChanged,
        Kind::InvitationSent,
        Kind::InvitationWithdrawn,
        Kind::InvitationAccepted,
        Kind::RosterProposed,
        Kind::RosterConfirmed,
        Kind::RosterRefused,
        Kind::RosterWithdrawn,
        Kind::RosterBootstrapped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SignedIn => "signed_in",
            Kind::PasswordFailed => "password_failed",
            Kind::LockedOut => "locked_out",
            Kind::PasswordChanged => "password_changed",
            Kind::RoleChanged => "role_changed",
            Kind::MemberDisabled => "member_disabled",
            Kind::MemberEnabled => "member_enabled",
            Kind::AccessWindowChanged => "access_window_changed",
            Kind::InvitationSent => "invitation_sent",
            Kind::InvitationWithdrawn => "invitation_withdrawn",
            Kind::InvitationAccepted => "invitation_accepted",
            Kind::RosterProposed => "roster_proposed",
            Kind::RosterConfirmed => "roster_confirmed",
            Kind::RosterRefused => "roster_refused",
            Kind::RosterWithdrawn => "roster_withdrawn",
            Kind::RosterBootstrapped => "roster_bootstrapped",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::SignedIn => "Signed in",
            Kind::PasswordFailed => "Wrong password",
            Kind::LockedOut => "Locked out after repeated wrong passwords",
            Kind::PasswordChanged => "Changed their password",
            Kind::RoleChanged => "Changed a member's role",
            Kind::MemberDisabled => "Disabled a member",
            Kind::MemberEnabled => "Re-enabled a member",
            Kind::AccessWindowChanged => "Changed an auditor's access window",
            Kind::InvitationSent => "Invited someone",
            Kind::InvitationWithdrawn => "Withdrew an invitation",
            Kind::InvitationAccepted => "Accepted an invitation",
            Kind::RosterProposed => "Proposed a change to top management",
            Kind::RosterConfirmed => "Confirmed a change to top management",
            Kind::RosterRefused => "Refused a change to top management",
            Kind::RosterWithdrawn => "Withdrew a proposed change to top management",
            Kind::RosterBootstrapped => "Set up the first member of top management",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// One event to record.
pub struct Event<'a> {
    /// `None` for account-level events (sign-ins, passwords).
    pub org_id: Option<OrgId>,
    pub user_id: Option<Uuid>,
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
    sqlx::query("INSERT INTO security_events (at, org_id, user_id, email, client_addr, kind, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(at)
        .bind(e.org_id)
        .bind(e.user_id)
        .bind(e.email)
        .bind(e.client_addr)
        .bind(e.kind.as_str())
        .bind(e.detail)
        .execute(db)
        .await?;
    Ok(())
}

/// An event as the log shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub at: DateTime<Utc>,
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
/// members (by account, or by the address typed at a failed sign-in).
/// Binds: $1 organisation, $2 kind filter (NULL: all).
pub fn events_sql(limit: Option<i64>, offset: i64) -> String {
    let page = limit.map(|l| format!(" LIMIT {l} OFFSET {offset}")).unwrap_or_default();
    format!(
        "SELECT e.at, e.kind, e.email, e.client_addr, e.detail FROM security_events e
          WHERE (e.org_id = $1
                 OR (e.org_id IS NULL AND (e.user_id IN (SELECT user_id FROM memberships WHERE org_id = $1)
                      OR lower(e.email) IN (SELECT lower(u.email) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1))))
            AND ($2::text IS NULL OR e.kind = $2)
          ORDER BY e.at DESC, e.id DESC{page}"
    )
}

pub async fn count(db: &PgPool, org_id: OrgId, kind: Option<&str>) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(&format!("SELECT count(*) FROM ({}) x", events_sql(None, 0))).bind(org_id).bind(kind).fetch_one(db).await?)
}
