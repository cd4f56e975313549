//! The bundle's `index.html`: a page that works offline, from requirement
//! to owner to evidence with relative links, then the policies, the record
//! files and the audit log. Written row by row into the ZIP entry.
use crate::ids::{EvidenceId, MeetingId, OrgId, PolicyId};
use super::manifest::{AuditSegment, Params, evidence_path, policy_path};
use super::zip::Entry;
use crate::people::attribution::{Via, byline};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::TryStreamExt;
use sqlx::{Postgres, Transaction};
use tokio::io::AsyncWrite;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ccc}table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #e3e3e3}.muted{color:#666}
.gap{color:#8a1c1c}code{font-size:.85em;word-break:break-all}";

struct ReqRow {
    code: String,
    title: String,
    applicable: bool,
    owner: Option<String>,
    status: String,
    item_id: Option<EvidenceId>,
    item_title: Option<String>,
    evidence_date: Option<NaiveDate>,
    external_url: Option<String>,
    number: Option<i32>,
    filename: Option<String>,
}

struct PolicyRow {
    policy_id: PolicyId,
    title: String,
    major: i32,
    minor: i32,
    approved_at: Option<DateTime<Utc>>,
    approver_name: Option<String>,
    approver_title: Option<String>,
    approver_account: Option<String>,
    approver_top_management: Option<bool>,
    has_text: bool,
    item_id: Option<EvidenceId>,
    item_title: Option<String>,
    number: Option<i32>,
    filename: Option<String>,
}

struct MeetingRow {
    id: MeetingId,
    title: String,
    held_on: Option<NaiveDate>,
    planned_on: Option<NaiveDate>,
    signed_off_at: Option<DateTime<Utc>>,
    signed_off_name: Option<String>,
    signed_off_title: Option<String>,
    signed_off_account: Option<String>,
    /// Signed off on paper: the account that recorded it.
    signed_off_recorded_account: Option<String>,
    item_id: Option<EvidenceId>,
    /// The item's title now (it names the file in the bundle).
    item_title: Option<String>,
    /// The item's title as shown: when signed off, as it was then.
    shown_title: Option<String>,
    external_url: Option<String>,
    number: Option<i32>,
    filename: Option<String>,
}

/// The meetings, each with its evidence: for one signed off by the day,
/// the revisions it was signed off with (never a later one); otherwise the
/// items linked by then at their newest revision by then.
async fn meetings<W: AsyncWrite + Unpin>(tx: &mut Transaction<'static, Postgres>, out: &mut Entry<'_, W>, org_id: OrgId, cut: DateTime<Utc>) -> anyhow::Result<()> {
    out.write(b"<h2>Meetings and their sign-off</h2>\n<p>For a meeting signed off by the day, its evidence is the revision of each file that was current when the chair signed off; a later revision of the same evidence is in the bundle too, but not part of the signed record.</p>\n<table><thead><tr><th>Meeting</th><th>Held</th><th>Signed off</th><th>Evidence</th></tr></thead><tbody>\n").await?;
    let mut rows = sqlx::query_as!(
        MeetingRow,
        r#"SELECT m.id AS "id!: MeetingId", m.title AS "title!", m.held_on, m.planned_on, CASE WHEN m.signed_off_at < $2 THEN m.signed_off_at END AS signed_off_at,
                CASE WHEN m.signed_off_at < $2 THEN m.signed_off_name END AS signed_off_name,
                CASE WHEN m.signed_off_at < $2 THEN m.signed_off_title END AS signed_off_title,
                CASE WHEN m.signed_off_at < $2 THEN (SELECT u.email FROM users u WHERE u.id = m.signed_off_by) END AS signed_off_account,
                CASE WHEN m.signed_off_at < $2 THEN (SELECT u.email FROM users u WHERE u.id = m.signed_off_recorded_by) END AS signed_off_recorded_account,
                e.item_id AS "item_id?: EvidenceId", i.title AS "item_title?", e.shown_title AS "shown_title?", i.external_url AS "external_url?",
                e.number AS "number?", e.filename AS "filename?"
           FROM meetings_known_on($1, $2) m
           LEFT JOIN LATERAL (
                SELECT p.item_id, p.item_title AS shown_title, r.number, r.filename
                  FROM evidence_pins p LEFT JOIN evidence_revisions r ON r.org_id = p.org_id AND r.id = p.revision_id
                 WHERE m.signed_off_at < $2 AND p.org_id = m.org_id AND p.target_kind = 'meeting' AND p.target_id = m.id
                UNION ALL
                SELECT l.item_id, li.title, r.number, r.filename
                  FROM evidence_links_on($1, $2) l JOIN evidence_items_on($1, $2) li ON li.org_id = l.org_id AND li.id = l.item_id AND li.created_at < $2
                  LEFT JOIN LATERAL (SELECT v.number, v.filename FROM evidence_revisions v WHERE v.org_id = l.org_id AND v.item_id = l.item_id
                                        AND v.uploaded_at < $2 ORDER BY v.number DESC LIMIT 1) r ON true
                 WHERE (m.signed_off_at IS NULL OR m.signed_off_at >= $2) AND l.org_id = m.org_id AND l.target_kind = 'meeting'
                   AND l.target_id = m.id AND l.linked_at < $2) e ON true
           LEFT JOIN evidence_items_on($1, $2) i ON i.org_id = m.org_id AND i.id = e.item_id
          WHERE m.org_id = $1 AND m.created_at < $2
          ORDER BY COALESCE(m.held_on, m.planned_on), m.title, m.id, e.shown_title, e.item_id"#,
        org_id.0,
        cut,
    )
    .fetch(&mut **tx);
    let mut current: Option<MeetingId> = None;
    let (mut line, mut cell) = (String::new(), String::new());
    let close = |line: &str, cell: &str| format!("{line}{}</td></tr>\n", if cell.is_empty() { "<span class=\"muted\">none</span>" } else { cell });
    while let Some(r) = rows.try_next().await? {
        if current != Some(r.id) {
            if current.is_some() {
                out.write(close(&line, &cell).as_bytes()).await?;
            }
            current = Some(r.id);
            cell.clear();
            let held = match (r.held_on, r.planned_on) {
                (Some(d), _) => d.to_string(),
                (None, Some(p)) => format!("<span class=\"muted\">planned {p}</span>"),
                _ => String::new(),
            };
            let signed = match (r.signed_off_at, &r.signed_off_name) {
                (Some(at), name) => format!(
                    "{} by {}",
                    at.format("%Y-%m-%d"),
                    esc(&byline(name.as_deref(), r.signed_off_title.as_deref(), Via::paper_or(r.signed_off_recorded_account.as_deref(), r.signed_off_account.as_deref())))
                ),
                _ => "<span class=\"muted\">not signed off</span>".into(),
            };
            line = format!("<tr><td>{}</td><td>{held}</td><td>{signed}</td><td>", esc(&r.title));
        }
        if let (Some(item), Some(title)) = (r.item_id, r.item_title.as_deref()) {
            let shown = r.shown_title.as_deref().unwrap_or(title);
            let link = match (r.number, r.filename.as_deref(), r.external_url.as_deref()) {
                (Some(n), Some(f), _) => format!("<a href=\"{}\">{}</a> <span class=\"muted\">revision {n}</span>", esc(&evidence_path(item, title, n, f)), esc(shown)),
                (_, _, Some(url)) => format!("{} <span class=\"muted\">(kept elsewhere: {})</span>", esc(shown), esc(url)),
                _ => esc(shown),
            };
            cell.push_str(&format!("<div>{link}</div>"));
        }
    }
    drop(rows);
    if current.is_some() {
        out.write(close(&line, &cell).as_bytes()).await?;
    } else {
        out.write(b"<tr><td colspan=\"4\" class=\"gap\">No meetings were recorded.</td></tr>\n").await?;
    }
    out.write(b"</tbody></table>\n").await?;
    Ok(())
}

struct AddendumRow {
    record: String,
    written_at: DateTime<Utc>,
    author_name: String,
    author_title: String,
    account: Option<String>,
    body: String,
}

/// Corrections added under signed records by the day, oldest first.
async fn addenda<W: AsyncWrite + Unpin>(tx: &mut Transaction<'static, Postgres>, out: &mut Entry<'_, W>, org_id: OrgId, cut: DateTime<Utc>) -> anyhow::Result<()> {
    out.write(b"<h2>Addenda to signed records</h2>\n<p>A signed record never changes; a correction is added under it, dated and attributed, and is never changed or removed (also in <a href=\"records/addenda.csv\">records/addenda.csv</a>).</p>\n").await?;
    let mut rows = sqlx::query_as!(
        AddendumRow,
        r#"SELECT CASE a.target_kind WHEN 'meeting' THEN 'Meeting: ' || m.title || COALESCE(' (' || m.held_on::text || ')', '')
                     ELSE 'Policy: ' || pol.title || ' v' || v.major || '.' || v.minor END AS "record!",
                a.written_at, a.author_name, a.author_title, u.email AS "account?", a.body
           FROM addenda a
           LEFT JOIN meetings_known_on($1, $2) m ON a.target_kind = 'meeting' AND m.org_id = a.org_id AND m.id = a.target_id
           LEFT JOIN policy_versions v ON a.target_kind = 'policy_version' AND v.org_id = a.org_id AND v.id = a.target_id
           LEFT JOIN policies_on($1, $2) pol ON pol.org_id = v.org_id AND pol.id = v.policy_id
           LEFT JOIN users u ON u.id = a.written_by
          WHERE a.org_id = $1 AND a.written_at < $2
          ORDER BY a.written_at, a.id"#,
        org_id.0,
        cut,
    )
    .fetch(&mut **tx);
    let mut any = false;
    while let Some(a) = rows.try_next().await? {
        if !any {
            out.write(b"<table><thead><tr><th>Record</th><th>Added</th><th>By</th><th>Addendum</th></tr></thead><tbody>\n").await?;
        }
        any = true;
        let by = byline(Some(&a.author_name), Some(&a.author_title), Via::from_parts(a.account.as_deref(), None));
        out.write(
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td style=\"white-space:pre-wrap\">{}</td></tr>\n",
                esc(&a.record),
                a.written_at.format("%Y-%m-%d %H:%M"),
                esc(&by),
                esc(&a.body)
            )
            .as_bytes(),
        )
        .await?;
    }
    drop(rows);
    out.write(if any { b"</tbody></table>\n".as_slice() } else { b"<p class=\"muted\">None.</p>\n".as_slice() }).await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub async fn render<W: AsyncWrite + Unpin>(
    tx: &mut Transaction<'static, Postgres>,
    out: &mut Entry<'_, W>,
    org_id: OrgId,
    org_name: &str,
    params: &Params,
    cut: DateTime<Utc>,
    now: DateTime<Utc>,
    records: &[(&'static str, &'static str, &'static [&'static str], String)],
    segment: &AuditSegment,
    derived: &crate::gaps::derived::ByCode,
) -> anyhow::Result<()> {
    let period = match (params.period_from, params.period_to) {
        (Some(f), Some(t)) => format!("{f} to {t}"),
        (Some(f), None) => format!("from {f}"),
        (None, Some(t)) => format!("until {t}"),
        (None, None) => "not limited".into(),
    };
    out.write(
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evidence bundle: {org}</title><style>{STYLE}</style></head><body>
<h1>Evidence bundle: {org}</h1>
<p>Records as of <strong>{as_of}</strong>: anything recorded later is left out, and what was edited since (owners, statuses, people's details, roles, audiences) is shown as it stood that day. Audit period: {period}. Made {made} UTC by Mandate.</p>
<p>Every file in this bundle is listed in <a href=\"manifest.json\">manifest.json</a> with its SHA-256 and size. Run <code>mandate verify-bundle</code> on the ZIP to check that nothing was altered, removed or added, or, without Mandate, <code>sha256sum -c SHA256SUMS</code> in the unzipped folder. README.txt says more.</p>
<h2>Requirements, owners and evidence</h2>
<table><thead><tr><th>Requirement</th><th>Owner</th><th>Status</th><th>Evidence (newest revision as of {as_of})</th></tr></thead><tbody>\n",
            org = esc(org_name),
            as_of = params.as_of,
            made = now.format("%Y-%m-%d %H:%M"),
        )
        .as_bytes(),
    )
    .await?;

    // One row per requirement × linked item, requirements in catalogue order.
    let mut rows = sqlx::query_as!(
        ReqRow,
        r#"SELECT r.code, r.title, requirement_applies(r.code, s.applicable) AS "applicable!", o.name AS "owner?", COALESCE(s.status, 'not_started') AS "status!",
                i.id AS "item_id?: EvidenceId", i.title AS "item_title?", i.evidence_date AS "evidence_date?", i.external_url AS "external_url?",
                v.number AS "number?", v.filename AS "filename?"
           FROM requirements r
           LEFT JOIN requirement_states_on($1, $2) s ON s.org_id = $1 AND s.requirement_id = r.id
           LEFT JOIN people_on($1, $2) o ON o.org_id = $1 AND o.id = s.owner_id
           LEFT JOIN evidence_links_on($1, $2) l ON l.org_id = $1 AND l.target_kind = 'requirement' AND l.target_id = r.id AND l.linked_at < $2
           LEFT JOIN evidence_items_on($1, $2) i ON i.org_id = l.org_id AND i.id = l.item_id AND i.created_at < $2
           LEFT JOIN LATERAL (SELECT v.number, v.filename FROM evidence_revisions v WHERE v.org_id = i.org_id AND v.item_id = i.id AND v.uploaded_at < $2
                               ORDER BY v.number DESC LIMIT 1) v ON true
          WHERE (r.retired_at IS NULL OR r.retired_at >= $2)
          ORDER BY r.framework, r.position, i.evidence_date DESC NULLS LAST, i.title"#,
        org_id.0,
        cut,
    )
    .fetch(&mut **tx);
    let mut current: Option<String> = None;
    let mut cell = String::new();
    let mut line = String::new();
    while let Some(r) = rows.try_next().await? {
        if current.as_deref() != Some(r.code.as_str()) {
            if current.is_some() {
                out.write(format!("{line}{}</td></tr>\n", if cell.is_empty() { "<span class=\"gap\">no evidence</span>".to_string() } else { cell.clone() }).as_bytes()).await?;
            }
            current = Some(r.code.clone());
            cell.clear();
            // What Mandate holds counts first (records/derived-evidence.csv).
            for d in derived.get(&r.code).into_iter().flatten().filter(|d| d.counts_on(params.as_of)) {
                cell.push_str(&format!(
                    "<div>{} <span class=\"muted\">held in Mandate, {}; <a href=\"records/derived-evidence.csv\">records/derived-evidence.csv</a></span></div>",
                    esc(&d.title),
                    d.on
                ));
            }
            let status = if r.applicable { r.status.replace('_', " ") } else { "excluded".into() };
            line = format!(
                "<tr><td><strong>{}</strong> {}</td><td>{}</td><td>{}</td><td>",
                esc(&r.code),
                esc(&r.title),
                r.owner.as_deref().map(esc).unwrap_or_else(|| "<span class=\"gap\">nobody</span>".into()),
                esc(&status)
            );
        }
        if let (Some(item), Some(title)) = (r.item_id, r.item_title.as_deref()) {
            let date = r.evidence_date.map(|d| format!(" <span class=\"muted\">{d}</span>")).unwrap_or_default();
            let link = match (r.number, r.filename.as_deref(), r.external_url.as_deref()) {
                (Some(n), Some(f), _) => format!("<a href=\"{}\">{}</a>", esc(&evidence_path(item, title, n, f)), esc(title)),
                (_, _, Some(url)) => format!("{} <span class=\"muted\">(kept elsewhere: {})</span>", esc(title), esc(url)),
                _ => esc(title),
            };
            cell.push_str(&format!("<div>{link}{date}</div>"));
        }
    }
    drop(rows);
    if current.is_some() {
        out.write(format!("{line}{}</td></tr>\n", if cell.is_empty() { "<span class=\"gap\">no evidence</span>".to_string() } else { cell }).as_bytes()).await?;
    }
    out.write(b"</tbody></table>\n<h2>Policies and their approvals</h2>\n<table><thead><tr><th>Policy</th><th>Version</th><th>Approved</th><th>Document</th></tr></thead><tbody>\n").await?;

    let mut rows = sqlx::query_as!(
        PolicyRow,
        r#"SELECT pol.id AS "policy_id!: PolicyId", pol.title AS "title!", v.major, v.minor, CASE WHEN v.approved_at < $2 THEN v.approved_at END AS approved_at,
                CASE WHEN v.approved_at < $2 THEN v.approver_name END AS approver_name,
                CASE WHEN v.approved_at < $2 THEN v.approver_title END AS approver_title,
                CASE WHEN v.approved_at < $2 THEN (SELECT u.email FROM users u WHERE u.id = v.approved_by) END AS approver_account,
                CASE WHEN v.approved_at < $2 THEN v.approver_top_management END AS approver_top_management,
                btrim(COALESCE(v.body_markdown, '')) <> '' AS "has_text!", r.item_id AS "item_id?: EvidenceId", i.title AS "item_title?",
                r.number AS "number?", r.filename AS "filename?"
           FROM policies_on($1, $2) pol JOIN policy_versions v ON v.org_id = pol.org_id AND v.policy_id = pol.id AND v.created_at < $2
           LEFT JOIN evidence_revisions r ON r.org_id = v.org_id AND r.id = v.evidence_revision_id
           LEFT JOIN evidence_items_on($1, $2) i ON i.org_id = r.org_id AND i.id = r.item_id
          WHERE pol.org_id = $1 AND pol.created_at < $2
          ORDER BY pol.title, v.major, v.minor"#,
        org_id.0,
        cut,
    )
    .fetch(&mut **tx);
    let mut any = false;
    while let Some(p) = rows.try_next().await? {
        any = true;
        let approved = match (p.approved_at, &p.approver_name) {
            (Some(at), Some(name)) => format!(
                "{} by {}{}",
                at.format("%Y-%m-%d"),
                esc(&byline(Some(name), p.approver_title.as_deref(), Via::from_parts(p.approver_account.as_deref(), None))),
                if p.approver_top_management == Some(true) { "" } else { " <span class=\"gap\">(not top management)</span>" }
            ),
            _ => "<span class=\"muted\">draft, not signed</span>".into(),
        };
        let doc = match (p.item_id, p.item_title.as_deref(), p.number, p.filename.as_deref()) {
            (Some(item), Some(title), Some(n), Some(f)) => format!("<a href=\"{}\">{}</a>", esc(&evidence_path(item, title, n, f)), esc(f)),
            _ if p.has_text => format!(
                "<a href=\"{}\">text</a>",
                esc(&policy_path(p.policy_id, &p.title, p.major, p.minor))
            ),
            _ => String::new(),
        };
        out.write(format!("<tr><td>{}</td><td>{}.{}</td><td>{approved}</td><td>{doc}</td></tr>\n", esc(&p.title), p.major, p.minor).as_bytes()).await?;
    }
    drop(rows);
    if !any {
        out.write(b"<tr><td colspan=\"4\" class=\"gap\">No policies were recorded.</td></tr>\n").await?;
    }
    out.write(b"</tbody></table>\n").await?;
    meetings(tx, out, org_id, cut).await?;
    addenda(tx, out, org_id, cut).await?;
    out.write(b"<h2>Records</h2>\n<ul>\n").await?;
    for (path, description, _, _) in records {
        out.write(format!("<li><a href=\"{path}\">{path}</a>: {}</li>\n", esc(description)).as_bytes()).await?;
    }
    out.write(b"<li><a href=\"records/gaps.csv\">records/gaps.csv</a>: the gaps Mandate found as of the day, by severity</li>\n</ul>\n").await?;
    let range = match (segment.first_seq, segment.last_seq) {
        (Some(f), Some(l)) => format!("rows {f} to {l}"),
        _ => "no rows in the period".into(),
    };
    out.write(
        format!(
            "<h2>Audit log</h2>\n<p><a href=\"{}\">{}</a> holds the organisation's audit-log {range}, one JSON object per line with every field its hash covers. Each row's hash is SHA-256 over the previous row's hash and the row's fields; the chain's head when this bundle was made was row {} with hash <code>{}</code>.</p>\n</body></html>\n",
            segment.path, segment.path, segment.head_seq, segment.head_hash
        )
        .as_bytes(),
    )
    .await?;
    Ok(())
}
