//! Password rules and hashing (Argon2id with OWASP's minimum parameters:
//! 19 MiB memory, 2 passes, 1 lane). Hashing runs off the async threads.
use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashSet;
use std::sync::OnceLock;

pub const MIN_LEN: usize = 12;
/// Long passphrases are welcome; the cap only stops absurd request bodies.
pub const MAX_LEN: usize = 1024;

fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
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

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await
    .context("hash task")?
}

/// Verifies `password` against `stored`, or against a dummy hash when the
/// account does not exist, so both cases cost the same time.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    let stored = match stored {
        Some(s) => s,
        None => dummy_hash().await?,
    };
    let real = !stored.is_empty();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
        let ok = hasher()?.verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(ok && real)
    })
    .await
    .context("verify task")?
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
}
