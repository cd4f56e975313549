//! Reminders and digests, sent through a transactional outbox in
//! PostgreSQL. Every app process runs the worker (`spawn_worker`):
//!
//! - every few minutes it plans each organisation's messages: a digest for
//!   each member whose digest is due (once a day, or once an ISO week at the
//!   first planning of the week) and
//!   a reminder for each thing a member must do that falls due within
//!   three days. Each message has a key (member and day or week, or item and
//!   due date), so planning twice, in one process or two, writes it once;
//! - every two seconds it sends what is queued. Without SMTP the messages
//!   are held in the outbox, where owners read them (Members → Outbox).
//!   A failed send is retried with back-off; a claim is committed before
//!   sending, so no message goes out twice.
//!
//! Every message ends with the member's own link to stop them, which also
//! goes in the List-Unsubscribe header for one-click unsubscribe.
pub mod links;
pub mod model;
pub mod routes;

use crate::auth::policy::Role;
use crate::error::AppResult;
use crate::ids::OrgId;
use crate::state::AppState;
use chrono::Duration;
use model::{Digest, Kind, NewMessage, Recipient};
use std::collections::BTreeSet;

pub fn routes(r: crate::web::routes::Routes) -> crate::web::routes::Routes {
    links::routes(routes::routes(r))
}

/// How many messages one process claims at a time.
const SEND_BATCH: i64 = 100;

/// How often each process plans every organisation's messages.
const PLAN_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Plans one organisation's messages for today; returns how many were new.
pub async fn plan_org(state: &AppState, org_id: OrgId) -> AppResult<u64> {
    let now = state.clock.now();
    let today = now.date_naive();
    let mut tx = state.db.begin().await?;
    model::ensure_settings(&mut tx, org_id, now).await?;
    let recipients = model::recipients(&mut tx, org_id).await?;
    tx.commit().await?;
    let mut messages = Vec::new();
    // Digests whose key (member and day, or member and week) is not taken yet:
    // a weekly digest goes out at the first planning of the week.
    let due_digests: Vec<(&Recipient, String)> = recipients.iter().filter_map(|r| Some((r, model::digest_key(r.user_id, r.digest, today)?))).collect();
    let keys: Vec<String> = due_digests.iter().map(|(_, k)| k.clone()).collect();
    let taken: BTreeSet<String> = sqlx::query_scalar!("SELECT dedupe_key FROM outbox WHERE org_id = $1 AND dedupe_key = ANY($2)", org_id.0, &keys)
        .fetch_all(&state.db)
        .await?
        .into_iter()
        .collect();
    let digests: Vec<_> = due_digests.into_iter().filter(|(_, k)| !taken.contains(k)).collect();
    if !digests.is_empty() {
        let e = crate::gaps::evaluation(&state.db, &state.kept, org_id, today).await?;
        let verdict = crate::gaps::board::verdict(&e.gaps);
        let org_name = sqlx::query_scalar!("SELECT name FROM organisations WHERE id = $1", org_id.0).fetch_one(&state.db).await?;
        for (r, key) in digests {
            if let Some(body) = digest_body(state, org_id, r, &verdict, now).await? {
                let period = if r.digest == Digest::Daily { "today" } else { "this week" };
                messages.push(NewMessage {
                    user_id: Some(r.user_id),
                    campaign: None,
                    to_email: r.email.clone(),
                    kind: Kind::Digest,
                    dedupe_key: key,
                    subject: format!("{org_name}: leadership security {period}"),
                    body: with_footer(state, r, &body),
                });
            }
        }
    }
    // Reminders.
    let reminded: BTreeSet<_> = recipients.iter().filter(|r| r.reminders).map(|r| r.user_id).collect();
    if !reminded.is_empty() {
        let mut conn = state.db.acquire().await?;
        for d in model::due_between(&mut conn, org_id, today, today + Duration::days(model::REMIND_DAYS)).await? {
            let Some(r) = recipients.iter().find(|r| r.user_id == d.user_id && r.reminders) else { continue };
            let when = if d.due_on == today { "today".to_string() } else { format!("on {}", d.due_on) };
            let body = format!(
                "Hello {},\n\nA {} of yours falls due {when}:\n\n  {}\n  {}\n\nIt is listed on your home page in Mandate too.\n",
                r.name,
                d.kind,
                d.title,
                state.config.link(&d.href)
            );
            messages.push(NewMessage {
                user_id: Some(r.user_id),
                campaign: None,
                to_email: r.email.clone(),
                kind: Kind::Reminder,
                dedupe_key: format!("reminder:{}:{}:{}:{}", d.kind, d.id, d.due_on, r.user_id),
                subject: format!("Due {when}: {}", d.title),
                body: with_footer(state, r, &body),
            });
        }
    }
    if messages.is_empty() {
        return Ok(0);
    }
    let mut tx = state.db.begin().await?;
    let n = model::enqueue(&mut tx, org_id, now, &messages).await?;
    if n > 0 {
        let actor = crate::audit::Actor::system(Some(org_id), "Mandate (reminders and digests)");
        crate::audit::record(&mut tx, &actor, now, "notify.queued", "organisation", org_id, serde_json::json!({"messages": n})).await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// A member's digest, or none when it would say nothing (a daily digest
/// with no news). Executives: the verdict and what only they can do;
/// owners and ISMS leads: the verdict, new, reopened and overdue findings
/// and what falls due within a week; others: what they own.
async fn digest_body(state: &AppState, org_id: OrgId, r: &Recipient, verdict: &str, now: chrono::DateTime<chrono::Utc>) -> AppResult<Option<String>> {
    let today = now.date_naive();
    let link = |h: &str| state.config.link(h);
    let mut out = format!("Hello {},\n\n{verdict}\n", r.name);
    let mut news = false;
    if r.role == Role::Executive {
        let mine = crate::gaps::model::mine(&state.db, org_id, r.user_id, today).await?;
        let drafts = crate::gaps::model::to_sign(&state.db, org_id, r.user_id, today).await?;
        let tasks = crate::gaps::board::tasks(mine.as_ref(), &drafts, false, today);
        if tasks.is_empty() {
            out.push_str("\nNothing waits for you this week.\n");
        } else {
            out.push_str("\nWhat only you can do:\n");
            for t in &tasks {
                out.push_str(&format!("- {} {}{}: {}\n", t.verb, t.title, t.note, link(&t.href)));
            }
        }
        news = true;
    } else if crate::auth::policy::allows(r.role, crate::auth::policy::Action::ManageFindings) {
        let since = now - if r.digest == Digest::Weekly { Duration::days(7) } else { Duration::days(1) };
        let mut conn = state.db.acquire().await?;
        let findings = model::finding_news(&mut conn, org_id, since, today).await?;
        if !findings.is_empty() {
            out.push_str("\nFindings:\n");
            for f in &findings {
                out.push_str(&format!("- {}: {} ({})\n", f.what, f.title, link(&f.href)));
            }
            news = true;
        }
        let due = crate::home::queue::due_by(&state.db, org_id, today + Duration::days(7)).await?;
        if !due.is_empty() {
            out.push_str("\nDue within a week:\n");
            for i in &due.items {
                out.push_str(&format!("- {}: {}{} ({})\n", i.kind, i.title, i.due_on.map(|d| format!(", due {d}")).unwrap_or_default(), link(&i.href)));
            }
            if due.more() > 0 {
                out.push_str(&format!("- and {} more: {}\n", due.more(), link("/dashboard")));
            }
            news = true;
        }
    } else {
        let owned = crate::home::queue::owned(&state.db, org_id, r.user_id, r.role).await?;
        if !owned.is_empty() {
            out.push_str("\nYours to do:\n");
            for i in &owned.items {
                out.push_str(&format!("- {}: {}{} ({})\n", i.kind, i.title, i.due_on.map(|d| format!(", due {d}")).unwrap_or_default(), link(&i.href)));
            }
            news = true;
        }
    }
    out.push_str(&format!("\nOpen Mandate: {}\n", link("/dashboard")));
    Ok(news.then_some(out))
}

/// Every message ends with where to change how often, and how to stop.
fn with_footer(state: &AppState, r: &Recipient, body: &str) -> String {
    format!(
        "{body}\n--\nYou get this as a member of the organisation in Mandate. Change how often: {}\nStop these e-mails: {}\n",
        state.config.link("/settings/notifications"),
        state.config.link(&format!("/unsubscribe/{}", r.unsubscribe_token))
    )
}

/// Sends (or, without SMTP, holds) what is queued, up to a batch; returns
/// how many went out. Each message is claimed just before it is sent.
pub async fn send_due(state: &AppState) -> AppResult<usize> {
    let Some(mailer) = state.mailer.clone() else {
        model::claim(&state.db, state.clock.now(), false, SEND_BATCH).await?;
        return Ok(0);
    };
    let mut sent = 0;
    for _ in 0..SEND_BATCH {
        let Some(m) = model::claim(&state.db, state.clock.now(), true, 1).await?.into_iter().next() else { break };
        let unsubscribe = m.unsubscribe_token.as_ref().map(|t| state.config.link(&format!("/unsubscribe/{t}/one-click")));
        let result = mailer.send_with_unsubscribe(&m.to_email, &m.subject, &m.body, unsubscribe.as_deref()).await;
        if result.is_ok() {
            sent += 1;
        }
        let error = result.err().map(|e| {
            tracing::warn!(target: "mandate::mail", org = %m.org_id, "could not send \"{}\": {e:#}", m.subject);
            crate::mail::failure_words(&e)
        });
        // A failure to record the outcome leaves the claim to age into
        // "uncertain" (never sent twice); the batch goes on.
        if let Err(e) = model::finish(&state.db, m.id, state.clock.now(), error).await {
            tracing::error!("recording a sent message failed: {e:?}");
        }
    }
    Ok(sent)
}

/// Plans every organisation's messages.
pub async fn plan_all(state: &AppState) -> AppResult<u64> {
    let orgs = sqlx::query_scalar!(r#"SELECT id AS "id: OrgId" FROM organisations ORDER BY id"#).fetch_all(&state.db).await?;
    let mut n = 0;
    for org in orgs {
        match plan_org(state, org).await {
            Ok(k) => n += k,
            Err(e) => tracing::error!(org = %org, "planning reminders and digests: {e:#}"),
        }
    }
    Ok(n)
}

/// The worker every app process runs.
pub fn spawn_worker(state: AppState) {
    tokio::spawn(async move {
        let mut last_plan: Option<std::time::Instant> = None;
        loop {
            if last_plan.is_none_or(|t| t.elapsed() >= PLAN_EVERY) {
                last_plan = Some(std::time::Instant::now());
                let s = state.clone();
                if let Err(e) = tokio::spawn(async move { plan_all(&s).await }).await {
                    tracing::error!("planning reminders and digests panicked: {e}");
                }
            }
            let s = state.clone();
            match tokio::spawn(async move { send_due(&s).await }).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!("sending reminders and digests: {e:#}"),
                Err(e) => tracing::error!("sending reminders and digests panicked: {e}"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    });
}
