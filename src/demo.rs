//! The demo organisation loaded into an empty database, so a first run has
//! something to look at: Acme Ltd, one login per role.
use crate::audit::Actor;
use crate::auth::password;
use crate::auth::policy::Role;
use crate::clock::Clock;
use crate::orgs::model;
use base64::Engine;
use chrono::Duration;
use sqlx::PgPool;
use uuid::Uuid;

pub const ORG_NAME: &str = "Acme Ltd";

pub struct DemoLogin {
    pub role: Role,
    pub name: &'static str,
    pub email: &'static str,
    pub password: String,
}

const PEOPLE: [(Role, &str, &str); 5] = [
    (Role::Owner, "Morgan Reyes", "morgan.reyes@acme.example"),
    (Role::IsmsLead, "Priya Shah", "priya.shah@acme.example"),
    (Role::Executive, "Daniel Okafor", "daniel.okafor@acme.example"),
    (Role::Contributor, "Grace Liu", "grace.liu@acme.example"),
    (Role::Auditor, "Sam Whitfield", "sam.whitfield@certbody.example"),
];

/// Loads the demo when the database has no organisation yet. Passwords are
/// random for every installation: a demo must not open a known door.
pub async fn load_if_empty(db: &PgPool, clock: &dyn Clock, ttl: Duration) -> anyhow::Result<Option<Vec<DemoLogin>>> {
    let mut tx = db.begin().await?;
    // One loader at a time, even with several app processes starting together.
    sqlx::query("SELECT pg_advisory_xact_lock(727272)").execute(&mut *tx).await?;
    let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organisations)").fetch_one(&mut *tx).await?;
    if any {
        return Ok(None);
    }
    let now = clock.now();
    let org_id = Uuid::new_v4();
    let system = Actor::system(Some(org_id), "demo loader");
    let mut logins = Vec::new();
    let mut owner = None;
    for (role, name, email) in PEOPLE {
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>());
        let hash = password::hash(secret.clone()).await?;
        let id = model::create_user(&mut tx, &system, now, email, name, &hash)
            .await?
            .ok_or_else(|| anyhow::anyhow!("demo user {email} already exists"))?;
        match owner {
            None => {
                model::create_organisation(&mut tx, &system, now, org_id, ORG_NAME, id).await?;
                owner = Some(id);
            }
            Some(_) => {
                model::add_membership(&mut tx, &system, now, org_id, id, role).await?;
            }
        }
        logins.push(DemoLogin { role, name, email, password: secret });
    }
    // The CFO has been invited but has not joined yet.
    let inviter = Actor { user_id: owner, label: PEOPLE[0].2.into(), ..system };
    model::create_invitation(&mut tx, &inviter, now, ttl, org_id, "helen.brandt@acme.example", Role::Executive).await?;
    tx.commit().await?;
    Ok(Some(logins))
}
