//! The requirements register's pages: the list (grouped by clause), its
//! CSV export, and one requirement with its state, evidence and requests.
use super::model::{self, ClauseInfo, Filter, Requirement, Status};
use crate::ids::{PersonId, RequirementId};
use crate::state::AppState;
use crate::web::routes::Routes;
use crate::audit::{self, HistoryEntry};
use crate::auth::policy::{self, Action};
use crate::auth::session::{Flash, Member};
use crate::error::{AppError, AppResult};
use crate::people::model::{self as people, Choice};
use crate::people::pick;
use crate::web::form::{parse_choice, parse_optional};
use crate::web::{FieldErrors, Id, Layout, csv, redirect_with};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

pub fn routes(r: Routes) -> Routes {
    use crate::auth::policy::{Access::Can, Action::*};
    r.get("/requirements", Can(ViewRequirements), list_page)
        .get("/requirements.csv", Can(ViewRequirements), export)
        .get("/requirements/{id}", Can(ViewRequirements), requirement_page)
        .get("/requirements/{id}/evidence.zip", Can(ViewRequirements), evidence_zip)
        .post("/requirements/{id}", Can(ViewRequirements), update)
}

/// A clause with its requirements, for the grouped list.
pub struct Group {
    pub clause: ClauseInfo,
    pub items: Vec<Requirement>,
    pub implemented: usize,
    pub applicable: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "requirements/list.html")]
struct ListPage {
    layout: Layout,
    groups: Vec<Group>,
    clauses: Vec<ClauseInfo>,
    owners: Vec<Choice>,
    statuses: Vec<Status>,
    filter: Filter,
    query: String,
    shown: usize,
    unowned: usize,
    /// Requirements nobody is named for, owned by the holder of the role
    /// their catalogue entry names: code → that holder.
    role_owners: std::collections::BTreeMap<String, String>,
}

impl ListPage {
    fn role_owner(&self, code: &str) -> Option<&String> {
        self.role_owners.get(code)
    }
}

async fn list_page(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<ListPage> {
    let today = state.clock.now().date_naive();
    let items = model::list(&state.db, me.org_id, &filter, today).await?;
    let clauses = model::clauses(&state.db).await?;
    let shown = items.len();
    let evaluation = crate::gaps::evaluation(&state.db, &state.kept, me.org_id, today).await?;
    let snap = &evaluation.snapshot;
    let role_owners: std::collections::BTreeMap<String, String> = snap
        .requirements
        .iter()
        .filter(|r| r.owner_id.is_none())
        .filter_map(|r| Some((r.code.clone(), crate::gaps::derived::owner_by_role(snap, r)?.person_name.clone())))
        .collect();
    let unowned = items.iter().filter(|r| r.applicable && r.owner_id.is_none() && !role_owners.contains_key(&r.code)).count();
    let mut groups: Vec<Group> = Vec::new();
    for item in items {
        match groups.last_mut() {
            Some(g) if g.clause.code == item.clause => g.items.push(item),
            _ => {
                let clause = clauses.iter().find(|c| c.code == item.clause).cloned().unwrap_or(ClauseInfo {
                    code: item.clause.clone(),
                    title: item.clause_title.clone(),
                    summary: String::new(),
                });
                groups.push(Group { clause, items: vec![item], implemented: 0, applicable: 0 });
            }
        }
    }
    for g in &mut groups {
        g.applicable = g.items.iter().filter(|r| r.applicable).count();
        g.implemented = g.items.iter().filter(|r| r.applicable && r.status == Status::Implemented).count();
    }
    Ok(ListPage {
        layout: Layout::build(&state.db, &me.visitor, "Requirements").await?,
        groups,
        clauses,
        owners: pick::owners(&state.db, &state.kept, me.org_id, today, pick::Owned::Requirements).await?,
        statuses: Status::ALL.to_vec(),
        query: filter.query(),
        filter,
        shown,
        unowned,
        role_owners,
    })
}

async fn export(State(state): State<AppState>, me: Member, Query(filter): Query<Filter>) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let org_id = me.org_id;
    Ok(csv::stream_rows(
        &format!("requirements-{}.csv", today.format("%Y%m%d")),
        &["code", "clause", "title", "applicable", "exclusion_reason", "owner", "owner_email", "status", "notes", "updated_at"],
        state.db.clone(),
        move |db| model::stream(db, org_id, &filter, today),
        |r: Requirement| {
            vec![
                r.code.clone(),
                r.clause.clone(),
                r.title.clone(),
                if r.applicable { "yes" } else { "no" }.into(),
                r.exclusion_reason.clone(),
                r.owner_name.clone().unwrap_or_default(),
                r.owner_email.clone().unwrap_or_default(),
                r.status.label().into(),
                r.notes.clone(),
                r.updated_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ]
        },
    ))
}

#[derive(Deserialize, Default, Clone)]
pub struct StateForm {
    #[serde(default)]
    applicable: String,
    #[serde(default)]
    exclusion_reason: String,
    #[serde(default)]
    exclusion_approved_by: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    notes: String,
}

impl StateForm {
    fn from_requirement(r: &Requirement) -> Self {
        StateForm {
            applicable: if r.applicable { "yes" } else { "no" }.into(),
            exclusion_reason: r.exclusion_reason.clone(),
            exclusion_approved_by: r.exclusion_approved_by.map(|o| o.to_string()).unwrap_or_default(),
            owner_id: r.owner_id.map(|o| o.to_string()).unwrap_or_default(),
            status: r.status.as_str().into(),
            notes: r.notes.clone(),
        }
    }

    /// The new state; `full` is false for contributors, who may only move
    /// the status and notes of what they own.
    fn parse(&self, before: &Requirement, full: bool) -> Result<model::State, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut s = before.state();
        match self.status.parse::<Status>() {
            Ok(v) => s.status = v,
            Err(_) => errors.add("status", "Choose a status."),
        }
        match parse_optional(&self.notes, "the notes", 4000, true) {
            Ok(v) => s.notes = v,
            Err(e) => errors.add("notes", e),
        }
        if full {
            s.applicable = self.applicable != "no";
            if !s.applicable && before.mandatory() {
                errors.add("applicable", format!("{} is mandatory for certification: clauses 4 to 10 always apply.", before.code));
                s.applicable = true;
            }
            s.owner_id = parse_choice(&self.owner_id).map(PersonId);
            match parse_optional(&self.exclusion_reason, "the reason", 1000, true) {
                Ok(v) if !s.applicable && v.is_empty() => {
                    errors.add("exclusion_reason", "Say why this control does not apply: the statement of applicability must justify it.")
                }
                Ok(v) => s.exclusion_reason = if s.applicable { String::new() } else { v },
                Err(e) => errors.add("exclusion_reason", e),
            }
            s.exclusion_approved_by = if s.applicable { None } else { parse_choice(&self.exclusion_approved_by).map(PersonId) };
            if !s.applicable && s.exclusion_approved_by.is_none() {
                errors.add("exclusion_approved_by", "Name the member of top management who approved the exclusion.");
            }
        }
        if errors.is_empty() { Ok(s) } else { Err(errors) }
    }
}

/// Who holds a 5.3 assignment, shown on that requirement's page.
pub struct Holder {
    pub role: String,
    pub people: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "requirements/show.html")]
struct ShowPage {
    layout: Layout,
    r: Requirement,
    form: StateForm,
    errors: FieldErrors,
    owners: Vec<Choice>,
    statuses: Vec<Status>,
    history: Vec<HistoryEntry>,
    holders: Option<Vec<Holder>>,
    evidence: Vec<crate::evidence::model::Item>,
    /// More evidence is linked than `evidence` shows.
    more_evidence: bool,
    /// Records of Mandate that count as its evidence (today's evaluation).
    derived: Vec<crate::gaps::derived::Derived>,
    /// Nobody named: the holder of the role the catalogue names owns it.
    role_owner: Option<String>,
    requests: Vec<crate::requests::model::Request>,
    can_raise: bool,
    can_upload: bool,
    can_edit: bool,
    can_edit_all: bool,
    /// The viewer's own directory entry, when it is top management: only they
    /// can be named as approving an exclusion, signed in as themselves.
    approver: Option<PersonId>,
    today: NaiveDate,
}

impl ShowPage {
    fn is_approver(&self, id: &PersonId) -> bool {
        self.approver.as_ref() == Some(id)
    }
}

/// How many linked evidence items a requirement's page shows (the newest).
const EVIDENCE_SHOWN: i64 = 50;

/// Whether `me` may edit this requirement, and whether fully.
fn edit_rights(me: &Member, r: &Requirement) -> (bool, bool) {
    let owns_it = r.owner_user_id == Some(me.user_id);
    (policy::may_edit_requirement(me.role, owns_it), me.can(Action::EditRequirements))
}

async fn show(state: &AppState, me: &Member, r: Requirement, form: StateForm, errors: FieldErrors, today: NaiveDate) -> AppResult<ShowPage> {
    let (can_edit, can_edit_all) = edit_rights(me, &r);
    let keep = pick::ids([form.owner_id.as_str(), form.exclusion_approved_by.as_str()]);
    let assignment = match r.code.as_str() {
        "5.3(a)" => Some(crate::roles::model::Assignment::Conformance),
        "5.3(b)" => Some(crate::roles::model::Assignment::Reporting),
        _ => None,
    };
    let holders = match assignment {
        Some(a) => Some(
            crate::roles::model::holders_of(&state.db, me.org_id, a, today)
                .await?
                .into_iter()
                .map(|(role, people)| Holder { role, people })
                .collect(),
        ),
        None => None,
    };
    let evaluation = crate::gaps::evaluation(&state.db, &state.kept, me.org_id, today).await?;
    let snap = &evaluation.snapshot;
    let here = snap.requirements.iter().find(|x| x.id == r.id);
    let derived = here.map(|x| crate::gaps::derived::for_requirement(snap, x)).unwrap_or_default();
    let role_owner = here.filter(|x| x.owner_id.is_none()).and_then(|x| {
        let a = crate::gaps::derived::owner_by_role(snap, x)?;
        Some(format!("{}, who holds {} ({})", a.person_name, a.role_name, x.owner_assignment.as_deref().unwrap_or_default()))
    });
    // The items linked most recently; the register lists them all, a page at a time.
    let target = crate::evidence::model::Target { kind: crate::evidence::model::TargetKind::Requirement, id: r.id.0 };
    let mut evidence = crate::evidence::model::first_for_target(&state.db, me.org_id, target, Some(EVIDENCE_SHOWN + 1)).await?;
    let more_evidence = evidence.len() as i64 > EVIDENCE_SHOWN;
    evidence.truncate(EVIDENCE_SHOWN as usize);
    Ok(ShowPage {
        layout: Layout::build(&state.db, &me.visitor, format!("{} {}", r.code, r.title)).await?,
        derived,
        role_owner,
        owners: pick::choices(&state.db, me.org_id, today, &keep).await?,
        approver: people::person_of_user(&state.db, me.org_id, me.user_id).await?.filter(|p| p.top_management).map(|p| p.id),
        statuses: Status::ALL.to_vec(),
        history: audit::history(&state.db, me.org_id, "requirement", r.id.0, 50).await?,
        evidence,
        more_evidence,
        requests: crate::requests::model::list(&state.db, me.org_id, None, Some(r.id)).await?,
        can_raise: me.can(Action::RaiseEvidenceRequests),
        can_upload: me.can(Action::UploadEvidence),
        today,
        holders,
        r,
        form,
        errors,
        can_edit,
        can_edit_all,
    })
}

/// All current evidence of a requirement, uploaded and held in Mandate, as
/// one ZIP with its own SHA256SUMS, streamed as it is written.
async fn evidence_zip(State(state): State<AppState>, me: Member, Id(id): Id<RequirementId>) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let r = model::get(&state.db, me.org_id, id, today).await?;
    let evaluation = crate::gaps::evaluation(&state.db, &state.kept, me.org_id, today).await?;
    let derived = evaluation.snapshot.requirements.iter().find(|x| x.id == r.id).map(|x| crate::gaps::derived::for_requirement(&evaluation.snapshot, x)).unwrap_or_default();
    let (writer, reader) = tokio::io::duplex(64 * 1024);
    let (db, store, org_id, now) = (state.db.clone(), state.store.clone(), me.org_id, state.clock.now());
    let (code, title) = (r.code.clone(), r.title.clone());
    tokio::spawn(async move {
        if let Err(e) = crate::bundles::requirement::write(&db, &store, org_id, id, &code, &title, &derived, today, now, writer).await {
            // The client sees a cut-off download; the cause stays in the log.
            tracing::error!(error = %format!("{e:#}"), requirement = %code, "writing a requirement's evidence ZIP failed");
        }
    });
    let mut res = Response::new(axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(reader)));
    let h = res.headers_mut();
    h.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/zip"));
    if let Ok(v) = axum::http::HeaderValue::from_str(&crate::web::layout::attachment(&crate::bundles::requirement::filename(&r.code, today))) {
        h.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    h.insert(axum::http::header::CONTENT_SECURITY_POLICY, axum::http::HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(res)
}

async fn requirement_page(State(state): State<AppState>, me: Member, Id(id): Id<RequirementId>) -> AppResult<ShowPage> {
    let today = state.clock.now().date_naive();
    let r = model::get(&state.db, me.org_id, id, today).await?;
    let form = StateForm::from_requirement(&r);
    show(&state, &me, r, form, FieldErrors::default(), today).await
}

async fn update(State(state): State<AppState>, me: Member, Id(id): Id<RequirementId>, Form(mut form): Form<StateForm>) -> AppResult<Response> {
    let today = state.clock.now().date_naive();
    let picked = pick::resolve(&state.db, me.org_id, today, vec![("owner_id", &mut form.owner_id)]).await?;
    // Read and write under one lock, so two people saving at once never
    // undo each other's change without the log showing it.
    let mut tx = state.db.begin().await?;
    model::lock(&mut tx, me.org_id, id).await?;
    let r = model::get(&mut *tx, me.org_id, id, today).await?;
    let (can_edit, can_edit_all) = edit_rights(&me, &r);
    if !can_edit {
        return Err(AppError::Forbidden);
    }
    // An exclusion's approval is bound to the account that gives it: the
    // approver is the signed-in member's own entry, never someone else's.
    let me_person = people::person_of_user(&state.db, me.org_id, me.user_id).await?.map(|p| p.id);
    let parsed = pick::merged(picked, form.parse(&r, can_edit_all)).and_then(|s| {
        if !s.applicable && s.exclusion_approved_by != r.exclusion_approved_by && s.exclusion_approved_by != me_person {
            let mut errors = FieldErrors::default();
            errors.add("exclusion_approved_by", "Only the member of top management who approves an exclusion can record it, signed in as themselves.");
            return Err(errors);
        }
        Ok(s)
    });
    let new = match parsed {
        Ok(s) => s,
        Err(errors) => {
            drop(tx);
            let page = show(&state, &me, r, form, errors, today).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let changed = model::save(&mut tx, &me.actor(), state.clock.now(), me.org_id, &r, &new).await?;
    tx.commit().await?;
    let msg = if changed { format!("{} saved.", r.code) } else { "Nothing changed.".into() };
    Ok(redirect_with(&state, &format!("/requirements/{id}"), Flash::success(msg)))
}
