//! The real `mandate serve` binary as a child process, and a small HTTP
//! client that keeps cookies the way a browser does: for the tests that
//! kill, starve or duplicate the server.
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// A path as the server process sees it (through its own mount
    /// namespace when it runs in one).
    pub fn sees(&self, path: &Path) -> PathBuf {
        Path::new(&format!("/proc/{}/root", self.child.id())).join(path.strip_prefix("/").unwrap_or(path))
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `mandate serve` on a free port with `env` (no demo organisation,
/// errors only in its log) and waits until /healthz answers. `wrapper`, if
/// given, is a command line the binary is appended to.
pub async fn serve(database_url: &str, data: &Path, env: &[(&str, String)], wrapper: &[&str]) -> Server {
    let port = free_port();
    let binary = env!("CARGO_BIN_EXE_mandate");
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(binary);
            c
        }
        None => Command::new(binary),
    };
    command
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("MANDATE_BIND", format!("127.0.0.1:{port}"))
        .env("MANDATE_DATA_DIR", data)
        .env("MANDATE_NO_DEMO", "true")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command.spawn().expect("the mandate binary starts");
    let mut server = Server { child, port, base: format!("http://127.0.0.1:{port}") };
    let http = Http::default();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok((200, _, _)) = http.try_send("GET", &format!("{}/healthz", server.base), None).await {
            return server;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("mandate serve exited before answering: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("mandate serve did not answer on port {port}");
}

/// A tiny HTTP client that keeps cookies, as a browser would across ports.
#[derive(Default)]
pub struct Http {
    cookies: std::sync::Mutex<HashMap<String, String>>,
}

pub type Answer = (u16, HashMap<String, String>, Vec<u8>);

impl Http {
    pub async fn try_send(&self, method: &str, url: &str, body: Option<(&str, Vec<u8>)>) -> Result<Answer, String> {
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

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub async fn get(&self, url: &str) -> Answer {
        self.try_send("GET", url, None).await.unwrap()
    }

    pub async fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Answer {
        let body: String = fields.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
        self.try_send("POST", url, Some(("application/x-www-form-urlencoded", body.into_bytes()))).await.unwrap()
    }

    /// The CSRF token a page's forms carry.
    pub async fn token(&self, url: &str) -> String {
        let (_, _, page) = self.get(url).await;
        let page = String::from_utf8_lossy(&page);
        let start = page.find("name=\"csrf_token\" value=\"").expect("a form with a CSRF token") + "name=\"csrf_token\" value=\"".len();
        page[start..].split('"').next().unwrap().to_string()
    }

    /// Signs in through the login form; panics unless it succeeds.
    pub async fn sign_in(&self, base: &str, email: &str, password: &str) {
        let t = self.token(&format!("{base}/login")).await;
        let (status, _, _) = self.post_form(&format!("{base}/login"), &[("csrf_token", &t), ("email", email), ("password", password)]).await;
        assert_eq!(status, 303, "signing in as {email}");
    }

    /// Uploads `bytes` as new evidence through the browser's form.
    pub async fn upload_evidence(&self, base: &str, title: &str, filename: &str, bytes: &[u8]) -> Result<Answer, String> {
        let t = self.token(&format!("{base}/evidence/new")).await;
        let boundary = "processtestboundary";
        let mut body = Vec::new();
        for (k, v) in [("title", title), ("kind", "document")] {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
        }
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let ct = format!("multipart/form-data; boundary={boundary}");
        self.try_send("POST", &format!("{base}/evidence?csrf_token={t}"), Some((&ct, body))).await
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// A PDF of about `size` bytes.
pub fn pdf(size: usize) -> Vec<u8> {
    [b"%PDF-1.4\n".as_slice(), &vec![7u8; size], b"\n%%EOF\n"].concat()
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
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

/// A local store's partial file: `<key>#<n>`.
pub fn is_partial(p: &Path) -> bool {
    p.file_name().and_then(|n| n.to_str()).and_then(|n| n.rsplit_once('#')).is_some_and(|(_, n)| n.bytes().all(|b| b.is_ascii_digit()))
}
