//! Writes an evidence bundle: one ZIP with a `README.txt`, every evidence
//! file (stored as is), the policy texts, CSV files of the records, the
//! audit-log segment, an offline `index.html`, `manifest.json` and, last,
//! `SHA256SUMS`. Everything is streamed: files
//! from the evidence store and rows from PostgreSQL go straight into the ZIP,
//! and the ZIP straight to its destination, so memory stays flat whatever
//! the bundle's size (the ZIP's central directory, a few dozen bytes per
//! file, is the only thing that grows).
use crate::ids::{EvidenceId, OrgId, PolicyId, UserId};
use super::manifest::{AuditSegment, FORMAT, FileEntry, MANIFEST, Params, README, SUMS, evidence_path, policy_path, sums_line};
use super::zip::{Hashing, Writer, blank, compresses};
use crate::audit::ExportedRow;
use crate::evidence::store::EvidenceStore;
use crate::people::audience;
use anyhow::{Context, bail};
use async_zip::base::write::ZipFileWriter;
use async_zip::ZipDateTime;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Row, Transaction};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt as _};
use uuid::Uuid;

/// Shared between the builder and whoever reports its progress.
#[derive(Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub total: AtomicU64,
    pub note: Mutex<String>,
    /// Set when the job was taken over or cancelled: the builder stops.
    pub cancelled: AtomicBool,
    /// Fault injection only: a pause after each step.
    pub pause: std::time::Duration,
}

impl Progress {
    async fn step(&self, note: impl Into<String>) -> anyhow::Result<()> {
        if self.cancelled.load(Ordering::Relaxed) {
            bail!("the export was stopped");
        }
        self.done.fetch_add(1, Ordering::Relaxed);
        *self.note.lock().unwrap_or_else(|e| e.into_inner()) = note.into();
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
        Ok(())
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Built {
    pub size: u64,
    pub sha256: Vec<u8>,
    pub manifest_sha256: Vec<u8>,
    pub files: usize,
    pub evidence_files: usize,
}


/// The record CSVs: file name, what it holds, header, query (text columns).
/// Every query reads its parameters from `p`: the organisation (`p.org`),
/// the day (`p.day`) and the cut-off (`p.cut`, the start of the next day);
/// `write_all` puts `WITH p AS (...)` in front of it.
fn record_files() -> Vec<(&'static str, &'static str, &'static [&'static str], String)> {
    let ts = |col: &str| format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')");
    // A record given outside Mandate (alias `t`, its enterer joined as `ru`):
    // how it was given, in the words `imports::How` gives, and who entered it when.
    let given = |t: &str| {
        let cases: String = crate::imports::How::ALL.iter().map(|h| format!(" WHEN '{}' THEN '{}'", h.as_str(), h.label())).collect();
        format!("COALESCE(CASE {t}.recorded_how{cases} END, ''), COALESCE(ru.email || ' on ' || to_char({t}.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), '')")
    };
    vec![
        (
            "records/requirements.csv",
            "Requirements with applicability, owner, status and how many evidence items support each",
            &["code", "clause", "title", "applies", "exclusion_reason", "owner", "status", "notes", "evidence_items"],
            "SELECT r.code, r.clause, r.title, CASE WHEN requirement_applies(r.code, s.applicable) THEN 'yes' ELSE 'no' END, COALESCE(s.exclusion_reason, ''),
                    COALESCE(o.name, ''), COALESCE(s.status, 'not_started'), COALESCE(s.notes, ''),
                    (SELECT count(*) FROM evidence_links_on(p.org, p.cut) l JOIN evidence_items_on(p.org, p.cut) i ON i.org_id = l.org_id AND i.id = l.item_id
                      WHERE l.org_id = p.org AND l.target_kind = 'requirement' AND l.target_id = r.id AND l.linked_at < p.cut AND i.created_at < p.cut)::text
               FROM p JOIN requirements r ON (r.retired_at IS NULL OR r.retired_at >= p.cut)
               LEFT JOIN requirement_states_on(p.org, p.cut) s ON s.org_id = p.org AND s.requirement_id = r.id
               LEFT JOIN people_on(p.org, p.cut) o ON o.org_id = p.org AND o.id = s.owner_id
              ORDER BY r.framework, r.position"
                .into(),
        ),
        (
            "records/people.csv",
            "The people directory: staff and contractors, managers, dates and flags",
            &["name", "email", "kind", "job_title", "department", "manager", "start_date", "end_date", "top_management", "line_manager", "security_clause"],
            "SELECT x.name, x.email, x.kind, x.job_title, x.department, COALESCE(m.name, ''), COALESCE(x.start_date::text, ''), COALESCE(x.end_date::text, ''),
                    (x.id IN (SELECT top_management_as_of(p.org, p.cut)))::text, x.line_manager::text, x.security_clause::text
               FROM p JOIN people_on(p.org, p.cut) x ON x.org_id = p.org AND x.created_at < p.cut
               LEFT JOIN people_on(p.org, p.cut) m ON m.org_id = x.org_id AND m.id = x.manager_id
              ORDER BY x.name, x.email"
                .into(),
        ),
        (
            "records/top-management-changes.csv",
            "Every proposed change to who counts as top management: who proposed it, who confirmed or refused it (account and person) and when",
            &["person", "change", "acting_account", "reason", "proposed_by", "proposed_at_utc", "outcome", "decided_by_account", "decided_as_person", "decided_at_utc"],
            format!(
                "SELECT x.name, c.change, COALESCE(a.email, ''), c.reason, COALESCE(pu.email, 'recorded before the roster existed'), {},
                        CASE WHEN c.decided_at < p.cut THEN c.status || CASE WHEN c.bootstrap THEN ' (first leader, no confirmation)' ELSE '' END ELSE 'pending' END,
                        CASE WHEN c.decided_at < p.cut THEN COALESCE(du.email, '') ELSE '' END,
                        CASE WHEN c.decided_at < p.cut THEN COALESCE(dp.name, '') ELSE '' END,
                        CASE WHEN c.decided_at < p.cut THEN {} ELSE '' END
                   FROM p JOIN roster_changes c ON c.org_id = p.org AND c.proposed_at < p.cut
                   JOIN people_on(p.org, p.cut) x ON x.org_id = c.org_id AND x.id = c.person_id
                   LEFT JOIN users a ON a.id = c.account_id
                   LEFT JOIN users pu ON pu.id = c.proposed_by
                   LEFT JOIN users du ON du.id = c.decided_by
                   LEFT JOIN people_on(p.org, p.cut) dp ON dp.org_id = c.org_id AND dp.id = c.decided_as
                  ORDER BY c.proposed_at, c.id",
                ts("c.proposed_at"),
                ts("c.decided_at")
            ),
        ),
        (
            "records/acknowledgement-status.csv",
            "For each policy's current version, who of its audience has acknowledged it",
            &["policy", "version", "person", "email", "department", "acknowledged"],
            format!(
                "SELECT cur.title, cur.major || '.' || cur.minor, x.name, x.email, x.department,
                        CASE WHEN EXISTS (SELECT 1 FROM acknowledgements a JOIN policy_versions v ON v.org_id = a.org_id AND v.id = a.policy_version_id
                                           WHERE a.org_id = p.org AND a.person_id = x.id AND v.policy_id = cur.policy_id AND v.major = cur.major
                                             AND a.acknowledged_at < p.cut) THEN 'yes' ELSE 'no' END
                   FROM p CROSS JOIN LATERAL (
                          SELECT DISTINCT ON (pol.id) pol.id AS policy_id, pol.title, policy_audience(pol.kind, pol.audience, pol.audience_reason) AS audience, pol.audience_departments, v.major, v.minor
                            FROM policies_on(p.org, p.cut) pol JOIN policy_versions v ON v.org_id = pol.org_id AND v.policy_id = pol.id AND v.approved_at < p.cut
                           WHERE pol.org_id = p.org AND pol.created_at < p.cut AND (pol.withdrawn_at IS NULL OR pol.withdrawn_at >= p.cut)
                           ORDER BY pol.id, v.major DESC, v.minor DESC) cur
                   JOIN people_on(p.org, p.cut) x ON x.org_id = p.org AND x.created_at < p.cut AND is_current_on(x.start_date, x.end_date, p.day) AND {}
                  ORDER BY cur.title, x.name, x.email",
                audience::sql_match("cur", "x")
            ),
        ),
        (
            "records/acknowledgements.csv",
            "Every acknowledgement: who, which version, when and how; those given outside Mandate say how and who entered them",
            &["policy", "version", "person", "email", "acknowledged_at_utc", "method", "given_outside_mandate", "entered_by"],
            format!(
                "SELECT pol.title, v.major || '.' || v.minor, x.name, x.email, {}, a.method, {}
                   FROM p JOIN acknowledgements a ON a.org_id = p.org AND a.acknowledged_at < p.cut
                   LEFT JOIN users ru ON ru.id = a.recorded_by
                   JOIN people_on(p.org, p.cut) x ON x.org_id = a.org_id AND x.id = a.person_id
                   JOIN policy_versions v ON v.org_id = a.org_id AND v.id = a.policy_version_id
                   JOIN policies_on(p.org, p.cut) pol ON pol.org_id = v.org_id AND pol.id = v.policy_id
                  ORDER BY pol.title, v.major, v.minor, x.name, x.email",
                ts("a.acknowledged_at"),
                given("a")
            ),
        ),
        (
            "records/policies.csv",
            "Policy versions with their approval (who, their title, the account that signed, when, top management or not, SHA-256 of the signed document), acknowledgements and addenda",
            &["policy", "kind", "version", "change_summary", "approved_at_utc", "approved_by", "approver_title", "approver_account", "approver_top_management", "signed_document_sha256", "acknowledgements", "addenda"],
            format!(
                "SELECT pol.title, pol.kind, v.major || '.' || v.minor, v.change_summary, COALESCE({}, ''),
                        CASE WHEN v.approved_at < p.cut THEN COALESCE(v.approver_name, '') ELSE '' END,
                        CASE WHEN v.approved_at < p.cut THEN COALESCE(v.approver_title, '') ELSE '' END,
                        CASE WHEN v.approved_at < p.cut THEN COALESCE('signed in as ' || au.email,
                             'on paper, recorded in Mandate by ' || ru.email || ' on ' || to_char(v.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), '') ELSE '' END,
                        CASE WHEN v.approved_at < p.cut THEN COALESCE(v.approver_top_management::text, '') ELSE '' END,
                        CASE WHEN v.approved_at < p.cut THEN COALESCE(encode(v.approved_sha256, 'hex'), '') ELSE '' END,
                        (SELECT count(*) FROM acknowledgements a WHERE a.org_id = v.org_id AND a.policy_version_id = v.id AND a.acknowledged_at < p.cut)::text,
                        array_to_string({}, E'\n')
                   FROM p JOIN policies_on(p.org, p.cut) pol ON pol.org_id = p.org AND pol.created_at < p.cut
                   JOIN policy_versions v ON v.org_id = pol.org_id AND v.policy_id = pol.id AND v.created_at < p.cut
                   LEFT JOIN users au ON au.id = v.approved_by
                   LEFT JOIN users ru ON ru.id = v.recorded_by
                  ORDER BY pol.title, v.major, v.minor",
                ts("CASE WHEN v.approved_at < p.cut THEN v.approved_at END"),
                crate::addenda::lines_sql("policy_version", "v.org_id", "v.id", Some("p.cut"))
            ),
        ),
        (
            "records/training.csv",
            "Training completions with the date they stop counting; those given outside Mandate say how, and who entered them when; those the person confirmed through a personal link say from where and when",
            &["person", "email", "module", "kind", "completed_on", "valid_until", "source", "given_outside_mandate", "entered_by", "confirmed_by_the_person"],
            format!(
                "SELECT x.name, x.email, t.title, t.kind, r.completed_on::text, (r.completed_on + make_interval(months => t.validity_months))::date::text, r.source, {},
                        CASE WHEN r.source = 'link' THEN 'through a personal link' || COALESCE(' from ' || NULLIF(r.client_addr, ''), '') || ' on ' || {} ELSE '' END
               FROM p JOIN training_records r ON r.org_id = p.org AND r.recorded_at < p.cut AND r.completed_on <= p.day
               LEFT JOIN users ru ON ru.id = r.recorded_by
               JOIN people_on(p.org, p.cut) x ON x.org_id = r.org_id AND x.id = r.person_id
               JOIN training_modules_on(p.org, p.cut) t ON t.org_id = r.org_id AND t.id = r.module_id
              ORDER BY x.name, x.email, t.title, r.completed_on",
                given("r"),
                ts("r.recorded_at")
            ),
        ),
        (
            "records/roles.csv",
            "ISMS roles (5.3) with responsibilities, authorities, the 5.3(a)/(b) assignments and appointments",
            &[
                "role", "responsibilities", "authorities", "carries_5_3_a", "carries_5_3_b", "holder", "capacity", "appointed_on", "appointed_by", "appointer_top_management",
                "confirmed", "confirmed_at_utc", "confirmed_title", "confirmed_account", "accepted", "accepted_at_utc", "accepted_title", "accepted_account", "ended_on",
            ],
            format!(
                "SELECT r.name, r.responsibilities, r.authorities, r.carries_conformance::text, r.carries_reporting::text, COALESCE(x.name, ''), COALESCE(a.capacity, ''),
                        COALESCE(a.appointed_on::text, ''), COALESCE(b.name, ''), COALESCE((b.id IN (SELECT top_management_as_of(p.org, p.cut)))::text, ''),
                        CASE WHEN a.id IS NULL THEN '' WHEN a.confirmed_at < p.cut THEN 'yes' ELSE 'no' END,
                        COALESCE({}, ''),
                        CASE WHEN a.confirmed_at < p.cut THEN COALESCE(a.confirmed_title, '') ELSE '' END,
                        CASE WHEN a.confirmed_at < p.cut THEN COALESCE('on paper, recorded in Mandate by ' || cru.email || ' on ' || to_char(a.confirmed_recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                                                                  'signed in as ' || cu.email, '') ELSE '' END,
                        CASE WHEN a.id IS NULL THEN '' WHEN a.accepted_at < p.cut THEN 'yes' ELSE 'no' END,
                        COALESCE({}, ''),
                        CASE WHEN a.accepted_at < p.cut THEN COALESCE(a.accepted_title, '') ELSE '' END,
                        CASE WHEN a.accepted_at < p.cut THEN COALESCE('on paper, recorded in Mandate by ' || aru.email || ' on ' || to_char(a.accepted_recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                                  'signed in as ' || au.email,
                                  CASE WHEN a.accepted_via = 'link' THEN 'by personal link' || COALESCE(' from ' || NULLIF(a.accepted_from, ''), '') END, '') ELSE '' END,
                        CASE WHEN a.ended_on <= p.day THEN a.ended_on::text ELSE '' END
                   FROM p JOIN isms_roles_on(p.org, p.cut) r ON r.org_id = p.org AND r.created_at < p.cut AND (r.retired_at IS NULL OR r.retired_at >= p.cut)
                   LEFT JOIN role_appointments_known_on(p.org, p.cut) a ON a.org_id = r.org_id AND a.role_id = r.id AND a.created_at < p.cut
                   LEFT JOIN people_on(p.org, p.cut) x ON x.org_id = a.org_id AND x.id = a.person_id
                   LEFT JOIN people_on(p.org, p.cut) b ON b.org_id = a.org_id AND b.id = a.appointed_by
                   LEFT JOIN users cu ON cu.id = a.confirmed_by
                   LEFT JOIN users au ON au.id = a.accepted_by
                   LEFT JOIN users cru ON cru.id = a.confirmed_recorded_by
                   LEFT JOIN users aru ON aru.id = a.accepted_recorded_by
                  ORDER BY r.position, r.name, a.capacity DESC, x.name",
                ts("CASE WHEN a.confirmed_at < p.cut THEN a.confirmed_at END"),
                ts("CASE WHEN a.accepted_at < p.cut THEN a.accepted_at END")
            ),
        ),
        (
            "records/raci.csv",
            "The RACI matrix: activity, role, letters",
            &["activity", "role", "letters"],
            "SELECT a.name, r.name, c.letters
               FROM p JOIN raci_activities_on(p.org, p.cut) a ON a.org_id = p.org AND a.created_at < p.cut AND (a.retired_at IS NULL OR a.retired_at >= p.cut)
               JOIN raci_cells_on(p.org, p.cut) c ON c.org_id = a.org_id AND c.activity_id = a.id
               JOIN isms_roles_on(p.org, p.cut) r ON r.org_id = c.org_id AND r.id = c.role_id AND r.created_at < p.cut AND (r.retired_at IS NULL OR r.retired_at >= p.cut)
              ORDER BY a.position, a.name, r.position, r.name"
                .into(),
        ),
        (
            "records/meetings.csv",
            "Management reviews and steering meetings: dates, chair, inputs, decisions, sign-off, and the evidence (for a signed-off meeting, the revisions it was signed off with)",
            &["kind", "title", "planned_on", "held_on", "chair", "top_management_present", "inputs", "minutes", "decisions", "signed_off_by", "signed_off_title", "signed_off_account", "signed_off_at_utc", "evidence", "addenda"],
            format!(
                "SELECT m.kind, m.title, COALESCE(m.planned_on::text, ''), COALESCE(m.held_on::text, ''), COALESCE(c.name, ''),
                        CASE WHEN EXISTS (SELECT 1 FROM people_on(p.org, p.cut) t WHERE t.org_id = m.org_id AND t.id = ANY(m.attendee_ids || m.chair_id) AND t.id IN (SELECT top_management_as_of(p.org, p.cut))) THEN 'yes' ELSE 'no' END,
                        array_to_string(m.inputs, '; '), m.minutes, m.decisions,
                        CASE WHEN m.signed_off_at < p.cut THEN COALESCE(m.signed_off_name, '') ELSE '' END,
                        CASE WHEN m.signed_off_at < p.cut THEN COALESCE(m.signed_off_title, '') ELSE '' END,
                        CASE WHEN m.signed_off_at < p.cut THEN
                             COALESCE('on paper, recorded in Mandate by ' || ru.email || ' on ' || to_char(m.signed_off_recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                                      'signed in as ' || su.email, '') ELSE '' END,
                        COALESCE({}, ''),
                        array_to_string(CASE WHEN m.signed_off_at < p.cut THEN
                            ARRAY(SELECT pin.item_title || COALESCE(' (revision ' || r.number || ', ' || r.filename || ', SHA-256 ' || encode(r.sha256, 'hex') || ')', '')
                                    FROM evidence_pins pin LEFT JOIN evidence_revisions r ON r.org_id = pin.org_id AND r.id = pin.revision_id
                                   WHERE pin.org_id = m.org_id AND pin.target_kind = 'meeting' AND pin.target_id = m.id ORDER BY pin.item_title, pin.item_id)
                        ELSE
                            ARRAY(SELECT i.title || COALESCE(' (revision ' || r.number || ', ' || r.filename || ', SHA-256 ' || encode(r.sha256, 'hex') || ')', '')
                                    FROM evidence_links_on(p.org, p.cut) l JOIN evidence_items_on(p.org, p.cut) i ON i.org_id = l.org_id AND i.id = l.item_id AND i.created_at < p.cut
                                    LEFT JOIN LATERAL (SELECT v.number, v.filename, v.sha256 FROM evidence_revisions v
                                                        WHERE v.org_id = i.org_id AND v.item_id = i.id AND v.uploaded_at < p.cut ORDER BY v.number DESC LIMIT 1) r ON true
                                   WHERE l.org_id = m.org_id AND l.target_kind = 'meeting' AND l.target_id = m.id AND l.linked_at < p.cut ORDER BY i.title, i.id)
                        END, '; '),
                        array_to_string({}, E'\n')
                   FROM p JOIN meetings_known_on(p.org, p.cut) m ON m.org_id = p.org AND m.created_at < p.cut
                   LEFT JOIN people_on(p.org, p.cut) c ON c.org_id = m.org_id AND c.id = m.chair_id
                   LEFT JOIN users su ON su.id = m.signed_off_by
                   LEFT JOIN users ru ON ru.id = m.signed_off_recorded_by
                  ORDER BY COALESCE(m.held_on, m.planned_on), m.title",
                ts("CASE WHEN m.signed_off_at < p.cut THEN m.signed_off_at END"),
                crate::addenda::lines_sql("meeting", "m.org_id", "m.id", Some("p.cut"))
            ),
        ),
        (
            "records/addenda.csv",
            "Addenda: corrections added under signed-off minutes and signed policy versions, dated, with who wrote them (person, title, account)",
            &["record_kind", "record", "written_at_utc", "written_by", "title", "account", "text"],
            format!(
                "SELECT CASE a.target_kind WHEN 'meeting' THEN 'meeting' ELSE 'policy version' END,
                        COALESCE(m.title || COALESCE(' (' || m.held_on::text || ')', ''), pol.title || ' v' || v.major || '.' || v.minor, ''),
                        {}, a.author_name, a.author_title, COALESCE('signed in as ' || u.email, ''), a.body
                   FROM p JOIN addenda a ON a.org_id = p.org AND a.written_at < p.cut
                   LEFT JOIN meetings_known_on(p.org, p.cut) m ON a.target_kind = 'meeting' AND m.org_id = a.org_id AND m.id = a.target_id
                   LEFT JOIN policy_versions v ON a.target_kind = 'policy_version' AND v.org_id = a.org_id AND v.id = a.target_id
                   LEFT JOIN policies_on(p.org, p.cut) pol ON pol.org_id = v.org_id AND pol.id = v.policy_id
                   LEFT JOIN users u ON u.id = a.written_by
                  ORDER BY a.written_at, a.id",
                ts("a.written_at")
            ),
        ),
        (
            "records/actions.csv",
            "Action items from meetings: owner, due date, status, closing note",
            &["meeting", "action", "owner", "due_on", "status", "closing_note", "closed_at_utc"],
            format!(
                "SELECT COALESCE(m.title, ''), a.title, COALESCE(o.name, ''), COALESCE(a.due_on::text, ''),
                        CASE WHEN a.closed_at < p.cut THEN a.status ELSE 'open' END, CASE WHEN a.closed_at < p.cut THEN a.closing_note ELSE '' END,
                        COALESCE({}, '')
                   FROM p JOIN action_items_on(p.org, p.cut) a ON a.org_id = p.org AND a.created_at < p.cut
                   LEFT JOIN meetings_known_on(p.org, p.cut) m ON m.org_id = a.org_id AND m.id = a.meeting_id
                   LEFT JOIN people_on(p.org, p.cut) o ON o.org_id = a.org_id AND o.id = a.owner_id
                  ORDER BY a.due_on NULLS LAST, a.title",
                ts("CASE WHEN a.closed_at < p.cut THEN a.closed_at END")
            ),
        ),
        (
            "records/asks.csv",
            "Asks made of top management and their answers: who answered (the person asked, or who recorded an answer given another way), their title and the account",
            &["asked_of", "top_management", "what", "asked_on", "due_on", "response", "responded_on", "answered_by", "answered_title", "answered_account"],
            "SELECT x.name, (x.id IN (SELECT top_management_as_of(p.org, p.cut)))::text, k.what, k.asked_on::text, COALESCE(k.due_on::text, ''),
                    CASE WHEN k.responded_on <= p.day THEN k.response ELSE '' END, CASE WHEN k.responded_on <= p.day THEN k.responded_on::text ELSE '' END,
                    CASE WHEN k.responded_on <= p.day THEN COALESCE(ap.name, 'recorded by ' || au.name, '') ELSE '' END,
                    CASE WHEN k.responded_on <= p.day THEN COALESCE(k.answered_title, '') ELSE '' END,
                    CASE WHEN k.responded_on <= p.day THEN COALESCE('signed in as ' || au.email, '') ELSE '' END
               FROM p JOIN leadership_asks_on(p.org, p.cut) k ON k.org_id = p.org AND k.created_at < p.cut
               JOIN people_on(p.org, p.cut) x ON x.org_id = k.org_id AND x.id = k.asked_of
               LEFT JOIN users au ON au.id = k.answered_by
               LEFT JOIN people_on(p.org, p.cut) ap ON ap.org_id = k.org_id AND ap.id = k.answered_as
              ORDER BY k.asked_on, k.what"
                .into(),
        ),
        (
            "records/resource-decisions.csv",
            "Resource requests and decisions: what, who asked, who decided (top management or not), outcome",
            &["title", "what", "amount", "currency", "reason", "asked_by", "asked_on", "decided_by", "decider_top_management", "decision", "decided_on", "recorded_in_mandate"],
            "SELECT d.title, d.what, COALESCE(d.amount::text, ''), COALESCE(d.currency, ''), d.reason, COALESCE(a.name, ''), COALESCE(d.asked_on::text, ''),
                    CASE WHEN d.decided_on <= p.day THEN COALESCE(b.name, '') ELSE '' END, CASE WHEN d.decided_on <= p.day THEN COALESCE((b.id IN (SELECT top_management_as_of(p.org, p.cut)))::text, '') ELSE '' END,
                    CASE WHEN d.decided_on <= p.day THEN d.decision ELSE 'pending' END, CASE WHEN d.decided_on <= p.day THEN d.decided_on::text ELSE '' END,
                    to_char(d.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') || COALESCE(' by ' || ru.email, '')
               FROM p JOIN resource_decisions_on(p.org, p.cut) d ON d.org_id = p.org AND d.created_at < p.cut
               LEFT JOIN users ru ON ru.id = d.recorded_by
               LEFT JOIN people_on(p.org, p.cut) a ON a.org_id = d.org_id AND a.id = d.asked_by
               LEFT JOIN people_on(p.org, p.cut) b ON b.org_id = d.org_id AND b.id = d.decided_by
              ORDER BY COALESCE(d.decided_on, d.asked_on), d.title"
                .into(),
        ),
        (
            "records/communications.csv",
            "Leadership communications: when, from whom, channel, audience, reach",
            &["sent_on", "from", "from_top_management", "channel", "audience", "reach", "subject", "summary"],
            "SELECT c.sent_on::text, COALESCE(f.name, ''), COALESCE((f.id IN (SELECT top_management_as_of(p.org, p.cut)))::text, ''), c.channel, c.audience, COALESCE(c.reach::text, ''), c.subject, c.summary
               FROM p JOIN communications_on(p.org, p.cut) c ON c.org_id = p.org AND c.created_at < p.cut
               LEFT JOIN people_on(p.org, p.cut) f ON f.org_id = c.org_id AND f.id = c.from_id
              ORDER BY c.sent_on, c.subject"
                .into(),
        ),
        (
            "records/objectives.csv",
            "Information security objectives: measure, target, owner, due date, status",
            &["objective", "measure", "target", "owner", "due_on", "status", "supports"],
            "SELECT o.title, o.measure, o.target, COALESCE(x.name, ''), COALESCE(o.due_on::text, ''), o.status, o.strategy_link
               FROM p JOIN objectives_on(p.org, p.cut) o ON o.org_id = p.org AND o.created_at < p.cut
               LEFT JOIN people_on(p.org, p.cut) x ON x.org_id = o.org_id AND x.id = o.owner_id
              ORDER BY o.title"
                .into(),
        ),
        (
            "records/corrective-actions.csv",
            "Findings followed up as corrective actions (ISO/IEC 27001 10.2): status on the day, owner, due date, cause, action taken, resolved (and by which change), reopened or accepted as a risk by top management, read from the audit log as of the day; owner, due date, cause and action as written when the bundle was made",
            &["finding", "rule", "grade", "requirements", "status_on_the_day", "owner", "due_on", "cause", "action_taken", "first_opened_on", "times_reopened", "resolved_on", "cleared_by", "accepted_by", "accepted_until", "acceptance_reason"],
            "SELECT f.title, f.rule, f.severity, array_to_string(f.requirements, '; '),
                    CASE WHEN st.action = 'finding.resolved' THEN 'resolved'
                         WHEN st.action = 'finding.risk_accepted' AND (st.details::jsonb ->> 'accepted_until')::date >= p.day THEN 'accepted as a risk' ELSE 'open' END,
                    COALESCE(u.name, ''), COALESCE(f.due_on::text, ''), f.cause, f.action_taken, f.first_opened_at::date::text,
                    (SELECT count(*) FROM audit_log a WHERE a.org_id = p.org AND a.entity = 'finding' AND a.entity_id = f.id::text AND a.action = 'finding.reopened' AND a.at < p.cut)::text,
                    CASE WHEN st.action = 'finding.resolved' THEN to_char(st.at AT TIME ZONE 'UTC', 'YYYY-MM-DD') ELSE '' END,
                    CASE WHEN st.action = 'finding.resolved' THEN COALESCE(st.details::jsonb ->> 'cleared_by', '') ELSE '' END,
                    CASE WHEN st.action = 'finding.risk_accepted' THEN COALESCE(au.name, st.actor_label) ELSE '' END,
                    CASE WHEN st.action = 'finding.risk_accepted' THEN COALESCE(st.details::jsonb ->> 'accepted_until', '') ELSE '' END,
                    CASE WHEN st.action = 'finding.risk_accepted' THEN COALESCE(st.details::jsonb ->> 'reason', '') ELSE '' END
               FROM p JOIN findings f ON f.org_id = p.org AND f.first_opened_at < p.cut
               LEFT JOIN LATERAL (SELECT a.action, a.at, a.details, a.actor_id, a.actor_label FROM audit_log a
                                   WHERE a.org_id = p.org AND a.entity = 'finding' AND a.entity_id = f.id::text AND a.at < p.cut
                                     AND a.action IN ('finding.opened', 'finding.reopened', 'finding.resolved', 'finding.risk_accepted', 'finding.acceptance_withdrawn', 'finding.acceptance_ended')
                                   ORDER BY a.id DESC LIMIT 1) st ON true
               LEFT JOIN users au ON au.id = st.actor_id
               LEFT JOIN users u ON u.id = f.owner_id
              ORDER BY CASE f.severity WHEN 'major' THEN 0 WHEN 'minor' THEN 1 ELSE 2 END, f.title"
                .into(),
        ),
        (
            "records/evidence-requests.csv",
            "Auditors' evidence requests and their answers",
            &["requirement", "request", "status", "asked_by", "asked_at_utc", "answer", "answered_at_utc"],
            format!(
                "SELECT r.code, q.question,
                        CASE WHEN q.closed_at < p.cut THEN 'closed' WHEN q.answered_at < p.cut THEN 'answered' ELSE 'open' END, u.name, {},
                        CASE WHEN q.answered_at < p.cut THEN q.answer ELSE '' END, COALESCE({}, '')
                   FROM p JOIN evidence_requests q ON q.org_id = p.org AND q.asked_at < p.cut
                   JOIN requirements r ON r.id = q.requirement_id JOIN users u ON u.id = q.asked_by
                  ORDER BY q.asked_at",
                ts("q.asked_at"),
                ts("CASE WHEN q.answered_at < p.cut THEN q.answered_at END")
            ),
        ),
    ]
}

const DERIVED_CSV: &str = super::oscal::DERIVED;
use super::manifest::{PASSKEY_SIGNATURES, PASSKEY_SIGNATURES_KIND};

fn derived_csv(derived: &crate::gaps::derived::ByCode, day: NaiveDate) -> String {
    let mut out = crate::web::csv::row(&["requirement", "kind", "record", "dated", "valid_until", "counts_on_the_day", "where_in_mandate"]);
    for (code, items) in derived {
        for d in items {
            let valid = d.valid_until.map(|u| u.to_string()).unwrap_or_default();
            let counts = if d.counts_on(day) { "yes" } else { "no (expired)" };
            out.push_str(&crate::web::csv::row(&[code.as_str(), d.source.label(), &d.title, &d.on.to_string(), &valid, counts, &d.href]));
        }
    }
    out
}

struct RevisionRow {
    item_id: EvidenceId,
    title: String,
    number: i32,
    filename: String,
    content_type: String,
    object_key: String,
    size: i64,
    sha256: Vec<u8>,
    evidence_date: Option<NaiveDate>,
    requirements: Vec<String>,
    records: Vec<String>,
}

/// Builds the bundle into `out` and returns what was written. `now` dates
/// the entries; `progress` is updated as entries are written.
pub async fn build<W>(db: &PgPool, store: &EvidenceStore, org_id: OrgId, params: &Params, now: DateTime<Utc>, progress: &Progress, out: W) -> anyhow::Result<Built>
where
    W: AsyncWrite + Unpin + Send,
{
    let cut = crate::gaps::snapshot::cutoff(params.as_of);
    // One consistent view of the organisation for the whole bundle.
    let mut tx = db.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    let org_name = sqlx::query_scalar!("SELECT name FROM organisations WHERE id = $1", org_id.0).fetch_one(&mut *tx).await?;
    let (head_seq, head_hash) = crate::audit::head_hash(&mut *tx, org_id).await?;
    let revisions = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM evidence_revisions r JOIN evidence_items i ON i.org_id = r.org_id AND i.id = r.item_id
          WHERE r.org_id = $1 AND r.uploaded_at < $2 AND i.created_at < $2"#,
        org_id.0,
        cut,
    )
    .fetch_one(&mut *tx)
    .await?;
    let policy_texts = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM policy_versions WHERE org_id = $1 AND created_at < $2 AND btrim(COALESCE(body_markdown, '')) <> ''"#,
        org_id.0,
        cut,
    )
    .fetch_one(&mut *tx)
    .await?;
    let records = record_files();
    // One step per file, and one each for README.txt, the gap list, the derived evidence, the passkey signatures, the OSCAL files, the audit log, the index, the manifest and SHA256SUMS.
    progress.total.store(revisions as u64 + policy_texts as u64 + records.len() as u64 + 9, Ordering::Relaxed);

    let manifest_path = std::env::temp_dir().join(format!("mandate-manifest-{}.jsonl", Uuid::new_v4().simple()));
    let file = tokio::fs::File::create(&manifest_path).await.context("creating a temporary file for the manifest")?;
    let mut w = Writer {
        zip: ZipFileWriter::with_tokio(Hashing { inner: out, hasher: Sha256::new(), size: 0 }),
        stamp: ZipDateTime::from_chrono(&now),
        manifest_lines: tokio::io::BufWriter::new(file),
        manifest_path: manifest_path.clone(),
        files: 0,
    };
    let result = write_all(db, &mut tx, store, org_id, &org_name, params, cut, now, progress, &mut w, &records, head_seq, &head_hash).await;
    let _ = tokio::fs::remove_file(&manifest_path).await;
    let (manifest_sha256, evidence_files) = result?;
    tx.rollback().await?;
    // The listed files, the manifest and SHA256SUMS.
    let files = w.files + 2;
    let mut hashing = w.zip.close().await?.into_inner();
    hashing.shutdown().await.context("finishing the bundle file")?;
    Ok(Built { size: hashing.size, sha256: hashing.hasher.finalize().to_vec(), manifest_sha256, files, evidence_files })
}

#[allow(clippy::too_many_arguments)]
async fn write_all<W: AsyncWrite + Unpin + Send>(
    db: &PgPool,
    tx: &mut Transaction<'static, Postgres>,
    store: &EvidenceStore,
    org_id: OrgId,
    org_name: &str,
    params: &Params,
    cut: DateTime<Utc>,
    now: DateTime<Utc>,
    progress: &Progress,
    w: &mut Writer<W>,
    records: &[(&'static str, &'static str, &'static [&'static str], String)],
    head_seq: i64,
    head_hash: &[u8],
) -> anyhow::Result<(Vec<u8>, usize)> {
    // 0. What the bundle is and how to check it, first so a ZIP tool lists it at the top.
    w.add_text(README, "readme", readme(org_name, params, now)).await?;
    progress.step("Wrote README.txt").await?;

    // 1. Evidence files, page by page, each checked against its recorded SHA-256.
    let mut after: Option<(EvidenceId, i32)> = None;
    let mut evidence_files = 0usize;
    loop {
        let page = sqlx::query_as!(
            RevisionRow,
            r#"SELECT r.item_id AS "item_id: EvidenceId", i.title AS "title!", r.number, r.filename, r.content_type, r.object_key, r.size, r.sha256, i.evidence_date AS "evidence_date?",
                    ARRAY(SELECT q.code FROM evidence_links_on($1, $2) l JOIN requirements q ON q.id = l.target_id
                           WHERE l.org_id = i.org_id AND l.item_id = i.id AND l.target_kind = 'requirement' AND l.linked_at < $2 ORDER BY q.position) AS "requirements!",
                    ARRAY(SELECT l.target_kind || ':' || l.target_id FROM evidence_links_on($1, $2) l
                           WHERE l.org_id = i.org_id AND l.item_id = i.id AND l.target_kind <> 'requirement' AND l.linked_at < $2
                           ORDER BY l.target_kind, l.target_id) AS "records!"
               FROM evidence_revisions r JOIN evidence_items_on($1, $2) i ON i.org_id = r.org_id AND i.id = r.item_id
              WHERE r.org_id = $1
                AND ((r.uploaded_at < $2 AND i.created_at < $2)
                     -- The scan of minutes signed off on paper by the day: uploaded later, it is the image of what was signed then.
                     OR EXISTS (SELECT 1 FROM evidence_pins pin JOIN meetings m ON m.org_id = pin.org_id AND m.id = pin.target_id
                                 WHERE pin.org_id = r.org_id AND pin.target_kind = 'meeting' AND pin.revision_id = r.id
                                   AND m.signed_off_recorded_at IS NOT NULL AND m.signed_off_at < $2))
                AND ($3::uuid IS NULL OR (r.item_id, r.number) > ($3, $4))
              ORDER BY r.item_id, r.number LIMIT 200"#,
            org_id.0,
            cut,
            after.map(|a| a.0.0),
            after.map(|a| a.1).unwrap_or(0),
        )
        .fetch_all(&mut **tx)
        .await?;
        let Some(last) = page.last() else { break };
        after = Some((last.item_id, last.number));
        for r in page {
            let path = evidence_path(r.item_id, &r.title, r.number, &r.filename);
            let (_, stream) = store.read(&r.object_key).await.with_context(|| format!("reading the file of \"{}\" (revision {})", r.title, r.number))?;
            let (sha, size) = w.add(&path, compresses(&r.content_type), stream.map_err(anyhow::Error::from)).await?;
            if sha != r.sha256 || size != r.size as u64 {
                bail!("the stored file of \"{}\" (revision {}) no longer matches the SHA-256 recorded when it was uploaded", r.title, r.number);
            }
            w.list(FileEntry {
                path,
                sha256: hex::encode(sha),
                size,
                kind: "evidence".into(),
                evidence_item: Some(r.item_id.to_string()),
                title: Some(r.title.clone()),
                revision: Some(r.number),
                evidence_date: r.evidence_date.map(|d| d.to_string()),
                requirements: r.requirements,
                records: r.records,
            })
            .await?;
            evidence_files += 1;
            progress.step(format!("Copied evidence file {evidence_files} of {}", progress.total.load(Ordering::Relaxed))).await?;
        }
    }

    // 2. Policy texts written in the app.
    {
        let mut rows = sqlx::query!(
            r#"SELECT pol.id AS "policy_id: PolicyId", pol.title, v.major, v.minor, v.body_markdown AS "body!" FROM policy_versions v
                 JOIN policies pol ON pol.org_id = v.org_id AND pol.id = v.policy_id
              WHERE v.org_id = $1 AND v.created_at < $2 AND btrim(COALESCE(v.body_markdown, '')) <> '' ORDER BY pol.title, v.major, v.minor"#,
            org_id.0,
            cut,
        )
        .fetch(&mut **tx);
        while let Some(row) = rows.try_next().await? {
            let (policy_id, title, major, minor, body) = (row.policy_id, row.title, row.major, row.minor, row.body);
            let path = policy_path(policy_id, &title, major, minor);
            let (sha, size) = w.add(&path, true, futures_util::stream::iter([Ok(bytes::Bytes::from(body))])).await?;
            w.list(FileEntry { path, sha256: hex::encode(sha), size, kind: "policy_text".into(), title: Some(format!("{title} v{major}.{minor}")), ..blank() }).await?;
            progress.step(format!("Wrote the text of {title} v{major}.{minor}")).await?;
        }
    }

    // 3. Record CSVs, streamed from PostgreSQL.
    for (path, description, header, sql) in records {
        let (sha, size) = {
            let head = crate::web::csv::row(header);
            // dynamic: the record CSVs are the fixed queries of `record_files`, every column read as text
            let mut query = sqlx::QueryBuilder::new("WITH p AS (SELECT ");
            query.push_bind(org_id.0).push("::uuid AS org, ").push_bind(params.as_of).push("::date AS day, ").push_bind(cut).push("::timestamptz AS cut) ").push(sql);
            let rows = query.build().fetch(&mut **tx);
            let lines = rows.map(|row| -> anyhow::Result<bytes::Bytes> {
                let row = row?;
                let cells: Vec<String> = (0..row.len()).map(|i| row.try_get::<Option<String>, _>(i).map(Option::unwrap_or_default)).collect::<Result<_, _>>()?;
                Ok(bytes::Bytes::from(crate::web::csv::row(&cells)))
            });
            let all = futures_util::stream::iter([Ok(bytes::Bytes::from(head))]).chain(lines);
            w.add(path, true, Box::pin(all)).await?
        };
        w.list(FileEntry { path: path.to_string(), sha256: hex::encode(sha), size, kind: "record_csv".into(), title: Some(description.to_string()), ..blank() }).await?;
        progress.step(format!("Wrote {path}")).await?;
    }

    // 4. The gap list as of the day, from the gap engine.
    let evaluation = crate::gaps::evaluate(db, org_id, params.as_of).await.map_err(|e| anyhow::anyhow!("evaluating the gaps: {e:?}"))?;
    w.add_text("records/gaps.csv", "record_csv", crate::gaps::routes::csv_text(&evaluation, &Default::default())).await?;
    progress.step("Wrote the gap list").await?;
    // The records Mandate holds that count as evidence, requirement by requirement.
    let derived = crate::gaps::derived::by_code(&evaluation.snapshot);
    w.add_text(DERIVED_CSV, "record_csv", derived_csv(&derived, params.as_of)).await?;
    progress.step(format!("Wrote {DERIVED_CSV}")).await?;
    // Signatures bound to a leader's passkey: each checkable offline (`mandate verify-bundle`, docs/SIGNATURES.md).
    let bound = sqlx::query!(
        "SELECT record_kind, record_id, signed_at, signature FROM passkey_signatures WHERE org_id = $1 AND signed_at < $2 ORDER BY signed_at, id",
        org_id.0,
        cut
    )
    .fetch_all(db)
    .await?;
    let bound: Vec<serde_json::Value> = bound
        .into_iter()
        .map(|r| {
            let pem = serde_json::from_value::<crate::auth::assertion::BoundSignature>(r.signature.clone()).ok().and_then(|b| b.public_key.pem());
            serde_json::json!({"record": r.record_kind, "id": r.record_id, "signed_at": r.signed_at, "public_key_pem": pem, "signature": r.signature})
        })
        .collect();
    w.add_text(PASSKEY_SIGNATURES, PASSKEY_SIGNATURES_KIND, serde_json::to_string_pretty(&bound)? + "\n").await?;
    progress.step(format!("Wrote {PASSKEY_SIGNATURES}")).await?;
    // OSCAL: the catalog, Mandate's component definition and the assessment results as of the day.
    let assessment = crate::oscal::Assessment {
        org_id: org_id.0,
        org_name,
        as_of: params.as_of,
        start: params.period_from.map(crate::gaps::snapshot::start_of).unwrap_or_else(|| crate::gaps::snapshot::start_of(params.as_of)),
        end: cut - chrono::Duration::seconds(1),
        generated: now,
        catalog_href: "catalog.json",
    };
    super::oscal::write(w, &assessment, &evaluation, &derived).await?;
    progress.step("Wrote the OSCAL files").await?;

    // 5. The audit-log segment: the period's rows (or all up to the day), each
    //    with the fields its hash covers.
    let from = params.period_from.map(crate::gaps::snapshot::start_of).unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let to = params.period_to.map(crate::gaps::snapshot::cutoff).map(|t| t.min(cut)).unwrap_or(cut);
    let chain = org_id;
    let range = sqlx::query!("SELECT min(seq) AS first_seq, max(seq) AS last_seq FROM audit_log WHERE chain = $1 AND at >= $2 AND at < $3", chain.0, from, to)
        .fetch_one(&mut **tx)
        .await?;
    let (first_seq, last_seq) = (range.first_seq, range.last_seq);
    let audit_path = "audit/audit-log.jsonl";
    let (sha, size) = {
        // By sequence number: `at` is when a request started, so rows of the
        // period are a contiguous run of the chain only by `seq`.
        let rows = sqlx::query_as!(
            ExportedRow,
            r#"SELECT chain, seq, org_id AS "org_id: OrgId", actor_id AS "actor_id: UserId", actor_label, action, entity, entity_id,
                    to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "at!", request_id, details,
                    encode(prev_hash, 'hex') AS "prev_hash!", encode(hash, 'hex') AS "hash!"
               FROM audit_log WHERE chain = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq"#,
            chain.0,
            first_seq.unwrap_or(1),
            last_seq.unwrap_or(0),
        )
        .fetch(&mut **tx);
        let lines = rows.map(|row| -> anyhow::Result<bytes::Bytes> {
            let mut line = serde_json::to_vec(&row?)?;
            line.push(b'\n');
            Ok(bytes::Bytes::from(line))
        });
        w.add(audit_path, true, Box::pin(lines)).await?
    };
    w.list(FileEntry { path: audit_path.into(), sha256: hex::encode(sha), size, kind: "audit_log".into(), title: Some("Audit-log rows, one JSON object per line".into()), ..blank() }).await?;
    progress.step("Wrote the audit log").await?;
    let segment = AuditSegment { path: audit_path.into(), first_seq, last_seq, head_seq, head_hash: hex::encode(head_hash) };

    // 6. The offline index: requirement → owner → evidence, then the records.
    let (sha, size) = {
        let mut entry = w.start("index.html", true).await?;
        super::index::render(tx, &mut entry, org_id, org_name, params, cut, now, records, &segment, &derived).await?;
        entry.finish().await?
    };
    w.list(FileEntry { path: "index.html".into(), sha256: hex::encode(sha), size, kind: "index".into(), title: Some("Start here: works offline".into()), ..blank() }).await?;
    progress.step("Wrote the index").await?;

    // 7. The manifest, from the lines kept on disk.
    w.manifest_lines.flush().await?;
    let head = serde_json::json!({
        "format": FORMAT,
        "organisation": org_name,
        "organisation_id": org_id.to_string(),
        "as_of": params.as_of.to_string(),
        "period_from": params.period_from.map(|d| d.to_string()),
        "period_to": params.period_to.map(|d| d.to_string()),
        "generated_at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "audit_log": segment,
    })
    .to_string();
    let opening = format!("{},\"files\":[\n", &head[..head.len() - 1]);
    let lines = tokio::io::BufReader::new(tokio::fs::File::open(&w.manifest_path).await?).lines();
    let mut first = true;
    let entries = tokio_stream::wrappers::LinesStream::new(lines).map(move |line| -> anyhow::Result<bytes::Bytes> {
        let sep = if std::mem::take(&mut first) { "" } else { ",\n" };
        Ok(bytes::Bytes::from(format!("{sep}{}", line?)))
    });
    let all = futures_util::stream::iter([Ok(bytes::Bytes::from(opening))]).chain(entries).chain(futures_util::stream::iter([Ok(bytes::Bytes::from_static(b"\n]}\n"))]));
    let (manifest_sha, _) = w.add(MANIFEST, true, Box::pin(all)).await?;
    progress.step("Wrote the manifest").await?;

    // 8. SHA256SUMS: every file with its SHA-256, from the same lines, then
    //    the manifest; so `sha256sum -c SHA256SUMS` checks an unzipped bundle.
    let lines = tokio::io::BufReader::new(tokio::fs::File::open(&w.manifest_path).await?).lines();
    let listed = tokio_stream::wrappers::LinesStream::new(lines).map(|line| -> anyhow::Result<bytes::Bytes> {
        let entry: FileEntry = serde_json::from_str(&line?)?;
        Ok(bytes::Bytes::from(sums_line(&entry.sha256, &entry.path)?))
    });
    let last = sums_line(&hex::encode(&manifest_sha), MANIFEST)?;
    w.add(SUMS, true, Box::pin(listed.chain(futures_util::stream::iter([Ok(bytes::Bytes::from(last))])))).await?;
    progress.step("Wrote SHA256SUMS").await?;
    Ok((manifest_sha, evidence_files))
}

/// The bundle's README.txt: what it is and three ways to check it.
fn readme(org_name: &str, params: &Params, now: DateTime<Utc>) -> String {
    let period = match (params.period_from, params.period_to) {
        (None, None) => String::new(),
        (from, to) => format!(
            "\nThe audit log covers the period {} to {}.",
            from.map(|d| d.to_string()).unwrap_or_else(|| "the start".into()),
            to.map(|d| d.to_string()).unwrap_or_else(|| params.as_of.to_string())
        ),
    };
    format!(
        "EVIDENCE BUNDLE: {org_name}, as of {as_of}
Made by Mandate on {made} (UTC).{period}

WHAT THIS IS

The records that show how the leadership of {org_name} directs its
information security management system (ISO/IEC 27001:2022 clause 5 and
Annex A 5.4), as recorded by the end of {as_of}: anything recorded later is
left out, and anything edited since is shown as it stood that day:

  index.html      start here: it opens in any web browser, offline, and
                  leads from each requirement to its owner and evidence
  evidence/       every evidence file, byte for byte as it was uploaded
  policies/       the policy texts written in Mandate
  records/        spreadsheets (CSV): people, policies and who acknowledged
                  them, training, roles, meetings, decisions, the gap list...
  signatures/     passkey-signatures.json: signatures a leader's passkey
                  made over a statement of exactly what they approved
  audit/          the audit log: one row per line, each row carrying the
                  hash of the row before it, so a row that was changed,
                  slipped in or taken out shows
  manifest.json   every file above with its SHA-256 and size
  SHA256SUMS      the SHA-256 of every file in the bundle except itself

HOW TO CHECK IT

1. With standard tools only. Unzip the bundle, open a terminal in the
   folder that holds this README.txt and run

       sha256sum -c SHA256SUMS

   (on macOS: shasum -a 256 -c SHA256SUMS). Every line must end in OK.
   A file that was changed shows FAILED.

2. With Mandate, on the ZIP file itself, without a database or network:

       mandate verify-bundle --expect-manifest <SHA-256> bundle.zip

   It checks every file against manifest.json and SHA256SUMS, that the ZIP
   holds nothing more than it lists (so no unzip tool can show other files),
   that the audit-log rows chain, and that every passkey signature matches
   its public key and the statement it signed (Mandate's docs/SIGNATURES.md
   shows that check with standard tools too).

3. Whoever changed a file could also have rewritten the lists, so compare
   the SHA-256 of manifest.json (sha256sum manifest.json) with the one
   Mandate shows on this bundle's page, which it also wrote to its audit
   log when it made the bundle (the \"bundle.built\" entry). If the two
   agree, manifest.json is the one Mandate wrote, and through it every file.
   That value is also the <SHA-256> to give in step 2.
",
        as_of = params.as_of,
        made = now.format("%Y-%m-%d %H:%M"),
    )
}
