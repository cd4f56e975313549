//! Policies and their versions. A version is drafted, then signed by an
//! executive; from the signature on it never changes (the database refuses
//! too). A change makes a new version: minor keeps acknowledgements, major
//! asks everyone again.
use crate::ids::{EvidenceId, OrgId, PersonId, PolicyId, RevisionId, UserId, VersionId};
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use crate::people::attribution::{Via, byline};
use crate::people::audience::Audience;
use chrono::{DateTime, Months, NaiveDate, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

crate::text_enum! {
    /// What a policy is, in the order the register lists them within a kind.
    pub enum PolicyKind {
        IsPolicy = "is_policy" => "Information security policy",
        TopicSpecific = "topic_specific" => "Topic-specific policy",
        AcceptableUse = "acceptable_use" => "Acceptable use policy",
        ManagementStatement = "management_statement" => "Senior management statement",
        DisciplinaryProcess = "disciplinary_process" => "Disciplinary process",
        TrainingPlan = "training_plan" => "Training plan",
    }
}

/// The 5.2 content checks an information security policy must pass.
pub const CHECKS: [(&str, &str); 4] = [
    ("check_purpose", "5.2(a) It suits the organisation's purpose"),
    ("check_objectives", "5.2(b) It states security objectives, or how and by whom they are set"),
    ("check_requirements", "5.2(c) It commits to meeting applicable requirements"),
    ("check_improvement", "5.2(d) It commits to continual improvement"),
];

/// The day a signed version is due for review.
pub fn review_due(approved_at: DateTime<Utc>, months: i32) -> Option<NaiveDate> {
    approved_at.date_naive().checked_add_months(Months::new(u32::try_from(months).ok()?))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bump {
    Major,
    Minor,
}

/// The number of the next version. The first is always 1.0.
pub fn next_number(existing: &[(i32, i32)], bump: Bump) -> (i32, i32) {
    let Some(&(major, _)) = existing.iter().max() else { return (1, 0) };
    match bump {
        Bump::Major => (major + 1, 0),
        Bump::Minor => {
            let minor = existing.iter().filter(|(m, _)| *m == major).map(|(_, n)| *n).max().unwrap_or(0);
            (major, minor + 1)
        }
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub id: PolicyId,
    pub title: String,
    pub kind: PolicyKind,
    pub owner_id: Option<PersonId>,
    pub owner_name: Option<String>,
    pub review_months: i32,
    pub audience: String,
    pub audience_departments: Vec<String>,
    /// Why the audience is narrower than all staff (it counts only with a reason).
    pub audience_reason: String,
    pub public_slug: Option<String>,
    pub current_id: Option<VersionId>,
    pub current_major: Option<i32>,
    pub current_minor: Option<i32>,
    pub current_approved_at: Option<DateTime<Utc>>,
    pub current_approver_name: Option<String>,
    pub current_approver_title: Option<String>,
    pub current_approver_account: Option<String>,
    /// The current version was approved on paper; entered by this account.
    pub current_recorded_by: Option<String>,
    pub current_approver_top_management: Option<bool>,
    pub drafts: i64,
    /// Withdrawn: no longer in force; it asks nobody and produces no findings.
    pub withdrawn_at: Option<DateTime<Utc>>,
}

impl Policy {
    pub fn audience(&self) -> Audience {
        Audience::from_parts(&self.audience, &self.audience_departments)
    }
    /// The audience asked to acknowledge it, as the database's
    /// `policy_audience` reads it: a narrower one counts only with a reason,
    /// and publishing without one only for the kinds `published_by_default` names.
    pub fn effective_audience(&self) -> Audience {
        effective_audience(self.kind, self.audience(), &self.audience_reason)
    }
    pub fn current_number(&self) -> Option<String> {
        Some(format!("{}.{}", self.current_major?, self.current_minor?))
    }
    pub fn review_due(&self) -> Option<NaiveDate> {
        review_due(self.current_approved_at?, self.review_months)
    }
    pub fn review_overdue(&self, today: NaiveDate) -> bool {
        self.review_due().is_some_and(|d| d < today)
    }
}

/// See `Policy::effective_audience`.
pub fn effective_audience(kind: PolicyKind, declared: Audience, reason: &str) -> Audience {
    match declared {
        Audience::AllStaff => Audience::AllStaff,
        other if !reason.trim().is_empty() => other,
        Audience::Published if published_by_default(kind) => Audience::Published,
        _ => Audience::AllStaff,
    }
}

/// Documents whose evidence is their approval and publication rather than
/// everyone's acknowledgement: the training plan, the disciplinary process
/// and management's statement (communicated, not signed for by each person).
pub fn published_by_default(kind: PolicyKind) -> bool {
    matches!(kind, PolicyKind::TrainingPlan | PolicyKind::DisciplinaryProcess | PolicyKind::ManagementStatement)
}

/// The audience a new policy of this kind gets unless the form says otherwise.
pub fn default_audience(kind: PolicyKind) -> Audience {
    if published_by_default(kind) { Audience::Published } else { Audience::AllStaff }
}

/// The organisation's policies (or the one with id `only`), each with its
/// newest signed version, in register order: the kinds as `PolicyKind`
/// declares them, then by title.
async fn select_policies(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, only: Option<PolicyId>) -> AppResult<Vec<Policy>> {
    Ok(sqlx::query_as!(
        Policy,
        r#"SELECT p.id AS "id: PolicyId", p.title, p.kind AS "kind: PolicyKind", p.owner_id AS "owner_id: PersonId", o.name AS "owner_name?",
                p.review_months, p.audience, p.audience_departments, p.audience_reason, p.public_slug, p.withdrawn_at,
                c.id AS "current_id?: VersionId", c.major AS "current_major?", c.minor AS "current_minor?", c.approved_at AS "current_approved_at?",
                c.approver_name AS "current_approver_name?", c.approver_title AS "current_approver_title?", c.approver_account AS "current_approver_account?",
                c.approver_top_management AS "current_approver_top_management?", c.recorded_by AS "current_recorded_by?",
                (SELECT count(*) FROM policy_versions d WHERE d.org_id = p.org_id AND d.policy_id = p.id AND d.approved_at IS NULL) AS "drafts!"
           FROM policies p
           LEFT JOIN people o ON o.org_id = p.org_id AND o.id = p.owner_id
           LEFT JOIN LATERAL (
                SELECT v.id, v.major, v.minor, v.approved_at, v.approver_name, v.approver_title,
                       (SELECT au.email FROM users au WHERE au.id = v.approved_by) AS approver_account, v.approver_top_management,
                       (SELECT ru.email FROM users ru WHERE ru.id = v.recorded_by) AS recorded_by
                  FROM policy_versions v
                 WHERE v.org_id = p.org_id AND v.policy_id = p.id AND v.approved_at IS NOT NULL
                 ORDER BY v.major DESC, v.minor DESC LIMIT 1) c ON true
          WHERE p.org_id = $1 AND ($2::uuid IS NULL OR p.id = $2)
          ORDER BY array_position(ARRAY['is_policy','management_statement','acceptable_use','topic_specific','disciplinary_process','training_plan'], p.kind), p.title"#,
        org_id.0,
        only.map(|p| p.0),
    )
    .fetch_all(db)
    .await?)
}

pub async fn list(db: &PgPool, org_id: OrgId) -> AppResult<Vec<Policy>> {
    select_policies(db, org_id, None).await
}

pub async fn get(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: PolicyId) -> AppResult<Policy> {
    select_policies(db, org_id, Some(id)).await?.into_iter().next().ok_or(AppError::NotFound)
}

/// What the policy form sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFields {
    pub title: String,
    pub kind: PolicyKind,
    pub owner_id: Option<PersonId>,
    pub review_months: i32,
    pub audience: Audience,
    /// Why the audience is narrower than all staff; without it, everyone is asked.
    pub audience_reason: String,
    pub public: bool,
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

/// An unguessable address for a policy shown to interested parties.
fn new_slug() -> String {
    crate::auth::session::random_token()
}

pub async fn create(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, f: &PolicyFields) -> AppResult<PolicyId> {
    check_owner(conn, org_id, f.owner_id).await?;
    let id = PolicyId::new();
    sqlx::query!(
        "INSERT INTO policies (id, org_id, title, kind, owner_id, review_months, audience, audience_departments, public_slug, created_at, updated_at, audience_reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
        id.0,
        org_id.0,
        f.title,
        f.kind.as_str(),
        f.owner_id.map(|o| o.0),
        f.review_months,
        f.audience.kind(),
        &f.audience.departments(),
        f.public.then(new_slug),
        now,
        f.audience_reason,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        actor,
        now,
        "policy.created",
        "policy",
        id,
        json!({"title": f.title, "kind": f.kind.as_str(), "audience": f.audience.label(), "audience_reason": f.audience_reason, "public": f.public}),
    )
    .await?;
    Ok(id)
}

pub async fn update(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, before: &Policy, f: &PolicyFields) -> AppResult<bool> {
    let mut changes = serde_json::Map::new();
    let mut cmp = |k: &str, a: serde_json::Value, b: serde_json::Value| {
        if a != b {
            changes.insert(k.into(), json!([a, b]));
        }
    };
    cmp("title", json!(before.title), json!(f.title));
    cmp("kind", json!(before.kind.as_str()), json!(f.kind.as_str()));
    cmp("owner_id", json!(before.owner_id), json!(f.owner_id));
    cmp("review_months", json!(before.review_months), json!(f.review_months));
    cmp("audience", json!(before.audience().label()), json!(f.audience.label()));
    cmp("audience_reason", json!(before.audience_reason), json!(f.audience_reason));
    cmp("public", json!(before.public_slug.is_some()), json!(f.public));
    if changes.is_empty() {
        return Ok(false);
    }
    check_owner(conn, org_id, f.owner_id).await?;
    // Keep the public address when it stays public, so links already shared keep working.
    let slug = match (&before.public_slug, f.public) {
        (Some(s), true) => Some(s.clone()),
        (None, true) => Some(new_slug()),
        (_, false) => None,
    };
    sqlx::query!(
        "UPDATE policies SET title = $3, kind = $4, owner_id = $5, review_months = $6, audience = $7, audience_departments = $8,
                public_slug = $9, updated_at = $10, audience_reason = $11
          WHERE org_id = $1 AND id = $2",
        org_id.0,
        before.id.0,
        f.title,
        f.kind.as_str(),
        f.owner_id.map(|o| o.0),
        f.review_months,
        f.audience.kind(),
        &f.audience.departments(),
        slug,
        now,
        f.audience_reason,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "policy.updated", "policy", before.id, serde_json::Value::Object(changes)).await?;
    Ok(true)
}

/// Withdraws a policy: it stays in the register with its history, asks
/// nobody to acknowledge it and produces no findings from now on.
pub async fn withdraw(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, policy: &Policy) -> AppResult<()> {
    let done = sqlx::query!("UPDATE policies SET withdrawn_at = $3, updated_at = $3 WHERE org_id = $1 AND id = $2 AND withdrawn_at IS NULL", org_id.0, policy.id.0, now)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict(format!("{} is already withdrawn.", policy.title)));
    }
    audit::record(conn, actor, now, "policy.withdrawn", "policy", policy.id, json!({"title": policy.title})).await?;
    Ok(())
}

// ---------- versions ----------

#[derive(Debug, Clone)]
pub struct Version {
    pub id: VersionId,
    pub policy_id: PolicyId,
    pub policy_title: String,
    pub policy_kind: PolicyKind,
    /// The policy was withdrawn: nobody is asked to acknowledge any of its versions.
    pub policy_withdrawn: bool,
    pub review_months: i32,
    pub major: i32,
    pub minor: i32,
    pub change_summary: String,
    pub body_markdown: Option<String>,
    pub evidence_revision_id: Option<RevisionId>,
    pub evidence_item_id: Option<EvidenceId>,
    pub file_name: Option<String>,
    pub file_sha256: Option<Vec<u8>>,
    pub check_purpose: Option<String>,
    pub check_objectives: Option<String>,
    pub check_requirements: Option<String>,
    pub check_improvement: Option<String>,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The account that signed.
    pub approved_by: Option<UserId>,
    /// The person the signature stands for.
    pub approver_person_id: Option<PersonId>,
    pub approver_name: Option<String>,
    /// The signer's job title then, and the e-mail of the account that signed.
    pub approver_title: Option<String>,
    pub approver_account: Option<String>,
    pub approver_top_management: Option<bool>,
    pub approved_at: Option<DateTime<Utc>>,
    pub approved_from: Option<String>,
    pub approved_agent: Option<String>,
    pub approved_sha256: Option<Vec<u8>>,
    /// The statement the signer's passkey signed, when the signature is bound to one.
    pub passkey_statement: Option<String>,
    /// Approved on paper before Mandate: the account that entered it, and when.
    pub recorded_by_account: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
    /// The member of top management asked to sign this draft.
    pub signer_requested: Option<PersonId>,
    pub signer_requested_name: Option<String>,
}

impl Version {
    pub fn number(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
    pub fn is_signed(&self) -> bool {
        self.approved_at.is_some()
    }
    pub fn review_due(&self) -> Option<NaiveDate> {
        review_due(self.approved_at?, self.review_months)
    }
    /// The four 5.2 checks with where each is met (`None`: not met).
    pub fn checks(&self) -> [(&'static str, &'static str, Option<&str>); 4] {
        let v = [&self.check_purpose, &self.check_objectives, &self.check_requirements, &self.check_improvement];
        [0, 1, 2, 3].map(|i| (CHECKS[i].0, CHECKS[i].1, v[i].as_deref()))
    }
    pub fn checks_missing(&self) -> usize {
        self.checks().iter().filter(|(_, _, place)| place.is_none()).count()
    }
    /// The SHA-256 of what a signature covers: the Markdown text, or the file.
    pub fn document_sha256(&self) -> Option<Vec<u8>> {
        match (&self.body_markdown, &self.file_sha256) {
            (Some(body), _) => Some(Sha256::digest(body.as_bytes()).to_vec()),
            (None, Some(sha)) => Some(sha.clone()),
            _ => None,
        }
    }
    /// The SHA-256 a signature would cover now, in hex (empty without a document).
    pub fn document_sha_hex(&self) -> String {
        self.document_sha256().map(hex::encode).unwrap_or_default()
    }
    /// Who signed: "Name, Title, signed in as e-mail" (what is known of it).
    pub fn signature_byline(&self) -> String {
        byline(self.approver_name.as_deref(), self.approver_title.as_deref(), Via::paper_or(self.recorded_by_account.as_deref(), self.approver_account.as_deref()))
    }
    pub fn on_paper(&self) -> bool {
        self.recorded_at.is_some()
    }
    /// Whether the member with this account, acting as this person (if
    /// any), is the one who signed: the person the signature stands for,
    /// or, where none was recorded, the account that signed.
    pub fn signed_by(&self, user_id: UserId, person_id: Option<PersonId>) -> bool {
        match self.approver_person_id {
            Some(p) => person_id == Some(p),
            None => self.approved_by == Some(user_id),
        }
    }
    pub fn signed_hash_hex(&self) -> String {
        self.approved_sha256.as_deref().map(hex::encode).unwrap_or_default()
    }
}

/// The versions of one policy (newest first), or the one version `only`.
async fn select_versions(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, policy: Option<PolicyId>, only: Option<VersionId>) -> AppResult<Vec<Version>> {
    Ok(sqlx::query_as!(
        Version,
        r#"SELECT v.id AS "id: VersionId", v.policy_id AS "policy_id: PolicyId", p.title AS policy_title, p.kind AS "policy_kind: PolicyKind",
                p.withdrawn_at IS NOT NULL AS "policy_withdrawn!", p.review_months, v.major, v.minor, v.change_summary, v.body_markdown, v.evidence_revision_id AS "evidence_revision_id: RevisionId",
                r.item_id AS "evidence_item_id?: EvidenceId", r.filename AS "file_name?", r.sha256 AS "file_sha256?",
                v.check_purpose, v.check_objectives, v.check_requirements, v.check_improvement,
                u.name AS "created_by_name?", v.created_at, v.approved_by AS "approved_by: UserId", v.approver_person_id AS "approver_person_id: PersonId",
                v.approver_name, v.approver_title, au.email AS "approver_account?",
                v.approver_top_management, v.approved_at, v.approved_from, v.approved_agent, v.approved_sha256,
                (SELECT k.signature ->> 'statement' FROM passkey_signatures k WHERE k.org_id = v.org_id AND k.record_kind = 'policy_version' AND k.record_id = v.id
                  ORDER BY k.signed_at DESC LIMIT 1) AS "passkey_statement?",
                ru.email AS "recorded_by_account?", v.recorded_at,
                v.signer_requested AS "signer_requested: PersonId", sp.name AS "signer_requested_name?"
           FROM policy_versions v
           JOIN policies p ON p.org_id = v.org_id AND p.id = v.policy_id
           LEFT JOIN evidence_revisions r ON r.org_id = v.org_id AND r.id = v.evidence_revision_id
           LEFT JOIN users u ON u.id = v.created_by
           LEFT JOIN users au ON au.id = v.approved_by
           LEFT JOIN users ru ON ru.id = v.recorded_by
           LEFT JOIN people sp ON sp.org_id = v.org_id AND sp.id = v.signer_requested
          WHERE v.org_id = $1 AND ($2::uuid IS NULL OR v.policy_id = $2) AND ($3::uuid IS NULL OR v.id = $3)
          ORDER BY v.major DESC, v.minor DESC"#,
        org_id.0,
        policy.map(|p| p.0),
        only.map(|v| v.0),
    )
    .fetch_all(db)
    .await?)
}

pub async fn versions(db: &PgPool, org_id: OrgId, policy_id: PolicyId) -> AppResult<Vec<Version>> {
    select_versions(db, org_id, Some(policy_id), None).await
}

pub async fn version(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, id: VersionId) -> AppResult<Version> {
    select_versions(db, org_id, None, Some(id)).await?.into_iter().next().ok_or(AppError::NotFound)
}

/// The number of the newest signed version of the policy above `v`, if any.
pub async fn newer_signed(db: &PgPool, org_id: OrgId, v: &Version) -> AppResult<Option<String>> {
    let newer = sqlx::query!(
        "SELECT major, minor FROM policy_versions WHERE org_id = $1 AND policy_id = $2 AND approved_at IS NOT NULL
            AND (major, minor) > ($3, $4) ORDER BY major DESC, minor DESC LIMIT 1",
        org_id.0,
        v.policy_id.0,
        v.major,
        v.minor,
    )
    .fetch_optional(db)
    .await?;
    Ok(newer.map(|n| format!("{}.{}", n.major, n.minor)))
}

/// What a draft holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    pub change_summary: String,
    pub body_markdown: Option<String>,
    /// Where each 5.2 check is met, in the order of `CHECKS`.
    pub checks: [Option<String>; 4],
    /// The document as a file kept as evidence (instead of `body_markdown`).
    pub evidence_revision_id: Option<RevisionId>,
    /// The member of top management asked to sign it (one of `signers`).
    pub signer_requested: Option<PersonId>,
}

/// A member of top management who can sign: on the roster, in office, with
/// an account the roster confirmed to act for them, active in a role that
/// signs (owner or executive).
#[derive(Debug, Clone)]
pub struct SignerChoice {
    pub id: PersonId,
    pub name: String,
    pub job_title: String,
}

/// Who can be asked to sign, by name.
pub async fn signers(db: impl sqlx::PgExecutor<'_>, org_id: OrgId, today: NaiveDate) -> AppResult<Vec<SignerChoice>> {
    Ok(sqlx::query_as!(
        SignerChoice,
        r#"SELECT p.id AS "id: PersonId", p.name, p.job_title FROM people p
             JOIN memberships m ON m.org_id = p.org_id AND m.user_id = p.acting_user_id AND m.disabled_at IS NULL AND m.role IN ('owner', 'executive')
            WHERE p.org_id = $1 AND p.top_management AND (p.end_date IS NULL OR p.end_date > $2)
            ORDER BY p.name"#,
        org_id.0,
        today,
    )
    .fetch_all(db)
    .await?)
}

pub async fn create_version(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    policy: &Policy,
    bump: Bump,
    draft: &Draft,
) -> AppResult<(VersionId, String)> {
    let evidence_revision_id = draft.evidence_revision_id;
    // One new version at a time per policy, so numbers never collide.
    crate::db::lock_row(&mut *conn, org_id, policy.id).await?;
    let existing: Vec<(i32, i32)> = sqlx::query!("SELECT major, minor FROM policy_versions WHERE org_id = $1 AND policy_id = $2", org_id.0, policy.id.0)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.major, r.minor))
        .collect();
    let (major, minor) = next_number(&existing, bump);
    let id = VersionId::new();
    sqlx::query!(
        "INSERT INTO policy_versions (id, org_id, policy_id, major, minor, change_summary, body_markdown, evidence_revision_id,
                                      check_purpose, check_objectives, check_requirements, check_improvement, created_by, created_at, signer_requested)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        id.0,
        org_id.0,
        policy.id.0,
        major,
        minor,
        draft.change_summary,
        draft.body_markdown,
        evidence_revision_id.map(|r| r.0),
        draft.checks[0],
        draft.checks[1],
        draft.checks[2],
        draft.checks[3],
        actor.user_id.map(|u| u.0),
        now,
        draft.signer_requested.map(|p| p.0),
    )
    .execute(&mut *conn)
    .await?;
    let number = format!("{major}.{minor}");
    audit::record(
        conn,
        actor,
        now,
        "policy_version.drafted",
        "policy_version",
        id,
        json!({"policy": policy.title, "version": number, "summary": draft.change_summary, "document": if evidence_revision_id.is_some() { "file" } else { "markdown" }, "signer_requested": draft.signer_requested}),
    )
    .await?;
    Ok((id, number))
}

/// Changes a draft. A signed version answers 409: a change needs a new version.
pub async fn update_draft(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, v: &Version, draft: &Draft) -> AppResult<bool> {
    if v.is_signed() {
        return Err(AppError::Conflict(format!(
            "Version {} is signed and can no longer change. Make a new version for the change, or add an addendum to correct this one.",
            v.number()
        )));
    }
    let before = Draft {
        change_summary: v.change_summary.clone(),
        body_markdown: v.body_markdown.clone(),
        checks: [v.check_purpose.clone(), v.check_objectives.clone(), v.check_requirements.clone(), v.check_improvement.clone()],
        evidence_revision_id: v.evidence_revision_id,
        signer_requested: v.signer_requested,
    };
    // A file-based draft keeps its file; only a Markdown draft has a body to edit.
    // Who was asked to sign stays as asked.
    let draft = Draft {
        body_markdown: if v.body_markdown.is_some() { draft.body_markdown.clone() } else { None },
        evidence_revision_id: v.evidence_revision_id,
        signer_requested: v.signer_requested,
        ..draft.clone()
    };
    if before == draft {
        return Ok(false);
    }
    let done = sqlx::query!(
        "UPDATE policy_versions SET change_summary = $3, body_markdown = COALESCE($4, body_markdown), check_purpose = $5,
                check_objectives = $6, check_requirements = $7, check_improvement = $8
          WHERE org_id = $1 AND id = $2 AND approved_at IS NULL",
        org_id.0,
        v.id.0,
        draft.change_summary,
        draft.body_markdown,
        draft.checks[0],
        draft.checks[1],
        draft.checks[2],
        draft.checks[3],
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict(format!("Version {} was signed meanwhile and can no longer change. Make a new version for the change, or add an addendum to correct this one.", v.number())));
    }
    let text_changed = before.body_markdown != draft.body_markdown;
    audit::record(
        conn,
        actor,
        now,
        "policy_version.edited",
        "policy_version",
        v.id,
        json!({"version": v.number(), "text_changed": text_changed, "checks_met": draft.checks.iter().filter(|c| c.is_some()).count()}),
    )
    .await?;
    Ok(true)
}

/// The person signing, as the directory knows them, and where they sign from.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The account that signed (none for a signature recorded from paper).
    pub user_id: Option<UserId>,
    pub name: String,
    pub person_id: Option<PersonId>,
    pub top_management: bool,
    pub client_addr: String,
    pub user_agent: String,
    /// The signature made by the signer's passkey over the statement, if any.
    pub passkey: Option<crate::auth::assertion::BoundSignature>,
}

/// The password hash a signature is checked against.
pub async fn signer_password_hash(db: &PgPool, user_id: UserId) -> AppResult<String> {
    Ok(sqlx::query_scalar!("SELECT password_hash FROM users WHERE id = $1", user_id.0).fetch_one(db).await?)
}

/// Signs a version: records who, when, from where, with which browser, and
/// the SHA-256 of the document. Returns the hash.
pub async fn sign(
    conn: &mut PgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    org_id: OrgId,
    v: &Version,
    signer: &Signer,
) -> AppResult<Vec<u8>> {
    let client_addr = signer.client_addr.as_str();
    if v.is_signed() {
        return Err(AppError::Conflict(format!("Version {} is already signed.", v.number())));
    }
    let sha = v.document_sha256().ok_or_else(|| AppError::Conflict("This version has no document to sign.".into()))?;
    let agent: String = signer.user_agent.chars().take(500).collect();
    // The signer's job title as the directory has it now (as in
    // `people::attribution::title_sql`).
    let done = sqlx::query!(
        "UPDATE policy_versions SET approved_by = $3, approver_person_id = $4, approver_name = $5, approver_top_management = $6,
                approved_at = $7, approved_from = $8, approved_agent = $9, approved_sha256 = $10,
                approver_title = (SELECT NULLIF(btrim(t.job_title), '') FROM people t WHERE t.org_id = $1 AND t.id = $4)
          WHERE org_id = $1 AND id = $2 AND approved_at IS NULL",
        org_id.0,
        v.id.0,
        signer.user_id.map(|u| u.0),
        signer.person_id.map(|p| p.0),
        signer.name,
        signer.top_management,
        now,
        client_addr,
        agent,
        sha,
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict(format!("Version {} is already signed.", v.number())));
    }
    if let (Some(b), Some(user_id)) = (&signer.passkey, signer.user_id) {
        crate::auth::passkeys::keep_signature(conn, org_id, crate::auth::passkeys::Act::PolicyVersion, v.id.0, user_id, b, now).await?;
    }
    // The evidence linked to it, at the revisions current now (the document
    // itself is the revision the version names).
    let pinned = crate::evidence::model::pin(conn, now, org_id, crate::evidence::model::Target { kind: crate::evidence::model::TargetKind::PolicyVersion, id: v.id.0 }).await?;
    audit::record(
        conn,
        actor,
        now,
        "policy_version.signed",
        "policy_version",
        v.id,
        json!({"policy": v.policy_title, "version": v.number(), "sha256": hex::encode(&sha), "signer": signer.name,
               "top_management": signer.top_management, "address": client_addr, "user_agent": agent, "evidence_pinned": pinned,
               "passkey_bound": signer.passkey.is_some()}),
    )
    .await?;
    // Whoever signs it has read it: their acknowledgement is recorded with the signature.
    if let Some(person) = signer.person_id {
        crate::policies::acks::model::acknowledge(conn, actor, now, org_id, person, v.id, crate::policies::acks::model::Method::Signed, client_addr, &agent).await?;
    }
    Ok(sha)
}

/// What a paper approval records: who signed, on which day, and the
/// account that enters it.
#[derive(Debug, Clone, Copy)]
pub struct PaperApproval {
    pub approver: PersonId,
    pub approved_on: NaiveDate,
    pub recorded_by: UserId,
}

/// A version approved on paper before Mandate: by `approver` (a person of
/// the directory) on `approved_on`, with the draft's document (the scan) as
/// what was approved. It counts from that day, is marked everywhere as
/// recorded from paper, by which account and when, and the approver counts
/// as having read it from that day.
pub async fn record_paper_approval(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, v: &Version, paper: &PaperApproval) -> AppResult<()> {
    let PaperApproval { approver, approved_on, recorded_by } = *paper;
    if v.is_signed() {
        return Err(AppError::Conflict(format!("Version {} is already signed.", v.number())));
    }
    if approved_on > now.date_naive() {
        return Err(AppError::BadRequest("A paper approval happened in the past: choose today or an earlier day.".into()));
    }
    let sha = v.document_sha256().ok_or_else(|| AppError::Conflict("Attach the scan of the signed document to this version first.".into()))?;
    let at = approved_on.and_time(chrono::NaiveTime::MIN).and_utc();
    let person = sqlx::query!(
        r#"SELECT p.name, NULLIF(btrim(p.job_title), '') AS title, (p.id IN (SELECT top_management_as_of($1, $3))) AS "top!"
             FROM people p WHERE p.org_id = $1 AND p.id = $2"#,
        org_id.0,
        approver.0,
        at + chrono::Duration::days(1),
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| AppError::BadRequest("Choose who approved it from the directory.".into()))?;
    let done = sqlx::query!(
        "UPDATE policy_versions SET approver_person_id = $3, approver_name = $4, approver_title = $5, approver_top_management = $6,
                approved_at = $7, approved_from = '', approved_agent = '', approved_sha256 = $8, recorded_by = $9, recorded_at = $10
          WHERE org_id = $1 AND id = $2 AND approved_at IS NULL",
        org_id.0,
        v.id.0,
        approver.0,
        person.name,
        person.title,
        person.top,
        at,
        sha,
        recorded_by.0,
        now,
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict(format!("Version {} is already signed.", v.number())));
    }
    // The policy existed from the day it was approved, for views of past days.
    sqlx::query!("UPDATE policies SET created_at = LEAST(created_at, $3) WHERE org_id = $1 AND id = $2", org_id.0, v.policy_id.0, at)
        .execute(&mut *conn)
        .await?;
    audit::record(
        conn,
        actor,
        now,
        "policy_version.recorded_from_paper",
        "policy_version",
        v.id,
        json!({"policy": v.policy_title, "version": v.number(), "sha256": hex::encode(&sha), "approver": person.name,
               "top_management": person.top, "approved_on": approved_on}),
    )
    .await?;
    crate::policies::acks::model::acknowledge(conn, actor, at, org_id, approver, v.id, crate::policies::acks::model::Method::Signed, "", "recorded from paper").await?;
    Ok(())
}

/// The newest signed version of a public policy, found by its public
/// address, with the organisation it belongs to (its id and name, and
/// whether it has a logo).
pub async fn public_version(db: &PgPool, slug: &str) -> AppResult<(OrgId, String, bool, Version)> {
    if slug.len() > 100 {
        return Err(AppError::NotFound);
    }
    let found = sqlx::query!(
        r#"SELECT p.org_id AS "org_id: OrgId", v.id AS "version_id: VersionId", o.name AS org_name,
                  EXISTS (SELECT 1 FROM org_logos l WHERE l.org_id = p.org_id) AS "has_logo!" FROM policies p
           JOIN organisations o ON o.id = p.org_id
           JOIN policy_versions v ON v.org_id = p.org_id AND v.policy_id = p.id AND v.approved_at IS NOT NULL
          WHERE p.public_slug = $1
          ORDER BY v.major DESC, v.minor DESC LIMIT 1"#,
        slug,
    )
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok((found.org_id, found.org_name, found.has_logo, version(db, found.org_id, found.version_id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers() {
        assert_eq!(next_number(&[], Bump::Minor), (1, 0));
        assert_eq!(next_number(&[], Bump::Major), (1, 0));
        assert_eq!(next_number(&[(1, 0)], Bump::Minor), (1, 1));
        assert_eq!(next_number(&[(1, 0), (1, 1)], Bump::Major), (2, 0));
        assert_eq!(next_number(&[(1, 0), (1, 3), (2, 0)], Bump::Minor), (2, 1));
    }

    #[test]
    fn review_follows_approval() {
        let at = DateTime::parse_from_rfc3339("2025-09-30T10:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(review_due(at, 12), NaiveDate::from_ymd_opt(2026, 9, 30));
        assert_eq!(review_due(at, 6), NaiveDate::from_ymd_opt(2026, 3, 30));
    }
}
