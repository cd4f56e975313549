//! Organisations and their members: choosing and creating organisations,
//! the member list, invitations, role changes and disabling.
use super::{logo, model, settings, sign_in_rules, window};
use crate::ids::{InvitationId, MembershipId, OrgId, UserId};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::security_log::model::{self as security_log, Event, Kind};
use crate::audit::Actor;
use crate::auth::policy::{self, Action, Role};
use crate::auth::session::{self, Flash, Member, SignedIn, Visitor};
use crate::auth::{password, throttle};
use crate::error::{AppError, AppResult};
use crate::web::form::{parse_email, parse_text};
use crate::web::{FieldErrors, Id, Layout, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use model::{ClosedMembership, Invitation, InvitationState, InvitationRow, MemberRow};
use window::{AccessWindow, WindowState};
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access, Access::Can, Action::*};
    r.get("/orgs", Access::SignedIn, orgs_page)
        .post("/orgs", Access::SignedIn, create_org)
        .post("/orgs/switch", Access::SignedIn, switch_org)
        .get("/members", Can(ViewMembers), members_page)
        .get("/members.csv", Can(ViewMembers), members_csv)
        .post_step_up("/members/invite", Can(InviteMember), invite)
        .post_step_up("/members/{id}/role", Can(ChangeMemberRole), change_role)
        .post_step_up("/members/{id}/window", Can(SetAccessWindow), set_window)
        .post_step_up("/members/{id}/disable", Can(DisableMember), disable_member)
        .post_step_up("/members/{id}/enable", Can(DisableMember), enable_member)
        .post_step_up("/invitations/{id}/revoke", Can(RevokeInvitation), revoke_invitation)
        .get("/settings", Can(ViewHome), settings_page)
        .post("/settings/grading", Can(ChangeSettings), save_grading)
        .post_step_up("/settings/sign-in", Can(SetSignInRules), save_sign_in_rules)
        .get("/settings/logo", Can(ViewHome), logo_image)
        .post_upload("/settings/logo", Can(ChangeSettings), upload_logo, Some(logo::MAX_BYTES + 64 * 1024))
        .post("/settings/logo/remove", Can(ChangeSettings), remove_logo)
        .get("/invite/{token}", Access::Public, invitation_page)
        .post("/invite/{token}", Access::Public, accept_invitation)
}

fn actor_for(who: &SignedIn, org_id: Option<OrgId>) -> Actor {
    Actor {
        org_id,
        user_id: Some(who.session.user_id),
        label: who.session.email.clone(),
        request_id: who.visitor.request_id.clone(),
    }
}

// ---------- choosing and creating organisations ----------

#[derive(Template, WebTemplate)]
#[template(path = "orgs/choose.html")]
struct OrgsPage {
    layout: Layout,
    closed: Vec<ClosedMembership>,
    today: chrono::NaiveDate,
    name: String,
    errors: FieldErrors,
}

impl MembersPage {
    /// The row is the viewer's own membership.
    fn is_me(&self, m: &MemberRow) -> bool {
        m.user_id == self.me.user_id
    }
    /// An auditor's window and where today falls in it, in words.
    fn window_note(&self, w: &AccessWindow) -> String {
        match w.state(self.today) {
            WindowState::NotYet(_) => format!("{} (not yet open)", w.describe()),
            WindowState::Ended(_) => format!("{} (ended)", w.describe()),
            WindowState::Open => w.describe(),
        }
    }
    fn day(d: &Option<chrono::NaiveDate>) -> String {
        d.map(|d| d.to_string()).unwrap_or_default()
    }
}

impl OrgsPage {
    /// Why an auditor's organisation is closed today, in words.
    fn closed_because(&self, c: &ClosedMembership) -> String {
        match c.window().state(self.today) {
            WindowState::NotYet(d) => format!("your auditor access opens on {}", d.format("%-d %b %Y")),
            WindowState::Ended(d) => format!("your auditor access ended on {}", d.format("%-d %b %Y")),
            WindowState::Open => "your access is open".into(),
        }
    }
}

async fn orgs_view(state: &AppState, who: &SignedIn, name: String, errors: FieldErrors) -> AppResult<OrgsPage> {
    Ok(OrgsPage {
        layout: Layout::build(&state.db, &who.visitor, "Your organisations").await?,
        closed: model::closed_memberships(&state.db, who.session.user_id, who.session.today).await?,
        today: who.session.today,
        name,
        errors,
    })
}

async fn orgs_page(State(state): State<AppState>, who: SignedIn) -> AppResult<OrgsPage> {
    orgs_view(&state, &who, String::new(), FieldErrors::default()).await
}

#[derive(Deserialize)]
struct NewOrgForm {
    #[serde(default)]
    name: String,
}

async fn create_org(State(state): State<AppState>, who: SignedIn, Form(form): Form<NewOrgForm>) -> AppResult<Response> {
    let name = match parse_text(&form.name, "the organisation's name", 120) {
        Ok(n) => n,
        Err(e) => {
            let mut errors = FieldErrors::default();
            errors.add("name", e);
            let page = orgs_view(&state, &who, form.name, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let org_id = OrgId::new();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    model::create_organisation(&mut tx, &actor_for(&who, Some(org_id)), now, org_id, &name, who.session.user_id).await?;
    sqlx::query!("UPDATE sessions SET current_org_id = $2 WHERE id_hash = $1", &who.session.id_hash, org_id.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/dashboard", Flash::success(format!("{name} was created and you are its owner."))))
}

#[derive(Deserialize)]
struct SwitchForm {
    org_id: String,
}

async fn switch_org(State(state): State<AppState>, who: SignedIn, Form(form): Form<SwitchForm>) -> AppResult<Response> {
    let org_id: OrgId = form.org_id.parse().map_err(|_| AppError::NotFound)?;
    if !model::is_active_member(&state.db, org_id, who.session.user_id, who.session.today).await? {
        return Err(AppError::NotFound);
    }
    sqlx::query!("UPDATE sessions SET current_org_id = $2 WHERE id_hash = $1", &who.session.id_hash, org_id.0)
        .execute(&state.db)
        .await?;
    Ok(Redirect::to("/dashboard").into_response())
}

// ---------- members ----------

pub struct RoleOption {
    pub value: &'static str,
    pub label: &'static str,
    pub description: &'static str,
}

fn grantable(actor: Role) -> Vec<RoleOption> {
    Role::ALL
        .into_iter()
        .filter(|r| policy::may_grant(actor, *r))
        .map(|r| RoleOption { value: r.as_str(), label: r.label(), description: r.description() })
        .collect()
}

#[derive(Deserialize, Default)]
struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    access_from: String,
    #[serde(default)]
    access_until: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "orgs/members.html")]
struct MembersPage {
    layout: Layout,
    me: Member,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    can_invite: bool,
    can_manage: bool,
    can_set_window: bool,
    today: chrono::NaiveDate,
    role_options: Vec<RoleOption>,
    all_roles: Vec<RoleOption>,
    invite: InviteForm,
    errors: FieldErrors,
}

async fn members_view(state: &AppState, me: Member, invite: InviteForm, errors: FieldErrors) -> AppResult<MembersPage> {
    let can_invite = me.can(Action::InviteMember);
    Ok(MembersPage {
        layout: Layout::build(&state.db, &me.visitor, "Members").await?,
        members: model::list_members(&state.db, me.org_id).await?,
        invitations: if can_invite { model::pending_invitations(&state.db, me.org_id, state.clock.now()).await? } else { Vec::new() },
        can_invite,
        can_manage: me.can(Action::ChangeMemberRole),
        can_set_window: me.can(Action::SetAccessWindow),
        today: state.clock.now().date_naive(),
        role_options: grantable(me.role),
        all_roles: grantable(Role::Owner),
        invite,
        errors,
        me,
    })
}

/// What a link may fill in beforehand: the role to invite (a task "invite a
/// member of top management" links with `role=executive`).
#[derive(Deserialize, Default)]
struct InvitePrefill {
    role: Option<String>,
}

async fn members_page(State(state): State<AppState>, me: Member, axum::extract::Query(pre): axum::extract::Query<InvitePrefill>) -> AppResult<MembersPage> {
    let invite = InviteForm { role: pre.role.unwrap_or_default(), ..InviteForm::default() };
    members_view(&state, me, invite, FieldErrors::default()).await
}

async fn members_csv(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let members = model::list_members(&state.db, me.org_id).await?;
    let mut out = crate::web::csv::row(&["name", "email", "role", "status", "member_since", "access_from", "access_until"]);
    for m in &members {
        let status = match m.disabled_at {
            Some(d) => format!("disabled {}", d.format("%Y-%m-%d")),
            None => "active".into(),
        };
        out.push_str(&crate::web::csv::row(&[
            m.name.clone(),
            m.email.clone(),
            m.role.clone(),
            status,
            m.created_at.format("%Y-%m-%d").to_string(),
            m.access_from.map(|d| d.to_string()).unwrap_or_default(),
            m.access_until.map(|d| d.to_string()).unwrap_or_default(),
        ]));
    }
    Ok(crate::web::csv::attachment("members.csv", out))
}

async fn invite(State(state): State<AppState>, me: Member, Form(form): Form<InviteForm>) -> AppResult<Response> {
    let mut errors = FieldErrors::default();
    let email = parse_email(&form.email).map_err(|e| errors.add("email", e)).ok();
    let role = match form.role.parse::<Role>() {
        Ok(r) if policy::may_grant(me.role, r) => Some(r),
        Ok(_) => {
            errors.add("role", "Your role cannot grant this role.");
            None
        }
        Err(_) => {
            errors.add("role", "Choose a role.");
            None
        }
    };
    let now = state.clock.now();
    let window = match role.map(|r| AccessWindow::parse(&form.access_from, &form.access_until, r, now.date_naive())) {
        Some(Ok(w)) => Some(w),
        Some(Err((field, msg))) => {
            errors.add(field, msg);
            None
        }
        None => None,
    };
    let (Some(email), Some(role), Some(window)) = (email, role, window) else {
        let page = members_view(&state, me, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let mut tx = state.db.begin().await?;
    let created = model::create_invitation(&mut tx, &me.actor(), now, state.config.invitation_ttl, me.org_id, model::Invitee { email: &email, role, window }).await;
    let (_, token) = match created {
        Ok(v) => v,
        Err(AppError::Conflict(msg)) => {
            drop(tx);
            errors.add("email", msg);
            let page = members_view(&state, me, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(e) => return Err(e),
    };
    security_log::record(&mut *tx, now, Event::by(&me, Kind::InvitationSent, format!("{email} as {}", role.label()))).await?;
    tx.commit().await?;
    let link = state.config.link(&format!("/invite/{token}"));
    let days = state.config.invitation_ttl.num_days();
    let flash = match &state.mailer {
        Some(mailer) => match mailer.send_invitation(&email, &me.name, &me.org_name, role, &link, days).await {
            Ok(()) => Flash::success(format!("An invitation was e-mailed to {email}. It works once and expires in {days} days.")),
            Err(e) => {
                tracing::warn!(request_id = %me.visitor.request_id, "invitation e-mail failed: {e:#}");
                Flash::info(format!("The e-mail to {email} could not be sent. Give them this link yourself (it works once and expires in {days} days): {link}"))
            }
        },
        None => Flash::success(format!(
            "Invitation created for {email} as {}. Send them this link (it works once, expires in {days} days, and is shown only now): {link}",
            role.label()
        )),
    };
    Ok(redirect_with(&state, "/members", flash))
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

async fn change_role(State(state): State<AppState>, me: Member, Id(id): Id<MembershipId>, Form(form): Form<RoleForm>) -> AppResult<Response> {
    let role: Role = form.role.parse().map_err(|_| AppError::BadRequest("Choose one of the listed roles.".into()))?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let m = model::change_role(&mut tx, &me.actor(), now, me.org_id, id, role).await?;
    security_log::record(&mut *tx, now, Event::by(&me, Kind::RoleChanged, format!("{} is now {}", m.name, role.label()))).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/members", Flash::success(format!("{} is now {}.", m.name, role.label()))))
}

#[derive(Deserialize)]
struct WindowForm {
    #[serde(default)]
    access_from: String,
    #[serde(default)]
    access_until: String,
}

async fn set_window(State(state): State<AppState>, me: Member, Id(id): Id<MembershipId>, Form(form): Form<WindowForm>) -> AppResult<Response> {
    let now = state.clock.now();
    let window = AccessWindow::parse(&form.access_from, &form.access_until, Role::Auditor, now.date_naive()).map_err(|(_, msg)| AppError::BadRequest(msg))?;
    let mut tx = state.db.begin().await?;
    let m = model::set_access_window(&mut tx, &me.actor(), now, me.org_id, id, window).await?;
    let detail = if window.is_set() { format!("{}: {}", m.name, window.describe()) } else { format!("{}: no time limit", m.name) };
    security_log::record(&mut *tx, now, Event::by(&me, Kind::AccessWindowChanged, detail)).await?;
    tx.commit().await?;
    let msg = if window.is_set() {
        format!("{} has access to {} {}.", m.name, me.org_name, window.describe())
    } else {
        format!("{} has access to {} with no time limit.", m.name, me.org_name)
    };
    Ok(redirect_with(&state, "/members", Flash::success(msg)))
}

async fn set_disabled(state: AppState, me: Member, id: MembershipId, disable: bool) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let m = model::set_disabled(&mut tx, &me.actor(), now, me.org_id, id, disable).await?;
    let kind = if disable { Kind::MemberDisabled } else { Kind::MemberEnabled };
    security_log::record(&mut *tx, now, Event::by(&me, kind, m.name.clone())).await?;
    tx.commit().await?;
    let msg = if disable {
        format!("{} can no longer use {} and has been signed out.", m.name, me.org_name)
    } else {
        format!("{} can use {} again.", m.name, me.org_name)
    };
    Ok(redirect_with(&state, "/members", Flash::success(msg)))
}

async fn disable_member(State(state): State<AppState>, me: Member, Id(id): Id<MembershipId>) -> AppResult<Response> {
    set_disabled(state, me, id, true).await
}

async fn enable_member(State(state): State<AppState>, me: Member, Id(id): Id<MembershipId>) -> AppResult<Response> {
    set_disabled(state, me, id, false).await
}

async fn revoke_invitation(State(state): State<AppState>, me: Member, Id(id): Id<InvitationId>) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let email = model::revoke_invitation(&mut tx, &me.actor(), now, me.org_id, id).await?;
    security_log::record(&mut *tx, now, Event::by(&me, Kind::InvitationWithdrawn, email.clone())).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/members", Flash::success(format!("The invitation for {email} was withdrawn."))))
}

// ---------- accepting an invitation ----------

/// What the invitation page offers, depending on who opens the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Signed in as the invited address: one click.
    JoinSignedIn,
    /// Signed in as someone else.
    WrongAccount,
    /// The address has an account: confirm with its password.
    SignInToJoin,
    /// No account yet: choose a name and password.
    CreateAccount,
}

#[derive(Template, WebTemplate)]
#[template(path = "orgs/invitation.html")]
struct InvitationPage {
    layout: Layout,
    invitation: Invitation,
    role_label: &'static str,
    role_description: &'static str,
    state: InvitationState,
    offer: Offer,
    token: String,
    name: String,
    errors: FieldErrors,
}

async fn load_invitation(state: &AppState, token: &str) -> AppResult<Invitation> {
    if token.len() > 100 {
        return Err(AppError::NotFound);
    }
    model::find_invitation(&state.db, token).await?.ok_or(AppError::NotFound)
}

async fn offer_for(state: &AppState, visitor: &Visitor, inv: &Invitation) -> AppResult<(Offer, Option<(UserId, String)>)> {
    if let Some(s) = &visitor.session {
        let offer = if s.email.eq_ignore_ascii_case(&inv.email) { Offer::JoinSignedIn } else { Offer::WrongAccount };
        return Ok((offer, None));
    }
    Ok(match model::find_user_by_email(&state.db, &inv.email).await? {
        Some((id, _, hash)) => (Offer::SignInToJoin, Some((id, hash))),
        None => (Offer::CreateAccount, None),
    })
}

fn invitation_view(visitor: &Visitor, inv: Invitation, st: InvitationState, offer: Offer, token: String, name: String, errors: FieldErrors) -> InvitationPage {
    let role = inv.role();
    InvitationPage {
        layout: Layout::basic(visitor, format!("Join {}", inv.org_name)),
        role_label: role.label(),
        role_description: role.description(),
        invitation: inv,
        state: st,
        offer,
        token,
        name,
        errors,
    }
}

async fn invitation_page(State(state): State<AppState>, visitor: Visitor, crate::web::Segment(token): crate::web::Segment) -> AppResult<Response> {
    let inv = load_invitation(&state, &token).await?;
    let st = inv.state(state.clock.now());
    let (offer, _) = offer_for(&state, &visitor, &inv).await?;
    let status = if st == InvitationState::Open { StatusCode::OK } else { StatusCode::GONE };
    Ok((status, invitation_view(&visitor, inv, st, offer, token, String::new(), FieldErrors::default())).into_response())
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn accept_invitation(
    State(state): State<AppState>,
    visitor: Visitor,
    crate::web::Segment(token): crate::web::Segment,
    Form(form): Form<AcceptForm>,
) -> AppResult<Response> {
    let inv = load_invitation(&state, &token).await?;
    let now = state.clock.now();
    let st = inv.state(now);
    let (offer, account) = offer_for(&state, &visitor, &inv).await?;
    let again = |errors: FieldErrors, status: StatusCode, inv: Invitation| {
        (status, invitation_view(&visitor, inv, st, offer, token.clone(), form.name.clone(), errors)).into_response()
    };
    if st != InvitationState::Open || offer == Offer::WrongAccount {
        return Ok(again(FieldErrors::default(), StatusCode::GONE, inv));
    }
    let mut errors = FieldErrors::default();
    let mut new_account = None;
    let user_id = match offer {
        Offer::JoinSignedIn => visitor.session.as_ref().map(|s| s.user_id),
        Offer::SignInToJoin => {
            let (id, hash) = account.ok_or(AppError::NotFound)?;
            let cfg = &state.config.throttle;
            match throttle::check_password(&state.db, cfg, now, &inv.email, &visitor.client_addr, form.password.clone(), Some(hash), "joining an organisation").await? {
                throttle::PasswordCheck::Right => {
                    // The password alone is not a sign-in where other rules ask for more.
                    if let Some(org) = crate::sso::rules::password_refused_by(&state.db, id).await? {
                        errors.add("password", crate::sso::rules::use_sso_message(&org));
                        return Ok(again(errors, StatusCode::FORBIDDEN, inv));
                    }
                    if crate::auth::factors::of_user(&state.db, id).await?.any() {
                        let mut conn = state.db.acquire().await?;
                        let cookie = crate::auth::second_step::begin(&mut conn, &state, id, &format!("/invite/{token}"), now).await?;
                        return Ok(crate::auth::see_other_with("/login/code", vec![cookie]));
                    }
                }
                throttle::PasswordCheck::Locked(until) => {
                    errors.add("password", crate::auth::locked_message(until, now));
                    return Ok(again(errors, StatusCode::TOO_MANY_REQUESTS, inv));
                }
                throttle::PasswordCheck::Wrong => {
                    errors.add("password", "This is not the password of that account.");
                    return Ok(again(errors, StatusCode::UNAUTHORIZED, inv));
                }
            }
            Some(id)
        }
        Offer::CreateAccount => {
            let name = parse_text(&form.name, "your name", 120).map_err(|e| errors.add("name", e)).ok();
            if let Err(e) = password::check_new(&form.password, &inv.email) {
                errors.add("password", e);
            } else if form.password != form.confirm {
                errors.add("confirm", "The two passwords differ.");
            }
            match name {
                Some(n) if errors.is_empty() => new_account = Some((n, password::hash(form.password.clone()).await?)),
                _ => return Ok(again(errors, StatusCode::UNPROCESSABLE_ENTITY, inv)),
            }
            None
        }
        Offer::WrongAccount => None,
    };
    let mut actor = Actor { org_id: Some(inv.org_id), user_id, label: inv.email.clone(), request_id: visitor.request_id.clone() };
    let mut tx = state.db.begin().await?;
    let user_id = match (user_id, new_account) {
        (Some(id), _) => id,
        (None, Some((name, hash))) => {
            let id = model::create_user(&mut tx, &actor, now, &inv.email, &name, &hash)
                .await?
                .ok_or_else(|| AppError::Conflict("An account with this e-mail address appeared meanwhile. Reload the page and sign in.".into()))?;
            actor.user_id = Some(id);
            id
        }
        (None, None) => return Err(AppError::NotFound),
    };
    model::accept_invitation(&mut tx, &actor, now, &inv, user_id).await?;
    let event = Event {
        org_id: Some(inv.org_id),
        user_id: Some(user_id),
        email: &inv.email,
        client_addr: &visitor.client_addr,
        kind: Kind::InvitationAccepted,
        detail: format!("Joined as {}", inv.role().label()),
    };
    security_log::record(&mut *tx, now, event).await?;
    let mut cookies: Vec<HeaderValue> = Vec::new();
    match &visitor.session {
        Some(s) => {
            sqlx::query!("UPDATE sessions SET current_org_id = $2 WHERE id_hash = $1", &s.id_hash, inv.org_id.0)
                .execute(&mut *tx)
                .await?;
        }
        None => cookies.push(session::start(&mut tx, &state, user_id, Some(inv.org_id), None).await?),
    }
    tx.commit().await?;
    throttle::clear_account(&state.db, &inv.email).await?;
    let mut res = redirect_with(&state, "/dashboard", Flash::success(format!("Welcome to {}.", inv.org_name)));
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

// ---------- settings ----------

#[derive(Template, WebTemplate)]
#[template(path = "orgs/settings.html")]
struct SettingsPage {
    layout: Layout,
    form: settings::GradingForm,
    errors: FieldErrors,
    defaults: settings::Grading,
    can_change: bool,
    /// The logo's file name and upload time, if one is set.
    logo: Option<(String, chrono::DateTime<chrono::Utc>)>,
    logo_error: Option<String>,
    logo_max_kib: usize,
    sign_in: sign_in_rules::Standing,
    sign_in_form: sign_in_rules::Form,
    sign_in_errors: FieldErrors,
    can_set_sign_in: bool,
}

async fn settings_view(
    state: &AppState,
    me: &Member,
    form: settings::GradingForm,
    errors: FieldErrors,
    logo_error: Option<String>,
    sign_in_input: Option<(sign_in_rules::Form, FieldErrors)>,
) -> AppResult<Response> {
    let sign_in = sign_in_rules::load(&state.db, me.org_id).await?;
    let (sign_in_form, sign_in_errors) = sign_in_input.unwrap_or_else(|| (sign_in_rules::Form::of(&sign_in.rules), FieldErrors::default()));
    let status = if errors.is_empty() && logo_error.is_none() && sign_in_errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = SettingsPage {
        layout: Layout::build(&state.db, &me.visitor, "Organisation settings").await?,
        form,
        errors,
        defaults: settings::Grading::default(),
        can_change: me.can(Action::ChangeSettings),
        logo: logo::about(&state.db, me.org_id).await?,
        logo_error,
        logo_max_kib: logo::MAX_BYTES / 1024,
        sign_in,
        sign_in_form,
        sign_in_errors,
        can_set_sign_in: me.can(Action::SetSignInRules),
    };
    Ok((status, page).into_response())
}

async fn settings_page(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let grading = settings::load(&state.db, me.org_id).await?;
    settings_view(&state, &me, settings::GradingForm::of(&grading), FieldErrors::default(), None, None).await
}

/// The organisation's logo, as the settings page previews it.
async fn logo_image(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    logo::response(&state.db, me.org_id).await
}

/// Sets the logo from the form's `file`: read whole (it is small, and the
/// route's body limit bounds it), checked by its bytes, then stored.
async fn upload_logo(State(state): State<AppState>, me: Member, mut multipart: axum::extract::Multipart) -> AppResult<Response> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut too_large = false;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") && file.is_none() => {
                let name = field.file_name().unwrap_or("logo").to_string();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes.to_vec())),
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large = true,
                    Err(_) => return Err(AppError::BadRequest("The upload was interrupted or malformed. Try again.".into())),
                }
            }
            Ok(Some(_)) => continue,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                too_large = true;
                break;
            }
            Err(_) => return Err(AppError::BadRequest("The upload was interrupted or malformed. Try again.".into())),
        }
    }
    let grading = settings::load(&state.db, me.org_id).await?;
    let form = settings::GradingForm::of(&grading);
    let (name, bytes) = file.unwrap_or_default();
    let up = logo::Upload { filename: &name, bytes: &bytes };
    let checked = if too_large { Err(format!("The image is larger than {} KiB. Save it smaller (a logo needs no more than 400 pixels across).", logo::MAX_BYTES / 1024)) } else { logo::check(&up) };
    let kind = match checked {
        Ok(kind) => kind,
        Err(why) => return settings_view(&state, &me, form, FieldErrors::default(), Some(why), None).await,
    };
    let mut tx = state.db.begin().await?;
    logo::set(&mut tx, &me.actor(), state.clock.now(), me.org_id, &up, kind).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/settings", Flash::success("The logo was saved. Staff see it on the pages they open from their personal links and on published policies.")))
}

async fn remove_logo(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let removed = logo::remove(&mut tx, &me.actor(), state.clock.now(), me.org_id).await?;
    tx.commit().await?;
    let msg = if removed { "The logo was removed. Pages opened from personal links show the organisation's name alone." } else { "There was no logo to remove." };
    Ok(redirect_with(&state, "/settings", Flash::success(msg)))
}

async fn save_grading(State(state): State<AppState>, me: Member, Form(form): Form<settings::GradingForm>) -> AppResult<Response> {
    let grading = match form.parse() {
        Ok(g) => g,
        Err(errors) => return settings_view(&state, &me, form, errors, None, None).await,
    };
    let mut tx = state.db.begin().await?;
    let changed = settings::save(&mut tx, &me.actor(), state.clock.now(), me.org_id, &grading).await?;
    tx.commit().await?;
    let msg = if changed { "The grading settings were saved; the gap list uses them from now on." } else { "Nothing changed." };
    Ok(redirect_with(&state, "/settings", Flash::success(msg)))
}

async fn save_sign_in_rules(State(state): State<AppState>, me: Member, Form(form): Form<sign_in_rules::Form>) -> AppResult<Response> {
    let grading = settings::GradingForm::of(&settings::load(&state.db, me.org_id).await?);
    let rules = match form.parse() {
        Ok(r) => r,
        Err(errors) => return settings_view(&state, &me, grading, FieldErrors::default(), None, Some((form, errors))).await,
    };
    // An owner who requires a second factor without one would be stopped at once.
    let has_factor = me.visitor.session.as_ref().is_some_and(|s| s.has_second_factor);
    if rules.require_second_factor && !has_factor {
        let mut errors = FieldErrors::default();
        errors.add("require_second_factor", "Set up your own authenticator app first (on your account page), so requiring one does not stop you too.");
        return settings_view(&state, &me, grading, FieldErrors::default(), None, Some((form, errors))).await;
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let changed = sign_in_rules::save(&mut tx, &me.actor(), now, me.org_id, &rules).await?;
    if changed {
        let detail = format!(
            "Second factor {} for owners, ISMS leads and executives; sensitive changes need a proof from the last {} minutes.",
            if rules.require_second_factor { "required" } else { "not required" },
            rules.step_up_minutes
        );
        security_log::record(&mut *tx, now, Event::by(&me, Kind::SignInRulesChanged, detail)).await?;
    }
    tx.commit().await?;
    let msg = if changed { "The sign-in rules were saved." } else { "Nothing changed." };
    Ok(redirect_with(&state, "/settings", Flash::success(msg)))
}
