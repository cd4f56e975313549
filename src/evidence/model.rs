//! Evidence items, their revisions and their links, and the rules for how
//! long a piece of evidence counts.
use crate::ids::{EvidenceId, OrgId, PersonId, RevisionId, UserId};
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use crate::web::pager::{Pager, Position};
use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use futures_util::TryStreamExt;
use futures_util::stream::BoxStream;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

crate::text_enum! {
    /// What kind of evidence an item is.
    pub enum Kind {
        Document = "document" => "Document",
        Minutes = "minutes" => "Meeting minutes",
        SignedStatement = "signed_statement" => "Signed statement",
        Screenshot = "screenshot" => "Screenshot",
        RecordExport = "record_export" => "Record export",
        ExternalLink = "external_link" => "External link",
    }
}

crate::text_enum! {
    /// How an item stands on a given day (the register filters by these values).
    pub enum Validity {
        Current = "current" => "Current",
        /// Ends within `EXPIRING_DAYS`.
        Expiring = "expiring" => "Expiring soon",
        Expired = "expired" => "Expired",
    }
}

pub const EXPIRING_DAYS: i64 = 30;

/// The last day an item counts: a fixed date, or the evidence date plus
/// the review interval. `None`: it does not expire.
pub fn expires_on(evidence_date: Option<NaiveDate>, valid_until: Option<NaiveDate>, interval_months: Option<i32>) -> Option<NaiveDate> {
    valid_until.or_else(|| {
        let months = u32::try_from(interval_months?).ok()?;
        evidence_date?.checked_add_months(Months::new(months))
    })
}

pub fn validity(expires: Option<NaiveDate>, today: NaiveDate) -> Validity {
    match expires {
        Some(e) if e < today => Validity::Expired,
        Some(e) if (e - today).num_days() <= EXPIRING_DAYS => Validity::Expiring,
        _ => Validity::Current,
    }
}

/// What forms set about an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFields {
    pub title: String,
    pub description: String,
    pub kind: Kind,
    pub external_url: Option<String>,
    pub evidence_date: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub review_interval_months: Option<i32>,
    pub owner_id: Option<PersonId>,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub id: EvidenceId,
    pub title: String,
    pub description: String,
    pub kind: Kind,
    pub external_url: Option<String>,
    pub evidence_date: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub review_interval_months: Option<i32>,
    pub owner_id: Option<PersonId>,
    pub owner_name: Option<String>,
    pub owner_user_id: Option<UserId>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub revisions: i64,
    pub latest_id: Option<RevisionId>,
    pub latest_filename: Option<String>,
    pub latest_size: Option<i64>,
    pub latest_at: Option<DateTime<Utc>>,
    pub expires: Option<NaiveDate>,
}

impl Item {
    pub fn validity(&self, today: NaiveDate) -> Validity {
        validity(self.expires, today)
    }
    pub fn fields(&self) -> ItemFields {
        ItemFields {
            title: self.title.clone(),
            description: self.description.clone(),
            kind: self.kind,
            external_url: self.external_url.clone(),
            evidence_date: self.evidence_date,
            valid_until: self.valid_until,
            review_interval_months: self.review_interval_months,
            owner_id: self.owner_id,
        }
    }
    /// Whether `user` may change it without the right to change any item.
    pub fn is_theirs(&self, user: UserId) -> bool {
        self.owner_user_id == Some(user) || self.created_by == Some(user)
    }
}

pub fn human_size(bytes: i64) -> String {
    let b = bytes as f64;
    match bytes {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.0} KiB", b / 1024.0),
        n if n < 1024 * 1024 * 1024 => format!("{:.1} MiB", b / (1024.0 * 1024.0)),
        _ => format!("{:.2} GiB", b / (1024.0 * 1024.0 * 1024.0)),
    }
}

/// The evidence SQL that several queries share, written once. Each arm
/// calls `$m!(<pre> <fragment> <post>)`, so the pieces join into one
/// literal for the compile-checked macros (`"a" + "b"`):
/// - `items`: the columns of an [`Item`] with its owner, latest revision and expiry;
/// - `expires`: the last day an item counts (`e.expires`, as [`expires_on`] computes it);
/// - `filtered <arm>`: `<arm>` followed by the register's filter (see [`Filter`]):
///   `$1` org, `$2` title words, `$3` requirement, `$4` owner or `none`,
///   `$5` validity, `$6` today, `$7` [`EXPIRING_DAYS`];
/// - `targets`: every record of the organisation (`$1`) an item can be linked to,
///   with a label, the page that shows it and a sort key.
macro_rules! evidence_sql {
    (items $m:ident { $($pre:tt)* } { $($post:tt)* }) => {
        evidence_sql!(expires $m { $($pre)* r#"SELECT i.id AS "id: EvidenceId", i.title, i.description, i.kind AS "kind: Kind",
                i.external_url, i.evidence_date, i.valid_until, i.review_interval_months, i.owner_id AS "owner_id: PersonId",
                p.name AS "owner_name?", p.user_id AS "owner_user_id?: UserId", i.created_by AS "created_by: UserId", i.created_at,
                COALESCE(r.revisions, 0) AS "revisions!", r.latest_id AS "latest_id?: RevisionId",
                r.latest_filename AS "latest_filename?", r.latest_size AS "latest_size?", r.latest_at AS "latest_at?",
                e.expires AS "expires?"
           FROM evidence_items i
           LEFT JOIN people p ON p.org_id = i.org_id AND p.id = i.owner_id
           LEFT JOIN LATERAL (
                SELECT count(*) OVER () AS revisions, v.id AS latest_id, v.filename AS latest_filename, v.size AS latest_size,
                       v.uploaded_at AS latest_at
                  FROM evidence_revisions v WHERE v.org_id = i.org_id AND v.item_id = i.id
                 ORDER BY v.number DESC LIMIT 1) r ON true
         "# + } { $($post)* })
    };
    (expires $m:ident { $($pre:tt)* } { $($post:tt)* }) => {
        sqlx::$m!($($pre)* "CROSS JOIN LATERAL (SELECT COALESCE(i.valid_until,
                          (i.evidence_date + make_interval(months => i.review_interval_months))::date) AS expires) e
         " $($post)*)
    };
    (filtered $arm:ident $m:ident { $($pre:tt)* } { $($post:tt)* }) => {
        evidence_sql!($arm $m { $($pre)* } { + "WHERE i.org_id = $1
            AND ($2::text IS NULL OR i.title ILIKE '%' || $2 || '%')
            AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM evidence_links l WHERE l.org_id = $1 AND l.item_id = i.id
                                              AND l.target_kind = 'requirement' AND l.target_id = $3))
            AND CASE WHEN $4::text IS NULL THEN true WHEN $4 = 'none' THEN i.owner_id IS NULL ELSE i.owner_id::text = $4 END
            AND CASE $5::text
                  WHEN 'current' THEN e.expires IS NULL OR e.expires > $6::date + $7::int
                  WHEN 'expiring' THEN e.expires >= $6 AND e.expires <= $6::date + $7::int
                  WHEN 'expired' THEN e.expires < $6
                  ELSE true END
         " $($post)* })
    };
    (targets $m:ident { $($pre:tt)* } { $($post:tt)* }) => {
        sqlx::$m!($($pre)* "
    SELECT 'requirement' AS kind, r.id, r.code || ' ' || r.title AS label, '/requirements/' || r.id AS href, r.framework || lpad(r.position::text, 4, '0') AS sort
      FROM requirements r WHERE r.retired_at IS NULL
    UNION ALL
    SELECT 'appointment', a.id, r.name || ': ' || p.name || ' (' || a.capacity || ')', '/roles/' || r.id, 'z' || r.position::text
      FROM role_appointments a
      JOIN isms_roles r ON r.org_id = a.org_id AND r.id = a.role_id
      JOIN people p ON p.org_id = a.org_id AND p.id = a.person_id
     WHERE a.org_id = $1
    UNION ALL
    SELECT 'policy_version', v.id, p.title || ' v' || v.major || '.' || v.minor, '/policies/versions/' || v.id, 'y' || p.title
      FROM policy_versions v JOIN policies p ON p.org_id = v.org_id AND p.id = v.policy_id
     WHERE v.org_id = $1
    UNION ALL
    SELECT 'meeting', m.id, m.title || COALESCE(' (' || m.held_on::text || ')', ''), '/meetings/' || m.id, 'ya' || COALESCE(m.held_on::text, '')
      FROM meetings m WHERE m.org_id = $1
    UNION ALL
    SELECT 'action_item', a.id, a.title, '/actions/' || a.id, 'yb' || a.title
      FROM action_items a WHERE a.org_id = $1
    UNION ALL
    SELECT 'resource_decision', d.id, d.title, '/decisions/' || d.id, 'yc' || d.title
      FROM resource_decisions d WHERE d.org_id = $1
    UNION ALL
    SELECT 'communication', c.id, c.subject || ' (' || c.sent_on::text || ')', '/communications/' || c.id, 'yd' || c.sent_on::text
      FROM communications c WHERE c.org_id = $1
    UNION ALL
    SELECT 'objective', o.id, o.title, '/objectives/' || o.id, 'ye' || o.title
      FROM objectives o WHERE o.org_id = $1
    UNION ALL
    SELECT 'evidence_request', q.id, 'Request on ' || r.code || ': ' || left(q.question, 80), '/evidence-requests/' || q.id, 'yf' || q.asked_at::text
      FROM evidence_requests q JOIN requirements r ON r.id = q.requirement_id WHERE q.org_id = $1" $($post)*)
    };
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub q: String,
    /// A requirement id.
    #[serde(default)]
    pub requirement: String,
    /// A person id, or `none`.
    #[serde(default)]
    pub owner: String,
    /// current, expiring, expired
    #[serde(default)]
    pub status: String,
    /// Where the page starts (`web::pager::Position`).
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub at: Option<i64>,
}

impl Filter {
    pub fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("q", &self.q)
            .append_pair("requirement", &self.requirement)
            .append_pair("owner", &self.owner)
            .append_pair("status", &self.status);
        q.finish()
    }

    pub fn position(&self) -> Position {
        Position { after: self.after.clone(), at: self.at }
    }

    /// The values the filter's query takes (`$2`..`$5`): blank means any.
    fn args(&self) -> (Option<String>, Option<Uuid>, Option<String>, Option<String>) {
        let opt = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_string());
        (opt(&self.q), self.requirement.trim().parse::<Uuid>().ok(), opt(&self.owner), opt(&self.status))
    }
}

/// Where a page of the register starts: after the item created at this
/// time with this id (the list's order, newest first).
pub type PageKey = (DateTime<Utc>, Uuid);

/// Items matching the filter, newest first: `limit` rows after `after`
/// (`None`, `None`: all of them, for the CSV export).
pub fn filtered<'c>(
    db: &'c PgPool,
    org_id: OrgId,
    f: &Filter,
    today: NaiveDate,
    limit: Option<i64>,
    after: Option<PageKey>,
) -> BoxStream<'c, Result<Item, sqlx::Error>> {
    let (q, requirement, owner, status) = f.args();
    let (after_at, after_id) = after.unzip();
    evidence_sql!(filtered items query_as { Item, } { + "AND ($9::timestamptz IS NULL OR (i.created_at, i.id) < ($9, $10::uuid))
          ORDER BY i.created_at DESC, i.id DESC LIMIT $8",
        org_id.0, q, requirement, owner, status, today, EXPIRING_DAYS as i32, limit, after_at, after_id })
    .fetch(db)
}

/// One page of the items matching the filter.
pub async fn list(db: &PgPool, org_id: OrgId, f: &Filter, today: NaiveDate, pager: &mut Pager, after: Option<PageKey>) -> AppResult<Vec<Item>> {
    let mut items = filtered(db, org_id, f, today, Some(pager.limit()), after).try_collect().await?;
    pager.trim(&mut items, |i: &Item| (i.created_at, i.id.0));
    Ok(items)
}

/// How many items match the filter, counted up to `cap`.
pub async fn count(db: &PgPool, org_id: OrgId, f: &Filter, today: NaiveDate, cap: i64) -> AppResult<i64> {
    let (q, requirement, owner, status) = f.args();
    Ok(evidence_sql!(filtered expires query_scalar { r#"SELECT count(*) AS "n!" FROM (SELECT 1 FROM evidence_items i "# + } { + " LIMIT $8) capped",
        org_id.0, q, requirement, owner, status, today, EXPIRING_DAYS as i32, cap })
    .fetch_one(db)
    .await?)
}

pub async fn get(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: EvidenceId) -> AppResult<Item> {
    evidence_sql!(items query_as { Item, } { + "WHERE i.org_id = $1 AND i.id = $2", org_id.0, id.0 })
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Items linked to one record (a requirement's evidence, say).
pub async fn for_target(db: &PgPool, org_id: OrgId, target: Target) -> AppResult<Vec<Item>> {
    first_for_target(db, org_id, target, None).await
}

/// The `limit` items linked to one record most recently (`None`: all of
/// them), newest evidence date first.
pub async fn first_for_target(db: &PgPool, org_id: OrgId, target: Target, limit: Option<i64>) -> AppResult<Vec<Item>> {
    Ok(evidence_sql!(items query_as { Item, } { + "JOIN (SELECT item_id FROM evidence_links WHERE org_id = $1 AND target_kind = $2 AND target_id = $3
                                   ORDER BY linked_at DESC LIMIT $4) l ON l.item_id = i.id
          WHERE i.org_id = $1 ORDER BY i.evidence_date DESC NULLS LAST, i.title",
        org_id.0, target.kind.as_str(), target.id, limit })
    .fetch_all(db)
    .await?)
}

#[derive(Debug, Clone)]
pub struct Revision {
    pub id: RevisionId,
    pub number: i32,
    pub object_key: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: Vec<u8>,
    pub uploaded_by_name: Option<String>,
    pub uploaded_at: DateTime<Utc>,
}

impl Revision {
    pub fn sha256_hex(&self) -> String {
        hex::encode(&self.sha256)
    }
    pub fn human_size(&self) -> String {
        human_size(self.size)
    }
}

/// An item's revisions (`$2`) or one revision (`$3`), newest first.
macro_rules! select_revisions {
    ($org:expr, $item:expr, $id:expr) => {
        sqlx::query_as!(
            Revision,
            r#"SELECT v.id AS "id: RevisionId", v.number, v.object_key, v.filename, v.content_type, v.size, v.sha256,
                      u.name AS "uploaded_by_name?", v.uploaded_at
                 FROM evidence_revisions v LEFT JOIN users u ON u.id = v.uploaded_by
                WHERE v.org_id = $1 AND ($2::uuid IS NULL OR v.item_id = $2) AND ($3::uuid IS NULL OR v.id = $3)
                ORDER BY v.number DESC"#,
            $org.0,
            $item,
            $id,
        )
    };
}

pub async fn revisions(db: &PgPool, org_id: OrgId, item_id: EvidenceId) -> AppResult<Vec<Revision>> {
    Ok(select_revisions!(org_id, Some(item_id.0), None::<Uuid>).fetch_all(db).await?)
}

pub async fn revision(db: &PgPool, org_id: OrgId, id: RevisionId) -> AppResult<Revision> {
    select_revisions!(org_id, None::<Uuid>, Some(id.0)).fetch_optional(db).await?.ok_or(AppError::NotFound)
}

/// Whether a revision's row was written (a commit can fail to report success).
pub async fn revision_recorded(db: &PgPool, org_id: OrgId, id: RevisionId) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM evidence_revisions WHERE org_id = $1 AND id = $2) AS "recorded!""#,
        org_id.0,
        id.0,
    )
    .fetch_one(db)
    .await
}

/// Bytes stored by an organisation, for its quota.
pub async fn usage(db: impl sqlx::PgExecutor<'_>, org_id: OrgId) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(r#"SELECT COALESCE(sum(size), 0)::bigint AS "used!" FROM evidence_revisions WHERE org_id = $1"#, org_id.0)
        .fetch_one(db)
        .await?)
}

/// Holds the organisation's quota while a file is recorded: concurrent
/// uploads are counted one after the other.
pub async fn reserve(conn: &mut PgConnection, org_id: OrgId, size: u64, quota: u64) -> AppResult<()> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('evidence-quota:' || $1::uuid::text))", org_id.0).execute(&mut *conn).await?;
    let used = usage(&mut *conn, org_id).await?;
    if used.max(0) as u64 + size > quota {
        return Err(AppError::Conflict("This file no longer fits in the organisation's evidence storage (another upload took the room). Nothing was saved.".into()));
    }
    Ok(())
}

fn item_details(f: &ItemFields) -> Value {
    json!({"title": f.title, "kind": f.kind.as_str(), "evidence_date": f.evidence_date, "valid_until": f.valid_until,
           "review_interval_months": f.review_interval_months, "owner_id": f.owner_id, "external_url": f.external_url})
}

async fn check_owner(conn: &mut PgConnection, org_id: OrgId, owner: Option<PersonId>) -> AppResult<()> {
    if let Some(o) = owner {
        let ok = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM people WHERE org_id = $1 AND id = $2) AS "ok!""#, org_id.0, o.0)
            .fetch_one(&mut *conn)
            .await?;
        if !ok {
            return Err(AppError::BadRequest("The chosen owner is not in this organisation's directory.".into()));
        }
    }
    Ok(())
}

pub async fn create(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, id: EvidenceId, f: &ItemFields) -> AppResult<()> {
    check_owner(conn, org_id, f.owner_id).await?;
    sqlx::query!(
        "INSERT INTO evidence_items (id, org_id, title, description, kind, external_url, evidence_date, valid_until,
                                     review_interval_months, owner_id, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        id.0,
        org_id.0,
        f.title,
        f.description,
        f.kind.as_str(),
        f.external_url,
        f.evidence_date,
        f.valid_until,
        f.review_interval_months,
        f.owner_id.map(|o| o.0),
        actor.user_id.map(|u| u.0),
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "evidence.created", "evidence", id, item_details(f)).await?;
    Ok(())
}

pub async fn update(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Item, f: &ItemFields) -> AppResult<bool> {
    let (old, new) = (item_details(&before.fields()), item_details(f));
    let mut changes = serde_json::Map::new();
    for (k, v) in new.as_object().into_iter().flatten() {
        if old.get(k) != Some(v) {
            changes.insert(k.clone(), json!([old.get(k), v]));
        }
    }
    if before.description != f.description {
        changes.insert("description".into(), json!("changed"));
    }
    if changes.is_empty() {
        return Ok(false);
    }
    check_owner(conn, org_id, f.owner_id).await?;
    sqlx::query!(
        "UPDATE evidence_items SET title = $3, description = $4, kind = $5, external_url = $6, evidence_date = $7,
                valid_until = $8, review_interval_months = $9, owner_id = $10, updated_at = $11
          WHERE org_id = $1 AND id = $2",
        org_id.0,
        before.id.0,
        f.title,
        f.description,
        f.kind.as_str(),
        f.external_url,
        f.evidence_date,
        f.valid_until,
        f.review_interval_months,
        f.owner_id.map(|o| o.0),
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "evidence.updated", "evidence", before.id, Value::Object(changes)).await?;
    Ok(true)
}

/// A stored file to record as the item's next revision.
pub struct NewRevision<'a> {
    pub id: RevisionId,
    pub key: &'a str,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size: u64,
    pub sha256: &'a [u8],
}

/// Records a file as the item's next revision; returns its number.
pub async fn add_revision(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, item_id: EvidenceId, r: &NewRevision<'_>) -> AppResult<i32> {
    // Lock the item so two uploads never take the same number.
    let exists = sqlx::query_scalar!("SELECT id FROM evidence_items WHERE org_id = $1 AND id = $2 FOR UPDATE", org_id.0, item_id.0)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        return Err(AppError::NotFound);
    }
    let number = sqlx::query_scalar!(
        "INSERT INTO evidence_revisions (id, org_id, item_id, number, object_key, filename, content_type, size, sha256, uploaded_by, uploaded_at)
         VALUES ($1, $2, $3, (SELECT COALESCE(max(number), 0) + 1 FROM evidence_revisions WHERE org_id = $2 AND item_id = $3),
                 $4, $5, $6, $7, $8, $9, $10)
         RETURNING number",
        r.id.0,
        org_id.0,
        item_id.0,
        r.key,
        r.filename,
        r.content_type,
        r.size as i64,
        r.sha256,
        actor.user_id.map(|u| u.0),
        now,
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!("UPDATE evidence_items SET updated_at = $3 WHERE org_id = $1 AND id = $2", org_id.0, item_id.0, now).execute(&mut *conn).await?;
    audit::record(
        conn,
        actor,
        now,
        "evidence.revised",
        "evidence",
        item_id,
        json!({"revision": number, "revision_id": r.id, "file": r.filename, "size": r.size, "sha256": hex::encode(r.sha256), "type": r.content_type}),
    )
    .await?;
    Ok(number)
}

// ---------- links ----------

crate::text_enum! {
    /// The kinds of record an item can be linked to. Later areas add theirs
    /// here and in the `targets` SQL of `evidence_sql!`; nothing else changes.
    pub enum TargetKind {
        Requirement = "requirement" => "Requirement",
        Appointment = "appointment" => "Role appointment",
        PolicyVersion = "policy_version" => "Policy version",
        Meeting = "meeting" => "Meeting",
        ActionItem = "action_item" => "Action item",
        ResourceDecision = "resource_decision" => "Resource decision",
        Communication = "communication" => "Leadership communication",
        Objective = "objective" => "Security objective",
        EvidenceRequest = "evidence_request" => "Auditor's evidence request",
    }
}

/// A record an item is (or may be) linked to. One generic link serves every
/// kind of record, so `id` is a bare UUID on purpose: which id type it is
/// depends on `kind` (a `RequirementId` for a requirement, a `MeetingId` for
/// a meeting, and so on), and the database checks it names a record of that
/// kind in this organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub kind: TargetKind,
    pub id: Uuid,
}

impl Target {
    /// As forms post it: `kind:id`.
    pub fn value(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.id)
    }
}

#[derive(Debug, Clone)]
pub struct TargetRow {
    pub kind: TargetKind,
    pub id: Uuid,
    pub label: String,
    pub href: String,
}

impl TargetRow {
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
    pub fn value(&self) -> String {
        Target { kind: self.kind, id: self.id }.value()
    }
}

/// Every record of the organisation an item can be linked to, with a label
/// and the page that shows it: one query for all kinds.
/// The requirements evidence can be linked to (the register's filter), as
/// `targets` lists them.
pub async fn requirement_targets(db: &PgPool) -> AppResult<Vec<TargetRow>> {
    Ok(sqlx::query_as!(
        TargetRow,
        r#"SELECT 'requirement' AS "kind!: TargetKind", r.id AS "id!", r.code || ' ' || r.title AS "label!", '/requirements/' || r.id AS "href!"
             FROM requirements r WHERE r.retired_at IS NULL ORDER BY r.framework, r.position"#
    )
    .fetch_all(db)
    .await?)
}

pub async fn targets(db: &PgPool, org_id: OrgId) -> AppResult<Vec<TargetRow>> {
    Ok(evidence_sql!(targets query_as {
        TargetRow, r#"SELECT kind AS "kind!: TargetKind", id AS "id!", label AS "label!", href AS "href!" FROM ("# +
    } { + ") t ORDER BY sort, label", org_id.0 })
    .fetch_all(db)
    .await?)
}

/// An item's links, labelled.
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub item_id: EvidenceId,
    pub kind: TargetKind,
    pub id: Uuid,
    pub label: String,
    pub href: String,
}

impl LinkRow {
    pub fn value(&self) -> String {
        Target { kind: self.kind, id: self.id }.value()
    }
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
}

/// The links of several items at once (lists show them without one query per item).
pub async fn links_of(db: &PgPool, org_id: OrgId, items: &[EvidenceId]) -> AppResult<Vec<LinkRow>> {
    let items: Vec<Uuid> = items.iter().map(|i| i.0).collect();
    Ok(evidence_sql!(targets query_as {
        LinkRow, r#"SELECT l.item_id AS "item_id: EvidenceId", t.kind AS "kind!: TargetKind", t.id AS "id!", t.label AS "label!",
                           t.href AS "href!"
                      FROM evidence_links l
                      JOIN ("# +
    } { + ") t ON t.kind = l.target_kind AND t.id = l.target_id
          WHERE l.org_id = $1 AND l.item_id = ANY($2) ORDER BY t.sort, t.label", org_id.0, &items })
    .fetch_all(db)
    .await?)
}

pub fn parse_target(raw: &str) -> Option<Target> {
    let (kind, id) = raw.split_once(':')?;
    Some(Target { kind: kind.parse().ok()?, id: id.parse().ok()? })
}

/// Links an item to a record of this organisation (unknown records answer 404).
pub async fn link(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, item_id: EvidenceId, target: Target) -> AppResult<bool> {
    let label = evidence_sql!(targets query_scalar { r#"SELECT label AS "label!" FROM ("# + } {
        + ") t WHERE t.kind = $2 AND t.id = $3", org_id.0, target.kind.as_str(), target.id })
    .fetch_optional(&mut *conn)
    .await?;
    let Some(label) = label else { return Err(AppError::NotFound) };
    ensure_open(conn, org_id, target).await?;
    let added = sqlx::query!(
        "INSERT INTO evidence_links (org_id, item_id, target_kind, target_id, linked_by, linked_at)
         SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM evidence_items WHERE org_id = $1 AND id = $2)
         ON CONFLICT DO NOTHING",
        org_id.0,
        item_id.0,
        target.kind.as_str(),
        target.id,
        actor.user_id.map(|u| u.0),
        now,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added == 0 {
        return Ok(false);
    }
    audit::record(conn, actor, now, "evidence.linked", "evidence", item_id, json!({"to": target.kind.as_str(), "id": target.id, "label": label}))
        .await?;
    Ok(true)
}

/// A signed-off meeting and a signed policy version are final records: the
/// evidence they were signed with cannot change either (the database
/// refuses too, with the same words; see `signed_record_refusal`).
async fn ensure_open(conn: &mut PgConnection, org_id: OrgId, target: Target) -> AppResult<()> {
    if target.kind == TargetKind::EvidenceRequest {
        // Locks the request, so a link never races with its closing.
        if crate::requests::model::lock(conn, org_id, crate::ids::EvidenceRequestId(target.id)).await? == crate::requests::model::Status::Closed {
            return Err(AppError::Conflict("This request is closed. The auditor can reopen it if they need more.".into()));
        }
        return Ok(());
    }
    if !matches!(target.kind, TargetKind::Meeting | TargetKind::PolicyVersion) {
        return Ok(());
    }
    // Locks the record, so a link never races with its signature.
    let refusal = sqlx::query_scalar!("SELECT signed_record_refusal($3, $1, $2)", org_id.0, target.id, target.kind.as_str())
        .fetch_one(&mut *conn)
        .await?;
    match refusal {
        Some(why) => Err(AppError::Conflict(why)),
        None => Ok(()),
    }
}

// ---------- evidence pinned by a signature ----------

/// An item a record was signed with, at the revision current then.
#[derive(Debug, Clone)]
pub struct Pinned {
    pub item_id: EvidenceId,
    /// The item's title when the record was signed.
    pub title: String,
    pub external_url: Option<String>,
    pub revision_id: Option<RevisionId>,
    pub number: Option<i32>,
    pub filename: Option<String>,
    pub size: Option<i64>,
    pub sha256: Option<Vec<u8>>,
    pub pinned_at: DateTime<Utc>,
}

impl Pinned {
    pub fn sha256_hex(&self) -> String {
        self.sha256.as_deref().map(hex::encode).unwrap_or_default()
    }
    pub fn human_size(&self) -> String {
        self.size.map(human_size).unwrap_or_default()
    }
    /// One line for exports: title, revision and file.
    pub fn describe(&self) -> String {
        match (self.number, &self.filename, &self.external_url) {
            (Some(n), Some(f), _) => format!("{} (revision {n}, {f}, SHA-256 {})", self.title, self.sha256_hex()),
            (_, _, Some(url)) => format!("{} (kept elsewhere: {url})", self.title),
            _ => self.title.clone(),
        }
    }
}

/// Records, in the signature's transaction, the revision current now of
/// every item linked to `target`. Returns how many items were pinned.
pub async fn pin(conn: &mut PgConnection, now: DateTime<Utc>, org_id: OrgId, target: Target) -> AppResult<u64> {
    Ok(sqlx::query!(
        "INSERT INTO evidence_pins (org_id, target_kind, target_id, item_id, revision_id, item_title, pinned_at)
         SELECT l.org_id, l.target_kind, l.target_id, l.item_id,
                (SELECT r.id FROM evidence_revisions r WHERE r.org_id = l.org_id AND r.item_id = l.item_id ORDER BY r.number DESC LIMIT 1),
                i.title, $4
           FROM evidence_links l JOIN evidence_items i ON i.org_id = l.org_id AND i.id = l.item_id
          WHERE l.org_id = $1 AND l.target_kind = $2 AND l.target_id = $3",
        org_id.0,
        target.kind.as_str(),
        target.id,
        now,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// What a signed record was signed with, by title.
pub async fn pinned(db: &PgPool, org_id: OrgId, target: Target) -> AppResult<Vec<Pinned>> {
    Ok(sqlx::query_as!(
        Pinned,
        r#"SELECT p.item_id AS "item_id: EvidenceId", p.item_title AS title, i.external_url, p.revision_id AS "revision_id: RevisionId",
                  r.number AS "number?", r.filename AS "filename?", r.size AS "size?", r.sha256 AS "sha256?", p.pinned_at
             FROM evidence_pins p
             JOIN evidence_items i ON i.org_id = p.org_id AND i.id = p.item_id
             LEFT JOIN evidence_revisions r ON r.org_id = p.org_id AND r.id = p.revision_id
            WHERE p.org_id = $1 AND p.target_kind = $2 AND p.target_id = $3
            ORDER BY p.item_title, p.item_id"#,
        org_id.0,
        target.kind.as_str(),
        target.id,
    )
    .fetch_all(db)
    .await?)
}

pub async fn unlink(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, item_id: EvidenceId, target: Target) -> AppResult<bool> {
    ensure_open(conn, org_id, target).await?;
    crate::history::stamp(&mut *conn, now).await?;
    let removed = sqlx::query!(
        "DELETE FROM evidence_links WHERE org_id = $1 AND item_id = $2 AND target_kind = $3 AND target_id = $4",
        org_id.0,
        item_id.0,
        target.kind.as_str(),
        target.id,
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if removed > 0 {
        audit::record(conn, actor, now, "evidence.unlinked", "evidence", item_id, json!({"from": target.kind.as_str(), "id": target.id})).await?;
    }
    Ok(removed > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn expiry_from_date_or_interval() {
        assert_eq!(expires_on(Some(d("2026-01-31")), None, Some(1)), Some(d("2026-02-28")));
        assert_eq!(expires_on(Some(d("2026-01-01")), Some(d("2026-06-01")), Some(12)), Some(d("2026-06-01")), "a fixed date wins");
        assert_eq!(expires_on(None, None, Some(12)), None);
        assert_eq!(expires_on(Some(d("2026-01-01")), None, None), None);
    }

    #[test]
    fn current_expiring_expired() {
        let today = d("2026-11-02");
        assert_eq!(validity(None, today), Validity::Current);
        assert_eq!(validity(Some(d("2026-12-03")), today), Validity::Current);
        assert_eq!(validity(Some(d("2026-12-02")), today), Validity::Expiring);
        assert_eq!(validity(Some(d("2026-11-02")), today), Validity::Expiring, "the last valid day");
        assert_eq!(validity(Some(d("2026-11-01")), today), Validity::Expired);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(human_size(5 * 1024 * 1024 + 1), "5.0 MiB");
    }
}
