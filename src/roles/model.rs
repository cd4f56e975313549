//! ISMS roles (clause 5.3) and appointments to them. Top management makes
//! an appointment; the holder accepts it, signed in or through a personal
//! link; a holder who leaves leaves the role vacant. The rules are plain
//! functions over the rows, so pages, the gap engine and tests share them.
use crate::ids::{AppointmentId, OrgId, PersonId, RoleId, UserId};
use crate::audit::{self, Actor};
use crate::auth::session::{hash_token, random_token};
use crate::error::{AppError, AppResult};
use crate::people::attribution::{Via, byline};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// How long a personal acceptance link works.
pub const LINK_DAYS: i64 = 30;

/// The two assignments clause 5.3 makes mandatory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    /// 5.3(a): keeping the ISMS in line with ISO/IEC 27001.
    Conformance,
    /// 5.3(b): telling top management how the ISMS is doing.
    Reporting,
}

impl Assignment {
    pub const ALL: [Assignment; 2] = [Assignment::Conformance, Assignment::Reporting];

    /// The assignment a code names ("5.3(a)", "5.3(b)").
    pub fn from_code(code: &str) -> Option<Assignment> {
        Assignment::ALL.into_iter().find(|a| a.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            Assignment::Conformance => "5.3(a)",
            Assignment::Reporting => "5.3(b)",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Assignment::Conformance => "keeps the ISMS in line with ISO/IEC 27001",
            Assignment::Reporting => "tells top management how the ISMS is doing",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub responsibilities: String,
    pub authorities: String,
    pub carries_conformance: bool,
    pub carries_reporting: bool,
    pub position: i32,
}

impl Role {
    pub fn carries(&self, a: Assignment) -> bool {
        match a {
            Assignment::Conformance => self.carries_conformance,
            Assignment::Reporting => self.carries_reporting,
        }
    }
    pub fn carries_mandatory(&self) -> bool {
        self.carries_conformance || self.carries_reporting
    }
}

/// What forms set about a role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleFields {
    pub name: String,
    pub responsibilities: String,
    pub authorities: String,
    pub carries_conformance: bool,
    pub carries_reporting: bool,
}

crate::text_enum! {
    /// In what capacity a person is appointed to a role (pages show the value).
    pub enum Capacity {
        Holder = "holder" => "Holder",
        Deputy = "deputy" => "Deputy",
    }
}

crate::text_enum! {
    /// How a holder accepted their appointment.
    pub enum AcceptedVia {
        /// Signed in with their own account.
        SignedIn = "signed_in" => "Signed in",
        /// Through the personal link, without an account.
        Link = "link" => "Personal link",
        /// Countersigned on paper before Mandate, recorded later.
        Paper = "paper" => "On paper",
    }
}

/// An appointment with the facts about its people that the rules need.
#[derive(Debug, Clone)]
pub struct Appointment {
    pub id: AppointmentId,
    pub role_id: RoleId,
    pub role_name: String,
    pub person_id: PersonId,
    pub person_name: String,
    pub person_user_id: Option<UserId>,
    pub person_top_management: bool,
    pub person_end_date: Option<NaiveDate>,
    pub capacity: Capacity,
    pub appointed_by: Option<PersonId>,
    pub appointer_name: Option<String>,
    pub appointer_top_management: Option<bool>,
    pub appointer_user_id: Option<UserId>,
    pub appointed_on: Option<NaiveDate>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The appointer's confirmation is bound to their passkey.
    pub confirmation_bound: bool,
    pub hats_note: String,
    pub accept_token_expires_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_via: Option<AcceptedVia>,
    pub ended_on: Option<NaiveDate>,
    pub ended_reason: String,
    pub carries_conformance: bool,
    pub carries_reporting: bool,
    /// The confirmation: the appointer's title then and the e-mail of the account that confirmed.
    pub confirmed_title: Option<String>,
    pub confirmed_account: Option<String>,
    /// The acceptance: the holder's title then, the e-mail of the account
    /// that accepted (none through the personal link) and where from.
    pub accepted_title: Option<String>,
    pub accepted_account: Option<String>,
    pub accepted_from: Option<String>,
    /// Confirmed on paper (the appointer signed the letter): the account that recorded it, and when.
    pub confirmed_recorded_account: Option<String>,
    pub confirmed_recorded_at: Option<DateTime<Utc>>,
    /// Accepted on paper (the holder countersigned): the account that recorded it, and when.
    pub accepted_recorded_account: Option<String>,
    pub accepted_recorded_at: Option<DateTime<Utc>>,
}

/// Something about an appointment an auditor would question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    NoAppointer,
    AppointerNotTopManagement,
    NoAppointmentDate,
    NotAccepted,
    HatsNotDocumented,
}

impl Flag {
    pub fn text(self) -> &'static str {
        match self {
            Flag::NoAppointer => "nobody is recorded as making this appointment",
            Flag::AppointerNotTopManagement => "not appointed by top management",
            Flag::NoAppointmentDate => "no appointment date",
            Flag::NotAccepted => "the holder has not accepted the role",
            Flag::HatsNotDocumented => "top management holding this role: note which hat they wear when",
        }
    }
}

impl Appointment {
    pub fn is_holder(&self) -> bool {
        self.capacity == Capacity::Holder
    }
    /// Ended by a decision (not by the person leaving).
    pub fn is_ended(&self, today: NaiveDate) -> bool {
        self.ended_on.is_some_and(|e| e <= today)
    }
    pub fn holder_left(&self, today: NaiveDate) -> bool {
        self.person_end_date.is_some_and(|e| e <= today)
    }
    /// The person fills the role today.
    pub fn is_current(&self, today: NaiveDate) -> bool {
        !self.is_ended(today) && !self.holder_left(today) && self.appointed_on.is_none_or(|d| d <= today)
    }
    pub fn awaits_confirmation(&self) -> bool {
        self.appointed_by.is_some() && self.confirmed_at.is_none()
    }
    pub fn link_is_open(&self, now: DateTime<Utc>) -> bool {
        self.accepted_at.is_none() && self.accept_token_expires_at.is_some_and(|t| t > now)
    }
    /// What an auditor would question about a current appointment.
    pub fn flags(&self) -> Vec<Flag> {
        let mut out = Vec::new();
        match self.appointer_top_management {
            None => out.push(Flag::NoAppointer),
            Some(false) => out.push(Flag::AppointerNotTopManagement),
            Some(true) => {}
        }
        if self.appointed_on.is_none() {
            out.push(Flag::NoAppointmentDate);
        }
        if self.accepted_at.is_none() {
            out.push(Flag::NotAccepted);
        }
        if self.is_holder()
            && self.person_top_management
            && (self.carries_conformance || self.carries_reporting)
            && self.hats_note.trim().is_empty()
        {
            out.push(Flag::HatsNotDocumented);
        }
        out
    }
    /// Who confirmed: "Name, Title, signed in as e-mail" (what is known of it).
    pub fn confirmation_byline(&self) -> String {
        byline(self.appointer_name.as_deref(), self.confirmed_title.as_deref(), Via::paper_or(self.confirmed_recorded_account.as_deref(), self.confirmed_account.as_deref()))
    }
    /// Who accepted: "Name, Title, signed in as e-mail" or "…, by personal link from <address>".
    pub fn acceptance_byline(&self) -> String {
        byline(Some(&self.person_name), self.accepted_title.as_deref(), self.acceptance_via())
    }
    pub fn acceptance_via(&self) -> Via<'_> {
        if let Some(email) = self.accepted_recorded_account.as_deref() {
            return Via::Paper(email);
        }
        let link = (self.accepted_via == Some(AcceptedVia::Link)).then(|| self.accepted_from.as_deref().unwrap_or(""));
        Via::from_parts(self.accepted_account.as_deref(), link)
    }
    pub fn status(&self, today: NaiveDate) -> &'static str {
        if self.is_ended(today) {
            "ended"
        } else if self.holder_left(today) {
            "left the organisation"
        } else if !self.is_current(today) {
            "starts later"
        } else if self.accepted_at.is_some() {
            "accepted"
        } else {
            "awaiting acceptance"
        }
    }
}

/// A role is vacant when no current holder fills it.
pub fn is_vacant(role: RoleId, appointments: &[Appointment], today: NaiveDate) -> bool {
    !appointments.iter().any(|a| a.role_id == role && a.is_holder() && a.is_current(today))
}

/// Whether the appointer may make this appointment. Anyone but top
/// management is refused unless the recorder insists, and then it is flagged.
pub fn check_appointer(appointer_is_top_management: bool, record_anyway: bool) -> Result<(), &'static str> {
    if appointer_is_top_management || record_anyway {
        Ok(())
    } else {
        Err("Clause 5.3 appointments are made by top management, and this person is not marked as top management. \
             Choose a top-management appointer, mark them as top management in the directory, or tick \
             \"record it anyway\" to keep the record and show it as a gap.")
    }
}

// ---------- queries ----------

/// The organisation's live roles (`$2` NULL) or one of them, retired or not
/// (`$2` its id, `$3` true to refuse a retired one), in register order.
macro_rules! select_roles {
    ($org:expr, $id:expr, $live_only:expr) => {
        sqlx::query_as!(
            Role,
            r#"SELECT id AS "id: RoleId", name, responsibilities, authorities, carries_conformance, carries_reporting, position
                 FROM isms_roles
                WHERE org_id = $1 AND ($2::uuid IS NULL OR id = $2) AND (NOT $3 OR retired_at IS NULL)
                ORDER BY position, lower(name)"#,
            $org.0,
            $id,
            $live_only,
        )
    };
}

pub async fn roles(db: impl sqlx::PgExecutor<'_>, org_id: OrgId) -> AppResult<Vec<Role>> {
    Ok(select_roles!(org_id, None::<Uuid>, true).fetch_all(db).await?)
}

pub async fn role(db: &PgPool, org_id: OrgId, id: RoleId) -> AppResult<Role> {
    select_roles!(org_id, Some(id.0), true).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

/// A role even after it was retired (a personal link still shows what was accepted).
pub async fn role_any(conn: &mut PgConnection, org_id: OrgId, id: RoleId) -> AppResult<Role> {
    select_roles!(org_id, Some(id.0), false).fetch_optional(conn).await?.ok_or(AppError::NotFound)
}

/// Appointments with their people, written once: `$2` one appointment, `$3`
/// one person's, `$4` true for live roles only (each NULL/false: any), in
/// register order.
macro_rules! select_appointments {
    ($org:expr, $id:expr, $person:expr, $live_roles:expr) => {
        sqlx::query_as!(
            Appointment,
            r#"SELECT a.id AS "id: AppointmentId", a.role_id AS "role_id: RoleId", r.name AS role_name,
                      a.person_id AS "person_id: PersonId", p.name AS person_name,
                      p.acting_user_id AS "person_user_id: UserId", p.top_management AS person_top_management, p.end_date AS person_end_date,
                      a.capacity AS "capacity: Capacity", a.appointed_by AS "appointed_by: PersonId", b.name AS "appointer_name?",
                      b.top_management AS "appointer_top_management?", b.acting_user_id AS "appointer_user_id?: UserId",
                      a.appointed_on, a.confirmed_at, a.hats_note, a.accept_token_expires_at,
                      EXISTS (SELECT 1 FROM passkey_signatures k WHERE k.org_id = a.org_id AND k.record_kind = 'appointment' AND k.record_id = a.id) AS "confirmation_bound!",
                      a.accepted_at, a.accepted_via AS "accepted_via: AcceptedVia", a.ended_on, a.ended_reason,
                      r.carries_conformance, r.carries_reporting,
                      a.confirmed_title, cu.email AS "confirmed_account?", a.accepted_title, au.email AS "accepted_account?", a.accepted_from,
                      cru.email AS "confirmed_recorded_account?", a.confirmed_recorded_at, aru.email AS "accepted_recorded_account?", a.accepted_recorded_at
                 FROM role_appointments a
                 JOIN isms_roles r ON r.org_id = a.org_id AND r.id = a.role_id
                 JOIN people p ON p.org_id = a.org_id AND p.id = a.person_id
                 LEFT JOIN people b ON b.org_id = a.org_id AND b.id = a.appointed_by
                 LEFT JOIN users cu ON cu.id = a.confirmed_by
                 LEFT JOIN users au ON au.id = a.accepted_by
                 LEFT JOIN users cru ON cru.id = a.confirmed_recorded_by
                 LEFT JOIN users aru ON aru.id = a.accepted_recorded_by
                WHERE a.org_id = $1 AND ($2::uuid IS NULL OR a.id = $2) AND ($3::uuid IS NULL OR a.person_id = $3)
                  AND (NOT $4 OR r.retired_at IS NULL)
                ORDER BY r.position, a.capacity DESC, a.appointed_on NULLS LAST, a.created_at"#,
            $org.0,
            $id,
            $person,
            $live_roles,
        )
    };
}

/// Every appointment to the organisation's live roles (one query, for any number of roles).
pub async fn appointments(db: &PgPool, org_id: OrgId) -> AppResult<Vec<Appointment>> {
    Ok(select_appointments!(org_id, None::<Uuid>, None::<Uuid>, true).fetch_all(db).await?)
}

pub async fn appointment(conn: &mut PgConnection, org_id: OrgId, id: AppointmentId) -> AppResult<Appointment> {
    select_appointments!(org_id, Some(id.0), None::<Uuid>, false).fetch_optional(conn).await?.ok_or(AppError::NotFound)
}

/// Who currently holds each live role carrying `a`: (role name, holder names).
pub async fn holders_of(db: &PgPool, org_id: OrgId, a: Assignment, today: NaiveDate) -> AppResult<Vec<(String, String)>> {
    let all = appointments(db, org_id).await?;
    let roles = roles(db, org_id).await?;
    Ok(roles
        .iter()
        .filter(|r| r.carries(a))
        .map(|r| {
            let names: Vec<&str> = all
                .iter()
                .filter(|x| x.role_id == r.id && x.is_holder() && x.is_current(today))
                .map(|x| x.person_name.as_str())
                .collect();
            (r.name.clone(), names.join(", "))
        })
        .collect())
}

/// The roles a person holds or deputises today, for their directory page.
pub async fn roles_of_person(db: &PgPool, org_id: OrgId, person_id: PersonId, today: NaiveDate) -> AppResult<Vec<(String, String)>> {
    let rows = select_appointments!(org_id, None::<Uuid>, Some(person_id.0), true).fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .filter(|a| !a.is_ended(today))
        .map(|a| (a.role_name.clone(), format!("{}, {}", a.capacity.as_str(), a.status(today))))
        .collect())
}

// ---------- changes ----------

fn name_taken(e: &sqlx::Error, name: &str) -> Option<AppError> {
    match e {
        sqlx::Error::Database(d) if d.constraint() == Some("isms_roles_name_key") => {
            Some(AppError::Conflict(format!("There is already a role called \"{name}\".")))
        }
        _ => None,
    }
}

pub async fn create_role(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &RoleFields) -> AppResult<RoleId> {
    let id = RoleId::new();
    let done = sqlx::query!(
        "INSERT INTO isms_roles (id, org_id, name, responsibilities, authorities, carries_conformance, carries_reporting,
                                 position, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7,
                 (SELECT COALESCE(max(position), 0) + 1 FROM isms_roles WHERE org_id = $2), $8, $8)",
        id.0,
        org_id.0,
        f.name,
        f.responsibilities,
        f.authorities,
        f.carries_conformance,
        f.carries_reporting,
        now,
    )
    .execute(&mut *conn)
    .await;
    if let Err(e) = done {
        return Err(name_taken(&e, &f.name).unwrap_or(e.into()));
    }
    audit::record(
        conn,
        actor,
        now,
        "role.created",
        "role",
        id,
        json!({"name": f.name, "5.3(a)": f.carries_conformance, "5.3(b)": f.carries_reporting}),
    )
    .await?;
    Ok(id)
}

pub async fn update_role(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    before: &Role,
    f: &RoleFields,
) -> AppResult<bool> {
    let mut changes = serde_json::Map::new();
    let mut cmp = |k: &str, a: Value, b: Value| {
        if a != b {
            changes.insert(k.into(), json!([a, b]));
        }
    };
    cmp("name", json!(before.name), json!(f.name));
    cmp("responsibilities", json!(before.responsibilities), json!(f.responsibilities));
    cmp("authorities", json!(before.authorities), json!(f.authorities));
    cmp("5.3(a)", json!(before.carries_conformance), json!(f.carries_conformance));
    cmp("5.3(b)", json!(before.carries_reporting), json!(f.carries_reporting));
    if changes.is_empty() {
        return Ok(false);
    }
    let done = sqlx::query!(
        "UPDATE isms_roles SET name = $3, responsibilities = $4, authorities = $5, carries_conformance = $6,
                carries_reporting = $7, updated_at = $8
          WHERE org_id = $1 AND id = $2 AND retired_at IS NULL",
        org_id.0,
        before.id.0,
        f.name,
        f.responsibilities,
        f.authorities,
        f.carries_conformance,
        f.carries_reporting,
        now,
    )
    .execute(&mut *conn)
    .await;
    match done {
        Err(e) => return Err(name_taken(&e, &f.name).unwrap_or(e.into())),
        Ok(d) if d.rows_affected() == 0 => return Err(AppError::NotFound),
        Ok(_) => {}
    }
    audit::record(conn, actor, now, "role.updated", "role", before.id, Value::Object(changes)).await?;
    Ok(true)
}

/// Retires a role: it leaves the register and the RACI matrix, and its
/// open appointments end today. Nothing is deleted.
pub async fn retire_role(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, role: &Role) -> AppResult<()> {
    let today = now.date_naive();
    let done = sqlx::query!(
        "UPDATE isms_roles SET retired_at = $3, updated_at = $3 WHERE org_id = $1 AND id = $2 AND retired_at IS NULL",
        org_id.0,
        role.id.0,
        now,
    )
    .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    crate::history::stamp(&mut *conn, now).await?;
    let ended = sqlx::query!(
        "UPDATE role_appointments SET ended_on = $3, ended_reason = 'role retired'
          WHERE org_id = $1 AND role_id = $2 AND (ended_on IS NULL OR ended_on > $3)",
        org_id.0,
        role.id.0,
        today,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    audit::record(conn, actor, now, "role.retired", "role", role.id, json!({"name": role.name, "appointments_ended": ended})).await?;
    Ok(())
}

/// A new appointment as the form states it.
#[derive(Debug, Clone)]
pub struct NewAppointment {
    pub person_id: PersonId,
    pub capacity: Capacity,
    pub appointed_by: PersonId,
    pub appointed_on: NaiveDate,
    pub record_anyway: bool,
}

/// Why an appointment was refused, tied to the form field it concerns.
#[derive(Debug)]
pub struct Refusal {
    pub field: &'static str,
    pub message: String,
}

impl From<(&'static str, String)> for Refusal {
    fn from((field, message): (&'static str, String)) -> Self {
        Refusal { field, message }
    }
}

/// Records an appointment and returns its id and the secret of the
/// holder's acceptance link. `recorder_person` is the directory entry of
/// whoever records it: when that is the appointer, it counts as confirmed.
#[allow(clippy::too_many_arguments)]
pub async fn appoint(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    role: &Role,
    new: &NewAppointment,
    recorder_person: Option<PersonId>,
) -> AppResult<Result<(AppointmentId, String), Refusal>> {
    let today = now.date_naive();
    // Appointments to one role are made one at a time (no duplicate holders).
    crate::db::lock_row(&mut *conn, org_id, role.id).await?;
    let people: Vec<(PersonId, String, bool, Option<NaiveDate>)> = sqlx::query!(
        r#"SELECT id AS "id: PersonId", name, top_management, end_date FROM people WHERE org_id = $1 AND id = ANY($2)"#,
        org_id.0,
        &[new.person_id.0, new.appointed_by.0],
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|p| (p.id, p.name, p.top_management, p.end_date))
    .collect();
    let find = |id: PersonId| people.iter().find(|p| p.0 == id);
    let Some(person) = find(new.person_id) else { return Ok(Err(("person_id", "Choose someone from the directory.".into()).into())) };
    let Some(appointer) = find(new.appointed_by) else {
        return Ok(Err(("appointed_by", "Choose who made the appointment.".into()).into()));
    };
    if person.3.is_some_and(|e| e <= today) {
        return Ok(Err(("person_id", format!("{} has left the organisation.", person.1)).into()));
    }
    if appointer.3.is_some_and(|e| e <= new.appointed_on) {
        return Ok(Err(("appointed_by", format!("{} had left the organisation by that date.", appointer.1)).into()));
    }
    if new.appointed_on > today {
        return Ok(Err(("appointed_on", "Record an appointment once it has been made: the date cannot be in the future.".into()).into()));
    }
    if let Err(msg) = check_appointer(appointer.2, new.record_anyway) {
        return Ok(Err(("appointed_by", msg.to_string()).into()));
    }
    let already = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM role_appointments
                           WHERE org_id = $1 AND role_id = $2 AND person_id = $3 AND (ended_on IS NULL OR ended_on > $4)) AS "already!""#,
        org_id.0,
        role.id.0,
        new.person_id.0,
        today,
    )
    .fetch_one(&mut *conn)
    .await?;
    if already {
        return Ok(Err(("person_id", format!("{} is already appointed to this role.", person.1)).into()));
    }
    let id = AppointmentId::new();
    let token = random_token();
    let confirmed = (recorder_person == Some(new.appointed_by)).then_some(now);
    // Recorded by the appointer themselves: that is their confirmation, by
    // this account, as them, with their title then (as attribution::title_sql).
    sqlx::query!(
        "INSERT INTO role_appointments (id, org_id, role_id, person_id, capacity, appointed_by, appointed_on, confirmed_at,
                                        accept_token_hash, accept_token_expires_at, recorded_by, created_at,
                                        confirmed_by, confirmed_as, confirmed_title)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                 CASE WHEN $8::timestamptz IS NOT NULL THEN $11::uuid END, CASE WHEN $8::timestamptz IS NOT NULL THEN $6::uuid END,
                 CASE WHEN $8::timestamptz IS NOT NULL THEN
                      (SELECT NULLIF(btrim(t.job_title), '') FROM people t WHERE t.org_id = $2 AND t.id = $6) END)",
        id.0,
        org_id.0,
        role.id.0,
        new.person_id.0,
        new.capacity.as_str(),
        new.appointed_by.0,
        new.appointed_on,
        confirmed,
        hash_token(&token),
        now + Duration::days(LINK_DAYS),
        actor.user_id.map(|u| u.0),
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        "appointment.made",
        "appointment",
        id,
        json!({
            "role": role.name, "person": person.1, "capacity": new.capacity.as_str(), "appointed_by": appointer.1,
            "appointer_is_top_management": appointer.2, "appointed_on": new.appointed_on, "confirmed": confirmed.is_some(),
        }),
    )
    .await?;
    Ok(Ok((id, token)))
}

/// The appointer confirms, signed in as themselves, that they made it: the
/// account (the actor's) and the person it acts as (`as_person`) are recorded.
pub async fn confirm(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, a: &Appointment, as_person: PersonId) -> AppResult<()> {
    if a.confirmed_at.is_some() {
        return Err(AppError::Conflict("This appointment is already confirmed.".into()));
    }
    // The title as attribution::title_sql reads it.
    crate::history::stamp(&mut *conn, now).await?;
    let done = sqlx::query!(
        "UPDATE role_appointments SET confirmed_at = $3, confirmed_by = $4, confirmed_as = $5,
                confirmed_title = (SELECT NULLIF(btrim(t.job_title), '') FROM people t WHERE t.org_id = $1 AND t.id = $5)
          WHERE org_id = $1 AND id = $2 AND confirmed_at IS NULL",
        org_id.0,
        a.id.0,
        now,
        actor.user_id.map(|u| u.0),
        as_person.0,
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict("This appointment is already confirmed.".into()));
    }
    audit::record(conn, actor, now, "appointment.confirmed", "appointment", a.id, json!({"role": a.role_name, "person": a.person_name, "as": as_person}))
        .await?;
    Ok(())
}

/// What a paper record of an appointment says: the appointer signed the
/// letter, or the holder countersigned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperAct {
    Confirmation,
    Acceptance,
}

/// A letter signed on paper: which signature, its day, and the account that records it.
#[derive(Debug, Clone, Copy)]
pub struct PaperRecord {
    pub act: PaperAct,
    pub on: NaiveDate,
    pub recorded_by: UserId,
}

/// Why `act` on paper on `on` cannot be recorded for `a`, if anything stops it.
pub fn paper_blocker(a: &Appointment, act: PaperAct, on: NaiveDate, today: NaiveDate) -> Option<&'static str> {
    match act {
        PaperAct::Confirmation if a.confirmed_at.is_some() => Some("This appointment is already confirmed."),
        PaperAct::Confirmation if a.appointed_by.is_none() => Some("Record who made the appointment first: they are the one who signed the letter."),
        PaperAct::Acceptance if a.accepted_at.is_some() => Some("This role was already accepted."),
        _ if on > today => Some("The letter cannot have been signed in the future: choose today or an earlier day."),
        _ if a.ended_on.into_iter().chain(a.person_end_date).any(|end| on >= end) => {
            Some("The appointment had ended by that day: choose a day while it was held.")
        }
        _ if a.appointed_on.is_some_and(|d| on < d) => Some("The letter was signed on the day of the appointment or later: choose that day or a later one."),
        _ => None,
    }
}

/// Records an appointment letter signed on paper before Mandate, on its day:
/// by the appointer (their confirmation) or the holder (their acceptance).
/// Entered by the actor (whose account `recorded_by` is), marked everywhere
/// as on paper, by which account and when, never as an act made in
/// Mandate; it counts from its own day, views of past days too
/// (`role_appointments_known_on`), and the appointment exists from the day
/// it was made.
pub async fn record_paper(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    a: &Appointment,
    paper: PaperRecord,
) -> AppResult<()> {
    let PaperRecord { act, on, recorded_by } = paper;
    if let Some(why) = paper_blocker(a, act, on, now.date_naive()) {
        return Err(AppError::Conflict(why.into()));
    }
    let at = on.and_time(chrono::NaiveTime::MIN).and_utc();
    let made = a.appointed_on.map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()).unwrap_or(at);
    // The titles as attribution::title_sql reads them.
    let done = match act {
        PaperAct::Confirmation => sqlx::query!(
            "UPDATE role_appointments SET confirmed_at = $3, confirmed_as = appointed_by,
                    confirmed_title = (SELECT NULLIF(btrim(t.job_title), '') FROM people t WHERE t.org_id = $1 AND t.id = role_appointments.appointed_by),
                    confirmed_recorded_by = $4, confirmed_recorded_at = $5, created_at = LEAST(created_at, $6)
              WHERE org_id = $1 AND id = $2 AND confirmed_at IS NULL AND appointed_by IS NOT NULL",
            org_id.0,
            a.id.0,
            at,
            recorded_by.0,
            now,
            made,
        )
        .execute(&mut *conn)
        .await?,
        PaperAct::Acceptance => sqlx::query!(
            "UPDATE role_appointments SET accepted_at = $3, accepted_via = 'paper', accepted_from = '', accepted_agent = '', accepted_as = person_id,
                    accepted_title = (SELECT NULLIF(btrim(t.job_title), '') FROM people t WHERE t.org_id = $1 AND t.id = role_appointments.person_id),
                    accepted_recorded_by = $4, accepted_recorded_at = $5, created_at = LEAST(created_at, $6)
              WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL",
            org_id.0,
            a.id.0,
            at,
            recorded_by.0,
            now,
            made,
        )
        .execute(&mut *conn)
        .await?,
    };
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict(match act {
            PaperAct::Confirmation => "This appointment is already confirmed.",
            PaperAct::Acceptance => "This role was already accepted.",
        }
        .into()));
    }
    // The role existed from then on too, for views of past days.
    sqlx::query!("UPDATE isms_roles SET created_at = LEAST(created_at, $3) WHERE org_id = $1 AND id = $2", org_id.0, a.role_id.0, made)
        .execute(&mut *conn)
        .await?;
    let (action, who) = match act {
        PaperAct::Confirmation => ("appointment.confirmed_on_paper", a.appointer_name.clone().unwrap_or_default()),
        PaperAct::Acceptance => ("appointment.accepted_on_paper", a.person_name.clone()),
    };
    audit::record(conn, actor, now, action, "appointment", a.id, json!({"role": a.role_name, "person": a.person_name, "signed_by": who, "signed_on": on}))
        .await?;
    Ok(())
}

/// How a holder accepted, and from where.
#[derive(Debug, Clone)]
pub struct Acceptance {
    pub via: AcceptedVia,
    pub client_addr: String,
    pub user_agent: String,
    /// For a personal link: the SHA-256 of its secret, which must still be
    /// the appointment's current, unexpired link.
    pub token_hash: Option<Vec<u8>>,
}

pub async fn accept(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    a: &Appointment,
    how: &Acceptance,
) -> AppResult<()> {
    let today = now.date_naive();
    if a.accepted_at.is_some() {
        return Err(AppError::Conflict("This role was already accepted.".into()));
    }
    if a.is_ended(today) || a.holder_left(today) {
        return Err(AppError::Conflict("This appointment has ended and can no longer be accepted.".into()));
    }
    let user_agent: String = how.user_agent.chars().take(500).collect();
    // The holder accepts: with the actor's account when signed in, with none through the link.
    // The title as attribution::title_sql reads it.
    crate::history::stamp(&mut *conn, now).await?;
    let done = sqlx::query!(
        "UPDATE role_appointments
            SET accepted_at = $3, accepted_via = $4, accepted_from = $5, accepted_agent = $6,
                accepted_by = $8, accepted_as = person_id,
                accepted_title = (SELECT NULLIF(btrim(t.job_title), '') FROM people t
                                   WHERE t.org_id = $1 AND t.id = role_appointments.person_id)
          WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL
            AND ($7::bytea IS NULL OR (accept_token_hash = $7 AND accept_token_expires_at > $3))",
        org_id.0,
        a.id.0,
        now,
        how.via.as_str(),
        how.client_addr,
        user_agent,
        how.token_hash,
        if how.via == AcceptedVia::Link { None } else { actor.user_id.map(|u| u.0) },
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict("This role was already accepted, or this link was replaced by a newer one.".into()));
    }
    audit::record(
        conn,
        actor,
        now,
        "appointment.accepted",
        "appointment",
        a.id,
        json!({"role": a.role_name, "person": a.person_name, "via": how.via.as_str(), "address": how.client_addr, "user_agent": user_agent}),
    )
    .await?;
    Ok(())
}

/// The appointment a personal link points to, with its organisation's name.
pub async fn by_token(conn: &mut PgConnection, token: &str) -> AppResult<Option<(OrgId, String, AppointmentId)>> {
    Ok(sqlx::query!(
        r#"SELECT a.org_id AS "org_id: OrgId", o.name, a.id AS "id: AppointmentId"
             FROM role_appointments a JOIN organisations o ON o.id = a.org_id
            WHERE a.accept_token_hash = $1"#,
        hash_token(token),
    )
    .fetch_optional(conn)
    .await?
    .map(|r| (r.org_id, r.name, r.id)))
}

/// A fresh acceptance link (the old one stops working).
pub async fn new_link(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, a: &Appointment) -> AppResult<String> {
    if a.accepted_at.is_some() {
        return Err(AppError::Conflict("The holder has already accepted this role.".into()));
    }
    if a.is_ended(now.date_naive()) || a.holder_left(now.date_naive()) {
        return Err(AppError::Conflict("This appointment has ended.".into()));
    }
    let token = random_token();
    crate::history::stamp(&mut *conn, now).await?;
    sqlx::query!(
        "UPDATE role_appointments SET accept_token_hash = $3, accept_token_expires_at = $4 WHERE org_id = $1 AND id = $2",
        org_id.0,
        a.id.0,
        hash_token(&token),
        now + Duration::days(LINK_DAYS),
    )
    .execute(&mut *conn)
        .await?;
    audit::record(conn, actor, now, "appointment.link_renewed", "appointment", a.id, json!({"person": a.person_name})).await?;
    Ok(token)
}

pub async fn end(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    a: &Appointment,
    ended_on: NaiveDate,
    reason: &str,
) -> AppResult<()> {
    if a.is_ended(now.date_naive()) {
        return Err(AppError::Conflict("This appointment has already ended.".into()));
    }
    if a.appointed_on.is_some_and(|d| ended_on < d) {
        return Err(AppError::BadRequest("The end date is before the appointment date.".into()));
    }
    crate::history::stamp(&mut *conn, now).await?;
    sqlx::query!(
        "UPDATE role_appointments SET ended_on = $3, ended_reason = $4 WHERE org_id = $1 AND id = $2",
        org_id.0,
        a.id.0,
        ended_on,
        reason,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        "appointment.ended",
        "appointment",
        a.id,
        json!({"role": a.role_name, "person": a.person_name, "ended_on": ended_on, "reason": reason}),
    )
    .await?;
    Ok(())
}

pub async fn set_hats_note(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, a: &Appointment, note: &str) -> AppResult<bool> {
    if a.hats_note == note {
        return Ok(false);
    }
    crate::history::stamp(&mut *conn, now).await?;
    sqlx::query!("UPDATE role_appointments SET hats_note = $3 WHERE org_id = $1 AND id = $2", org_id.0, a.id.0, note)
        .execute(&mut *conn)
        .await?;
    audit::record(conn, actor, now, "appointment.hats_noted", "appointment", a.id, json!({"note": [a.hats_note, note]})).await?;
    Ok(true)
}

crate::text_enum! {
    /// What a cell of the matrix holds (an empty cell holds none).
    pub enum Letters {
        R = "R" => "Responsible",
        A = "A" => "Accountable",
        AR = "AR" => "Accountable and responsible",
        C = "C" => "Consulted",
        I = "I" => "Informed",
    }
}

impl Letters {
    /// Whether the role answers for the activity (the one-A rule counts these).
    pub fn is_accountable(self) -> bool {
        matches!(self, Letters::A | Letters::AR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn appointment() -> Appointment {
        Appointment {
            id: AppointmentId::new(),
            role_id: RoleId::nil(),
            role_name: "ISMS lead".into(),
            person_id: PersonId::new(),
            person_name: "Alice".into(),
            person_user_id: None,
            person_top_management: false,
            person_end_date: None,
            capacity: Capacity::Holder,
            appointed_by: Some(PersonId::new()),
            appointer_name: Some("Ceo".into()),
            appointer_top_management: Some(true),
            appointer_user_id: None,
            appointed_on: Some(d("2026-01-10")),
            confirmed_at: None,
            confirmation_bound: false,
            hats_note: String::new(),
            accept_token_expires_at: None,
            accepted_at: Some(Utc::now()),
            accepted_via: Some(AcceptedVia::Link),
            ended_on: None,
            ended_reason: String::new(),
            carries_conformance: true,
            carries_reporting: false,
            confirmed_title: None,
            confirmed_account: None,
            accepted_title: None,
            accepted_account: None,
            accepted_from: Some("192.0.2.10".into()),
            confirmed_recorded_account: None,
            confirmed_recorded_at: None,
            accepted_recorded_account: None,
            accepted_recorded_at: None,
        }
    }

    #[test]
    fn paper_records_say_so_and_keep_to_their_days() {
        let today = d("2026-11-02");
        let a = Appointment { accepted_at: None, accepted_via: None, accepted_from: None, ..appointment() };
        assert_eq!(paper_blocker(&a, PaperAct::Confirmation, d("2026-01-10"), today), None);
        assert!(paper_blocker(&a, PaperAct::Acceptance, d("2026-11-03"), today).is_some_and(|w| w.contains("in the future")));
        assert!(paper_blocker(&a, PaperAct::Acceptance, d("2026-01-09"), today).is_some_and(|w| w.contains("day of the appointment")));
        assert!(paper_blocker(&Appointment { appointed_by: None, ..a.clone() }, PaperAct::Confirmation, d("2026-02-01"), today).is_some_and(|w| w.contains("who made")));
        // A former holder's letter is recorded for the time they held the role, not after.
        let ended = Appointment { ended_on: Some(d("2026-06-01")), ..a.clone() };
        assert_eq!(paper_blocker(&ended, PaperAct::Acceptance, d("2026-02-01"), today), None);
        assert!(paper_blocker(&ended, PaperAct::Acceptance, d("2026-06-01"), today).is_some_and(|w| w.contains("ended by that day")));
        assert!(paper_blocker(&Appointment { person_end_date: Some(d("2026-03-01")), ..a.clone() }, PaperAct::Confirmation, d("2026-04-01"), today).is_some_and(|w| w.contains("ended")));
        let paper = Appointment {
            accepted_at: Some(Utc::now()),
            accepted_via: Some(AcceptedVia::Paper),
            accepted_recorded_account: Some("lead@acme.example".into()),
            confirmed_at: Some(Utc::now()),
            confirmed_title: Some("Chief Executive".into()),
            confirmed_recorded_account: Some("ceo@acme.example".into()),
            ..a
        };
        assert_eq!(paper.acceptance_byline(), "Alice, on paper, recorded in Mandate by lead@acme.example");
        assert_eq!(paper.confirmation_byline(), "Ceo, Chief Executive, on paper, recorded in Mandate by ceo@acme.example");
        assert!(paper_blocker(&paper, PaperAct::Confirmation, d("2026-02-01"), today).is_some_and(|w| w.contains("already")));
        assert!(paper_blocker(&paper, PaperAct::Acceptance, d("2026-02-01"), today).is_some_and(|w| w.contains("already")));
    }

    #[test]
    fn acceptance_says_which_account_or_link() {
        let a = appointment();
        assert_eq!(a.acceptance_byline(), "Alice, by personal link from 192.0.2.10");
        let signed_in = Appointment { accepted_via: Some(AcceptedVia::SignedIn), accepted_account: Some("alice@acme.example".into()), accepted_title: Some("Analyst".into()), ..a.clone() };
        assert_eq!(signed_in.acceptance_byline(), "Alice, Analyst, signed in as alice@acme.example");
        let confirmed = Appointment { confirmed_account: Some("ceo@acme.example".into()), ..a };
        assert_eq!(confirmed.confirmation_byline(), "Ceo, signed in as ceo@acme.example");
    }

    #[test]
    fn a_leaver_leaves_the_role_vacant() {
        let mut a = appointment();
        let today = d("2026-06-01");
        assert!(!is_vacant(RoleId::nil(), std::slice::from_ref(&a), today));
        a.person_end_date = Some(d("2026-06-01"));
        assert!(is_vacant(RoleId::nil(), std::slice::from_ref(&a), today));
        assert!(!is_vacant(RoleId::nil(), std::slice::from_ref(&a), d("2026-05-31")), "still there the day before");
    }

    #[test]
    fn deputies_and_ended_appointments_do_not_fill_a_role() {
        let today = d("2026-06-01");
        let mut deputy = appointment();
        deputy.capacity = Capacity::Deputy;
        assert!(is_vacant(RoleId::nil(), &[deputy], today));
        let mut ended = appointment();
        ended.ended_on = Some(d("2026-05-01"));
        assert!(is_vacant(RoleId::nil(), &[ended], today));
    }

    #[test]
    fn only_top_management_appoints_unless_insisted() {
        assert!(check_appointer(true, false).is_ok());
        assert!(check_appointer(false, false).is_err());
        assert!(check_appointer(false, true).is_ok());
    }

    #[test]
    fn flags_name_what_an_auditor_questions() {
        assert!(appointment().flags().is_empty());
        let mut a = appointment();
        a.appointer_top_management = Some(false);
        a.appointed_on = None;
        a.accepted_at = None;
        a.person_top_management = true;
        assert_eq!(
            a.flags(),
            vec![Flag::AppointerNotTopManagement, Flag::NoAppointmentDate, Flag::NotAccepted, Flag::HatsNotDocumented]
        );
        a.hats_note = "Acts as ISMS lead in operational meetings, as CEO at the management review.".into();
        assert!(!a.flags().contains(&Flag::HatsNotDocumented));
    }
}
