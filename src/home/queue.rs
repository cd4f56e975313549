//! What a member's home page lists as their work: each list one query with
//! a fixed limit and the total beside it, whatever the organisation's size.
use crate::error::AppResult;
use crate::ids::{OrgId, UserId};
use chrono::NaiveDate;
use sqlx::PgPool;

/// How many items a home-page list shows; the rest are counted.
pub const SHOWN: i64 = 8;

/// One piece of work: what kind, what, where it is done, by when.
#[derive(Debug, Clone)]
pub struct Item {
    pub kind: String,
    pub title: String,
    pub href: String,
    pub due_on: Option<NaiveDate>,
}

impl Item {
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.due_on.is_some_and(|d| d < today)
    }
}

/// A list's first items and how many there are in all.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    pub items: Vec<Item>,
    pub total: i64,
}

impl Listed {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Items left out of the list.
    pub fn more(&self) -> i64 {
        self.total - i64::try_from(self.items.len()).unwrap_or(0)
    }
}

struct Row {
    kind: String,
    title: String,
    href: String,
    due_on: Option<NaiveDate>,
    total: i64,
}

fn listed(rows: Vec<Row>) -> Listed {
    let total = rows.first().map(|r| r.total).unwrap_or(0);
    Listed { items: rows.into_iter().map(|r| Item { kind: r.kind, title: r.title, href: r.href, due_on: r.due_on }).collect(), total }
}

/// What the member owns, has not finished and may work on: corrective
/// actions handed to their account, and, as the person they act for, open
/// action items (for those who update them) and requirements not yet
/// implemented (for those who edit them). Soonest due first.
pub async fn owned(db: &PgPool, org_id: OrgId, user_id: UserId, role: crate::auth::policy::Role) -> AppResult<Listed> {
    use crate::auth::policy::{self, Action};
    let actions = policy::allows(role, Action::ManageLeadership);
    let requirements = policy::may_edit_requirement(role, true);
    let rows = sqlx::query_as!(
        Row,
        r#"WITH me AS (SELECT id FROM people WHERE org_id = $1 AND acting_user_id = $2),
                work AS (
                  SELECT 'Corrective action' AS kind, f.title, '/findings/' || f.id AS href, f.due_on
                    FROM findings f WHERE f.org_id = $1 AND f.owner_id = $2 AND f.status = 'open'
                  UNION ALL
                  SELECT 'Action item', a.title, '/actions/' || a.id, a.due_on
                    FROM action_items a JOIN me ON a.owner_id = me.id WHERE a.org_id = $1 AND a.status = 'open' AND $4
                  UNION ALL
                  SELECT 'Requirement', r.code || ' ' || r.title, '/requirements/' || r.id, NULL::date
                    FROM requirement_states s JOIN me ON s.owner_id = me.id JOIN requirements r ON r.id = s.requirement_id
                   WHERE s.org_id = $1 AND s.applicable AND s.status <> 'implemented' AND $5)
           SELECT kind AS "kind!", title AS "title!", href AS "href!", due_on, count(*) OVER () AS "total!" FROM work
            ORDER BY due_on NULLS LAST, kind, title LIMIT $3"#,
        org_id.0,
        user_id.0,
        SHOWN,
        actions,
        requirements,
    )
    .fetch_all(db)
    .await?;
    Ok(listed(rows))
}

/// What falls due in the organisation by `until` and is not done (overdue
/// included): corrective actions, review action items and asks to top
/// management. Soonest first.
pub async fn due_by(db: &PgPool, org_id: OrgId, until: NaiveDate) -> AppResult<Listed> {
    let rows = sqlx::query_as!(
        Row,
        r#"WITH work AS (
                  SELECT 'Corrective action' AS kind, f.title, '/findings/' || f.id AS href, f.due_on
                    FROM findings f WHERE f.org_id = $1 AND f.status = 'open' AND f.due_on <= $2
                  UNION ALL
                  SELECT 'Action item', a.title, '/actions/' || a.id, a.due_on
                    FROM action_items a WHERE a.org_id = $1 AND a.status = 'open' AND a.due_on <= $2
                  UNION ALL
                  SELECT 'Ask to ' || p.name, k.what, '/asks/' || k.id, k.due_on
                    FROM leadership_asks k JOIN people p ON p.org_id = k.org_id AND p.id = k.asked_of
                   WHERE k.org_id = $1 AND k.responded_on IS NULL AND k.due_on <= $2)
           SELECT kind AS "kind!", title AS "title!", href AS "href!", due_on, count(*) OVER () AS "total!" FROM work
            ORDER BY due_on, kind, title LIMIT $3"#,
        org_id.0,
        until,
        SHOWN,
    )
    .fetch_all(db)
    .await?;
    Ok(listed(rows))
}

/// Auditors' evidence requests still waiting for an answer (or, with
/// `asked_by`, those one auditor raised and has not closed), oldest first.
pub async fn requests(db: &PgPool, org_id: OrgId, asked_by: Option<UserId>) -> AppResult<Listed> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT CASE q.status WHEN 'open' THEN 'Waiting for an answer' ELSE 'Answered' END AS "kind!", r.code || ': ' || q.question AS "title!",
                  '/evidence-requests/' || q.id AS "href!", NULL::date AS due_on, count(*) OVER () AS "total!"
             FROM evidence_requests q JOIN requirements r ON r.id = q.requirement_id
            WHERE q.org_id = $1 AND CASE WHEN $2::uuid IS NULL THEN q.status = 'open' ELSE q.asked_by = $2 AND q.status <> 'closed' END
            ORDER BY q.asked_at LIMIT $3"#,
        org_id.0,
        asked_by.map(|u| u.0),
        SHOWN,
    )
    .fetch_all(db)
    .await?;
    Ok(listed(rows))
}

/// Open corrective actions nobody owns yet.
pub async fn unowned_findings(db: &PgPool, org_id: OrgId) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM findings WHERE org_id = $1 AND status = 'open' AND owner_id IS NULL"#, org_id.0).fetch_one(db).await?)
}
