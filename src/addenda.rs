//! Addenda: corrections to a signed record. A signed-off meeting and a
//! signed policy version never change; what needs correcting is added
//! under them as a dated note that names who wrote it (the person and the
//! account), and is never edited or removed (the database refuses too).
use crate::ids::{AddendumId, OrgId, PersonId, UserId};
use crate::audit::{self, Actor};
use crate::auth::policy::SignedRecord;
use crate::auth::session::Member;
use crate::error::AppResult;
use crate::people::attribution::{Via, byline};
use crate::people::model::Person;
use crate::web::form::parse_optional;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use uuid::Uuid;

crate::text_enum! {
    /// The kind of record an addendum is under (`addenda.target_kind`).
    pub enum AddendumTarget {
        Meeting = "meeting" => "Meeting",
        PolicyVersion = "policy_version" => "Policy version",
    }
}

/// The longest addendum, in characters.
pub const MAX_CHARS: usize = 4000;

fn kind(record: SignedRecord) -> &'static str {
    target(record).as_str()
}

fn target(record: SignedRecord) -> AddendumTarget {
    match record {
        SignedRecord::Meeting => AddendumTarget::Meeting,
        SignedRecord::PolicyVersion => AddendumTarget::PolicyVersion,
    }
}

#[derive(Debug, Clone)]
pub struct Addendum {
    pub id: AddendumId,
    pub body: String,
    pub author_name: String,
    pub author_title: String,
    /// The e-mail of the account that wrote it.
    pub account: Option<String>,
    pub written_at: DateTime<Utc>,
}

impl Addendum {
    /// "Name, Title, signed in as e-mail".
    pub fn byline(&self) -> String {
        byline(Some(&self.author_name), Some(&self.author_title), Via::from_parts(self.account.as_deref(), None))
    }
    /// One line for exports: day, who, text.
    pub fn line(&self) -> String {
        format!("{} {}: {}", self.written_at.format("%Y-%m-%d"), self.byline(), self.body)
    }
}

/// A record's addenda, oldest first. `id` is the meeting's or the policy
/// version's id, as `record` says.
pub async fn of(db: &PgPool, org_id: OrgId, record: SignedRecord, id: impl Into<Uuid>) -> AppResult<Vec<Addendum>> {
    Ok(sqlx::query_as!(
        Addendum,
        r#"SELECT a.id AS "id: AddendumId", a.body, a.author_name, a.author_title, u.email AS "account?", a.written_at
           FROM addenda a LEFT JOIN users u ON u.id = a.written_by
          WHERE a.org_id = $1 AND a.target_kind = $2 AND a.target_id = $3
          ORDER BY a.written_at, a.id"#,
        org_id.0,
        kind(record),
        id.into(),
    )
    .fetch_all(db)
    .await?)
}

/// The addenda of several records at once, one line each, oldest first.
pub async fn lines_of<I: Copy + Into<Uuid>>(db: &PgPool, org_id: OrgId, record: SignedRecord, ids: &[I]) -> AppResult<HashMap<Uuid, Vec<String>>> {
    let ids: Vec<Uuid> = ids.iter().map(|&i| i.into()).collect();
    // The lines as `lines_sql` writes them.
    let rows = sqlx::query!(
        r#"SELECT ad.target_id AS id,
                  to_char(ad.written_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') || ' ' ||
                      concat_ws(', ', ad.author_name, NULLIF(ad.author_title, ''), 'signed in as ' || adu.email) || ': ' || ad.body AS "line!"
             FROM addenda ad LEFT JOIN users adu ON adu.id = ad.written_by
            WHERE ad.org_id = $1 AND ad.target_kind = $2 AND ad.target_id = ANY($3)
            ORDER BY ad.target_id, ad.written_at, ad.id"#,
        org_id.0,
        kind(record),
        &ids,
    )
    .fetch_all(db)
    .await?;
    let mut out: HashMap<Uuid, Vec<String>> = HashMap::new();
    for r in rows {
        out.entry(r.id).or_default().push(r.line);
    }
    Ok(out)
}

/// An SQL expression for the addenda of the record `target` of kind `kind`
/// (both SQL), one line each as `Addendum::line` writes it, oldest first;
/// `cut` (SQL, or `None`) leaves out those written later.
pub fn lines_sql(kind: &str, org: &str, target: &str, cut: Option<&str>) -> String {
    let cut = cut.map(|c| format!(" AND ad.written_at < {c}")).unwrap_or_default();
    format!(
        "ARRAY(SELECT to_char(ad.written_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') || ' ' ||
                      concat_ws(', ', ad.author_name, NULLIF(ad.author_title, ''), 'signed in as ' || adu.email) || ': ' || ad.body
                 FROM addenda ad LEFT JOIN users adu ON adu.id = ad.written_by
                WHERE ad.org_id = {org} AND ad.target_kind = '{kind}' AND ad.target_id = {target}{cut}
                ORDER BY ad.written_at, ad.id)"
    )
}

/// Who writes an addendum: the member's account, as the person it acts for
/// in the directory (if any), with their name and title as they stand now.
pub struct Author {
    pub user_id: UserId,
    pub person_id: Option<PersonId>,
    pub name: String,
    pub title: String,
}

impl Author {
    pub fn of(me: &Member, person: Option<&Person>) -> Self {
        Author {
            user_id: me.user_id,
            person_id: person.map(|p| p.id),
            name: person.map(|p| p.name.clone()).unwrap_or_else(|| me.name.clone()),
            title: person.map(|p| p.job_title.clone()).unwrap_or_default(),
        }
    }
}

/// The addendum form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Form {
    #[serde(default)]
    pub addendum: String,
}

impl Form {
    pub fn parse(&self) -> Result<String, String> {
        match parse_optional(&self.addendum, "the addendum", MAX_CHARS, true) {
            Ok(v) if v.is_empty() => Err("Write the addendum: what is corrected or added, and why.".into()),
            other => other,
        }
    }
}

/// Adds an addendum to a signed record (the database refuses one for a
/// record that is not signed, or of another organisation).
#[allow(clippy::too_many_arguments)]
pub async fn add(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, record: SignedRecord, id: impl Into<Uuid>, author: &Author, body: &str) -> AppResult<AddendumId> {
    let id: Uuid = id.into();
    let addendum = AddendumId::new();
    sqlx::query!(
        "INSERT INTO addenda (id, org_id, target_kind, target_id, body, written_by, written_as, author_name, author_title, written_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        addendum.0,
        org_id.0,
        kind(record),
        id,
        body,
        author.user_id.0,
        author.person_id.map(|p| p.0),
        author.name,
        author.title,
        now,
    )
    .execute(&mut *conn)
    .await?;
    let action = match record {
        SignedRecord::Meeting => "meeting.addendum_added",
        SignedRecord::PolicyVersion => "policy_version.addendum_added",
    };
    audit::record(conn, actor, now, action, kind(record), id, json!({"addendum": addendum, "author": author.name, "as": author.person_id, "text": body})).await?;
    Ok(addendum)
}
