//! Single sign-on through OpenID Connect, one provider per organisation.
//! An owner sets the issuer, client and the e-mail domains whose people
//! sign in there; "Sign in with single sign-on" routes by the typed
//! address's domain. Accounts are made only for people invited, unless the
//! owner lets others join in a chosen role (never executive or owner). An
//! owner can require single sign-on: members then cannot sign in with a
//! password or passkey, and owners keep theirs as the break-glass path.
pub mod client;
pub mod rules;
pub mod settings;

use crate::audit::Actor;
use crate::auth::policy::{Access, Role};
use crate::auth::session::{self, Flash, Visitor};
use crate::auth::{finish_sign_in, see_other_with};
use crate::error::AppResult;
use crate::ids::{OrgId, UserId};
use crate::orgs::model as orgs;
use crate::state::AppState;
use crate::web::routes::Routes;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use serde::Deserialize;

pub const REQUEST_COOKIE: &str = "mandate_sso";
/// How long the provider may take to send the browser back.
const REQUEST_MINUTES: i64 = 10;
pub const CALLBACK: &str = "/auth/oidc/callback";

pub fn routes(r: Routes) -> Routes {
    let r = settings::routes(r);
    r.post("/login/sso", Access::Public, start).get(CALLBACK, Access::Public, callback)
}

/// An organisation's provider, as stored.
#[derive(Debug, Clone)]
pub struct Config {
    pub org_id: OrgId,
    pub org_name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub domains: Vec<String>,
    pub join_role: Option<Role>,
    pub required: bool,
}

impl Config {
    fn provider(&self, state: &AppState) -> client::Provider<'_> {
        client::Provider { issuer: &self.issuer, client_id: &self.client_id, client_secret: &self.client_secret, redirect: state.config.link(CALLBACK) }
    }
}

pub async fn config(db: impl sqlx::PgExecutor<'_>, org_id: OrgId) -> AppResult<Option<Config>> {
    let row = sqlx::query!(
        r#"SELECT s.org_id AS "org_id: OrgId", o.name AS org_name, s.issuer, s.client_id, s.client_secret, s.domains, s.join_role AS "join_role: Role", s.required
             FROM sso_providers s JOIN organisations o ON o.id = s.org_id WHERE s.org_id = $1"#,
        org_id.0
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Config {
        org_id: r.org_id,
        org_name: r.org_name,
        issuer: r.issuer,
        client_id: r.client_id,
        client_secret: r.client_secret,
        domains: r.domains,
        join_role: r.join_role,
        required: r.required,
    }))
}

/// The domain of an e-mail address, lower case.
pub fn domain_of(email: &str) -> Option<String> {
    email.trim().rsplit_once('@').map(|(_, d)| d.to_lowercase()).filter(|d| !d.is_empty())
}

async fn org_for_domain(db: &sqlx::PgPool, domain: &str) -> AppResult<Option<OrgId>> {
    Ok(sqlx::query_scalar!(r#"SELECT org_id AS "org_id: OrgId" FROM sso_domains WHERE domain = $1"#, domain).fetch_optional(db).await?)
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    email: String,
    next: Option<String>,
}

fn back_to_login(state: &AppState, message: String) -> Response {
    let flash = Flash::error(message);
    see_other_with("/login", vec![session::flash_cookie(state, &flash)])
}

/// Routes the typed address's domain to its organisation's provider.
async fn start(State(state): State<AppState>, Form(form): Form<StartForm>) -> AppResult<Response> {
    let email = form.email.trim().to_lowercase();
    let Some(domain) = domain_of(&email) else { return Ok(back_to_login(&state, "Type your work e-mail address to sign in with single sign-on.".into())) };
    let Some(org_id) = org_for_domain(&state.db, &domain).await? else {
        return Ok(back_to_login(&state, format!("No organisation signs in with single sign-on for {domain}. Sign in with your password or a passkey.")));
    };
    let Some(cfg) = config(&state.db, org_id).await? else { return Ok(back_to_login(&state, format!("Single sign-on for {domain} is not set up."))) };
    let started = match client::start(&cfg.provider(&state), &email).await {
        Ok(s) => s,
        Err(client::Failure(why)) => {
            tracing::warn!(org = %org_id, %why, "single sign-on could not start");
            return Ok(back_to_login(&state, format!("{}'s sign-in service could not be reached. Try again later, or ask an owner to check the single sign-on settings.", cfg.org_name)));
        }
    };
    let token = session::random_token();
    let now = state.clock.now();
    sqlx::query!("DELETE FROM sso_requests WHERE created_at < $1", now - Duration::minutes(REQUEST_MINUTES)).execute(&state.db).await?;
    sqlx::query!(
        "INSERT INTO sso_requests (id_hash, org_id, state, nonce, pkce_verifier, next, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        session::hash_token(&token),
        org_id.0,
        started.state,
        started.nonce,
        started.pkce_verifier,
        crate::auth::safe_next(form.next.as_deref()),
        now
    )
    .execute(&state.db)
    .await?;
    // SameSite=Lax reaches the callback: the provider sends the browser back with a top-level GET.
    let cookie = session::set_cookie(&state, REQUEST_COOKIE, &token, Some(REQUEST_MINUTES * 60));
    Ok(see_other_with(&started.url, vec![cookie]))
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(State(state): State<AppState>, visitor: Visitor, headers: HeaderMap, Query(q): Query<Callback>) -> AppResult<Response> {
    let now = state.clock.now();
    let token = session::cookie(&headers, &session::cookie_name(&state, REQUEST_COOKIE)).unwrap_or_default().to_string();
    let row = sqlx::query!(
        r#"DELETE FROM sso_requests WHERE id_hash = $1 AND created_at > $2 RETURNING org_id AS "org_id: OrgId", state, nonce, pkce_verifier, next"#,
        session::hash_token(&token),
        now - Duration::minutes(REQUEST_MINUTES)
    )
    .fetch_optional(&state.db)
    .await?;
    let clear = session::set_cookie(&state, REQUEST_COOKIE, "", Some(0));
    let refuse = |message: String| {
        let flash = Flash::error(message);
        see_other_with("/login", vec![session::flash_cookie(&state, &flash), clear.clone()])
    };
    let Some(req) = row else { return Ok(refuse("Single sign-on took too long or was started in another browser. Start again.".into())) };
    if q.state.as_deref() != Some(req.state.as_str()) {
        return Ok(refuse("The answer from the sign-in service does not belong to this sign-in. Start again.".into()));
    }
    if let Some(e) = q.error {
        let more = q.error_description.map(|d| format!(": {d}")).unwrap_or_default();
        return Ok(refuse(format!("The sign-in service did not sign you in ({e}{more}).")));
    }
    let Some(cfg) = config(&state.db, req.org_id).await? else { return Ok(refuse("Single sign-on is no longer set up for this organisation.".into())) };
    let who = match client::finish(&cfg.provider(&state), q.code.as_deref().unwrap_or_default(), &req.nonce, &req.pkce_verifier).await {
        Ok(who) => who,
        Err(client::Failure(why)) => {
            tracing::warn!(org = %cfg.org_id, %why, "single sign-on refused");
            return Ok(refuse(format!("Single sign-on failed: {why}.")));
        }
    };
    if !domain_of(&who.email).is_some_and(|d| cfg.domains.contains(&d)) {
        return Ok(refuse(format!("{} is not an address {} signs in with single sign-on.", who.email, cfg.org_name)));
    }
    let mut tx = state.db.begin().await?;
    let user_id = match account_for(&mut tx, &state, &cfg, &who, &visitor).await? {
        Ok(u) => u,
        Err(why) => {
            drop(tx);
            return Ok(refuse(why));
        }
    };
    let how = format!("through single sign-on ({})", cfg.issuer);
    // Land in the organisation whose provider vouched for this person.
    let sign_in = crate::auth::SignIn { user_id, email: &who.email, next: &req.next, how: &how, org: Some(cfg.org_id) };
    let mut res = finish_sign_in(&mut tx, &state, &visitor, sign_in).await?;
    tx.commit().await?;
    res.headers_mut().append(axum::http::header::SET_COOKIE, clear);
    Ok(res.into_response())
}

/// The account a provider-vouched person signs in as, and its membership.
///
/// The account is the one linked to the provider's subject; or, for an
/// address that has an account but no link, that account only when this
/// browser is signed in to it with a fresh proof (its holder links it); or
/// a new account, made for someone invited or, where the owner allows it,
/// joining in the chosen role. An e-mail address alone never signs anyone
/// into an existing account: any organisation's owner can point a provider
/// at any domain. `Err` says why not.
async fn account_for(tx: &mut sqlx::PgConnection, state: &AppState, cfg: &Config, who: &client::Identity, visitor: &Visitor) -> AppResult<Result<UserId, String>> {
    let now = state.clock.now();
    let actor = Actor { org_id: Some(cfg.org_id), user_id: None, label: format!("{} (single sign-on)", who.email), request_id: visitor.request_id.clone() };
    let linked = sqlx::query_scalar!(r#"SELECT user_id AS "user_id: UserId" FROM sso_identities WHERE issuer = $1 AND subject = $2"#, cfg.issuer, who.subject)
        .fetch_optional(&mut *tx)
        .await?;
    let existing = sqlx::query!(r#"SELECT id AS "id: UserId" FROM users WHERE lower(email) = $1"#, who.email).fetch_optional(&mut *tx).await?.map(|r| r.id);
    let holder = visitor.session.as_ref().filter(|s| crate::auth::step_up::is_recent(s, now)).map(|s| s.user_id);
    let invitation = orgs::open_invitation_for(&mut *tx, cfg.org_id, &who.email, now).await?;
    let user_id = match (linked, existing) {
        (Some(u), _) => u,
        (None, Some(u)) if holder == Some(u) => {
            link(&mut *tx, cfg, who, u, &actor, now).await?;
            u
        }
        (None, Some(_)) => {
            return Ok(Err(format!(
                "An account with the address {} already exists. Sign in to it as usual (password and second factor), then choose \"Link single sign-on\" on your account page; after that, single sign-on signs you in.",
                who.email
            )));
        }
        (None, None) if invitation.is_none() && cfg.join_role.is_none() => {
            return Ok(Err(format!("You have no account at {}. Ask one of its owners to invite you.", cfg.org_name)));
        }
        (None, None) => {
            // No password: this account signs in through the provider.
            let unusable = crate::auth::password::hash(session::random_token()).await?;
            let name = who.name.clone().unwrap_or_else(|| who.email.split('@').next().unwrap_or_default().to_string());
            let Some(u) = orgs::create_user(&mut *tx, &actor, now, &who.email, &name, &unusable).await? else {
                return Ok(Err("This account was created at the same moment elsewhere. Sign in again.".into()));
            };
            link(&mut *tx, cfg, who, u, &actor, now).await?;
            u
        }
    };
    let actor = Actor { user_id: Some(user_id), ..actor };
    let membership = sqlx::query_scalar!("SELECT disabled_at FROM memberships WHERE org_id = $1 AND user_id = $2", cfg.org_id.0, user_id.0).fetch_optional(&mut *tx).await?;
    match (membership, invitation, cfg.join_role) {
        (Some(None), _, _) => {}
        (Some(Some(_)), _, _) => return Ok(Err(format!("Your membership of {} is disabled. Ask one of its owners to re-enable it.", cfg.org_name))),
        (None, Some(inv), _) => orgs::accept_invitation(&mut *tx, &actor, now, &inv, user_id).await?,
        (None, None, Some(role)) => {
            orgs::add_membership(&mut *tx, &actor, now, cfg.org_id, user_id, role).await?;
        }
        (None, None, None) => return Ok(Err(format!("You are not a member of {}. Ask one of its owners to invite you.", cfg.org_name))),
    }
    Ok(Ok(user_id))
}

/// Links the provider's subject to an account, for good.
async fn link(tx: &mut sqlx::PgConnection, cfg: &Config, who: &client::Identity, user_id: UserId, actor: &Actor, now: chrono::DateTime<chrono::Utc>) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO sso_identities (issuer, subject, user_id, org_id, linked_at) VALUES ($1, $2, $3, $4, $5)",
        cfg.issuer,
        who.subject,
        user_id.0,
        cfg.org_id.0,
        now
    )
    .execute(&mut *tx)
    .await?;
    let actor = Actor { user_id: Some(user_id), ..actor.clone() };
    crate::audit::record(&mut *tx, &actor, now, "user.sso_linked", "user", user_id, serde_json::json!({"issuer": cfg.issuer, "subject": who.subject})).await?;
    Ok(())
}
