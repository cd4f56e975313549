//! Single sign-on against a real OpenID Connect provider: the npm package
//! oidc-provider (tests/oidc-provider, installed by scripts/test), started
//! on a free port per test. Its login is non-interactive: the login_hint
//! names the account, and prefixes make it send a bad ID token on purpose
//! (wrong audience, expired, another nonce).
use crate::support::{Client, PASSWORD, TestApp};
use mandate::auth::policy::Role;
use sqlx::PgPool;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The provider, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider() -> Provider {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc-provider");
    assert!(std::path::Path::new(dir).join("node_modules/oidc-provider").exists(), "oidc-provider is not installed: run scripts/test, which installs it");
    let mut child = Command::new("node")
        .arg("server.mjs")
        .current_dir(dir)
        .env("PORT", "0")
        .env("CLIENT_ID", "mandate")
        .env("CLIENT_SECRET", "mandate-secret")
        .env("REDIRECT_URI", "http://localhost:8080/auth/oidc/callback")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node runs the provider");
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    // Keep reading what it says, so its writes never meet a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let port: u16 = line.trim().strip_prefix("listening on ").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("the provider said {line:?}"));
    Provider { child, issuer: format!("http://127.0.0.1:{port}") }
}

/// Follows the provider's redirects as a browser would (keeping its
/// cookies) until it sends the browser back to Mandate; answers that path.
async fn through_provider(start: &str) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut jar: HashMap<String, String> = HashMap::new();
    let mut url = url::Url::parse(start).unwrap();
    for _ in 0..10 {
        let cookie = jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let res = http.get(url.clone()).header("cookie", cookie).send().await.unwrap();
        for sc in res.headers().get_all("set-cookie") {
            let first = sc.to_str().unwrap().split(';').next().unwrap_or_default();
            if let Some((k, v)) = first.split_once('=') {
                jar.insert(k.to_string(), v.to_string());
            }
        }
        let location = res.headers().get("location").unwrap_or_else(|| panic!("{url} answered {} without a redirect", res.status())).to_str().unwrap().to_string();
        let next = url.join(&location).unwrap();
        if next.as_str().starts_with("http://localhost:8080/") {
            return next[url::Position::BeforePath..].to_string();
        }
        url = next;
    }
    panic!("the provider never sent the browser back");
}

/// Asks Mandate to start single sign-on for `email`; answers the provider
/// address it redirects to, with its login_hint replaced by `hint` if given.
async fn start(c: &mut Client, email: &str, hint: Option<&str>) -> String {
    let res = c.post("/login/sso", &[("email", email)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let mut url = url::Url::parse(res.location()).unwrap_or_else(|_| panic!("not sent to the provider: {}", res.location()));
    let pairs: HashMap<String, String> = url.query_pairs().into_owned().collect();
    for needed in ["code_challenge", "state", "nonce", "redirect_uri"] {
        assert!(pairs.contains_key(needed), "the request carries {needed}: {url}");
    }
    assert_eq!(pairs["code_challenge_method"], "S256");
    assert_eq!(pairs["login_hint"], email);
    if let Some(hint) = hint {
        let kept: Vec<(String, String)> = url.query_pairs().into_owned().map(|(k, v)| if k == "login_hint" { (k, hint.to_string()) } else { (k, v) }).collect();
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    url.to_string()
}

async fn sign_in(app: &TestApp, email: &str, hint: Option<&str>) -> (Client, crate::support::Resp) {
    let mut c = app.client();
    let to_provider = start(&mut c, email, hint).await;
    let back = through_provider(&to_provider).await;
    assert!(back.starts_with("/auth/oidc/callback?"), "{back}");
    let res = c.get(&back).await;
    (c, res)
}

async fn acme(db: PgPool) -> (TestApp, Provider, Client, mandate::ids::OrgId) {
    let app = TestApp::with_config(db, |c| c.oidc_allow_local_http = true).await;
    let p = provider();
    let owner = app.user("owner@acme.example", "Olu Owner").await;
    let org = app.org("Acme", owner).await;
    let mut o = app.signed_in(owner, Some(org)).await;
    let res = o.post("/settings/sso", &[("issuer", &p.issuer), ("client_id", "mandate"), ("client_secret", "mandate-secret"), ("domains", "acme.example")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    (app, p, o, org)
}

async fn flash_after(c: &mut Client) -> String {
    c.get("/login").await.texts(".flash").join(" ")
}

#[sqlx::test]
async fn an_invited_person_signs_in_through_the_provider_and_others_do_not(db: PgPool) {
    let (app, p, mut o, org) = acme(db).await;
    let page = o.get("/settings/sso").await;
    assert_eq!(page.attr("#f-issuer", "value").as_deref(), Some(p.issuer.as_str()));
    assert!(!page.body.contains("mandate-secret"), "the secret is never shown");
    assert_eq!(o.post("/members/invite", &[("email", "ida@acme.example"), ("role", "contributor")]).await.status, 303);

    let (mut c, res) = sign_in(&app, "ida@acme.example", None).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/dashboard"), "{}", res.body);
    assert!(c.signed_in());
    assert_eq!(c.get("/dashboard").await.status, 200);
    let role: String = sqlx::query_scalar("SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'ida@acme.example' AND m.org_id = $1")
        .bind(org.0)
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(role, "contributor", "the invitation's role");
    let how: String = sqlx::query_scalar("SELECT detail FROM security_events WHERE kind = 'signed_in' AND email = 'ida@acme.example'").fetch_one(app.db()).await.unwrap();
    assert!(how.contains("through single sign-on"), "{how}");

    // An account that exists (made elsewhere) is never signed into by its address alone.
    let zoe = app.user("zoe@acme.example", "Zoe Elsewhere").await;
    let other = app.org("Zoe's own", zoe).await;
    let _ = other;
    assert_eq!(o.post("/members/invite", &[("email", "zoe@acme.example"), ("role", "contributor")]).await.status, 303);
    let (mut c, res) = sign_in(&app, "zoe@acme.example", None).await;
    assert_eq!(res.location(), "/login");
    assert!(!c.signed_in());
    assert!(flash_after(&mut c).await.contains("already exists"));

    // Not invited, and the owner lets nobody join: refused, no account made.
    let (mut c, res) = sign_in(&app, "nina@acme.example", None).await;
    assert_eq!(res.location(), "/login");
    assert!(!c.signed_in());
    assert!(flash_after(&mut c).await.contains("Ask one of its owners to invite you"));
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'nina@acme.example'").fetch_one(app.db()).await.unwrap();
    assert_eq!(made, 0);

    // With joining allowed (never as executive or owner), she gets in as a contributor.
    let res = o.post("/settings/sso", &[("issuer", &p.issuer), ("client_id", "mandate"), ("domains", "acme.example"), ("join_role", "executive")]).await;
    assert_eq!(res.status, 422);
    let res = o.post("/settings/sso", &[("issuer", &p.issuer), ("client_id", "mandate"), ("domains", "acme.example"), ("join_role", "contributor")]).await;
    assert_eq!(res.status, 303, "a blank secret keeps the saved one: {}", res.body);
    let (c, res) = sign_in(&app, "nina@acme.example", None).await;
    assert_eq!(res.location(), "/dashboard");
    assert!(c.signed_in());

    // An address of a domain the organisation has not named is refused at the end, whatever the provider says.
    let (c, res) = sign_in(&app, "ida@acme.example", Some("ida@elsewhere.example")).await;
    assert_eq!(res.location(), "/login");
    assert!(!c.signed_in());
    // And a domain nobody signs in with is told so at the start.
    let mut d = app.client();
    let res = d.post("/login/sso", &[("email", "someone@elsewhere.example")]).await;
    assert_eq!(res.location(), "/login");
    assert!(flash_after(&mut d).await.contains("No organisation signs in with single sign-on for elsewhere.example"));
}

#[sqlx::test]
async fn bad_id_tokens_and_answers_are_refused(db: PgPool) {
    let (app, _p, mut o, _org) = acme(db).await;
    assert_eq!(o.post("/members/invite", &[("email", "ida@acme.example"), ("role", "contributor")]).await.status, 303);
    for (hint, why) in [
        ("wrong-aud:ida@acme.example", "audience"),
        ("expired:ida@acme.example", "expired"),
        ("wrong-nonce:ida@acme.example", "nonce"),
        ("unverified:ida@acme.example", "verified"),
        ("bad-sig:ida@acme.example", "signature"),
        ("deny", "access_denied"),
    ] {
        let (mut c, res) = sign_in(&app, "ida@acme.example", Some(hint)).await;
        assert_eq!(res.location(), "/login", "{hint}");
        assert!(!c.signed_in(), "{hint} signed in");
        let flash = flash_after(&mut c).await;
        assert!(flash.to_lowercase().contains(why), "{hint}: {flash}");
    }
    // An answer that is not for this browser's sign-in (another state) is refused.
    let mut c = app.client();
    let to_provider = start(&mut c, "ida@acme.example", None).await;
    let back = through_provider(&to_provider).await;
    let forged = back.replace("state=", "state=x");
    let res = c.get(&forged).await;
    assert_eq!(res.location(), "/login");
    assert!(!c.signed_in());
    // Nor can the real answer be used by another browser.
    let mut other = app.client();
    let res = other.get(&back).await;
    assert_eq!(res.location(), "/login");
    assert!(!other.signed_in());
}

#[sqlx::test]
async fn required_single_sign_on_refuses_members_passwords_but_not_the_owners(db: PgPool) {
    let (app, p, mut o, org) = acme(db).await;
    let carl = app.user("carl@acme.example", "Carl Contributor").await;
    app.member(org, carl, Role::Contributor).await;
    let res = o.post("/settings/sso", &[("issuer", &p.issuer), ("client_id", "mandate"), ("domains", "acme.example"), ("required", "on")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    // His account existed before: the provider cannot sign him into it by his address alone.
    let (c, res) = sign_in(&app, "carl@acme.example", None).await;
    assert_eq!(res.location(), "/login");
    assert!(!c.signed_in());
    // Signed in as himself, he links it once from his account page...
    let mut c = app.client();
    assert_eq!(c.login("carl@acme.example", PASSWORD).await.location(), "/dashboard");
    // Until he links, the password gets him no further than the link.
    assert_eq!(c.get("/dashboard").await.location(), "/account#sso-h");
    let account = c.get("/account").await;
    assert!(account.has("#link-sso") && account.body.contains("requires single sign-on"), "{}", account.body);
    let res = c.post("/login/sso", &[("email", "carl@acme.example"), ("next", "/account")]).await;
    let back = through_provider(res.location()).await;
    let res = c.get(&back).await;
    assert_eq!(res.location(), "/account", "{}", res.body);
    assert_eq!(c.get("/dashboard").await.status, 200, "linked, he works as before");
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM sso_identities WHERE user_id = $1").bind(carl).fetch_one(app.db()).await.unwrap();
    assert_eq!(linked, 1);
    // ...and from then on his password no longer signs him in; the provider does.
    let mut c = app.client();
    let res = c.login("carl@acme.example", PASSWORD).await;
    assert_eq!(res.status, 403);
    assert!(res.body.contains("signs in through single sign-on"), "{}", res.body);
    assert!(!c.signed_in());
    let (c, res) = sign_in(&app, "carl@acme.example", None).await;
    assert_eq!(res.location(), "/dashboard");
    assert!(c.signed_in());
    // The owner's password is the way in when the provider is down (documented break-glass).
    let mut b = app.client();
    assert_eq!(b.login("owner@acme.example", PASSWORD).await.location(), "/dashboard");
    let changed: i64 = sqlx::query_scalar("SELECT count(*) FROM security_events WHERE kind = 'sign_in_rules_changed'").fetch_one(app.db()).await.unwrap();
    assert_eq!(changed, 2);
}
