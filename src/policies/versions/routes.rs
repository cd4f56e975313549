//! Policies and their versions: the register, a policy with its versions,
//! a version with its text, checks and signature, addenda, and the public
//! pages for interested parties.
use super::model::{self, Bump, Draft, Policy, PolicyFields, PolicyKind, Signer, Version};
use crate::addenda::{self, Addendum};
use crate::audit::HistoryEntry;
use crate::auth::policy::{self, Action, SignedRecord};
use crate::auth::session::{Flash, Member, Visitor};
use crate::auth::throttle;
use crate::error::{AppError, AppResult};
use crate::evidence::model::{self as evidence, ItemFields, NewRevision, Target, TargetKind};
use crate::evidence::store::EvidenceStore;
use crate::ids::{EvidenceId, PersonId, PolicyId, RevisionId, VersionId};
use crate::people::audience::Audience;
use crate::people::model::{self as people, Choice};
use crate::people::pick;
use crate::policies::acks::model as acks;
use crate::policies::campaigns::model::{self as campaigns, Campaign};
use crate::policies::{markdown, user_agent};
use crate::state::AppState;
use crate::web::form::{parse_choice, parse_optional, parse_text};
use crate::web::routes::Routes;
use crate::web::{FieldErrors, Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;
use crate::auth::passkeys::{self, Act, Binding, SignatureFields};

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access, Access::Can, Action::*};
    r.get("/policies", Can(ViewPolicies), register_page)
        .get("/policies.csv", Can(ViewPolicies), export)
        .post("/policies", Can(ManagePolicies), create_policy)
        .get("/policies/{id}", Can(ViewPolicies), policy_page)
        .post("/policies/{id}", Can(ManagePolicies), update_policy)
        .post("/policies/{id}/withdraw", Can(ManagePolicies), withdraw_policy)
        .post_upload("/policies/{id}/versions", Can(ManagePolicies), create_version, None)
        .get("/policies/versions/{id}", Can(ViewPolicies), version_page)
        .post("/policies/versions/{id}", Can(ManagePolicies), update_version)
        .post_step_up("/policies/versions/{id}/sign", Can(SignPolicies), sign_version)
        .post("/policies/versions/{id}/sign/passkey-options", Can(SignPolicies), sign_options)
        .post_step_up("/policies/versions/{id}/paper", Can(SignPolicies), record_paper)
        .post("/policies/versions/{id}/addenda", Can(ViewPolicies), add_addendum)
        .get("/p/{slug}", Access::Public, public_page)
        .get("/p/{slug}/document", Access::Public, public_document)
        .get("/p/{slug}/logo", Access::Public, public_logo)
}

// ---------- the register ----------

/// A policy with its acknowledgement figures.
pub struct Row {
    pub policy: Policy,
    pub audience: i64,
    pub acknowledged: i64,
}

impl Row {
    pub fn percent(&self) -> u32 {
        acks::percent(self.acknowledged as usize, self.audience as usize)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/register.html")]
struct RegisterPage {
    layout: Layout,
    rows: Vec<Row>,
    kinds: Vec<PolicyKind>,
    owners: Vec<Choice>,
    departments: Vec<String>,
    audiences: Vec<(&'static str, &'static str)>,
    form: PolicyForm,
    errors: FieldErrors,
    can_manage: bool,
    today: NaiveDate,
}

async fn register_view(state: &AppState, me: &Member, form: PolicyForm, errors: FieldErrors) -> AppResult<RegisterPage> {
    let today = state.clock.now().date_naive();
    let policies = model::list(&state.db, me.org_id).await?;
    // Counted once per change of the records, not on every view.
    let figures = state.kept.current(&state.db, me.org_id, today, || acks::figures(&state.db, me.org_id, today)).await?;
    let rows = policies
        .into_iter()
        .map(|p| {
            let f = figures.iter().find(|f| f.policy_id == p.id);
            Row { audience: f.map(|f| f.audience).unwrap_or(0), acknowledged: f.map(|f| f.acknowledged).unwrap_or(0), policy: p }
        })
        .collect();
    Ok(RegisterPage {
        layout: Layout::build(&state.db, &me.visitor, "Policies").await?,
        rows,
        kinds: PolicyKind::ALL.to_vec(),
        owners: pick::choices(&state.db, me.org_id, today, &pick::ids([form.owner_id.as_str()])).await?,
        departments: people::kept_departments(&state.db, &state.kept, me.org_id, today).await?,
        audiences: crate::people::audience::AudienceKind::choices(),
        form,
        errors,
        can_manage: me.can(Action::ManagePolicies),
        today,
    })
}

async fn register_page(State(state): State<AppState>, me: Member) -> AppResult<RegisterPage> {
    register_view(&state, &me, PolicyForm { kind: "topic_specific".into(), review_months: "12".into(), ..Default::default() }, FieldErrors::default())
        .await
}

async fn export(State(state): State<AppState>, me: Member) -> AppResult<Response> {
    let page = register_view(&state, &me, PolicyForm::default(), FieldErrors::default()).await?;
    let mut out = csv::row(&[
        "title", "kind", "owner", "current_version", "approved_on", "approved_by", "approver_title", "approver_account", "approver_is_top_management", "review_due", "audience",
        "people_in_audience", "acknowledged", "percent", "public", "current_version_addenda",
    ]);
    let current: Vec<Uuid> = page.rows.iter().filter_map(|r| r.policy.current_id.map(|v| v.0)).collect();
    let addenda = addenda::lines_of(&state.db, me.org_id, SignedRecord::PolicyVersion, &current).await?;
    for r in &page.rows {
        let p = &r.policy;
        out.push_str(&csv::row(&[
            p.title.clone(),
            p.kind.label().into(),
            p.owner_name.clone().unwrap_or_default(),
            p.current_number().unwrap_or_default(),
            p.current_approved_at.map(|t| t.date_naive().to_string()).unwrap_or_default(),
            p.current_approver_name.clone().unwrap_or_default(),
            p.current_approver_title.clone().unwrap_or_default(),
            crate::people::attribution::Via::paper_or(p.current_recorded_by.as_deref(), p.current_approver_account.as_deref()).words(),
            p.current_approver_top_management.map(|t| if t { "yes" } else { "no" }.to_string()).unwrap_or_default(),
            p.review_due().map(|d| d.to_string()).unwrap_or_default(),
            p.effective_audience().label(),
            r.audience.to_string(),
            r.acknowledged.to_string(),
            r.percent().to_string(),
            if p.public_slug.is_some() { "yes" } else { "no" }.into(),
            p.current_id.and_then(|id| addenda.get(&id.0)).map(|l| l.join("\n")).unwrap_or_default(),
        ]));
    }
    Ok(csv::attachment(&format!("policies-{}.csv", page.today.format("%Y%m%d")), out))
}

#[derive(Deserialize, Default, Clone)]
pub struct PolicyForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    review_months: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    departments: String,
    #[serde(default)]
    audience_reason: String,
    public: Option<String>,
}

impl PolicyForm {
    fn from_policy(p: &Policy) -> Self {
        PolicyForm {
            title: p.title.clone(),
            kind: p.kind.as_str().into(),
            owner_id: p.owner_id.map(|o| o.to_string()).unwrap_or_default(),
            review_months: p.review_months.to_string(),
            audience: p.audience.clone(),
            departments: p.audience_departments.join(", "),
            audience_reason: p.audience_reason.clone(),
            public: p.public_slug.as_ref().map(|_| "on".into()),
        }
    }

    fn parse(&self) -> Result<PolicyFields, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = parse_text(&self.title, "a title", 200).map_err(|e| errors.add("title", e)).unwrap_or_default();
        let kind = self.kind.parse::<PolicyKind>().unwrap_or_else(|_| {
            errors.add("kind", "Choose what kind of policy this is.");
            PolicyKind::TopicSpecific
        });
        let review_months = match self.review_months.trim().parse::<i32>() {
            Ok(n) if (1..=60).contains(&n) => n,
            _ => {
                errors.add("review_months", "Enter a review period between 1 and 60 months (12 is usual).");
                12
            }
        };
        let departments: Vec<String> =
            self.departments.split(',').map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect();
        // Empty: the usual audience for the kind (published only for a training plan, disciplinary process or management statement).
        let audience = if self.audience.trim().is_empty() { model::default_audience(kind) } else { Audience::from_parts(&self.audience, &departments) };
        let audience_reason = match parse_optional(&self.audience_reason, "the reason", 500, true) {
            Ok(v) => v,
            Err(e) => {
                errors.add("audience_reason", e);
                String::new()
            }
        };
        if self.audience == "departments" && departments.is_empty() {
            errors.add("departments", "Name the departments, separated by commas.");
        }
        if errors.is_empty() {
            Ok(PolicyFields {
                title,
                kind,
                owner_id: parse_choice(&self.owner_id).map(PersonId),
                review_months,
                audience,
                audience_reason,
                public: crate::web::form::ticked(&self.public),
            })
        } else {
            Err(errors)
        }
    }
}

async fn create_policy(State(state): State<AppState>, me: Member, Form(mut form): Form<PolicyForm>) -> AppResult<Response> {
    let picked = pick::resolve(&state.db, me.org_id, state.clock.now().date_naive(), vec![("owner_id", &mut form.owner_id)]).await?;
    let fields = match pick::merged(picked, form.parse()) {
        Ok(f) => f,
        Err(errors) => return Ok((StatusCode::UNPROCESSABLE_ENTITY, register_view(&state, &me, form, errors).await?).into_response()),
    };
    let mut tx = state.db.begin().await?;
    let id = model::create(&mut tx, &me.actor(), state.clock.now(), me.org_id, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/policies/{id}"), Flash::success(format!("{} was created. Now add its first version.", fields.title))))
}

// ---------- one policy ----------

#[derive(Template, WebTemplate)]
#[template(path = "policies/policy.html")]
struct PolicyPage {
    layout: Layout,
    policy: Policy,
    versions: Vec<Version>,
    campaigns: Vec<Campaign>,
    kinds: Vec<PolicyKind>,
    owners: Vec<Choice>,
    departments: Vec<String>,
    audiences: Vec<(&'static str, &'static str)>,
    form: PolicyForm,
    errors: FieldErrors,
    version_errors: FieldErrors,
    version_problem: Option<String>,
    draft: VersionForm,
    history: Vec<HistoryEntry>,
    public_link: Option<String>,
    can_manage: bool,
    max_bytes: u64,
    today: NaiveDate,
    /// Who can be asked to sign a new version.
    signers: Vec<model::SignerChoice>,
    can_invite: bool,
}

impl PolicyPage {
    fn chosen_signer(&self, id: &PersonId) -> bool {
        self.draft.signer == id.to_string()
    }
    fn version_action(&self) -> String {
        self.layout.upload_action(&format!("/policies/{}/versions", self.policy.id))
    }
}

#[allow(clippy::too_many_arguments)]
async fn policy_view(
    state: &AppState,
    me: &Member,
    policy: Policy,
    form: PolicyForm,
    errors: FieldErrors,
    draft: VersionForm,
    version_errors: FieldErrors,
    version_problem: Option<String>,
) -> AppResult<PolicyPage> {
    let today = state.clock.now().date_naive();
    Ok(PolicyPage {
        layout: Layout::build(&state.db, &me.visitor, policy.title.clone()).await?,
        versions: model::versions(&state.db, me.org_id, policy.id).await?,
        campaigns: campaigns::campaigns_of(&state.db, me.org_id, policy.id).await?,
        kinds: PolicyKind::ALL.to_vec(),
        owners: pick::choices(&state.db, me.org_id, today, &pick::ids([form.owner_id.as_str()])).await?,
        departments: people::kept_departments(&state.db, &state.kept, me.org_id, today).await?,
        audiences: crate::people::audience::AudienceKind::choices(),
        history: crate::audit::history(&state.db, me.org_id, "policy", policy.id.0, 30).await?,
        public_link: policy.public_slug.as_ref().map(|s| state.config.link(&format!("/p/{s}"))),
        can_manage: me.can(Action::ManagePolicies),
        max_bytes: state.config.max_upload_bytes,
        signers: model::signers(&state.db, me.org_id, today).await?,
        can_invite: me.can(Action::InviteMember),
        policy,
        form,
        errors,
        draft,
        version_errors,
        version_problem,
        today,
    })
}

/// What a link may fill in beforehand (a finding's fix): who is asked to sign the new version.
#[derive(Deserialize, Default)]
pub struct Prefill {
    signer: Option<String>,
}

async fn policy_page(State(state): State<AppState>, me: Member, Id(id): Id<PolicyId>, Query(pre): Query<Prefill>) -> AppResult<PolicyPage> {
    let policy = model::get(&state.db, me.org_id, id).await?;
    let form = PolicyForm::from_policy(&policy);
    let draft = VersionForm { bump: "major".into(), source: "markdown".into(), signer: pre.signer.unwrap_or_default(), ..Default::default() };
    policy_view(&state, &me, policy, form, FieldErrors::default(), draft, FieldErrors::default(), None).await
}

async fn withdraw_policy(State(state): State<AppState>, me: Member, Id(id): Id<PolicyId>) -> AppResult<Response> {
    let policy = model::get(&state.db, me.org_id, id).await?;
    let mut tx = state.db.begin().await?;
    model::withdraw(&mut tx, &me.actor(), state.clock.now(), me.org_id, &policy).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/policies/{id}"), Flash::success(format!("{} was withdrawn: nobody is asked to acknowledge it any more.", policy.title))))
}

async fn update_policy(State(state): State<AppState>, me: Member, Id(id): Id<PolicyId>, Form(mut form): Form<PolicyForm>) -> AppResult<Response> {
    let policy = model::get(&state.db, me.org_id, id).await?;
    let picked = pick::resolve(&state.db, me.org_id, state.clock.now().date_naive(), vec![("owner_id", &mut form.owner_id)]).await?;
    let fields = match pick::merged(picked, form.parse()) {
        Ok(f) => f,
        Err(errors) => {
            let page = policy_view(&state, &me, policy, form, errors, VersionForm::default(), FieldErrors::default(), None).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    let changed = model::update(&mut tx, &me.actor(), state.clock.now(), me.org_id, &policy, &fields).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/policies/{id}"), Flash::success(if changed { "Saved." } else { "Nothing changed." })))
}

// ---------- versions ----------

/// A new version or a draft's changes, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct VersionForm {
    #[serde(default)]
    bump: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    change_summary: String,
    #[serde(default)]
    body_markdown: String,
    #[serde(default)]
    check_purpose: String,
    #[serde(default)]
    check_objectives: String,
    #[serde(default)]
    check_requirements: String,
    #[serde(default)]
    check_improvement: String,
    /// The member of top management asked to sign (a person id).
    #[serde(default)]
    signer: String,
}

impl VersionForm {
    fn from_fields(fields: &[(String, String)]) -> Self {
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        VersionForm {
            bump: get("bump"),
            source: get("source"),
            change_summary: get("change_summary"),
            body_markdown: get("body_markdown"),
            check_purpose: get("check_purpose"),
            check_objectives: get("check_objectives"),
            check_requirements: get("check_requirements"),
            check_improvement: get("check_improvement"),
            signer: get("signer"),
        }
    }

    fn from_version(v: &Version) -> Self {
        let c = |x: &Option<String>| x.clone().unwrap_or_default();
        VersionForm {
            bump: String::new(),
            source: if v.body_markdown.is_some() { "markdown" } else { "file" }.into(),
            change_summary: v.change_summary.clone(),
            body_markdown: v.body_markdown.clone().unwrap_or_default(),
            check_purpose: c(&v.check_purpose),
            check_objectives: c(&v.check_objectives),
            check_requirements: c(&v.check_requirements),
            check_improvement: c(&v.check_improvement),
            signer: v.signer_requested.map(|p| p.to_string()).unwrap_or_default(),
        }
    }

    fn check(&self, name: &str) -> &str {
        match name {
            "check_purpose" => &self.check_purpose,
            "check_objectives" => &self.check_objectives,
            "check_requirements" => &self.check_requirements,
            _ => &self.check_improvement,
        }
    }

    /// The draft; `markdown` says whether the document is typed here.
    fn parse(&self, markdown: bool) -> Result<Draft, FieldErrors> {
        let mut errors = FieldErrors::default();
        let change_summary = parse_optional(&self.change_summary, "the change summary", 2000, true).map_err(|e| errors.add("change_summary", e)).unwrap_or_default();
        let body_markdown = if markdown {
            match parse_optional(&self.body_markdown, "the policy text", 200_000, true) {
                Ok(b) if b.is_empty() => {
                    errors.add("body_markdown", "Write the policy text, or upload the document instead.");
                    None
                }
                Ok(b) => Some(b),
                Err(e) => {
                    errors.add("body_markdown", e);
                    None
                }
            }
        } else {
            None
        };
        let mut checks: [Option<String>; 4] = Default::default();
        for (i, (name, _)) in model::CHECKS.iter().enumerate() {
            match parse_optional(self.check(name), "where the check is met", 300, false) {
                Ok(v) if v.is_empty() => {}
                Ok(v) => checks[i] = Some(v),
                Err(e) => errors.add(name, e),
            }
        }
        let signer_requested = parse_choice(&self.signer).map(PersonId);
        if signer_requested.is_none() && !self.signer.trim().is_empty() {
            errors.add("signer", "Choose who signs it from the list.");
        }
        if errors.is_empty() { Ok(Draft { change_summary, body_markdown, checks, evidence_revision_id: None, signer_requested }) } else { Err(errors) }
    }
}

async fn version_refused(state: &AppState, me: &Member, policy: Policy, form: VersionForm, status: StatusCode, problem: &str) -> AppResult<Response> {
    let settings = PolicyForm::from_policy(&policy);
    let page = policy_view(state, me, policy, settings, FieldErrors::default(), form, FieldErrors::default(), Some(problem.to_string())).await?;
    Ok((status, page).into_response())
}

async fn create_version(State(state): State<AppState>, me: Member, Id(id): Id<PolicyId>, headers: HeaderMap, multipart: Multipart) -> AppResult<Response> {
    let policy = model::get(&state.db, me.org_id, id).await?;
    let revision_id = RevisionId::new();
    let key = EvidenceStore::key_for(me.org_id, revision_id);
    // The same reader as evidence uploads: size limit, quota, type by content, nothing left behind on failure.
    let (fields, mut file) = match crate::evidence::receive(&state, &me, &headers, multipart, &key).await {
        Ok(upload) => (upload.fields, upload.file),
        Err(f) => return version_refused(&state, &me, policy, VersionForm::from_fields(&f.fields), f.status, &f.message).await,
    };
    let form = VersionForm::from_fields(&fields);
    let markdown = form.source != "file";
    // Text was chosen: a file sent along with it is not kept.
    if markdown && let Some((r, _)) = file.take() {
        state.store.discard(&r.key).await;
    }
    let mut errors = FieldErrors::default();
    if !markdown && file.is_none() {
        errors.add("file", "Choose the document to upload, or write the text instead.");
    }
    let signers = model::signers(&state.db, me.org_id, state.clock.now().date_naive()).await?;
    if let Some(p) = parse_choice::<PersonId>(&form.signer)
        && !signers.iter().any(|s| s.id == p)
    {
        errors.add("signer", "Only a member of top management with an account can be asked to sign. Choose one from the list.");
    }
    let draft = match form.parse(markdown) {
        Ok(d) if errors.is_empty() => d,
        Ok(_) => Draft::default(),
        Err(e) => {
            for (f, m) in e.messages() {
                errors.add(f, m.clone());
            }
            Draft::default()
        }
    };
    if !errors.is_empty() {
        if let Some((r, _)) = &file {
            state.store.discard(&r.key).await;
        }
        let problem = file.is_some().then(|| "Nothing was saved. Correct the form and choose the document again.".to_string());
        let page = policy_view(&state, &me, policy.clone(), PolicyForm::from_policy(&policy), FieldErrors::default(), form, errors, problem).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let bump = if form.bump == "minor" { Bump::Minor } else { Bump::Major };
    let now = state.clock.now();
    let actor = me.actor();
    let saved: AppResult<(VersionId, String)> = async {
        let mut tx = state.db.begin().await?;
        // A document is kept as evidence, linked to the version it holds.
        let mut item = None;
        if let Some((r, filename)) = &file {
            let item_id = EvidenceId::new();
            let f = ItemFields {
                title: format!("{} (document)", policy.title),
                description: String::new(),
                kind: evidence::Kind::Document,
                external_url: None,
                evidence_date: Some(now.date_naive()),
                valid_until: None,
                review_interval_months: Some(policy.review_months),
                owner_id: policy.owner_id,
            };
            evidence::create(&mut tx, &actor, now, me.org_id, item_id, &f).await?;
            evidence::reserve(&mut tx, me.org_id, r.size, state.config.org_quota_bytes).await?;
            let rev = NewRevision { id: revision_id, key: &r.key, filename, content_type: r.file_type.mime(), size: r.size, sha256: &r.sha256 };
            evidence::add_revision(&mut tx, &actor, now, me.org_id, item_id, &rev).await?;
            item = Some(item_id);
        }
        let draft = Draft { evidence_revision_id: file.as_ref().map(|_| revision_id), ..draft.clone() };
        let (vid, number) = model::create_version(&mut tx, &actor, now, me.org_id, &policy, bump, &draft).await?;
        if let Some(item_id) = item {
            evidence::link(&mut tx, &actor, now, me.org_id, item_id, Target { kind: TargetKind::PolicyVersion, id: vid.0 }).await?;
        }
        tx.commit().await?;
        Ok((vid, number))
    }
    .await;
    match saved {
        Ok((vid, number)) => Ok(redirect_with(&state, &format!("/policies/versions/{vid}"), Flash::success(format!("Draft version {number} was created. An executive signs it to approve it.")))),
        Err(e) => {
            if let Some((r, _)) = &file {
                state.store.discard(&r.key).await;
            }
            Err(e)
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/version.html")]
struct VersionPage {
    layout: Layout,
    v: Version,
    text_html: Option<String>,
    form: VersionForm,
    errors: FieldErrors,
    sign_error: Option<String>,
    history: Vec<HistoryEntry>,
    can_manage: bool,
    can_sign: bool,
    /// The signer holds a passkey, so signs with it.
    sign_with_passkey: bool,
    /// The signer would not count as top management.
    signer_warning: Option<String>,
    my_acknowledgement: Option<(chrono::DateTime<chrono::Utc>, acks::Method)>,
    can_acknowledge: bool,
    newer: Option<String>,
    document_sha: String,
    /// For a signed version: the other evidence it was signed with.
    pinned: Vec<evidence::Pinned>,
    addenda: Vec<Addendum>,
    addendum: addenda::Form,
    addendum_errors: FieldErrors,
    can_add_addendum: bool,
    /// Who can be named as having approved a draft on paper: everyone who
    /// has ever been top management (the record checks the day itself).
    paper_approvers: Vec<(PersonId, String)>,
    paper: PaperForm,
    paper_errors: FieldErrors,
}

/// A version approved on paper before Mandate, as the form sends it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaperForm {
    #[serde(default)]
    pub approved_on: String,
    #[serde(default)]
    pub approver_id: String,
}

impl VersionPage {
    fn paper_approver_chosen(&self, id: &PersonId) -> bool {
        self.paper.approver_id == id.to_string()
    }
    fn addendum_action(&self) -> String {
        format!("/policies/versions/{}/addenda", self.v.id)
    }
    fn check_value(&self, name: &str) -> &str {
        self.form.check(name)
    }
}

async fn version_view(state: &AppState, me: &Member, v: Version, form: VersionForm, errors: FieldErrors, sign_error: Option<String>) -> AppResult<VersionPage> {
    version_view_with(state, me, v, form, errors, sign_error, addenda::Form::default(), FieldErrors::default()).await
}

#[allow(clippy::too_many_arguments)]
async fn version_view_with(
    state: &AppState,
    me: &Member,
    v: Version,
    form: VersionForm,
    errors: FieldErrors,
    sign_error: Option<String>,
    addendum: addenda::Form,
    addendum_errors: FieldErrors,
) -> AppResult<VersionPage> {
    let me_person = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
    let can_add_addendum = v.is_signed() && policy::may_add_addendum(me.role, SignedRecord::PolicyVersion, v.signed_by(me.user_id, me_person.as_ref().map(|p| p.id)));
    let addenda = if v.is_signed() { addenda::of(&state.db, me.org_id, SignedRecord::PolicyVersion, v.id.0).await? } else { Vec::new() };
    let can_sign = me.can(Action::SignPolicies) && !v.is_signed();
    let signer_warning = match (&me_person, can_sign) {
        (_, false) => None,
        (None, true) => Some("You are not linked to anyone in the directory, so your signature cannot show top-management approval. Ask the ISMS lead to link your account first, or sign anyway and it will show as a gap.".to_string()),
        (Some(p), true) if !p.top_management => Some(format!("{} is not marked as top management in the directory: your signature will show as a gap, because clause 5.2 needs top management to set the policy.", p.name)),
        _ => None,
    };
    let my_acknowledgement = match &me_person {
        Some(p) if v.is_signed() => acks::acknowledged(&state.db, me.org_id, p.id, v.id).await?,
        _ => None,
    };
    let newer = model::newer_signed(&state.db, me.org_id, &v).await?;
    let pinned = if v.is_signed() {
        let all = evidence::pinned(&state.db, me.org_id, Target { kind: TargetKind::PolicyVersion, id: v.id.0 }).await?;
        all.into_iter().filter(|p| Some(p.item_id) != v.evidence_item_id).collect()
    } else {
        Vec::new()
    };
    // Offered to a member of top management, signed in as themselves.
    let paper_approvers = if me.can(Action::SignPolicies) && policy::may_record_paper_signature(me.role, me_person.as_ref().is_some_and(|p| p.top_management)) {
        sqlx::query!(
            r#"SELECT p.id AS "id: PersonId", p.name || COALESCE(', ' || NULLIF(btrim(p.job_title), ''), '') AS "label!" FROM people p
                WHERE p.org_id = $1 AND p.id IN (SELECT c.person_id FROM roster_changes c WHERE c.org_id = $1 AND c.change = 'add' AND c.status = 'confirmed')
                ORDER BY p.name"#,
            me.org_id.0
        )
        .fetch_all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.label))
        .collect()
    } else {
        Vec::new()
    };
    Ok(VersionPage {
        layout: Layout::build(&state.db, &me.visitor, format!("{} v{}", v.policy_title, v.number())).await?,
        paper_approvers,
        paper: PaperForm::default(),
        paper_errors: FieldErrors::default(),
        pinned,
        addenda,
        addendum,
        addendum_errors,
        can_add_addendum,
        text_html: v.body_markdown.as_deref().map(markdown::render),
        history: crate::audit::history(&state.db, me.org_id, "policy_version", v.id.0, 30).await?,
        can_manage: me.can(Action::ManagePolicies),
        can_acknowledge: v.is_signed() && me_person.is_some() && my_acknowledgement.is_none() && policy::may_act_as_person(me.role, true),
        document_sha: v.document_sha256().map(hex::encode).unwrap_or_default(),
        newer,
        sign_with_passkey: can_sign && passkeys::holds(&state.db, me.user_id).await?,
        can_sign,
        signer_warning,
        my_acknowledgement,
        v,
        form,
        errors,
        sign_error,
    })
}

async fn version_page(State(state): State<AppState>, me: Member, Id(id): Id<VersionId>) -> AppResult<VersionPage> {
    let v = model::version(&state.db, me.org_id, id).await?;
    let form = VersionForm::from_version(&v);
    version_view(&state, &me, v, form, FieldErrors::default(), None).await
}

async fn update_version(State(state): State<AppState>, me: Member, Id(id): Id<VersionId>, Form(form): Form<VersionForm>) -> AppResult<Response> {
    let v = model::version(&state.db, me.org_id, id).await?;
    if v.is_signed() {
        return Err(AppError::Conflict(format!("Version {} is signed and can no longer change. Make a new version for the change, or add an addendum to correct this one.", v.number())));
    }
    let draft = match form.parse(v.body_markdown.is_some()) {
        Ok(d) => d,
        Err(errors) => {
            let page = version_view(&state, &me, v, form, errors, None).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    let changed = model::update_draft(&mut tx, &me.actor(), state.clock.now(), me.org_id, &v, &draft).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/policies/versions/{id}"), Flash::success(if changed { "Draft saved." } else { "Nothing changed." })))
}

/// A correction to a signed version: a dated note under it.
async fn add_addendum(State(state): State<AppState>, me: Member, Id(id): Id<VersionId>, Form(form): Form<addenda::Form>) -> AppResult<Response> {
    let v = model::version(&state.db, me.org_id, id).await?;
    let person = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
    if !policy::may_add_addendum(me.role, SignedRecord::PolicyVersion, v.signed_by(me.user_id, person.as_ref().map(|p| p.id))) {
        return Err(AppError::Forbidden);
    }
    if !v.is_signed() {
        return Err(AppError::Conflict(format!("Version {} is a draft: change the draft itself. Addenda are for signed versions.", v.number())));
    }
    let body = match form.parse() {
        Ok(b) => b,
        Err(e) => {
            let mut errors = FieldErrors::default();
            errors.add("addendum", e);
            let vf = VersionForm::from_version(&v);
            let page = version_view_with(&state, &me, v, vf, FieldErrors::default(), None, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    addenda::add(&mut tx, &me.actor(), state.clock.now(), me.org_id, SignedRecord::PolicyVersion, v.id.0, &addenda::Author::of(&me, person.as_ref()), &body).await?;
    tx.commit().await?;
    Ok(redirect_with(&state, &format!("/policies/versions/{id}"), Flash::success("Your addendum was added under the signed version. It is dated and can never be changed.")))
}

#[derive(Deserialize)]
struct SignForm {
    #[serde(default)]
    password: String,
    /// The SHA-256 of the document as the signer saw it.
    #[serde(default)]
    document_sha: String,
    /// A passkey's signature of the statement (`auth::passkeys`).
    #[serde(flatten)]
    passkey: SignatureFields,
}

/// The statement a leader's passkey signs for this version, now.
fn statement(me: &Member, v: &Version, signer_name: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let what = format!("{}, version {}", v.policy_title, v.number());
    passkeys::statement(me, Act::PolicyVersion, v.id.0, &what, Some(&v.document_sha_hex()), signer_name, at)
}

/// Starts a passkey signature of this version (static/app.js asks for it
/// when the signer holds a passkey): the options carry the SHA-256 of the
/// statement as the challenge.
async fn sign_options(State(state): State<AppState>, me: Member, Id(id): Id<VersionId>) -> AppResult<axum::Json<serde_json::Value>> {
    let v = model::version(&state.db, me.org_id, id).await?;
    if v.is_signed() {
        return Err(AppError::Conflict(format!("Version {} is already signed.", v.number())));
    }
    let person = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
    let name = person.as_ref().map_or(me.name.as_str(), |p| p.name.as_str());
    let text = statement(&me, &v, name, state.clock.now());
    passkeys::start_signature(&state, me.user_id, &text).await?.map(axum::Json).ok_or(AppError::NotFound)
}

/// Records that a draft was approved on paper before Mandate, on a past day,
/// by a named person: entered by the signed-in member, marked as such. Only
/// a member of top management, signed in as themselves, vouches for a
/// leader's paper signature: nobody else makes a policy count as approved
/// by top management.
async fn record_paper(State(state): State<AppState>, me: Member, Id(id): Id<VersionId>, Form(form): Form<PaperForm>) -> AppResult<Response> {
    let now = state.clock.now();
    // Another organisation's version answers 404, like a missing one, before anything else.
    model::version(&state.db, me.org_id, id).await?;
    let top = people::person_of_user(&state.db, me.org_id, me.user_id).await?.is_some_and(|p| p.top_management);
    if !policy::may_record_paper_signature(me.role, top) {
        // The form is offered only to them; anyone else is refused outright.
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::default();
    let day = match crate::web::form::parse_date(&form.approved_on, "the day it was approved") {
        Ok(Some(d)) if d > now.date_naive() => {
            errors.add("approved_on", "A paper approval happened in the past: choose today or an earlier day.");
            None
        }
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            errors.add("approved_on", "Enter the day it was approved on paper.");
            None
        }
        Err(e) => {
            errors.add("approved_on", e);
            None
        }
    };
    let approver = form.approver_id.trim().parse::<uuid::Uuid>().ok().map(PersonId);
    if approver.is_none() {
        errors.add("approver_id", "Choose who approved it.");
    }
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, id).await?;
    let v = model::version(&mut *tx, me.org_id, id).await?;
    if let (Some(day), Some(approver), true) = (day, approver, errors.is_empty()) {
        match model::record_paper_approval(&mut tx, &me.actor(), now, me.org_id, &v, &model::PaperApproval { approver, approved_on: day, recorded_by: me.user_id }).await {
            Ok(()) => {
                tx.commit().await?;
                let msg = format!("Recorded: version {} of {} was approved on paper on {day}. It counts from that day and shows as recorded from paper.", v.number(), v.policy_title);
                return Ok(redirect_with(&state, &format!("/policies/versions/{id}"), Flash::success(msg)));
            }
            Err(AppError::BadRequest(m) | AppError::Conflict(m)) => errors.add("approved_on", m),
            Err(e) => return Err(e),
        }
    }
    drop(tx);
    let mut page = version_view(&state, &me, v.clone(), VersionForm::from_version(&v), FieldErrors::default(), None).await?;
    page.paper = form;
    page.paper_errors = errors;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn sign_version(State(state): State<AppState>, me: Member, Id(id): Id<VersionId>, headers: HeaderMap, Form(form): Form<SignForm>) -> AppResult<Response> {
    let v = model::version(&state.db, me.org_id, id).await?;
    if v.is_signed() {
        return Err(AppError::Conflict(format!("Version {} is already signed.", v.number())));
    }
    let now = state.clock.now();
    // A signer with a passkey signs with it (the statement, bound to the
    // authenticator); without one, signing re-checks the password,
    // throttled like signing in.
    let lines = [Act::PolicyVersion.record_line(id.0), format!("document sha-256: {}", v.document_sha_hex())];
    let mut bound = None;
    let refusal = match passkeys::bind(&state, me.user_id, &form.passkey, &lines).await? {
        Binding::Bound(b) => {
            bound = Some(*b);
            None
        }
        Binding::Refused(why) => Some((StatusCode::UNPROCESSABLE_ENTITY, why)),
        Binding::NotHeld => {
            let stored = model::signer_password_hash(&state.db, me.user_id).await?;
            match throttle::check_password(&state.db, &state.config.throttle, now, &me.email, &me.visitor.client_addr, form.password, Some(stored), "signing a policy").await? {
                throttle::PasswordCheck::Right => None,
                throttle::PasswordCheck::Locked(until) => Some((StatusCode::TOO_MANY_REQUESTS, crate::auth::locked_message(until, now))),
                throttle::PasswordCheck::Wrong => Some((StatusCode::UNPROCESSABLE_ENTITY, "That is not your password. Your signature was not recorded.".to_string())),
            }
        }
    };
    if let Some((status, message)) = refusal {
        let page = version_view(&state, &me, v.clone(), VersionForm::from_version(&v), FieldErrors::default(), Some(message)).await?;
        return Ok((status, page).into_response());
    }
    let person = people::person_of_user(&state.db, me.org_id, me.user_id).await?;
    let signer = Signer {
        user_id: Some(me.user_id),
        name: person.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| me.name.clone()),
        person_id: person.as_ref().map(|p| p.id),
        top_management: person.as_ref().is_some_and(|p| p.top_management),
        client_addr: me.visitor.client_addr.clone(),
        user_agent: user_agent(&headers),
        passkey: bound,
    };
    // Sign exactly what the signer read: the draft may have changed since the page was opened.
    let mut tx = state.db.begin().await?;
    crate::db::lock_row(&mut tx, me.org_id, id).await?;
    let v = model::version(&mut *tx, me.org_id, id).await?;
    if !v.is_signed() && v.document_sha_hex() != form.document_sha.trim() {
        drop(tx);
        let why = "The document changed after you opened this page, so nothing was signed. Read the version below again, then sign.";
        let page = version_view(&state, &me, v.clone(), VersionForm::from_version(&v), FieldErrors::default(), Some(why.into())).await?;
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let sha = model::sign(&mut tx, &me.actor(), now, me.org_id, &v, &signer).await?;
    tx.commit().await?;
    let mut msg = format!("You signed version {} of {}. SHA-256 of the signed document: {}.", v.number(), v.policy_title, hex::encode(sha));
    if signer.passkey.is_some() {
        msg.push_str(" Your passkey signed it too: anyone can check that signature in the evidence bundle.");
    }
    if !signer.top_management {
        msg.push_str(" You are not recorded as top management, so this approval shows as a gap.");
    }
    Ok(redirect_with(&state, &format!("/policies/versions/{id}"), Flash::success(msg)))
}

// ---------- interested parties ----------

#[derive(Template, WebTemplate)]
#[template(path = "policies/public.html")]
struct PublicPage {
    layout: Layout,
    org_name: String,
    has_logo: bool,
    slug: String,
    v: Version,
    text_html: Option<String>,
}

async fn public_page(State(state): State<AppState>, visitor: Visitor, crate::web::Segment(slug): crate::web::Segment) -> AppResult<PublicPage> {
    let (_, org_name, has_logo, v) = model::public_version(&state.db, &slug).await?;
    Ok(PublicPage {
        layout: Layout::basic(&visitor, format!("{org_name}: {}", v.policy_title)),
        org_name,
        has_logo,
        slug,
        text_html: v.body_markdown.as_deref().map(markdown::render),
        v,
    })
}

async fn public_document(State(state): State<AppState>, crate::web::Segment(slug): crate::web::Segment) -> AppResult<Response> {
    let (org_id, _, _, v) = model::public_version(&state.db, &slug).await?;
    crate::policies::document_response(&state, org_id, &v).await
}

/// The organisation's logo, for a published policy's page.
async fn public_logo(State(state): State<AppState>, crate::web::Segment(slug): crate::web::Segment) -> AppResult<Response> {
    let (org_id, _, _, _) = model::public_version(&state.db, &slug).await?;
    crate::orgs::logo::response(&state.db, org_id).await
}

