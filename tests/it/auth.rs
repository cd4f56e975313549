use crate::support::{Inbox, PASSWORD, TestApp, link_in, mail_to, smtp_server};
use axum::http::StatusCode;
use chrono::Duration;
use mandate::auth::policy::Role;
use sqlx::PgPool;

/// A test app whose mail goes to a real SMTP server on loopback.
async fn with_mail(db: PgPool) -> (TestApp, Inbox) {
    let (port, inbox) = smtp_server().await;
    let app = TestApp::with_config(db, |c| {
        c.smtp = Some(mandate::config::SmtpConfig { url: format!("smtp://127.0.0.1:{port}"), from: "grc@mandate.example".into() })
    })
    .await;
    (app, inbox)
}

#[sqlx::test]
async fn sign_up_by_an_emailed_link_creates_organisation_owner_and_session(db: PgPool) {
    let (app, inbox) = with_mail(db).await;
    let mut c = app.client();
    let res = c
        .post("/signup", &[("org_name", "Globex"), ("name", "Ada Lane"), ("email", "Ada@Globex.example"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.texts("main h1"), vec!["Check your e-mail"]);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(app.db()).await.unwrap();
    assert_eq!(users, 0, "nothing is created before the link is used");
    let logged: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'signup.%' ORDER BY id").fetch_all(app.db()).await.unwrap();
    assert_eq!(logged, vec!["signup.requested"], "the pending sign-up is in the audit log");
    let mail = mail_to(&inbox, "ada@globex.example").await;
    assert!(mail.contains("Subject: Finish creating Globex on Mandate"), "{mail}");
    let link = link_in(&mail, "http://localhost:8080/signup/");
    let page = c.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{link} in {mail}");
    assert!(page.texts("main h1")[0].contains("Finish creating Globex"));
    let res = c.post(&link, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/dashboard");
    let home = c.get("/dashboard").await;
    assert_eq!(home.status, StatusCode::OK);
    assert_eq!(home.texts("h1"), vec!["Globex"]);
    assert!(home.body.contains("Welcome to Mandate"), "flash shown once");
    let again = c.get("/dashboard").await;
    assert!(!again.body.contains("Welcome to Mandate"), "flash gone on the next page");
    let (role, email): (String, String) = sqlx::query_as(
        "SELECT m.role, u.email FROM memberships m JOIN users u ON u.id = m.user_id JOIN organisations o ON o.id = m.org_id WHERE o.name = 'Globex'",
    )
    .fetch_one(app.db())
    .await
    .unwrap();
    assert_eq!((role.as_str(), email.as_str()), ("owner", "ada@globex.example"));
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users").fetch_one(app.db()).await.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'signup.finished'").fetch_one(app.db()).await.unwrap();
    assert_eq!(logged, 1);
    // The link works once.
    assert_eq!(app.client().post(&link, &[]).await.status, StatusCode::GONE);
    assert_eq!(app.client().get(&link).await.status, StatusCode::GONE);
}

#[sqlx::test]
async fn sign_up_never_reveals_whether_an_address_has_an_account(db: PgPool) {
    let (app, inbox) = with_mail(db).await;
    app.user("taken@example.com", "Taken").await;
    let answer = |email: &'static str| {
        let mut c = app.client();
        async move {
            let res = c.post("/signup", &[("org_name", "Dup"), ("name", "X"), ("email", email), ("password", PASSWORD)]).await;
            (res.status, res.texts("main").concat().replace(email, "ADDRESS"))
        }
    };
    let taken = answer("taken@example.com").await;
    let fresh = answer("fresh@example.com").await;
    assert_eq!(taken.0, StatusCode::OK);
    assert_eq!(taken, fresh, "the same answer whether or not the address has an account");
    let note = mail_to(&inbox, "taken@example.com").await;
    assert!(note.contains("already has an account") && !note.contains("/signup/"), "{note}");
    let link = mail_to(&inbox, "fresh@example.com").await;
    assert!(link.contains("/signup/"), "{link}");
    let orgs: i64 = sqlx::query_scalar("SELECT count(*) FROM organisations").fetch_one(app.db()).await.unwrap();
    assert_eq!(orgs, 0, "nothing half-created");
}

#[sqlx::test]
async fn sign_ups_are_throttled_per_address(db: PgPool) {
    let (app, _inbox) = with_mail(db).await;
    let mut c = app.client();
    for i in 0..10 {
        let email = format!("n{i}@example.com");
        let res = c.post("/signup", &[("org_name", "Spam"), ("name", "X"), ("email", &email), ("password", PASSWORD)]).await;
        assert_eq!(res.status, StatusCode::OK);
    }
    let res = c.post("/signup", &[("org_name", "Spam"), ("name", "X"), ("email", "n10@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.texts("#f-email-error")[0].contains("Too many sign-ups"));
    assert!(res.body.contains("value=\"Spam\""), "input kept");
}

#[sqlx::test]
async fn sign_up_errors_keep_input_and_name_the_field(db: PgPool) {
    let app = TestApp::new(db).await;
    let mut c = app.client();
    let res = c
        .post("/signup", &[("org_name", "Initech"), ("name", ""), ("email", "not-an-email"), ("password", "password1234")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.texts("#f-name-error").len(), 1);
    assert_eq!(res.texts("#f-email-error").len(), 1);
    assert!(res.texts("#f-password-error")[0].contains("commonly used"));
    assert!(res.body.contains("value=\"Initech\""), "organisation name kept");
    assert!(res.body.contains("aria-invalid=\"true\""));
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(app.db()).await.unwrap();
    assert_eq!(users, 0);
}

#[sqlx::test]
async fn sign_in_rotates_the_session_and_sign_out_ends_it(db: PgPool) {
    let app = TestApp::new(db).await;
    let user = app.user("kim@example.com", "Kim").await;
    app.org("Kim Co", user).await;
    let mut c = app.client();
    // A session id planted before sign-in must not survive it.
    let mut planted = app.signed_in(user, None).await;
    let old = planted.cookies["mandate_session"].clone();
    c.cookies.insert("mandate_session".into(), old.clone());
    let res = c.login("kim@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/dashboard");
    let new = c.cookies["mandate_session"].clone();
    assert_ne!(old, new, "session id rotated at sign-in");
    assert!(res.header("set-cookie").contains("HttpOnly"));
    assert!(res.header("set-cookie").contains("SameSite=Lax"));
    assert_eq!(planted.get("/dashboard").await.status, StatusCode::SEE_OTHER, "old session is gone");
    assert_eq!(c.get("/dashboard").await.status, StatusCode::OK);

    let out = c.post("/logout", &[]).await;
    assert_eq!(out.location(), "/login");
    assert!(!c.signed_in());
    // Replaying the old cookie after sign-out does not work either.
    c.cookies.insert("mandate_session".into(), new);
    let res = c.get("/dashboard").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/login?next=%2Fdashboard");
}

#[sqlx::test]
async fn unknown_user_and_wrong_password_look_the_same(db: PgPool) {
    let app = TestApp::new(db).await;
    app.user("lee@example.com", "Lee").await;
    let mut a = app.client();
    let mut b = app.client();
    let wrong = a.login("lee@example.com", "not the password at all").await;
    let unknown = b.login("nobody@example.com", "not the password at all").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.texts(".error-summary"), unknown.texts(".error-summary"));
}

#[sqlx::test]
async fn secure_cookie_when_served_over_tls(db: PgPool) {
    let app = TestApp::with_config(db, |c| {
        c.base_url = "https://grc.example.com".parse().unwrap();
        c.secure_cookies = true;
    })
    .await;
    app.user("tls@example.com", "T").await;
    let mut c = app.client();
    let res = c.login("tls@example.com", PASSWORD).await;
    let cookie = res.header("set-cookie");
    assert!(cookie.starts_with("__Host-mandate_session=") && cookie.contains("; Secure") && cookie.contains("; Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(res.header("strict-transport-security").contains("max-age"));
    // The prefixed cookie is the one read back: the session works.
    assert!(c.cookies.contains_key("__Host-mandate_session"));
    assert_eq!(c.get("/account").await.status, StatusCode::OK);
}

#[sqlx::test]
async fn open_redirects_are_refused(db: PgPool) {
    let app = TestApp::new(db).await;
    let user = app.user("r@example.com", "R").await;
    app.org("R", user).await;
    let cases = [
        ("/members", "/members"),
        ("//evil.example", "/dashboard"),
        ("https://evil.example", "/dashboard"),
        ("/\\evil", "/dashboard"),
        ("/\t/evil.example", "/dashboard"),
        ("/\n/evil.example", "/dashboard"),
        ("/ /evil.example", "/dashboard"),
    ];
    for (next, expected) in cases {
        let mut c = app.client();
        let res = c.post("/login", &[("email", "r@example.com"), ("password", PASSWORD), ("next", next)]).await;
        assert_eq!(res.location(), expected, "next={next:?}");
    }
    // Signed in, the sign-in page forwards at once: the same rule applies.
    let mut signed = app.signed_in(user, None).await;
    let res = signed.get("/login?next=/%09/evil.example").await;
    assert_eq!(res.location(), "/dashboard");
}

#[sqlx::test]
async fn forwarded_addresses_are_read_from_the_proxy_end(db: PgPool) {
    let app = TestApp::with_config(db, |c| {
        c.trust_forwarded_for = true;
        c.throttle.max_address_failures = 3;
    })
    .await;
    // The client forges a different leftmost address each time; the proxy's entry stays the same.
    let mut attacker = app.client();
    for i in 0..3 {
        attacker.headers.insert("x-forwarded-for", format!("10.0.0.{i}, 203.0.113.9").parse().unwrap());
        attacker.post("/login", &[("email", &format!("nobody{i}@example.com")), ("password", "wrong wrong wrong")]).await;
    }
    attacker.headers.insert("x-forwarded-for", "10.9.9.9, 203.0.113.9".parse().unwrap());
    let res = attacker.post("/login", &[("email", "someone@example.com"), ("password", "wrong wrong wrong")]).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "throttled by the address the proxy saw");
}

#[sqlx::test]
async fn idle_timeout_ends_sessions(db: PgPool) {
    let app = TestApp::new(db).await;
    let user = app.user("t@example.com", "T").await;
    let org = app.org("T", user).await;

    let mut idle = app.signed_in(user, Some(org)).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(idle.get("/dashboard").await.status, StatusCode::OK, "activity inside 30 minutes keeps it alive");
    app.clock.advance(Duration::minutes(29));
    assert_eq!(idle.get("/dashboard").await.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(31));
    assert_eq!(idle.get("/dashboard").await.status, StatusCode::SEE_OTHER, "idle for 31 minutes");

    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(app.db()).await.unwrap();
    assert_eq!(left, 0);
}

#[sqlx::test]
async fn absolute_timeout_is_twelve_hours(db: PgPool) {
    let app = TestApp::new(db).await;
    let user = app.user("t@example.com", "T").await;
    let org = app.org("T", user).await;
    let mut c = app.signed_in(user, Some(org)).await;
    for _ in 0..47 {
        app.clock.advance(Duration::minutes(15));
        assert_eq!(c.get("/dashboard").await.status, StatusCode::OK);
    }
    // 11h45 so far; 15 more minutes reaches 12 h.
    app.clock.advance(Duration::minutes(16));
    assert_eq!(c.get("/dashboard").await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn password_change_ends_other_sessions(db: PgPool) {
    let app = TestApp::new(db).await;
    let user = app.user("p@example.com", "P").await;
    let org = app.org("P", user).await;
    let mut here = app.signed_in(user, Some(org)).await;
    let mut elsewhere = app.signed_in(user, Some(org)).await;
    let bad = here.post("/account/password", &[("current", "wrong one entirely"), ("new_password", "x"), ("confirm", "y")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.texts(".field-error").len(), 2);
    let new = "another long passphrase for p";
    let ok = here.post("/account/password", &[("current", PASSWORD), ("new_password", new), ("confirm", new)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(here.get("/dashboard").await.status, StatusCode::OK, "the session that changed it stays");
    assert_eq!(elsewhere.get("/dashboard").await.status, StatusCode::SEE_OTHER, "other sessions end");
    let mut fresh = app.client();
    assert_eq!(fresh.login("p@example.com", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(fresh.login("p@example.com", new).await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn locked_account_refuses_even_the_right_password(db: PgPool) {
    let app = TestApp::new(db).await;
    let user = app.user("lock@example.com", "L").await;
    app.org("L", user).await;
    let mut c = app.client();
    for _ in 0..5 {
        assert_eq!(c.login("lock@example.com", "wrong wrong wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    // From another address too: the account itself is locked.
    let mut other = app.client();
    other.addr = "198.51.100.7:1234".parse().unwrap();
    let res = other.login("lock@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.body.contains("even with the right password"));
    assert!(!res.header("retry-after").is_empty());
    assert!(!other.signed_in());
    app.clock.advance(Duration::minutes(16));
    assert_eq!(other.login("lock@example.com", PASSWORD).await.status, StatusCode::SEE_OTHER, "lock ends");
}

#[sqlx::test]
async fn concurrent_wrong_passwords_reach_the_check_at_most_the_limit(db: PgPool) {
    let app = TestApp::new(db).await;
    let user = app.user("storm@example.com", "S").await;
    app.org("S", user).await;
    // 60 wrong passwords at once, from 60 addresses (so only the account's limit applies).
    let attempts = (0..60).map(|i| {
        let mut c = app.client();
        c.addr = format!("198.51.100.{}:1234", i + 1).parse().unwrap();
        tokio::spawn(async move { c.login("storm@example.com", "wrong wrong wrong").await.status })
    });
    let mut checked = 0;
    for a in attempts.collect::<Vec<_>>() {
        match a.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    let counted: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures WHERE throttle_key = 'account:storm@example.com'").fetch_one(app.db()).await.unwrap();
    println!("concurrent wrong passwords: 60 sent, {checked} reached the password check, {counted} counted");
    assert!(checked <= 5, "{checked} of 60 reached the password check");
    assert_eq!(counted, checked as i64, "every check that happened is counted");
    assert!(checked >= 1);
}

#[sqlx::test]
async fn changing_the_password_is_throttled_like_signing_in(db: PgPool) {
    let app = TestApp::new(db).await;
    let user = app.user("guess@example.com", "G").await;
    let org = app.org("G", user).await;
    let mut c = app.signed_in(user, Some(org)).await;
    for _ in 0..5 {
        let res = c.post("/account/password", &[("current", "wrong wrong wrong"), ("new_password", "a much longer new password"), ("confirm", "a much longer new password")]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let res = c.post("/account/password", &[("current", PASSWORD), ("new_password", "a much longer new password"), ("confirm", "a much longer new password")]).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "a stolen session cannot go on guessing");
    assert!(res.body.contains("even with the right password"));
    assert_eq!(app.client().login("guess@example.com", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS, "the account is locked for sign-in too");
}

#[sqlx::test]
async fn one_address_is_throttled_across_accounts(db: PgPool) {
    let app = TestApp::with_config(db, |c| c.throttle.max_address_failures = 8).await;
    let user = app.user("victim@example.com", "V").await;
    app.org("V", user).await;
    let mut attacker = app.client();
    for i in 0..8 {
        let res = attacker.login(&format!("guess{i}@example.com"), "wrong wrong wrong").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(attacker.login("victim@example.com", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    let mut someone_else = app.client();
    someone_else.addr = "203.0.113.9:4000".parse().unwrap();
    assert_eq!(someone_else.login("victim@example.com", PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn user_without_organisation_is_sent_to_choose_one(db: PgPool) {
    let app = TestApp::new(db).await;
    app.user("solo@example.com", "Solo").await;
    let mut c = app.client();
    let res = c.login("solo@example.com", PASSWORD).await;
    assert_eq!(res.location(), "/orgs");
    let page = c.get("/orgs").await;
    assert!(page.texts(".empty")[0].contains("not an active member"));
    let res = c.post("/orgs", &[("name", "Solo Consulting")]).await;
    assert_eq!(res.location(), "/dashboard");
    let home = c.get("/dashboard").await;
    assert_eq!(home.texts("h1"), vec!["Solo Consulting"]);
    assert!(home.body.contains(Role::Owner.label()));
}
