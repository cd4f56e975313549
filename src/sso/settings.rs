//! The single sign-on settings page, for owners: the provider (issuer,
//! client id and secret), the e-mail domains it signs in, who may join
//! without an invitation and in which role, and whether it is required.
//! Saving checks the provider's discovery document first.
use super::{Config, client, config};
use crate::audit::{self, Changes};
use crate::auth::policy::{Access::Can, Action::SetSignInRules, Role};
use crate::auth::session::{Flash, Member};
use crate::error::AppResult;
use crate::security_log::model::{self as security_log, Event, Kind};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::web::{FieldErrors, Layout, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    r.get("/settings/sso", Can(SetSignInRules), page)
        .post_step_up("/settings/sso", Can(SetSignInRules), save)
        .post_step_up("/settings/sso/remove", Can(SetSignInRules), remove)
}

/// The roles people may join in without an invitation: never executive or owner.
pub const JOIN_ROLES: [Role; 3] = [Role::Contributor, Role::Auditor, Role::IsmsLead];

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SsoForm {
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub client_id: String,
    /// Blank keeps the secret already stored.
    #[serde(default)]
    pub client_secret: String,
    /// Comma- or space-separated.
    #[serde(default)]
    pub domains: String,
    #[serde(default)]
    pub join_role: String,
    #[serde(default)]
    pub required: Option<String>,
}

impl SsoForm {
    fn of(c: &Config) -> Self {
        SsoForm {
            issuer: c.issuer.clone(),
            client_id: c.client_id.clone(),
            client_secret: String::new(),
            domains: c.domains.join(", "),
            join_role: c.join_role.map(|r| r.as_str().to_string()).unwrap_or_default(),
            required: c.required.then(|| "on".into()),
        }
    }
}

/// What the form means, once checked.
struct Parsed {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    domains: Vec<String>,
    join_role: Option<Role>,
    required: bool,
}

fn parse(form: &SsoForm, allow_local_http: bool, has_secret: bool) -> Result<Parsed, FieldErrors> {
    let mut errors = FieldErrors::default();
    let issuer = form.issuer.trim().trim_end_matches('/').to_string();
    match url::Url::parse(&issuer) {
        Ok(u) if u.scheme() == "https" => {}
        Ok(u) if u.scheme() == "http" && allow_local_http && matches!(u.host_str(), Some("127.0.0.1" | "localhost")) => {}
        Ok(_) => errors.add("issuer", "The issuer must be an https address (the provider's, as its documentation names it)."),
        Err(_) => errors.add("issuer", "Enter the issuer's address, like https://login.example.com/realms/acme."),
    }
    let client_id = form.client_id.trim().to_string();
    if client_id.is_empty() || client_id.len() > 500 {
        errors.add("client_id", "Enter the client id the provider gave Mandate.");
    }
    let secret = form.client_secret.trim();
    if secret.is_empty() && !has_secret {
        errors.add("client_secret", "Enter the client secret the provider gave Mandate.");
    }
    let domains: Vec<String> = form.domains.split([',', ' ', '\n']).map(|d| d.trim().trim_start_matches('@').to_lowercase()).filter(|d| !d.is_empty()).collect();
    let bad = domains.iter().find(|d| !d.contains('.') || !d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
    if domains.is_empty() {
        errors.add("domains", "Enter at least one e-mail domain, like acme.example.");
    } else if let Some(d) = bad {
        errors.add("domains", format!("{d} is not an e-mail domain (like acme.example)."));
    }
    let join_role = match form.join_role.trim() {
        "" => None,
        raw => match raw.parse::<Role>() {
            Ok(r) if JOIN_ROLES.contains(&r) => Some(r),
            _ => {
                errors.add("join_role", "Choose contributor, auditor or ISMS lead, or nobody: executives and owners are only invited.");
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Parsed { issuer, client_id, client_secret: (!secret.is_empty()).then(|| secret.to_string()), domains, join_role, required: form.required.is_some() })
}

#[derive(Template, WebTemplate)]
#[template(path = "orgs/sso.html")]
struct Page {
    layout: Layout,
    configured: bool,
    form: SsoForm,
    errors: FieldErrors,
    callback: String,
    roles: Vec<(&'static str, &'static str)>,
}

async fn view(state: &AppState, me: &Member, form: Option<SsoForm>, errors: FieldErrors) -> AppResult<Response> {
    let current = config(&state.db, me.org_id).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = Page {
        layout: Layout::build(&state.db, &me.visitor, "Single sign-on").await?,
        configured: current.is_some(),
        form: form.unwrap_or_else(|| current.as_ref().map(SsoForm::of).unwrap_or_default()),
        errors,
        callback: state.config.link(super::CALLBACK),
        roles: JOIN_ROLES.iter().map(|r| (r.as_str(), r.label())).collect(),
    };
    Ok((status, page).into_response())
}

async fn page(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    view(&state, &me, None, FieldErrors::default()).await
}

async fn save(State(state): State<AppState>, me: Member, Form(form): Form<SsoForm>) -> AppResult<Response> {
    let before = config(&state.db, me.org_id).await?;
    let p = match parse(&form, state.config.oidc_allow_local_http, before.is_some()) {
        Ok(p) => p,
        Err(errors) => return view(&state, &me, Some(form), errors).await,
    };
    let secret = p.client_secret.clone().or_else(|| before.as_ref().map(|b| b.client_secret.clone())).unwrap_or_default();
    // The server fetches the issuer's documents: not from inside its own network.
    if !state.config.oidc_allow_local_http && let Some(why) = internal_address(&p.issuer).await {
        let mut errors = FieldErrors::default();
        errors.add("issuer", why);
        return view(&state, &me, Some(form), errors).await;
    }
    // The provider must answer before anyone is sent to it.
    let redirect = state.config.link(super::CALLBACK);
    if let Err(client::Failure(why)) = client::check(&client::Provider { issuer: &p.issuer, client_id: &p.client_id, client_secret: &secret, redirect }).await {
        let mut errors = FieldErrors::default();
        errors.add("issuer", format!("Mandate could not read this provider's configuration: {why}. Check the issuer address."));
        return view(&state, &me, Some(form), errors).await;
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query!("DELETE FROM sso_domains WHERE org_id = $1", me.org_id.0).execute(&mut *tx).await?;
    for d in &p.domains {
        let taken = sqlx::query!("INSERT INTO sso_domains (domain, org_id) VALUES ($1, $2) ON CONFLICT (domain) DO NOTHING", d, me.org_id.0).execute(&mut *tx).await?;
        if taken.rows_affected() == 0 {
            drop(tx);
            let mut errors = FieldErrors::default();
            errors.add("domains", format!("{d} already signs in through another organisation's provider."));
            return view(&state, &me, Some(form), errors).await;
        }
    }
    sqlx::query!(
        "INSERT INTO sso_providers (org_id, issuer, client_id, client_secret, domains, join_role, required, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (org_id) DO UPDATE SET issuer = $2, client_id = $3, client_secret = $4, domains = $5, join_role = $6, required = $7, updated_at = $8",
        me.org_id.0,
        p.issuer,
        p.client_id,
        secret,
        &p.domains,
        p.join_role.map(|r| r.as_str()),
        p.required,
        now
    )
    .execute(&mut *tx)
    .await?;
    let mut c = Changes::new();
    let old = before.as_ref();
    c.field("issuer", old.map(|b| b.issuer.clone()), Some(p.issuer.clone()))
        .field("client_id", old.map(|b| b.client_id.clone()), Some(p.client_id.clone()))
        .field("client_secret_changed", false, p.client_secret.is_some())
        .field("domains", old.map(|b| b.domains.join(", ")), Some(p.domains.join(", ")))
        .field("join_role", old.and_then(|b| b.join_role).map(|r| r.as_str()), p.join_role.map(|r| r.as_str()))
        .field("required", old.is_some_and(|b| b.required), p.required);
    audit::record(&mut tx, &me.actor(), now, "organisation.sso_set", "organisation", me.org_id, c.into_value()).await?;
    let detail = format!(
        "Single sign-on through {} for {}; {}; {}.",
        p.issuer,
        p.domains.join(", "),
        p.join_role.map_or("only invited people get accounts".to_string(), |r| format!("others may join as {}", r.label().to_lowercase())),
        if p.required { "required for members (owners keep their password)" } else { "not required" }
    );
    security_log::record(&mut *tx, now, Event::by(&me, Kind::SignInRulesChanged, detail)).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/settings/sso", Flash::success("Single sign-on was saved. The provider answered.")))
}

async fn remove(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query!("DELETE FROM sso_domains WHERE org_id = $1", me.org_id.0).execute(&mut *tx).await?;
    let gone = sqlx::query!("DELETE FROM sso_providers WHERE org_id = $1", me.org_id.0).execute(&mut *tx).await?;
    if gone.rows_affected() > 0 {
        audit::record(&mut tx, &me.actor(), now, "organisation.sso_removed", "organisation", me.org_id, serde_json::json!({})).await?;
        security_log::record(&mut *tx, now, Event::by(&me, Kind::SignInRulesChanged, "Single sign-on was turned off; members sign in with passwords and passkeys.")).await?;
    }
    tx.commit().await?;
    Ok(redirect_with(&state, "/settings/sso", Flash::success("Single sign-on was turned off. Members sign in with their passwords and passkeys.")))
}

/// Why the issuer may not be fetched: its host resolves to an address of
/// this machine or a private network (or does not resolve at all).
async fn internal_address(issuer: &str) -> Option<String> {
    let url = url::Url::parse(issuer).ok()?;
    let host = url.host_str()?.to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(a) => a.collect(),
        Err(_) => return Some(format!("{host} does not resolve to an address.")),
    };
    addrs.iter().find(|a| is_internal(a.ip())).map(|a| format!("{host} resolves to {}, an address inside a private network: Mandate only fetches public providers.", a.ip()))
}

fn is_internal(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast() || v4.is_documentation() || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback() || v6.is_unspecified() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80 || v6.to_ipv4_mapped().is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(issuer: &str, domains: &str, role: &str) -> SsoForm {
        SsoForm { issuer: issuer.into(), client_id: "mandate".into(), client_secret: "s".into(), domains: domains.into(), join_role: role.into(), required: None }
    }

    #[test]
    fn issuers_are_https_and_join_roles_never_lead() {
        assert!(parse(&form("https://login.example.com", "acme.example", ""), false, false).is_ok());
        assert!(parse(&form("http://login.example.com", "acme.example", ""), false, false).is_err());
        assert!(parse(&form("http://127.0.0.1:9000", "acme.example", ""), false, false).is_err(), "local http only when allowed");
        assert!(parse(&form("http://127.0.0.1:9000", "acme.example", ""), true, false).is_ok());
        assert!(parse(&form("http://10.0.0.1:9000", "acme.example", ""), true, false).is_err(), "never another host over http");
        for role in ["executive", "owner", "admin"] {
            assert!(parse(&form("https://l.example", "acme.example", role), false, false).is_err(), "{role}");
        }
        let p = parse(&form("https://l.example/", "@Acme.example, sub.acme.example", "contributor"), false, false).ok().unwrap();
        assert_eq!(p.domains, ["acme.example", "sub.acme.example"]);
        assert_eq!(p.issuer, "https://l.example");
        assert!(parse(&form("https://l.example", "not a domain", ""), false, false).is_err());
    }

    #[test]
    fn private_and_local_addresses_are_internal() {
        for ip in ["10.1.2.3", "192.168.0.1", "172.16.5.4", "127.0.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1"] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2606:4700::1111", "100.128.0.1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
