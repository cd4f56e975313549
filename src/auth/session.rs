//! Sessions live in PostgreSQL so several app processes can share them.
//! The cookie holds 32 random bytes; the table holds only their SHA-256.
//! Every request passes through `load`, which resolves the visitor once and
//! enforces the idle and absolute timeouts.
use crate::ids::{MembershipId, OrgId, UserId};
use crate::state::AppState;
use crate::auth::policy::{Action, Role};
use crate::error::{AppError, AppResult};
use crate::web::request::RequestId;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "mandate_session";
pub const CSRF_COOKIE: &str = "mandate_csrf";
pub const FLASH_COOKIE: &str = "mandate_flash";
/// `last_seen_at` is written at most this often, not on every request.
const TOUCH_EVERY: i64 = 60;

/// Everything known about whoever sent the request.
#[derive(Clone, Debug)]
pub struct Visitor {
    pub session: Option<Session>,
    /// Double-submit token for forms shown before sign-in.
    pub anon_csrf: String,
    pub flash: Option<Flash>,
    pub request_id: String,
    pub client_addr: String,
    pub path: String,
}

#[derive(Clone, Debug)]
pub struct Session {
    pub id_hash: Vec<u8>,
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub csrf_token: String,
    pub current: Option<CurrentOrg>,
    /// Today by the app's clock (UTC), for access windows.
    pub today: chrono::NaiveDate,
    /// When this session last proved who it is: signing in, a second
    /// factor, or the password typed again (what step-up measures).
    pub proved_at: chrono::DateTime<chrono::Utc>,
    /// The account has a second factor (an authenticator app or a passkey).
    pub has_second_factor: bool,
    pub has_app: bool,
    pub has_passkey: bool,
}

#[derive(Clone, Debug)]
pub struct CurrentOrg {
    pub org_id: OrgId,
    pub org_name: String,
    pub membership_id: MembershipId,
    pub role: Role,
    /// The organisation requires a second factor of owners, ISMS leads and executives.
    pub require_second_factor: bool,
    /// How recent a proof of identity sensitive changes need, in minutes.
    pub step_up_minutes: i32,
    /// The organisation requires single sign-on and this account is not linked to its provider.
    pub sso_unlinked: bool,
}

impl CurrentOrg {
    /// This member may not act until they have a second factor.
    pub fn lacks_required_factor(&self, has_second_factor: bool) -> bool {
        self.require_second_factor && crate::auth::policy::needs_second_factor(self.role) && !has_second_factor
    }

    /// This member may not act until they link the organisation's required
    /// single sign-on (owners are exempt: their password is the break-glass way in).
    pub fn must_link_sso(&self) -> bool {
        self.sso_unlinked && self.role != Role::Owner
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Success,
    Info,
    Error,
}

impl Flash {
    pub fn success(m: impl Into<String>) -> Self {
        Self { kind: FlashKind::Success, message: m.into() }
    }
    pub fn info(m: impl Into<String>) -> Self {
        Self { kind: FlashKind::Info, message: m.into() }
    }
    pub fn error(m: impl Into<String>) -> Self {
        Self { kind: FlashKind::Error, message: m.into() }
    }
    pub fn css(&self) -> &'static str {
        match self.kind {
            FlashKind::Success => "flash flash-success",
            FlashKind::Info => "flash flash-info",
            FlashKind::Error => "flash flash-error",
        }
    }
}

impl Visitor {
    /// The token every form of the page must carry.
    pub fn csrf_token(&self) -> &str {
        match &self.session {
            Some(s) => &s.csrf_token,
            None => &self.anon_csrf,
        }
    }
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A cookie's name as sent: over HTTPS with the `__Host-` prefix, which
/// browsers accept only from a secure origin, for the whole site and no
/// other domain, so a sibling subdomain or a plain-HTTP page cannot plant it.
pub fn cookie_name(state: &AppState, name: &str) -> String {
    if state.config.secure_cookies { format!("__Host-{name}") } else { name.to_string() }
}

pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    let name = cookie_name(state, name);
    let v = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn lookup(state: &AppState, token: &str) -> anyhow::Result<Option<Session>> {
    let id_hash = hash_token(token);
    // An auditor's membership outside its access window gives no access
    // (the condition of crate::orgs::window::open_sql, on day $2).
    let today = state.clock.now().date_naive();
    let row = sqlx::query!(
        r#"SELECT s.user_id AS "user_id: UserId", u.email, u.name, s.csrf_token, s.created_at, s.last_seen_at, s.proved_at,
                EXISTS (SELECT 1 FROM totp_factors t WHERE t.user_id = s.user_id AND t.confirmed_at IS NOT NULL) AS "has_app!",
                EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = s.user_id) AS "has_passkey!",
                o.id AS "org_id?: OrgId", o.name AS "org_name?", m.id AS "membership_id?: MembershipId", m.role AS "role?: Role",
                o.require_second_factor AS "require_second_factor?", o.step_up_minutes AS "step_up_minutes?",
                EXISTS (SELECT 1 FROM sso_providers sp WHERE sp.org_id = o.id AND sp.required
                         AND NOT EXISTS (SELECT 1 FROM sso_identities si WHERE si.org_id = sp.org_id AND si.issuer = sp.issuer AND si.user_id = s.user_id)) AS "sso_unlinked!"
           FROM sessions s
           JOIN users u ON u.id = s.user_id
      LEFT JOIN memberships m ON m.org_id = s.current_org_id AND m.user_id = s.user_id AND m.disabled_at IS NULL
                AND (m.access_from IS NULL OR m.access_from <= $2) AND (m.access_until IS NULL OR m.access_until >= $2)
      LEFT JOIN organisations o ON o.id = m.org_id
          WHERE s.id_hash = $1"#,
        &id_hash,
        today
    )
    .fetch_optional(&state.db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let now = state.clock.now();
    if now - row.last_seen_at > state.config.session_idle || now - row.created_at > state.config.session_absolute {
        sqlx::query!("DELETE FROM sessions WHERE id_hash = $1", &id_hash).execute(&state.db).await?;
        return Ok(None);
    }
    if now - row.last_seen_at > Duration::seconds(TOUCH_EVERY) {
        sqlx::query!("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1", &id_hash, now).execute(&state.db).await?;
    }
    let current = match (row.org_id, row.org_name, row.membership_id, row.role) {
        (Some(org_id), Some(org_name), Some(membership_id), Some(role)) => Some(CurrentOrg {
            org_id,
            org_name,
            membership_id,
            role,
            require_second_factor: row.require_second_factor.unwrap_or(false),
            step_up_minutes: row.step_up_minutes.unwrap_or(10),
            sso_unlinked: row.sso_unlinked,
        }),
        _ => None,
    };
    Ok(Some(Session {
        id_hash,
        user_id: row.user_id,
        email: row.email,
        name: row.name,
        csrf_token: row.csrf_token,
        current,
        today,
        proved_at: row.proved_at,
        has_second_factor: row.has_app || row.has_passkey,
        has_app: row.has_app,
        has_passkey: row.has_passkey,
    }))
}

fn client_addr(state: &AppState, req: &Request) -> String {
    // A proxy appends the address it saw to the right; anything to the left
    // came from the client and can be forged.
    if state.config.trust_forwarded_for
        && let Some(last) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return last.to_string();
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Middleware: resolve the visitor, then keep the helper cookies in order.
pub async fn load(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, AppError> {
    let headers = req.headers();
    let (session_name, csrf_name, flash_name) = (cookie_name(&state, SESSION_COOKIE), cookie_name(&state, CSRF_COOKIE), cookie_name(&state, FLASH_COOKIE));
    // The JSON API never reads the session (a token only), nor sets cookies.
    let api = crate::web::request::is_api(req.uri().path());
    let session = match cookie(headers, &session_name) {
        Some(token) if !api => lookup(&state, token).await?,
        _ => None,
    };
    let had_session_cookie = !api && cookie(headers, &session_name).is_some();
    let existing_anon = cookie(headers, &csrf_name).map(str::to_string);
    let flash = cookie(headers, &flash_name)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|b| serde_json::from_slice::<Flash>(&b).ok());
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let visitor = Visitor {
        session,
        anon_csrf: existing_anon.clone().unwrap_or_else(random_token),
        flash: flash.clone(),
        request_id,
        client_addr: client_addr(&state, &req),
        path: req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into()),
    };
    let signed_in = visitor.session.is_some();
    let new_anon = (existing_anon.is_none() && !api).then(|| visitor.anon_csrf.clone());
    req.extensions_mut().insert(visitor.clone());
    // Route layers that need the database (`auth::step_up`) find it here.
    req.extensions_mut().insert(state.clone());
    let mut res = next.run(req).await;
    // The error-page renderer (outside this layer) shows who is signed in.
    res.extensions_mut().insert(visitor);

    let sets_own_cookie = |res: &Response, name: &str| {
        res.headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|v| v.to_str().map(|s| s.starts_with(&format!("{name}="))).unwrap_or(false))
    };
    if let Some(anon) = new_anon
        && !sets_own_cookie(&res, &csrf_name)
    {
        let v = set_cookie(&state, CSRF_COOKIE, &anon, None);
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    // A stale session cookie is cleared so the browser stops sending it.
    if had_session_cookie && !signed_in && !sets_own_cookie(&res, &session_name) {
        let v = set_cookie(&state, SESSION_COOKIE, "", Some(0));
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    // A flash is shown once: by the first full page that renders it.
    let is_page = res.status().is_success()
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
    if flash.is_some() && is_page && !sets_own_cookie(&res, &flash_name) {
        let v = set_cookie(&state, FLASH_COOKIE, "", Some(0));
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// A cookie that shows `flash` on the next page.
pub fn flash_cookie(state: &AppState, flash: &Flash) -> HeaderValue {
    let json = serde_json::to_vec(flash).unwrap_or_default();
    set_cookie(state, FLASH_COOKIE, &URL_SAFE_NO_PAD.encode(json), Some(300))
}

/// Starts a fresh session (a new id every sign-in) and returns its cookie.
pub async fn start(
    conn: &mut PgConnection,
    state: &AppState,
    user_id: UserId,
    org_id: Option<OrgId>,
    previous: Option<&Session>,
) -> anyhow::Result<HeaderValue> {
    if let Some(prev) = previous {
        sqlx::query!("DELETE FROM sessions WHERE id_hash = $1", &prev.id_hash).execute(&mut *conn).await?;
    }
    let token = random_token();
    let now = state.clock.now();
    sqlx::query!(
        "INSERT INTO sessions (id_hash, user_id, current_org_id, csrf_token, created_at, last_seen_at, proved_at)
         VALUES ($1, $2, $3, $4, $5, $5, $5)",
        hash_token(&token),
        user_id.0,
        org_id.map(|o| o.0),
        random_token(),
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(set_cookie(state, SESSION_COOKIE, &token, None))
}

/// The session has just proved who it is again (step-up).
pub async fn mark_proved(conn: &mut PgConnection, session: &Session, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<()> {
    sqlx::query!("UPDATE sessions SET proved_at = $2 WHERE id_hash = $1", &session.id_hash, now).execute(conn).await?;
    Ok(())
}

pub async fn end(conn: &mut PgConnection, session: &Session) -> anyhow::Result<()> {
    sqlx::query!("DELETE FROM sessions WHERE id_hash = $1", &session.id_hash).execute(conn).await?;
    Ok(())
}

/// Ends every session of a user, except optionally the one making the change.
pub async fn end_all_for_user(conn: &mut PgConnection, user_id: UserId, except: Option<&[u8]>) -> anyhow::Result<u64> {
    let done = sqlx::query!("DELETE FROM sessions WHERE user_id = $1 AND ($2::bytea IS NULL OR id_hash <> $2)", user_id.0, except)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

pub async fn sweep_expired(state: &AppState) -> anyhow::Result<u64> {
    let now = state.clock.now();
    let done = sqlx::query!(
        "DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2",
        now - state.config.session_idle,
        now - state.config.session_absolute
    )
    .execute(&state.db)
    .await?;
    Ok(done.rows_affected())
}

fn visitor_of(parts: &Parts) -> AppResult<Visitor> {
    parts
        .extensions
        .get::<Visitor>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("session middleware missing")))
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> AppResult<Self> {
        visitor_of(parts)
    }
}

/// A signed-in user, with or without a current organisation.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub session: Session,
    pub visitor: Visitor,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> AppResult<Self> {
        let visitor = visitor_of(parts)?;
        match visitor.session.clone() {
            Some(session) => Ok(SignedIn { session, visitor }),
            None => Err(AppError::SignInRequired { next: sign_in_return(parts) }),
        }
    }
}

/// Only GET pages are worth coming back to after signing in.
fn sign_in_return(parts: &Parts) -> String {
    if parts.method == axum::http::Method::GET {
        parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default()
    } else {
        String::new()
    }
}

/// A signed-in, active member of the organisation the session has selected.
#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub org_id: OrgId,
    pub org_name: String,
    pub membership_id: MembershipId,
    pub role: Role,
    pub visitor: Visitor,
}

impl Member {
    pub fn can(&self, action: Action) -> bool {
        crate::auth::policy::allows(self.role, action)
    }

    pub fn require(&self, action: Action) -> AppResult<()> {
        if self.can(action) { Ok(()) } else { Err(AppError::Forbidden) }
    }

    /// Who to name in the audit log for changes this member makes.
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor {
            org_id: Some(self.org_id),
            user_id: Some(self.user_id),
            label: self.email.clone(),
            request_id: self.visitor.request_id.clone(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Member {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> AppResult<Self> {
        let SignedIn { session, visitor } = SignedIn::from_request_parts(parts, state).await?;
        let Some(cur) = session.current.clone() else { return Err(AppError::NoOrganisation) };
        if cur.lacks_required_factor(session.has_second_factor) {
            return Err(AppError::SecondFactorRequired);
        }
        if cur.must_link_sso() {
            return Err(AppError::SsoLinkRequired);
        }
        Ok(Member {
            user_id: session.user_id,
            email: session.email,
            name: session.name,
            org_id: cur.org_id,
            org_name: cur.org_name,
            membership_id: cur.membership_id,
            role: cur.role,
            visitor,
        })
    }
}
