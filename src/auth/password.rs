//! Password rules and hashing (Argon2id with OWASP's minimum parameters:
//! 19 MiB memory, 2 passes, 1 lane). Hashing runs off the async threads.
//!
//! Argon2's working memory comes from a fixed set of buffers, one per
//! processor: at most that many hashes run at once (the others wait their
//! turn without holding a thread), and the same few buffers serve the whole
//! life of the process. Without this, a burst of sign-ins left a freed
//! 19 MiB block in every allocator arena the blocking threads touched (the
//! load run saw 110 MiB grow to 400 MiB in ten seconds), and took every core.
use anyhow::{Context, anyhow};
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use tokio::sync::Semaphore;

pub const MIN_LEN: usize = 12;
/// Long passphrases are welcome; the cap only stops absurd request bodies.
pub const MAX_LEN: usize = 1024;

fn params() -> anyhow::Result<Params> {
    Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow!("argon2 params: {e}"))
}

struct Workspace {
    permits: Semaphore,
    buffers: Mutex<Vec<Vec<Block>>>,
}

/// How many hashes may run at once.
fn turns() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).min(8)
}

fn workspace() -> &'static Workspace {
    static WORKSPACE: OnceLock<Workspace> = OnceLock::new();
    WORKSPACE.get_or_init(|| {
        let n = turns();
        Workspace { permits: Semaphore::new(n), buffers: Mutex::new(Vec::new()) }
    })
}

/// Runs `f` on a blocking thread with one of the workspace's buffers.
async fn with_memory<R: Send + 'static>(f: impl FnOnce(&mut Vec<Block>) -> anyhow::Result<R> + Send + 'static) -> anyhow::Result<R> {
    let ws = workspace();
    let _turn = ws.permits.acquire().await.context("password hashing has stopped")?;
    let mut memory = ws.buffers.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default();
    let (memory, result) = tokio::task::spawn_blocking(move || {
        let result = f(&mut memory);
        (memory, result)
    })
    .await
    .context("password hashing task")?;
    ws.buffers.lock().unwrap_or_else(|e| e.into_inner()).push(memory);
    result
}

/// Argon2id of `password` and `salt` into `out`, in `memory` (grown if needed).
fn argon2id(params: Params, version: Version, password: &[u8], salt: &[u8], out: &mut [u8], memory: &mut Vec<Block>) -> anyhow::Result<()> {
    memory.resize(params.block_count(), Block::default());
    Argon2::new(Algorithm::Argon2id, version, params)
        .hash_password_into_with_memory(password, salt, out, &mut memory[..])
        .map_err(|e| anyhow!("hashing failed: {e}"))
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("common_passwords.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

/// Why a new password is refused, in words for the form.
pub fn check_new(password: &str, email: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(format!("Use at least {MIN_LEN} characters (a short sentence works well)."));
    }
    if len > MAX_LEN {
        return Err(format!("Use at most {MAX_LEN} characters."));
    }
    let lower = password.to_lowercase();
    // "password1234" is as weak as "password": strip the usual suffixes too.
    let stem = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    let list = common_passwords();
    if list.contains(lower.as_str()) || list.contains(stem) {
        return Err("This password is on a list of commonly used passwords. Choose another.".into());
    }
    let first = lower.chars().next().unwrap_or(' ');
    if lower.chars().all(|c| c == first) || is_run(&lower) {
        return Err("This password is too predictable. Choose another.".into());
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Err("Do not use your e-mail address in your password.".into());
    }
    Ok(())
}

/// Keyboard rows and counting sequences, e.g. "123456789012" or "qwertyuiopas".
fn is_run(s: &str) -> bool {
    const RUNS: [&str; 4] = ["1234567890", "0987654321", "qwertyuiopasdfghjklzxcvbnm", "abcdefghijklmnopqrstuvwxyz"];
    let compact: String = s.chars().filter(|c| c.is_alphanumeric()).collect();
    compact.len() >= 6 && RUNS.iter().any(|run| run.repeat(3).contains(&compact))
}

/// A new Argon2id hash of `password`, as a PHC string.
pub async fn hash(password: String) -> anyhow::Result<String> {
    with_memory(move |memory| {
        let params = params()?;
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(|e| anyhow!("salt: {e}"))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon2id(params.clone(), Version::V0x13, password.as_bytes(), salt_raw, &mut out, memory)?;
        let phc = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| anyhow!("params: {e}"))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| anyhow!("output: {e}"))?),
        };
        Ok(phc.to_string())
    })
    .await
}

/// Verifies `password` against `stored`, or against a dummy hash when the
/// account does not exist, so both cases cost the same time.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    let stored = match stored {
        Some(s) => s,
        None => dummy_hash().await?,
    };
    let real = !stored.is_empty();
    with_memory(move |memory| {
        let parsed = PasswordHash::new(&stored).map_err(|e| anyhow!("stored hash unreadable: {e}"))?;
        anyhow::ensure!(parsed.algorithm == argon2::ARGON2ID_IDENT, "stored hash is not Argon2id");
        let params = Params::try_from(&parsed).map_err(|e| anyhow!("stored hash parameters: {e}"))?;
        let version = parsed.version.map(Version::try_from).transpose().map_err(|e| anyhow!("stored hash version: {e}"))?.unwrap_or_default();
        let expected = parsed.hash.ok_or_else(|| anyhow!("stored hash has no output"))?;
        let mut salt_bytes = [0u8; 64];
        let salt = parsed.salt.ok_or_else(|| anyhow!("stored hash has no salt"))?.decode_b64(&mut salt_bytes).map_err(|e| anyhow!("salt: {e}"))?;
        let mut out = vec![0u8; expected.len()];
        argon2id(params, version, password.as_bytes(), salt, &mut out, memory)?;
        // `Output` compares in constant time.
        let same = Output::new(&out).map_err(|e| anyhow!("output: {e}"))? == expected;
        Ok(same && real)
    })
    .await
}

async fn dummy_hash() -> anyhow::Result<String> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| async {
            let random = hex::encode(rand::random::<[u8; 16]>());
            hash(random).await
        })
        .await
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limits() {
        assert!(check_new("short-pass", "a@b.c").is_err());
        assert!(check_new("a sensible passphrase", "a@b.c").is_ok());
        let long: String = "correct horse battery staple ".repeat(5);
        assert!(long.len() >= 128);
        assert!(check_new(&long, "a@b.c").is_ok());
    }

    #[test]
    fn common_and_predictable_passwords_are_refused() {
        for pw in ["password1234", "Password123!", "qwertyuiopas", "123456789012", "aaaaaaaaaaaa", "christopher1"] {
            assert!(check_new(pw, "x@example.com").is_err(), "{pw} should be refused");
        }
        assert!(check_new("priya.shah-secret!", "priya.shah@example.com").is_err());
    }

    #[tokio::test]
    async fn argon2id_round_trip_without_truncation() {
        let long = "x".repeat(200) + "tail-one";
        let stored = hash(long.clone()).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(long.clone(), Some(stored.clone())).await.unwrap());
        // Changing only the end of a long password must fail (no truncation).
        let other = "x".repeat(200) + "tail-two";
        assert!(!verify(other, Some(stored)).await.unwrap());
        assert!(!verify(long, None).await.unwrap());
    }

    /// Hashes made by the argon2 crate's own API (as stored before the
    /// workspace) verify, and ours verify with its API.
    #[tokio::test]
    async fn hashes_match_the_argon2_crates_own() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params().unwrap())
            .hash_password(b"an older stored passphrase", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify("an older stored passphrase".into(), Some(theirs.clone())).await.unwrap());
        assert!(!verify("an older stored passphrase!".into(), Some(theirs)).await.unwrap());
        let ours = hash("a passphrase of today".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"a passphrase of today", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"a passphrase of today.", &parsed).is_err());
    }

    /// However many hashes are asked for at once, only a processor's worth of
    /// buffers is ever made.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_hashes_share_a_fixed_set_of_buffers() {
        let hashes: Vec<_> = (0..12).map(|i| tokio::spawn(hash(format!("passphrase number {i}")))).collect();
        for h in hashes {
            h.await.unwrap().unwrap();
        }
        let buffers = workspace().buffers.lock().unwrap().len();
        assert!((1..=turns()).contains(&buffers), "{buffers} buffers");
    }
}
