//! Reminders and digests through the outbox, delivered to a real SMTP
//! server (aiosmtpd from PyPI, which scripts/test installs) and read back
//! from its mailbox; held in the outbox without SMTP; retried, never twice.
use crate::support::{Smtp, TestApp};
use chrono::Duration;
use mandate::auth::policy::Role;
use mandate::config::SmtpConfig;
use mandate::ids::OrgId;
use sqlx::PgPool;
use uuid::Uuid;

struct World {
    app: TestApp,
    org: OrgId,
    owner: Uuid,
    ceo_user: Uuid,
    sam: Uuid,
}

/// Acme on Monday 2 November 2026: an owner, an ISMS lead, a CEO on the
/// roster with an account and an ask due tomorrow, and a contributor who
/// owns a corrective action due in two days.
async fn world(app: TestApp) -> World {
    let owner = app.user("owner@acme.example", "Olu Owner").await;
    let org = app.org("Acme", owner).await;
    let lead = app.user("lead@acme.example", "Lee Lead").await;
    app.member(org, lead, Role::IsmsLead).await;
    let ceo_user = app.user("ceo@acme.example", "Cleo Chief").await;
    app.member(org, ceo_user, Role::Executive).await;
    let ceo = app.person(org, "Cleo Chief", "ceo@acme.example", true).await;
    app.link(org, ceo, ceo_user).await;
    let sam = app.user("sam@acme.example", "Sam Contributor").await;
    app.member(org, sam, Role::Contributor).await;
    let today = app.state.clock.now().date_naive();
    app.ask(org, ceo, "Approve the audit budget", Some(&(today + Duration::days(1)).to_string())).await;
    mandate::findings::sync_org(&app.state, org).await.unwrap();
    let f = mandate::findings::model::list(app.db(), org).await.unwrap().into_iter().find(|f| f.rule == "reporting_unassigned").unwrap();
    sqlx::query("UPDATE findings SET owner_id = $2, due_on = $3 WHERE id = $1").bind(f.id.0).bind(sam).bind(today + Duration::days(2)).execute(app.db()).await.unwrap();
    World { app, org, owner, ceo_user, sam }
}

async fn run(app: &TestApp, org: OrgId) -> (u64, usize) {
    let planned = mandate::notify::plan_org(&app.state, org).await.unwrap();
    let mut sent = 0;
    loop {
        let n = mandate::notify::send_due(&app.state).await.unwrap();
        if n == 0 {
            break;
        }
        sent += n;
    }
    (planned, sent)
}

#[sqlx::test]
async fn digests_and_reminders_reach_each_member_once_through_a_real_smtp_server(db: PgPool) {
    let (smtp, app) = with_smtp(db).await;
    let w = world(app).await;
    let app = &w.app;
    assert_eq!(app.state.clock.now().date_naive().format("%A").to_string(), "Monday");

    let (planned, sent) = run(app, w.org).await;
    assert_eq!(planned as usize, sent, "everything planned went out");
    // The executive's weekly digest: the verdict and what only they can do.
    let ceo = smtp.to("ceo@acme.example");
    let digest = ceo.iter().find(|m| m.contains("Subject: Acme: leadership security this week")).expect("the CEO's weekly digest");
    assert!(digest.contains("Today an auditor would raise"), "{digest}");
    assert!(digest.contains("What only you can do:") && digest.contains("Answer Approve the audit budget"), "{digest}");
    assert!(digest.contains("List-Unsubscribe: <http://localhost:8080/unsubscribe/") && digest.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{digest}");
    // And a reminder of the ask due tomorrow.
    assert!(ceo.iter().any(|m| m.contains("Subject: Due on") && m.contains("Approve the audit budget")), "{ceo:?}");
    // The ISMS lead's daily digest: new findings and what falls due this week.
    let lead = smtp.to("lead@acme.example");
    assert_eq!(lead.len(), 1, "{lead:?}");
    assert!(lead[0].contains("Findings:") && lead[0].contains("- New: ") && lead[0].contains("Due within a week:"), "{}", lead[0]);
    // The contributor: no digest by default, a reminder of the corrective action they own.
    let sam = smtp.to("sam@acme.example");
    assert_eq!(sam.len(), 1, "{sam:?}");
    assert!(sam[0].contains("corrective action of yours falls due"), "{}", sam[0]);

    // Planned again, by this process or another: nothing is written or sent twice.
    let before = smtp.messages().len();
    assert_eq!(run(app, w.org).await, (0, 0));
    assert_eq!(smtp.messages().len(), before);

    // The CEO stops them with one click from their mail client (no form token).
    let link = digest.lines().find_map(|l| l.strip_prefix("List-Unsubscribe: <")).unwrap().trim_end_matches('>').to_string();
    let path = url::Url::parse(&link).unwrap().path().to_string();
    let res = app.client().post_raw(&path, &[("List-Unsubscribe", "One-Click")]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let settings = mandate::notify::model::settings(app.db(), w.org, mandate::ids::UserId(w.ceo_user), Role::Executive).await.unwrap();
    assert_eq!((settings.digest, settings.reminders), (mandate::notify::model::Digest::Off, false));

    // A week later: the CEO gets nothing; the ISMS lead their daily digest again.
    app.clock.advance(Duration::days(7));
    run(app, w.org).await;
    assert_eq!(smtp.to("ceo@acme.example").len(), ceo.len(), "unsubscribed");
    assert_eq!(smtp.to("lead@acme.example").len(), 2);
    let history = mandate::audit::history(app.db(), w.org, "membership", w.ceo_user, 10).await.unwrap();
    assert!(history.iter().any(|h| h.action == "notify.settings_changed"), "the stop is in the audit log");
    let _ = (w.owner, w.sam);
}

#[sqlx::test]
async fn reminded_links_replace_those_still_waiting_and_a_campaigns_due_day_is_a_reminder(db: PgPool) {
    let (smtp, app) = with_smtp(db).await;
    let w = world(app).await;
    let app = &w.app;
    // Sam is in the directory with his account; a training campaign is due in two days.
    let sam = app.person(w.org, "Sam Contributor", "sam@acme.example", false).await;
    app.link(w.org, sam, w.sam).await;
    app.person(w.org, "Tess Temp", "tess@acme.example", false).await;
    let module = app.module(w.org, "Security awareness").await;
    let mut c = app.signed_in(w.owner, Some(w.org)).await;
    let due = (app.state.clock.now().date_naive() + Duration::days(2)).to_string();
    let first = c.post(&format!("/training/modules/{module}/campaigns"), &[("send", "on"), ("due_on", due.as_str())]).await;
    assert!(first.body.contains("e-mails are on the way"), "{}", first.body);
    let campaign: Uuid = sqlx::query_scalar("SELECT id FROM training_campaigns WHERE org_id = $1").bind(w.org).fetch_one(app.db()).await.unwrap();
    let asked: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE training_campaign_id = $1").bind(campaign).fetch_one(app.db()).await.unwrap();

    // Reminded before the first e-mails went out: only the new links are sent, and they work.
    let again = c.post(&format!("/training/campaigns/{campaign}/reminders"), &[("send", "on")]).await;
    assert_eq!(again.status, 200);
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE training_campaign_id = $1").bind(campaign).fetch_one(app.db()).await.unwrap();
    assert_eq!(queued, asked, "the e-mails of the replaced links are gone");
    while mandate::notify::send_due(&app.state).await.unwrap() > 0 {}
    let tess = smtp.to("tess@acme.example");
    assert_eq!(tess.len(), 1, "{tess:?}");
    let text = tess[0].replace("=\r\n", "").replace("=\n", "");
    let start = text.find("/training-link/").unwrap();
    let token: String = text[start + "/training-link/".len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    assert_eq!(app.client().get(&format!("/training-link/{token}")).await.status, 200, "the e-mailed link is the live one");

    // Sam, who has an account, is reminded of the campaign's due day; Tess, who has none, is not a member.
    let reminded = || smtp.to("sam@acme.example").iter().any(|m| m.contains("Subject: Due on") && m.contains("Security awareness"));
    assert!(!reminded());
    run(app, w.org).await;
    assert!(reminded(), "{:?}", smtp.to("sam@acme.example"));
}

#[sqlx::test]
async fn without_smtp_messages_wait_in_the_outbox_for_owners(db: PgPool) {
    let app = TestApp::new(db).await;
    let w = world(app).await;
    let app = &w.app;
    let (planned, sent) = run(app, w.org).await;
    assert!(planned > 0);
    assert_eq!(sent, 0);
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'held'").fetch_one(app.db()).await.unwrap();
    assert_eq!(held as u64, planned, "nothing is lost");
    let mut o = app.signed_in(w.owner, Some(w.org)).await;
    let page = o.get("/outbox").await;
    assert!(page.body.contains("leadership security this week") && page.body.contains("No mail server is set up"), "{}", page.body);
    let token = mandate::notify::model::settings(app.db(), w.org, mandate::ids::UserId(w.ceo_user), Role::Executive).await.unwrap().unsubscribe_token;
    assert!(!page.body.contains(&token), "an owner never reads a member's own unsubscribe link");
    // Members set their own rhythm; reading the settings page writes nothing.
    let mut s = app.signed_in(w.sam, Some(w.org)).await;
    let count = || async { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM notification_settings").fetch_one(app.db()).await.unwrap() };
    sqlx::query("DELETE FROM notification_settings WHERE user_id = $1").bind(w.sam).execute(app.db()).await.unwrap();
    let before = count().await;
    assert!(s.get("/settings/notifications").await.has("#digest-off[checked]"), "a contributor's default: no digest");
    assert_eq!(count().await, before, "a GET changes nothing");
    assert_eq!(s.post("/settings/notifications", &[("digest", "daily")]).await.status, 303);
    let mine = mandate::notify::model::settings(app.db(), w.org, mandate::ids::UserId(w.sam), Role::Contributor).await.unwrap();
    assert_eq!((mine.digest, mine.reminders), (mandate::notify::model::Digest::Daily, false));
}

#[sqlx::test]
async fn a_failed_send_is_retried_later_and_an_interrupted_one_never_again(db: PgPool) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = TestApp::with_config(db, |c| c.smtp = Some(SmtpConfig { url: format!("smtp://127.0.0.1:{closed}"), from: "grc@acme.example".into() })).await;
    let w = world(app).await;
    let app = &w.app;
    let planned = mandate::notify::plan_org(&app.state, w.org).await.unwrap();
    assert_eq!(mandate::notify::send_due(&app.state).await.unwrap(), 0);
    let rows: Vec<(String, i32, Option<String>, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT status, attempts, last_error, next_attempt_at FROM outbox").fetch_all(app.db()).await.unwrap();
    assert_eq!(rows.len() as u64, planned);
    let now = app.state.clock.now();
    for (status, attempts, error, next) in &rows {
        assert_eq!((status.as_str(), *attempts), ("queued", 1));
        assert!(error.is_some() && *next > now, "retried later, not at once");
    }
    // Not yet due again: nothing is tried.
    assert_eq!(mandate::notify::model::claim(app.db(), now, true, 100).await.unwrap().len(), 0);
    // A send that never finished (its process died mid-send) is not sent again.
    sqlx::query("UPDATE outbox SET status = 'sending', claimed_at = $1 WHERE id = (SELECT id FROM outbox LIMIT 1)").bind(now - Duration::minutes(30)).execute(app.db()).await.unwrap();
    app.clock.advance(Duration::minutes(5));
    let claimed = mandate::notify::model::claim(app.db(), app.state.clock.now(), true, 100).await.unwrap();
    assert_eq!(claimed.len() as u64, planned - 1, "the interrupted one is left out");
    let uncertain: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'uncertain'").fetch_one(app.db()).await.unwrap();
    assert_eq!(uncertain, 1);
}

/// Acme with an owner and 5,000 people in its directory.
async fn five_thousand_people(app: &TestApp) -> (Uuid, OrgId) {
    let owner = app.user("owner@acme.example", "Olu Owner").await;
    let org = app.org("Acme", owner).await;
    sqlx::query(
        "INSERT INTO people (id, org_id, name, email, kind, created_at, updated_at)
         SELECT gen_random_uuid(), $1, 'Person ' || n, 'person' || n || '@acme.example', 'employee', $2, $2 FROM generate_series(1, 5000) n",
    )
    .bind(org)
    .bind(app.state.clock.now())
    .execute(app.db())
    .await
    .unwrap();
    (owner, org)
}

/// The page of 5,000 links just issued (shown in part, e-mailed in the
/// background): the address of the form that downloads them all.
fn five_thousand_links(res: &crate::support::Resp) -> String {
    assert_eq!(res.status, 200);
    assert!(res.body.contains("These 5000 personal links are shown only now") && res.body.contains("5000 e-mails are on the way"), "{}", &res.body[..2000.min(res.body.len())]);
    assert_eq!(res.texts("main table tbody tr").len(), 50, "the first 50 on the page");
    assert!(res.body.len() < 150_000, "{} bytes", res.body.len());
    res.html().select(&scraper::Selector::parse("form[action^='/link-exports/']").unwrap()).next().unwrap().value().attr("action").unwrap().to_string()
}

/// A mail server, and Mandate sending through it.
async fn with_smtp(db: PgPool) -> (Smtp, TestApp) {
    let smtp = Smtp::start().await;
    let app = TestApp::with_config(db, |c| c.smtp = Some(SmtpConfig { url: format!("smtp://127.0.0.1:{}", smtp.port), from: "Mandate <grc@acme.example>".into() })).await;
    (smtp, app)
}

#[sqlx::test]
async fn a_training_campaign_to_five_thousand_people_mails_their_links_in_the_background(db: PgPool) {
    let (smtp, app) = with_smtp(db).await;
    let (owner, org) = five_thousand_people(&app).await;
    let module = app.module(org, "Security awareness").await;
    let mut c = app.signed_in(owner, Some(org)).await;

    let res = c.post(&format!("/training/modules/{module}/campaigns"), &[("send", "on"), ("due_on", "2026-12-01")]).await;
    let form = five_thousand_links(&res);
    let csv = c.post(&form, &[]).await;
    assert!(csv.header("content-disposition").contains("training-links-security-awareness-20261102.csv"), "{}", csv.header("content-disposition"));
    assert_eq!(csv.body.lines().count(), 5001);
    assert!(csv.body.lines().nth(1).unwrap().contains("/training-link/"));

    let campaign: Uuid = sqlx::query_scalar("SELECT id FROM training_campaigns WHERE org_id = $1").bind(org).fetch_one(app.db()).await.unwrap();
    let page = c.get(&format!("/training/campaigns/{campaign}")).await;
    assert!(page.texts("#mail-progress").concat().contains("0 of 5000 personal links e-mailed, 5000 on the way"), "{}", page.body);
    assert!(page.texts("#progress").concat().contains("0 of 5000 people done. 5000 to go."));
    assert_eq!(page.texts("#missing-h + table tbody tr").len(), 200, "the first 200 by name; the CSV has everyone");
    assert!(page.body.len() < 150_000, "{} bytes", page.body.len());
    assert_eq!(mandate::notify::send_due(&app.state).await.unwrap(), 100, "one batch");
    let progress = c.get(&format!("/training/campaigns/{campaign}")).await.texts("#mail-progress").concat();
    assert!(progress.contains("100 of 5000 personal links e-mailed, 4900 on the way"), "{progress}");
    let mail = smtp.messages().remove(0);
    assert!(mail.contains("Training to complete: Security awareness") && mail.contains("by 2026-12-01") && mail.contains("/training-link/"), "{mail}");

    // Someone follows the link from their e-mail and confirms.
    let text = mail.replace("=\r\n", "").replace("=\n", "");
    let start = text.find("/training-link/").unwrap();
    let token: String = text[start + "/training-link/".len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let done = app.client().post(&format!("/training-link/{token}"), &[("completed_on", "2026-11-02")]).await;
    assert_eq!(done.status, 200, "{token} in {text}");
    let page = c.get(&format!("/training/campaigns/{campaign}")).await;
    assert!(page.texts("#progress").concat().contains("1 of 5000 people done. 4999 to go."));
    // An owner reading the outbox never sees a person's own link.
    let outbox = c.get("/outbox").await;
    assert!(outbox.texts("main pre").join("\n").contains("[the recipient's personal link]") && !outbox.body.contains("/training-link/"));
}

#[sqlx::test]
async fn a_campaign_to_five_thousand_people_is_one_action_with_its_progress_shown(db: PgPool) {
    use mandate::policies::versions::model::{Bump, PolicyKind};
    let (smtp, app) = with_smtp(db).await;
    let (owner, org) = five_thousand_people(&app).await;
    let policy = app.policy(org, "Acceptable use", PolicyKind::AcceptableUse, false).await;
    let v = app.draft(org, policy, "# Use", None, Bump::Major).await;
    app.sign(org, v, owner, true).await;
    let mut c = app.signed_in(owner, Some(org)).await;

    // One action: 5,000 personal links, their e-mails queued, the page small.
    let res = c.post(&format!("/policies/versions/{v}/campaigns"), &[("send", "on")]).await;
    // Every link, once, as CSV.
    let form = five_thousand_links(&res);
    let csv = c.post(&form, &[]).await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-disposition").contains("links-acceptable-use-v1.0.csv"), "{}", csv.header("content-disposition"));
    assert_eq!(csv.body.lines().count(), 5001);
    assert!(csv.body.lines().nth(1).unwrap().contains("/ack/"));
    assert_eq!(c.post(&form, &[]).await.status, 404, "once");

    // The campaign page shows the e-mails going out.
    let campaign: Uuid = sqlx::query_scalar("SELECT id FROM ack_campaigns WHERE org_id = $1").bind(org).fetch_one(app.db()).await.unwrap();
    assert!(c.get(&format!("/campaigns/{campaign}")).await.texts("#mail-progress").concat().contains("0 of 5000 personal links e-mailed, 5000 on the way"));
    assert_eq!(mandate::notify::send_due(&app.state).await.unwrap(), 100, "one batch");
    let progress = c.get(&format!("/campaigns/{campaign}")).await.texts("#mail-progress").concat();
    assert!(progress.contains("100 of 5000 personal links e-mailed, 4900 on the way"), "{progress}");
    assert_eq!(smtp.messages().len(), 100);
    let mail = smtp.messages().remove(0);
    assert!(mail.contains("Please read and acknowledge: Acceptable use") && mail.contains("/ack/") && !mail.contains("List-Unsubscribe"), "{mail}");
    // An owner reading the outbox never sees a person's own link.
    let outbox = c.get("/outbox").await;
    let bodies = outbox.texts("main pre").join("\n");
    assert!(bodies.contains("[the recipient's personal link]") && !outbox.body.contains("/ack/"), "{bodies}");
}
