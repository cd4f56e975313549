//! The top-management roster page: who is top management, which account
//! acts for them, the changes waiting for a leader, and every decision.
use super::model::{self, Change, ChangeRow, Decider, Leader};
use crate::ids::{PersonId, RosterChangeId};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::security_log::model::{self as security_log, Event, Kind};
use crate::auth::policy::Action;
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::people::model::Choice;
use crate::people::pick;
use crate::web::{Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/people/roster", Can(ViewPeople), page)
        .get("/people/roster.csv", Can(ViewPeople), export)
        .post_step_up("/people/roster", Can(ProposeRosterChange), propose)
        .post_step_up("/people/roster/{id}/confirm", Can(ViewPeople), confirm)
        .post_step_up("/people/roster/{id}/refuse", Can(ViewPeople), refuse)
        .post_step_up("/people/roster/{id}/withdraw", Can(ProposeRosterChange), withdraw)
}

/// A pending change and what the viewer may do with it.
pub struct Open {
    pub change: ChangeRow,
    pub may_decide: bool,
    pub may_withdraw: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "people/roster.html")]
struct RosterPage {
    layout: Layout,
    leaders: Vec<Leader>,
    open: Vec<Open>,
    decided: Vec<ChangeRow>,
    people: Vec<Choice>,
    can_propose: bool,
    /// Somebody other than a proposer acts as top management.
    has_acting_leader: bool,
    today: NaiveDate,
}

async fn page(State(state): State<AppState>, me: Member) -> AppResult<RosterPage> {
    let today = state.clock.now().date_naive();
    let mut conn = state.db.acquire().await?;
    let leaders = model::leaders(&mut conn, me.org_id).await?;
    let acting = model::acting_accounts(&mut conn, me.org_id, today).await?;
    let (open, decided): (Vec<ChangeRow>, Vec<ChangeRow>) = model::changes(&mut conn, me.org_id).await?.into_iter().partition(ChangeRow::is_pending);
    drop(conn);
    let open = open
        .into_iter()
        .map(|c| Open {
            may_decide: model::may_decide(me.role, me.user_id, c.proposed_by, c.account_id, &acting),
            may_withdraw: c.proposed_by == Some(me.user_id),
            change: c,
        })
        .collect();
    let can_propose = me.can(Action::ProposeRosterChange);
    let people = if can_propose { pick::choices(&state.db, me.org_id, today, &[]).await? } else { Vec::new() };
    Ok(RosterPage {
        layout: Layout::build(&state.db, &me.visitor, "Top management").await?,
        leaders,
        open,
        decided,
        people,
        can_propose,
        has_acting_leader: !acting.is_empty(),
        today,
    })
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let at = |d: Option<chrono::DateTime<chrono::Utc>>| d.map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default();
    let rows = model::all_changes(me.org_id);
    Ok(csv::stream_rows(
        &format!("top-management-changes-{}.csv", today.format("%Y%m%d")),
        &["person", "job_title", "change", "acting_account", "reason", "proposed_by", "proposed_at", "status", "decided_by", "decided_at"],
        state.db.clone(),
        move |db| rows.fetch(db),
        move |c: ChangeRow| {
            vec![
                c.person_name.clone(),
                c.person_title.clone(),
                c.change.as_str().to_string(),
                c.account_email.clone().unwrap_or_default(),
                c.reason.clone(),
                c.proposed_by(),
                at(Some(c.proposed_at)),
                c.status_label().to_string(),
                c.decided_by(),
                at(c.decided_at),
            ]
        },
    ))
}

#[derive(Deserialize)]
struct ProposeForm {
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    change: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    in_office_since: String,
}

async fn propose(State(state): State<AppState>, me: Member, Form(mut form): Form<ProposeForm>) -> AppResult<Response> {
    let picked = pick::resolve(&state.db, me.org_id, state.clock.now().date_naive(), vec![("person_id", &mut form.person_id)]).await?;
    if let Some((_, m)) = picked.messages().next() {
        return Err(AppError::BadRequest(m.clone()));
    }
    let person_id: PersonId = form.person_id.trim().parse().map_err(|_| AppError::BadRequest("Choose a person from the directory.".into()))?;
    let change: Change = form.change.parse().map_err(|_| AppError::BadRequest("Choose whether to add or remove them.".into()))?;
    let reason = crate::web::form::parse_optional(&form.reason, "the reason", 500, true).map_err(AppError::BadRequest)?;
    let in_office_since = crate::web::form::parse_date(&form.in_office_since, "the day they took office").map_err(AppError::BadRequest)?;
    let now = state.clock.now();
    let by = Decider::of(&me);
    let mut tx = state.db.begin().await?;
    let (id, in_effect) = model::propose(&mut tx, &by, now, me.org_id, model::Proposal { person_id, change, reason: &reason, in_office_since }).await?;
    let what = model::change(&mut tx, me.org_id, id).await?.what();
    security_log::record(&mut *tx, now, Event::by(&me, Kind::RosterProposed, what.clone())).await?;
    if in_effect {
        security_log::record(&mut *tx, now, Event::by(&me, Kind::RosterBootstrapped, what)).await?;
    }
    tx.commit().await?;
    let msg = if in_effect {
        "The organisation had nobody in top management yet, so this takes effect now. It is recorded as the first leader's set-up."
    } else {
        "Proposed. It takes effect once a member of top management confirms it."
    };
    Ok(redirect_with(&state, "/people/roster", Flash::success(msg)))
}

async fn decide(state: AppState, me: Member, id: RosterChangeId, yes: bool) -> AppResult<Response> {
    let now = state.clock.now();
    let by = Decider::of(&me);
    let mut tx = state.db.begin().await?;
    let name = model::decide(&mut tx, &by, now, me.org_id, id, yes).await?;
    let kind = if yes { Kind::RosterConfirmed } else { Kind::RosterRefused };
    let what = model::change(&mut tx, me.org_id, id).await?.what();
    security_log::record(&mut *tx, now, Event::by(&me, kind, what)).await?;
    tx.commit().await?;
    let msg = if yes { format!("Confirmed: the change for {name} is in effect.") } else { format!("Refused: nothing changes for {name}.") };
    Ok(redirect_with(&state, "/people/roster", Flash::success(msg)))
}

async fn confirm(State(state): State<AppState>, me: Member, Id(id): Id<RosterChangeId>) -> AppResult<Response> {
    decide(state, me, id, true).await
}

async fn refuse(State(state): State<AppState>, me: Member, Id(id): Id<RosterChangeId>) -> AppResult<Response> {
    decide(state, me, id, false).await
}

async fn withdraw(State(state): State<AppState>, me: Member, Id(id): Id<RosterChangeId>) -> AppResult<Response> {
    let now = state.clock.now();
    let by = Decider::of(&me);
    let mut tx = state.db.begin().await?;
    model::withdraw(&mut tx, &by, now, me.org_id, id).await?;
    let what = model::change(&mut tx, me.org_id, id).await?.what();
    security_log::record(&mut *tx, now, Event::by(&me, Kind::RosterWithdrawn, what)).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, "/people/roster", Flash::success("The proposal was withdrawn.")))
}
