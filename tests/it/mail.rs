//! Invitation e-mail over real SMTP (aiosmtpd on loopback, read back from
//! its mailbox), and the fallback when delivery fails.
use crate::support::{TestApp, mail_to, smtp_server};
use axum::http::StatusCode;
use mandate::config::SmtpConfig;
use sqlx::PgPool;

#[sqlx::test]
async fn invitations_are_emailed_when_smtp_is_configured(db: PgPool) {
    let (port, inbox) = smtp_server().await;
    let app = TestApp::with_config(db, |c| {
        c.smtp = Some(SmtpConfig { url: format!("smtp://127.0.0.1:{port}"), from: "Mandate <grc@acme.example>".into() })
    }).await;
    let owner = app.user("owner@acme.example", "Olu Owner").await;
    let org = app.org("Acme", owner).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    let res = c.post("/members/invite", &[("email", "cfo@acme.example"), ("role", "executive")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = c.get("/members").await;
    assert!(page.texts(".flash")[0].contains("e-mailed to cfo@acme.example"));
    assert!(!page.body.contains("/invite/"), "the link is not shown when it was sent");
    let mail = mail_to(&inbox, "cfo@acme.example").await;
    assert!(mail.lines().any(|l| l == "To: cfo@acme.example"), "{mail}");
    assert!(mail.contains("Subject: Join Acme on Mandate"));
    let token_line = mail.lines().find(|l| l.contains("http://localhost:8080/invite/")).expect("link in the e-mail");
    let path = &token_line.trim()["http://localhost:8080".len()..];
    let mut newcomer = app.client();
    assert_eq!(newcomer.get(path).await.status, StatusCode::OK, "the e-mailed link works");
}

#[sqlx::test]
async fn failed_delivery_shows_the_link_instead(db: PgPool) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = TestApp::with_config(db, |c| {
        c.smtp = Some(SmtpConfig { url: format!("smtp://127.0.0.1:{closed}"), from: "grc@acme.example".into() })
    }).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    c.post("/members/invite", &[("email", "cfo@acme.example"), ("role", "executive")]).await;
    let flash = c.get("/members").await.texts(".flash")[0].clone();
    assert!(flash.contains("could not be sent"), "{flash}");
    assert!(flash.contains("http://localhost:8080/invite/"));
}

#[sqlx::test]
async fn acknowledgement_links_are_emailed_when_asked(db: PgPool) {
    use mandate::policies::versions::model::{Bump, PolicyKind};
    let (port, inbox) = smtp_server().await;
    let app = TestApp::with_config(db, |c| {
        c.smtp = Some(SmtpConfig { url: format!("smtp://127.0.0.1:{port}"), from: "Mandate <grc@acme.example>".into() })
    })
    .await;
    let owner = app.user("owner@acme.example", "Olu Owner").await;
    let org = app.org("Acme", owner).await;
    app.person(org, "Sam Staff", "sam@acme.example", false).await;
    let policy = app.policy(org, "Acceptable use", PolicyKind::AcceptableUse, false).await;
    let v = app.draft(org, policy, "# Use", None, Bump::Major).await;
    app.sign(org, v, owner, true).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    let res = c.post(&format!("/policies/versions/{v}/campaigns"), &[("send", "on")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("1 e-mail is on the way"), "{}", res.body);
    // They go out in the background, through the outbox.
    assert_eq!(mandate::notify::send_due(&app.state).await.unwrap(), 1);
    let mail = mail_to(&inbox, "sam@acme.example").await;
    assert!(mail.lines().any(|l| l == "To: sam@acme.example") && mail.contains("/ack/"), "{mail}");
    assert!(mail.contains("Acceptable use"));
}
