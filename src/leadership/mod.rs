//! Leadership records (clause 5.1): what top management decided, funded,
//! said and was asked. Meetings and their action items, resource decisions,
//! communications, security objectives and asks, each in its own file.
pub mod asks;
pub mod communications;
pub mod decisions;
pub mod meetings;
pub mod objectives;

use crate::ids::OrgId;
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::audit;
use crate::auth::policy::Action;
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::web::redirect_with;
use axum::Form;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use uuid::Uuid;

pub fn routes(r: Routes) -> Routes {
    let r = meetings::routes(r).post("/meetings/cadence", set_cadence);
    let r = decisions::routes(r);
    let r = communications::routes(r);
    let r = objectives::routes(r);
    asks::routes(r)
}

/// Refuses people who are not in this organisation's directory (a form
/// can be tampered with).
pub async fn check_people(conn: &mut PgConnection, org_id: OrgId, ids: &[Uuid]) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    let found: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE org_id = $1 AND id = ANY($2)").bind(org_id).bind(&unique).fetch_one(conn).await?;
    if found as usize != unique.len() {
        return Err(AppError::BadRequest("Someone chosen is not in this organisation's directory.".into()));
    }
    Ok(())
}

/// Everyone's name by id, for lists and exports that name several people per row.
pub async fn person_names(db: &PgPool, org_id: OrgId) -> AppResult<HashMap<Uuid, String>> {
    Ok(sqlx::query_as::<_, (Uuid, String)>("SELECT id, name FROM people WHERE org_id = $1").bind(org_id).fetch_all(db).await?.into_iter().collect())
}

/// What leadership work waits for one member, as the person they are in
/// the directory: asks to answer and minutes to sign off as chair.
pub struct WaitingFor {
    pub asks: Vec<asks::Ask>,
    pub sign_offs: Vec<meetings::Meeting>,
}

impl WaitingFor {
    pub fn is_empty(&self) -> bool {
        self.asks.is_empty() && self.sign_offs.is_empty()
    }
}

/// Two queries, whatever the number of records.
pub async fn waiting_for(db: &PgPool, org_id: OrgId, user_id: Uuid) -> AppResult<WaitingFor> {
    Ok(WaitingFor { asks: asks::open_for_user(db, org_id, user_id).await?, sign_offs: meetings::to_sign_by_user(db, org_id, user_id).await? })
}

#[derive(Deserialize)]
struct CadenceForm {
    #[serde(default)]
    months: String,
}

/// How often management reviews are due (at least yearly).
async fn set_cadence(State(state): State<AppState>, me: Member, Form(form): Form<CadenceForm>) -> AppResult<Response> {
    me.require(Action::ManageLeadership)?;
    let months: i32 = match form.months.trim().parse() {
        Ok(m) if (1..=12).contains(&m) => m,
        _ => return Err(AppError::BadRequest("Choose a cadence from monthly to yearly: clause 9.3 expects at least one review a year.".into())),
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let before: i32 =
        sqlx::query_scalar("SELECT review_cadence_months FROM organisations WHERE id = $1 FOR UPDATE").bind(me.org_id).fetch_one(&mut *tx).await?;
    if before != months {
        sqlx::query("UPDATE organisations SET review_cadence_months = $2 WHERE id = $1").bind(me.org_id).bind(months).execute(&mut *tx).await?;
        audit::record(&mut tx, &me.actor(), now, "organisation.review_cadence_set", "organisation", me.org_id, json!({"months": [before, months]})).await?;
    }
    tx.commit().await?;
    Ok(redirect_with(&state, "/meetings", Flash::success(format!("Management reviews are now due every {months} month(s)."))))
}
