//! The audit log: one row per change, written in the same transaction as the
//! change, chained per organisation with SHA-256 so that any edit, removal
//! or reordering is detected by `mandate audit verify`. The database itself
//! refuses UPDATE, DELETE and TRUNCATE on the table.
pub mod pages;
pub mod words;

use crate::ids::{OrgId, UserId};
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use std::fmt;
use uuid::Uuid;

/// Who makes a change, and under which request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub org_id: Option<OrgId>,
    pub user_id: Option<UserId>,
    /// Shown in the log even after the account is gone (normally the e-mail).
    pub label: String,
    pub request_id: String,
}

impl Actor {
    /// Changes made by the application itself (demo data, maintenance).
    pub fn system(org_id: Option<OrgId>, label: &str) -> Self {
        Actor { org_id, user_id: None, label: label.into(), request_id: "system".into() }
    }
}

/// An action code in words, for people reading the log.
pub fn describe(action: &str) -> &str {
    match action {
        "organisation.created" => "created the organisation",
        "membership.created" => "added a member",
        "membership.role_changed" => "changed a member's role",
        "membership.disabled" => "disabled a member",
        "membership.enabled" => "re-enabled a member",
        "membership.window_set" => "changed an auditor's access window",
        "invitation.created" => "invited someone",
        "invitation.revoked" => "withdrew an invitation",
        "invitation.accepted" => "accepted an invitation",
        "user.created" => "created an account",
        "signup.requested" => "asked to create an organisation (link e-mailed)",
        "signup.finished" => "finished a sign-up from its e-mailed link",
        "user.password_changed" => "changed their password",
        "session.signed_in" => "signed in",
        "catalogue.loaded" => "loaded a requirement catalogue",
        "requirement.updated" => "updated a requirement",
        "api_token.created" => "made a personal access token for the API",
        "api_token.revoked" => "revoked a personal access token",
        "person.synced" => "synchronised people from an HR system",
        "training.synced" => "synchronised training records from a training system",
        "person.created" => "added a person",
        "person.updated" => "updated a person",
        "person.left" => "recorded a leaver",
        "person.account_linked" => "confirmed a directory entry is theirs",
        "roster.proposed" => "proposed a change to top management",
        "roster.confirmed" => "confirmed a change to top management",
        "roster.refused" => "refused a change to top management",
        "roster.withdrawn" => "withdrew a proposed change to top management",
        "roster.bootstrapped" => "set up the organisation's first member of top management",
        "people.import_checked" => "uploaded a people file for checking",
        "people.imported" => "imported people",
        "role.created" => "created an ISMS role",
        "role.updated" => "updated an ISMS role",
        "role.retired" => "retired an ISMS role",
        "appointment.made" => "recorded an appointment",
        "appointment.confirmed" => "confirmed an appointment",
        "appointment.accepted" => "accepted a role",
        "appointment.confirmed_on_paper" => "recorded an appointment letter signed on paper by the appointer",
        "appointment.accepted_on_paper" => "recorded a role accepted on paper",
        "appointment.link_renewed" => "renewed a role acceptance link",
        "appointment.ended" => "ended an appointment",
        "appointment.hats_noted" => "noted which hat is worn when",
        "raci.updated" => "changed the RACI matrix",
        "evidence.created" => "added evidence",
        "evidence.updated" => "updated evidence details",
        "evidence.revised" => "uploaded a new evidence file",
        "evidence.linked" => "linked evidence",
        "evidence.unlinked" => "unlinked evidence",
        "policy.created" => "created a policy",
        "policy.updated" => "changed a policy's settings",
        "policy.withdrawn" => "withdrew a policy",
        "policy_version.drafted" => "drafted a policy version",
        "policy_version.edited" => "edited a policy draft",
        "policy_version.signed" => "signed a policy version",
        "policy_version.recorded_from_paper" => "recorded a policy version approved on paper",
        "policy.acknowledged" => "acknowledged a policy",
        "policy.acknowledgements_import_checked" => "uploaded an acknowledgements file for checking",
        "policy.acknowledgements_imported" => "imported policy acknowledgements",
        "campaign.started" => "started an acknowledgement campaign",
        "campaign.links_issued" => "issued acknowledgement links",
        "campaign.links_downloaded" => "downloaded the acknowledgement links they issued",
        "training.module_created" => "created a training module",
        "training.module_updated" => "changed a training module",
        "training.module_retired" => "retired a training module",
        "training.completed" => "recorded a training completion",
        "training.corrected" => "corrected a training completion from the training system",
        "training.import_checked" => "uploaded a training file for checking",
        "training.imported" => "imported training completions",
        "organisation.review_cadence_set" => "set the management review cadence",
        "organisation.grading_set" => "changed how findings are graded",
        "organisation.logo_set" => "set the organisation's logo",
        "organisation.logo_removed" => "removed the organisation's logo",
        "organisation.generated" => "generated test records",
        "organisation.demo_dated" => "dated the demo records",
        "meeting.created" => "recorded a meeting",
        "meeting.updated" => "updated a meeting",
        "meeting.signed_off" => "signed off meeting minutes",
        "meeting.signed_off_on_paper" => "recorded meeting minutes signed off on paper",
        "meeting.addendum_added" => "added an addendum to signed-off minutes",
        "policy_version.addendum_added" => "added an addendum to a signed policy version",
        "action.created" => "added an action item",
        "action.updated" => "updated an action item",
        "decision.created" => "recorded a resource decision",
        "decision.updated" => "updated a resource decision",
        "communication.created" => "recorded a leadership communication",
        "communication.updated" => "updated a leadership communication",
        "objective.created" => "recorded a security objective",
        "objective.updated" => "updated a security objective",
        "ask.created" => "recorded an ask to leadership",
        "ask.updated" => "updated an ask to leadership",
        "ask.answered" => "answered an ask",
        "raci.activity_added" => "added a RACI activity",
        "raci.activity_removed" => "removed a RACI activity",
        "evidence_request.raised" => "asked for evidence",
        "evidence_request.answered" => "answered an evidence request",
        "evidence_request.closed" => "closed an evidence request",
        "evidence_request.reopened" => "reopened an evidence request",
        "finding.opened" => "opened a finding (its rule started to fire)",
        "finding.reopened" => "reopened a finding (its rule fired again)",
        "finding.resolved" => "resolved a finding (its rule stopped firing)",
        "finding.restated" => "restated a finding (what its rule reports changed)",
        "finding.updated" => "updated a corrective action",
        "finding.risk_accepted" => "accepted a finding as a risk",
        "finding.acceptance_withdrawn" => "withdrew a risk acceptance",
        "finding.acceptance_ended" => "reopened a finding (its risk acceptance ran out)",
        "notify.queued" => "wrote digests and reminders to the outbox",
        "notify.settings_changed" => "changed how often Mandate e-mails them",
        "bundle.requested" => "asked for an evidence bundle",
        "bundle.built" => "made an evidence bundle",
        "bundle.failed" => "failed to make an evidence bundle",
        other => other,
    }
}

/// A number that grows with every change to the organisation's records
/// (-1: none yet): a count of its audit rows, leaving out access events.
pub async fn records_version(db: impl sqlx::PgExecutor<'_>, org_id: OrgId) -> crate::error::AppResult<i64> {
    Ok(sqlx::query_scalar!("SELECT records_seq FROM audit_heads WHERE chain = $1", chain_of(Some(org_id))).fetch_optional(db).await?.unwrap_or(-1))
}

/// Whether an audit row records a change to the organisation's records.
/// Access events (signing in, changing one's password, making an evidence
/// bundle) do not, nor does the follow-up of findings (the gap engine does
/// not read it, and the tracker writes it after reading the version); any
/// other action does, including ones added later.
pub fn changes_records(action: &str) -> bool {
    !(action.starts_with("session.") || action.starts_with("bundle.") || action.starts_with("finding.") || action.starts_with("notify.") || action == "user.password_changed")
}

/// Organisation-less events (an account changing its password) share the nil chain.
fn chain_of(org_id: Option<OrgId>) -> Uuid {
    org_id.map(|o| o.0).unwrap_or(Uuid::nil())
}

/// The exact bytes that are hashed: fields in a fixed order, each JSON-encoded.
#[allow(clippy::too_many_arguments)]
fn canonical(
    chain: Uuid,
    seq: i64,
    org_id: Option<OrgId>,
    actor_id: Option<UserId>,
    actor_label: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    at: DateTime<Utc>,
    request_id: &str,
    details: &str,
) -> String {
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let o = |v: Option<Uuid>| v.map(|u| s(&u.to_string())).unwrap_or_else(|| "null".into());
    format!(
        "[{},{seq},{},{},{},{},{},{},{},{},{}]",
        s(&chain.to_string()),
        o(org_id.map(|o| o.0)),
        o(actor_id.map(|u| u.0)),
        s(actor_label),
        s(action),
        s(entity),
        s(entity_id),
        s(&at.to_rfc3339_opts(SecondsFormat::Micros, true)),
        s(request_id),
        s(details),
    )
}

fn chain_hash(prev: &[u8], canonical: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical.as_bytes());
    h.finalize().to_vec()
}

/// One change to write to the log.
#[derive(Debug, Clone)]
pub struct Entry {
    pub action: &'static str,
    pub entity: &'static str,
    pub entity_id: String,
    pub details: Value,
}

impl Entry {
    pub fn new(action: &'static str, entity: &'static str, entity_id: impl fmt::Display, details: Value) -> Self {
        Entry { action, entity, entity_id: entity_id.to_string(), details }
    }
}

/// Appends one row. Call it inside the transaction that makes the change.
pub async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    at: DateTime<Utc>,
    action: &'static str,
    entity: &'static str,
    entity_id: impl fmt::Display,
    details: Value,
) -> anyhow::Result<()> {
    record_many(conn, actor, at, vec![Entry::new(action, entity, entity_id, details)]).await
}

/// Appends several rows in one statement (a bulk import writes thousands),
/// chained in the given order. Call it inside the transaction that makes the change.
pub async fn record_many(conn: &mut PgConnection, actor: &Actor, at: DateTime<Utc>, entries: Vec<Entry>) -> anyhow::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let chain = chain_of(actor.org_id);
    sqlx::query!("INSERT INTO audit_heads (chain, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (chain) DO NOTHING", chain, &[0u8; 32][..])
        .execute(&mut *conn)
        .await?;
    // The row lock serialises appends to one chain, so concurrent writers never fork it.
    let head = sqlx::query!("SELECT seq, hash FROM audit_heads WHERE chain = $1 FOR UPDATE", chain).fetch_one(&mut *conn).await?;
    let (mut seq, mut prev) = (head.seq, head.hash);
    let n = entries.len();
    let changes = entries.iter().filter(|e| changes_records(e.action)).count() as i64;
    let (mut seqs, mut actions, mut entities, mut ids, mut details, mut prevs, mut hashes) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for e in entries {
        seq += 1;
        let text_details = e.details.to_string();
        let text = canonical(
            chain, seq, actor.org_id, actor.user_id, &actor.label, e.action, e.entity, &e.entity_id, at, &actor.request_id,
            &text_details,
        );
        let hash = chain_hash(&prev, &text);
        seqs.push(seq);
        actions.push(e.action);
        entities.push(e.entity);
        ids.push(e.entity_id);
        details.push(text_details);
        prevs.push(std::mem::replace(&mut prev, hash.clone()));
        hashes.push(hash);
    }
    sqlx::query!(
        "INSERT INTO audit_log (chain, seq, org_id, actor_id, actor_label, action, entity, entity_id, at, request_id, details, prev_hash, hash)
         SELECT $1, u.seq, $2, $3, $4, u.action, u.entity, u.entity_id, $5, $6, u.details, u.prev_hash, u.hash
           FROM UNNEST($7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bytea[], $13::bytea[])
                AS u(seq, action, entity, entity_id, details, prev_hash, hash)",
        chain,
        actor.org_id.map(|o| o.0),
        actor.user_id.map(|u| u.0),
        &actor.label,
        at,
        &actor.request_id,
        &seqs,
        &actions as &[&str],
        &entities as &[&str],
        &ids,
        &details,
        &prevs,
        &hashes
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE audit_heads SET seq = $2, hash = $3, records_seq = records_seq + $4 WHERE chain = $1",
        chain,
        seq,
        &prev,
        changes
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The fields a change altered, as `{field: [before, after]}` for the log.
#[derive(Debug, Default)]
pub struct Changes(serde_json::Map<String, Value>);

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }
    /// Notes `name` when `before` and `after` differ.
    pub fn field(&mut self, name: &str, before: impl serde::Serialize, after: impl serde::Serialize) -> &mut Self {
        let (a, b) = (serde_json::json!(before), serde_json::json!(after));
        if a != b {
            self.0.insert(name.to_string(), serde_json::json!([a, b]));
        }
        self
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// One line of a record's history, as record pages show it.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub actor_label: String,
    pub action: String,
    pub details: String,
    /// Who, by name and title (their account's label if they have no entry).
    pub who: String,
    /// The change in words, one sentence per field, with names for ids.
    pub lines: Vec<String>,
}

impl HistoryEntry {
    pub fn what(&self) -> &str {
        describe(&self.action)
    }
    /// "3 May 2026".
    pub fn day(&self) -> String {
        words::day(self.at)
    }
}

/// The newest `limit` log rows about one record of an organisation.
/// `entity_id` is the record's id, of whatever type (as `record` takes it).
/// Read in words: every id a row mentions is named (two queries in all).
pub async fn history(db: &PgPool, org_id: OrgId, entity: &str, entity_id: impl fmt::Display, limit: i64) -> anyhow::Result<Vec<HistoryEntry>> {
    let rows = sqlx::query!(
        r#"SELECT at, actor_label, actor_id AS "actor_id: UserId", action, details FROM audit_log
          WHERE org_id = $1 AND entity = $2 AND entity_id = $3 ORDER BY id DESC LIMIT $4"#,
        org_id.0,
        entity,
        entity_id.to_string(),
        limit
    )
    .fetch_all(db)
    .await?;
    let details: Vec<&str> = rows.iter().map(|r| r.details.as_str()).collect();
    let actors: Vec<Uuid> = rows.iter().filter_map(|r| r.actor_id.map(|a| a.0)).collect();
    let names = words::names(db, org_id, &details, &[], &actors).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let who = r.actor_id.and_then(|a| names.get(&a.0)).map(str::to_string).unwrap_or_else(|| r.actor_label.clone());
            let lines = words::sentences(&r.details, &names);
            HistoryEntry { at: r.at, who, lines, actor_label: r.actor_label, action: r.action, details: r.details }
        })
        .collect())
}

#[derive(Debug)]
struct StoredRow {
    id: i64,
    chain: Uuid,
    seq: i64,
    org_id: Option<OrgId>,
    actor_id: Option<UserId>,
    actor_label: String,
    action: String,
    entity: String,
    entity_id: String,
    at: DateTime<Utc>,
    request_id: String,
    details: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

/// An audit row as evidence bundles export it (one JSON object per line):
/// every field the hash covers, so anyone can re-check the chain offline.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct ExportedRow {
    pub chain: Uuid,
    pub seq: i64,
    pub org_id: Option<OrgId>,
    pub actor_id: Option<UserId>,
    pub actor_label: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    /// RFC 3339 with microseconds, exactly as hashed.
    pub at: String,
    pub request_id: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl ExportedRow {
    /// The rows of one organisation's chain with `first <= seq <= last`, in order.
    pub const SQL: &'static str = "SELECT chain, seq, org_id, actor_id, actor_label, action, entity, entity_id,
            to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at, request_id, details,
            encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash
       FROM audit_log WHERE chain = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq";

    /// The rows of one organisation's chain with `first <= seq <= last`, in
    /// order (what `SQL` reads, compile-checked).
    pub fn of_chain<'e>(
        db: impl sqlx::PgExecutor<'e> + 'e,
        org_id: OrgId,
        first: i64,
        last: i64,
    ) -> futures_util::stream::BoxStream<'e, Result<ExportedRow, sqlx::Error>> {
        sqlx::query_as!(
            ExportedRow,
            r#"SELECT chain, seq, org_id AS "org_id: OrgId", actor_id AS "actor_id: UserId", actor_label, action, entity, entity_id,
                    to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "at!", request_id, details,
                    encode(prev_hash, 'hex') AS "prev_hash!", encode(hash, 'hex') AS "hash!"
               FROM audit_log WHERE chain = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq"#,
            chain_of(Some(org_id)),
            first,
            last
        )
        .fetch(db)
    }

    pub fn hash_is_valid(&self) -> bool {
        let Ok(at) = DateTime::parse_from_rfc3339(&self.at) else { return false };
        let (Ok(prev), Ok(hash)) = (hex::decode(&self.prev_hash), hex::decode(&self.hash)) else { return false };
        let text = canonical(
            self.chain, self.seq, self.org_id, self.actor_id, &self.actor_label, &self.action, &self.entity, &self.entity_id,
            at.with_timezone(&Utc), &self.request_id, &self.details,
        );
        chain_hash(&prev, &text) == hash
    }
}

/// The chain head of an organisation: its newest sequence number and hash.
pub async fn head_hash(db: impl sqlx::PgExecutor<'_>, org_id: OrgId) -> anyhow::Result<(i64, Vec<u8>)> {
    let head = sqlx::query!("SELECT seq, hash FROM audit_heads WHERE chain = $1", chain_of(Some(org_id))).fetch_optional(db).await?;
    Ok(head.map(|h| (h.seq, h.hash)).unwrap_or((0, vec![0u8; 32])))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub chain: Uuid,
    pub seq: i64,
    /// The table's row id, when the problem is a row (not a missing tail).
    pub row_id: Option<i64>,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.row_id {
            Some(id) => write!(f, "row {id} (chain {}, seq {}): {}", self.chain, self.seq, self.reason),
            None => write!(f, "chain {} at seq {}: {}", self.chain, self.seq, self.reason),
        }
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub rows: u64,
    pub chains: u64,
    pub first_problem: Option<Problem>,
}

/// Walks every chain in order (streaming, constant memory) and names the first
/// row that does not verify.
pub async fn verify(db: &PgPool) -> anyhow::Result<Report> {
    let heads: HashMap<Uuid, (i64, Vec<u8>)> =
        sqlx::query!("SELECT chain, seq, hash FROM audit_heads").fetch_all(db).await?.into_iter().map(|h| (h.chain, (h.seq, h.hash))).collect();
    let mut report = Report::default();
    let mut rows = sqlx::query_as!(
        StoredRow,
        r#"SELECT id, chain, seq, org_id AS "org_id: OrgId", actor_id AS "actor_id: UserId", actor_label, action, entity, entity_id,
                  at, request_id, details, prev_hash, hash
             FROM audit_log ORDER BY chain, seq"#
    )
    .fetch(db);
    let mut current: Option<(Uuid, i64, Vec<u8>)> = None;
    let mut seen_chains = Vec::new();
    while let Some(row) = rows.try_next().await? {
        report.rows += 1;
        let (expect_seq, expect_prev) = match &current {
            Some((chain, seq, hash)) if *chain == row.chain => (seq + 1, hash.clone()),
            previous => {
                if let Some((chain, seq, hash)) = previous
                    && let Some(p) = check_head(&heads, *chain, *seq, hash)
                {
                    report.first_problem = Some(p);
                    return Ok(report);
                }
                seen_chains.push(row.chain);
                (1, vec![0u8; 32])
            }
        };
        let problem = |reason: &str| Problem { chain: row.chain, seq: row.seq, row_id: Some(row.id), reason: reason.into() };
        if row.seq != expect_seq {
            report.first_problem = Some(problem(&format!("expected sequence number {expect_seq}: a row is missing")));
            return Ok(report);
        }
        if row.prev_hash != expect_prev {
            report.first_problem = Some(problem("does not link to the row before it"));
            return Ok(report);
        }
        let text = canonical(
            row.chain, row.seq, row.org_id, row.actor_id, &row.actor_label, &row.action, &row.entity, &row.entity_id, row.at,
            &row.request_id, &row.details,
        );
        if chain_hash(&row.prev_hash, &text) != row.hash {
            report.first_problem = Some(problem("content does not match its hash: the row was altered"));
            return Ok(report);
        }
        current = Some((row.chain, row.seq, row.hash));
    }
    if let Some((chain, seq, hash)) = &current
        && let Some(p) = check_head(&heads, *chain, *seq, hash)
    {
        report.first_problem = Some(p);
        return Ok(report);
    }
    for (chain, (seq, _)) in &heads {
        if *seq > 0 && !seen_chains.contains(chain) {
            report.first_problem = Some(Problem {
                chain: *chain,
                seq: 1,
                row_id: None,
                reason: format!("all {seq} rows of this chain are missing"),
            });
            return Ok(report);
        }
    }
    report.chains = seen_chains.len() as u64;
    Ok(report)
}

/// The head remembers the last row; a shorter chain means rows were removed from its end.
fn check_head(heads: &HashMap<Uuid, (i64, Vec<u8>)>, chain: Uuid, last_seq: i64, last_hash: &[u8]) -> Option<Problem> {
    match heads.get(&chain) {
        Some((seq, hash)) if *seq == last_seq && hash == last_hash => None,
        Some((seq, _)) => Some(Problem {
            chain,
            seq: last_seq + 1,
            row_id: None,
            reason: format!("the chain ends at {last_seq} but {seq} rows were written: rows were removed from the end"),
        }),
        None => Some(Problem { chain, seq: last_seq, row_id: None, reason: "the chain has no head record".into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_is_stable_and_escaped() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456Z").unwrap().with_timezone(&Utc);
        let text = canonical(Uuid::nil(), 7, None, None, "a\"b", "x", "y", "z", at, "r", "{\"k\":1}");
        assert_eq!(
            text,
            r#"["00000000-0000-0000-0000-000000000000",7,null,null,"a\"b","x","y","z","2026-01-02T03:04:05.123456Z","r","{\"k\":1}"]"#
        );
        assert_ne!(chain_hash(&[0; 32], &text), chain_hash(&[1; 32], &text));
    }
}
