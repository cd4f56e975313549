//! Your account → API tokens: members make and revoke their own tokens;
//! owners also make integration tokens (an HR or training system acting as
//! the owner) and see and revoke every integration token. A token is shown
//! once, when made; making one asks for a fresh proof of identity.
use super::tokens::{self, Holder, Listed, NewToken};
use crate::auth::policy::{self, Access, Action, Scope};
use crate::auth::session::{Flash, Member};
use crate::error::AppResult;
use crate::ids::ApiTokenId;
use crate::security_log::model::{self as security_log, Event, Kind};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::web::{FieldErrors, Id, Layout, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

pub fn routes(r: Routes) -> Routes {
    r.get("/account/tokens", Access::Member, page)
        .post_step_up("/account/tokens", Access::Member, create)
        .post("/account/tokens/{id}/revoke", Access::Member, revoke)
}

/// The token form as typed (scopes repeat, so the body is read by hand).
#[derive(Debug, Clone, Default)]
struct TokenForm {
    name: String,
    scopes: Vec<String>,
    days: String,
    integration: bool,
}

impl TokenForm {
    fn read(body: &[u8]) -> Self {
        let mut f = TokenForm { days: "90".into(), ..Default::default() };
        for (k, v) in url::form_urlencoded::parse(body) {
            match k.as_ref() {
                "name" => f.name = v.into_owned(),
                "scopes" => f.scopes.push(v.into_owned()),
                "days" => f.days = v.into_owned(),
                "integration" => f.integration = true,
                _ => {}
            }
        }
        f
    }

    fn parse(&self, me: &Member) -> Result<NewToken, FieldErrors> {
        let mut errors = FieldErrors::default();
        let scopes: Vec<Scope> = self.scopes.iter().filter_map(|s| s.parse().ok()).collect();
        let days = self.days.trim().parse::<i64>().unwrap_or(0);
        let t = NewToken { name: self.name.trim().to_string(), scopes, days, integration: self.integration };
        if let Err((field, message)) = t.check(me.role) {
            errors.add(field, message);
        }
        if t.integration && !me.can(Action::ManageIntegrations) {
            errors.add("integration", "Only owners make integration tokens.");
        }
        if errors.is_empty() { Ok(t) } else { Err(errors) }
    }
}

struct ScopeChoice {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "api/tokens.html")]
struct Page {
    layout: Layout,
    own: Vec<Listed>,
    integrations: Vec<Listed>,
    is_owner: bool,
    form: TokenForm,
    scopes: Vec<ScopeChoice>,
    errors: FieldErrors,
    /// The secret just made: shown this once.
    made: Option<(String, String)>,
    now: DateTime<Utc>,
    base: String,
}

async fn view(state: &AppState, me: &Member, form: Option<TokenForm>, errors: FieldErrors, made: Option<(String, String)>) -> AppResult<Response> {
    let is_owner = me.can(Action::ManageIntegrations);
    let all = tokens::listed(&state.db, me.org_id, me.membership_id, is_owner).await?;
    let (integrations, own): (Vec<Listed>, Vec<Listed>) = all.into_iter().partition(|t| t.integration);
    let form = form.unwrap_or_else(|| TokenForm { days: "90".into(), scopes: vec!["read".into()], ..Default::default() });
    let scopes = policy::scopes_for(me.role)
        .into_iter()
        .map(|s| ScopeChoice { value: s.as_str(), label: s.label(), checked: form.scopes.iter().any(|c| c == s.as_str()) })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = Page {
        layout: Layout::build(&state.db, &me.visitor, "API tokens").await?,
        own,
        integrations,
        is_owner,
        form,
        scopes,
        errors,
        made,
        now: state.clock.now(),
        base: state.config.link(""),
    };
    Ok((status, page).into_response())
}

async fn page(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    view(&state, &me, None, FieldErrors::default(), None).await
}

fn holder(me: &Member) -> Holder {
    Holder { org_id: me.org_id, membership_id: me.membership_id, user_id: me.user_id }
}

async fn create(State(state): State<AppState>, me: Member, RawForm(body): RawForm) -> AppResult<Response> {
    let form = TokenForm::read(&body);
    let t = match form.parse(&me) {
        Ok(t) => t,
        Err(errors) => return view(&state, &me, Some(form), errors, None).await,
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (_, secret) = tokens::create(&mut tx, &me.actor(), now, holder(&me), &t).await?;
    let scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
    let kind = if t.integration { "integration token" } else { "token" };
    let detail = format!("{kind} \u{201c}{}\u{201d} with {} for {} days", t.name, scopes.join(", "), t.days);
    security_log::record(&mut *tx, now, Event::by(&me, Kind::TokenCreated, detail)).await?;
    tx.commit().await?;
    view(&state, &me, None, FieldErrors::default(), Some((t.name, secret))).await
}

async fn revoke(State(state): State<AppState>, me: Member, Id(id): Id<ApiTokenId>) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (name, was_active) = tokens::revoke(&mut tx, &me.actor(), now, holder(&me), id, me.can(Action::ManageIntegrations)).await?;
    if was_active {
        security_log::record(&mut *tx, now, Event::by(&me, Kind::TokenRevoked, format!("\u{201c}{name}\u{201d}"))).await?;
    }
    tx.commit().await?;
    let message = if was_active { format!("The token \u{201c}{name}\u{201d} was revoked. Requests with it now answer 401.") } else { format!("The token \u{201c}{name}\u{201d} was already revoked.") };
    Ok(redirect_with(&state, "/account/tokens", Flash::success(message)))
}
