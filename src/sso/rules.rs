//! The rule single sign-on imposes on other ways in: an organisation that
//! requires it refuses its members' passwords and passkeys; owners keep
//! theirs as the break-glass path (README, "Single sign-on").
use crate::auth::policy::Role;
use crate::error::AppResult;
use crate::ids::UserId;

/// The organisation whose rules refuse this account a password (or
/// passkey) sign-in: one requiring single sign-on where the account is an
/// active member, not an owner, and linked to the provider. A member who
/// had a password before single sign-on signs in with it only to link
/// (the session can do nothing else until they have: `CurrentOrg::must_link_sso`);
/// accounts the provider made are linked from the start.
pub async fn password_refused_by(db: &sqlx::PgPool, user_id: UserId) -> AppResult<Option<String>> {
    let rows = sqlx::query!(
        r#"SELECT o.name, m.role AS "role: Role" FROM memberships m JOIN organisations o ON o.id = m.org_id
             JOIN sso_providers s ON s.org_id = m.org_id AND s.required
             JOIN sso_identities i ON i.org_id = m.org_id AND i.user_id = m.user_id AND i.issuer = s.issuer
            WHERE m.user_id = $1 AND m.disabled_at IS NULL ORDER BY o.name"#,
        user_id.0
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().find(|r| r.role != Role::Owner).map(|r| r.name))
}

/// What a member told to use single sign-on reads.
pub fn use_sso_message(org: &str) -> String {
    format!("{org} signs in through single sign-on: use \"Sign in with single sign-on\" below with your work e-mail address.")
}

