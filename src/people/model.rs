//! The people directory: staff and contractors, most of whom never sign in.
//! People are never deleted (records refer to them); leavers get an end date.
use crate::audit::{self, Actor, Entry};
use crate::ids::{OrgId, PersonId, UserId};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};

crate::text_enum! {
    /// How someone works for the organisation (`people.kind`).
    #[derive(Default)]
    pub enum Kind {
        #[default]
        Employee = "employee" => "Employee",
        Contractor = "contractor" => "Contractor",
    }
}

impl Kind {
    /// Reads what a form or a spreadsheet says, leniently: any case, and an
    /// empty cell or "staff" means employee.
    pub fn parse(raw: &str) -> Option<Kind> {
        match raw.trim().to_lowercase().as_str() {
            "" | "staff" => Some(Kind::Employee),
            other => other.parse().ok(),
        }
    }
}

/// The facts about a person that forms and imports set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PersonFields {
    pub name: String,
    pub email: String,
    pub job_title: String,
    pub department: String,
    pub manager_id: Option<PersonId>,
    pub kind: Kind,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub top_management: bool,
    pub line_manager: bool,
    pub security_clause: bool,
}

impl PersonFields {
    /// What differs between `self` (before) and `new` (after), for the audit log.
    pub fn changes(&self, new: &PersonFields) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        let mut cmp = |field: &str, a: Value, b: Value| {
            if a != b {
                out.insert(field.to_string(), json!([a, b]));
            }
        };
        cmp("name", json!(self.name), json!(new.name));
        cmp("email", json!(self.email), json!(new.email));
        cmp("job_title", json!(self.job_title), json!(new.job_title));
        cmp("department", json!(self.department), json!(new.department));
        cmp("manager_id", json!(self.manager_id), json!(new.manager_id));
        cmp("kind", json!(self.kind), json!(new.kind));
        cmp("start_date", json!(self.start_date), json!(new.start_date));
        cmp("end_date", json!(self.end_date), json!(new.end_date));
        cmp("top_management", json!(self.top_management), json!(new.top_management));
        cmp("line_manager", json!(self.line_manager), json!(new.line_manager));
        cmp("security_clause", json!(self.security_clause), json!(new.security_clause));
        out
    }

    /// Rules that span fields (each field is checked when parsed).
    pub fn cross_check(&self) -> Result<(), (&'static str, String)> {
        if let (Some(s), Some(e)) = (self.start_date, self.end_date)
            && e < s
        {
            return Err(("end_date", "The end date is before the start date.".into()));
        }
        Ok(())
    }
}

/// Whether someone works here on `day`: started (or no start recorded) and not yet left.
pub fn is_current(start: Option<NaiveDate>, end: Option<NaiveDate>, day: NaiveDate) -> bool {
    start.is_none_or(|s| s <= day) && end.is_none_or(|e| e > day)
}

/// A person as lists and pages show them.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    pub email: String,
    pub job_title: String,
    pub department: String,
    pub manager_id: Option<PersonId>,
    pub manager_name: Option<String>,
    pub manager_email: Option<String>,
    pub kind: Kind,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub top_management: bool,
    pub line_manager: bool,
    pub security_clause: bool,
    pub user_id: Option<UserId>,
    pub account_email: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Person {
    pub fn is_current(&self, today: NaiveDate) -> bool {
        is_current(self.start_date, self.end_date, today)
    }
    pub fn has_left(&self, today: NaiveDate) -> bool {
        self.end_date.is_some_and(|e| e <= today)
    }
    pub fn status(&self, today: NaiveDate) -> &'static str {
        if self.has_left(today) {
            "Left"
        } else if self.start_date.is_some_and(|s| s > today) {
            "Starting"
        } else if self.end_date.is_some() {
            "Leaving"
        } else {
            "Current"
        }
    }
    pub fn fields(&self) -> PersonFields {
        PersonFields {
            name: self.name.clone(),
            email: self.email.clone(),
            job_title: self.job_title.clone(),
            department: self.department.clone(),
            manager_id: self.manager_id,
            kind: self.kind,
            start_date: self.start_date,
            end_date: self.end_date,
            top_management: self.top_management,
            line_manager: self.line_manager,
            security_clause: self.security_clause,
        }
    }
    pub fn date(d: &Option<NaiveDate>) -> String {
        d.map(|d| d.to_string()).unwrap_or_default()
    }
}

/// `query_as!(Person, ..)` with the one select list every query of people
/// uses, followed by the rest of the statement (string literals joined by
/// `+`, as the macro takes them) and its arguments:
/// `people!(["WHERE p.org_id = $1 AND p.id = $2"], org.0, id.0)`.
macro_rules! people {
    ([$($rest:tt)+] $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Person,
            r#"SELECT p.id AS "id: PersonId", p.name, p.email, p.job_title, p.department, p.manager_id AS "manager_id: PersonId",
                      m.name AS "manager_name?", m.email AS "manager_email?", p.kind AS "kind: Kind", p.start_date, p.end_date,
                      p.top_management, p.line_manager, p.security_clause, p.user_id AS "user_id: UserId",
                      u.email AS "account_email?", p.created_at
                 FROM people p
                 LEFT JOIN people m ON m.org_id = p.org_id AND m.id = p.manager_id
                 LEFT JOIN users u ON u.id = p.user_id
                "# + $($rest)+
            $(, $arg)*
        )
    };
}

/// `SELECT count(*)` over people `p`, then the rest as for `people!`.
macro_rules! count_people {
    ([$($rest:tt)+] $(, $arg:expr)* $(,)?) => {
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM (SELECT 1 FROM people p "# + $($rest)+ $(, $arg)*)
    };
}

/// The directory list's filter, written once for the list, its count and
/// the export: `$1` org, `$2` search text, `$3` department, `$4` status
/// (current, leavers, all), `$5` kind, `$6` flag, `$7` today, `$8` a policy
/// in force whose audience members who have not acknowledged its current
/// major version are asked for: current staff, as the gap counts them (the
/// people a gap's "see them all" lists). Hands the
/// statement to `$query` (`people` or `count_people`) with `$tail` after it.
macro_rules! filtered_people {
    ($query:ident, [$($tail:tt)*] $(, $arg:expr)* $(,)?) => {
        $query!(
            ["WHERE p.org_id = $1
                AND ($2::text IS NULL OR p.name ILIKE '%' || $2 || '%' OR p.email ILIKE '%' || $2 || '%' OR p.job_title ILIKE '%' || $2 || '%')
                AND ($3::text IS NULL OR p.department = $3)
                AND CASE $4::text
                      WHEN 'all' THEN true
                      WHEN 'leavers' THEN p.end_date IS NOT NULL AND p.end_date <= $7
                      ELSE p.end_date IS NULL OR p.end_date > $7
                    END
                AND ($5::text IS NULL OR p.kind = $5)
                AND CASE $6::text
                      WHEN 'top' THEN p.top_management
                      WHEN 'managers' THEN p.line_manager
                      WHEN 'no_clause' THEN NOT p.security_clause
                      ELSE true
                    END
                AND ($8::uuid IS NULL OR (
                      is_current_on(p.start_date, p.end_date, $7)
                      AND EXISTS (SELECT 1 FROM policies pol WHERE pol.org_id = $1 AND pol.id = $8 AND pol.withdrawn_at IS NULL
                                 AND EXISTS (SELECT 1 FROM policy_versions c WHERE c.org_id = $1 AND c.policy_id = $8 AND c.approved_at IS NOT NULL)
                                 AND in_audience(policy_audience(pol.kind, pol.audience, pol.audience_reason), pol.audience_departments,
                                                 p.kind, p.line_manager, p.department))
                      AND NOT EXISTS (SELECT 1 FROM acknowledgements a JOIN policy_versions v ON v.org_id = a.org_id AND v.id = a.policy_version_id
                                       WHERE a.org_id = $1 AND a.person_id = p.id AND v.policy_id = $8
                                         AND v.major = (SELECT max(c.major) FROM policy_versions c
                                                         WHERE c.org_id = $1 AND c.policy_id = $8 AND c.approved_at IS NOT NULL)))) " $($tail)*]
            $(, $arg)*
        )
    };
}

/// What the directory list shows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub department: String,
    /// current (default), leavers, all
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub kind: String,
    /// top (top management), managers, no_clause (contract lacks the security clause)
    #[serde(default)]
    pub flag: String,
    /// A policy's id: only its audience who have not acknowledged its current major version.
    #[serde(default)]
    pub unacknowledged: String,
    /// Where the page starts (`web::pager::Position`).
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub at: Option<i64>,
}

impl Filter {
    pub fn position(&self) -> crate::web::pager::Position {
        crate::web::pager::Position { after: self.after.clone(), at: self.at }
    }

    pub fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("q", &self.q)
            .append_pair("department", &self.department)
            .append_pair("status", &self.status)
            .append_pair("kind", &self.kind)
            .append_pair("flag", &self.flag);
        if self.policy().is_some() {
            q.append_pair("unacknowledged", &self.unacknowledged);
        }
        q.finish()
    }

    /// The policy of `unacknowledged`, when it names one.
    pub fn policy(&self) -> Option<uuid::Uuid> {
        self.unacknowledged.trim().parse().ok()
    }
    fn text(v: &str) -> Option<String> {
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_string())
    }
}

/// Where a page of the directory starts: after the person with this name,
/// address and id (the list's order).
pub type PageKey = (String, String, uuid::Uuid);

/// The query of people matching the filter, in name order; `limit` rows
/// after `after` (no limit and no key: everyone, as the CSV export streams
/// them). Its arguments are bound already: run it with `fetch_all` or `fetch`.
pub fn filtered(
    org_id: OrgId,
    f: &Filter,
    today: NaiveDate,
    limit: Option<i64>,
    after: Option<PageKey>,
) -> sqlx::query::Map<'static, sqlx::Postgres, impl FnMut(sqlx::postgres::PgRow) -> Result<Person, sqlx::Error> + Send + use<>, sqlx::postgres::PgArguments> {
    let (name, email, id) = match after {
        Some((name, email, id)) => (Some(name), Some(email), Some(id)),
        None => (None, None, None),
    };
    filtered_people!(
        people,
        [+ " AND ($10::text IS NULL OR (p.name, p.email, p.id) > ($10, $11::text, $12::uuid)) ORDER BY p.name, p.email, p.id LIMIT $9"],
        org_id.0,
        Filter::text(&f.q),
        Filter::text(&f.department),
        f.status.as_str(),
        Filter::text(&f.kind),
        f.flag.as_str(),
        today,
        f.policy(),
        limit,
        name,
        email,
        id,
    )
}

/// How many people match the filter, counted up to `cap`.
pub async fn count_filtered(db: &PgPool, org_id: OrgId, f: &Filter, today: NaiveDate, cap: i64) -> AppResult<i64> {
    Ok(filtered_people!(
        count_people,
        [+ " LIMIT $9) capped"],
        org_id.0,
        Filter::text(&f.q),
        Filter::text(&f.department),
        f.status.as_str(),
        Filter::text(&f.kind),
        f.flag.as_str(),
        today,
        f.policy(),
        cap,
    )
    .fetch_one(db)
    .await?)
}

/// The title of one of the organisation's policies (the directory's
/// "not acknowledged" filter names it); `None` when it has no such policy.
pub async fn policy_title(db: &PgPool, org_id: OrgId, id: uuid::Uuid) -> AppResult<Option<String>> {
    Ok(sqlx::query_scalar!("SELECT title FROM policies WHERE org_id = $1 AND id = $2", org_id.0, id).fetch_optional(db).await?)
}

/// Everyone in the directory (the CSV import compares a file against it).
pub async fn all(conn: &mut PgConnection, org_id: OrgId) -> AppResult<Vec<Person>> {
    Ok(people!(["WHERE p.org_id = $1"], org_id.0).fetch_all(conn).await?)
}

pub async fn get(db: &PgPool, org_id: OrgId, id: PersonId) -> AppResult<Person> {
    get_in(db, org_id, id).await
}

pub async fn get_in(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: PersonId) -> AppResult<Person> {
    people!(["WHERE p.org_id = $1 AND p.id = $2"], org_id.0, id.0).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

/// The departments people work in, for filters and audiences.
pub async fn departments(db: &PgPool, org_id: OrgId) -> AppResult<Vec<String>> {
    Ok(sqlx::query_scalar!("SELECT DISTINCT department FROM people WHERE org_id = $1 AND department <> '' ORDER BY 1", org_id.0)
        .fetch_all(db)
        .await?)
}

/// `departments`, kept until the organisation's records change (`crate::cache`).
pub async fn kept_departments(db: &PgPool, kept: &crate::cache::Cache, org_id: OrgId, today: NaiveDate) -> AppResult<Vec<String>> {
    let kept = kept.current(db, org_id, today, || async { Ok(Departments(departments(db, org_id).await?)) }).await?;
    Ok(kept.0.clone())
}

/// The departments, as kept (a type of its own, since values are kept by type).
struct Departments(Vec<String>);

/// A person a form names or suggests (`people::pick`), or a list filter offers.
#[derive(Debug, Clone)]
pub struct Choice {
    pub id: PersonId,
    pub name: String,
    pub email: String,
    pub job_title: String,
    pub top_management: bool,
    pub current: bool,
}

impl Choice {
    pub fn label(&self) -> String {
        let mut l = self.name.clone();
        if !self.job_title.is_empty() {
            l.push_str(", ");
            l.push_str(&self.job_title);
        }
        if self.top_management {
            l.push_str(" (top management)");
        }
        if !self.current {
            l.push_str(" (left)");
        }
        l
    }

    /// What a person field holds once this person is chosen: unambiguous,
    /// since e-mail addresses are unique within an organisation.
    pub fn pick_label(&self) -> String {
        format!("{} <{}>", self.name, self.email)
    }

    /// What a suggestion says beside the name: job title, and whether they
    /// are top management or have left.
    pub fn detail(&self) -> String {
        let mut d = self.job_title.clone();
        for (yes, what) in [(self.top_management, "top management"), (!self.current, "left")] {
            if yes {
                if !d.is_empty() {
                    d.push_str(" · ");
                }
                d.push_str(what);
            }
        }
        d
    }
}

/// The directory entry a signed-in member acts as, if one is linked. Every
/// act "as oneself" (signing, confirming, accepting, answering, acknowledging)
/// starts here. An account linked to someone on the top-management roster
/// acts for them only if the roster confirmed that very account: a link made
/// since does not carry top management's authority along.
pub async fn person_of_user(db: &PgPool, org_id: OrgId, user_id: UserId) -> AppResult<Option<Person>> {
    Ok(people!(["WHERE p.org_id = $1 AND p.acting_user_id = $2"], org_id.0, user_id.0).fetch_optional(db).await?)
}

fn email_taken(e: &sqlx::Error, email: &str) -> Option<AppError> {
    match e {
        sqlx::Error::Database(d) if d.constraint() == Some("people_email_key") => {
            Some(AppError::Conflict(format!("Someone in the directory already has the e-mail address {email}.")))
        }
        sqlx::Error::Database(d) if d.constraint() == Some("people_user_key") => {
            Some(AppError::Conflict("That account is already linked to another person.".into()))
        }
        _ => None,
    }
}

/// The manager and account must belong to this organisation, and nobody
/// may end up managing themselves through a chain.
async fn check_links(conn: &mut PgConnection, org_id: OrgId, id: PersonId, f: &PersonFields, user_id: Option<UserId>) -> AppResult<()> {
    if let Some(m) = f.manager_id {
        let loops = sqlx::query_scalar!(
            r#"WITH RECURSIVE up(id, depth) AS (
                   SELECT id, 0 FROM people WHERE org_id = $1 AND id = $2
                   UNION ALL
                   SELECT p.manager_id, up.depth + 1 FROM up JOIN people p ON p.org_id = $1 AND p.id = up.id
                    WHERE p.manager_id IS NOT NULL AND up.depth < 1000)
               SELECT bool_or(id = $3) AS "loops?" FROM up"#,
            org_id.0,
            m.0,
            id.0,
        )
        .fetch_one(&mut *conn)
        .await?;
        match loops {
            None => return Err(AppError::BadRequest("The chosen manager is not in this directory.".into())),
            Some(true) => return Err(AppError::Conflict("A person cannot manage themselves, directly or through others.".into())),
            Some(false) => {}
        }
    }
    if let Some(u) = user_id {
        let member = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2 AND disabled_at IS NULL) AS "member!""#,
            org_id.0,
            u.0,
        )
        .fetch_one(&mut *conn)
        .await?;
        if !member {
            return Err(AppError::BadRequest("The chosen account is not a member of this organisation.".into()));
        }
    }
    Ok(())
}

/// Changes to an organisation's directory are made one at a time (an import
/// touches thousands of rows and the audit chain; edits wait for it).
pub async fn lock_directory(conn: &mut PgConnection, org_id: OrgId) -> AppResult<()> {
    sqlx::query!(r#"SELECT true AS "locked!" FROM pg_advisory_xact_lock(hashtext('people:' || $1::uuid::text))"#, org_id.0)
        .fetch_one(conn)
        .await?;
    Ok(())
}

/// Links the account `user_id` to the directory entry addressed `email`,
/// where neither is linked yet. Only the account's holder calls for this:
/// by accepting an invitation sent to that address, or by confirming on
/// their home page that the entry with their own address is them. Nobody
/// links someone else's account by editing a person.
pub async fn link_account(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    email: &str,
    user_id: UserId,
) -> AppResult<Option<PersonId>> {
    let linked = sqlx::query_scalar!(
        r#"UPDATE people p SET user_id = $3, updated_at = $4
            WHERE p.org_id = $1 AND lower(p.email) = lower($2) AND p.user_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM people q WHERE q.org_id = $1 AND q.user_id = $3)
        RETURNING p.id AS "id: PersonId""#,
        org_id.0,
        email,
        user_id.0,
        now,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = linked {
        audit::record(conn, actor, now, "person.account_linked", "person", id, json!({"account": email, "confirmed_by": "account holder"})).await?;
    }
    Ok(linked)
}

/// The directory entry with the member's own e-mail address that nobody
/// has claimed, offered on their home page ("is this you?").
pub async fn unclaimed_entry(db: &PgPool, org_id: OrgId, user_id: UserId, email: &str) -> AppResult<Option<Person>> {
    Ok(people!(
        ["WHERE p.org_id = $1 AND lower(p.email) = lower($3) AND p.user_id IS NULL
            AND NOT EXISTS (SELECT 1 FROM people q WHERE q.org_id = $1 AND q.user_id = $2)"],
        org_id.0,
        user_id.0,
        email,
    )
    .fetch_optional(db)
    .await?)
}

fn created_details(f: &PersonFields) -> Value {
    json!({"name": f.name, "email": f.email, "kind": f.kind, "department": f.department, "top_management": f.top_management})
}

pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    f: &PersonFields,
    user_id: Option<UserId>,
) -> AppResult<PersonId> {
    lock_directory(conn, org_id).await?;
    let id = PersonId::new();
    check_links(conn, org_id, id, f, user_id).await?;
    let mut row = Columns::default();
    row.push(id, f, user_id);
    if let Err(e) = insert_rows(conn, org_id, now, &row).await {
        return Err(email_taken(&e, &f.email).unwrap_or(e.into()));
    }
    audit::record(conn, actor, now, "person.created", "person", id, created_details(f)).await?;
    Ok(id)
}

/// Saves new facts about a person; returns whether anything changed.
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    id: PersonId,
    f: &PersonFields,
) -> AppResult<bool> {
    lock_directory(conn, org_id).await?;
    let before = people!(["WHERE p.org_id = $1 AND p.id = $2 FOR UPDATE OF p"], org_id.0, id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AppError::NotFound)?;
    // Top management changes only through the roster, and the account link
    // only through its holder: an edit keeps both as they are.
    let f = &PersonFields { top_management: before.top_management, ..f.clone() };
    let changes = before.fields().changes(f);
    if changes.is_empty() {
        return Ok(false);
    }
    if before.top_management && changes.contains_key("end_date") {
        return Err(AppError::Conflict(leader_leaves(&before.name)));
    }
    check_links(conn, org_id, id, f, None).await?;
    let mut row = Columns::default();
    row.push(id, f, before.user_id);
    if let Err(e) = update_rows(conn, org_id, now, &row).await {
        return Err(email_taken(&e, &f.email).unwrap_or(e.into()));
    }
    audit::record(conn, actor, now, "person.updated", "person", id, Value::Object(changes)).await?;
    Ok(true)
}

/// Why a leaving date is refused for someone on the top-management roster:
/// a leader who leaves would drop out of those who confirm roster changes,
/// so that goes through the roster too.
pub fn leader_leaves(name: &str) -> String {
    format!(
        "{name} is top management. An owner first proposes removing them from top management (a member of top management confirms); then record the leaving date."
    )
}

/// Records that a person leaves (or left) on `end_date`.
pub async fn mark_leaver(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    id: PersonId,
    end_date: NaiveDate,
) -> AppResult<String> {
    lock_directory(conn, org_id).await?;
    let row = sqlx::query!(
        "SELECT name, start_date, end_date, top_management FROM people WHERE org_id = $1 AND id = $2 FOR UPDATE",
        org_id.0,
        id.0,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Err(AppError::NotFound) };
    let (name, start, before) = (row.name, row.start_date, row.end_date);
    if row.top_management {
        return Err(AppError::Conflict(leader_leaves(&name)));
    }
    if start.is_some_and(|s| end_date < s) {
        return Err(AppError::BadRequest(format!("{name} started after that date; choose a later leaving date.")));
    }
    sqlx::query!("UPDATE people SET end_date = $3, updated_at = $4 WHERE org_id = $1 AND id = $2", org_id.0, id.0, end_date, now)
        .execute(&mut *conn)
        .await?;
    audit::record(conn, actor, now, "person.left", "person", id, json!({"end_date": [before, end_date]})).await?;
    Ok(name)
}

/// Writes many new and changed people at once (CSV import): two statements
/// whatever the count, and one audit row per person. Accounts are not touched.
pub async fn write_many(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    creates: &[(PersonId, PersonFields)],
    updates: &[(PersonId, PersonFields, serde_json::Map<String, Value>)],
) -> AppResult<()> {
    let mut new = Columns::default();
    creates.iter().for_each(|(id, f)| new.push(*id, f, None));
    let mut changed = Columns::default();
    updates.iter().for_each(|(id, f, _)| changed.push(*id, f, None));
    insert_rows(conn, org_id, now, &new).await?;
    update_rows(conn, org_id, now, &changed).await?;
    drop((new, changed));
    // The audit rows go in a thousand at a time, so their text is never all held at once.
    for chunk in creates.chunks(AUDIT_BATCH) {
        audit::record_many(conn, actor, now, chunk.iter().map(|(id, f)| Entry::new("person.created", "person", id, created_details(f))).collect()).await?;
    }
    for chunk in updates.chunks(AUDIT_BATCH) {
        let entries = chunk.iter().map(|(id, _, changes)| Entry::new("person.updated", "person", id, Value::Object(changes.clone()))).collect();
        audit::record_many(conn, actor, now, entries).await?;
    }
    Ok(())
}

const AUDIT_BATCH: usize = 1000;

/// Inserts rows in one statement. Managers may be among the new rows: the
/// foreign key is checked at the end of the statement.
async fn insert_rows(conn: &mut PgConnection, org_id: OrgId, now: DateTime<Utc>, c: &Columns<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO people (id, org_id, name, email, job_title, department, kind, start_date, end_date,
                             top_management, line_manager, security_clause, manager_id, user_id, created_at, updated_at)
         SELECT u.id, $1, u.name, u.email, u.job_title, u.department, u.kind, u.start_date, u.end_date,
                u.top, u.lm, u.clause, u.manager_id, u.user_id, $2, $2
           FROM UNNEST($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::date[], $10::date[],
                       $11::bool[], $12::bool[], $13::bool[], $14::uuid[], $15::uuid[])
                AS u(id, name, email, job_title, department, kind, start_date, end_date, top, lm, clause, manager_id, user_id)",
        org_id.0,
        now,
        &c.ids,
        &c.names as &[&str],
        &c.emails as &[&str],
        &c.titles as &[&str],
        &c.departments as &[&str],
        &c.kinds as &[&str],
        &c.starts as &[Option<NaiveDate>],
        &c.ends as &[Option<NaiveDate>],
        &c.top,
        &c.lm,
        &c.clause,
        &c.managers as &[Option<uuid::Uuid>],
        &c.users as &[Option<uuid::Uuid>],
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Updates rows in one statement. Never the top-management flag (the
/// roster's) nor the account link (its holder's).
async fn update_rows(conn: &mut PgConnection, org_id: OrgId, now: DateTime<Utc>, c: &Columns<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE people p SET name = u.name, email = u.email, job_title = u.job_title, department = u.department,
                manager_id = u.manager_id, kind = u.kind, start_date = u.start_date, end_date = u.end_date,
                line_manager = u.lm, security_clause = u.clause, updated_at = $2
           FROM UNNEST($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::date[], $10::date[],
                       $11::bool[], $12::bool[], $13::uuid[])
                AS u(id, name, email, job_title, department, kind, start_date, end_date, lm, clause, manager_id)
          WHERE p.org_id = $1 AND p.id = u.id",
        org_id.0,
        now,
        &c.ids,
        &c.names as &[&str],
        &c.emails as &[&str],
        &c.titles as &[&str],
        &c.departments as &[&str],
        &c.kinds as &[&str],
        &c.starts as &[Option<NaiveDate>],
        &c.ends as &[Option<NaiveDate>],
        &c.lm,
        &c.clause,
        &c.managers as &[Option<uuid::Uuid>],
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Column arrays for UNNEST, borrowing the text from the fields.
#[derive(Default)]
struct Columns<'a> {
    ids: Vec<uuid::Uuid>,
    names: Vec<&'a str>,
    emails: Vec<&'a str>,
    titles: Vec<&'a str>,
    departments: Vec<&'a str>,
    kinds: Vec<&'static str>,
    starts: Vec<Option<NaiveDate>>,
    ends: Vec<Option<NaiveDate>>,
    top: Vec<bool>,
    lm: Vec<bool>,
    clause: Vec<bool>,
    managers: Vec<Option<uuid::Uuid>>,
    users: Vec<Option<uuid::Uuid>>,
}

impl<'a> Columns<'a> {
    fn push(&mut self, id: PersonId, f: &'a PersonFields, user_id: Option<UserId>) {
        self.ids.push(id.0);
        self.names.push(&f.name);
        self.emails.push(&f.email);
        self.titles.push(&f.job_title);
        self.departments.push(&f.department);
        self.kinds.push(f.kind.as_str());
        self.starts.push(f.start_date);
        self.ends.push(f.end_date);
        self.top.push(f.top_management);
        self.lm.push(f.line_manager);
        self.clause.push(f.security_clause);
        self.managers.push(f.manager_id.map(|m| m.0));
        self.users.push(user_id.map(|u| u.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_means_started_and_not_left() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-06-30");
        assert!(is_current(None, None, today));
        assert!(is_current(Some(d("2026-06-30")), None, today));
        assert!(!is_current(Some(d("2026-07-01")), None, today));
        assert!(is_current(None, Some(d("2026-07-01")), today));
        assert!(!is_current(None, Some(d("2026-06-30")), today), "the leaving day is the first day gone");
    }

    #[test]
    fn changes_name_only_what_differs() {
        let a = PersonFields { name: "A".into(), email: "a@x.example".into(), ..Default::default() };
        let b = PersonFields { department: "IT".into(), ..a.clone() };
        let c = a.changes(&b);
        assert_eq!(c.len(), 1);
        assert_eq!(c["department"], json!(["", "IT"]));
        assert!(a.changes(&a).is_empty());
    }
}
