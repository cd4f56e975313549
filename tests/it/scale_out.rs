//! Two `mandate serve` processes on one database and one evidence store: a
//! session made on one works on the other, a file uploaded through one
//! downloads through the other, and a bundle whose process is killed in the
//! middle is finished by the other.
use crate::process::{self, Http, Server};
use crate::support::{PASSWORD, TestApp};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use uuid::Uuid;

async fn serve(database_url: &str, evidence: &std::path::Path) -> Server {
    let data = std::env::temp_dir().join(format!("mandate-scale-{}", Uuid::new_v4()));
    let env = [
        ("MANDATE_EVIDENCE_URL", format!("file://{}", evidence.display())),
        ("MANDATE_JOB_STALE_SECONDS", "6".into()),
        ("MANDATE_FAULT_EXPORT_PAUSE_MS", "300".into()),
    ];
    process::serve(database_url, &data, &env, &[]).await
}

#[sqlx::test]
async fn two_processes_share_sessions_files_and_background_jobs(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olive Owner").await;
    let org = app.org("Acme Ltd", owner).await;
    app.person(org, "Carol CEO", "carol@acme.example", true).await;
    let url = crate::cli::database_url(app.db());
    let evidence = std::env::temp_dir().join(format!("mandate-scale-evidence-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&evidence).unwrap();
    let a = serve(&url, &evidence).await;
    let b = serve(&url, &evidence).await;
    let http = Http::default();

    // Signed in on A, recognised on B.
    http.sign_in(&a.base, "owner@acme.example", PASSWORD).await;
    let (status, _, page) = http.get(&format!("{}/dashboard", b.base)).await;
    assert_eq!(status, 200, "the session made on A works on B");
    assert!(String::from_utf8_lossy(&page).contains("Olive Owner"));

    // Uploaded through A, downloaded through B.
    let pdf = process::pdf(300_000);
    let (status, _, _) = http.upload_evidence(&a.base, "Board minutes", "minutes.pdf", &pdf).await.unwrap();
    assert_eq!(status, 303);
    let revision: Uuid = sqlx::query_scalar("SELECT id FROM evidence_revisions WHERE org_id = $1").bind(org).fetch_one(app.db()).await.unwrap();
    let (status, _, bytes) = http.get(&format!("{}/evidence/files/{revision}", b.base)).await;
    assert_eq!((status, bytes == pdf), (200, true), "the file uploaded through A downloads through B");

    // A bundle requested on A; A is killed while making it; B finishes it.
    let t = http.token(&format!("{}/bundles", a.base)).await;
    let (status, headers, _) = http.post_form(&format!("{}/bundles", a.base), &[("csrf_token", &t), ("as_of", &chrono::Utc::now().date_naive().to_string())]).await;
    assert_eq!(status, 303);
    let job: Uuid = headers["location"].trim_start_matches("/bundles/").parse().unwrap();
    let a_pid = a.child.id();
    let started = Instant::now();
    loop {
        let (status, worker, done): (String, Option<String>, i64) =
            sqlx::query_as("SELECT status, worker, progress_done FROM jobs WHERE id = $1").bind(job).fetch_one(app.db()).await.unwrap();
        if status == "running" && worker.as_deref().is_some_and(|w| w.starts_with(&format!("{a_pid}-"))) && done >= 2 {
            break;
        }
        assert!(status != "done", "A finished before it could be killed; the pause for fault injection is not applied");
        assert!(started.elapsed() < Duration::from_secs(30), "A never started the bundle");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(a); // SIGKILL, in the middle of the bundle
    let started = Instant::now();
    let (attempts, worker) = loop {
        let (status, attempts, worker): (String, i32, Option<String>) =
            sqlx::query_as("SELECT status, attempts, worker FROM jobs WHERE id = $1").bind(job).fetch_one(app.db()).await.unwrap();
        if status == "done" {
            break (attempts, worker.unwrap_or_default());
        }
        assert!(status != "failed", "the bundle failed after A was killed");
        assert!(started.elapsed() < Duration::from_secs(60), "B did not finish the bundle");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(attempts, 2);
    assert!(worker.starts_with(&format!("{}-", b.child.id())), "B took the job over: {worker}");
    let (status, _, zip) = http.get(&format!("{}/bundles/{job}/download", b.base)).await;
    assert_eq!(status, 200);
    let path = std::env::temp_dir().join(format!("mandate-scale-{job}.zip"));
    std::fs::write(&path, &zip).unwrap();
    let report = mandate::bundles::manifest::verify(&path).await.unwrap();
    assert!(report.ok(), "{report:?}");
    // Nothing half-written is left: one bundle file, the finished one.
    let dir = evidence.join("bundles").join(org.to_string());
    let left: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| !n.contains('#')).collect();
    assert_eq!(left, vec![format!("{job}-2.zip")], "{left:?}");
    let report = mandate::audit::verify(app.db()).await.unwrap();
    assert!(report.first_problem.is_none(), "{:?}", report.first_problem);
}
