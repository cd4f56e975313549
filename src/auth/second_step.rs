//! The second step of signing in, for accounts with a second factor: the
//! password was right, and a code from the authenticator app (or a
//! recovery code) is still to come. Until then there is no session; a
//! short-lived cookie names the pending sign-in, and the table holds only
//! its SHA-256.
use crate::auth::factors::{self, Attempt, CodeCheck, CodeKind};
use crate::auth::passkeys::{self, Purpose, Refused};
use crate::auth::policy::Access;
use crate::auth::session::{self, Flash, Visitor};
use crate::auth::{codes_locked_message, finish_sign_in, see_other_with};
use crate::error::AppResult;
use crate::ids::UserId;
use crate::state::AppState;
use crate::web::Layout;
use crate::web::routes::Routes;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sqlx::PgConnection;

pub const PENDING_COOKIE: &str = "mandate_pending";
/// How long the second step may take.
const PENDING_SECS: i64 = 300;

pub fn routes(r: Routes) -> Routes {
    r.get("/login/code", Access::Public, page).post("/login/code", Access::Public, submit)
}

/// Records a sign-in waiting for its second factor; returns its cookie.
pub async fn begin(conn: &mut PgConnection, state: &AppState, user_id: UserId, next: &str, now: DateTime<Utc>) -> anyhow::Result<HeaderValue> {
    let token = session::random_token();
    // One pending sign-in per account: a new one replaces any earlier.
    sqlx::query!("DELETE FROM sign_in_challenges WHERE user_id = $1 OR created_at < $2", user_id.0, now - Duration::seconds(PENDING_SECS))
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO sign_in_challenges (id_hash, user_id, next, created_at) VALUES ($1, $2, $3, $4)",
        session::hash_token(&token),
        user_id.0,
        next,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(session::set_cookie(state, PENDING_COOKIE, &token, Some(PENDING_SECS)))
}

struct Pending {
    id_hash: Vec<u8>,
    user_id: UserId,
    email: String,
    next: String,
}

async fn pending(state: &AppState, headers: &HeaderMap) -> AppResult<Option<Pending>> {
    let Some(token) = session::cookie(headers, &session::cookie_name(state, PENDING_COOKIE)) else { return Ok(None) };
    let id_hash = session::hash_token(token);
    let since = state.clock.now() - Duration::seconds(PENDING_SECS);
    let row = sqlx::query!(
        r#"SELECT c.user_id AS "user_id: UserId", u.email, c.next FROM sign_in_challenges c JOIN users u ON u.id = c.user_id
            WHERE c.id_hash = $1 AND c.created_at > $2"#,
        &id_hash,
        since
    )
    .fetch_optional(&state.db)
    .await?;
    Ok(row.map(|r| Pending { id_hash, user_id: r.user_id, email: r.email, next: r.next }))
}

/// The account whose sign-in is waiting for its second step, if any.
pub async fn pending_user(state: &AppState, headers: &HeaderMap) -> AppResult<Option<UserId>> {
    Ok(pending(state, headers).await?.map(|p| p.user_id))
}

fn start_again(state: &AppState) -> Response {
    let flash = Flash::info("Signing in took too long, or was finished in another tab. Sign in again.");
    see_other_with("/login", vec![session::flash_cookie(state, &flash), session::set_cookie(state, PENDING_COOKIE, "", Some(0))])
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/login_code.html")]
struct Page {
    layout: Layout,
    /// Which form the error belongs to.
    recovery: bool,
    error: Option<String>,
    has_app: bool,
    has_passkey: bool,
}

async fn page(State(state): State<AppState>, visitor: Visitor, headers: HeaderMap) -> AppResult<Response> {
    if visitor.session.is_some() {
        return Ok(see_other_with("/dashboard", vec![]));
    }
    let Some(p) = pending(&state, &headers).await? else { return Ok(start_again(&state)) };
    Ok(page_for(&state, &visitor, &p, false, None).await?.into_response())
}

async fn page_for(state: &AppState, visitor: &Visitor, p: &Pending, recovery: bool, error: Option<String>) -> AppResult<Page> {
    let f = factors::of_user(&state.db, p.user_id).await?;
    Ok(Page { layout: Layout::basic(visitor, "Two-step sign-in"), recovery, error, has_app: f.totp_since.is_some(), has_passkey: f.passkeys > 0 })
}

#[derive(Deserialize, Default)]
pub struct CodeForm {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    recovery_code: Option<String>,
    #[serde(default)]
    ceremony: Option<String>,
    #[serde(default)]
    credential: Option<String>,
}

async fn submit(State(state): State<AppState>, visitor: Visitor, headers: HeaderMap, Form(form): Form<CodeForm>) -> AppResult<Response> {
    let Some(p) = pending(&state, &headers).await? else { return Ok(start_again(&state)) };
    if let (Some(ceremony), Some(credential)) = (&form.ceremony, &form.credential) {
        let mut tx = state.db.begin().await?;
        let name = match passkeys::finish_for_user(&state, &mut tx, p.user_id, Purpose::SecondStep, ceremony, credential).await? {
            Ok(name) => name,
            Err(Refused(why)) => {
                tx.commit().await?;
                return Ok((StatusCode::UNAUTHORIZED, page_for(&state, &visitor, &p, false, Some(why)).await?).into_response());
            }
        };
        return finish(&state, &visitor, tx, &p, &format!("with a password and the passkey {name:?}")).await;
    }
    let (kind, typed) = match (form.recovery_code, form.code) {
        (Some(r), _) => (CodeKind::Recovery, r),
        (None, c) => (CodeKind::App, c.unwrap_or_default()),
    };
    let recovery = kind == CodeKind::Recovery;
    let now = state.clock.now();
    let attempt = Attempt { user_id: p.user_id, email: &p.email, client_addr: &visitor.client_addr, context: "signing in" };
    let refusal = match factors::check_code(&state.db, &state.config.throttle, now, &attempt, kind, &typed).await? {
        CodeCheck::Right => None,
        CodeCheck::Locked(until) => Some((StatusCode::TOO_MANY_REQUESTS, codes_locked_message(until, now))),
        CodeCheck::Wrong if recovery => Some((StatusCode::UNAUTHORIZED, "That is not one of your unused recovery codes.".to_string())),
        CodeCheck::Wrong => Some((StatusCode::UNAUTHORIZED, "That code is not right, or was used already. Type the six digits your app shows now.".to_string())),
    };
    if let Some((status, message)) = refusal {
        return Ok((status, page_for(&state, &visitor, &p, recovery, Some(message)).await?).into_response());
    }
    let tx = state.db.begin().await?;
    let how = if recovery { "with a password and a recovery code" } else { "with a password and an authenticator app code" };
    let mut res = finish(&state, &visitor, tx, &p, how).await?;
    if recovery {
        let left = factors::of_user(&state.db, p.user_id).await?.recovery_left;
        let flash = Flash::info(format!("You signed in with a recovery code; {left} left. If your phone is lost, make new codes and set the app up again on the account page."));
        res.headers_mut().append(header::SET_COOKIE, session::flash_cookie(&state, &flash));
    }
    Ok(res)
}

/// Ends the pending sign-in and starts the session, in `tx`.
async fn finish(state: &AppState, visitor: &Visitor, mut tx: sqlx::Transaction<'_, sqlx::Postgres>, p: &Pending, how: &str) -> AppResult<Response> {
    let gone = sqlx::query!("DELETE FROM sign_in_challenges WHERE id_hash = $1", &p.id_hash).execute(&mut *tx).await?;
    if gone.rows_affected() == 0 {
        return Ok(start_again(state));
    }
    let who = crate::auth::SignIn { user_id: p.user_id, email: &p.email, next: &p.next, how, org: None };
    let mut res = finish_sign_in(&mut tx, state, visitor, who).await?;
    tx.commit().await?;
    res.headers_mut().append(header::SET_COOKIE, session::set_cookie(state, PENDING_COOKIE, "", Some(0)));
    Ok(res)
}
