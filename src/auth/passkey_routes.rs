//! The passkey routes: adding and removing them on the account's two-step
//! sign-in page, signing in with one, and the options every ceremony
//! starts with (JSON for static/app.js). The ceremonies are in `passkeys`.
use crate::audit::{self, Actor};
use crate::auth::passkeys::{self, Purpose, Refused};
use crate::auth::policy::Access;
use crate::auth::second_step;
use crate::auth::session::{self, Flash, SignedIn, Visitor};
use crate::auth::{finish_sign_in, see_other_with};
use crate::error::{AppError, AppResult};
use crate::security_log::model::{self as security_log, Event, Kind};
use crate::state::AppState;
use crate::web::Id;
use crate::web::routes::Routes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

pub fn routes(r: Routes) -> Routes {
    r.post("/account/passkeys/options", Access::SignedIn, registration_options)
        .post_step_up("/account/passkeys", Access::SignedIn, add)
        .post_step_up("/account/passkeys/{id}/remove", Access::SignedIn, remove)
        .post("/account/step-up/passkey-options", Access::SignedIn, step_up_options)
        .post("/login/passkey/options", Access::Public, sign_in_options)
        .post("/login/passkey", Access::Public, sign_in)
        .post("/login/code/passkey-options", Access::Public, second_step_options)
}

fn back(state: &AppState, flash: Flash) -> Response {
    see_other_with("/account/two-factor", vec![session::flash_cookie(state, &flash)])
}

fn actor(who: &SignedIn) -> Actor {
    Actor { org_id: None, user_id: Some(who.session.user_id), label: who.session.email.clone(), request_id: who.visitor.request_id.clone() }
}

async fn registration_options(State(state): State<AppState>, who: SignedIn) -> AppResult<Json<serde_json::Value>> {
    Ok(Json(passkeys::start_registration(&state, who.session.user_id, &who.session.email, &who.session.name).await?))
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
}

async fn add(State(state): State<AppState>, who: SignedIn, Form(form): Form<AddForm>) -> AppResult<Response> {
    let s = &who.session;
    let name = form.name.trim();
    let name = if name.is_empty() { "Passkey" } else { name };
    if name.chars().count() > 100 {
        return Ok(back(&state, Flash::error("Give the passkey a shorter name (at most 100 characters).")));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = match passkeys::finish_registration(&state, &mut tx, s.user_id, &form.ceremony, &form.credential, name).await? {
        Ok(id) => id,
        Err(Refused(why)) => {
            tx.commit().await?;
            return Ok(back(&state, Flash::error(why)));
        }
    };
    audit::record(&mut tx, &actor(&who), now, "user.second_factor_added", "user", s.user_id, json!({"factor": "passkey", "passkey": id, "name": name})).await?;
    let event = Event { org_id: None, user_id: Some(s.user_id), email: &s.email, client_addr: &who.visitor.client_addr, kind: Kind::FactorEnrolled, detail: format!("A passkey named {name:?}.") };
    security_log::record(&mut *tx, now, event).await?;
    tx.commit().await?;
    Ok(back(&state, Flash::success(format!("The passkey {name:?} was added. You can sign in with it, and signatures you make are bound to it."))))
}

async fn remove(State(state): State<AppState>, who: SignedIn, Id(id): Id<Uuid>) -> AppResult<Response> {
    let s = &who.session;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(name) = passkeys::remove(&mut tx, s.user_id, id).await? else { return Err(AppError::NotFound) };
    // An organisation that requires a second factor keeps at least one.
    if !crate::auth::factors::of_user(&mut *tx, s.user_id).await?.any() && !crate::auth::two_factor::required_by(&state, &who).await?.is_empty() {
        drop(tx);
        return Ok(back(&state, Flash::error("This is your last second factor and your organisation requires one: add another passkey or an authenticator app first.")));
    }
    audit::record(&mut tx, &actor(&who), now, "user.second_factor_removed", "user", s.user_id, json!({"factor": "passkey", "passkey": id, "name": name})).await?;
    let event = Event { org_id: None, user_id: Some(s.user_id), email: &s.email, client_addr: &who.visitor.client_addr, kind: Kind::FactorRemoved, detail: format!("The passkey {name:?}.") };
    security_log::record(&mut *tx, now, event).await?;
    tx.commit().await?;
    Ok(back(&state, Flash::success(format!("The passkey {name:?} was removed; it no longer signs in."))))
}

async fn step_up_options(State(state): State<AppState>, who: SignedIn) -> AppResult<Json<serde_json::Value>> {
    passkeys::start_for_user(&state, who.session.user_id, Purpose::StepUp).await?.map(Json).ok_or(AppError::NotFound)
}

async fn sign_in_options(State(state): State<AppState>) -> AppResult<Json<serde_json::Value>> {
    Ok(Json(passkeys::start_sign_in(&state).await?))
}

async fn second_step_options(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Json<serde_json::Value>> {
    let user_id = second_step::pending_user(&state, &headers).await?.ok_or(AppError::NotFound)?;
    passkeys::start_for_user(&state, user_id, Purpose::SecondStep).await?.map(Json).ok_or(AppError::NotFound)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
    next: Option<String>,
}

async fn sign_in(State(state): State<AppState>, visitor: Visitor, Form(form): Form<SignInForm>) -> AppResult<Response> {
    let next = crate::auth::safe_next(form.next.as_deref());
    let mut tx = state.db.begin().await?;
    let user_id = match passkeys::finish_sign_in(&state, &mut tx, &form.ceremony, &form.credential).await? {
        Ok(u) => u,
        Err(Refused(why)) => {
            tx.commit().await?;
            let flash = Flash::error(why);
            return Ok(see_other_with("/login", vec![session::flash_cookie(&state, &flash)]));
        }
    };
    if let Some(org) = crate::sso::rules::password_refused_by(&state.db, user_id).await? {
        tx.commit().await?;
        let flash = Flash::error(crate::sso::rules::use_sso_message(&org));
        return Ok(see_other_with("/login", vec![session::flash_cookie(&state, &flash)]));
    }
    let email = sqlx::query_scalar!("SELECT email FROM users WHERE id = $1", user_id.0).fetch_one(&mut *tx).await?;
    let who = crate::auth::SignIn { user_id, email: &email, next: &next, how: "with a passkey", org: None };
    let res = finish_sign_in(&mut tx, &state, &visitor, who).await?;
    tx.commit().await?;
    Ok(res.into_response())
}
