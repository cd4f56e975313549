//! A member's own e-mail settings, the one-click stop, and the outbox that
//! owners read (what was sent, or held when no mail server is configured).
use super::model::{self, Digest};
use crate::auth::policy;
use crate::auth::session::{Flash, Member, Visitor};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::web::{Layout, Segment, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access, Access::Can, Action::*};
    r.get("/settings/notifications", Access::Member, settings_page)
        .post("/settings/notifications", Access::Member, save)
        .get("/unsubscribe/{token}", Access::Public, unsubscribe_page)
        .post("/unsubscribe/{token}", Access::Public, unsubscribe)
        .post("/unsubscribe/{token}/one-click", Access::Public, unsubscribe_one_click)
        .get("/outbox", Can(ReadOutbox), outbox_page)
}

#[derive(Template, WebTemplate)]
#[template(path = "notify/settings.html")]
struct SettingsPage {
    layout: Layout,
    settings: Option<model::Settings>,
    digests: Vec<Digest>,
    mail_configured: bool,
}

async fn settings_page(State(state): State<AppState>, me: Member) -> AppResult<SettingsPage> {
    // Auditors change nothing and get no e-mail.
    let settings = if policy::may_act_as_person(me.role, true) { Some(model::settings(&state.db, me.org_id, me.user_id, me.role).await?) } else { None };
    Ok(SettingsPage {
        layout: Layout::build(&state.db, &me.visitor, "E-mail from Mandate").await?,
        settings,
        digests: Digest::ALL.to_vec(),
        mail_configured: state.mailer.is_some(),
    })
}

#[derive(Deserialize, Default)]
pub struct SettingsForm {
    #[serde(default)]
    digest: String,
    reminders: Option<String>,
}

async fn save(State(state): State<AppState>, me: Member, Form(form): Form<SettingsForm>) -> AppResult<Response> {
    if !policy::may_act_as_person(me.role, true) {
        return Err(AppError::Forbidden);
    }
    let digest: Digest = form.digest.parse().map_err(|_| AppError::BadRequest("Choose how often you want the digest.".into()))?;
    let mut tx = state.db.begin().await?;
    model::save_settings(&mut tx, &me.actor(), state.clock.now(), me.org_id, me.user_id, digest, form.reminders.is_some()).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/settings/notifications", Flash::success("Saved. Mandate will write to you as you chose.")))
}

#[derive(Template, WebTemplate)]
#[template(path = "notify/unsubscribe.html")]
struct UnsubscribePage {
    layout: Layout,
    token: String,
    org: Option<String>,
    email: String,
    done: bool,
}

async fn unsubscribe_page(State(state): State<AppState>, visitor: Visitor, Segment(token): Segment) -> AppResult<Response> {
    let found = model::by_token(&state.db, &token).await?;
    let status = if found.is_some() { StatusCode::OK } else { StatusCode::NOT_FOUND };
    let (org, email) = found.map(|(_, _, o, e)| (Some(o), e)).unwrap_or((None, String::new()));
    Ok((status, UnsubscribePage { layout: Layout::basic(&visitor, "Stop e-mails from Mandate"), token, org, email, done: false }).into_response())
}

async fn unsubscribe(State(state): State<AppState>, visitor: Visitor, Segment(token): Segment) -> AppResult<Response> {
    let org = model::unsubscribe(&state.db, &token, state.clock.now()).await?;
    let status = if org.is_some() { StatusCode::OK } else { StatusCode::NOT_FOUND };
    Ok((status, UnsubscribePage { layout: Layout::basic(&visitor, "Stop e-mails from Mandate"), token, org, email: String::new(), done: true }).into_response())
}

/// RFC 8058: the mail client posts here itself, from no page of ours (so no
/// form token; the link's own secret is the proof, and it only stops mail).
async fn unsubscribe_one_click(State(state): State<AppState>, Segment(token): Segment) -> AppResult<Response> {
    match model::unsubscribe(&state.db, &token, state.clock.now()).await? {
        Some(_) => Ok((StatusCode::OK, "Unsubscribed.").into_response()),
        None => Err(AppError::NotFound),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "notify/outbox.html")]
struct OutboxPage {
    layout: Layout,
    messages: Vec<model::Message>,
    mail_configured: bool,
}

/// The latest messages this many.
const OUTBOX_SHOWN: i64 = 100;

async fn outbox_page(State(state): State<AppState>, me: Member) -> AppResult<OutboxPage> {
    Ok(OutboxPage {
        layout: Layout::build(&state.db, &me.visitor, "Outbox").await?,
        messages: model::latest(&state.db, me.org_id, OUTBOX_SHOWN).await?,
        mail_configured: state.mailer.is_some(),
    })
}
