//! Signing up, signing in and out, and the account page.
pub mod assertion;
pub mod csrf;
pub mod factors;
pub mod passkey_routes;
pub mod passkeys;
pub mod password;
pub mod policy;
pub mod second_step;
pub mod session;
pub mod signup;
pub mod step_up;
pub mod throttle;
pub mod totp;
pub mod two_factor;

use crate::state::AppState;
use crate::web::routes::Routes;
use crate::audit::{self, Actor};
use crate::security_log::model::{self as security_log, Event, Kind};
use crate::error::AppResult;
use crate::orgs::model;
use crate::web::{FieldErrors, Layout};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::json;
use session::{Flash, SignedIn, Visitor};
pub use throttle::{codes_locked_message, locked_message};

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::Access;
    let r = passkey_routes::routes(two_factor::routes(second_step::routes(r)));
    signup::routes(r)
        .get("/login", Access::Public, login_page)
        .post("/login", Access::Public, login)
        .post("/logout", Access::Public, logout)
        .get("/account", Access::SignedIn, account_page)
        .post("/account/password", Access::SignedIn, change_password)
}

/// Only local paths are followed after sign-in (no open redirects).
/// Browsers drop tabs and line breaks from URLs, so `/\t/evil.example`
/// would become `//evil.example`: any control or space character is refused.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.contains("://")
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_string()
        }
        _ => "/dashboard".into(),
    }
}

pub(crate) fn see_other_with(location: &str, cookies: Vec<axum::http::HeaderValue>) -> Response {
    let mut res = Redirect::to(location).into_response();
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

// ---------- sign in / out ----------

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
    /// The single sign-on form shows open (the organisation requires it).
    sso_open: bool,
}

async fn login_page(visitor: Visitor, Query(q): Query<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    if visitor.session.is_some() {
        return Redirect::to(&next).into_response();
    }
    LoginPage { layout: Layout::basic(&visitor, "Sign in"), email: String::new(), next, error: None, sso_open: false }.into_response()
}

async fn login(State(state): State<AppState>, visitor: Visitor, Form(form): Form<LoginForm>) -> AppResult<Response> {
    let next = safe_next(form.next.as_deref());
    let email = form.email.trim().to_lowercase();
    let refuse = |status: StatusCode, error: String| {
        let sso_open = status == StatusCode::FORBIDDEN;
        let page = LoginPage { layout: Layout::basic(&visitor, "Sign in"), email: email.clone(), next: next.clone(), error: Some(error), sso_open };
        (status, page).into_response()
    };
    let now = state.clock.now();
    let user = model::find_user_by_email(&state.db, &email).await?;
    let stored = user.as_ref().map(|(_, _, h)| h.clone());
    let check = throttle::check_password(&state.db, &state.config.throttle, now, &email, &visitor.client_addr, form.password, stored, "sign-in").await?;
    let user_id = match (check, user) {
        (throttle::PasswordCheck::Right, Some((user_id, _, _))) => user_id,
        (throttle::PasswordCheck::Locked(until), _) => {
            let mut res = refuse(StatusCode::TOO_MANY_REQUESTS, locked_message(until, now));
            if let Ok(v) = ((until - now).num_seconds().max(1)).to_string().parse() {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return Ok(res);
        }
        _ => return Ok(refuse(StatusCode::UNAUTHORIZED, "The e-mail address or password is not right.".into())),
    };
    // An organisation that requires single sign-on refuses its members' passwords (owners keep theirs).
    if let Some(org) = crate::sso::rules::password_refused_by(&state.db, user_id).await? {
        return Ok(refuse(StatusCode::FORBIDDEN, crate::sso::rules::use_sso_message(&org)));
    }
    // With a second factor, the password only opens the second step.
    if factors::of_user(&state.db, user_id).await?.any() {
        let mut conn = state.db.acquire().await?;
        let cookie = second_step::begin(&mut conn, &state, user_id, &next, now).await?;
        return Ok(see_other_with("/login/code", vec![cookie]));
    }
    let mut tx = state.db.begin().await?;
    let who = SignIn { user_id, email: &email, next: &next, how: "with a password alone", org: None };
    let res = finish_sign_in(&mut tx, &state, &visitor, who).await?;
    tx.commit().await?;
    Ok(res)
}

/// Who is signing in, and how.
pub(crate) struct SignIn<'a> {
    pub user_id: crate::ids::UserId,
    pub email: &'a str,
    /// Where to go afterwards (already checked by `safe_next`).
    pub next: &'a str,
    /// For the security log: "with a password alone", "with a passkey", …
    pub how: &'a str,
    /// The organisation to land in, when the way in names one (single sign-on).
    pub org: Option<crate::ids::OrgId>,
}

/// Starts the session of an account that has proved who it is, in the
/// caller's transaction, and answers the redirect to `next` (or the
/// organisation chooser when it has none).
pub(crate) async fn finish_sign_in(tx: &mut sqlx::PgConnection, state: &AppState, visitor: &Visitor, who: SignIn<'_>) -> AppResult<Response> {
    let SignIn { user_id, email, next, how, org } = who;
    let now = state.clock.now();
    let org_id = match org {
        Some(o) => Some(o),
        None => model::first_active_org(&mut *tx, user_id, now.date_naive()).await?,
    };
    let cookie = session::start(&mut *tx, state, user_id, org_id, visitor.session.as_ref()).await?;
    let actor = Actor { org_id, user_id: Some(user_id), label: email.to_string(), request_id: visitor.request_id.clone() };
    audit::record(&mut *tx, &actor, now, "session.signed_in", "user", user_id, json!({"address": visitor.client_addr, "how": how})).await?;
    let detail = format!("Signed in {how}.");
    let event = Event { org_id: None, user_id: Some(user_id), email, client_addr: &visitor.client_addr, kind: Kind::SignedIn, detail };
    security_log::record(&mut *tx, now, event).await?;
    let target = if org_id.is_some() { next } else { "/orgs" };
    Ok(see_other_with(target, vec![cookie]))
}

async fn logout(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    if let Some(s) = &visitor.session {
        let mut conn = state.db.acquire().await?;
        session::end(&mut conn, s).await?;
    }
    let flash = Flash::info("You have signed out.");
    Ok(see_other_with(
        "/login",
        vec![session::set_cookie(&state, session::SESSION_COOKIE, "", Some(0)), session::flash_cookie(&state, &flash)],
    ))
}

// ---------- account ----------

#[derive(Template, WebTemplate)]
#[template(path = "auth/account.html")]
struct AccountPage {
    layout: Layout,
    name: String,
    email: String,
    has_second_factor: bool,
    /// One of the account's organisations signs in with single sign-on.
    sso_offered: bool,
    /// The current organisation requires single sign-on and waits for this account to link it.
    sso_required: bool,
    errors: FieldErrors,
}

/// Whether an organisation of this account has single sign-on set up.
async fn sso_offered(db: &sqlx::PgPool, user_id: crate::ids::UserId) -> AppResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM memberships m JOIN sso_providers s ON s.org_id = m.org_id WHERE m.user_id = $1 AND m.disabled_at IS NULL) AS "offered!""#,
        user_id.0
    )
    .fetch_one(db)
    .await?)
}

async fn account_page(State(state): State<AppState>, who: SignedIn) -> AppResult<AccountPage> {
    Ok(AccountPage {
        layout: Layout::build(&state.db, &who.visitor, "Your account").await?,
        name: who.session.name.clone(),
        email: who.session.email.clone(),
        has_second_factor: who.session.has_second_factor,
        sso_offered: sso_offered(&state.db, who.session.user_id).await?,
        sso_required: who.session.current.as_ref().is_some_and(|c| c.must_link_sso()),
        errors: FieldErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
}

async fn change_password(State(state): State<AppState>, who: SignedIn, Form(form): Form<PasswordForm>) -> AppResult<Response> {
    let s = &who.session;
    let mut errors = FieldErrors::default();
    let stored = sqlx::query_scalar!("SELECT password_hash FROM users WHERE id = $1", s.user_id.0).fetch_one(&state.db).await?;
    // Throttled like signing in: a stolen session cannot guess the password here.
    let now = state.clock.now();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    match throttle::check_password(&state.db, &state.config.throttle, now, &s.email, &who.visitor.client_addr, form.current, Some(stored), "a password change").await? {
        throttle::PasswordCheck::Right => {}
        throttle::PasswordCheck::Wrong => errors.add("current", "This is not your current password."),
        throttle::PasswordCheck::Locked(until) => {
            status = StatusCode::TOO_MANY_REQUESTS;
            errors.add("current", locked_message(until, now));
        }
    }
    if let Err(e) = password::check_new(&form.new_password, &s.email) {
        errors.add("new_password", e);
    } else if form.new_password != form.confirm {
        errors.add("confirm", "The two new passwords differ.");
    }
    if !errors.is_empty() {
        let page = AccountPage {
            layout: Layout::build(&state.db, &who.visitor, "Your account").await?,
            name: s.name.clone(),
            email: s.email.clone(),
            has_second_factor: s.has_second_factor,
            sso_offered: sso_offered(&state.db, s.user_id).await?,
            sso_required: s.current.as_ref().is_some_and(|c| c.must_link_sso()),
            errors,
        };
        return Ok((status, page).into_response());
    }
    let hash = password::hash(form.new_password).await?;
    let mut tx = state.db.begin().await?;
    sqlx::query!("UPDATE users SET password_hash = $2 WHERE id = $1", s.user_id.0, &hash).execute(&mut *tx).await?;
    let ended = session::end_all_for_user(&mut tx, s.user_id, Some(&s.id_hash)).await?;
    let actor = Actor { org_id: None, user_id: Some(s.user_id), label: s.email.clone(), request_id: who.visitor.request_id.clone() };
    audit::record(&mut tx, &actor, now, "user.password_changed", "user", s.user_id, json!({"other_sessions_ended": ended}))
        .await?;
    let detail = format!("Other sessions signed out: {ended}.");
    let event = Event { org_id: None, user_id: Some(s.user_id), email: &s.email, client_addr: &who.visitor.client_addr, kind: Kind::PasswordChanged, detail };
    security_log::record(&mut *tx, now, event).await?;
    tx.commit().await?;
    let flash = Flash::success("Your password was changed. Any other sessions of yours have been signed out.");
    Ok(see_other_with("/account", vec![session::flash_cookie(&state, &flash)]))
}
