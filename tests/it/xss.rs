//! Stored XSS: a corpus of more than a hundred payloads is written into every
//! free-text field of the demo organisation (and into uploaded file names),
//! then every page each role can reach is fetched and parsed. No page may
//! contain markup that a payload created: an event-handler attribute, a
//! script or style carrying a payload, a `javascript:` address, a frame.
use mandate::ids::OrgId;
use crate::support::{Client, TestApp};
use scraper::{Html, Selector};
use sqlx::PgPool;
use std::collections::{BTreeSet, VecDeque};

/// Payloads built from the usual break-outs and vectors; each carries `XSS`.
fn corpus() -> Vec<String> {
    let breakouts = ["", "\"", "'", "\">", "'>", "</textarea>", "</title>", "-->", "]]>", "</script>"];
    let vectors = [
        "<script>alert('XSS')</script>",
        "<img src=x onerror=alert('XSS')>",
        "<svg onload=alert('XSS')>",
        "<iframe srcdoc=\"<script>alert('XSS')</script>\">",
        "<a href=\"javascript:alert('XSS')\">x</a>",
        "<body onload=alert('XSS')>",
        "<details open ontoggle=alert('XSS')>",
        "<style>*{background:url('javascript:alert(\"XSS\")')}</style>",
        "<object data=\"javascript:alert('XSS')\">",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('XSS')\">",
        "<base href=\"javascript:alert('XSS')//\">",
        "{{7*7}}<input autofocus onfocus=alert('XSS')>",
    ];
    let mut out = Vec::new();
    for b in breakouts {
        for v in vectors {
            out.push(format!("{b}{v}"));
        }
    }
    // Markdown-shaped ones for policy texts, and plain URL schemes.
    out.push("[click](javascript:alert('XSS'))".into());
    out.push("![x](javascript:alert('XSS'))".into());
    out.push("<a href='data:text/html,<script>alert(\"XSS\")</script>'>x</a>".into());
    out.push("javascript:alert('XSS')".into());
    out.push("\u{202e}<img src=x onerror=alert('XSS')>".into());
    out
}

/// Every free-text column that pages show, with the rows that may still change
/// (signed-off meetings and signed policy versions are final, by trigger).
const FIELDS: &[(&str, &[&str], &str)] = &[
    ("people", &["name", "job_title", "department"], "true"),
    ("evidence_items", &["title", "description", "external_url"], "true"),
    ("isms_roles", &["name", "responsibilities", "authorities"], "true"),
    ("raci_activities", &["name"], "true"),
    ("meetings", &["title", "minutes", "decisions"], "signed_off_at IS NULL"),
    ("action_items", &["title", "closing_note"], "true"),
    ("resource_decisions", &["title", "reason"], "true"),
    ("communications", &["subject", "summary"], "true"),
    ("objectives", &["title", "measure", "target", "strategy_link"], "true"),
    ("leadership_asks", &["what", "response"], "true"),
    ("policies", &["title"], "true"),
    ("policy_versions", &["change_summary", "body_markdown", "check_purpose", "check_objectives"], "approved_at IS NULL"),
    ("training_modules", &["title", "description"], "true"),
    ("requirement_states", &["notes", "exclusion_reason"], "true"),
    ("role_appointments", &["hats_note"], "true"),
];

/// What a payload would leave in a page if it were not escaped.
fn injected(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let all = Selector::parse("*").unwrap();
    let mut found = Vec::new();
    for el in doc.select(&all) {
        let tag = el.value().name();
        for (name, value) in el.value().attrs() {
            let v = value.trim_start().to_ascii_lowercase();
            if name.starts_with("on") {
                found.push(format!("<{tag} {name}=…>"));
            }
            if matches!(name, "href" | "src" | "action" | "formaction" | "data" | "srcdoc" | "xlink:href")
                && (v.starts_with("javascript:") || v.starts_with("data:text/html") || v.starts_with("vbscript:"))
            {
                found.push(format!("<{tag} {name}={value}>"));
            }
        }
        match tag {
            "script" if el.value().attr("src").is_none() || el.text().any(|t| t.contains("XSS")) => found.push("<script> inline".into()),
            "style" if el.text().any(|t| t.contains("XSS")) => found.push("<style> with a payload".into()),
            "iframe" | "frame" | "frameset" | "object" | "embed" | "base" => found.push(format!("<{tag}>")),
            "meta" if el.value().attr("http-equiv").is_some() => found.push("<meta http-equiv>".into()),
            _ => {}
        }
    }
    found
}

/// Follows every same-site link from the start pages; returns pages checked.
async fn crawl(c: &mut Client, who: &str, starts: &[String], problems: &mut Vec<String>) -> usize {
    let links = Selector::parse("a[href]").unwrap();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = starts.iter().cloned().collect();
    let mut checked = 0;
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) || seen.len() > 400 {
            continue;
        }
        let res = c.get(&path).await;
        if !res.header("content-type").starts_with("text/html") {
            continue;
        }
        assert!(res.status.as_u16() < 500, "{who}: {path} answered {}", res.status);
        checked += 1;
        for p in injected(&res.body) {
            problems.push(format!("{who} {path}: {p}"));
        }
        let doc = Html::parse_document(&res.body);
        for a in doc.select(&links) {
            let href = a.value().attr("href").unwrap_or("");
            let skip = !href.starts_with('/')
                || href.starts_with("//")
                || href.starts_with("/static/")
                || href.contains("/download")
                || href.starts_with("/evidence/files/")
                || href.ends_with(".csv")
                || href.contains(".csv?")
                || href.ends_with(".svg");
            if !skip {
                queue.push_back(href.split('#').next().unwrap().to_string());
            }
        }
    }
    checked
}

/// The pages a crawl starts from.
pub const STARTS: &[&str] = &[
    "/dashboard", "/gaps", "/leadership", "/requirements", "/evidence", "/policies", "/people", "/roles", "/raci", "/training", "/meetings",
    "/actions", "/decisions", "/communications", "/objectives", "/asks", "/evidence-requests", "/bundles", "/members", "/audit", "/orgs", "/account", "/onboarding", "/settings", "/people/roster",
];

/// Writes the corpus into every free-text field of the demo organisation
/// (loaded already, `logins` its accounts), file names included; returns
/// the organisation.
pub async fn plant(app: &TestApp, logins: &[mandate::demo::DemoLogin]) -> OrgId {
    let payloads = corpus();
    assert!(payloads.len() >= 100, "{} payloads", payloads.len());

    // Every free-text field, each row a payload of its own.
    let mut n = 0usize;
    for (table, columns, open) in FIELDS {
        for col in *columns {
            let p = &payloads[n % payloads.len()];
            n += 1;
            // Only text that is there already: some columns must stay empty in some states.
            let sql = format!("UPDATE {table} SET {col} = $1 || ' ' || left(md5(random()::text), 6) WHERE {open} AND btrim(COALESCE({col}, '')) <> ''");
            sqlx::query(&sql).bind(p).execute(app.db()).await.unwrap_or_else(|e| panic!("{table}.{col}: {e}"));
        }
    }
    sqlx::query("UPDATE organisations SET name = $1").bind(&payloads[7]).execute(app.db()).await.unwrap();
    sqlx::query("UPDATE users SET name = $1 || ' ' || left(email, 3)").bind(&payloads[13]).execute(app.db()).await.unwrap();
    sqlx::query("UPDATE evidence_requests SET question = $1").bind(&payloads[21]).execute(app.db()).await.unwrap();
    // File names arrive through the upload form, payloads included.
    let org: OrgId = sqlx::query_scalar("SELECT id FROM organisations LIMIT 1").fetch_one(app.db()).await.unwrap();
    for (i, p) in payloads.iter().take(5).enumerate() {
        app.evidence(org, &format!("Upload {i}"), &mandate::web::form::display_filename(&format!("{p}.pdf")), b"%PDF-1.4\n%%EOF\n").await;
    }
    let req = mandate::requirements::catalogue::requirement_id("iso27001-2022-leadership", "5.1(a)");
    let auditor = logins.iter().find(|l| l.role == mandate::auth::policy::Role::Auditor).unwrap();
    let auditor_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(auditor.email).fetch_one(app.db()).await.unwrap();
    let mut tx = app.db().begin().await.unwrap();
    let actor = mandate::audit::Actor { org_id: Some(org), user_id: Some(auditor_id.into()), label: payloads[30].clone(), request_id: "test".into() };
    mandate::requests::model::raise(&mut tx, &actor, app.state.clock.now(), org, req, &payloads[40]).await.unwrap();
    tx.commit().await.unwrap();
    org
}

#[sqlx::test]
async fn no_stored_payload_comes_back_as_markup_on_any_page_for_any_role(db: PgPool) {
    let app = TestApp::new(db).await;
    let logins = mandate::demo::load_if_empty(app.db(), &app.state.store, app.state.clock.as_ref(), chrono::Duration::days(7)).await.unwrap().unwrap();
    let org = plant(&app, &logins).await;
    let starts: Vec<String> = STARTS.iter().map(|s| s.to_string()).collect();
    let mut problems = Vec::new();
    let mut pages = 0;
    for login in &logins {
        let user: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1").bind(login.email).fetch_one(app.db()).await.unwrap();
        let mut c = app.signed_in(user, Some(org)).await;
        pages += crawl(&mut c, login.role.as_str(), &starts, &mut problems).await;
    }
    // Public pages: a policy's page for interested parties.
    let slugs: Vec<String> = sqlx::query_scalar("SELECT public_slug FROM policies WHERE public_slug IS NOT NULL").fetch_all(app.db()).await.unwrap();
    let mut anon = app.client();
    for s in &slugs {
        pages += crawl(&mut anon, "public", &[format!("/p/{s}")], &mut problems).await;
    }
    assert!(pages > 150, "only {pages} pages were checked");
    assert!(problems.is_empty(), "{} injected elements in {pages} pages:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_detector_sees_each_vector_raw_and_nothing_once_escaped() {
    for p in corpus().iter().filter(|p| p.contains('<') || p.starts_with("javascript:")) {
        let raw = format!("<html><body><p>{p}</p><a href=\"{}\">x</a></body></html>", if p.starts_with("javascript:") { p.as_str() } else { "/ok" });
        assert!(!injected(&raw).is_empty(), "undetected: {p}");
        let escaped = format!("<html><body><p>{}</p><input value=\"{}\"></body></html>", html_escape(p), html_escape(p));
        assert!(injected(&escaped).is_empty(), "false alarm on {p}: {:?}", injected(&escaped));
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
