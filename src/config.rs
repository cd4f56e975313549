//! Run-time settings. Everything comes from the command line or the
//! environment (see README's configuration table); secrets never reach logs.
use chrono::Duration;
use std::fmt;
use std::path::PathBuf;
use url::Url;

#[derive(Clone)]
pub struct Config {
    /// Where links in invitations and e-mails point, e.g. `https://grc.example.com`.
    pub base_url: Url,
    /// Cookies get `Secure` when the app is served over TLS.
    pub secure_cookies: bool,
    /// Use the left-most `X-Forwarded-For` address for throttling (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    pub data_dir: PathBuf,
    pub smtp: Option<SmtpConfig>,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub invitation_ttl: Duration,
    pub throttle: ThrottleConfig,
    /// Largest evidence file accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Evidence storage each organisation may use, in bytes.
    pub org_quota_bytes: u64,
    /// Leftovers of interrupted uploads older than this are swept away.
    pub sweep_after: Duration,
    /// A running background job whose heartbeat is older than this is taken over.
    pub job_stale_after: Duration,
    /// A request body that sends nothing for this long while the server
    /// waits for it is cut (408); so is one that, once the server has
    /// waited this long in all, averages less than `body_min_rate`.
    pub body_timeout: std::time::Duration,
    /// Bytes per second a request body must average (0: no such check).
    pub body_min_rate: u64,
    /// Fault injection for tests and drills only: a pause after each step
    /// of an export, so a process can be killed in the middle of one.
    pub export_step_pause: std::time::Duration,
    /// Single sign-on providers may be plain-HTTP addresses on this machine
    /// (127.0.0.1, localhost): for tests and local trials only. Otherwise
    /// an issuer must be https.
    pub oidc_allow_local_http: bool,
    /// Requests each API token may make per minute (then 429 until the
    /// next minute).
    pub api_requests_per_minute: i32,
}

pub const MIB: u64 = 1024 * 1024;

#[derive(Clone)]
pub struct SmtpConfig {
    /// `smtps://user:pass@host:465` (TLS), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS) or `smtp://host:25` (a local relay, unencrypted).
    pub url: String,
    pub from: String,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &"[redacted]")
            .field("from", &self.from)
            .finish()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ThrottleConfig {
    pub window: Duration,
    pub max_account_failures: i64,
    pub max_address_failures: i64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            window: Duration::minutes(15),
            max_account_failures: 5,
            max_address_failures: 50,
        }
    }
}

impl Config {
    pub fn new(base_url: Url, data_dir: PathBuf) -> Self {
        Self {
            secure_cookies: base_url.scheme() == "https",
            base_url,
            trust_forwarded_for: false,
            data_dir,
            smtp: None,
            session_idle: Duration::minutes(30),
            session_absolute: Duration::hours(12),
            invitation_ttl: Duration::days(7),
            throttle: ThrottleConfig::default(),
            max_upload_bytes: 200 * MIB,
            org_quota_bytes: 10 * 1024 * MIB,
            sweep_after: Duration::hours(1),
            job_stale_after: Duration::seconds(60),
            body_timeout: std::time::Duration::from_secs(60),
            body_min_rate: 1024,
            export_step_pause: std::time::Duration::ZERO,
            oidc_allow_local_http: false,
            api_requests_per_minute: 600,
        }
    }

    /// An absolute link to a path of this app.
    pub fn link(&self, path: &str) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url.as_str())
            .field("secure_cookies", &self.secure_cookies)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("data_dir", &self.data_dir)
            .field("smtp", &self.smtp)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("org_quota_bytes", &self.org_quota_bytes)
            .field("body_timeout", &self.body_timeout)
            .field("body_min_rate", &self.body_min_rate)
            .finish_non_exhaustive()
    }
}
