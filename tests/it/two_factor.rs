//! Two-step sign-in (authenticator app, recovery codes), an organisation
//! requiring it, and step-up before changes made in a leader's name.
use crate::support::{Client, PASSWORD, TestApp};
use chrono::Duration;
use mandate::auth::policy::Role;
use mandate::auth::totp::Secret;
use sqlx::PgPool;
use uuid::Uuid;

/// Sets up an authenticator app as a person would: reads the key off the
/// page, types the app's code. Answers the secret and the recovery codes.
pub async fn enrol(app: &TestApp, c: &mut Client) -> (Secret, Vec<String>) {
    let res = c.post("/account/two-factor/app", &[]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let page = c.get("/account/two-factor").await;
    assert!(page.has(".qr svg"), "a QR code to scan");
    let typed = page.texts("#totp-secret").pop().expect("the key to type");
    let secret = Secret::from_base32(&typed).expect("a base32 key");
    let wrong = c.post("/account/two-factor/app/confirm", &[("code", "000000")]).await;
    assert_eq!(wrong.status, 422, "a wrong first code is refused");
    assert!(wrong.has("#f-code[aria-invalid=true]"));
    let code = secret.code_at(app.state.clock.now().timestamp());
    let res = c.post("/account/two-factor/app/confirm", &[("code", &code)]).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let codes = res.texts("#recovery-codes code");
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

async fn events(app: &TestApp, user: Uuid) -> Vec<(String, String)> {
    sqlx::query!("SELECT kind, detail FROM security_events WHERE user_id = $1 ORDER BY id", user)
        .fetch_all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.kind, r.detail))
        .collect()
}

/// The app's code at the app's clock, after moving on one step (a code is good once).
fn next_code(app: &TestApp, s: &Secret) -> String {
    app.clock.advance(Duration::seconds(30));
    s.code_at(app.state.clock.now().timestamp())
}

#[sqlx::test]
async fn an_authenticator_app_guards_sign_in_and_codes_work_once(db: PgPool) {
    let app = TestApp::new(db).await;
    let ceo = app.user("ceo@a.example", "Chief Executive").await;
    let org = app.org("Acme", ceo).await;
    let mut c = app.signed_in(ceo, Some(org)).await;
    assert!(c.get("/account").await.body.contains("Off: signing in asks for your password only"));
    let (secret, codes) = enrol(&app, &mut c).await;
    assert!(c.get("/account").await.body.contains("On: signing in asks for a code"));
    let kinds: Vec<String> = events(&app, ceo).await.into_iter().map(|(k, _)| k).collect();
    assert!(kinds.contains(&"factor_enrolled".to_string()), "{kinds:?}");
    let audited = sqlx::query_scalar!("SELECT count(*) FROM audit_log WHERE action = 'user.second_factor_added' AND entity_id = $1", ceo.to_string())
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(audited, Some(1));

    // The password alone now opens only the second step: no session yet.
    let mut d = app.client();
    let res = d.login("ceo@a.example", PASSWORD).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/login/code"));
    assert!(!d.signed_in());
    assert_eq!(d.get("/dashboard").await.location(), "/login?next=%2Fdashboard");
    assert!(d.get("/login/code").await.has("#f-code"));
    let wrong = d.post("/login/code", &[("code", "123456")]).await;
    assert_eq!(wrong.status, 401);
    assert!(!d.signed_in());
    // The code used to confirm the app is not accepted again.
    let replay = d.post("/login/code", &[("code", &secret.code_at(app.state.clock.now().timestamp()))]).await;
    assert_eq!(replay.status, 401, "a code counts once");
    let code = next_code(&app, &secret);
    let res = d.post("/login/code", &[("code", &code)]).await;
    assert_eq!((res.status.as_u16(), res.location()), (303, "/dashboard"));
    assert!(d.signed_in());
    assert_eq!(d.get("/dashboard").await.status, 200);
    let signed_in = events(&app, ceo).await.into_iter().filter(|(k, _)| k == "signed_in").map(|(_, d)| d).collect::<Vec<_>>();
    assert_eq!(signed_in, ["Signed in with a password and an authenticator app code."]);

    // The same code cannot open a second sign-in.
    let mut e = app.client();
    e.login("ceo@a.example", PASSWORD).await;
    assert_eq!(e.post("/login/code", &[("code", &code)]).await.status, 401);

    // A recovery code signs in once.
    let res = e.post("/login/code", &[("recovery_code", &codes[3].to_uppercase())]).await;
    assert_eq!(res.status, 303, "typed in capitals: {}", res.body);
    assert!(e.signed_in());
    let mut f = app.client();
    f.login("ceo@a.example", PASSWORD).await;
    let again = f.post("/login/code", &[("recovery_code", &codes[3])]).await;
    assert_eq!(again.status, 401);
    assert!(again.body.contains("not one of your unused recovery codes"));
    assert!(c.get("/account/two-factor").await.body.contains("9 of 10 left"));

    // A second step left too long starts again.
    let mut g = app.client();
    g.login("ceo@a.example", PASSWORD).await;
    app.clock.advance(Duration::minutes(6));
    let res = g.post("/login/code", &[("code", &secret.code_at(app.state.clock.now().timestamp()))]).await;
    assert_eq!(res.location(), "/login");
    assert!(!g.signed_in());
}

#[sqlx::test]
async fn wrong_codes_lock_the_second_step_and_are_logged(db: PgPool) {
    let app = TestApp::new(db).await;
    let ceo = app.user("ceo@a.example", "Chief Executive").await;
    let org = app.org("Acme", ceo).await;
    let mut c = app.signed_in(ceo, Some(org)).await;
    let (secret, _) = enrol(&app, &mut c).await;
    let mut d = app.client();
    d.login("ceo@a.example", PASSWORD).await;
    let max = app.state.config.throttle.max_account_failures;
    for _ in 0..max {
        assert_eq!(d.post("/login/code", &[("code", "000000")]).await.status, 401);
    }
    let code = next_code(&app, &secret);
    let locked = d.post("/login/code", &[("code", &code)]).await;
    assert_eq!(locked.status, 429, "even the right code is refused while locked");
    assert!(locked.body.contains("Codes are refused"));
    assert!(!d.signed_in());
    let kinds: Vec<String> = events(&app, ceo).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "factor_failed").count() as i64, max);
    assert!(kinds.contains(&"locked_out".to_string()), "{kinds:?}");
}

#[sqlx::test]
async fn an_organisation_can_require_a_second_factor_of_those_who_lead_it(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@a.example", "Olive Owner").await;
    let org = app.org("Acme", owner).await;
    let exec = app.user("exec@a.example", "Eve Executive").await;
    app.member(org, exec, Role::Executive).await;
    let contrib = app.user("contrib@a.example", "Carl Contributor").await;
    app.member(org, contrib, Role::Contributor).await;
    let mut o = app.signed_in(owner, Some(org)).await;

    // An owner without a factor cannot require one (it would stop them too).
    let res = o.post("/settings/sign-in", &[("require_second_factor", "on"), ("step_up_minutes", "10")]).await;
    assert_eq!(res.status, 422);
    assert!(res.has("#f-require_second_factor-error") || res.body.contains("Set up your own authenticator app first"));
    enrol(&app, &mut o).await;
    let res = o.post("/settings/sign-in", &[("require_second_factor", "on"), ("step_up_minutes", "5")]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let page = o.get("/settings").await;
    assert!(page.body.contains("1 of 2 owners, ISMS leads and executives have no second factor yet: Eve Executive"), "{}", page.body);
    let changed: Vec<String> = events(&app, owner).await.into_iter().filter(|(k, _)| k == "sign_in_rules_changed").map(|(_, d)| d).collect();
    assert_eq!(changed.len(), 1);

    // The executive can do nothing until they enrol; the contributor is not concerned.
    let mut e = app.client();
    let res = e.login("exec@a.example", PASSWORD).await;
    assert_eq!(res.location(), "/dashboard");
    let blocked = e.get("/dashboard").await;
    assert_eq!((blocked.status.as_u16(), blocked.location()), (303, "/account/two-factor"));
    assert_eq!(e.get("/policies").await.location(), "/account/two-factor");
    let post = e.post("/people/roster", &[("person_id", &Uuid::new_v4().to_string())]).await;
    assert_eq!(post.location(), "/account/two-factor", "no change either");
    let page = e.get("/account/two-factor").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("requires a second factor"), "{}", page.body);
    enrol(&app, &mut e).await;
    assert_eq!(e.get("/dashboard").await.status, 200);
    // Required: the app cannot be turned off.
    let res = e.post("/account/two-factor/app/remove", &[]).await;
    assert_eq!(res.status, 303);
    assert!(e.get("/account/two-factor").await.body.contains("stays on"));
    let mut k = app.signed_in(contrib, Some(org)).await;
    assert_eq!(k.get("/dashboard").await.status, 200);
}

#[sqlx::test]
async fn sensitive_changes_ask_for_a_fresh_proof_and_keep_the_form(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@a.example", "Olive Owner").await;
    let org = app.org("Acme", owner).await;
    let lead = app.user("lead@a.example", "Lee Lead").await;
    let membership = app.member(org, lead, Role::Contributor).await;
    let mut o = app.signed_in(owner, Some(org)).await;
    let path = format!("/members/{membership}/role");
    // Fresh from signing in: no question asked.
    assert_eq!(o.post(&path, &[("role", "auditor")]).await.status, 303);

    // Eleven minutes on, the same change asks for the password again (no app yet)...
    app.clock.advance(Duration::minutes(11));
    let asked = o.post(&path, &[("role", "isms_lead")]).await;
    assert_eq!(asked.status, 401);
    assert!(asked.has("input[name=_step_up_password]"));
    assert_eq!(asked.attr("input[name=role]", "value").as_deref(), Some("isms_lead"), "what was typed is carried");
    assert!(asked.body.contains(&format!("action=\"{path}\"")), "the form goes to the same place again");
    let role = || async { sqlx::query_scalar!("SELECT role FROM memberships WHERE id = $1", membership).fetch_one(app.db()).await.unwrap() };
    assert_eq!(role().await, "auditor", "nothing changed yet");
    // A `password` field that the route does not check proves nothing.
    assert_eq!(o.post(&path, &[("role", "isms_lead"), ("password", "anything")]).await.status, 401);
    assert_eq!(role().await, "auditor");
    // ...refuses a wrong one...
    let csrf = asked.csrf().unwrap();
    let wrong = o.post_raw(&path, &[("csrf_token", &csrf), ("role", "isms_lead"), ("_step_up_password", "not the password")]).await;
    assert_eq!(wrong.status, 422);
    assert_eq!(role().await, "auditor");
    // ...and with the right one makes the change as sent.
    let res = o.post_raw(&path, &[("csrf_token", &csrf), ("role", "isms_lead"), ("_step_up_password", PASSWORD)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(role().await, "isms_lead");
    assert!(events(&app, owner).await.iter().any(|(k, d)| k == "identity_confirmed" && d.contains("the password")));
    // The proof holds for the next few minutes.
    assert_eq!(o.post(&path, &[("role", "auditor")]).await.status, 303);

    // With an app, the question is its code.
    let (secret, _) = enrol(&app, &mut o).await;
    app.clock.advance(Duration::minutes(11));
    let asked = o.post(&path, &[("role", "contributor")]).await;
    assert_eq!(asked.status, 401);
    assert!(asked.has("input[name=_step_up_code]") && !asked.has("input[name=_step_up_password]"));
    let csrf = asked.csrf().unwrap();
    let pw = o.post_raw(&path, &[("csrf_token", &csrf), ("role", "contributor"), ("_step_up_password", PASSWORD)]).await;
    assert_eq!(pw.status, 401, "the password does not stand in for the app");
    let code = secret.code_at(app.state.clock.now().timestamp());
    let res = o.post_raw(&path, &[("csrf_token", &csrf), ("role", "contributor"), ("_step_up_code", &code)]).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(role().await, "contributor");
}

/// Every change made in a leader's name or over who leads asks for a
/// fresh proof; the list is fixed here, so dropping one fails.
#[sqlx::test]
async fn every_sensitive_route_asks_for_a_fresh_proof(db: PgPool) {
    let expected = [
        "/account/passkeys",
        "/account/passkeys/{id}/remove",
        "/account/tokens",
        "/account/two-factor/app/confirm",
        "/account/two-factor/app/remove",
        "/account/two-factor/recovery-codes",
        "/appointments/{id}/accept",
        "/appointments/{id}/confirm",
        "/appointments/{id}/end",
        "/appointments/{id}/paper-acceptance",
        "/appointments/{id}/paper-confirmation",
        "/findings/{id}/accept",
        "/findings/{id}/end-acceptance",
        "/invitations/{id}/revoke",
        "/meetings/{id}/paper",
        "/meetings/{id}/sign-off",
        "/members/invite",
        "/members/{id}/disable",
        "/members/{id}/enable",
        "/members/{id}/role",
        "/members/{id}/window",
        "/people/roster",
        "/people/roster/{id}/confirm",
        "/people/roster/{id}/refuse",
        "/people/roster/{id}/withdraw",
        "/policies/versions/{id}/paper",
        "/policies/versions/{id}/sign",
        "/roles/{id}/appointments",
        "/settings/sign-in",
        "/settings/sso",
        "/settings/sso/remove",
    ];
    let mut listed = mandate::app::step_up_list();
    listed.sort();
    assert_eq!(listed, expected);

    let app = TestApp::new(db).await;
    let owner = app.user("owner@a.example", "Olive Owner").await;
    let org = app.org("Acme", owner).await;
    let mut o = app.signed_in(owner, Some(org)).await;
    app.clock.advance(Duration::minutes(11));
    for path in expected {
        let url = path.replace("{id}", &Uuid::new_v4().to_string());
        let res = o.post(&url, &[("note", "kept")]).await;
        assert_eq!(res.status, 401, "{path} did not ask");
        assert_eq!(res.attr("input[name=note]", "value").as_deref(), Some("kept"), "{path}");
    }
}

/// Joining another organisation with an existing account's password goes
/// through its second step, like signing in.
#[sqlx::test]
async fn joining_with_a_password_still_asks_for_the_second_factor(db: PgPool) {
    let app = TestApp::new(db).await;
    let ceo = app.user("ceo@a.example", "Chief Executive").await;
    let org = app.org("Acme", ceo).await;
    let mut c = app.signed_in(ceo, Some(org)).await;
    let (secret, _) = enrol(&app, &mut c).await;
    let other_owner = app.user("owner@b.example", "Bea Owner").await;
    let other = app.org("Beta", other_owner).await;
    let (_, token) = app.invitation(other, other_owner, "ceo@a.example", Role::Executive).await;
    let mut d = app.client();
    let res = d.post(&format!("/invite/{token}"), &[("password", PASSWORD)]).await;
    assert_eq!(res.location(), "/login/code", "{}", res.body);
    assert!(!d.signed_in());
    let res = d.post("/login/code", &[("code", &next_code(&app, &secret))]).await;
    assert_eq!(res.location(), format!("/invite/{token}"));
    assert!(d.signed_in());
}

/// The break-glass path: the operator removes a lost app from the command
/// line; the holder signs in with the password alone, and the logs say who.
#[sqlx::test]
async fn the_operator_removes_a_lost_authenticator_app(db: PgPool) {
    let app = TestApp::new(db).await;
    let ceo = app.user("ceo@a.example", "Chief Executive").await;
    let org = app.org("Acme", ceo).await;
    let mut c = app.signed_in(ceo, Some(org)).await;
    enrol(&app, &mut c).await;
    crate::passkeys::SoftPasskey::register(&app, ceo, "Lost phone").await;
    let run = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mandate"))
            .args(["remove-second-factor", "--email", email])
            .env("DATABASE_URL", crate::cli::database_url(app.db()))
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let out = run("nobody@a.example");
    assert_eq!(out.status.code(), Some(2), "an unknown address");
    let out = run("CEO@a.example");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("were removed"));
    assert!(!c.get("/dashboard").await.status.is_success(), "the sessions ended");
    let mut d = app.client();
    assert_eq!(d.login("ceo@a.example", PASSWORD).await.location(), "/dashboard", "the password alone again");
    assert!(events(&app, ceo).await.iter().any(|(k, d)| k == "factor_removed" && d.contains("operator")));
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM passkeys").fetch_one(app.db()).await.unwrap();
    assert_eq!(left, 0, "the passkeys went too");
}
