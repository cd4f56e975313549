//! The sign-up → invite → join → sign-out journey in a real headless
//! Chromium (Debian's `chromium` + `chromium-driver`), against the real
//! server on a real port. Screenshots go to target/screenshots/.
use crate::support::PASSWORD;
use chrono::Utc;
use fantoccini::{Client, ClientBuilder, Locator};
use mandate::app;
use mandate::state::AppState;
use mandate::clock::SystemClock;
use mandate::config::Config;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver in a process group of its own, so that ending the group
/// also ends every Chromium process it started, even when a test fails
/// before its session is closed.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-KILL").arg("--").arg(format!("-{}", self.0.id())).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_driver() -> (Driver, u16) {
    assert!(
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
        "the browser test needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver (.ci/run does this)"
    );
    let port = free_port();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return (driver, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start listening on port {port}");
}

use crate::support::Inbox;

async fn start_server(db: PgPool) -> (SocketAddr, Inbox) {
    let (addr, _, inbox) = start_server_with(db, false).await;
    (addr, inbox)
}

/// The real server on a free port, its mail going to a real SMTP sink; with
/// `demo`, the demo organisation is loaded first and its logins returned.
async fn start_server_with(db: PgPool, demo: bool) -> (SocketAddr, Vec<mandate::demo::DemoLogin>, Inbox) {
    start_server_named(db, demo, None).await
}

/// The real server, known to the browser as `http://localhost:PORT`: a
/// passkey's relying party is a host name, never an IP address.
async fn start_server_on_localhost(db: PgPool) -> (String, Inbox) {
    let (addr, _, inbox) = start_server_named(db, false, Some("localhost")).await;
    (format!("http://localhost:{}", addr.port()), inbox)
}

async fn start_server_named(db: PgPool, demo: bool, host: Option<&str>) -> (SocketAddr, Vec<mandate::demo::DemoLogin>, Inbox) {
    mandate::db::migrate(&db, chrono::Utc::now()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (smtp_port, inbox) = crate::support::smtp_server().await;
    let base = match host {
        Some(h) => format!("http://{h}:{}", addr.port()),
        None => format!("http://{addr}"),
    };
    let mut config = Config::new(base.parse().unwrap(), std::env::temp_dir());
    config.smtp = Some(mandate::config::SmtpConfig { url: format!("smtp://127.0.0.1:{smtp_port}"), from: "grc@mandate.example".into() });
    let mailer = Some(Arc::new(mandate::mail::Mailer::new(config.smtp.as_ref().unwrap()).unwrap()));
    let store = Arc::new(mandate::evidence::store::EvidenceStore::local(&std::env::temp_dir().join(format!("mandate-browser-evidence-{}", uuid::Uuid::new_v4()))).unwrap());
    let logins = if demo {
        mandate::demo::load_if_empty(&db, &store, &SystemClock, chrono::Duration::days(7)).await.unwrap().unwrap_or_default()
    } else {
        Vec::new()
    };
    let state = AppState { db, config: Arc::new(config), clock: Arc::new(SystemClock), mailer, store, kept: Default::default() };
    // Like `mandate serve`: a worker makes the evidence bundles, another follows findings up.
    mandate::bundles::jobs::spawn_worker(state.clone());
    mandate::findings::spawn_worker(state.clone());
    tokio::spawn(async move {
        axum::serve(listener, app::router(state).into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    (addr, logins, inbox)
}

/// Opens the sign-up link e-mailed to `email` and finishes the sign-up.
async fn finish_sign_up(c: &Client, inbox: &Inbox, email: &str) {
    let mail = crate::support::mail_to(inbox, email).await;
    let line = mail.lines().find(|l| l.contains("/signup/")).unwrap_or_else(|| panic!("no sign-up link in {mail}")).trim().to_string();
    c.goto(&line).await.unwrap();
    click(c, "main form button[type=submit]").await;
    arrive(c, "/dashboard").await;
}

async fn browser(driver_port: u16) -> Client {
    browser_downloading_to(driver_port, &std::env::temp_dir().join(format!("mandate-downloads-{}", uuid::Uuid::new_v4()))).await
}

/// A headless Chromium that saves downloads in `downloads` without asking.
async fn browser_downloading_to(driver_port: u16, downloads: &std::path::Path) -> Client {
    let profile = std::env::temp_dir().join(format!("mandate-chromium-{}", uuid::Uuid::new_v4()));
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
                "safebrowsing.enabled": false
            },
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1000", format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let caps = match caps {
        serde_json::Value::Object(m) => m,
        _ => unreachable!(),
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let c = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a WebDriver session with headless Chromium");
    let cdp = Cdp { cmd: "Page.addScriptToEvaluateOnNewDocument", params: serde_json::json!({ "source": MONITOR }) };
    c.issue_cmd(cdp).await.expect("the page monitor is installed");
    c
}

/// Runs before any script of every page: notes each Content-Security-Policy
/// violation and each script dialog (alert, confirm, prompt, print) in the
/// tab's sessionStorage. A dialog counts as the app's own when it is a
/// `confirm` asked by /static/app.js (the question before a destructive
/// action); anything else is a finding.
const MONITOR: &str = r#"(() => {
  const key = "__mandate_monitor";
  const note = (entry) => {
    try {
      const log = JSON.parse(sessionStorage.getItem(key) || "[]");
      log.push(entry);
      sessionStorage.setItem(key, JSON.stringify(log));
    } catch (e) {}
  };
  window.addEventListener("securitypolicyviolation", (e) => {
    note({ kind: "csp", what: e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + location.pathname + " (" + e.sourceFile + ":" + e.lineNumber + ")" });
  }, true);
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    const original = window[name];
    window[name] = function (...args) {
      const stack = new Error().stack || "";
      note({ kind: "dialog", what: name + "(" + String(args[0]) + ") at " + location.pathname, app: name === "confirm" && stack.includes("/static/app.js") });
      return original.apply(window, args);
    };
  }
})();"#;

/// A Chrome DevTools Protocol command through chromedriver.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (axum::http::Method::POST, Some(serde_json::json!({ "cmd": self.cmd, "params": self.params }).to_string()))
    }
}

/// Gives the browser a virtual authenticator (the WebDriver WebAuthn
/// extension): a platform authenticator that keeps discoverable passkeys,
/// verifies its user and consents, as a phone or laptop would.
#[derive(Debug)]
struct VirtualAuthenticator;

impl fantoccini::wd::WebDriverCompatibleCommand for VirtualAuthenticator {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/webauthn/authenticator", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = serde_json::json!({
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
            "hasUserVerification": true, "isUserConsenting": true, "isUserVerified": true
        });
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

/// What the monitor noted in this tab: (CSP violations, dialogs not asked by the app, the app's confirmations).
async fn monitored(c: &Client) -> (Vec<String>, Vec<String>, usize) {
    let log = c.execute("return sessionStorage.getItem('__mandate_monitor') || '[]';", vec![]).await.expect("the monitor's log");
    let log: Vec<serde_json::Value> = serde_json::from_str(log.as_str().unwrap_or("[]")).unwrap();
    let (mut csp, mut dialogs, mut confirmations) = (Vec::new(), Vec::new(), 0);
    for e in log {
        let what = e["what"].as_str().unwrap_or("").to_string();
        match (e["kind"].as_str(), e["app"].as_bool()) {
            (Some("csp"), _) => csp.push(what),
            (_, Some(true)) => confirmations += 1,
            _ => dialogs.push(what),
        }
    }
    (csp, dialogs, confirmations)
}

/// Ends a journey: its result, then zero CSP violations and zero script
/// dialogs other than the app's own confirmations; a screenshot on failure.
async fn finish(c: Client, name: &str, result: Result<(), String>) {
    let (csp, dialogs, _) = if result.is_ok() { monitored(&c).await } else { Default::default() };
    if result.is_err() || !csp.is_empty() || !dialogs.is_empty() {
        shot(&c, name).await;
    }
    c.close().await.unwrap();
    result.unwrap();
    assert!(csp.is_empty(), "Content-Security-Policy violations: {csp:#?}");
    assert!(dialogs.is_empty(), "script dialogs the app did not ask for: {dialogs:#?}");
}

async fn shot(c: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Finds an element, waiting for it to appear (pages load asynchronously).
async fn find(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

async fn fill(c: &Client, css: &str, text: &str) {
    let field = find(c, css).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    find(c, css).await.click().await.unwrap();
}

/// The text of `css`, read again if the page replaced the element between
/// finding and reading it (a redirect still landing).
async fn text(c: &Client, css: &str) -> String {
    for _ in 0..50 {
        match find(c, css).await.text().await {
            Ok(t) => return t,
            Err(fantoccini::error::CmdError::Standard(e)) if e.error == fantoccini::error::ErrorStatus::StaleElementReference => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{css}: {e}"),
        }
    }
    panic!("{css} kept going stale");
}

/// Waits until `css` holds `want` (after a form post the old page may still
/// be showing, or its elements may go stale while the new one loads).
async fn until_text(c: &Client, css: &str, want: &str) {
    let mut last = String::new();
    for _ in 0..200 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            if t == want {
                return;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} still says {last:?}, not {want:?}");
}

async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_string()
}

/// Waits until the browser has arrived at `expected` (a form post redirects).
async fn arrive(c: &Client, expected: &str) {
    for _ in 0..200 {
        if path(c).await == expected && c.find(Locator::Css("footer")).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected to arrive at {expected}, still at {}", path(c).await);
}

#[sqlx::test]
async fn sign_up_invite_join_and_sign_out_in_a_real_browser(db: PgPool) {
    let (_driver, driver_port) = start_driver().await;
    let (addr, inbox) = start_server(db).await;
    let base = format!("http://{addr}");
    let c = browser(driver_port).await;
    let result = journey(&c, &base, &inbox).await;
    finish(c, "failure", result).await;
}

async fn journey(c: &Client, base: &str, inbox: &Inbox) -> Result<(), String> {
    let stamp = Utc::now().timestamp_millis();
    let owner_email = format!("isms-{stamp}@northwind.example");
    let exec_email = format!("ceo-{stamp}@northwind.example");

    // 1. Sign up: a validation error first, with the input kept.
    c.goto(&format!("{base}/signup")).await.map_err(|e| e.to_string())?;
    fill(c, "#f-org_name", "Northwind Traders").await;
    fill(c, "#f-name", "Ivy Lead").await;
    fill(c, "#f-email", &owner_email).await;
    fill(c, "#f-password", "short").await;
    click(c, "main button[type=submit]").await;
    assert!(text(c, "#f-password-error").await.contains("at least 12"));
    let kept = c.find(Locator::Css("#f-org_name")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("Northwind Traders"));
    shot(c, "01-signup-error").await;
    fill(c, "#f-password", PASSWORD).await;
    click(c, "main button[type=submit]").await;
    // The answer is the same for any address; the link comes by e-mail.
    until_text(c, "main h1", "Check your e-mail").await;
    shot(c, "01b-signup-check-your-email").await;
    finish_sign_up(c, inbox, &owner_email).await;
    assert_eq!(text(c, "main h1").await, "Northwind Traders");
    assert!(text(c, ".flash").await.contains("Welcome"));
    shot(c, "02-dashboard").await;

    // 2. Invite the CEO as an executive; the link goes to the CEO by e-mail.
    click(c, "nav a[href='/members']").await;
    arrive(c, "/members").await;
    fill(c, "#f-email", &exec_email).await;
    click(c, "#role-opt-executive").await;
    click(c, "#invite button[type=submit]").await;
    arrive(c, "/members").await;
    assert!(text(c, ".flash").await.contains(&format!("e-mailed to {exec_email}")));
    let mail = crate::support::mail_to(inbox, &exec_email).await;
    let link = mail.lines().find(|l| l.contains("/invite/")).ok_or_else(|| format!("no link in: {mail}"))?.trim().to_string();
    assert!(link.starts_with(base));
    shot(c, "03-invitation-created").await;

    // 3. Sign out (a POST form in the header).
    click(c, "header form[action='/logout'] button").await;
    arrive(c, "/login").await;
    assert!(text(c, ".flash").await.contains("signed out"));

    // 4. The CEO opens the link, creates an account and lands in the organisation.
    c.goto(&link).await.map_err(|e| e.to_string())?;
    assert!(text(c, "main").await.contains("Executive"));
    fill(c, "#f-name", "Cato Exec").await;
    fill(c, "#f-password", PASSWORD).await;
    fill(c, "#f-confirm", PASSWORD).await;
    shot(c, "04-accept-invitation").await;
    click(c, "main button[type=submit]").await;
    arrive(c, "/dashboard").await;
    assert!(text(c, "main .lead").await.contains("Executive"));
    shot(c, "05-executive-dashboard").await;
    click(c, "header form[action='/logout'] button").await;
    arrive(c, "/login").await;

    // 5. The ISMS lead signs in again and disables the CEO after confirming.
    fill(c, "#f-email", &owner_email).await;
    fill(c, "#f-password", PASSWORD).await;
    click(c, "main button[type=submit]").await;
    arrive(c, "/dashboard").await;
    c.goto(&format!("{base}/members")).await.map_err(|e| e.to_string())?;
    arrive(c, "/members").await;
    click(c, "form[action$='/disable'] button").await;
    // The page asks first; dismissing keeps the member.
    c.dismiss_alert().await.map_err(|e| format!("expected a confirmation: {e}"))?;
    assert!(c.find(Locator::Css("form[action$='/disable']")).await.is_ok());
    click(c, "form[action$='/disable'] button").await;
    c.accept_alert().await.map_err(|e| e.to_string())?;
    assert!(text(c, ".flash").await.contains("can no longer use"));
    shot(c, "06-member-disabled").await;

    // 6. The same page on a phone-sized screen.
    c.set_window_size(390, 844).await.map_err(|e| e.to_string())?;
    c.goto(&format!("{base}/members")).await.map_err(|e| e.to_string())?;
    arrive(c, "/members").await;
    shot(c, "07-members-on-a-phone").await;
    // How findings are graded, on a phone.
    c.goto(&format!("{base}/settings")).await.map_err(|e| e.to_string())?;
    arrive(c, "/settings").await;
    assert!(c.find(Locator::Css("form[action='/settings/grading'] #f-widespread_percent")).await.is_ok());
    shot(c, "08-settings-on-a-phone").await;
    click(c, "header form[action='/logout'] button").await;
    arrive(c, "/login").await;
    Ok(())
}

/// Names a person in a person field as someone would: types the start of
/// their name, waits until the field suggests them (top management from the
/// page itself, anyone else from the directory search as one types), and
/// takes the suggestion.
async fn pick_person(c: &Client, css: &str, name: &str) {
    let field = find(c, css).await;
    field.clear().await.unwrap();
    field.send_keys(name).await.unwrap();
    let list = field.attr("list").await.unwrap().expect("a person field has its suggestions");
    let find_js = "return Array.from(document.getElementById(arguments[0]).options).map(o => o.value).find(v => v.startsWith(arguments[1] + ' <')) || null;";
    for _ in 0..100 {
        let found = c.execute(find_js, vec![list.clone().into(), name.into()]).await.unwrap();
        if let Some(label) = found.as_str() {
            field.clear().await.unwrap();
            field.send_keys(label).await.unwrap();
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never suggested {name:?}");
}

/// Chooses the option of a `<select>` whose text starts with `label`.
async fn choose(c: &Client, css: &str, label: &str) {
    let select = find(c, css).await;
    for option in select.find_all(Locator::Css("option")).await.unwrap() {
        if option.text().await.unwrap().starts_with(label) {
            option.click().await.unwrap();
            return;
        }
    }
    panic!("{css} has no option starting with {label:?}");
}

async fn sign_up(c: &Client, base: &str, inbox: &Inbox, org: &str, name: &str, email: &str) {
    c.goto(&format!("{base}/signup")).await.unwrap();
    fill(c, "#f-org_name", org).await;
    fill(c, "#f-name", name).await;
    fill(c, "#f-email", email).await;
    fill(c, "#f-password", PASSWORD).await;
    click(c, "main button[type=submit]").await;
    until_text(c, "main h1", "Check your e-mail").await;
    finish_sign_up(c, inbox, email).await;
}

#[sqlx::test]
async fn isms_lead_sets_up_people_roles_and_raci_in_a_real_browser(db: PgPool) {
    let (_driver, driver_port) = start_driver().await;
    let (addr, inbox) = start_server(db).await;
    let base = format!("http://{addr}");
    let c = browser(driver_port).await;
    let result = people_and_roles(&c, &base, &inbox).await;
    finish(c, "failure-people-and-roles", result).await;
}

async fn people_and_roles(c: &Client, base: &str, inbox: &Inbox) -> Result<(), String> {
    let stamp = Utc::now().timestamp_millis();
    sign_up(c, base, inbox, "Contoso", "Lee Lead", &format!("lead-{stamp}@contoso.example")).await;
    let dir = std::env::temp_dir().join(format!("mandate-browser-{stamp}"));
    std::fs::create_dir_all(&dir).unwrap();

    // 1. Import the staff list: a file with a mistake first, then the corrected one.
    let header = "name,email,job_title,department,manager_email,top_management,line_manager,security_clause\n";
    let good = "Cee Eo,ceo@contoso.example,Chief Executive,Board,,yes,yes,yes\n\
                Alice Admin,alice@contoso.example,IT Manager,IT,ceo@contoso.example,no,yes,yes\n\
                Bob Builder,bob@contoso.example,Developer,IT,alice@contoso.example,no,no,no\n";
    let bad_file = dir.join("staff-with-errors.csv");
    std::fs::write(&bad_file, format!("{header}{good}Dup,BOB@contoso.example,,,,,,\n")).unwrap();
    let good_file = dir.join("staff.csv");
    std::fs::write(&good_file, format!("{header}{good}")).unwrap();
    c.goto(&format!("{base}/people/import")).await.map_err(|e| e.to_string())?;
    find(c, "#f-file").await.send_keys(bad_file.to_str().unwrap()).await.map_err(|e| e.to_string())?;
    click(c, "main form button[type=submit]").await;
    let problems = text(c, ".error-summary").await;
    assert!(problems.contains("5") && problems.contains("Duplicate"), "{problems}");
    shot(c, "10-import-problems").await;
    c.goto(&format!("{base}/people/import")).await.map_err(|e| e.to_string())?;
    find(c, "#f-file").await.send_keys(good_file.to_str().unwrap()).await.map_err(|e| e.to_string())?;
    click(c, "main form button[type=submit]").await;
    assert!(text(c, "main .card").await.contains("3 new people added"));
    assert!(text(c, "#roster-differs").await.contains("Cee Eo"), "the top-management column is shown, not applied");
    shot(c, "11-import-preview").await;
    click(c, "form[action$='/apply'] button").await;
    arrive(c, "/people").await;
    assert!(text(c, ".flash").await.contains("Import applied: 3 added"));
    shot(c, "12-people").await;

    // 1b. The new organisation has nobody in top management: its owner sets up the first member.
    click(c, "main a[href='/people/roster']").await;
    arrive(c, "/people/roster").await;
    pick_person(c, "#f-person_id", "Cee Eo").await;
    click(c, "form[action='/people/roster'] button[type=submit]").await;
    arrive(c, "/people/roster").await;
    assert!(text(c, ".flash").await.contains("takes effect now"));
    assert!(text(c, "#leaders-h + table").await.contains("set up without confirmation"));
    shot(c, "12b-first-leader").await;

    // 2. Give 5.3(a) an owner.
    c.goto(&format!("{base}/requirements?clause=5.3")).await.map_err(|e| e.to_string())?;
    find(c, "main table tbody tr td:first-child a").await;
    let links = c.find_all(Locator::Css("main table tbody tr td:first-child a")).await.map_err(|e| e.to_string())?;
    links[1].click().await.map_err(|e| e.to_string())?;
    assert!(text(c, "main h1").await.starts_with("5.3(a)"));
    pick_person(c, "#f-owner_id", "Cee Eo").await;
    click(c, "#st-in_progress").await;
    click(c, "main form[action^='/requirements/'] button[type=submit]").await;
    assert!(text(c, ".flash").await.contains("5.3(a) saved"));
    shot(c, "13-requirement").await;

    // 2b. Evidence for it, uploaded from the requirement page (the script shows progress),
    //     then a disguised web page refused as a new revision.
    let letter = dir.join("appointment-letter.pdf");
    std::fs::write(&letter, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").unwrap();
    let fake = dir.join("fake.pdf");
    std::fs::write(&fake, b"<!doctype html><script>alert(1)</script>").unwrap();
    click(c, "a[href^='/evidence/new?requirement=']").await;
    assert!(c.find(Locator::Css("input[name=links][checked]")).await.is_ok(), "pre-linked to the requirement");
    fill(c, "#f-title", "ISMS lead appointment letter").await;
    find(c, "#f-file").await.send_keys(letter.to_str().unwrap()).await.map_err(|e| e.to_string())?;
    click(c, "form[data-upload] button[type=submit]").await;
    find(c, "#revisions-h").await;
    assert!(text(c, ".flash").await.contains("was added to the evidence"));
    assert!(text(c, "#links-h + ul").await.contains("5.3(a)"));
    shot(c, "13b-evidence").await;
    find(c, "#f-file").await.send_keys(fake.to_str().unwrap()).await.map_err(|e| e.to_string())?;
    click(c, "form[data-upload] button[type=submit]").await;
    let refused = text(c, ".error-summary").await;
    assert!(refused.contains("not accepted as evidence"), "{refused}");
    shot(c, "13c-evidence-refused").await;

    // 3. The starting roles, and an appointment made by the CEO.
    c.goto(&format!("{base}/roles")).await.map_err(|e| e.to_string())?;
    click(c, "form[action='/roles/starter'] button").await;
    arrive(c, "/roles").await;
    assert!(text(c, ".flash").await.contains("7 roles were added"));
    c.find(Locator::LinkText("ISMS lead")).await.map_err(|e| e.to_string())?.click().await.map_err(|e| e.to_string())?;
    pick_person(c, "#f-person_id", "Alice Admin").await;
    pick_person(c, "#f-appointed_by", "Cee Eo").await;
    click(c, "#appoint button[type=submit]").await;
    let flash = text(c, ".flash").await;
    let link = flash.split_whitespace().find(|w| w.contains("/accept-role/")).ok_or_else(|| format!("no link in: {flash}"))?.to_string();
    shot(c, "14-appointment").await;

    // 4. The RACI matrix: starting activities, then an edit that breaks the one-A rule.
    c.goto(&format!("{base}/raci")).await.map_err(|e| e.to_string())?;
    click(c, "form[action='/raci/starter'] button").await;
    arrive(c, "/raci").await;
    click(c, "a[href='/raci?edit=1']").await;
    find(c, "table.raci tbody tr:first-child select").await;
    let first_row_cells = c.find_all(Locator::Css("table.raci tbody tr:first-child select")).await.map_err(|e| e.to_string())?;
    first_row_cells[1].select_by_value("A").await.map_err(|e| e.to_string())?;
    click(c, "form[action='/raci'] button[type=submit]").await;
    arrive(c, "/raci").await;
    assert!(text(c, "tr.broken").await.contains("2 roles are accountable"));
    shot(c, "15-raci-one-a-rule").await;

    // 5. Alice has no account: she accepts through her personal link.
    click(c, "header form[action='/logout'] button").await;
    arrive(c, "/login").await;
    c.goto(&link).await.map_err(|e| e.to_string())?;
    assert!(text(c, "main").await.contains("Cee Eo has appointed you holder"));
    click(c, "main form button[type=submit]").await;
    assert!(text(c, ".flash").await.contains("You accepted this role"));
    shot(c, "16-role-accepted").await;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[sqlx::test]
async fn a_policy_is_signed_and_acknowledged_through_a_personal_link(db: PgPool) {
    let (_driver, driver_port) = start_driver().await;
    let (addr, inbox) = start_server(db).await;
    let base = format!("http://{addr}");
    let c = browser(driver_port).await;
    let result = policy_journey(&c, &base, &inbox).await;
    finish(c, "failure-policy", result).await;
}

async fn policy_journey(c: &Client, base: &str, inbox: &Inbox) -> Result<(), String> {
    let stamp = Utc::now().timestamp_millis();
    sign_up(c, base, inbox, "Fabrikam", "Fay Founder", &format!("fay-{stamp}@fabrikam.example")).await;

    // 1. A member of staff in the directory (no account).
    c.goto(&format!("{base}/people/new")).await.map_err(|e| e.to_string())?;
    fill(c, "#f-name", "Sam Staff").await;
    fill(c, "#f-email", "sam@fabrikam.example").await;
    click(c, "main form button[type=submit]").await;
    assert!(text(c, ".flash").await.contains("was added"));

    // 2. The information security policy, written in the app.
    c.goto(&format!("{base}/policies")).await.map_err(|e| e.to_string())?;
    fill(c, "#f-title", "Information security policy").await;
    choose(c, "#f-kind", "Information security policy").await;
    click(c, "#new-h ~ form button[type=submit]").await;
    assert!(text(c, ".flash").await.contains("Now add its first version"));
    fill(c, "#f-change_summary", "First version").await;
    fill(c, "#f-body_markdown", "# Information security policy\n\nFabrikam protects the information entrusted to it.").await;
    fill(c, "#f-check_purpose", "Introduction").await;
    click(c, "#new-version button[type=submit]").await;
    find(c, "#sign-h").await;
    assert!(text(c, ".flash").await.contains("Draft version 1.0"));

    // 3. Signed with the password (the founder is not in the directory: warned).
    let sign_section = text(c, "section[aria-labelledby=sign-h]").await;
    assert!(sign_section.contains("not linked") && sign_section.contains("3 of the clause 5.2 content checks"), "{sign_section}");
    fill(c, "#f-password", PASSWORD).await;
    click(c, "form[action$='/sign'] button").await;
    find(c, "#sig-h").await;
    shot(c, "20-policy-signed").await;

    // 4. Ask for acknowledgements; the links are shown once.
    click(c, "form[action$='/campaigns'] button").await;
    find(c, "#all-links").await;
    let rows = c.find_all(Locator::Css("table tbody tr")).await.map_err(|e| e.to_string())?;
    let mut link = None;
    for r in rows {
        if r.text().await.map_err(|e| e.to_string())?.contains("Sam Staff") {
            link = Some(r.find(Locator::Css("code.link")).await.map_err(|e| e.to_string())?.text().await.map_err(|e| e.to_string())?);
        }
    }
    let link = link.ok_or("no link for Sam Staff")?;
    shot(c, "21-acknowledgement-links").await;

    // 5. Sam has no account: the link is all it takes.
    click(c, "header form[action='/logout'] button").await;
    arrive(c, "/login").await;
    c.goto(&link).await.map_err(|e| e.to_string())?;
    assert!(text(c, ".policy-text").await.contains("Fabrikam protects"));
    shot(c, "22-acknowledge-by-link").await;
    click(c, "main form button[type=submit]").await;
    assert!(text(c, ".flash").await.contains("Thank you, Sam Staff"));
    shot(c, "23-acknowledged").await;
    Ok(())
}

#[sqlx::test]
async fn the_demo_dashboards_for_the_isms_lead_and_the_ceo(db: PgPool) {
    let (_driver, driver_port) = start_driver().await;
    let (addr, logins, _) = start_server_with(db, true).await;
    let base = format!("http://{addr}");
    let c = browser(driver_port).await;
    let result = dashboards_journey(&c, &base, &logins).await;
    finish(c, "failure-dashboards", result).await;
}

async fn sign_in(c: &Client, base: &str, login: &mandate::demo::DemoLogin) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(c, "#f-email", login.email).await;
    fill(c, "#f-password", &login.password).await;
    click(c, "main form button[type=submit]").await;
    arrive(c, "/dashboard").await;
}

async fn dashboards_journey(c: &Client, base: &str, logins: &[mandate::demo::DemoLogin]) -> Result<(), String> {
    let login = |role: mandate::auth::policy::Role| logins.iter().find(|l| l.role == role).expect("a demo login per role");
    // 1. The ISMS lead opens the gap list and expands the most serious gap.
    sign_in(c, base, login(mandate::auth::policy::Role::IsmsLead)).await;
    click(c, "header nav a[href='/gaps']").await;
    arrive(c, "/gaps").await;
    let summaries = c.find_all(Locator::Css("ul.gaps summary")).await.map_err(|e| e.to_string())?;
    assert!(summaries.len() >= 6, "{} gaps", summaries.len());
    let first = text(c, "ul.gaps summary").await;
    assert!(first.starts_with("Major"), "{first}");
    click(c, "ul.gaps summary").await;
    let body = text(c, "ul.gaps details[open] .gap-body").await;
    assert!(!body.is_empty(), "the gap opens to its explanation and fix");
    shot(c, "30-gaps").await;

    // 2. Only clause 5.3.
    choose(c, "#f-clause", "5.3").await;
    click(c, "form[aria-label='Filter the gaps'] button").await;
    for _ in 0..100 {
        if c.current_url().await.map_err(|e| e.to_string())?.query().unwrap_or("").contains("clause=5.3") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    find(c, "footer").await;
    for s in c.find_all(Locator::Css("ul.gaps summary")).await.map_err(|e| e.to_string())? {
        let t = s.text().await.map_err(|e| e.to_string())?;
        assert!(t.contains("5.3"), "{t}");
    }
    shot(c, "31-gaps-clause-5.3").await;

    // 3. The CEO reads the leadership dashboard; the trend chart loads as an image.
    click(c, "header form[action='/logout'] button").await;
    arrive(c, "/login").await;
    sign_in(c, base, login(mandate::auth::policy::Role::Executive)).await;
    click(c, "header nav a[href='/leadership']").await;
    arrive(c, "/leadership").await;
    let words = c.find_all(Locator::Css(".status-word")).await.map_err(|e| e.to_string())?;
    assert_eq!(words.len(), 4);
    let mine = text(c, "section[aria-labelledby=mine-h]").await;
    assert!(mine.contains("Answer") && mine.contains("Complete Security awareness"), "the CEO's own asks and training: {mine}");
    let mut width = 0;
    for _ in 0..100 {
        let w = c.execute("const i = document.querySelector('img.chart'); return i.complete ? i.naturalWidth : 0;", vec![]).await.map_err(|e| e.to_string())?;
        width = w.as_u64().unwrap_or(0);
        if width > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(width, 640, "the trend chart rendered");
    shot(c, "32-leadership-dashboard").await;
    Ok(())
}

#[sqlx::test]
async fn only_an_owner_proposes_and_a_leader_confirms_top_management(db: PgPool) {
    let (_driver, driver_port) = start_driver().await;
    let (addr, logins, _) = start_server_with(db, true).await;
    let base = format!("http://{addr}");
    let c = browser(driver_port).await;
    let result = roster_journey(&c, &base, &logins).await;
    finish(c, "failure-roster", result).await;
}

async fn roster_journey(c: &Client, base: &str, logins: &[mandate::demo::DemoLogin]) -> Result<(), String> {
    use mandate::auth::policy::Role;
    let login = |role: Role| logins.iter().find(|l| l.role == role).expect("a demo login per role");
    let sign_out = || async {
        click(c, "header form[action='/logout'] button").await;
        arrive(c, "/login").await;
    };
    // 1. The ISMS lead finds no way to change the roster, and a forged proposal is refused.
    sign_in(c, base, login(Role::IsmsLead)).await;
    c.goto(&format!("{base}/people/roster")).await.map_err(|e| e.to_string())?;
    arrive(c, "/people/roster").await;
    assert!(text(c, "#leaders-h + table").await.contains("Daniel Okafor"));
    assert!(c.find(Locator::Css("#propose-h")).await.is_err(), "no proposal form for an ISMS lead");
    c.execute(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/people/roster';
         for (const [k, v] of [['csrf_token', document.querySelector('input[name=csrf_token]').value], ['person_id', arguments[0]], ['change', 'add']]) {
           const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
         }
         document.body.appendChild(f); f.submit();",
        vec![serde_json::json!(uuid::Uuid::nil().to_string())],
    )
    .await
    .map_err(|e| e.to_string())?;
    for _ in 0..100 {
        if c.find(Locator::Css("main h1")).await.is_ok() && text(c, "main h1").await == "Not allowed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text(c, "main h1").await, "Not allowed");
    shot(c, "50-roster-refused-to-the-isms-lead").await;
    sign_out().await;

    // 2. The owner proposes the CTO.
    sign_in(c, base, login(Role::Owner)).await;
    c.goto(&format!("{base}/people/roster")).await.map_err(|e| e.to_string())?;
    arrive(c, "/people/roster").await;
    pick_person(c, "#f-person_id", "Rafael Duarte").await;
    fill(c, "#f-reason", "Joined the board on 1 December").await;
    click(c, "form[action='/people/roster'] button[type=submit]").await;
    arrive(c, "/people/roster").await;
    assert!(text(c, ".flash").await.contains("once a member of top management confirms"));
    assert!(text(c, "#open-h + ul").await.contains("Add Rafael Duarte to top management"));
    assert!(!text(c, "#leaders-h + table").await.contains("Rafael Duarte"), "not in effect yet");
    shot(c, "51-roster-proposed-by-the-owner").await;
    sign_out().await;

    // 3. The CEO finds it on their home page and confirms it.
    sign_in(c, base, login(Role::Executive)).await;
    let waiting = text(c, "section[aria-labelledby=waiting-h]").await;
    assert!(waiting.contains("Add Rafael Duarte to top management"), "{waiting}");
    click(c, "section[aria-labelledby=waiting-h] a[href='/people/roster']").await;
    arrive(c, "/people/roster").await;
    click(c, "form[action$='/confirm'] button").await;
    c.accept_alert().await.map_err(|e| format!("expected a confirmation: {e}"))?;
    arrive(c, "/people/roster").await;
    assert!(text(c, ".flash").await.contains("Confirmed"));
    assert!(text(c, "#leaders-h + table").await.contains("Rafael Duarte"));
    let decided = text(c, "#history-h ~ table").await;
    assert!(decided.contains("Morgan Reyes") && decided.contains("Daniel Okafor, signed in as daniel.okafor@acme.example"), "{decided}");
    shot(c, "52-roster-confirmed-by-the-ceo").await;
    c.set_window_size(390, 844).await.map_err(|e| e.to_string())?;
    c.refresh().await.map_err(|e| e.to_string())?;
    arrive(c, "/people/roster").await;
    shot(c, "53-roster-on-a-phone").await;
    sign_out().await;

    // 4. The owner reads the security log: the forged proposal left no trace, the real ones did.
    sign_in(c, base, login(Role::Owner)).await;
    click(c, "header nav a[href='/members']").await;
    arrive(c, "/members").await;
    click(c, "main a[href='/security']").await;
    arrive(c, "/security").await;
    let log = text(c, "main table").await;
    assert!(log.contains("Proposed a change to top management") && log.contains("Confirmed a change to top management"), "{log}");
    shot(c, "54-security-log-on-a-phone").await;
    sign_out().await;

    // 5. The ISMS lead corrects the signed-off spring review by an addendum; the minutes stay as signed.
    sign_in(c, base, login(Role::IsmsLead)).await;
    c.goto(&format!("{base}/meetings")).await.map_err(|e| e.to_string())?;
    c.find(Locator::LinkText("Management review, spring")).await.map_err(|e| e.to_string())?.click().await.map_err(|e| e.to_string())?;
    find(c, "#addenda-h").await;
    assert!(c.find(Locator::Css("form[action$='/sign-off']")).await.is_err(), "already signed off");
    fill(c, "#f-addendum", "The budget figure in the decisions was in euros, not pounds.").await;
    click(c, "form[action$='/addenda'] button").await;
    find(c, "article.addendum").await;
    let addendum = text(c, "article.addendum").await;
    assert!(addendum.contains("Priya Shah") && addendum.contains("priya.shah@acme.example") && addendum.contains("in euros"), "{addendum}");
    shot(c, "55-addendum-under-signed-minutes").await;
    // A leader's page says where top management is decided, and that accounts link themselves.
    c.goto(&format!("{base}/people?q=Daniel")).await.map_err(|e| e.to_string())?;
    c.find(Locator::LinkText("Daniel Okafor")).await.map_err(|e| e.to_string())?.click().await.map_err(|e| e.to_string())?;
    let facts = text(c, "dl.facts").await;
    assert!(facts.contains("Top management") && facts.contains("Linked to daniel.okafor@acme.example"), "{facts}");
    shot(c, "56-person-page-on-a-phone").await;
    Ok(())
}

#[sqlx::test]
async fn an_auditor_browses_asks_and_downloads_a_verifiable_bundle(db: PgPool) {
    let (_driver, driver_port) = start_driver().await;
    let (addr, logins, _) = start_server_with(db, true).await;
    let base = format!("http://{addr}");
    let downloads = std::env::temp_dir().join(format!("mandate-downloads-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&downloads).unwrap();
    let c = browser_downloading_to(driver_port, &downloads).await;
    let result = auditor_journey(&c, &base, &logins, &downloads).await;
    finish(c, "failure-auditor", result).await;
}

async fn auditor_journey(c: &Client, base: &str, logins: &[mandate::demo::DemoLogin], downloads: &std::path::Path) -> Result<(), String> {
    let auditor = logins.iter().find(|l| l.role == mandate::auth::policy::Role::Auditor).expect("a demo auditor");
    sign_in(c, base, auditor).await;
    // Requirement → owner → evidence.
    click(c, "header nav a[href='/requirements']").await;
    arrive(c, "/requirements").await;
    let link = find(c, "main a[href^='/requirements/']").await;
    link.click().await.map_err(|e| e.to_string())?;
    find(c, "#req-evidence-h").await;
    let page = text(c, "main").await;
    assert!(!page.contains("Save"), "an auditor gets no edit form");
    // Ask for evidence.
    // The form is open for an auditor on a requirement nobody asked about yet.
    let details = find(c, "#req-requests-h ~ details").await;
    if details.attr("open").await.map_err(|e| e.to_string())?.is_none() {
        click(c, "#req-requests-h ~ details summary").await;
    }
    fill(c, "#f-question", "Please show the signed minutes of the last management review.").await;
    click(c, "form[action='/evidence-requests'] button").await;
    // The request's own page, once the redirect has landed.
    for _ in 0..100 {
        if path(c).await.starts_with("/evidence-requests/") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(text(c, "main").await.contains("Waiting for an answer"));
    shot(c, "40-auditor-evidence-request").await;
    // Make a bundle and follow its progress until it is ready.
    c.goto(&format!("{base}/bundles")).await.map_err(|e| e.to_string())?;
    click(c, "form[action='/bundles'] button").await;
    let mut ready = false;
    for _ in 0..150 {
        if let Ok(a) = c.find(Locator::Css("a[href$='/download'].button")).await {
            let _ = a;
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ready, "the bundle page shows the download once the worker is done");
    shot(c, "41-auditor-bundle-ready").await;
    click(c, "a[href$='/download'].button").await;
    let mut zip = None;
    for _ in 0..100 {
        let done: Vec<_> = std::fs::read_dir(downloads).map_err(|e| e.to_string())?.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "zip")).collect();
        if let Some(p) = done.into_iter().next() {
            zip = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let zip = zip.ok_or("the bundle was downloaded")?;
    let report = mandate::bundles::manifest::verify(&zip).await.map_err(|e| e.to_string())?;
    assert!(report.ok(), "the downloaded bundle verifies offline: {report:?}");
    assert!(report.checked > 10, "{report:?}");
    Ok(())
}

/// The pages the main content links to, for a walk: downloads, files and
/// exports left out, fragments dropped.
async fn page_links(c: &Client) -> Result<Vec<String>, String> {
    let links = c
        .execute("return Array.from(document.querySelectorAll('main a[href^=\"/\"]')).map(a => a.getAttribute('href'));", vec![])
        .await
        .map_err(|e| e.to_string())?;
    Ok(links
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h.as_str())
        .filter(|h| !(h.starts_with("//") || h.contains("/download") || h.starts_with("/evidence/files/") || h.contains(".csv") || h.ends_with("/csv") || h.contains(".zip") || h.ends_with(".svg") || h.ends_with(".json")))
        .map(|h| h.split('#').next().unwrap_or(h).to_string())
        .collect())
}

/// The stored-XSS corpus (see xss.rs) in a real browser: the monitor first
/// proves it sees a blocked inline script and a dialog, then the ISMS lead
/// and the auditor open every menu page and the pages they link to, on a
/// 320 px wide screen. No payload may run a dialog or trip the
/// Content-Security-Policy, and no page may scroll sideways.
#[sqlx::test]
async fn stored_payloads_run_no_script_in_a_real_browser(db: PgPool) {
    let (_driver, driver_port) = start_driver().await;
    let (addr, logins, _) = start_server_with(db.clone(), true).await;
    let app = crate::support::TestApp::new(db).await;
    crate::xss::plant(&app, &logins).await;
    let base = format!("http://{addr}");
    let c = browser(driver_port).await;
    let result = payload_walk(&c, &base, &logins).await;
    finish(c, "failure-payloads", result).await;
}

async fn payload_walk(c: &Client, base: &str, logins: &[mandate::demo::DemoLogin]) -> Result<(), String> {
    // The monitor sees what it is there to see.
    c.goto(&format!("{base}/login")).await.map_err(|e| e.to_string())?;
    c.execute("const s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.body.appendChild(s); setTimeout(() => alert('probe'), 0);", vec![])
        .await
        .map_err(|e| e.to_string())?;
    for _ in 0..50 {
        if c.get_alert_text().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.dismiss_alert().await.map_err(|e| format!("the probe's alert: {e}"))?;
    let (csp, dialogs, _) = monitored(c).await;
    if csp.len() != 1 || dialogs.len() != 1 {
        return Err(format!("the monitor missed its probe: {csp:?} {dialogs:?}"));
    }
    c.execute("sessionStorage.removeItem('__mandate_monitor');", vec![]).await.map_err(|e| e.to_string())?;

    let mut pages = 0;
    // On the narrowest phone screen (320 px), where long names and links must wrap rather than push the page sideways.
    c.set_window_size(320, 640).await.map_err(|e| e.to_string())?;
    let mut sideways = Vec::new();
    for role in [mandate::auth::policy::Role::IsmsLead, mandate::auth::policy::Role::Auditor] {
        sign_in(c, base, logins.iter().find(|l| l.role == role).unwrap()).await;
        let mut queue: std::collections::VecDeque<String> = crate::xss::STARTS.iter().map(|s| s.to_string()).collect();
        let mut seen = std::collections::BTreeSet::new();
        while let Some(path) = queue.pop_front() {
            if !seen.insert(path.clone()) || seen.len() > 70 {
                continue;
            }
            c.goto(&format!("{base}{path}")).await.map_err(|e| format!("{path}: {e}"))?;
            pages += 1;
            let fits = c.execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![]).await.map_err(|e| e.to_string())?;
            if fits != serde_json::Value::Bool(true) {
                sideways.push(format!("{role:?} {path}"));
            }
            queue.extend(page_links(c).await?);
        }
        click(c, "header form[action='/logout'] button").await;
        arrive(c, "/login").await;
    }
    if pages < 100 {
        return Err(format!("only {pages} pages were opened"));
    }
    if !sideways.is_empty() {
        return Err(format!("{} page(s) scroll sideways at 320 px: {sideways:?}", sideways.len()));
    }
    Ok(())
}

/// axe-core (installed by scripts/test into target/axe from npm) checks
/// every page the ISMS lead, the executive and the auditor reach from their
/// menus, at desktop width, for WCAG 2.1 A and AA: no violation anywhere.
#[sqlx::test]
async fn every_page_passes_axe_for_the_lead_the_executive_and_the_auditor(db: PgPool) {
    let axe = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/axe/node_modules/axe-core/axe.min.js"))
        .expect("axe-core is not installed: run scripts/test, which installs it into target/axe");
    let (_driver, driver_port) = start_driver().await;
    let (addr, logins, _) = start_server_with(db, true).await;
    let base = format!("http://{addr}");
    let c = browser(driver_port).await;
    let result = axe_walk(&c, &base, &logins, &axe).await;
    finish(c, "failure-axe", result).await;
}

async fn axe_walk(c: &Client, base: &str, logins: &[mandate::demo::DemoLogin], axe: &str) -> Result<(), String> {
    use mandate::auth::policy::Role;
    c.set_window_size(1280, 900).await.map_err(|e| e.to_string())?;
    let run = "const done = arguments[arguments.length - 1];
               axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                  .then(r => done(r.violations.map(v => v.id + ' (' + v.nodes.length + '): ' + v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(', '))))
                  .catch(e => done(['axe failed: ' + e]));";
    // First prove axe sees a violation: an image without a text alternative.
    c.goto(&format!("{base}/login")).await.map_err(|e| e.to_string())?;
    c.execute(&format!("{axe}\ndocument.querySelector('main').appendChild(document.createElement('img'));\nreturn true;"), vec![]).await.map_err(|e| e.to_string())?;
    let probe = c.execute_async(run, vec![]).await.map_err(|e| e.to_string())?;
    if !probe.as_array().into_iter().flatten().any(|v| v.as_str().is_some_and(|v| v.starts_with("image-alt"))) {
        return Err(format!("axe missed its probe: {probe:?}"));
    }
    let mut violations = Vec::new();
    let mut pages = 0;
    for role in [Role::IsmsLead, Role::Executive, Role::Auditor] {
        sign_in(c, base, logins.iter().find(|l| l.role == role).unwrap()).await;
        let mut queue: std::collections::VecDeque<String> = crate::xss::STARTS.iter().map(|s| s.to_string()).collect();
        let mut seen = std::collections::BTreeSet::new();
        while let Some(path) = queue.pop_front() {
            // Pages of one kind share a template: the first two of each are enough.
            let kind: String = path.split('/').take(3).collect::<Vec<_>>().join("/");
            let same_kind = seen.iter().filter(|p: &&String| p.split('/').take(3).collect::<Vec<_>>().join("/") == kind).count();
            if seen.contains(&path) || same_kind >= 2 || seen.len() >= 60 {
                continue;
            }
            seen.insert(path.clone());
            c.goto(&format!("{base}{path}")).await.map_err(|e| format!("{path}: {e}"))?;
            pages += 1;
            c.execute(&format!("{axe}\nreturn true;"), vec![]).await.map_err(|e| format!("injecting axe on {path}: {e}"))?;
            let found = c.execute_async(run, vec![]).await.map_err(|e| format!("running axe on {path}: {e}"))?;
            for v in found.as_array().into_iter().flatten().filter_map(|v| v.as_str()) {
                violations.push(format!("{role:?} {path}: {v}"));
            }
            queue.extend(page_links(c).await?);
        }
        click(c, "header form[action='/logout'] button").await;
        arrive(c, "/login").await;
    }
    if pages < 60 {
        return Err(format!("only {pages} pages were checked"));
    }
    if !violations.is_empty() {
        return Err(format!("{} accessibility violation(s) on {pages} pages:\n{}", violations.len(), violations.join("\n")));
    }
    Ok(())
}

/// Every page every role reaches from its menus, one of each kind (ids
/// aside), at desktop (1280 px), phone (390 px) and narrow phone (320 px)
/// width: a screenshot of each goes to target/screenshots/pages/<width>/,
/// and a page wider than its window at any of the three fails the test.
#[sqlx::test]
async fn every_page_for_every_role_fits_at_1280_390_and_320_px(db: PgPool) {
    let (_driver, driver_port) = start_driver().await;
    let (addr, logins, _) = start_server_with(db.clone(), true).await;
    // The pages anyone may open: sign-in, sign-up, a published policy and
    // personal acknowledgement and training links (issued here).
    let mut public: Vec<String> = vec!["/login".into(), "/signup".into()];
    let slugs: Vec<String> = sqlx::query_scalar("SELECT public_slug FROM policies WHERE public_slug IS NOT NULL").fetch_all(&db).await.unwrap();
    public.extend(slugs.iter().map(|s| format!("/p/{s}")));
    let token = "widths-walk-personal-link-0123456789";
    sqlx::query(
        "INSERT INTO ack_requests (id, org_id, campaign_id, person_id, token_hash, expires_at, issued_at)
         SELECT gen_random_uuid(), c.org_id, c.id, p.id, $1, now() + interval '7 days', now()
           FROM ack_campaigns c JOIN people p ON p.org_id = c.org_id AND p.end_date IS NULL
          ORDER BY c.created_at, p.name LIMIT 1
         ON CONFLICT (org_id, campaign_id, person_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at",
    )
    .bind(mandate::auth::session::hash_token(token))
    .execute(&db)
    .await
    .unwrap();
    public.push(format!("/ack/{token}"));
    // And a personal training link, for the demo's training campaign.
    let training_token = "widths-walk-training-link-0123456789";
    sqlx::query(
        "UPDATE training_requests SET token_hash = $1, expires_at = now() + interval '7 days'
          WHERE id = (SELECT r.id FROM training_requests r JOIN people p ON p.id = r.person_id ORDER BY p.name LIMIT 1)",
    )
    .bind(mandate::auth::session::hash_token(training_token))
    .execute(&db)
    .await
    .unwrap();
    public.push(format!("/training-link/{training_token}"));
    // With the organisation's logo on the pages staff open without signing in.
    sqlx::query("INSERT INTO org_logos (org_id, content_type, bytes, sha256, filename, uploaded_at) SELECT id, 'image/png', $1, sha256($1), 'logo.png', now() FROM organisations")
        .bind(crate::support::PNG)
        .execute(&db)
        .await
        .unwrap();
    let base = format!("http://{addr}");
    let c = browser(driver_port).await;
    let result = widths_walk(&c, &base, &logins, &public).await;
    finish(c, "failure-widths", result).await;
}

/// A page's kind: its path with ids (and the tail of a public link) as `{id}`.
fn page_kind(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    path.split('/')
        .map(|s| if uuid::Uuid::parse_str(s).is_ok() || (s.len() >= 20 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')) { "{id}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

async fn widths_walk(c: &Client, base: &str, logins: &[mandate::demo::DemoLogin], public: &[String]) -> Result<(), String> {
    const WIDTHS: [u32; 3] = [1280, 390, 320];
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/pages");
    for w in WIDTHS {
        std::fs::create_dir_all(root.join(w.to_string())).map_err(|e| e.to_string())?;
    }
    // The check sees what it is there to see: a page made wider than its window.
    c.set_window_size(320, 640).await.map_err(|e| e.to_string())?;
    c.goto(&format!("{base}/login")).await.map_err(|e| e.to_string())?;
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth;";
    c.execute("const d = document.createElement('div'); d.style.width = '600px'; d.style.height = '1px'; document.querySelector('main').appendChild(d); return true;", vec![])
        .await
        .map_err(|e| e.to_string())?;
    if c.execute(fits, vec![]).await.map_err(|e| e.to_string())? != serde_json::Value::Bool(false) {
        return Err("the overflow check missed a 600 px wide block on a 320 px screen".into());
    }
    let mut overflow = Vec::new();
    let mut shots = 0;
    // Signed out first (the pages anyone may open), then as each role.
    let anonymous = std::iter::once(None);
    for login in anonymous.chain(logins.iter().map(Some)) {
        let (role, mut queue): (&str, std::collections::VecDeque<String>) = match login {
            Some(login) => {
                sign_in(c, base, login).await;
                (login.role.as_str(), crate::xss::STARTS.iter().map(|s| s.to_string()).collect())
            }
            None => ("signed_out", public.iter().cloned().collect()),
        };
        let mut kinds = std::collections::BTreeSet::new();
        while let Some(path) = queue.pop_front() {
            if !kinds.insert(page_kind(&path)) {
                continue;
            }
            c.set_window_size(1280, 900).await.map_err(|e| e.to_string())?;
            c.goto(&format!("{base}{path}")).await.map_err(|e| format!("{path}: {e}"))?;
            if login.is_some() && self::path(c).await == "/login" {
                return Err(format!("{role} was signed out on {path}"));
            }
            let slug = match page_kind(&path).trim_matches('/') {
                "" => "home".to_string(),
                kind => kind.replace(['/', '{', '}'], "_"),
            };
            for w in WIDTHS {
                c.set_window_size(w, 900).await.map_err(|e| e.to_string())?;
                if c.execute(fits, vec![]).await.map_err(|e| e.to_string())? != serde_json::Value::Bool(true) {
                    overflow.push(format!("{role} {path} at {w} px"));
                }
                let png = c.screenshot().await.map_err(|e| e.to_string())?;
                std::fs::write(root.join(w.to_string()).join(format!("{role}-{slug}.png")), png).map_err(|e| e.to_string())?;
                shots += 1;
            }
            // No link leads nowhere: an error page other than a refusal is a broken link.
            let status = c.execute("const s = document.querySelector('.error-page .status'); return s ? s.textContent : '';", vec![]).await.map_err(|e| e.to_string())?;
            let status = status.as_str().unwrap_or("");
            if status.contains("404") || status.contains("500") || status.contains("405") {
                overflow.push(format!("{role} {path}: {status}"));
            }
            // Every image on the page loaded (the logo among them).
            let broken = c.execute("return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);", vec![]).await.map_err(|e| e.to_string())?;
            if broken.as_array().is_some_and(|b| !b.is_empty()) {
                overflow.push(format!("{role} {path}: images that did not load: {broken}"));
            }
            queue.extend(page_links(c).await?);
        }
        if login.is_some() {
            c.set_window_size(1280, 900).await.map_err(|e| e.to_string())?;
            click(c, "header form[action='/logout'] button").await;
            arrive(c, "/login").await;
        }
    }
    if shots < 300 {
        return Err(format!("only {shots} screenshots were taken"));
    }
    if !overflow.is_empty() {
        return Err(format!("{} page(s) scroll sideways:\n{}", overflow.len(), overflow.join("\n")));
    }
    Ok(())
}

/// A signed policy version, signed-off minutes and the interview card as
/// they print on A4 (print media, 180 mm of text width): the controls are
/// gone, the signatures and dates are there, nothing runs off the page,
/// and the PDF Chromium prints is a few pages long. The PDFs and a picture
/// of each go to target/screenshots/print/.
#[sqlx::test]
async fn a_signed_version_signed_minutes_and_the_interview_card_print_on_a4(db: PgPool) {
    let (_driver, driver_port) = start_driver().await;
    let (addr, logins, _) = start_server_with(db.clone(), true).await;
    let version: uuid::Uuid = sqlx::query_scalar(
        "SELECT v.id FROM policy_versions v JOIN policies p ON p.org_id = v.org_id AND p.id = v.policy_id
          WHERE p.kind = 'is_policy' AND v.approved_at IS NOT NULL ORDER BY v.major DESC, v.minor DESC LIMIT 1",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let meeting: uuid::Uuid = sqlx::query_scalar("SELECT id FROM meetings WHERE signed_off_at IS NOT NULL ORDER BY held_on DESC LIMIT 1").fetch_one(&db).await.unwrap();
    let base = format!("http://{addr}");
    let c = browser(driver_port).await;
    let pages = [
        ("policy-version", format!("/policies/versions/{version}"), ".card.signed", 4),
        ("signed-minutes", format!("/meetings/{meeting}"), ".card.signed", 4),
        ("interview-card", "/leadership".to_string(), ".prep", 1),
    ];
    let result = print_walk(&c, &base, logins.iter().find(|l| l.role == mandate::auth::policy::Role::Executive).unwrap(), &pages).await;
    finish(c, "failure-print", result).await;
}

async fn print_walk(c: &Client, base: &str, login: &mandate::demo::DemoLogin, pages: &[(&str, String, &str, usize)]) -> Result<(), String> {
    use base64::Engine;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/print");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    sign_in(c, base, login).await;
    // 180 mm (A4's 210 mm less the margins) at 96 dots per inch.
    c.set_window_size(680, 1000).await.map_err(|e| e.to_string())?;
    for (name, path, signature, max_pages) in pages {
        c.goto(&format!("{base}{path}")).await.map_err(|e| format!("{path}: {e}"))?;
        let shown = |css: &str| format!("return Array.from(document.querySelectorAll('{css}')).filter(e => getComputedStyle(e).display !== 'none' && e.getClientRects().length > 0).length;");
        // On screen the print button is there (the script shows it).
        let buttons = c.execute(&shown("button[data-print]"), vec![]).await.map_err(|e| e.to_string())?;
        if buttons != serde_json::json!(1) {
            return Err(format!("{path}: {buttons} print buttons on screen"));
        }
        c.issue_cmd(Cdp { cmd: "Emulation.setEmulatedMedia", params: serde_json::json!({ "media": "print" }) }).await.map_err(|e| e.to_string())?;
        for hidden in ["header nav", "main form", "main button", ".tabs", ".crumbs", ".no-print"] {
            let n = c.execute(&shown(hidden), vec![]).await.map_err(|e| e.to_string())?;
            if n != serde_json::json!(0) {
                return Err(format!("{path}: {n} '{hidden}' shown on paper"));
            }
        }
        let block = c
            .execute(&format!("const e = document.querySelector('{signature}'); return e && getComputedStyle(e).display !== 'none' ? e.innerText : null;"), vec![])
            .await
            .map_err(|e| e.to_string())?;
        let block = block.as_str().ok_or_else(|| format!("{path}: no {signature} on paper"))?.to_string();
        let dated = block.as_bytes().windows(10).any(|w| {
            w.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() })
        });
        if !dated {
            return Err(format!("{path}: {signature} on paper carries no date: {block}"));
        }
        if *signature == ".card.signed" && !block.contains(" by ") && !block.starts_with("By") && !block.contains("\nBy") {
            return Err(format!("{path}: the signature on paper names nobody: {block}"));
        }
        let org = c.execute(&shown(".print-org"), vec![]).await.map_err(|e| e.to_string())?;
        if org != serde_json::json!(1) {
            return Err(format!("{path}: the organisation's name is not on paper"));
        }
        let fits = c.execute("return document.documentElement.scrollWidth <= window.innerWidth;", vec![]).await.map_err(|e| e.to_string())?;
        if fits != serde_json::Value::Bool(true) {
            return Err(format!("{path}: runs off the side of an A4 page"));
        }
        std::fs::write(dir.join(format!("{name}.png")), c.screenshot().await.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        let pdf = c
            .issue_cmd(Cdp { cmd: "Page.printToPDF", params: serde_json::json!({ "preferCSSPageSize": true, "paperWidth": 8.27, "paperHeight": 11.69 }) })
            .await
            .map_err(|e| e.to_string())?;
        let pdf = base64::engine::general_purpose::STANDARD.decode(pdf["data"].as_str().unwrap_or("")).map_err(|e| e.to_string())?;
        std::fs::write(dir.join(format!("{name}.pdf")), &pdf).map_err(|e| e.to_string())?;
        let page_count = pdf.windows(12).filter(|w| w.starts_with(b"/Type /Page") && w[11] != b's').count();
        if !pdf.starts_with(b"%PDF") || page_count == 0 || page_count > *max_pages {
            return Err(format!("{path}: printed {page_count} A4 pages (at most {max_pages} expected)"));
        }
        // A4 portrait: 595 x 842 points.
        if !pdf.windows(19).any(|w| w == b"/MediaBox [0 0 595 " || w.starts_with(b"/MediaBox [0 0 594.")) {
            return Err(format!("{path}: the PDF's pages are not A4"));
        }
        c.issue_cmd(Cdp { cmd: "Emulation.setEmulatedMedia", params: serde_json::json!({ "media": "" }) }).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Marks the page in the browser, so that a new page load is seen (the mark is gone).
async fn mark(c: &Client) {
    c.execute("window.__walkMark = true;", vec![]).await.unwrap();
}

/// Waits for the next page: the mark gone, the document loaded.
async fn next_page(c: &Client) {
    for _ in 0..200 {
        let v = c.execute("return window.__walkMark === true ? 'old' : document.readyState;", vec![]).await;
        if matches!(v.as_ref().ok().and_then(|v| v.as_str()), Some("complete")) && c.find(Locator::Css("footer")).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no new page loaded; still at {}", path(c).await);
}

async fn sign_in_as(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(c, "#f-email", email).await;
    fill(c, "#f-password", PASSWORD).await;
    click(c, "main form button[type=submit]").await;
    arrive(c, "/dashboard").await;
}

/// The ten findings a new organisation meets most, each fixed from the gap
/// list in three page loads: the list, the form its fix link opens (already
/// filled in where Mandate knows the answer), and the page the form lands on.
#[sqlx::test]
async fn ten_common_findings_go_from_the_gap_list_to_cleared_in_three_page_loads(db: PgPool) {
    use mandate::auth::policy::Role;
    let app = crate::support::TestApp::new(db.clone()).await;
    let owner = app.user("owner@walk.example", "Olu Owner").await;
    let org = app.org("Walkers", owner).await;
    let lead = app.user("lead@walk.example", "Lee Lead").await;
    app.member(org, lead, Role::IsmsLead).await;
    let ceo_user = app.user("ceo@walk.example", "Cleo Chief").await;
    app.member(org, ceo_user, Role::Executive).await;
    let ceo = app.person(org, "Cleo Chief", "ceo@walk.example", true).await;
    app.link(org, ceo, ceo_user).await;
    app.person(org, "Ian Isms", "ian@walk.example", false).await;
    let rhea = app.person(org, "Rhea Risk", "rhea@walk.example", false).await;
    app.role(org, "ISMS manager", false, true).await;
    app.role(org, "Compliance lead", true, false).await;
    let champion = app.role(org, "Security champion", false, false).await;
    sqlx::query("UPDATE isms_roles SET authorities = '' WHERE id = $1").bind(champion).execute(&db).await.unwrap();
    let autumn = app.meeting(org, "Management review, autumn", ceo, "2026-10-01", "").await;
    app.meeting(org, "Management review, summer", rhea, "2026-09-01", "We reviewed the risks.").await;
    app.action_item(org, autumn, "Buy a password manager", None, Some("2026-11-01")).await;
    app.ask(org, ceo, "Approve the audit budget", Some("2026-11-10")).await;

    let (_driver, driver_port) = start_driver().await;
    let (addr, _) = start_server(db).await;
    let base = format!("http://{addr}");
    let c = browser(driver_port).await;
    let result = fix_walk(&c, &base).await;
    finish(c, "failure-fix-walk", result).await;
}

async fn fix_walk(c: &Client, base: &str) -> Result<(), String> {
    let by_lead = [
        "reporting_unassigned",
        "conformance_unassigned",
        "role_without_authority",
        "review_without_minutes",
        "review_without_top_management",
        "no_resource_decision",
        "silent_leadership",
        "no_objectives",
        "overdue_actions",
    ];
    sign_in_as(c, base, "lead@walk.example").await;
    for rule in by_lead {
        walk_one(c, base, rule).await?;
    }
    // An ask is answered by the leader asked, and by nobody else.
    click(c, "header form[action='/logout'] button").await;
    arrive(c, "/login").await;
    sign_in_as(c, base, "ceo@walk.example").await;
    walk_one(c, base, "unanswered_asks").await
}

/// One finding: 1. the gap list, 2. its fix link, 3. the form sent; then the gap list no longer shows it.
async fn walk_one(c: &Client, base: &str, rule: &str) -> Result<(), String> {
    c.goto(&format!("{base}/gaps")).await.map_err(|e| e.to_string())?;
    find(c, "footer").await;
    let item = format!("li[data-rule='{rule}']");
    click(c, &format!("{item} summary")).await;
    mark(c).await;
    click(c, &format!("{item} a.button")).await;
    next_page(c).await;
    let fix_page = c.current_url().await.map_err(|e| e.to_string())?;
    mark(c).await;
    match rule {
        "reporting_unassigned" | "conformance_unassigned" => {
            let appointer = find(c, "#f-appointed_by").await.prop("value").await.map_err(|e| e.to_string())?.unwrap_or_default();
            assert!(appointer.starts_with("Cleo Chief"), "{rule}: a leader is proposed as appointer: {appointer}");
            pick_person(c, "#f-person_id", if rule == "reporting_unassigned" { "Ian Isms" } else { "Rhea Risk" }).await;
            click(c, "#appoint button[type=submit]").await;
        }
        "role_without_authority" => {
            fill(c, "#edit #f-authorities", "May stop a release that puts customer data at risk.").await;
            click(c, "#edit button[type=submit]").await;
        }
        "review_without_minutes" => {
            fill(c, "#edit #f-minutes", "Reviewed the risks, the audit results and the objectives.").await;
            click(c, "#edit form > button[type=submit]").await;
        }
        "review_without_top_management" => {
            let boxes = c.find_all(Locator::Css("#edit input[name=attendees]")).await.map_err(|e| e.to_string())?;
            for b in boxes {
                let id = b.attr("id").await.map_err(|e| e.to_string())?.unwrap_or_default();
                let label = text(c, &format!("label[for='{id}']")).await;
                if label.starts_with("Cleo Chief") && b.prop("checked").await.map_err(|e| e.to_string())?.as_deref() != Some("true") {
                    b.click().await.map_err(|e| e.to_string())?;
                }
            }
            click(c, "#edit form > button[type=submit]").await;
        }
        "no_resource_decision" => {
            let decider = find(c, "#f-decided_by").await.prop("value").await.map_err(|e| e.to_string())?.unwrap_or_default();
            assert!(decider.starts_with("Cleo Chief"), "{decider}");
            fill(c, "#f-title", "Budget for the external audit").await;
            // The outcome and its day are the recorder's to enter: Mandate proposes no approval.
            let pending = find(c, "#dec-pending").await.prop("checked").await.map_err(|e| e.to_string())?;
            assert_eq!(pending.as_deref(), Some("true"), "the decision starts as pending");
            click(c, "#dec-approved").await;
            let today = chrono::Utc::now().date_naive();
            c.execute("document.getElementById('f-decided_on').value = arguments[0];", vec![serde_json::json!(today.to_string())]).await.map_err(|e| e.to_string())?;
            click(c, "main form[action='/decisions'] button[type=submit]").await;
        }
        "silent_leadership" => {
            let from = find(c, "#f-from_id").await.prop("value").await.map_err(|e| e.to_string())?.unwrap_or_default();
            assert!(from.starts_with("Cleo Chief"), "{from}");
            fill(c, "#f-subject", "Why security matters to us").await;
            fill(c, "#f-audience", "All staff").await;
            fill(c, "#f-summary", "Every one of us protects our customers' data.").await;
            click(c, "main form[action='/communications'] button[type=submit]").await;
        }
        "no_objectives" => {
            fill(c, "#f-title", "Cut the phishing click rate").await;
            fill(c, "#f-measure", "Share of staff clicking the quarterly test phish").await;
            pick_person(c, "#f-owner_id", "Cleo Chief").await;
            click(c, "main form[action='/objectives'] button[type=submit]").await;
        }
        "overdue_actions" => {
            click(c, "#edit #st-done").await;
            fill(c, "#edit #f-closing_note", "Bought and rolled out to everyone.").await;
            click(c, "#edit button[type=submit]").await;
        }
        "unanswered_asks" => {
            fill(c, "#respond #f-answer", "Approved, up to 12,000 EUR.").await;
            click(c, "#respond button[type=submit]").await;
        }
        other => return Err(format!("no walk for {other}")),
    }
    next_page(c).await;
    // Three page loads, and the third says it worked.
    if c.find(Locator::Css(".error-summary")).await.is_ok() {
        shot(c, &format!("fix-walk-{rule}")).await;
        let why = text(c, ".error-summary").await;
        return Err(format!("{rule}: the form at {fix_page} was refused: {why}"));
    }
    c.goto(&format!("{base}/gaps")).await.map_err(|e| e.to_string())?;
    find(c, "footer").await;
    if c.find(Locator::Css(&format!("li[data-rule='{rule}']"))).await.is_ok() {
        shot(c, &format!("fix-walk-{rule}")).await;
        return Err(format!("{rule} still on the gap list after its fix at {fix_page}"));
    }
    Ok(())
}

#[sqlx::test]
async fn an_authenticator_app_is_set_up_and_signs_in_in_a_real_browser(db: PgPool) {
    let (_driver, driver_port) = start_driver().await;
    let (addr, inbox) = start_server(db).await;
    let base = format!("http://{addr}");
    let c = browser(driver_port).await;
    let result = totp_journey(&c, &base, &inbox).await;
    finish(c, "failure-totp", result).await;
}

/// The phone of the journey: the code the app would show `ahead` seconds from now.
fn phone(secret: &mandate::auth::totp::Secret, ahead: i64) -> String {
    secret.code_at(Utc::now().timestamp() + ahead)
}

async fn totp_journey(c: &Client, base: &str, inbox: &Inbox) -> Result<(), String> {
    let stamp = Utc::now().timestamp_millis();
    let email = format!("tara-{stamp}@tailspin.example");
    sign_up(c, base, inbox, "Tailspin", "Tara Founder", &email).await;

    // 1. From the account page to the set-up: a QR code, and the key to type.
    c.goto(&format!("{base}/account")).await.map_err(|e| e.to_string())?;
    click(c, "a[href='/account/two-factor']").await;
    click(c, "form[action='/account/two-factor/app'] button").await;
    find(c, ".qr svg").await;
    let secret = mandate::auth::totp::Secret::from_base32(&text(c, "#totp-secret").await).ok_or("no key to type")?;
    shot(c, "60-totp-setup").await;
    fill(c, "#f-code", &phone(&secret, 0)).await;
    click(c, "form[action='/account/two-factor/app/confirm'] button").await;
    // The post lands before the codes are counted (the old page has none).
    find(c, "#recovery-codes code").await;
    let codes = c.find_all(Locator::Css("#recovery-codes code")).await.map_err(|e| e.to_string())?;
    assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
    shot(c, "61-recovery-codes").await;
    click(c, "main a.button").await;
    arrive(c, "/account/two-factor").await;
    assert!(text(c, "main").await.contains("10 of 10 left"));

    // 2. Signing in now takes the password, then the app's code.
    click(c, "header form[action='/logout'] button").await;
    arrive(c, "/login").await;
    fill(c, "#f-email", &email).await;
    fill(c, "#f-password", PASSWORD).await;
    click(c, "main form button[type=submit]").await;
    arrive(c, "/login/code").await;
    shot(c, "62-second-step").await;
    fill(c, "#f-code", "000000").await;
    click(c, "form[action='/login/code'] button").await;
    assert!(text(c, ".error-summary").await.contains("not right"));
    // The code of the next step (the set-up used this one; a code counts once).
    fill(c, "#f-code", &phone(&secret, 30)).await;
    click(c, "form[action='/login/code'] button").await;
    arrive(c, "/dashboard").await;
    Ok(())
}

#[sqlx::test]
async fn a_passkey_is_added_signs_in_and_signs_a_policy_in_a_real_browser(db: PgPool) {
    let (_driver, driver_port) = start_driver().await;
    let (base, inbox) = start_server_on_localhost(db.clone()).await;
    let c = browser(driver_port).await;
    c.issue_cmd(VirtualAuthenticator).await.expect("a virtual authenticator");
    let result = passkey_journey(&c, &base, &inbox, &db).await;
    finish(c, "failure-passkey", result).await;
}

async fn passkey_journey(c: &Client, base: &str, inbox: &Inbox, db: &PgPool) -> Result<(), String> {
    let stamp = Utc::now().timestamp_millis();
    let email = format!("pat-{stamp}@northwind.example");
    sign_up(c, base, inbox, "Northwind", "Pat Passkey", &email).await;

    // 1. A passkey named and added from the two-step sign-in page.
    c.goto(&format!("{base}/account/two-factor")).await.map_err(|e| e.to_string())?;
    fill(c, "#f-passkey-name", "Work laptop").await;
    click(c, "#add-passkey").await;
    until_text(c, ".flash", "The passkey \"Work laptop\" was added. You can sign in with it, and signatures you make are bound to it.").await;
    assert!(text(c, "section[aria-labelledby=pk-h] table").await.contains("Work laptop"));
    shot(c, "70-passkey-added").await;

    // 2. Signed out, back in with the passkey alone.
    click(c, "header form[action='/logout'] button").await;
    arrive(c, "/login").await;
    click(c, "#passkey-sign-in").await;
    arrive(c, "/dashboard").await;
    shot(c, "71-signed-in-with-passkey").await;

    // 3. A policy signed with the passkey: the authenticator signs the statement.
    c.goto(&format!("{base}/policies")).await.map_err(|e| e.to_string())?;
    fill(c, "#f-title", "Information security policy").await;
    choose(c, "#f-kind", "Information security policy").await;
    click(c, "#new-h ~ form button[type=submit]").await;
    fill(c, "#f-change_summary", "First version").await;
    fill(c, "#f-body_markdown", "# Information security policy\n\nNorthwind protects the information entrusted to it.").await;
    click(c, "#new-version button[type=submit]").await;
    click(c, "#sign-with-passkey").await;
    find(c, "#passkey-bound").await;
    shot(c, "72-signed-with-passkey").await;

    // 4. The bundle, checked offline: the passkey's signature verifies.
    let out = std::env::temp_dir().join(format!("mandate-passkey-journey-{stamp}.zip"));
    let url = crate::cli::database_url(db);
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_mandate")).args(args).env("DATABASE_URL", &url).env("RUST_LOG", "error").output().unwrap();
        (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
    };
    let (code, text) = run(&["export", "--org", "Northwind", "--out", out.to_str().unwrap()]);
    if code != 0 {
        return Err(format!("export failed: {text}"));
    }
    let (code, text) = run(&["verify-bundle", out.to_str().unwrap()]);
    if code != 0 || !text.contains("1 passkey-bound signatures checked") {
        return Err(format!("verify-bundle: {text}"));
    }
    Ok(())
}
