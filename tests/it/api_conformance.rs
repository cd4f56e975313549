//! The API as outside tools see it, against the real server with the demo
//! organisation: Redocly's linter passes the OpenAPI document, and
//! schemathesis, generating requests from it, finds no 5xx, no answer that
//! breaks the document's schemas, status codes or content types.
//! `scripts/test` installs both (target/redocly, target/py-venv).
use mandate::app;
use mandate::clock::SystemClock;
use mandate::config::Config;
use mandate::state::AppState;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn tool(rel: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    assert!(path.exists(), "{} is missing: run scripts/test, which installs it", path.display());
    path
}

/// The server with the demo organisation, and a token of its owner with every scope.
async fn serve(db: PgPool) -> (SocketAddr, String) {
    mandate::db::migrate(&db, chrono::Utc::now()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = Config::new(format!("http://{addr}").parse().unwrap(), std::env::temp_dir());
    config.api_requests_per_minute = 1_000_000;
    let store = Arc::new(mandate::evidence::store::EvidenceStore::local(&std::env::temp_dir().join(format!("mandate-fuzz-evidence-{}", uuid::Uuid::new_v4()))).unwrap());
    mandate::demo::load_if_empty(&db, &store, &SystemClock, chrono::Duration::days(7)).await.unwrap();
    let state = AppState { db: db.clone(), config: Arc::new(config), clock: Arc::new(SystemClock), mailer: None, store, kept: Default::default() };
    let (user, org, membership): (uuid::Uuid, uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("SELECT user_id, org_id, id FROM memberships WHERE role = 'owner' ORDER BY created_at LIMIT 1").fetch_one(&db).await.unwrap();
    let holder = mandate::api::tokens::Holder { org_id: org.into(), membership_id: membership.into(), user_id: user.into() };
    let t = mandate::api::tokens::NewToken { name: "Fuzzer".into(), scopes: mandate::auth::policy::Scope::ALL.to_vec(), days: 1, integration: false };
    let mut tx = db.begin().await.unwrap();
    let (_, secret) = mandate::api::tokens::create(&mut tx, &mandate::audit::Actor::system(Some(org.into()), "test"), chrono::Utc::now(), holder, &t).await.unwrap();
    tx.commit().await.unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app::router(state).into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    (addr, secret)
}

async fn run(program: &Path, args: &[&str], dir: &Path) -> (bool, String) {
    let out = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("REDOCLY_TELEMETRY", "off")
        .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true")
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    (out.status.success(), format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[sqlx::test]
async fn the_openapi_document_passes_the_linter_and_the_fuzzer_finds_nothing(db: PgPool) {
    let redocly = tool("target/redocly/node_modules/.bin/redocly");
    let schemathesis = tool("target/py-venv/bin/schemathesis");
    let (addr, token) = serve(db).await;
    let dir = std::env::temp_dir().join(format!("mandate-api-conformance-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();

    let doc = reqwest_get(addr, "/api/v1/openapi.json").await;
    std::fs::write(dir.join("openapi.json"), &doc).unwrap();
    let (ok, out) = run(&redocly, &["lint", "--format=stylish", "openapi.json"], &dir).await;
    assert!(ok, "the linter refuses the OpenAPI document:\n{out}");

    // No cache between runs (schemathesis keeps one besides Hypothesis's database).
    std::fs::write(dir.join("schemathesis.toml"), "[cache]\nenabled = false\n").unwrap();
    let url = format!("http://{addr}/api/v1/openapi.json");
    let auth = format!("Authorization: Bearer {token}");
    // Every check but positive_data_acceptance: a made-up cursor or an address
    // the directory's rules refuse is valid by the schema and rightly refused.
    let args = [
        "--config-file", "schemathesis.toml", "run", &url, "-H", &auth, "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--seed", "42", "-n", "60", "-w", "1", "--continue-on-failure", "--generation-database", "none", "--request-timeout", "20", "--no-color",
    ];
    let (ok, out) = run(&schemathesis, &args, &dir).await;
    assert!(ok, "schemathesis found failures:\n{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A GET of the server's, with a plain HTTP/1.1 client.
async fn reqwest_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    if head.to_lowercase().contains("transfer-encoding: chunked") {
        // One chunk or several: hex size lines between the pieces.
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        body.to_string()
    }
}
