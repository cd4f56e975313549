//! Step-up: signing, appointing, approving, accepting a risk, changing the
//! top-management roster and managing members need a proof of identity
//! from the last few minutes (the organisation's setting, 10 by default).
//! Signing in is such a proof; so is a code from the authenticator app, or,
//! for an account without a second factor, the password typed again.
//!
//! Routes added with `Routes::post_step_up` pass through [`require`]. When
//! the session's proof is older, the answer is a page asking for the code
//! (or password) that carries every field of the form as sent, so nothing
//! typed is lost: confirming sends the same form again with the proof, this
//! layer checks it, and the handler runs as if nothing had been asked.
//! Those routes take URL-encoded forms (no uploads).
use crate::auth::factors::{self, Attempt, CodeCheck, CodeKind};
use crate::auth::passkeys;
use crate::auth::session::{self, Session, Visitor};
use crate::auth::throttle::{self, PasswordCheck, codes_locked_message, locked_message};
use crate::error::{AppError, AppResult};
use crate::security_log::model::{self as security_log, Event, Kind};
use crate::state::AppState;
use crate::web::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};

/// The field that carries a code from the authenticator app.
pub const CODE_FIELD: &str = "_step_up_code";
/// The field that carries the password, for accounts without a second factor.
pub const PASSWORD_FIELD: &str = "_step_up_password";
/// The fields that carry a passkey's answer and the ceremony it answers.
pub const PASSKEY_FIELD: &str = "_step_up_passkey";
pub const CEREMONY_FIELD: &str = "_step_up_ceremony";
/// Minutes a proof lasts for a session without an organisation selected.
const DEFAULT_MINUTES: i64 = 10;
const FORM_LIMIT: usize = 1024 * 1024;

/// The proof is recent enough for `session`: within its organisation's
/// step-up minutes of `now`.
pub fn is_recent(session: &Session, now: DateTime<Utc>) -> bool {
    let minutes = session.current.as_ref().map_or(DEFAULT_MINUTES, |c| i64::from(c.step_up_minutes));
    now - session.proved_at <= Duration::minutes(minutes)
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/step_up.html")]
struct Page {
    layout: Layout,
    /// Where the form goes again: the request's own path and query.
    action: String,
    /// The form's fields as sent (the form token among them).
    fields: Vec<(String, String)>,
    has_app: bool,
    has_passkey: bool,
    has_second_factor: bool,
    error: Option<String>,
}

/// What was typed (or given by a passkey) to prove who this is.
struct Proof {
    code: Option<String>,
    password: Option<String>,
    ceremony: Option<String>,
    passkey: Option<String>,
}

/// The one step-up route whose handler checks a `password` field itself:
/// signing a policy version (`/policies/versions/{id}/sign`).
fn checks_its_own_password(action: &str) -> bool {
    let path = action.split('?').next().unwrap_or(action);
    matches!(path.strip_prefix("/policies/versions/").and_then(|rest| rest.strip_suffix("/sign")), Some(id) if !id.is_empty() && !id.contains('/'))
}

/// The middleware; runs after the route's access check.
pub async fn require(req: Request, next: Next) -> Response {
    match check(req, next).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn check(req: Request, next: Next) -> AppResult<Response> {
    let state = req.extensions().get::<AppState>().cloned().ok_or_else(|| AppError::Internal(anyhow::anyhow!("session middleware missing")))?;
    let visitor = req.extensions().get::<Visitor>().cloned().ok_or_else(|| AppError::Internal(anyhow::anyhow!("session middleware missing")))?;
    let Some(session) = visitor.session.clone() else { return Ok(next.run(req).await) };
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| AppError::BadRequest("The form is too large.".into()))?;
    let mut fields: Vec<(String, String)> = url::form_urlencoded::parse(&bytes).into_owned().collect();
    let mut take = |name: &str| {
        let at = fields.iter().position(|(k, _)| k == name)?;
        Some(fields.remove(at).1)
    };
    let proof = Proof { code: take(CODE_FIELD), password: take(PASSWORD_FIELD), ceremony: take(CEREMONY_FIELD), passkey: take(PASSKEY_FIELD) };
    let action = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    match decide(&state, &visitor, &session, &fields, &action, proof).await? {
        None => {
            let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields.iter()).finish();
            Ok(next.run(Request::from_parts(parts, Body::from(body))).await)
        }
        Some((status, error)) => {
            let page = Page {
                layout: Layout::build(&state.db, &visitor, "Confirm it is you").await?,
                action,
                fields,
                has_app: session.has_app,
                has_passkey: session.has_passkey,
                has_second_factor: session.has_second_factor,
                error,
            };
            Ok((status, page).into_response())
        }
    }
}

/// `None` to let the form through (the proof is recent, or was just given);
/// otherwise the status and message of the page that asks for it.
async fn decide(
    state: &AppState,
    visitor: &Visitor,
    session: &Session,
    fields: &[(String, String)],
    action: &str,
    proof: Proof,
) -> AppResult<Option<(StatusCode, Option<String>)>> {
    let now = state.clock.now();
    if is_recent(session, now) {
        return Ok(None);
    }
    // Signing a policy asks for the password itself (and checks it, throttled):
    // for an account without a second factor that is the proof. Only there:
    // any other route would ignore a `password` field.
    if !session.has_second_factor && checks_its_own_password(action) && fields.iter().any(|(k, v)| k == "password" && !v.is_empty()) {
        return Ok(None);
    }
    // A passkey's signature carried by the form (signing a policy) is a fresh proof itself.
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    if let (true, Some(ceremony), Some(credential)) = (session.has_passkey, field("passkey_ceremony"), field("passkey_credential"))
        && passkeys::signature_proves(state, session.user_id, ceremony, credential, action).await?
    {
        return proved(state, visitor, session, action, "the passkey signature it carries").await;
    }
    let verdict = match (proof.ceremony, proof.passkey, proof.code, proof.password) {
        (Some(ceremony), Some(credential), _, _) if session.has_passkey => {
            let mut conn = state.db.acquire().await?;
            match passkeys::finish_for_user(state, &mut conn, session.user_id, passkeys::Purpose::StepUp, &ceremony, &credential).await? {
                Ok(name) => Ok(format!("the passkey {name:?}")),
                Err(passkeys::Refused(why)) => Err((StatusCode::UNPROCESSABLE_ENTITY, why)),
            }
        }
        (_, _, Some(code), _) if session.has_app => {
            let attempt = Attempt { user_id: session.user_id, email: &session.email, client_addr: &visitor.client_addr, context: "confirming before a sensitive change" };
            match factors::check_code(&state.db, &state.config.throttle, now, &attempt, CodeKind::App, &code).await? {
                CodeCheck::Right => Ok("an authenticator app code".to_string()),
                CodeCheck::Wrong => Err((StatusCode::UNPROCESSABLE_ENTITY, "That code is not right, or was used already. Type the six digits your app shows now.".to_string())),
                CodeCheck::Locked(until) => Err((StatusCode::TOO_MANY_REQUESTS, codes_locked_message(until, now))),
            }
        }
        (_, _, _, Some(typed)) if !session.has_second_factor => {
            let stored = sqlx::query_scalar!("SELECT password_hash FROM users WHERE id = $1", session.user_id.0).fetch_one(&state.db).await?;
            let cfg = &state.config.throttle;
            match throttle::check_password(&state.db, cfg, now, &session.email, &visitor.client_addr, typed, Some(stored), "confirming before a sensitive change").await? {
                PasswordCheck::Right => Ok("the password".to_string()),
                PasswordCheck::Wrong => Err((StatusCode::UNPROCESSABLE_ENTITY, "That is not your password.".to_string())),
                PasswordCheck::Locked(until) => Err((StatusCode::TOO_MANY_REQUESTS, locked_message(until, now))),
            }
        }
        // Nothing typed yet: ask. 401: the request needs more authentication.
        _ => return Ok(Some((StatusCode::UNAUTHORIZED, None))),
    };
    match verdict {
        Ok(how) => proved(state, visitor, session, action, &how).await,
        Err((status, message)) => Ok(Some((status, Some(message)))),
    }
}

/// Records the fresh proof (`how`) and lets the form through.
async fn proved(state: &AppState, visitor: &Visitor, session: &Session, action: &str, how: &str) -> AppResult<Option<(StatusCode, Option<String>)>> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    session::mark_proved(&mut tx, session, now).await?;
    let detail = format!("With {how}, before {}.", action.split('?').next().unwrap_or(action));
    let event = Event { org_id: None, user_id: Some(session.user_id), email: &session.email, client_addr: &visitor.client_addr, kind: Kind::IdentityConfirmed, detail };
    security_log::record(&mut *tx, now, event).await?;
    tx.commit().await?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(proved_minutes_ago: i64, step_up_minutes: Option<i32>) -> Session {
        let now = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z").unwrap().with_timezone(&Utc);
        Session {
            id_hash: vec![],
            user_id: crate::ids::UserId(uuid::Uuid::nil()),
            email: String::new(),
            name: String::new(),
            csrf_token: String::new(),
            current: step_up_minutes.map(|m| session::CurrentOrg {
                org_id: crate::ids::OrgId(uuid::Uuid::nil()),
                org_name: String::new(),
                membership_id: crate::ids::MembershipId(uuid::Uuid::nil()),
                role: crate::auth::policy::Role::Executive,
                require_second_factor: false,
                step_up_minutes: m,
                sso_unlinked: false,
            }),
            today: now.date_naive(),
            proved_at: now - Duration::minutes(proved_minutes_ago),
            has_second_factor: true,
            has_app: true,
            has_passkey: false,
        }
    }

    #[test]
    fn only_policy_signing_checks_its_own_password() {
        assert!(checks_its_own_password("/policies/versions/0b7e/sign"));
        assert!(!checks_its_own_password("/members/0b7e/role"));
        assert!(!checks_its_own_password("/policies/versions/0b7e/sign/extra"));
        assert!(!checks_its_own_password("/policies/versions//sign"));
        assert!(!checks_its_own_password("/settings/sso"));
    }

    #[test]
    fn a_proof_lasts_the_organisations_minutes() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z").unwrap().with_timezone(&Utc);
        assert!(is_recent(&session(10, Some(10)), now), "exactly the setting still counts");
        assert!(!is_recent(&session(11, Some(10)), now));
        assert!(is_recent(&session(30, Some(60)), now));
        assert!(!is_recent(&session(2, Some(1)), now));
        assert!(!is_recent(&session(11, None), now), "without an organisation, ten minutes");
    }
}
