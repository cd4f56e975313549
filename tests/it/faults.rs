//! Faults: PostgreSQL going away and coming back, and the evidence disk
//! filling up. The app reaches the database through a TCP relay the test can
//! cut (every connection dropped, new ones refused) and restore, as a
//! database restart looks from the app.
use crate::support::TestApp;
use axum::http::StatusCode;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A relay from a local port to PostgreSQL on 127.0.0.1:5432.
struct Relay {
    port: u16,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start() -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let relay = Relay { port, tasks: Arc::default() };
        relay.serve(listener);
        relay
    }

    fn serve(&self, listener: TcpListener) {
        let tasks = self.tasks.clone();
        let accept = tokio::spawn({
            let tasks = tasks.clone();
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    let pipe = tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    tasks.lock().unwrap().push(pipe);
                }
            }
        });
        tasks.lock().unwrap().push(accept);
    }

    /// PostgreSQL "goes down": open connections break, new ones are refused.
    fn cut(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    /// PostgreSQL "comes back" on the same port.
    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

#[sqlx::test]
async fn without_its_database_the_app_answers_503_and_recovers_by_itself(db: PgPool) {
    let relay = Relay::start().await;
    let name = db.connect_options().get_database().unwrap().to_string();
    // The app's pool as `db.rs` makes it, with a shorter acquire timeout to keep the test quick.
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(2))
        .connect(&format!("postgres://postgres@127.0.0.1:{}/{name}", relay.port))
        .await
        .unwrap();
    let app = TestApp::new(pool).await;
    let owner = app.user("owner@acme.example", "Owner").await;
    let org = app.org("Acme", owner).await;
    let mut c = app.signed_in(owner, Some(org)).await;
    assert_eq!(c.get("/dashboard").await.status, StatusCode::OK);

    relay.cut();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for path in ["/dashboard", "/requirements", "/gaps", "/evidence.csv", "/login"] {
        let started = Instant::now();
        let res = c.get(path).await;
        assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{path} while the database is down: {}", res.body);
        assert_eq!(res.header("retry-after"), "5", "{path}");
        assert!(res.body.contains("cannot reach its database"), "{path}: a clear page");
        assert!(!res.body.contains("sqlx") && !res.body.contains("5432"), "{path}: no internals");
        assert!(started.elapsed() < Duration::from_secs(5), "{path} answered within the acquire timeout");
    }
    let res = c.post("/requirements/00000000-0000-0000-0000-000000000000", &[("status", "implemented")]).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "a change is refused cleanly too");
    // What a load balancer asks (without cookies).
    let mut probe = app.client();
    assert_eq!(probe.get("/healthz").await.status, StatusCode::OK, "the process itself is alive");
    assert_eq!(probe.get("/readyz").await.status, StatusCode::SERVICE_UNAVAILABLE, "but not ready");

    relay.restore().await;
    let back = Instant::now();
    loop {
        let res = c.get("/dashboard").await;
        if res.status == StatusCode::OK {
            break;
        }
        assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "only 503 while recovering");
        assert!(back.elapsed() < Duration::from_secs(10), "the app recovers by itself within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(probe.get("/readyz").await.status, StatusCode::OK);
}

/// The evidence disk fills up during uploads. The real binary runs in a
/// private mount namespace (`unshare`) whose evidence folder is a 2 MiB
/// tmpfs: an upload that does not fit is refused with 507 and a plain
/// message, leaves no row and no partial file, and reads go on working.
#[sqlx::test]
async fn a_full_evidence_disk_refuses_uploads_cleanly_and_reads_keep_working(db: PgPool) {
    use crate::process::{self, Http, files_under, is_partial};
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olive Owner").await;
    app.org("Acme Ltd", owner).await;
    let data = std::env::temp_dir().join(format!("mandate-full-{}", uuid::Uuid::new_v4()));
    let evidence = data.join("evidence");
    std::fs::create_dir_all(&evidence).unwrap();
    let mount = r#"mount -t tmpfs -o size=2m mandate-evidence "$0" && exec "$@""#;
    let env = [("MANDATE_EVIDENCE_URL", format!("file://{}", evidence.display()))];
    let ev = evidence.to_str().unwrap();
    let server = process::serve(&crate::cli::database_url(app.db()), &data, &env, &["unshare", "-rm", "sh", "-c", mount, ev]).await;
    let seen = server.sees(&evidence);
    let revisions = || async { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM evidence_revisions").fetch_one(app.db()).await.unwrap() };
    let http = Http::default();
    http.sign_in(&server.base, "owner@acme.example", crate::support::PASSWORD).await;

    let first = process::pdf(1024 * 1024);
    let (status, _, _) = http.upload_evidence(&server.base, "Board minutes", "minutes.pdf", &first).await.unwrap();
    assert_eq!(status, 303, "the first file fits");
    assert_eq!(files_under(&seen).len(), 1, "the upload is on the small disk, not the real one");

    // 1.5 MiB more does not fit (it fails as the upload completes); 12 MiB
    // fails while it streams, at its first 5 MiB part.
    for size in [1536 * 1024, 12 * 1024 * 1024] {
        match http.upload_evidence(&server.base, "Too big", "big.pdf", &process::pdf(size)).await {
            Ok((status, _, page)) => {
                let page = String::from_utf8_lossy(&page);
                assert_eq!(status, 507, "{size} bytes: {page}");
                assert!(page.contains("The evidence store is full"), "{page}");
                assert!(!page.contains(ev) && !page.contains("tmpfs") && !page.contains("os error"), "no internals: {page}");
            }
            // The server may close the connection before the client has sent everything.
            Err(e) if size > 2 * 1024 * 1024 => eprintln!("the {size}-byte upload ended early: {e}"),
            Err(e) => panic!("{e}"),
        }
        assert_eq!(revisions().await, 1, "no row for a file that did not fit");
        let files = files_under(&seen);
        assert!(files.len() == 1 && !is_partial(&files[0]), "no partial file: {files:?}");
    }

    // Reads go on: the stored file downloads whole, pages render.
    let revision: uuid::Uuid = sqlx::query_scalar("SELECT id FROM evidence_revisions").fetch_one(app.db()).await.unwrap();
    let (status, _, bytes) = http.get(&format!("{}/evidence/files/{revision}", server.base)).await;
    assert_eq!((status, bytes == first), (200, true));
    let (status, _, _) = http.get(&format!("{}/evidence", server.base)).await;
    assert_eq!(status, 200);
    // The space a refused upload took was given back: a small file still fits.
    let (status, _, _) = http.upload_evidence(&server.base, "Signed policy", "policy.pdf", &process::pdf(300 * 1024)).await.unwrap();
    assert_eq!(status, 303, "a file that fits is accepted after the refusals");
    assert_eq!(revisions().await, 2);
    let report = mandate::audit::verify(app.db()).await.unwrap();
    assert!(report.first_problem.is_none(), "{:?}", report.first_problem);
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}
