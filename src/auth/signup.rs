//! Sign-up by e-mail. The form answers the same whether or not the address
//! already has an account; what differs goes by e-mail to that address:
//! a link that finishes the sign-up, or a note that an account exists.
use crate::ids::{OrgId, SignupId};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::audit::Actor;
use crate::auth::session::{self, Flash, Visitor, hash_token, random_token};
use crate::auth::{password, see_other_with, throttle};
use crate::error::{AppError, AppResult};
use crate::orgs::model;
use crate::web::form::{parse_email, parse_text};
use crate::web::{FieldErrors, Layout};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

/// How long a sign-up link works.
pub const LINK_HOURS: i64 = 24;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::Access;
    r.get("/signup", Access::Public, signup_page).post("/signup", Access::Public, signup).get("/signup/{token}", Access::Public, finish_page).post("/signup/{token}", Access::Public, finish)
}

#[derive(Deserialize, Default, Clone)]
pub struct SignupForm {
    #[serde(default)]
    pub org_name: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/signup.html")]
struct SignupPage {
    layout: Layout,
    form: SignupForm,
    errors: FieldErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/signup_sent.html")]
struct SentPage {
    layout: Layout,
    email: String,
    hours: i64,
}

async fn signup_page(visitor: Visitor) -> Response {
    if visitor.session.is_some() {
        return Redirect::to("/orgs").into_response();
    }
    SignupPage { layout: Layout::basic(&visitor, "Create your organisation"), form: SignupForm::default(), errors: FieldErrors::default() }
        .into_response()
}

async fn signup(State(state): State<AppState>, visitor: Visitor, Form(form): Form<SignupForm>) -> AppResult<Response> {
    let mut errors = FieldErrors::default();
    let org_name = parse_text(&form.org_name, "the organisation's name", 120).map_err(|e| errors.add("org_name", e)).ok();
    let name = parse_text(&form.name, "your name", 120).map_err(|e| errors.add("name", e)).ok();
    let email = parse_email(&form.email).map_err(|e| errors.add("email", e)).ok();
    if let Err(e) = password::check_new(&form.password, email.as_deref().unwrap_or("")) {
        errors.add("password", e);
    }
    let page = |errors: FieldErrors, status: StatusCode| {
        let page = SignupPage {
            layout: Layout::basic(&visitor, "Create your organisation"),
            form: SignupForm { password: String::new(), ..form.clone() },
            errors,
        };
        (status, page).into_response()
    };
    let (Some(org_name), Some(name), Some(email), true) = (org_name, name, email, errors.is_empty()) else {
        return Ok(page(errors, StatusCode::UNPROCESSABLE_ENTITY));
    };
    let now = state.clock.now();
    // Every attempt counts against the address, so the form cannot be used to send mail in bulk.
    if let throttle::Admission::Locked(until) = throttle::admit(&state.db, &state.config.throttle, now, &throttle::sign_up_keys(&state.config.throttle, &visitor.client_addr)).await? {
        let mut errors = FieldErrors::default();
        errors.add("email", format!("Too many sign-ups from this address. Try again in {} minutes.", ((until - now).num_seconds() + 59) / 60));
        return Ok(page(errors, StatusCode::TOO_MANY_REQUESTS));
    }
    // Hashed either way, so the answer takes as long whether or not the address is known.
    let hash = password::hash(form.password.clone()).await?;
    let known = model::find_user_by_email(&state.db, &email).await?.is_some();
    let (subject, body) = if known {
        (
            "Your Mandate account".to_string(),
            format!(
                "Someone asked to create the organisation \"{org_name}\" on Mandate with this address, which already has an account.\n\n\
                 If it was you, sign in at {} and create the organisation from the Organisations page.\n\
                 If it was not you, ignore this message: nothing was changed.\n",
                state.config.link("/login")
            ),
        )
    } else {
        let token = record(&state, &visitor.request_id, now, &email, &name, &org_name, &hash).await?;
        (
            format!("Finish creating {org_name} on Mandate"),
            format!(
                "Open this link to finish creating \"{org_name}\" on Mandate, with you ({name}) as its owner.\n\
                 It works once and expires in {LINK_HOURS} hours:\n{}\n\nIf you did not ask for this, ignore this message.\n",
                state.config.link(&format!("/signup/{token}"))
            ),
        )
    };
    crate::mail::deliver(state.mailer.clone(), email.clone(), subject, body);
    Ok(SentPage { layout: Layout::basic(&visitor, "Check your e-mail"), email, hours: LINK_HOURS }.into_response())
}

/// Keeps a pending sign-up; returns the link's secret (only its hash is stored).
async fn record(state: &AppState, request_id: &str, now: DateTime<Utc>, email: &str, name: &str, org_name: &str, hash: &str) -> AppResult<String> {
    let token = random_token();
    let id = SignupId::new();
    let mut tx = state.db.begin().await?;
    sqlx::query!(
        "INSERT INTO signups (id, token_hash, email, name, org_name, password_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        id.0,
        hash_token(&token),
        email,
        name,
        org_name,
        hash,
        now,
        now + Duration::hours(LINK_HOURS)
    )
    .execute(&mut *tx)
    .await?;
    let actor = Actor { org_id: None, user_id: None, label: email.to_string(), request_id: request_id.to_string() };
    crate::audit::record(&mut tx, &actor, now, "signup.requested", "signup", id, serde_json::json!({"email": email, "organisation": org_name}))
        .await?;
    sqlx::query!("DELETE FROM signups WHERE expires_at < $1", now - Duration::days(7)).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(token)
}

struct Pending {
    email: String,
    name: String,
    org_name: String,
    password_hash: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/signup_finish.html")]
struct FinishPage {
    layout: Layout,
    pending: Option<(String, String)>,
}

async fn open_signup(state: &AppState, token: &str, now: DateTime<Utc>) -> AppResult<Option<Pending>> {
    Ok(sqlx::query_as!(
        Pending,
        "SELECT email, name, org_name, password_hash FROM signups WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        hash_token(token),
        now
    )
    .fetch_optional(&state.db)
    .await?)
}

/// Opening the link changes nothing: the page asks to confirm (no state change on GET).
async fn finish_page(State(state): State<AppState>, visitor: Visitor, crate::web::Segment(token): crate::web::Segment) -> AppResult<Response> {
    let pending = open_signup(&state, &token, state.clock.now()).await?;
    let status = if pending.is_some() { StatusCode::OK } else { StatusCode::GONE };
    let page = FinishPage { layout: Layout::basic(&visitor, "Finish creating your organisation"), pending: pending.map(|p| (p.org_name, p.email)) };
    Ok((status, page).into_response())
}

async fn finish(State(state): State<AppState>, visitor: Visitor, crate::web::Segment(token): crate::web::Segment) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let claimed = sqlx::query_as!(
        Pending,
        "UPDATE signups SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
      RETURNING email, name, org_name, password_hash",
        hash_token(&token),
        now
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(p) = claimed else {
        let page = FinishPage { layout: Layout::basic(&visitor, "Finish creating your organisation"), pending: None };
        return Ok((StatusCode::GONE, page).into_response());
    };
    let org_id = OrgId::new();
    let actor = Actor { org_id: Some(org_id), user_id: None, label: p.email.clone(), request_id: visitor.request_id.clone() };
    let Some(user_id) = model::create_user(&mut tx, &actor, now, &p.email, &p.name, &p.password_hash).await? else {
        // The address got an account since the link was sent (an invitation, another sign-up).
        return Err(AppError::Conflict("This address has an account by now. Sign in, then create the organisation from the Organisations page.".into()));
    };
    let actor = Actor { user_id: Some(user_id), ..actor };
    crate::audit::record(&mut tx, &actor, now, "signup.finished", "user", user_id, serde_json::json!({"email": p.email})).await?;
    model::create_organisation(&mut tx, &actor, now, org_id, &p.org_name, user_id).await?;
    let cookie = session::start(&mut tx, &state, user_id, Some(org_id), visitor.session.as_ref()).await?;
    tx.commit().await?;
    let flash = Flash::success(format!("Welcome to Mandate. {} is ready: start by inviting your ISMS lead and executives.", p.org_name));
    Ok(see_other_with("/dashboard", vec![cookie, session::flash_cookie(&state, &flash)]))
}
