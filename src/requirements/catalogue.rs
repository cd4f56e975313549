//! Requirement catalogues are data (catalogues/*.toml, embedded at build
//! time). At start-up each is checked and loaded: an unchanged file does
//! nothing, a changed one updates its items in place, and items a newer
//! version drops are retired, never deleted, so their history stays.
use crate::audit::{self, Actor};
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use crate::ids::RequirementId;
use std::collections::HashSet;
use uuid::Uuid;

include!(concat!(env!("OUT_DIR"), "/catalogues.rs"));

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub framework: Framework,
    pub clauses: Vec<Clause>,
    pub requirements: Vec<Item>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub key: String,
    pub title: String,
    pub version: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub code: String,
    pub title: String,
    pub summary: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub code: String,
    pub clause: String,
    pub title: String,
    pub summary: String,
    pub auditor_looks_for: String,
    pub evidence: Vec<String>,
    /// The kinds of Mandate record that count as its evidence.
    #[serde(default)]
    pub records: Vec<super::records::Source>,
    /// "5.3(a)" or "5.3(b)": whose role owns it when nobody is named.
    #[serde(default)]
    pub owner_assignment: Option<String>,
}

/// The stable id of a requirement: the same on every installation.
pub fn requirement_id(framework: &str, code: &str) -> RequirementId {
    RequirementId(Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("urn:mandate:requirement:{framework}/{code}").as_bytes()))
}

/// Parses a catalogue and checks it hangs together.
pub fn parse(text: &str) -> anyhow::Result<Catalogue> {
    let c: Catalogue = toml::from_str(text)?;
    if c.framework.key.trim().is_empty() || c.framework.version < 1 {
        bail!("the framework needs a key and a version of 1 or more");
    }
    let mut clause_codes = HashSet::new();
    for cl in &c.clauses {
        if cl.code.trim().is_empty() || cl.title.trim().is_empty() || !clause_codes.insert(cl.code.as_str()) {
            bail!("clause {:?} is empty or listed twice", cl.code);
        }
    }
    let mut codes = HashSet::new();
    for r in &c.requirements {
        if !codes.insert(r.code.as_str()) {
            bail!("requirement {} is listed twice", r.code);
        }
        if !clause_codes.contains(r.clause.as_str()) {
            bail!("requirement {} names clause {}, which the catalogue does not list", r.code, r.clause);
        }
        if [&r.code, &r.title, &r.summary, &r.auditor_looks_for].iter().any(|f| f.trim().is_empty()) || r.evidence.is_empty() {
            bail!("requirement {} has an empty field", r.code);
        }
        // The codes of `roles::model::Assignment` (the column checks them too).
        if let Some(a) = &r.owner_assignment
            && !matches!(a.as_str(), "5.3(a)" | "5.3(b)")
        {
            bail!("requirement {} names {a:?} as its owner's assignment: only 5.3(a) or 5.3(b) can be", r.code);
        }
    }
    Ok(c)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    Loaded { requirements: usize, retired: u64 },
    /// The database holds a newer version (an older binary is running).
    Newer { stored: i32 },
}

/// Loads every embedded catalogue. Safe to run from several processes at once.
pub async fn load_all(db: &PgPool, now: DateTime<Utc>) -> anyhow::Result<()> {
    for (file, text) in CATALOGUES {
        let outcome = load(db, now, text).await.with_context(|| format!("catalogue {file}"))?;
        match outcome {
            Outcome::Unchanged => {}
            Outcome::Loaded { requirements, retired } => {
                tracing::info!("loaded catalogue {file}: {requirements} requirements, {retired} retired")
            }
            Outcome::Newer { stored } => {
                tracing::warn!("catalogue {file}: the database already has version {stored}, newer than this build's")
            }
        }
    }
    Ok(())
}

pub async fn load(db: &PgPool, now: DateTime<Utc>, text: &str) -> anyhow::Result<Outcome> {
    let c = parse(text)?;
    let hash = Sha256::digest(text.as_bytes()).to_vec();
    let fw = &c.framework;
    let mut tx = db.begin().await?;
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('catalogue:' || $1))", fw.key).execute(&mut *tx).await?;
    let stored = sqlx::query!("SELECT version, content_hash FROM frameworks WHERE key = $1", fw.key).fetch_optional(&mut *tx).await?;
    match &stored {
        Some(s) if s.content_hash == hash => return Ok(Outcome::Unchanged),
        Some(s) if s.version > fw.version => return Ok(Outcome::Newer { stored: s.version }),
        _ => {}
    }
    sqlx::query!(
        "INSERT INTO frameworks (key, title, version, content_hash, loaded_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key) DO UPDATE SET title = $2, version = $3, content_hash = $4, loaded_at = $5",
        fw.key,
        fw.title,
        fw.version,
        hash,
        now,
    )
    .execute(&mut *tx)
    .await?;
    for (i, cl) in c.clauses.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO catalogue_clauses (framework, code, title, summary, position) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (framework, code) DO UPDATE SET title = $3, summary = $4, position = $5",
            fw.key,
            cl.code,
            cl.title,
            cl.summary,
            i as i32,
        )
        .execute(&mut *tx)
        .await?;
    }
    let mut ids: Vec<Uuid> = Vec::new();
    for (i, r) in c.requirements.iter().enumerate() {
        let id = requirement_id(&fw.key, &r.code);
        ids.push(id.0);
        sqlx::query!(
            "INSERT INTO requirements (id, framework, code, clause, title, summary, auditor_looks_for, evidence, position, retired_at, records, owner_assignment)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $11)
             ON CONFLICT (id) DO UPDATE SET clause = $4, title = $5, summary = $6, auditor_looks_for = $7,
                    evidence = $8, position = $9, retired_at = NULL, records = $10, owner_assignment = $11",
            id.0,
            fw.key,
            r.code,
            r.clause,
            r.title,
            r.summary,
            r.auditor_looks_for,
            &r.evidence,
            i as i32,
            &r.records.iter().map(|s| s.as_str().to_string()).collect::<Vec<_>>(),
            r.owner_assignment.as_deref(),
        )
        .execute(&mut *tx)
        .await?;
    }
    let retired = sqlx::query!(
        "UPDATE requirements SET retired_at = $3 WHERE framework = $1 AND retired_at IS NULL AND NOT (id = ANY($2))",
        fw.key,
        &ids,
        now,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let actor = Actor::system(None, "catalogue loader");
    audit::record(
        &mut tx,
        &actor,
        now,
        "catalogue.loaded",
        "framework",
        &fw.key,
        json!({"version": fw.version, "sha256": hex::encode(&hash), "requirements": ids.len(), "retired": retired}),
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Loaded { requirements: ids.len(), retired })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_catalogue_parses() {
        assert!(!CATALOGUES.is_empty());
        for (file, text) in CATALOGUES {
            let c = parse(text).unwrap_or_else(|e| panic!("{file}: {e:#}"));
            assert!(!c.requirements.is_empty(), "{file}");
        }
    }

    #[test]
    fn the_leadership_catalogue_covers_clause_5_and_a_5_4() {
        let (_, text) = CATALOGUES.iter().find(|(f, _)| f.starts_with("iso27001-2022-leadership")).unwrap();
        let c = parse(text).unwrap();
        let codes: Vec<&str> = c.requirements.iter().map(|r| r.code.as_str()).collect();
        for code in ["5.1(a)", "5.1(h)", "5.2(a)", "5.2(d)", "5.2(e)", "5.2(f)", "5.2(g)", "5.3", "5.3(a)", "5.3(b)", "A.5.4"] {
            assert!(codes.contains(&code), "{code} missing");
        }
    }

    #[test]
    fn broken_catalogues_are_refused() {
        let base = "[framework]\nkey = \"k\"\ntitle = \"t\"\nversion = 1\n[[clauses]]\ncode = \"1\"\ntitle = \"t\"\nsummary = \"s\"\n";
        let item = |code: &str, clause: &str| {
            format!("[[requirements]]\ncode = \"{code}\"\nclause = \"{clause}\"\ntitle = \"t\"\nsummary = \"s\"\nauditor_looks_for = \"a\"\nevidence = [\"e\"]\n")
        };
        assert!(parse(&format!("{base}{}", item("1.1", "1"))).is_ok());
        assert!(parse(&format!("{base}{}", item("1.1", "2"))).unwrap_err().to_string().contains("does not list"));
        assert!(parse(&format!("{base}{}{}", item("1.1", "1"), item("1.1", "1"))).unwrap_err().to_string().contains("twice"));
        assert!(parse(&format!("{base}{}extra = 1\n", item("1.1", "1"))).is_err());
    }

    #[test]
    fn requirement_ids_are_stable() {
        assert_eq!(requirement_id("f", "5.3(a)"), requirement_id("f", "5.3(a)"));
        assert_ne!(requirement_id("f", "5.3(a)"), requirement_id("f", "5.3(b)"));
    }
}
