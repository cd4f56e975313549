//! Finding a database: `DATABASE_URL` if set; otherwise the local PostgreSQL
//! on 127.0.0.1:5432 if it answers; otherwise a private cluster under
//! `<data dir>/postgres`, started from the installed PostgreSQL binaries and
//! stopped again when the app exits.
use crate::ids::OrgId;
use anyhow::{Context, bail};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

pub const DEFAULT_DB: &str = "mandate";

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How many connections one process keeps, and how long a request waits
/// for one before it is answered 503.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl PoolSettings {
    pub fn options(self) -> PgPoolOptions {
        PgPoolOptions::new().max_connections(self.max_connections).acquire_timeout(self.acquire_timeout)
    }
}

pub struct Database {
    pub pool: PgPool,
    /// Where the data lives, in words for the start-up banner.
    pub description: String,
    pub cluster: Option<PrivateCluster>,
}

pub async fn open(database_url: Option<&str>, data_dir: &Path, pool: PoolSettings) -> anyhow::Result<Database> {
    if let Some(url) = database_url {
        let opts = PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid PostgreSQL URL")?;
        let pool = connect_creating(opts, pool).await.context("could not connect to DATABASE_URL")?;
        return Ok(Database { pool, description: "the database named by DATABASE_URL".into(), cluster: None });
    }
    if local_server_answers().await {
        let user = std::env::var("PGUSER").unwrap_or_else(|_| "postgres".into());
        let opts = PgConnectOptions::new().host("127.0.0.1").port(5432).username(&user).database(DEFAULT_DB);
        let pool = connect_creating(opts, pool).await.with_context(|| {
            format!("PostgreSQL answers on 127.0.0.1:5432 but user `{user}` cannot use it; set DATABASE_URL (or PGUSER)")
        })?;
        return Ok(Database {
            pool,
            description: format!("local PostgreSQL at 127.0.0.1:5432, database `{DEFAULT_DB}`"),
            cluster: None,
        });
    }
    let cluster = PrivateCluster::start(data_dir)?;
    let opts = PgConnectOptions::new().socket(&cluster.socket_dir).username("postgres").database(DEFAULT_DB);
    let pool = connect_creating(opts, pool).await.context("the private PostgreSQL cluster started but does not accept connections")?;
    Ok(Database {
        pool,
        description: format!("private PostgreSQL cluster in {}", cluster.data.display()),
        cluster: Some(cluster),
    })
}

async fn local_server_answers() -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(("127.0.0.1", 5432))).await,
        Ok(Ok(_))
    )
}

/// Connects, creating the database first when it does not exist yet.
async fn connect_creating(opts: PgConnectOptions, pool: PoolSettings) -> anyhow::Result<PgPool> {
    // No JIT compilation: Mandate's large statements (the gap evaluation, the
    // coverage figures) run in tens of milliseconds, and compiling them took
    // PostgreSQL seconds (1.7 s of 2.2 s for the acknowledgement figures of
    // 5,000 people), which is what a first view waited for.
    let opts = opts.log_statements(tracing::log::LevelFilter::Debug).options([("jit", "off")]);
    match pool.options().connect_with(opts.clone()).await {
        Ok(pool) => Ok(pool),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            let name = opts.get_database().unwrap_or(DEFAULT_DB).to_string();
            let admin = opts.clone().database("postgres");
            let mut conn = admin.connect().await.context("could not reach the `postgres` database to create ours")?;
            let quoted = format!("\"{}\"", name.replace('"', "\"\""));
            sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {quoted}").as_str()).await?;
            tracing::info!("created database {name}");
            Ok(pool.options().connect_with(opts).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Applies the migrations, then loads the requirement catalogues (both
/// idempotent, both safe with several processes starting at once).
pub async fn migrate(pool: &PgPool, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("database migration failed")?;
    crate::requirements::catalogue::load_all(pool, now).await.context("loading the requirement catalogues failed")?;
    Ok(())
}

/// A PostgreSQL cluster owned by this app, under the data directory.
pub struct PrivateCluster {
    bin: PathBuf,
    pub data: PathBuf,
    pub socket_dir: PathBuf,
    log: PathBuf,
    /// PostgreSQL refuses to run as root; then it runs as the `postgres` user.
    run_as_postgres: bool,
}

impl PrivateCluster {
    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let bin = find_bin_dir().ok_or_else(|| {
            anyhow::anyhow!(
                "No PostgreSQL found: nothing answers on 127.0.0.1:5432 and no PostgreSQL binaries were found on PATH or in /usr/lib/postgresql/*/bin. Install PostgreSQL (for example `apt-get install postgresql`) or set DATABASE_URL."
            )
        })?;
        std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
        let root = std::fs::canonicalize(data_dir)?;
        let cluster = PrivateCluster {
            bin,
            data: root.join("postgres"),
            socket_dir: socket_dir_for(&root),
            log: root.join("run").join("postgres.log"),
            run_as_postgres: is_root(),
        };
        for dir in [&cluster.socket_dir, &root.join("run")] {
            std::fs::create_dir_all(dir)?;
            cluster.give_to_postgres(dir)?;
        }
        if !cluster.data.join("PG_VERSION").exists() {
            std::fs::create_dir_all(&cluster.data)?;
            cluster.give_to_postgres(&cluster.data)?;
            tracing::info!("initialising a private PostgreSQL cluster in {}", cluster.data.display());
            cluster.run("initdb", &["-D", path(&cluster.data)?, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"])?;
        }
        if cluster.pg_ctl_status()? {
            tracing::info!("reusing the running private PostgreSQL cluster");
        } else {
            let opts = format!(
                "-c listen_addresses='' -c unix_socket_directories='{}' -c unix_socket_permissions=0700",
                cluster.socket_dir.display()
            );
            cluster
                .run("pg_ctl", &["-D", path(&cluster.data)?, "-l", path(&cluster.log)?, "-w", "-t", "60", "-o", &opts, "start"])
                .with_context(|| format!("the private PostgreSQL cluster did not start; see {}", cluster.log.display()))?;
        }
        Ok(cluster)
    }

    /// `pg_ctl status` (not the pid file) tells whether the server really runs.
    fn pg_ctl_status(&self) -> anyhow::Result<bool> {
        let out = self.command("pg_ctl", &["-D", path(&self.data)?, "status"])?.output()?;
        Ok(out.status.success())
    }

    pub fn stop(&self) {
        let Ok(data) = path(&self.data) else { return };
        match self.run("pg_ctl", &["-D", data, "-m", "fast", "-w", "stop"]) {
            Ok(()) => tracing::info!("stopped the private PostgreSQL cluster"),
            Err(e) => tracing::warn!("could not stop the private PostgreSQL cluster: {e:#}"),
        }
    }

    fn command(&self, tool: &str, args: &[&str]) -> anyhow::Result<Command> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.run_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir("/");
        Ok(cmd)
    }

    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let out = self.command(tool, args)?.output().with_context(|| format!("could not run {tool}"))?;
        if !out.status.success() {
            bail!("{tool} failed: {}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
        }
        Ok(())
    }

    fn give_to_postgres(&self, dir: &Path) -> anyhow::Result<()> {
        if !self.run_as_postgres {
            return Ok(());
        }
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir).status()?;
        if !status.success() {
            bail!("PostgreSQL cannot run as root and there is no `postgres` system user to run it; create one or set DATABASE_URL");
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(())
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str().ok_or_else(|| anyhow::anyhow!("path is not UTF-8: {}", p.display()))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Unix socket paths are limited to about 100 bytes; deep checkouts use /tmp.
fn socket_dir_for(root: &Path) -> PathBuf {
    let dir = root.join("run");
    if dir.as_os_str().len() < 80 {
        return dir;
    }
    let digest = hex::encode(&sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(root.as_os_str().as_encoded_bytes()))[..6]);
    std::env::temp_dir().join(format!("mandate-{digest}"))
}

fn find_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).find(|d| d.join("pg_ctl").is_file() && d.join("initdb").is_file())
    });
    if let Some(dir) = on_path {
        // Follow symlinks (/usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin) so the pair matches.
        return std::fs::canonicalize(dir.join("pg_ctl")).ok().and_then(|p| p.parent().map(Path::to_path_buf)).or(Some(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

/// Locks one row of a tenant table for the rest of the transaction, so a
/// read-check-write on it never interleaves with another. The id's type
/// names the table (`lock_row(&mut tx, me.org_id, meeting_id)`).
pub async fn lock_row<I: LockRow>(conn: &mut sqlx::PgConnection, org_id: OrgId, id: I) -> Result<(), sqlx::Error> {
    id.lock(conn, org_id).await
}

/// A record `lock_row` can lock: implemented by the id type of each table
/// that needs it, each with its own compile-checked query.
pub trait LockRow: Copy + Send {
    fn lock(self, conn: &mut sqlx::PgConnection, org_id: OrgId) -> impl std::future::Future<Output = Result<(), sqlx::Error>> + Send;
}

macro_rules! lock_rows {
    ($($id:ident => $sql:literal),* $(,)?) => {$(
        impl LockRow for crate::ids::$id {
            async fn lock(self, conn: &mut sqlx::PgConnection, org_id: OrgId) -> Result<(), sqlx::Error> {
                sqlx::query!($sql, org_id.0, self.0).fetch_optional(conn).await?;
                Ok(())
            }
        }
    )*};
}

lock_rows! {
    PolicyId => "SELECT id FROM policies WHERE org_id = $1 AND id = $2 FOR UPDATE",
    VersionId => "SELECT id FROM policy_versions WHERE org_id = $1 AND id = $2 FOR UPDATE",
    AskId => "SELECT id FROM leadership_asks WHERE org_id = $1 AND id = $2 FOR UPDATE",
    FindingId => "SELECT id FROM findings WHERE org_id = $1 AND id = $2 FOR UPDATE",
    MeetingId => "SELECT id FROM meetings WHERE org_id = $1 AND id = $2 FOR UPDATE",
    ActionItemId => "SELECT id FROM action_items WHERE org_id = $1 AND id = $2 FOR UPDATE",
    ObjectiveId => "SELECT id FROM objectives WHERE org_id = $1 AND id = $2 FOR UPDATE",
    CommunicationId => "SELECT id FROM communications WHERE org_id = $1 AND id = $2 FOR UPDATE",
    DecisionId => "SELECT id FROM resource_decisions WHERE org_id = $1 AND id = $2 FOR UPDATE",
    RoleId => "SELECT id FROM isms_roles WHERE org_id = $1 AND id = $2 FOR UPDATE",
    EvidenceId => "SELECT id FROM evidence_items WHERE org_id = $1 AND id = $2 FOR UPDATE",
}
