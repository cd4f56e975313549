//! Two `mandate serve` processes on one database and one evidence store: a
//! session made on one works on the other, a file uploaded through one
//! downloads through the other, and a bundle whose process is killed in the
//! middle is finished by the other.
use crate::support::{PASSWORD, TestApp};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sqlx::PgPool;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn serve(database_url: &str, evidence: &std::path::Path) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_mandate"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("MANDATE_BIND", format!("127.0.0.1:{port}"))
        .env("MANDATE_NO_DEMO", "true")
        .env("MANDATE_DATA_DIR", std::env::temp_dir().join(format!("mandate-scale-{}", Uuid::new_v4())))
        .env("MANDATE_EVIDENCE_URL", format!("file://{}", evidence.display()))
        .env("MANDATE_JOB_STALE_SECONDS", "6")
        .env("MANDATE_FAULT_EXPORT_PAUSE_MS", "300")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let http = Http::default();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok((200, _, _)) = http.try_send("GET", &format!("{}/healthz", server.base), None).await {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("mandate serve did not answer on port {port}");
}

/// A tiny HTTP client that keeps cookies, as a browser would across both ports.
#[derive(Default)]
struct Http {
    cookies: std::sync::Mutex<HashMap<String, String>>,
}

type Answer = (u16, HashMap<String, String>, Vec<u8>);

impl Http {
    async fn try_send(&self, method: &str, url: &str, body: Option<(&str, Vec<u8>)>) -> Result<Answer, String> {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
        let mut req = axum::http::Request::builder().method(method).uri(url);
        let jar: Vec<String> = self.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !jar.is_empty() {
            req = req.header("cookie", jar.join("; "));
        }
        let (ct, data) = body.unwrap_or(("text/plain", Vec::new()));
        let req = req.header("content-type", ct).body(Full::new(bytes::Bytes::from(data))).map_err(|e| e.to_string())?;
        let res = client.request(req).await.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let mut headers = HashMap::new();
        for (k, v) in res.headers() {
            let v = v.to_str().unwrap_or("").to_string();
            if k == "set-cookie" {
                let pair = v.split(';').next().unwrap_or("");
                if let Some((name, value)) = pair.split_once('=') {
                    self.cookies.lock().unwrap().insert(name.trim().into(), value.trim().into());
                }
            }
            headers.insert(k.as_str().to_string(), v);
        }
        let bytes = res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes().to_vec();
        Ok((status, headers, bytes))
    }

    async fn get(&self, url: &str) -> Answer {
        self.try_send("GET", url, None).await.unwrap()
    }

    async fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Answer {
        let body: String = fields.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
        self.try_send("POST", url, Some(("application/x-www-form-urlencoded", body.into_bytes()))).await.unwrap()
    }

    /// The CSRF token a page's forms carry.
    async fn token(&self, url: &str) -> String {
        let (_, _, page) = self.get(url).await;
        let page = String::from_utf8_lossy(&page);
        let start = page.find("name=\"csrf_token\" value=\"").expect("a form with a CSRF token") + "name=\"csrf_token\" value=\"".len();
        page[start..].split('"').next().unwrap().to_string()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
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
    let t = http.token(&format!("{}/login", a.base)).await;
    let (status, _, _) = http.post_form(&format!("{}/login", a.base), &[("csrf_token", &t), ("email", "owner@acme.example"), ("password", PASSWORD)]).await;
    assert_eq!(status, 303);
    let (status, _, page) = http.get(&format!("{}/dashboard", b.base)).await;
    assert_eq!(status, 200, "the session made on A works on B");
    assert!(String::from_utf8_lossy(&page).contains("Olive Owner"));

    // Uploaded through A, downloaded through B.
    let pdf: Vec<u8> = [b"%PDF-1.4\n".as_slice(), &[7u8; 300_000], b"\n%%EOF\n"].concat();
    let t = http.token(&format!("{}/evidence/new", a.base)).await;
    let boundary = "scaleoutboundary";
    let mut body = Vec::new();
    for (k, v) in [("title", "Board minutes"), ("kind", "document")] {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
    }
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"minutes.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
    body.extend_from_slice(&pdf);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    let (status, _, _) = http.try_send("POST", &format!("{}/evidence?csrf_token={t}", a.base), Some((&ct, body))).await.unwrap();
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
