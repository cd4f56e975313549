//! The account's two-step sign-in page: set up an authenticator app (QR
//! code, confirmed by a first code), see and renew recovery codes, turn the
//! app off. Every change writes the audit log and the security log.
use crate::audit::{self, Actor};
use crate::auth::factors::{self, Attempt, CodeCheck};
use crate::auth::passkeys;
use crate::auth::policy::{self, Access, Role};
use crate::auth::session::{self, Flash, SignedIn};
use crate::auth::{codes_locked_message, see_other_with};
use crate::error::AppResult;
use crate::security_log::model::{self as security_log, Event, Kind};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::web::{FieldErrors, Layout};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

pub fn routes(r: Routes) -> Routes {
    r.get("/account/two-factor", Access::SignedIn, page)
        .post("/account/two-factor/app", Access::SignedIn, start_app)
        .post_step_up("/account/two-factor/app/confirm", Access::SignedIn, confirm_app)
        .post_step_up("/account/two-factor/app/remove", Access::SignedIn, remove_app)
        .post_step_up("/account/two-factor/recovery-codes", Access::SignedIn, renew_codes)
}

/// The issuer authenticator apps show beside the account.
const ISSUER: &str = "Mandate";

#[derive(Template, WebTemplate)]
#[template(path = "auth/two_factor.html")]
struct Page {
    layout: Layout,
    factors: factors::Factors,
    /// The authenticator being set up: its QR code and typed secret.
    setup: Option<Setup>,
    /// Organisations whose rules require this account to keep a second factor.
    required_by: Vec<String>,
    passkeys: Vec<passkeys::Row>,
    errors: FieldErrors,
}

struct Setup {
    qr_svg: String,
    secret: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/recovery_codes.html")]
struct CodesPage {
    layout: Layout,
    codes: Vec<String>,
    first_time: bool,
}

/// The organisations whose rules require a second factor of this account
/// (in a role `policy::needs_second_factor` names).
pub(crate) async fn required_by(state: &AppState, who: &SignedIn) -> AppResult<Vec<String>> {
    let rows = sqlx::query!(
        r#"SELECT o.name, m.role AS "role: Role" FROM memberships m JOIN organisations o ON o.id = m.org_id
            WHERE m.user_id = $1 AND m.disabled_at IS NULL AND o.require_second_factor ORDER BY o.name"#,
        who.session.user_id.0
    )
    .fetch_all(&state.db)
    .await?;
    Ok(rows.into_iter().filter(|r| policy::needs_second_factor(r.role)).map(|r| r.name).collect())
}

async fn view(state: &AppState, who: &SignedIn, errors: FieldErrors) -> AppResult<Page> {
    let s = &who.session;
    let factors = factors::of_user(&state.db, s.user_id).await?;
    let setup = match factors::pending_totp(&state.db, s.user_id).await? {
        Some(secret) if !factors.any() => {
            Some(Setup { qr_svg: factors::qr_svg(&secret.uri(ISSUER, &s.email))?, secret: spaced(&secret.base32()) })
        }
        _ => None,
    };
    Ok(Page {
        layout: Layout::build(&state.db, &who.visitor, "Two-step sign-in").await?,
        factors,
        setup,
        required_by: required_by(state, who).await?,
        passkeys: passkeys::list(&state.db, s.user_id).await?,
        errors,
    })
}

/// A base32 secret in groups of four, as people type it.
fn spaced(secret: &str) -> String {
    secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

async fn page(State(state): State<AppState>, who: SignedIn) -> AppResult<Page> {
    view(&state, &who, FieldErrors::default()).await
}

fn actor(who: &SignedIn) -> Actor {
    Actor { org_id: None, user_id: Some(who.session.user_id), label: who.session.email.clone(), request_id: who.visitor.request_id.clone() }
}

fn event<'a>(who: &'a SignedIn, kind: Kind, detail: &str) -> Event<'a> {
    Event { org_id: None, user_id: Some(who.session.user_id), email: &who.session.email, client_addr: &who.visitor.client_addr, kind, detail: detail.to_string() }
}

async fn start_app(State(state): State<AppState>, who: SignedIn) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    if !factors::start_totp(&mut conn, who.session.user_id, state.clock.now()).await? {
        let flash = Flash::info("Your authenticator app is already set up. To use another, turn this one off first.");
        return Ok(see_other_with("/account/two-factor", vec![session::flash_cookie(&state, &flash)]));
    }
    Ok(see_other_with("/account/two-factor#setup", vec![]))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn confirm_app(State(state): State<AppState>, who: SignedIn, Form(form): Form<CodeForm>) -> AppResult<Response> {
    let s = &who.session;
    let now = state.clock.now();
    let attempt = Attempt { user_id: s.user_id, email: &s.email, client_addr: &who.visitor.client_addr, context: "setting up an authenticator app" };
    let step = match factors::check_setup_code(&state.db, &state.config.throttle, now, &attempt, &form.code).await? {
        Ok(step) => step,
        Err(check) => {
            let mut errors = FieldErrors::default();
            let status = match check {
                CodeCheck::Locked(until) => {
                    errors.add("code", codes_locked_message(until, now));
                    StatusCode::TOO_MANY_REQUESTS
                }
                _ => {
                    errors.add("code", "That code does not match. Type the six digits your app shows now for Mandate; if it keeps failing, check the phone's clock.");
                    StatusCode::UNPROCESSABLE_ENTITY
                }
            };
            return Ok((status, view(&state, &who, errors).await?).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    if !factors::confirm_totp(&mut tx, s.user_id, step, now).await? {
        drop(tx);
        let flash = Flash::info("Your authenticator app is already set up.");
        return Ok(see_other_with("/account/two-factor", vec![session::flash_cookie(&state, &flash)]));
    }
    let codes = factors::new_recovery_codes(&mut tx, s.user_id, now).await?;
    audit::record(&mut tx, &actor(&who), now, "user.second_factor_added", "user", s.user_id, json!({"factor": "authenticator app"})).await?;
    security_log::record(&mut *tx, now, event(&who, Kind::FactorEnrolled, "An authenticator app; ten recovery codes made.")).await?;
    tx.commit().await?;
    Ok(CodesPage { layout: Layout::build(&state.db, &who.visitor, "Your recovery codes").await?, codes, first_time: true }.into_response())
}

async fn renew_codes(State(state): State<AppState>, who: SignedIn) -> AppResult<Response> {
    let s = &who.session;
    let now = state.clock.now();
    if !factors::of_user(&state.db, s.user_id).await?.any() {
        let flash = Flash::info("Recovery codes come with an authenticator app: set one up first.");
        return Ok(see_other_with("/account/two-factor", vec![session::flash_cookie(&state, &flash)]));
    }
    let mut tx = state.db.begin().await?;
    let codes = factors::new_recovery_codes(&mut tx, s.user_id, now).await?;
    audit::record(&mut tx, &actor(&who), now, "user.recovery_codes_made", "user", s.user_id, json!({})).await?;
    security_log::record(&mut *tx, now, event(&who, Kind::RecoveryCodesMade, "Ten new codes; the earlier ones no longer work.")).await?;
    tx.commit().await?;
    Ok(CodesPage { layout: Layout::build(&state.db, &who.visitor, "Your recovery codes").await?, codes, first_time: false }.into_response())
}

async fn remove_app(State(state): State<AppState>, who: SignedIn) -> AppResult<Response> {
    let s = &who.session;
    let orgs = required_by(&state, &who).await?;
    if !orgs.is_empty() && factors::of_user(&state.db, s.user_id).await?.passkeys == 0 {
        let flash = Flash::error(format!(
            "{} requires a second factor of you, so the authenticator app stays on. To move to another phone, make new recovery codes, then set the app up there.",
            orgs.join(", ")
        ));
        return Ok(see_other_with("/account/two-factor", vec![session::flash_cookie(&state, &flash)]));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if factors::remove_totp(&mut tx, s.user_id).await? {
        audit::record(&mut tx, &actor(&who), now, "user.second_factor_removed", "user", s.user_id, json!({"factor": "authenticator app"})).await?;
        security_log::record(&mut *tx, now, event(&who, Kind::FactorRemoved, "The authenticator app, with its recovery codes.")).await?;
    }
    tx.commit().await?;
    let flash = Flash::success("Your authenticator app was turned off, with its recovery codes.");
    Ok(see_other_with("/account/two-factor", vec![session::flash_cookie(&state, &flash)]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_shown_in_groups_of_four() {
        assert_eq!(super::spaced("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
