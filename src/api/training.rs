//! `/api/v1/training/records/sync`: completions from a training system
//! (LMS), matched by the LMS's record id. New ones are added, changed ones
//! corrected, a completion already entered by hand or from a file gets the
//! record id; the same call made twice changes nothing the second time.
use super::caller::ApiCaller;
use super::json::{Body, reply};
use super::people::DryRun;
use crate::audit::{self, Entry};
use crate::auth::policy::{Access::Token, Action, Scope};
use crate::error::{AppError, AppResult};
use crate::ids::{ModuleId, OrgId, PersonId, TrainingRecordId};
use crate::state::AppState;
use crate::web::routes::Routes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// The most records one call takes.
pub const MAX_RECORDS: usize = 20_000;

pub fn routes(r: Routes) -> Routes {
    r.post_upload("/api/v1/training/records/sync", Token(Action::ManageTraining, Scope::WriteTraining), sync, Some(super::json::BULK_BYTES))
}

/// One completion as the training system has it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRecord {
    /// The training system's id of this completion: how a second call finds it again.
    pub external_id: String,
    /// The person, by e-mail address as in the directory.
    pub email: String,
    /// The module, by its id or by its exact title (one of the two).
    pub module_id: Option<Uuid>,
    pub module: Option<String>,
    pub completed_on: NaiveDate,
    /// From 0 to 100.
    pub score: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingSyncRequest {
    pub records: Vec<SyncRecord>,
}

/// What a training sync did (or, as a dry run, would do).
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingSyncResult {
    pub dry_run: bool,
    pub created: usize,
    /// Completions whose day or score the training system corrected.
    pub updated: usize,
    /// Completions entered before (by hand or from a file) that now carry the record id.
    pub linked: usize,
    pub unchanged: usize,
    pub problems: Vec<super::people::SyncProblem>,
}

/// A record checked against the directory and the modules.
struct Resolved {
    /// Its position in the call.
    index: u64,
    external_id: String,
    module_id: ModuleId,
    person_id: PersonId,
    completed_on: NaiveDate,
    score: Option<f64>,
}

struct Known {
    id: TrainingRecordId,
    external_id: Option<String>,
    module_id: ModuleId,
    person_id: PersonId,
    completed_on: NaiveDate,
    score: Option<f64>,
}

async fn resolve(db: &sqlx::PgPool, org: OrgId, records: &[SyncRecord], problems: &mut Vec<super::people::SyncProblem>) -> AppResult<Vec<Resolved>> {
    let people = crate::imports::directory(db, org).await?;
    let modules = sqlx::query!(r#"SELECT id AS "id: ModuleId", lower(title) AS "title!" FROM training_modules WHERE org_id = $1 AND retired_at IS NULL"#, org.0)
        .fetch_all(db)
        .await?;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut completions: HashMap<(ModuleId, PersonId, NaiveDate), usize> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let mut problem = |field: &str, message: String| problems.push(super::people::SyncProblem { index: i as u64, field: field.into(), message });
        let ext = r.external_id.trim();
        if ext.is_empty() || ext.chars().count() > 200 || ext.chars().any(char::is_control) {
            problem("external_id", "An external id has 1 to 200 characters, without line breaks.".into());
            continue;
        }
        if let Some(first) = seen.insert(ext, i) {
            problem("external_id", format!("{ext} is also at position {first}."));
            continue;
        }
        let Some(person_id) = people.get(&r.email.trim().to_lowercase()).copied() else {
            problem("email", format!("{} is not in the directory. Sync people first.", r.email.trim()));
            continue;
        };
        let module_id = match (&r.module_id, r.module.as_deref().map(|t| t.trim().to_lowercase())) {
            (Some(id), _) => modules.iter().find(|m| m.id.0 == *id).map(|m| m.id),
            (None, Some(title)) => modules.iter().find(|m| m.title == title).map(|m| m.id),
            (None, None) => None,
        };
        let Some(module_id) = module_id else {
            problem("module", "Name a current module by module_id or by its exact title.".into());
            continue;
        };
        if r.score.is_some_and(|s| !(0.0..=100.0).contains(&s)) {
            problem("score", "A score is from 0 to 100.".into());
            continue;
        }
        if let Some(first) = completions.insert((module_id, person_id, r.completed_on), i) {
            problem("external_id", format!("The same completion (person, module and day) is also at position {first}."));
            continue;
        }
        // Kept to one decimal, as stored: the same score sent again is no change.
        let score = r.score.map(|s| (s * 10.0).round() / 10.0);
        out.push(Resolved { index: i as u64, external_id: ext.to_string(), module_id, person_id, completed_on: r.completed_on, score });
    }
    Ok(out)
}

/// Adds and corrects completions from a training system, by its record ids.
#[utoipa::path(post, path = "/api/v1/training/records/sync", tag = "training", security(("bearer" = ["training:write"])),
    request_body = TrainingSyncRequest, params(DryRun),
    responses((status = 200, description = "What changed (or, as a dry run, would change)", body = TrainingSyncResult),
        (status = 422, description = "Problems stop the sync, dry run or not; nothing was changed (the body lists them)", body = TrainingSyncResult)))]
pub async fn sync(State(state): State<AppState>, me: ApiCaller, headers: HeaderMap, Query(dry): Query<DryRun>, Body(req): Body<TrainingSyncRequest>) -> AppResult<Response> {
    if req.records.len() > MAX_RECORDS {
        return Err(AppError::BadRequest(format!("A sync takes at most {MAX_RECORDS} records; split the call.")));
    }
    let org = me.token.org_id;
    let mut problems = Vec::new();
    let records = resolve(&state.db, org, &req.records, &mut problems).await?;
    let mut result = TrainingSyncResult { dry_run: dry.dry_run, created: 0, updated: 0, linked: 0, unchanged: 0, problems: Vec::new() };
    if !problems.is_empty() {
        result.problems = problems;
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return reply(&headers, status, &result);
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // One sync at a time per organisation, so two calls never race on the same records.
    sqlx::query!(r#"SELECT true AS "locked!" FROM pg_advisory_xact_lock(hashtext('training-sync:' || $1::uuid::text))"#, org.0).fetch_one(&mut *tx).await?;
    let exts: Vec<String> = records.iter().map(|r| r.external_id.clone()).collect();
    let (modules, persons, days): (Vec<Uuid>, Vec<Uuid>, Vec<NaiveDate>) =
        (records.iter().map(|r| r.module_id.0).collect(), records.iter().map(|r| r.person_id.0).collect(), records.iter().map(|r| r.completed_on).collect());
    let known = sqlx::query_as!(
        Known,
        r#"SELECT t.id AS "id: TrainingRecordId", t.external_id, t.module_id AS "module_id: ModuleId", t.person_id AS "person_id: PersonId",
                  t.completed_on, t.score::float8 AS score
             FROM training_records t
            WHERE t.org_id = $1 AND (t.external_id = ANY($2)
                  OR (t.module_id, t.person_id, t.completed_on) IN (SELECT * FROM UNNEST($3::uuid[], $4::uuid[], $5::date[])))"#,
        org.0,
        &exts,
        &modules,
        &persons,
        &days,
    )
    .fetch_all(&mut *tx)
    .await?;
    let by_ext: HashMap<&str, &Known> = known.iter().filter_map(|k| k.external_id.as_deref().map(|e| (e, k))).collect();
    let by_key: HashMap<(ModuleId, PersonId, NaiveDate), &Known> = known.iter().map(|k| ((k.module_id, k.person_id, k.completed_on), k)).collect();
    let (mut creates, mut updates, mut links) = (Vec::new(), Vec::new(), Vec::new());
    for r in &records {
        match (by_ext.get(r.external_id.as_str()), by_key.get(&(r.module_id, r.person_id, r.completed_on))) {
            (Some(k), _) if k.module_id == r.module_id && k.person_id == r.person_id && k.completed_on == r.completed_on && k.score == r.score => result.unchanged += 1,
            (Some(k), _) => updates.push((k.id, r, k)),
            (None, Some(k)) if k.external_id.is_none() => links.push((k.id, r)),
            (None, Some(k)) => {
                let other = k.external_id.clone().unwrap_or_default();
                result.problems.push(super::people::SyncProblem {
                    index: r.index,
                    field: "external_id".into(),
                    message: format!("The same completion is already known under record id {other}, not {}.", r.external_id),
                });
            }
            (None, None) => creates.push(r),
        }
    }
    (result.created, result.updated, result.linked) = (creates.len(), updates.len(), links.len());
    if !result.problems.is_empty() || dry.dry_run {
        let status = if result.problems.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        return reply(&headers, status, &result);
    }
    let actor = me.actor();
    let user = actor.user_id.map(|u| u.0);
    let ids: Vec<Uuid> = creates.iter().map(|_| TrainingRecordId::new().0).collect();
    sqlx::query!(
        r#"INSERT INTO training_records (id, org_id, module_id, person_id, completed_on, score, source, recorded_by, recorded_at, recorded_how, external_id)
           SELECT u.id, $1, u.module_id, u.person_id, u.completed_on, u.score::numeric, 'api', $2, $3, 'lms', u.ext
             FROM UNNEST($4::uuid[], $5::uuid[], $6::uuid[], $7::date[], $8::float8[], $9::text[]) AS u(id, module_id, person_id, completed_on, score, ext)"#,
        org.0,
        user,
        now,
        &ids,
        &creates.iter().map(|r| r.module_id.0).collect::<Vec<_>>(),
        &creates.iter().map(|r| r.person_id.0).collect::<Vec<_>>(),
        &creates.iter().map(|r| r.completed_on).collect::<Vec<_>>(),
        &creates.iter().map(|r| r.score).collect::<Vec<_>>() as &[Option<f64>],
        &creates.iter().map(|r| r.external_id.clone()).collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    let changed: Vec<(Uuid, &Resolved)> = updates.iter().map(|(id, r, _)| (id.0, *r)).chain(links.iter().map(|(id, r)| (id.0, *r))).collect();
    sqlx::query!(
        r#"UPDATE training_records t SET module_id = u.module_id, person_id = u.person_id, completed_on = u.completed_on, score = u.score::numeric, external_id = u.ext,
                  updated_at = $8
             FROM UNNEST($2::uuid[], $3::uuid[], $4::uuid[], $5::date[], $6::float8[], $7::text[]) AS u(id, module_id, person_id, completed_on, score, ext)
            WHERE t.org_id = $1 AND t.id = u.id"#,
        org.0,
        &changed.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        &changed.iter().map(|(_, r)| r.module_id.0).collect::<Vec<_>>(),
        &changed.iter().map(|(_, r)| r.person_id.0).collect::<Vec<_>>(),
        &changed.iter().map(|(_, r)| r.completed_on).collect::<Vec<_>>(),
        &changed.iter().map(|(_, r)| r.score).collect::<Vec<_>>() as &[Option<f64>],
        &changed.iter().map(|(_, r)| r.external_id.clone()).collect::<Vec<_>>(),
        now,
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| match e.as_database_error().and_then(|d| d.constraint()) {
        Some(c) if c.contains("completed_on") || c.contains("external_id") => AppError::Conflict("A correction would make two records of the same completion.".into()),
        _ => e.into(),
    })?;
    let mut entries: Vec<Entry> = creates
        .iter()
        .zip(&ids)
        .map(|(r, id)| Entry::new("training.completed", "training_record", id, json!({"module_id": r.module_id, "person_id": r.person_id, "completed_on": r.completed_on, "source": "api", "external_id": r.external_id})))
        .collect();
    entries.extend(updates.iter().map(|(id, r, k)| {
        Entry::new("training.corrected", "training_record", id, json!({"completed_on": [k.completed_on, r.completed_on], "score": [k.score, r.score], "external_id": r.external_id}))
    }));
    entries.extend(links.iter().map(|(id, r)| Entry::new("training.corrected", "training_record", id, json!({"external_id": [null, r.external_id]}))));
    for chunk in entries.chunks(1000) {
        audit::record_many(&mut tx, &actor, now, chunk.to_vec()).await?;
    }
    tx.commit().await?;
    reply(&headers, StatusCode::OK, &result)
}
