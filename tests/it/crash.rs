//! The real `mandate` binary, killed with SIGKILL in the middle of an
//! upload: no row, no file at a final key, and the next start sweeps the
//! partial file away.
use crate::support::TestApp;
use mandate::auth::policy::Role;
use sqlx::PgPool;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

/// This test's own database, for the child process.
async fn database_url(db: &PgPool) -> String {
    let name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(db).await.unwrap();
    let mut url = url::Url::parse(&std::env::var("DATABASE_URL").expect("DATABASE_URL is set for the tests")).unwrap();
    url.set_path(&name);
    url.to_string()
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(database_url: &str, data: &Path, sweep_after_minutes: u32) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_mandate"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("MANDATE_BIND", format!("127.0.0.1:{port}"))
        .env("MANDATE_DATA_DIR", data)
        .env("MANDATE_NO_DEMO", "true")
        .env("MANDATE_SWEEP_AFTER_MINUTES", sweep_after_minutes.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the mandate binary starts");
    let server = Server { child, port };
    for _ in 0..300 {
        if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").await;
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("mandate did not start listening on {port}");
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn is_partial(p: &Path) -> bool {
    p.file_name().and_then(|n| n.to_str()).and_then(|n| n.rsplit_once('#')).is_some_and(|(_, n)| n.bytes().all(|b| b.is_ascii_digit()))
}

#[sqlx::test]
async fn a_killed_upload_leaves_nothing_behind(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let lead = app.user("lead@acme.example", "Lead").await;
    app.member(org, lead, Role::IsmsLead).await;
    let client = app.signed_in(lead, Some(org)).await;
    let cookie = client.cookies[mandate::auth::session::SESSION_COOKIE].clone();
    // The child process runs on the real clock: the session must be fresh by it.
    let token: String = sqlx::query_scalar("UPDATE sessions SET created_at = now(), last_seen_at = now() WHERE user_id = $1 RETURNING csrf_token")
        .bind(lead)
        .fetch_one(app.db())
        .await
        .unwrap();
    let url = database_url(app.db()).await;
    let data = std::env::temp_dir().join(format!("mandate-crash-{}", Uuid::new_v4()));
    let evidence = data.join("evidence");

    let mut server = start(&url, &data, 60).await;
    // Start a 50 MiB upload, send 8 MiB of it, then kill the server.
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let boundary = "crashtest";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nBig minutes\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nminutes\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n"
    );
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {}={cookie}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        mandate::auth::csrf::upload_action("/evidence", &token),
        server.port,
        mandate::auth::session::SESSION_COOKIE,
        50 * 1024 * 1024
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 1024 * 1024];
    for _ in 0..8 {
        conn.write_all(&chunk).await.unwrap();
    }
    conn.flush().await.unwrap();
    // Wait until the server has written part of it to disk.
    let mut seen_partial = false;
    for _ in 0..100 {
        if files_under(&evidence).iter().any(|p| is_partial(p)) {
            seen_partial = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen_partial, "the upload was streaming to the store when the server died");
    server.child.kill().expect("SIGKILL");
    server.child.wait().unwrap();
    drop(conn);

    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence_items").fetch_one(app.db()).await.unwrap();
    let revisions: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence_revisions").fetch_one(app.db()).await.unwrap();
    assert_eq!((rows, revisions), (0, 0), "no row");
    let files = files_under(&evidence);
    assert!(files.iter().all(|p| is_partial(p)), "nothing at a final key: {files:?}");
    assert_eq!(mandate::audit::verify(app.db()).await.unwrap().first_problem, None);

    // The next start sweeps the leftovers away.
    let server = start(&url, &data, 0).await;
    let mut left = files_under(&evidence);
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = files_under(&evidence);
    }
    assert!(left.is_empty(), "swept at start-up: {left:?}");
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}
