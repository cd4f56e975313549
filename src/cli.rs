//! The command line: `serve` (the default), `migrate`, `generate` and `audit verify`.
use crate::app;
use crate::state::AppState;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, MIB, SmtpConfig};
use crate::evidence::store::EvidenceStore;
use crate::{audit, db, demo, mail};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "mandate",
    version,
    about = "Mandate: show that leadership leads the ISMS (ISO/IEC 27001:2022 clause 5 and Annex A 5.4)",
    long_about = "Mandate: show that leadership leads the ISMS (ISO/IEC 27001:2022 clause 5 and Annex A 5.4).\n\n\
Without DATABASE_URL, Mandate uses the PostgreSQL on 127.0.0.1:5432 if one answers (database `mandate`, \
created if missing), and otherwise starts a private PostgreSQL cluster under <data dir>/postgres from the \
installed PostgreSQL binaries. Migrations run at start-up. An empty database gets the demo organisation \
Acme Ltd, whose logins are printed once.\n\n\
Single sign-on (OpenID Connect) is set up per organisation by its owners, in the app under Settings -> \
Single sign-on: register Mandate with the provider as a web application whose redirect URI is \
<MANDATE_BASE_URL>/auth/oidc/callback (scopes openid email profile; the ID token must carry a verified e-mail), \
then enter the https issuer, client id and secret and the e-mail domains it signs in. Sign-in uses the code \
flow with PKCE, state and nonce. When an organisation requires single sign-on, its owners keep their password \
and second factor as the break-glass way in. --oidc-allow-local-http lets an issuer be plain HTTP on this \
machine, for trying a local provider. README, \"Single sign-on\", has the details."
)]
pub struct Cli {
    #[command(flatten)]
    opts: Options,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Debug)]
struct Options {
    /// PostgreSQL URL, e.g. postgres://user:pass@host/mandate
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Directory for the private PostgreSQL cluster, the demo logins and (by default) evidence files
    #[arg(long, env = "MANDATE_DATA_DIR", default_value = "./data", global = true)]
    data_dir: PathBuf,
    /// Address and port to listen on
    #[arg(long, env = "MANDATE_BIND", default_value = "127.0.0.1:8080", global = true)]
    bind: SocketAddr,
    /// Public address of the app, used in links (default http://localhost:<port>); https turns on Secure cookies and HSTS
    #[arg(long, env = "MANDATE_BASE_URL", global = true)]
    base_url: Option<url::Url>,
    /// Do not load the demo organisation into an empty database
    #[arg(long, env = "MANDATE_NO_DEMO", global = true)]
    no_demo: bool,
    /// SMTP server for invitation e-mails: smtps://user:pass@host:465 (TLS), smtp://user:pass@host:587?tls=required (STARTTLS) or smtp://host:25 (local relay, no TLS)
    #[arg(long, env = "MANDATE_SMTP_URL", global = true, hide_env_values = true)]
    smtp_url: Option<String>,
    /// Sender address for e-mails
    #[arg(long, env = "MANDATE_SMTP_FROM", default_value = "Mandate <mandate@localhost>", global = true)]
    smtp_from: String,
    /// Take the client address from the right-most X-Forwarded-For entry (only behind one trusted reverse proxy)
    #[arg(long, env = "MANDATE_TRUST_FORWARDED_FOR", global = true)]
    trust_forwarded_for: bool,
    /// Let single sign-on issuers be plain-HTTP addresses on this machine (http://127.0.0.1:PORT, http://localhost:PORT), for trying a local OpenID Connect provider; otherwise issuers must be https
    #[arg(long, env = "MANDATE_OIDC_ALLOW_LOCAL_HTTP", global = true)]
    oidc_allow_local_http: bool,
    /// Requests each API token may make per minute; more answer 429 until the next minute
    #[arg(long, env = "MANDATE_API_REQUESTS_PER_MINUTE", default_value_t = 600, global = true)]
    api_requests_per_minute: i32,
    /// Where evidence files are kept: file:///abs/path or s3://bucket/prefix (S3 settings from the AWS_* variables); default <data dir>/evidence
    #[arg(long, env = "MANDATE_EVIDENCE_URL", global = true)]
    evidence_url: Option<String>,
    /// Largest evidence file accepted, in MiB
    #[arg(long, env = "MANDATE_MAX_UPLOAD_MIB", default_value_t = 200, global = true)]
    max_upload_mib: u64,
    /// Evidence storage per organisation, in MiB
    #[arg(long, env = "MANDATE_ORG_QUOTA_MIB", default_value_t = 10240, global = true)]
    org_quota_mib: u64,
    /// Leftovers of interrupted uploads older than this many minutes are removed at start-up and every ten minutes
    #[arg(long, env = "MANDATE_SWEEP_AFTER_MINUTES", default_value_t = 60, global = true)]
    sweep_after_minutes: i64,
    /// A background job (evidence bundle) whose process has not reported for this many seconds is taken over by another process
    #[arg(long, env = "MANDATE_JOB_STALE_SECONDS", default_value_t = 60, global = true)]
    job_stale_seconds: i64,
    /// Most connections to PostgreSQL this process keeps open (with several instances, keep their sum below the server's max_connections)
    #[arg(long, env = "MANDATE_DB_POOL_SIZE", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    db_pool_size: u32,
    /// Seconds a request waits for a free database connection before it is answered 503
    #[arg(long, env = "MANDATE_DB_ACQUIRE_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    db_acquire_timeout_seconds: u64,
    /// Seconds a client may take to send a request's headers, from accepting the connection (or from the first byte of a later request on it)
    #[arg(long, env = "MANDATE_HEADER_TIMEOUT_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600), global = true)]
    header_timeout_seconds: u64,
    /// Seconds a kept-alive connection with no request in progress waits for the client's next request before it is closed
    #[arg(long, env = "MANDATE_KEEPALIVE_TIMEOUT_SECONDS", default_value_t = 75, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    keepalive_timeout_seconds: u64,
    /// Seconds a request body may send nothing (and a client may take none of a response) before it is cut: 408 for a body
    #[arg(long, env = "MANDATE_BODY_TIMEOUT_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    body_timeout_seconds: u64,
    /// Bytes per second a request body must average once the server has waited MANDATE_BODY_TIMEOUT_SECONDS for it in all (0: only stalls are cut)
    #[arg(long, env = "MANDATE_BODY_MIN_BYTES_PER_SECOND", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(0..=1 << 30), global = true)]
    body_min_bytes_per_second: u64,
    /// Connections served at once; further ones wait in the listen queue until one ends
    #[arg(long, env = "MANDATE_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    max_connections: u32,
    /// Fault injection for tests and drills: pause this many milliseconds after each step of an export
    #[arg(long, env = "MANDATE_FAULT_EXPORT_PAUSE_MS", default_value_t = 0, global = true, hide = true)]
    fault_export_pause_ms: u64,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web application (the default)
    Serve,
    /// Apply database migrations and exit
    Migrate,
    /// Create a large generated organisation (and small ones) for benchmarks, and print its logins
    Generate {
        /// People in the large organisation; the other figures scale with it (5000 gives the benchmark's sizes)
        #[arg(long, default_value_t = 5000)]
        people: usize,
        /// Small organisations to create alongside
        #[arg(long, default_value_t = 19)]
        small: usize,
    },
    /// Write an evidence bundle (ZIP) of one organisation as of a day, as the Audit room does
    Export {
        /// The organisation: its id, or its exact name
        #[arg(long)]
        org: String,
        /// Records as of this day (YYYY-MM-DD; default today)
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// First day of the audit period (the audit-log rows from this day on)
        #[arg(long)]
        period_from: Option<chrono::NaiveDate>,
        /// Last day of the audit period
        #[arg(long)]
        period_to: Option<chrono::NaiveDate>,
        /// Where to write the ZIP
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Check an evidence bundle offline: its ZIP structure, every file against its manifest and SHA256SUMS, its audit-log chain, every passkey-bound signature (signatures/passkey-signatures.json) against its public key and the statement it signed, and every OSCAL evidence link (oscal/assessment-results.json) against its file's SHA-256 (needs no database; docs/SIGNATURES.md shows the same check with standard tools)
    VerifyBundle {
        /// The bundle's ZIP file
        file: std::path::PathBuf,
        /// The manifest SHA-256 Mandate showed for this bundle: without it, a bundle whose files and manifest were rewritten together cannot be told apart
        #[arg(long)]
        expect_manifest: Option<String>,
    },
    /// Remove an account's second factors (authenticator app, recovery codes, passkeys) when its holder has lost them, so they can sign in with their password and set new ones up; ends the account's sessions. Logged as done by the operator
    RemoveSecondFactor {
        /// The account's e-mail address
        #[arg(long)]
        email: String,
    },
    /// Audit-log commands
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Walk every hash chain and name the first row that does not verify
    Verify,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            // An empty RUST_LOG counts as unset (it would silence everything but errors).
            std::env::var("RUST_LOG")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
                .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mandate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mandate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn pool_settings(opts: &Options) -> db::PoolSettings {
    db::PoolSettings {
        max_connections: opts.db_pool_size,
        acquire_timeout: std::time::Duration::from_secs(opts.db_acquire_timeout_seconds),
    }
}

/// How long clients may take, and how many connections are served at once.
fn server_limits(opts: &Options) -> crate::server::Limits {
    use std::time::Duration;
    crate::server::Limits {
        header_timeout: Duration::from_secs(opts.header_timeout_seconds),
        idle_timeout: Duration::from_secs(opts.keepalive_timeout_seconds),
        write_timeout: Duration::from_secs(opts.body_timeout_seconds),
        max_connections: opts.max_connections as usize,
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let opts = cli.opts;
    if let Some(Command::VerifyBundle { file, expect_manifest }) = &cli.command {
        return verify_bundle(file, expect_manifest.as_deref()).await;
    }
    let database = db::open(opts.database_url.as_deref(), &opts.data_dir, pool_settings(&opts)).await?;
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&opts, &database).await,
        Command::Migrate => {
            db::migrate(&database.pool, SystemClock.now()).await?;
            println!("Migrations applied to the {}.", database.description);
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { command: AuditCommand::Verify } => verify(&database).await,
        Command::Generate { people, small } => generate(&database, people, small).await,
        Command::RemoveSecondFactor { email } => remove_second_factor(&database, &email).await,
        Command::Export { org, as_of, period_from, period_to, out } => {
            let as_of = as_of.unwrap_or_else(|| SystemClock.now().date_naive());
            export(&opts, &database, &org, crate::bundles::manifest::Params { as_of, period_from, period_to }, &out).await
        }
        Command::VerifyBundle { .. } => unreachable!("handled before opening the database"),
    };
    database.pool.close().await;
    drop(database);
    result
}

/// The break-glass path for a lost phone and lost recovery codes: run by
/// whoever runs Mandate, after checking who is asking by other means.
async fn remove_second_factor(database: &db::Database, email: &str) -> anyhow::Result<ExitCode> {
    use crate::security_log::model::{self as security_log, Event, Kind};
    db::migrate(&database.pool, SystemClock.now()).await?;
    let now = SystemClock.now();
    let email = email.trim().to_lowercase();
    let Some((user_id, _, _)) = crate::orgs::model::find_user_by_email(&database.pool, &email).await? else {
        eprintln!("No account has the e-mail address {email}.");
        return Ok(ExitCode::from(2));
    };
    let mut tx = database.pool.begin().await?;
    let app = crate::auth::factors::remove_totp(&mut tx, user_id).await?;
    let passkeys = sqlx::query!("DELETE FROM passkeys WHERE user_id = $1", user_id.0).execute(&mut *tx).await?.rows_affected();
    if !app && passkeys == 0 {
        println!("{email} has no second factor; nothing changed.");
        return Ok(ExitCode::SUCCESS);
    }
    let actor = crate::audit::Actor::system(None, "operator (mandate remove-second-factor)");
    let what = serde_json::json!({"authenticator_app": app, "passkeys": passkeys, "by": "operator"});
    crate::audit::record(&mut tx, &actor, now, "user.second_factor_removed", "user", user_id, what).await?;
    let detail = format!("Every second factor (authenticator app: {}, passkeys: {passkeys}), by the operator's command.", if app { "yes" } else { "no" });
    let event = Event { org_id: None, user_id: Some(user_id), email: &email, client_addr: "command line", kind: Kind::FactorRemoved, detail };
    security_log::record(&mut *tx, now, event).await?;
    // Whoever held the phone is signed out too.
    crate::auth::session::end_all_for_user(&mut tx, user_id, None).await?;
    tx.commit().await?;
    println!("The second factors of {email} were removed (authenticator app and recovery codes: {}, passkeys: {passkeys}) and its sessions ended. They sign in with their password and can set up new ones.", if app { "yes" } else { "no" });
    Ok(ExitCode::SUCCESS)
}

async fn verify(database: &db::Database) -> anyhow::Result<ExitCode> {
    db::migrate(&database.pool, SystemClock.now()).await?;
    let report = audit::verify(&database.pool).await?;
    match report.first_problem {
        None => {
            println!("Audit log verified: {} rows in {} chains, all hashes and links intact.", report.rows, report.chains);
            Ok(ExitCode::SUCCESS)
        }
        Some(p) => {
            println!("Audit log does NOT verify. First problem: {p}");
            Ok(ExitCode::from(2))
        }
    }
}

async fn export(opts: &Options, database: &db::Database, org: &str, params: crate::bundles::manifest::Params, out: &std::path::Path) -> anyhow::Result<ExitCode> {
    db::migrate(&database.pool, SystemClock.now()).await?;
    let found = sqlx::query!(r#"SELECT id AS "id: crate::ids::OrgId", name FROM organisations WHERE id::text = $1 OR name = $1 ORDER BY name"#, org)
        .fetch_all(&database.pool)
        .await?;
    let (org_id, name) = match found.as_slice() {
        [one] => (one.id, one.name.clone()),
        [] => anyhow::bail!("no organisation has the id or name {org:?}"),
        _ => anyhow::bail!("several organisations are named {org:?}; give its id instead"),
    };
    if params.as_of > SystemClock.now().date_naive() {
        anyhow::bail!("--as-of is in the future; choose today or a past day");
    }
    let store = EvidenceStore::open(opts.evidence_url.as_deref(), &opts.data_dir)?;
    let partial = out.with_extension("zip.partial");
    let file = tokio::fs::File::create(&partial).await.with_context(|| format!("cannot create {}", partial.display()))?;
    let progress = crate::bundles::build::Progress::default();
    let started = std::time::Instant::now();
    println!("Writing the evidence bundle of {name} as of {} to {}...", params.as_of, out.display());
    let built = match crate::bundles::build::build(&database.pool, &store, org_id, &params, SystemClock.now(), &progress, tokio::io::BufWriter::with_capacity(1 << 20, file)).await {
        Ok(b) => b,
        Err(e) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
    };
    tokio::fs::rename(&partial, out).await?;
    println!(
        "Done in {:.1} s: {} files ({} evidence files), {} bytes.\n  bundle SHA-256   {}\n  manifest SHA-256 {}",
        started.elapsed().as_secs_f64(),
        built.files,
        built.evidence_files,
        built.size,
        hex::encode(&built.sha256),
        hex::encode(&built.manifest_sha256)
    );
    Ok(ExitCode::SUCCESS)
}

async fn verify_bundle(file: &std::path::Path, expect_manifest: Option<&str>) -> anyhow::Result<ExitCode> {
    let r = crate::bundles::manifest::verify(file).await?;
    let manifest_ok = expect_manifest.is_none_or(|e| e.trim().eq_ignore_ascii_case(&r.manifest_sha256));
    println!(
        "Checked the ZIP structure of {} and its {} files against its manifest{}.",
        file.display(),
        r.checked,
        if r.sums_checked { " and SHA256SUMS" } else { "" }
    );
    println!("  manifest SHA-256 {} (compare with the value Mandate shows for this bundle)", r.manifest_sha256);
    println!("  audit-log chain head {}", r.head_hash);
    if r.signatures_checked > 0 {
        println!("  {} passkey-bound signatures checked against their public keys and signed statements", r.signatures_checked);
    }
    if r.oscal_checked > 0 {
        println!("  {} OSCAL evidence links checked: each resource's file and SHA-256, each observation's resource", r.oscal_checked);
    }
    if !r.sums_checked && r.sums.is_empty() {
        println!("  (no SHA256SUMS to check: the bundle was made before bundles carried one)");
    }
    for (what, list) in [
        ("ZIP STRUCTURE", &r.structure),
        ("ALTERED", &r.altered),
        ("MISSING", &r.missing),
        ("EXTRA (not in the manifest)", &r.extra),
        ("SHA256SUMS", &r.sums),
        ("AUDIT LOG", &r.audit_log),
        ("PASSKEY SIGNATURE", &r.signatures),
        ("OSCAL", &r.oscal),
    ] {
        for name in list {
            println!("  {what}: {name}");
        }
    }
    if !manifest_ok {
        println!("  MANIFEST: its SHA-256 is not the expected {}: the manifest itself was replaced", expect_manifest.unwrap_or_default());
    }
    if r.ok() && manifest_ok {
        println!(
            "The bundle verifies: every local header agrees with the central directory and no byte lies outside the entries, every file matches its SHA-256, size and CRC-32, none is missing or added,{} and the audit-log rows chain{}.{}",
            if r.sums_checked { " SHA256SUMS lists every file with its true SHA-256," } else { "" },
            match (r.signatures_checked > 0, r.oscal_checked > 0) {
                (true, true) => "; every passkey-bound signature matches its key and the statement it signed, and every OSCAL evidence link its file",
                (true, false) => "; every passkey-bound signature matches its key and the statement it signed",
                (false, true) => "; every OSCAL evidence link matches its file",
                (false, false) => "",
            },
            if expect_manifest.is_some() { " The manifest is the one Mandate recorded." } else { " Pass --expect-manifest with the value Mandate shows to check the manifest too." }
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("The bundle does NOT verify.");
        Ok(ExitCode::from(2))
    }
}

async fn generate(database: &db::Database, people: usize, small: usize) -> anyhow::Result<ExitCode> {
    db::migrate(&database.pool, SystemClock.now()).await?;
    let sizes = if people == 5000 { crate::generate::Sizes::large() } else { crate::generate::Sizes::scaled(people) };
    println!("Generating an organisation of {} people and {small} small ones in {}...", sizes.people, database.description);
    let started = std::time::Instant::now();
    let logins = crate::generate::run(&database.pool, SystemClock.now(), &sizes, small).await?;
    println!("Done in {:.1} s. Logins:", started.elapsed().as_secs_f64());
    for l in &logins {
        println!("  {:<16} {:<12} {:<44} {}", l.org, l.role.label(), l.email, l.password);
    }
    Ok(ExitCode::SUCCESS)
}

fn build_config(opts: &Options) -> anyhow::Result<Config> {
    let base = match &opts.base_url {
        Some(u) => u.clone(),
        None => format!("http://localhost:{}", opts.bind.port()).parse().context("base URL")?,
    };
    let mut config = Config::new(base, opts.data_dir.clone());
    config.trust_forwarded_for = opts.trust_forwarded_for;
    config.oidc_allow_local_http = opts.oidc_allow_local_http;
    config.api_requests_per_minute = opts.api_requests_per_minute.max(1);
    config.smtp = opts.smtp_url.as_ref().map(|url| SmtpConfig { url: url.clone(), from: opts.smtp_from.clone() });
    config.max_upload_bytes = opts.max_upload_mib * MIB;
    config.org_quota_bytes = opts.org_quota_mib * MIB;
    config.sweep_after = chrono::Duration::minutes(opts.sweep_after_minutes.max(0));
    // A job beats every two seconds: anything much shorter would take over live jobs.
    config.job_stale_after = chrono::Duration::seconds(opts.job_stale_seconds.max(6));
    config.body_timeout = std::time::Duration::from_secs(opts.body_timeout_seconds);
    config.body_min_rate = opts.body_min_bytes_per_second;
    config.export_step_pause = std::time::Duration::from_millis(opts.fault_export_pause_ms);
    Ok(config)
}

async fn serve(opts: &Options, database: &db::Database) -> anyhow::Result<ExitCode> {
    let config = build_config(opts)?;
    db::migrate(&database.pool, SystemClock.now()).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(EvidenceStore::open(opts.evidence_url.as_deref(), &opts.data_dir)?);
    if !opts.no_demo
        && let Some(logins) = demo::load_if_empty(&database.pool, &store, clock.as_ref(), config.invitation_ttl).await?
    {
        print_demo_logins(&logins, &opts.data_dir);
    }
    let mailer = config.smtp.as_ref().map(mail::Mailer::new).transpose()?.map(Arc::new);
    let state = AppState { db: database.pool.clone(), config: Arc::new(config), clock, mailer, store, kept: Default::default() };
    sweep_uploads(&state).await;
    tokio::spawn(sweep_forever(state.clone()));
    crate::bundles::jobs::spawn_worker(state.clone());
    crate::findings::spawn_worker(state.clone());
    crate::notify::spawn_worker(state.clone());
    let listener = tokio::net::TcpListener::bind(opts.bind)
        .await
        .with_context(|| format!("cannot listen on {} (is another program using it? set MANDATE_BIND)", opts.bind))?;
    println!(
        "Mandate is running at {} (data: {}; evidence: {}). Press Ctrl+C to stop.",
        state.config.base_url, database.description, state.store.description
    );
    crate::server::serve(listener, app::router(state), server_limits(opts), shutdown_signal()).await?;
    println!("Mandate stopped.");
    Ok(ExitCode::SUCCESS)
}

fn print_demo_logins(logins: &[demo::DemoLogin], data_dir: &Path) {
    let mut text = format!("Demo organisation \"{}\" loaded. Sign in with any of these (shown once):\n", demo::ORG_NAME);
    for l in logins {
        text.push_str(&format!("  {:<12} {:<32} {}   ({})\n", l.role.label(), l.email, l.password, l.name));
    }
    println!("{text}");
    let file = data_dir.join("demo-logins.txt");
    let written = std::fs::create_dir_all(data_dir).and_then(|_| std::fs::write(&file, &text)).and_then(|_| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
    });
    match written {
        Ok(()) => println!("(A copy is in {}.)", file.display()),
        Err(e) => tracing::warn!("could not save the demo logins: {e}"),
    }
}

/// Removes what interrupted uploads left in the evidence store.
async fn sweep_uploads(state: &AppState) {
    match state.store.sweep(&state.db, state.clock.now(), state.config.sweep_after).await {
        Ok(s) if s.partial + s.orphans > 0 => {
            tracing::info!("removed {} and {} from the evidence store", crate::web::count(s.partial, "partial upload", "partial uploads"), crate::web::count(s.orphans, "unreferenced file", "unreferenced files"))
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("evidence store sweep failed: {e:#}"),
    }
}

/// Expired sessions, old throttle records and upload leftovers are removed now and then.
async fn sweep_forever(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    tick.tick().await;
    loop {
        tick.tick().await;
        sweep_uploads(&state).await;
        if let Err(e) = crate::auth::session::sweep_expired(&state).await {
            tracing::warn!("session sweep failed: {e:#}");
        }
        let now = state.clock.now();
        if let Err(e) = crate::auth::throttle::sweep(&state.db, &state.config.throttle, now).await {
            tracing::warn!("throttle sweep failed: {e:#}");
        }
        if let Err(e) = crate::notify::model::sweep_exports(&state.db, now).await {
            tracing::warn!("sweep of issued links failed: {e:?}");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn pool_of(args: &[&str]) -> Result<sqlx::postgres::PgPoolOptions, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("mandate").chain(args.iter().copied()))?;
        Ok(pool_settings(&cli.opts).options())
    }

    #[test]
    fn the_pool_takes_its_size_and_wait_from_the_options() {
        let default = pool_of(&[]).unwrap();
        assert_eq!((default.get_max_connections(), default.get_acquire_timeout().as_secs()), (20, 10));
        let set = pool_of(&["--db-pool-size", "5", "--db-acquire-timeout-seconds", "3"]).unwrap();
        assert_eq!((set.get_max_connections(), set.get_acquire_timeout().as_secs()), (5, 3));
    }

    fn options_of(args: &[&str]) -> Result<Options, clap::Error> {
        Ok(Cli::try_parse_from(std::iter::once("mandate").chain(args.iter().copied()))?.opts)
    }

    #[test]
    fn client_limits_reach_the_server_and_the_app() {
        use std::time::Duration;
        let default = options_of(&[]).unwrap();
        assert_eq!(server_limits(&default), crate::server::Limits::default());
        let limits = server_limits(&default);
        assert_eq!(
            (limits.header_timeout, limits.idle_timeout, limits.write_timeout, limits.max_connections),
            (Duration::from_secs(30), Duration::from_secs(75), Duration::from_secs(60), 1024)
        );
        let config = build_config(&default).unwrap();
        assert_eq!((config.body_timeout, config.body_min_rate), (Duration::from_secs(60), 1024));

        let set = options_of(&[
            "--header-timeout-seconds", "2", "--keepalive-timeout-seconds", "5", "--body-timeout-seconds", "3",
            "--body-min-bytes-per-second", "0", "--max-connections", "7",
        ])
        .unwrap();
        assert_eq!(
            server_limits(&set),
            crate::server::Limits {
                header_timeout: Duration::from_secs(2),
                idle_timeout: Duration::from_secs(5),
                write_timeout: Duration::from_secs(3),
                max_connections: 7
            }
        );
        let config = build_config(&set).unwrap();
        assert_eq!((config.body_timeout, config.body_min_rate), (Duration::from_secs(3), 0));
    }

    #[test]
    fn endless_or_zero_client_limits_are_refused() {
        for args in [
            ["--header-timeout-seconds", "0"],
            ["--header-timeout-seconds", "601"],
            ["--keepalive-timeout-seconds", "0"],
            ["--keepalive-timeout-seconds", "3601"],
            ["--body-timeout-seconds", "0"],
            ["--body-timeout-seconds", "3601"],
            ["--body-min-bytes-per-second", "1073741825"],
            ["--body-min-bytes-per-second", "-1"],
            ["--max-connections", "0"],
            ["--max-connections", "100001"],
        ] {
            assert!(options_of(&args).is_err(), "{args:?} was accepted");
        }
    }

    #[test]
    fn a_pool_of_nothing_or_an_endless_wait_is_refused() {
        for args in [["--db-pool-size", "0"], ["--db-acquire-timeout-seconds", "0"], ["--db-acquire-timeout-seconds", "301"]] {
            assert!(pool_of(&args).is_err(), "{args:?} was accepted");
        }
    }
}
