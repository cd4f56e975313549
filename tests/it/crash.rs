//! The real `mandate` binary, killed with SIGKILL in the middle of uploads
//! and exports: no row without its file, no file at a final key without its
//! row, and the next start sweeps partial files away and finishes or gives
//! up the interrupted bundles.
use crate::process::{self, Http, Server, files_under, is_partial};
use sha2::Digest;
use crate::support::TestApp;
use mandate::auth::policy::Role;
use sqlx::PgPool;
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

async fn start(database_url: &str, data: &Path, sweep_after_minutes: u32) -> Server {
    process::serve(database_url, data, &[("MANDATE_SWEEP_AFTER_MINUTES", sweep_after_minutes.to_string())], &[]).await
}

/// Sends the start of a `total_mib` MiB evidence upload: its first
/// `send_mib` MiB, leaving the connection open.
async fn start_upload(port: u16, cookie: &str, token: &str, title: &str, total_mib: usize, send_mib: usize) -> tokio::net::TcpStream {
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let boundary = "crashtest";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{title}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nminutes\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n"
    );
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {}={cookie}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        mandate::auth::csrf::upload_action("/evidence", token),
        mandate::auth::session::SESSION_COOKIE,
        total_mib * 1024 * 1024
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 1024 * 1024];
    for _ in 0..send_mib {
        conn.write_all(&chunk).await.unwrap();
    }
    conn.flush().await.unwrap();
    conn
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
    let url = crate::cli::database_url(app.db());
    let data = std::env::temp_dir().join(format!("mandate-crash-{}", Uuid::new_v4()));
    let evidence = data.join("evidence");

    let mut server = start(&url, &data, 60).await;
    // Start a 50 MiB upload, send 8 MiB of it, then kill the server.
    let conn = start_upload(server.port, &cookie, &token, "Big minutes", 50, 8).await;
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

/// Twenty rounds of: a server starts, a bundle is being made and an upload
/// is streaming (some rounds also finish a small upload), and the server is
/// killed with SIGKILL, a little later each round. Then one more start
/// recovers. Every evidence row has its whole file, no partial or
/// unreferenced file is left, every bundle was finished or given up (and
/// every finished one verifies), every upload has its audit row, and the
/// audit chain verifies.
#[sqlx::test]
async fn twenty_kills_during_uploads_and_exports_leave_nothing_half_done(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olive Owner").await;
    let org = app.org("Acme Ltd", owner).await;
    for i in 0..30 {
        app.person(org, &format!("Person {i}"), &format!("p{i}@acme.example"), i < 3).await;
    }
    let url = crate::cli::database_url(app.db());
    let data = std::env::temp_dir().join(format!("mandate-kills-{}", Uuid::new_v4()));
    let evidence = data.join("evidence");
    let env = |sweep: &str, pause: &str| {
        [("MANDATE_SWEEP_AFTER_MINUTES", sweep.to_string()), ("MANDATE_JOB_STALE_SECONDS", "6".into()), ("MANDATE_FAULT_EXPORT_PAUSE_MS", pause.into())]
    };
    let http = Http::default();
    let mut completed_uploads = 0;
    for round in 0..20u64 {
        let mut server = process::serve(&url, &data, &env("60", "40"), &[]).await;
        if round == 0 {
            http.sign_in(&server.base, "owner@acme.example", crate::support::PASSWORD).await;
        }
        let t = http.token(&format!("{}/bundles", server.base)).await;
        let (status, _, _) = http.post_form(&format!("{}/bundles", server.base), &[("csrf_token", &t), ("as_of", &chrono::Utc::now().date_naive().to_string())]).await;
        assert_eq!(status, 303, "round {round}: the bundle is requested");
        if round % 4 == 3 {
            let (status, _, _) = http.upload_evidence(&server.base, &format!("Minutes {round}"), "minutes.pdf", &process::pdf(200_000)).await.unwrap();
            assert_eq!(status, 303, "round {round}: a small upload finishes");
            completed_uploads += 1;
        }
        let cookie = http.cookie(mandate::auth::session::SESSION_COOKIE).expect("signed in");
        let conn = start_upload(server.port, &cookie, &t, &format!("Killed upload {round}"), 40, 2 + round as usize % 6).await;
        // Both under way in this process: a partial file, and a bundle job it is running.
        let pid = format!("{}-", server.child.id());
        let started = std::time::Instant::now();
        loop {
            let running: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM jobs WHERE status = 'running' AND starts_with(worker, $1))")
                .bind(&pid)
                .fetch_one(app.db())
                .await
                .unwrap();
            if running && files_under(&evidence).iter().any(|p| is_partial(p)) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "round {round}: the upload and a bundle never ran together");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(40 * (round % 5))).await;
        server.child.kill().expect("SIGKILL");
        server.child.wait().unwrap();
        drop(conn);
    }

    // One more start, which sweeps at once and makes bundles without pauses.
    let server = process::serve(&url, &data, &env("0", "0"), &[]).await;
    let started = std::time::Instant::now();
    loop {
        let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").fetch_one(app.db()).await.unwrap();
        let partial = files_under(&evidence).iter().filter(|p| is_partial(p)).count();
        if pending == 0 && partial == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(180), "{pending} bundles still pending, {partial} partial files");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every evidence row has its whole file; every item has a revision.
    let revisions: Vec<(String, i64, Vec<u8>)> = sqlx::query_as("SELECT object_key, size, sha256 FROM evidence_revisions").fetch_all(app.db()).await.unwrap();
    assert_eq!(revisions.len(), completed_uploads, "exactly the uploads that finished have rows");
    for (key, size, sha) in &revisions {
        let bytes = std::fs::read(evidence.join(key)).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(bytes.len() as i64, *size, "{key}");
        assert_eq!(sha2::Sha256::digest(&bytes).to_vec(), *sha, "{key}");
    }
    let bare: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence_items i WHERE NOT EXISTS (SELECT 1 FROM evidence_revisions r WHERE r.item_id = i.id)")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(bare, 0, "no evidence item without a file");
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'evidence.created'").fetch_one(app.db()).await.unwrap();
    assert_eq!(audited as usize, completed_uploads, "each upload has its audit row");

    // Bundles: all finished or given up; the finished ones are whole and verify.
    let jobs: Vec<(Uuid, String, i32, Option<String>)> = sqlx::query_as("SELECT id, status, attempts, result_key FROM jobs").fetch_all(app.db()).await.unwrap();
    assert_eq!(jobs.len(), 20);
    let mut finished = Vec::new();
    for (id, status, attempts, key) in &jobs {
        match status.as_str() {
            "done" => finished.push(key.clone().expect("a finished bundle has a file")),
            "failed" => assert!(*attempts >= 3, "{id} failed after {attempts} attempts"),
            other => panic!("{id} is {other}"),
        }
    }
    assert!(!finished.is_empty(), "the bundles killed in the middle were finished after the restart");
    for key in &finished {
        let report = mandate::bundles::manifest::verify(&evidence.join(key)).await.unwrap();
        assert!(report.ok(), "{key}: {report:?}");
    }

    // What is on disk is exactly what the rows name.
    let mut on_disk: Vec<String> =
        files_under(&evidence).iter().map(|p| p.strip_prefix(&evidence).unwrap().to_string_lossy().into_owned()).collect();
    let mut named: Vec<String> = revisions.iter().map(|r| r.0.clone()).chain(finished).collect();
    on_disk.sort();
    named.sort();
    assert_eq!(on_disk, named, "no partial and no unreferenced file");
    let report = mandate::audit::verify(app.db()).await.unwrap();
    assert!(report.first_problem.is_none(), "{:?}", report.first_problem);
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}
