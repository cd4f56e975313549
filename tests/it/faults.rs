//! Faults: PostgreSQL going away and coming back. The app reaches the
//! database through a TCP relay the test can cut (every connection dropped,
//! new ones refused) and restore, as a database restart looks from the app.
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
