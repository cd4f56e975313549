//! The evidence vault on S3-compatible storage: the same code path as the
//! local folder, against a real S3 API server (moto, from PyPI; `.ci/run`
//! installs it).
use crate::support::TestApp;
use axum::http::StatusCode;
use mandate::auth::policy::Role;
use mandate::evidence::store::EvidenceStore;
use object_store::aws::AmazonS3Builder;
use sqlx::PgPool;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

struct S3Server {
    child: Child,
    port: u16,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn http(port: u16, request: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

/// A fresh S3 API server with one bucket.
async fn s3_server(bucket: &str) -> S3Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the S3 test needs moto's server: pip install 'moto[server]' (.ci/run does this)");
    let server = S3Server { child, port };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            let created = http(port, &format!("PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")).await;
            assert!(created.starts_with("HTTP/1.1 200"), "{created}");
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the S3 test server did not start on {port}");
}

fn store(port: u16, url: &str) -> EvidenceStore {
    let builder = AmazonS3Builder::new()
        .with_endpoint(format!("http://127.0.0.1:{port}"))
        .with_allow_http(true)
        .with_region("eu-west-1")
        .with_access_key_id("mandate-test")
        .with_secret_access_key("mandate-test-secret")
        .with_virtual_hosted_style_request(false);
    EvidenceStore::s3(url, builder).unwrap()
}

/// Keys in the bucket, as the S3 API lists them.
async fn keys(port: u16, bucket: &str) -> Vec<String> {
    let listing = http(port, &format!("GET /{bucket}?list-type=2 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")).await;
    listing.split("<Key>").skip(1).map(|k| k.split("</Key>").next().unwrap().to_string()).collect()
}

#[sqlx::test]
async fn evidence_round_trips_through_s3(db: PgPool) {
    let s3 = s3_server("mandate-evidence").await;
    let app = TestApp::with_store(db, |_| {}, store(s3.port, "s3://mandate-evidence/acme-prod")).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let lead = app.user("lead@acme.example", "Lead").await;
    app.member(org, lead, Role::IsmsLead).await;
    let mut c = app.signed_in(lead, Some(org)).await;

    let res = c.multipart("/evidence", &[("title", "Policy"), ("kind", "document")], Some(("file", "policy.pdf", "application/pdf", PDF))).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let (revision, key): (uuid::Uuid, String) = sqlx::query_as("SELECT id, object_key FROM evidence_revisions").fetch_one(app.db()).await.unwrap();
    assert_eq!(keys(s3.port, "mandate-evidence").await, vec![format!("acme-prod/{key}")], "stored under the configured prefix");
    let file = c.get(&format!("/evidence/files/{revision}")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body.as_bytes(), PDF);

    // A refused upload leaves nothing in the bucket.
    let bad = c.multipart("/evidence", &[("title", "Page"), ("kind", "document")], Some(("file", "page.pdf", "application/pdf", b"<html><script>x</script></html>"))).await;
    assert_eq!(bad.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(keys(s3.port, "mandate-evidence").await.len(), 1);

    // A file no row refers to is swept; the referenced one stays.
    let orphan = EvidenceStore::key_for(org, mandate::ids::RevisionId::new());
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(axum::body::Bytes::from_static(PDF))]);
    app.state.store.receive(&orphan, body, u64::MAX, "orphan.pdf").await.unwrap();
    assert_eq!(keys(s3.port, "mandate-evidence").await.len(), 2);
    let later = chrono::Utc::now() + chrono::Duration::hours(2);
    let swept = app.state.store.sweep(app.db(), later, chrono::Duration::hours(1)).await.unwrap();
    assert_eq!(swept.orphans, 1);
    assert_eq!(keys(s3.port, "mandate-evidence").await, vec![format!("acme-prod/{key}")]);
}
