//! Background jobs recorded in PostgreSQL. Any app process claims the
//! oldest queued job with `FOR UPDATE SKIP LOCKED`, and keeps a heartbeat
//! while it works. A job whose heartbeat stopped (its process died) is
//! claimed again and restarted from the beginning under a new attempt
//! number; the attempt that lost it notices at its next heartbeat and stops.
use crate::ids::{JobId, OrgId};
use super::build::{self, Progress};
use super::manifest::Params;
use crate::state::AppState;
use crate::audit::{self, Actor};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use uuid::Uuid;

/// A job whose process died this many times is given up (it may be what kills it).
pub const MAX_ATTEMPTS: i32 = 3;
/// How often a running job writes its progress and heartbeat.
const BEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

crate::text_enum! {
    /// Where a job stands.
    pub enum JobStatus {
        Queued = "queued" => "Queued",
        Running = "running" => "Running",
        Done = "done" => "Done",
        Failed = "failed" => "Failed",
    }
}

crate::text_enum! {
    /// What a job makes (the only kind so far).
    pub enum JobKind {
        EvidenceBundle = "evidence_bundle" => "Evidence bundle",
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub org_id: OrgId,
    pub params: sqlx::types::Json<Params>,
    pub requested_by_name: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub status: JobStatus,
    pub attempts: i32,
    pub progress_done: i64,
    pub progress_total: i64,
    pub progress_note: String,
    pub result_size: Option<i64>,
    pub result_sha256: Option<Vec<u8>>,
    pub manifest_sha256: Option<Vec<u8>>,
    pub error: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Job {
    pub fn percent(&self) -> i64 {
        if self.progress_total <= 0 { 0 } else { (self.progress_done * 100 / self.progress_total).clamp(0, 100) }
    }
    pub fn is_pending(&self) -> bool {
        matches!(self.status, JobStatus::Queued | JobStatus::Running)
    }
    pub fn sha_hex(&self) -> String {
        self.result_sha256.as_deref().map(hex::encode).unwrap_or_default()
    }
    pub fn manifest_hex(&self) -> String {
        self.manifest_sha256.as_deref().map(hex::encode).unwrap_or_default()
    }
    /// The download's file name.
    pub fn filename(&self) -> String {
        format!("evidence-bundle-{}.zip", self.params.as_of.format("%Y%m%d"))
    }
}

/// The organisation's jobs of `kind` (the newest 50), or the one job `only`.
async fn select(db: &PgPool, org_id: OrgId, kind: Option<JobKind>, only: Option<JobId>) -> AppResult<Vec<Job>> {
    Ok(sqlx::query_as!(
        Job,
        r#"SELECT j.id AS "id: JobId", j.org_id AS "org_id: OrgId", j.params AS "params: sqlx::types::Json<Params>", u.name AS "requested_by_name?",
                j.requested_at, j.status AS "status: JobStatus", j.attempts, j.progress_done, j.progress_total,
                j.progress_note, j.result_size, j.result_sha256, j.manifest_sha256, j.error, j.finished_at
           FROM jobs j LEFT JOIN users u ON u.id = j.requested_by
          WHERE j.org_id = $1 AND ($2::text IS NULL OR j.kind = $2) AND ($3::uuid IS NULL OR j.id = $3)
          ORDER BY j.requested_at DESC LIMIT 50"#,
        org_id.0,
        kind.map(|k| k.as_str()),
        only.map(|j| j.0),
    )
    .fetch_all(db)
    .await?)
}

pub async fn list(db: &PgPool, org_id: OrgId) -> AppResult<Vec<Job>> {
    select(db, org_id, Some(JobKind::EvidenceBundle), None).await
}

pub async fn get(db: &PgPool, org_id: OrgId, id: JobId) -> AppResult<Job> {
    select(db, org_id, None, Some(id)).await?.into_iter().next().ok_or(AppError::NotFound)
}

/// The stored ZIP of a finished job.
pub async fn result_key(db: &PgPool, org_id: OrgId, id: JobId) -> AppResult<Option<String>> {
    Ok(sqlx::query_scalar!("SELECT result_key FROM jobs WHERE org_id = $1 AND id = $2 AND status = $3", org_id.0, id.0, JobStatus::Done.as_str())
        .fetch_optional(db)
        .await?
        .flatten())
}

pub async fn enqueue(conn: &mut PgConnection, actor: &Actor, now: DateTime<Utc>, org_id: OrgId, params: &Params) -> AppResult<JobId> {
    let id = JobId::new();
    sqlx::query!(
        "INSERT INTO jobs (id, org_id, kind, params, requested_by, requested_at) VALUES ($1, $2, $3, $4, $5, $6)",
        id.0,
        org_id.0,
        JobKind::EvidenceBundle.as_str(),
        sqlx::types::Json(params) as _,
        actor.user_id.map(|u| u.0),
        now,
    )
    .execute(&mut *conn)
    .await?;
    audit::record(conn, actor, now, "bundle.requested", "bundle", id, json!({"as_of": params.as_of, "period_from": params.period_from, "period_to": params.period_to}))
        .await?;
    Ok(id)
}

/// A claimed job: which one, and which attempt this process runs.
#[derive(Debug, Clone)]
pub struct Claim {
    pub id: JobId,
    pub org_id: OrgId,
    pub attempt: i32,
    pub params: Params,
}

/// Takes the oldest job that is queued, or running with a stopped heartbeat.
/// `stale_after`: how old a running job's heartbeat may be before it is taken over.
pub async fn claim(db: &PgPool, worker: &str, now: DateTime<Utc>, stale_after: Duration) -> anyhow::Result<Option<Claim>> {
    // Jobs whose process died too often are given up, in one transaction with their audit rows.
    let mut tx = db.begin().await?;
    let given_up = sqlx::query!(
        r#"UPDATE jobs SET status = 'failed', finished_at = $1,
                error = 'The bundle could not be made: the process making it stopped ' || attempts || ' times. It was logged; try again, and tell your administrator if it fails again.'
          WHERE status = 'running' AND heartbeat_at < $2 AND attempts >= $3
          RETURNING id AS "id: JobId", org_id AS "org_id: OrgId""#,
        now,
        now - stale_after,
        MAX_ATTEMPTS,
    )
    .fetch_all(&mut *tx)
    .await?;
    for job in given_up {
        let (id, org_id) = (job.id, job.org_id);
        tracing::error!(job = %id, "bundle job given up after {MAX_ATTEMPTS} attempts");
        audit::record(&mut tx, &Actor::system(Some(org_id), "evidence bundle"), now, "bundle.failed", "bundle", id, json!({"error": "gave up", "attempts": MAX_ATTEMPTS})).await?;
    }
    tx.commit().await?;
    let row = sqlx::query!(
        r#"UPDATE jobs SET status = 'running', attempts = attempts + 1, worker = $1, heartbeat_at = $2, progress_done = 0, progress_note = 'Starting'
          WHERE id = (SELECT id FROM jobs WHERE status = 'queued' OR (status = 'running' AND heartbeat_at < $3)
                       ORDER BY requested_at FOR UPDATE SKIP LOCKED LIMIT 1)
          RETURNING id AS "id: JobId", org_id AS "org_id: OrgId", attempts, params AS "params: sqlx::types::Json<Params>""#,
        worker,
        now,
        now - stale_after,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Claim { id: r.id, org_id: r.org_id, attempt: r.attempts, params: r.params.0 }))
}

/// Writes progress and the heartbeat; false when the job is no longer this attempt's.
async fn beat(db: &PgPool, c: &Claim, now: DateTime<Utc>, p: &Progress) -> anyhow::Result<bool> {
    let note = p.note.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let n = sqlx::query!(
        "UPDATE jobs SET heartbeat_at = $3, progress_done = $4, progress_total = $5, progress_note = $6
          WHERE id = $1 AND attempts = $2 AND status = 'running'",
        c.id.0,
        c.attempt,
        now,
        p.done.load(Ordering::Relaxed) as i64,
        p.total.load(Ordering::Relaxed) as i64,
        note,
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(n == 1)
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The store key of one attempt's ZIP.
fn key_for(c: &Claim) -> String {
    format!("bundles/{}/{}-{}.zip", c.org_id, c.id, c.attempt)
}

/// Runs one claimed job to its end: done (with the ZIP in the evidence
/// store and an audit row) or failed (with a message for the user).
pub async fn run(state: &AppState, c: Claim) -> anyhow::Result<()> {
    let progress = Arc::new(Progress { pause: state.config.export_step_pause, ..Default::default() });
    let key = key_for(&c);
    let beats = {
        let (db, clock, c, p) = (state.db.clone(), state.clock.clone(), c.clone(), progress.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(BEAT_EVERY).await;
                match beat(&db, &c, clock.now(), &p).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = %c.id, attempt = c.attempt, "bundle job taken over by another process; stopping");
                        p.cancelled.store(true, Ordering::Relaxed);
                        return;
                    }
                    Err(e) => tracing::warn!(job = %c.id, "bundle job heartbeat failed: {e:#}"),
                }
            }
        })
    };
    // The heartbeat stops with this function, even if the build panics.
    let _beating = AbortOnDrop(beats);
    let writer = state.store.writer(&key);
    let built = build::build(&state.db, &state.store, c.org_id, &c.params, state.clock.now(), &progress, writer).await;
    drop(_beating);
    let now = state.clock.now();
    match built {
        Ok(b) => {
            let mut tx = state.db.begin().await?;
            let n = sqlx::query!(
                "UPDATE jobs SET status = 'done', finished_at = $3, result_key = $4, result_size = $5, result_sha256 = $6, manifest_sha256 = $7,
                        progress_done = progress_total, progress_note = 'Ready', heartbeat_at = $3
                  WHERE id = $1 AND attempts = $2 AND status = 'running'",
                c.id.0,
                c.attempt,
                now,
                key,
                b.size as i64,
                b.sha256,
                b.manifest_sha256,
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                // Another process took the job over meanwhile: its ZIP counts.
                drop(tx);
                state.store.discard(&key).await;
                return Ok(());
            }
            let actor = Actor::system(Some(c.org_id), "evidence bundle");
            audit::record(
                &mut tx,
                &actor,
                now,
                "bundle.built",
                "bundle",
                c.id,
                json!({"size": b.size, "files": b.files, "evidence_files": b.evidence_files, "sha256": hex::encode(&b.sha256), "manifest_sha256": hex::encode(&b.manifest_sha256), "attempt": c.attempt}),
            )
            .await?;
            tx.commit().await?;
            tracing::info!(job = %c.id, size = b.size, files = b.files, "evidence bundle built");
        }
        Err(e) => {
            state.store.discard(&key).await;
            if progress.cancelled.load(Ordering::Relaxed) {
                return Ok(());
            }
            tracing::error!(job = %c.id, "evidence bundle failed: {e:#}");
            let message = user_message(&e);
            let mut tx = state.db.begin().await?;
            let n = sqlx::query!(
                "UPDATE jobs SET status = 'failed', finished_at = $3, error = $4 WHERE id = $1 AND attempts = $2 AND status = 'running'",
                c.id.0,
                c.attempt,
                now,
                message,
            )
            .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                audit::record(&mut tx, &Actor::system(Some(c.org_id), "evidence bundle"), now, "bundle.failed", "bundle", c.id, json!({"error": message})).await?;
                tx.commit().await?;
            }
        }
    }
    Ok(())
}

/// What the user is told when a bundle fails: the integrity problem itself
/// (that is evidence too), anything else in general words.
fn user_message(e: &anyhow::Error) -> String {
    let text = format!("{e}");
    if text.contains("no longer matches the SHA-256") {
        format!("The bundle was not made: {text}. Check the evidence store.")
    } else {
        "The bundle could not be made because of an internal error. It was logged; try again, and tell your administrator if it fails again.".into()
    }
}

/// Claims and runs one job, if there is one. Returns the job's id.
pub async fn run_next(state: &AppState, worker: &str) -> anyhow::Result<Option<JobId>> {
    let Some(c) = claim(&state.db, worker, state.clock.now(), state.config.job_stale_after).await? else { return Ok(None) };
    let id = c.id;
    run(state, c).await?;
    Ok(Some(id))
}

/// Wakes this process's worker at once (a job was just queued here); other
/// processes' workers find it at their next look.
static WAKE: std::sync::LazyLock<tokio::sync::Notify> = std::sync::LazyLock::new(tokio::sync::Notify::new);

pub fn wake() {
    WAKE.notify_one();
}

/// The worker every app process runs: looks for work every two seconds, or
/// at once when woken.
pub fn spawn_worker(state: AppState) {
    let worker = format!("{}-{}", std::process::id(), Uuid::new_v4().simple());
    tokio::spawn(async move {
        loop {
            // Each job runs in a task of its own: a panic ends that job (its
            // heartbeat stops, so it is retried or given up), not the worker.
            let (state2, worker2) = (state.clone(), worker.clone());
            match tokio::spawn(async move { run_next(&state2, &worker2).await }).await {
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::error!("bundle worker: {e:#}"),
                Err(e) => tracing::error!("bundle job panicked: {e}"),
            }
            tokio::select! {
                _ = WAKE.notified() => {}
                _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
            }
        }
    });
}
