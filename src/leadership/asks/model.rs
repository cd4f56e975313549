//! Leadership asks: the queries and the types.
use super::super::check_people;
use crate::audit::{self, Actor, Changes};
use crate::error::AppResult;
use crate::ids::{AskId, OrgId, PersonId, UserId};
use crate::people::attribution::{Via, byline};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

#[derive(Debug, Clone)]
pub struct Ask {
    pub id: AskId,
    pub asked_of: PersonId,
    pub asked_of_name: String,
    pub asked_of_user: Option<UserId>,
    pub asked_of_top_management: bool,
    pub asked_by_name: Option<String>,
    pub what: String,
    pub asked_on: NaiveDate,
    pub due_on: Option<NaiveDate>,
    pub response: String,
    pub responded_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    /// Whether the person asked entered the answer themselves (otherwise
    /// someone recorded an answer given another way).
    pub answered_in_person: bool,
    /// Who entered the answer: the person asked, or the recording account's name.
    pub answered_by_name: Option<String>,
    pub answered_title: Option<String>,
    /// The e-mail of the account that entered it.
    pub answered_account: Option<String>,
}

impl Ask {
    pub fn answered(&self) -> bool {
        self.responded_on.is_some()
    }
    /// Past its due date with no answer.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        !self.answered() && self.due_on.is_some_and(|d| d < today)
    }
    /// Who entered the answer: "Name, Title, signed in as e-mail" (what is known of it).
    pub fn answer_byline(&self) -> String {
        byline(self.answered_by_name.as_deref(), self.answered_title.as_deref(), Via::from_parts(self.answered_account.as_deref(), None))
    }
}

/// The organisation's asks, unanswered first, by due date; those still
/// waiting for the person linked to `asked_user` (oldest due first); or one (`id`).
fn select(
    org_id: OrgId,
    id: Option<AskId>,
    asked_user: Option<UserId>,
) -> sqlx::query::Map<'static, sqlx::Postgres, impl FnMut(sqlx::postgres::PgRow) -> Result<Ask, sqlx::Error> + Send, sqlx::postgres::PgArguments> {
    sqlx::query_as!(
        Ask,
        r#"SELECT a.id AS "id: AskId", a.asked_of AS "asked_of: PersonId", p.name AS asked_of_name, p.acting_user_id AS "asked_of_user: UserId",
        p.top_management AS asked_of_top_management, u.name AS "asked_by_name?", a.what, a.asked_on, a.due_on, a.response, a.responded_on, a.created_at,
        a.answered_as IS NOT NULL AS "answered_in_person!", COALESCE(ap.name, au.name) AS answered_by_name, a.answered_title,
        au.email AS "answered_account?"
   FROM leadership_asks a
   JOIN people p ON p.org_id = a.org_id AND p.id = a.asked_of
   LEFT JOIN users u ON u.id = a.asked_by
   LEFT JOIN users au ON au.id = a.answered_by
   LEFT JOIN people ap ON ap.org_id = a.org_id AND ap.id = a.answered_as
  WHERE a.org_id = $1 AND ($2::uuid IS NULL OR a.id = $2)
    AND ($3::uuid IS NULL OR (p.acting_user_id = $3 AND a.responded_on IS NULL))
  ORDER BY a.responded_on IS NOT NULL, a.due_on NULLS LAST, CASE WHEN $3::uuid IS NOT NULL THEN a.asked_on END, a.asked_on DESC"#,
        org_id.0,
        id.map(|i| i.0),
        asked_user.map(|u| u.0),
    )
}

reads!(Ask, AskId, |org, id| select(org, id, None));

/// Unanswered asks of the person linked to `user_id`, oldest due first.
pub async fn open_for_user(db: &PgPool, org_id: OrgId, user_id: UserId) -> AppResult<Vec<Ask>> {
    Ok(select(org_id, None, Some(user_id)).fetch_all(db).await?)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields {
    pub asked_of: Option<PersonId>,
    pub what: String,
    pub asked_on: Option<NaiveDate>,
    pub due_on: Option<NaiveDate>,
    pub response: String,
    pub responded_on: Option<NaiveDate>,
}

pub async fn insert(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &Fields) -> AppResult<AskId> {
    check_people(conn, org_id, &f.asked_of.into_iter().collect::<Vec<_>>()).await?;
    let id = AskId::new();
    sqlx::query!(
        "INSERT INTO leadership_asks (id, org_id, asked_of, asked_by, what, asked_on, due_on, response, responded_on, created_at, updated_at, answered_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, CASE WHEN $8 <> '' THEN $4::uuid END)",
        id.0,
        org_id.0,
        f.asked_of.map(|p| p.0),
        actor.user_id.map(|u| u.0),
        f.what,
        f.asked_on,
        f.due_on,
        f.response,
        f.responded_on,
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        "ask.created",
        "leadership_ask",
        id,
        json!({"asked_of": f.asked_of, "what": f.what, "asked_on": f.asked_on, "due_on": f.due_on}),
    )
    .await?;
    Ok(id)
}

/// Saves an ask. When this gives it its answer, the actor's account is
/// recorded as the one that entered it, with `answered_as`: the person
/// asked, answering themselves, or `None` for an answer given another way
/// and recorded by someone else.
pub async fn save(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Ask, f: &Fields, answered_as: Option<PersonId>) -> AppResult<bool> {
    let mut c = Changes::new();
    c.field("asked_of", Some(before.asked_of), f.asked_of)
        .field("what", &before.what, &f.what)
        .field("asked_on", Some(before.asked_on), f.asked_on)
        .field("due_on", before.due_on, f.due_on)
        .field("response", &before.response, &f.response)
        .field("responded_on", before.responded_on, f.responded_on);
    if c.is_empty() {
        return Ok(false);
    }
    check_people(conn, org_id, &f.asked_of.into_iter().collect::<Vec<_>>()).await?;
    let answering = before.response.is_empty() && !f.response.is_empty();
    // The title is the person's job title now, as `attribution::title_sql` reads it.
    sqlx::query!(
        "UPDATE leadership_asks SET asked_of = $3, what = $4, asked_on = $5, due_on = $6, response = $7, responded_on = $8, updated_at = $9,
                answered_by = CASE WHEN $10 THEN $11::uuid WHEN $7 = '' THEN NULL ELSE answered_by END,
                answered_as = CASE WHEN $10 THEN $12::uuid WHEN $7 = '' THEN NULL ELSE answered_as END,
                answered_title = CASE WHEN $10 THEN (SELECT NULLIF(btrim(t.job_title), '') FROM people t WHERE t.org_id = $1 AND t.id = $12)
                                      WHEN $7 = '' THEN NULL ELSE answered_title END
          WHERE org_id = $1 AND id = $2",
        org_id.0,
        before.id.0,
        f.asked_of.map(|p| p.0),
        f.what,
        f.asked_on,
        f.due_on,
        f.response,
        f.responded_on,
        now,
        answering,
        actor.user_id.map(|u| u.0),
        answered_as.map(|p| p.0),
    )
    .execute(&mut *conn)
    .await?;
    let action = if answering { "ask.answered" } else { "ask.updated" };
    let mut details = c.into_value();
    if answering && let Some(d) = details.as_object_mut() {
        d.insert("answered_as".into(), json!(answered_as));
    }
    audit::record(conn, actor, now, action, "leadership_ask", before.id, details).await?;
    Ok(true)
}

