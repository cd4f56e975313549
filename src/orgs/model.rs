//! Organisations, accounts, memberships and invitations: the queries and
//! the rules that guard them. Every query on tenant data names its org_id.
use crate::audit::{self, Actor};
use crate::ids::{InvitationId, MembershipId, OrgId, UserId};
use crate::auth::policy::Role;
use crate::auth::session::{hash_token, random_token};
use crate::error::{AppError, AppResult};
use super::window::AccessWindow;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

#[derive(Debug, Clone)]
pub struct MemberRow {
    pub id: MembershipId,
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub role: String,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub access_from: Option<NaiveDate>,
    pub access_until: Option<NaiveDate>,
}

impl MemberRow {
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Auditor)
    }
    pub fn role_label(&self) -> &'static str {
        self.role().label()
    }
    pub fn window(&self) -> AccessWindow {
        AccessWindow { from: self.access_from, until: self.access_until }
    }
}

#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub id: InvitationId,
    pub email: String,
    pub role: String,
    pub invited_by_name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub access_from: Option<NaiveDate>,
    pub access_until: Option<NaiveDate>,
}

impl InvitationRow {
    pub fn role_label(&self) -> &'static str {
        self.role.parse::<Role>().map(Role::label).unwrap_or("?")
    }
    pub fn window(&self) -> AccessWindow {
        AccessWindow { from: self.access_from, until: self.access_until }
    }
}

pub async fn list_members(db: &PgPool, org_id: OrgId) -> AppResult<Vec<MemberRow>> {
    Ok(sqlx::query_as!(
        MemberRow,
        r#"SELECT m.id AS "id: MembershipId", m.user_id AS "user_id: UserId", u.name, u.email, m.role, m.disabled_at, m.created_at,
                  m.access_from, m.access_until
             FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.org_id = $1
            ORDER BY m.disabled_at IS NOT NULL, u.name, u.email"#,
        org_id.0,
    )
    .fetch_all(db)
    .await?)
}

/// Invitations that can still be accepted.
pub async fn pending_invitations(db: &PgPool, org_id: OrgId, now: DateTime<Utc>) -> AppResult<Vec<InvitationRow>> {
    Ok(sqlx::query_as!(
        InvitationRow,
        r#"SELECT i.id AS "id: InvitationId", i.email, i.role, u.name AS invited_by_name, i.created_at, i.expires_at,
                  i.access_from, i.access_until
             FROM invitations i JOIN users u ON u.id = i.invited_by
            WHERE i.org_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2
            ORDER BY i.created_at DESC"#,
        org_id.0,
        now,
    )
    .fetch_all(db)
    .await?)
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}

/// Creates an account. `None` when the e-mail address is already taken.
pub async fn create_user(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    email: &str,
    name: &str,
    password_hash: &str,
) -> AppResult<Option<UserId>> {
    let id = UserId::new();
    let inserted = sqlx::query!(
        "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING",
        id.0,
        email,
        name,
        password_hash,
        now,
    )
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(None);
    }
    audit::record(conn, actor, now, "user.created", "user", id, json!({"email": email, "name": name})).await?;
    Ok(Some(id))
}

pub async fn find_user_by_email(db: &PgPool, email: &str) -> AppResult<Option<(UserId, String, String)>> {
    let row = sqlx::query!(r#"SELECT id AS "id: UserId", name, password_hash FROM users WHERE lower(email) = lower($1)"#, email)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| (r.id, r.name, r.password_hash)))
}

/// A new organisation with `owner` as its first owner. Returns the org id.
pub async fn create_organisation(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    name: &str,
    owner: UserId,
) -> AppResult<()> {
    sqlx::query!("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)", org_id.0, name, now)
        .execute(&mut *conn)
        .await?;
    let actor = Actor { org_id: Some(org_id), ..actor.clone() };
    audit::record(&mut *conn, &actor, now, "organisation.created", "organisation", org_id, json!({"name": name})).await?;
    add_membership(conn, &actor, now, org_id, owner, Role::Owner).await?;
    Ok(())
}

pub async fn add_membership(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    user_id: UserId,
    role: Role,
) -> AppResult<MembershipId> {
    let id = MembershipId::new();
    sqlx::query!(
        "INSERT INTO memberships (id, org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4, $5)",
        id.0,
        org_id.0,
        user_id.0,
        role.as_str(),
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "membership.created", "membership", id, json!({"user_id": user_id, "role": role})).await?;
    Ok(id)
}

// The three queries below write out the access-window rule of
// `window::open_sql` (for membership `m` on day `$2`/`$3`); the test
// `queries_write_the_window_rule_as_stated` keeps them the same.

/// The organisation a user lands in after signing in.
/// (Memberships outside their access window do not count.)
pub async fn first_active_org(db: impl sqlx::PgExecutor<'_>, user_id: UserId, today: NaiveDate) -> AppResult<Option<OrgId>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT m.org_id AS "org_id: OrgId" FROM memberships m JOIN organisations o ON o.id = m.org_id
            WHERE m.user_id = $1 AND m.disabled_at IS NULL
              AND (m.access_from IS NULL OR m.access_from <= $2) AND (m.access_until IS NULL OR m.access_until >= $2)
            ORDER BY o.name, o.id LIMIT 1"#,
        user_id.0,
        today,
    )
    .fetch_optional(db)
    .await?)
}

/// An enabled membership, open today.
pub async fn is_active_member(db: &PgPool, org_id: OrgId, user_id: UserId, today: NaiveDate) -> AppResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM memberships m WHERE m.org_id = $1 AND m.user_id = $2 AND m.disabled_at IS NULL
              AND (m.access_from IS NULL OR m.access_from <= $3) AND (m.access_until IS NULL OR m.access_until >= $3)) AS "open!""#,
        org_id.0,
        user_id.0,
        today,
    )
    .fetch_one(db)
    .await?)
}

/// Memberships of a user that are enabled but closed today (an auditor
/// before or after their window), to explain why they are missing.
pub async fn closed_memberships(db: &PgPool, user_id: UserId, today: NaiveDate) -> AppResult<Vec<ClosedMembership>> {
    Ok(sqlx::query_as!(
        ClosedMembership,
        r#"SELECT o.name AS org_name, m.access_from, m.access_until FROM memberships m JOIN organisations o ON o.id = m.org_id
            WHERE m.user_id = $1 AND m.disabled_at IS NULL
              AND NOT ((m.access_from IS NULL OR m.access_from <= $2) AND (m.access_until IS NULL OR m.access_until >= $2))
            ORDER BY o.name, o.id"#,
        user_id.0,
        today,
    )
    .fetch_all(db)
    .await?)
}

#[derive(Debug, Clone)]
pub struct ClosedMembership {
    pub org_name: String,
    pub access_from: Option<NaiveDate>,
    pub access_until: Option<NaiveDate>,
}

impl ClosedMembership {
    pub fn window(&self) -> AccessWindow {
        AccessWindow { from: self.access_from, until: self.access_until }
    }
}

/// Loads a membership of this organisation for a change, locking the
/// organisation so that two owners cannot both remove the last owner.
async fn membership_for_change(conn: &mut PgConnection, org_id: OrgId, membership_id: MembershipId) -> AppResult<MemberRow> {
    sqlx::query!("SELECT id FROM organisations WHERE id = $1 FOR UPDATE", org_id.0).fetch_optional(&mut *conn).await?;
    sqlx::query_as!(
        MemberRow,
        r#"SELECT m.id AS "id: MembershipId", m.user_id AS "user_id: UserId", u.name, u.email, m.role, m.disabled_at, m.created_at,
                  m.access_from, m.access_until
             FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.org_id = $1 AND m.id = $2"#,
        org_id.0,
        membership_id.0,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)
}

async fn other_active_owners(conn: &mut PgConnection, org_id: OrgId, except: MembershipId) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM memberships WHERE org_id = $1 AND role = 'owner' AND disabled_at IS NULL AND id <> $2"#,
        org_id.0,
        except.0,
    )
    .fetch_one(conn)
    .await?)
}

const LAST_OWNER: &str = "An organisation needs at least one active owner. Make someone else an owner first.";

pub async fn change_role(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    membership_id: MembershipId,
    role: Role,
) -> AppResult<MemberRow> {
    let m = membership_for_change(conn, org_id, membership_id).await?;
    if m.role() == role {
        return Ok(m);
    }
    if m.role() == Role::Owner && m.disabled_at.is_none() && other_active_owners(conn, org_id, m.id).await? == 0 {
        return Err(AppError::Conflict(LAST_OWNER.into()));
    }
    // An access window belongs to the auditor role: another role drops it.
    sqlx::query!(
        "UPDATE memberships SET role = $3,
                access_from = CASE WHEN $3 = 'auditor' THEN access_from END, access_until = CASE WHEN $3 = 'auditor' THEN access_until END
          WHERE org_id = $1 AND id = $2",
        org_id.0,
        membership_id.0,
        role.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        "membership.role_changed",
        "membership",
        membership_id,
        json!({"user": m.email, "from": m.role, "to": role}),
    )
    .await?;
    Ok(m)
}

/// Sets (or clears) an auditor's access window. Other members have none.
pub async fn set_access_window(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    membership_id: MembershipId,
    window: AccessWindow,
) -> AppResult<MemberRow> {
    let m = membership_for_change(conn, org_id, membership_id).await?;
    if m.role() != Role::Auditor {
        return Err(AppError::Conflict("Only auditors have an access window. Other members keep access until they are disabled.".into()));
    }
    if m.window() == window {
        return Ok(m);
    }
    sqlx::query!(
        "UPDATE memberships SET access_from = $3, access_until = $4 WHERE org_id = $1 AND id = $2",
        org_id.0,
        membership_id.0,
        window.from,
        window.until,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        "membership.window_set",
        "membership",
        membership_id,
        json!({"user": m.email, "access_from": [m.access_from, window.from], "access_until": [m.access_until, window.until]}),
    )
    .await?;
    Ok(m)
}

/// Disables or re-enables a membership. Disabling ends all the user's sessions.
pub async fn set_disabled(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    membership_id: MembershipId,
    disable: bool,
) -> AppResult<MemberRow> {
    let m = membership_for_change(conn, org_id, membership_id).await?;
    if disable == m.disabled_at.is_some() {
        return Ok(m);
    }
    if disable {
        if actor.user_id.is_some_and(|u| u == m.user_id) {
            return Err(AppError::Conflict("You cannot disable your own membership.".into()));
        }
        if m.role() == Role::Owner && other_active_owners(conn, org_id, m.id).await? == 0 {
            return Err(AppError::Conflict(LAST_OWNER.into()));
        }
    }
    sqlx::query!("UPDATE memberships SET disabled_at = $3 WHERE org_id = $1 AND id = $2", org_id.0, membership_id.0, disable.then_some(now))
        .execute(&mut *conn)
        .await?;
    let ended = if disable { crate::auth::session::end_all_for_user(conn, m.user_id, None).await? } else { 0 };
    let action = if disable { "membership.disabled" } else { "membership.enabled" };
    audit::record(conn, actor, now, action, "membership", membership_id, json!({"user": m.email, "sessions_ended": ended}))
        .await?;
    Ok(m)
}

/// Who is invited, as what, and (auditors) for which days.
#[derive(Debug, Clone, Copy)]
pub struct Invitee<'a> {
    pub email: &'a str,
    pub role: Role,
    pub window: AccessWindow,
}

/// Creates an invitation and returns the secret for its link (shown once).
pub async fn create_invitation(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    ttl: Duration,
    org_id: OrgId,
    invitee: Invitee<'_>,
) -> AppResult<(InvitationId, String)> {
    let Invitee { email, role, window } = invitee;
    let already = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                           WHERE m.org_id = $1 AND lower(u.email) = lower($2)) AS "already!""#,
        org_id.0,
        email,
    )
    .fetch_one(&mut *conn)
    .await?;
    if already {
        return Err(AppError::Conflict(format!("{email} is already a member of this organisation.")));
    }
    let id = InvitationId::new();
    let token = random_token();
    sqlx::query!(
        "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at, access_from, access_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        id.0,
        org_id.0,
        email,
        role.as_str(),
        hash_token(&token),
        actor.user_id.map(|u| u.0),
        now,
        now + ttl,
        window.from,
        window.until,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        "invitation.created",
        "invitation",
        id,
        json!({"email": email, "role": role, "expires_at": now + ttl, "access_from": window.from, "access_until": window.until}),
    )
    .await?;
    Ok((id, token))
}

pub async fn revoke_invitation(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    invitation_id: InvitationId,
) -> AppResult<String> {
    let email = sqlx::query_scalar!(
        "UPDATE invitations SET revoked_at = $3
          WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL
          RETURNING email",
        org_id.0,
        invitation_id.0,
        now,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(email) = email else {
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM invitations WHERE org_id = $1 AND id = $2) AS "exists!""#,
            org_id.0,
            invitation_id.0,
        )
        .fetch_one(&mut *conn)
        .await?;
        return Err(if exists {
            AppError::Conflict("This invitation was already used or withdrawn.".into())
        } else {
            AppError::NotFound
        });
    };
    audit::record(conn, actor, now, "invitation.revoked", "invitation", invitation_id, json!({"email": email})).await?;
    Ok(email)
}

/// An invitation as its link shows it.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub org_name: String,
    pub email: String,
    pub role: String,
    pub inviter_name: String,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub access_from: Option<NaiveDate>,
    pub access_until: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Open,
    Used,
    Withdrawn,
    Expired,
}

impl Invitation {
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Auditor)
    }
    pub fn window(&self) -> AccessWindow {
        AccessWindow { from: self.access_from, until: self.access_until }
    }
    pub fn state(&self, now: DateTime<Utc>) -> InvitationState {
        if self.accepted_at.is_some() {
            InvitationState::Used
        } else if self.revoked_at.is_some() {
            InvitationState::Withdrawn
        } else if self.expires_at <= now {
            InvitationState::Expired
        } else {
            InvitationState::Open
        }
    }
}

pub async fn find_invitation(db: &PgPool, token: &str) -> AppResult<Option<Invitation>> {
    Ok(sqlx::query_as!(
        Invitation,
        r#"SELECT i.id AS "id: InvitationId", i.org_id AS "org_id: OrgId", o.name AS org_name, i.email, i.role, u.name AS inviter_name,
                  i.expires_at, i.accepted_at, i.revoked_at, i.access_from, i.access_until
             FROM invitations i JOIN organisations o ON o.id = i.org_id JOIN users u ON u.id = i.invited_by
            WHERE i.token_hash = $1"#,
        hash_token(token),
    )
    .fetch_optional(db)
    .await?)
}

/// An open invitation of `email` to the organisation, if any (the newest).
pub async fn open_invitation_for(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, email: &str, now: DateTime<Utc>) -> AppResult<Option<Invitation>> {
    Ok(sqlx::query_as!(
        Invitation,
        r#"SELECT i.id AS "id: InvitationId", i.org_id AS "org_id: OrgId", o.name AS org_name, i.email, i.role, u.name AS inviter_name,
                  i.expires_at, i.accepted_at, i.revoked_at, i.access_from, i.access_until
             FROM invitations i JOIN organisations o ON o.id = i.org_id JOIN users u ON u.id = i.invited_by
            WHERE i.org_id = $1 AND lower(i.email) = lower($2) AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $3
            ORDER BY i.expires_at DESC LIMIT 1"#,
        org_id.0,
        email,
        now
    )
    .fetch_optional(db)
    .await?)
}

/// Marks the invitation used (exactly once) and adds the membership.
pub async fn accept_invitation(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    invitation: &Invitation,
    user_id: UserId,
) -> AppResult<()> {
    let claimed = sqlx::query!(
        "UPDATE invitations SET accepted_at = $3, accepted_by = $4
          WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
        invitation.org_id.0,
        invitation.id.0,
        now,
        user_id.0,
    )
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() == 0 {
        return Err(AppError::Conflict("This invitation can no longer be used. Ask for a new one.".into()));
    }
    let existing: Option<Option<DateTime<Utc>>> =
        sqlx::query_scalar!("SELECT disabled_at FROM memberships WHERE org_id = $1 AND user_id = $2", invitation.org_id.0, user_id.0)
            .fetch_optional(&mut *conn)
            .await?;
    match existing {
        Some(None) => return Err(AppError::Conflict(format!("You are already a member of {}.", invitation.org_name))),
        Some(Some(_)) => {
            return Err(AppError::Conflict(format!(
                "Your membership of {} is disabled. Ask one of its owners to re-enable it.",
                invitation.org_name
            )));
        }
        None => {}
    }
    audit::record(&mut *conn, actor, now, "invitation.accepted", "invitation", invitation.id, json!({"email": invitation.email}))
        .await?;
    let membership_id = add_membership(conn, actor, now, invitation.org_id, user_id, invitation.role()).await?;
    if invitation.access_from.is_some() || invitation.access_until.is_some() {
        sqlx::query!(
            "UPDATE memberships SET access_from = $3, access_until = $4 WHERE org_id = $1 AND id = $2",
            invitation.org_id.0,
            membership_id.0,
            invitation.access_from,
            invitation.access_until,
        )
        .execute(&mut *conn)
        .await?;
    }
    // Accepting an invitation sent to a person's address is the account
    // holder's confirmation that the directory entry is them.
    crate::people::model::link_account(conn, actor, now, invitation.org_id, &invitation.email, user_id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::window::open_sql;

    /// Compile-checked SQL is literal, so the access-window rule is written
    /// out in the queries above: it must stay the rule `open_sql` states.
    #[test]
    fn queries_write_the_window_rule_as_stated() {
        let source = include_str!("model.rs");
        for day in ["$2", "$3"] {
            assert!(source.contains(&open_sql("m", day)), "a query checks the window on {day} differently from open_sql");
        }
        assert_eq!(source.matches(&open_sql("m", "$2")).count(), 2, "first_active_org and closed_memberships");
        assert_eq!(source.matches(&open_sql("m", "$3")).count(), 1, "is_active_member");
    }
}
