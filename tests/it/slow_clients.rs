//! Hostile clients against the real `mandate serve` on a real socket:
//! half-sent requests, idle connections, bodies that stall or trickle, and
//! more connections than the server serves at once. Each limit is set short
//! here; the tests check that the socket is closed (or answered 408) and
//! that ordinary requests and uploads still work.
use crate::process::{self, Http, Server};
use crate::support::TestApp;
use sqlx::PgPool;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(app: &TestApp, env: &[(&str, &str)]) -> (Server, PathBuf) {
    let data = std::env::temp_dir().join(format!("mandate-slow-{}", uuid::Uuid::new_v4()));
    let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.to_string())).collect();
    (process::serve(&crate::cli::database_url(app.db()), &data, &env, &[]).await, data)
}

async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(("127.0.0.1", server.port)).await.unwrap()
}

/// Reads until the server closes the connection or `bound` (from
/// `started`) passes: what was read, and how long after `started` it was
/// closed (None if it was still open).
async fn read_until_closed_since(conn: &mut TcpStream, started: Instant, bound: Duration) -> (String, Option<Duration>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = bound.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), None),
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), Some(started.elapsed())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn read_until_closed(conn: &mut TcpStream, bound: Duration) -> (String, Option<Duration>) {
    read_until_closed_since(conn, Instant::now(), bound).await
}

/// Reads one response whose body is `Content-Length` long, leaving the connection open.
async fn read_response(conn: &mut TcpStream, bound: Duration) -> Option<String> {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return Some(text);
            }
        }
        let left = bound.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

#[sqlx::test]
async fn half_sent_requests_and_idle_connections_are_closed_in_time(db: PgPool) {
    let app = TestApp::new(db).await;
    let (server, data) = start(&app, &[("MANDATE_HEADER_TIMEOUT_SECONDS", "2"), ("MANDATE_KEEPALIVE_TIMEOUT_SECONDS", "5")]).await;

    // Half a request line and half the headers, then nothing.
    let opened = Instant::now();
    let mut half = connect(&server).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow").await.unwrap();
    // Nothing at all after connecting.
    let mut silent = connect(&server).await;
    // Headers sent a byte at a time, every 300 ms: each byte is progress, but
    // the headers are not complete in time.
    let mut trickle = connect(&server).await;
    let started = Instant::now();
    let trickled = tokio::spawn(async move {
        for b in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n" {
            if trickle.write_all(&[*b]).await.is_err() {
                return (started.elapsed(), true);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let (text, _) = read_until_closed(&mut trickle, Duration::from_secs(1)).await;
        (started.elapsed(), text.is_empty())
    });
    for (what, conn) in [("a half-sent request", &mut half), ("a connection that sends nothing", &mut silent)] {
        let (text, closed) = read_until_closed_since(conn, opened, Duration::from_secs(20)).await;
        let closed = closed.unwrap_or_else(|| panic!("{what} was still open after 20 s"));
        assert!(text.is_empty(), "{what} got no answer: {text}");
        assert!(closed >= Duration::from_millis(1500), "{what} was held until the header timeout, not cut at once: {closed:?}");
    }
    let (took, refused) = trickled.await.unwrap();
    assert!(refused, "a request whose headers trickle in is closed, not answered");
    assert!(took < Duration::from_secs(20), "closed in time: {took:?}");

    // A whole request is answered, and the kept-alive connection serves
    // another after idling longer than the header timeout but within the
    // keep-alive timeout, then is closed after that.
    let mut kept = connect(&server).await;
    kept.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut kept, Duration::from_secs(10)).await.expect("answered").starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    kept.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut kept, Duration::from_secs(10)).await.expect("the same connection serves again").starts_with("HTTP/1.1 200"));
    let (text, closed) = read_until_closed(&mut kept, Duration::from_secs(20)).await;
    let closed = closed.expect("an idle kept-alive connection is closed");
    assert!(text.is_empty());
    assert!(closed >= Duration::from_millis(4500), "after the keep-alive timeout (5 s), not the header timeout: {closed:?}");
    assert_eq!(Http::default().get(&format!("{}/healthz", server.base)).await.0, 200, "the server still answers");
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}

#[sqlx::test]
async fn bodies_that_stall_or_trickle_are_cut_with_408_and_normal_uploads_work(db: PgPool) {
    let app = TestApp::new(db).await;
    let owner = app.user("owner@acme.example", "Olive Owner").await;
    app.org("Acme Ltd", owner).await;
    let (server, data) = start(&app, &[("MANDATE_BODY_TIMEOUT_SECONDS", "2"), ("MANDATE_BODY_MIN_BYTES_PER_SECOND", "1024")]).await;
    let form_post = |length: usize| {
        format!("POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n")
    };

    // A body that stops after a few bytes.
    let mut stalled = connect(&server).await;
    stalled.write_all(format!("{}email=a", form_post(200)).as_bytes()).await.unwrap();
    let (text, closed) = read_until_closed(&mut stalled, Duration::from_secs(20)).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.to_ascii_lowercase().contains("connection: close"), "{text}");
    assert!(text.contains("too slowly"), "the page says why: {text}");
    let closed = closed.expect("and the connection is closed");
    assert!(closed >= Duration::from_millis(1500) && closed < Duration::from_secs(20), "{closed:?}");

    // A body that never stalls for 2 s but sends a byte every 500 ms.
    let mut trickle = connect(&server).await;
    trickle.write_all(form_post(200).as_bytes()).await.unwrap();
    let sender = tokio::spawn(async move {
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if trickle.write_all(b"x").await.is_err() {
                break;
            }
        }
        trickle
    });
    let mut trickle = tokio::time::timeout(Duration::from_secs(30), sender).await.expect("the server stopped taking the trickle").unwrap();
    let (text, _) = read_until_closed(&mut trickle, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");

    // Ordinary use: a sign-in, a 32 MiB upload at full speed, and a 4 MiB
    // upload sent in 64 KiB pieces with a 1 s pause in the middle.
    let http = Http::default();
    http.sign_in(&server.base, "owner@acme.example", crate::support::PASSWORD).await;
    let (status, _, _) = http.upload_evidence(&server.base, "Board pack", "pack.pdf", &process::pdf(32 * 1024 * 1024)).await.unwrap();
    assert_eq!(status, 303, "a large upload at a normal rate");
    let token = http.token(&format!("{}/evidence/new", server.base)).await;
    let cookie = http.cookie(mandate::auth::session::SESSION_COOKIE).unwrap();
    let file = process::pdf(4 * 1024 * 1024);
    let boundary = "pacedupload";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nPaced\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ndocument\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"paced.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut paced = connect(&server).await;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {}={cookie}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        mandate::auth::csrf::upload_action("/evidence", &token),
        server.port,
        mandate::auth::session::SESSION_COOKIE,
        body.len()
    );
    paced.write_all(head.as_bytes()).await.unwrap();
    for (i, piece) in body.chunks(64 * 1024).enumerate() {
        paced.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(if i == 32 { 1000 } else { 10 })).await;
    }
    let answer = read_response(&mut paced, Duration::from_secs(60)).await.expect("the paced upload is answered");
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM evidence_revisions").fetch_one(app.db()).await.unwrap();
    assert_eq!(stored, 2);

    // A client that asks for the 32 MiB file and takes none of it is cut
    // once it has taken nothing for the body timeout.
    let big: uuid::Uuid = sqlx::query_scalar("SELECT id FROM evidence_revisions WHERE size > 30000000").fetch_one(app.db()).await.unwrap();
    let mut idle = connect(&server).await;
    idle.write_all(format!("GET /evidence/files/{big} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {}={cookie}\r\n\r\n", mandate::auth::session::SESSION_COOKIE).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (mut taken, mut buf) = (0usize, vec![0u8; 1 << 16]);
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => taken += n,
            Err(_) => break false,
        }
    };
    assert!(closed, "the connection was closed");
    assert!(taken < 32 * 1024 * 1024, "before the whole file was sent: {taken} bytes");
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}

#[sqlx::test]
async fn connections_over_the_cap_wait_for_a_free_one(db: PgPool) {
    let app = TestApp::new(db).await;
    let (server, data) = start(&app, &[("MANDATE_MAX_CONNECTIONS", "2")]).await;
    // Two kept-alive connections, each answered once, hold both places.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = connect(&server).await;
        c.write_all(HEALTH).await.unwrap();
        assert!(read_response(&mut c, Duration::from_secs(10)).await.expect("answered").starts_with("HTTP/1.1 200"));
        held.push(c);
    }
    // A third connects (the kernel queues it) and sends a whole request:
    // it is not served while the other two are open.
    let mut third = connect(&server).await;
    third.write_all(HEALTH).await.unwrap();
    assert_eq!(read_response(&mut third, Duration::from_secs(2)).await, None, "not served beside the other two");
    // One closes: the third is served.
    drop(held.pop());
    let answer = read_response(&mut third, Duration::from_secs(10)).await.expect("served once a place is free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}
