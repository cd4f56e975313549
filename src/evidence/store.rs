//! Where evidence files live: any `object_store` (a local folder by default,
//! S3-compatible storage by configuration), through one code path.
//!
//! An upload streams straight into a multipart upload at its final key while
//! its size, SHA-256 and type are worked out; nothing is visible at the key
//! until the upload completes, and the database row is written after that.
//! A process killed mid-upload leaves at most a hidden partial file (local
//! store) or an unfinished multipart upload (S3), never a row or a file at a
//! final key; `sweep` removes partial files and completed files no row
//! refers to.
use crate::ids::{OrgId, RevisionId};
use super::sniff::{self, FileType, Refusal, Sniffer};
use anyhow::Context;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

/// Parts of this size go to the store; at most two are in flight, so an
/// upload of any size uses a few of them in memory.
const PART: usize = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

pub struct EvidenceStore {
    inner: Arc<dyn ObjectStore>,
    /// The folder of a local store (partial files are swept there).
    local_root: Option<PathBuf>,
    pub description: String,
}

/// A completed upload.
#[derive(Debug, Clone)]
pub struct Received {
    pub key: String,
    pub size: u64,
    pub sha256: Vec<u8>,
    pub file_type: FileType,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    Refused(Refusal),
    #[error("the upload was interrupted")]
    Interrupted,
    /// The store has no room left (a full disk or an exhausted quota).
    #[error("the evidence store is full")]
    Full,
    #[error("the evidence store failed: {0:#}")]
    Storage(anyhow::Error),
}

impl UploadError {
    /// A failure of the store itself, told apart when it is out of room.
    fn storage(e: object_store::Error) -> Self {
        if out_of_room(&e) { Self::Full } else { Self::Storage(e.into()) }
    }
}

/// Whether an error, or any error under it, says the disk or quota is full.
pub fn out_of_room(e: &(dyn std::error::Error + 'static)) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && (matches!(io.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
                || matches!(io.raw_os_error(), Some(ENOSPC | EDQUOT)))
        {
            return true;
        }
        next = e.source();
    }
    false
}

impl EvidenceStore {
    /// `url`: none for `<data dir>/evidence`, `file:///abs/path`, or
    /// `s3://bucket/prefix` (endpoint, region and credentials from the
    /// standard `AWS_*` environment variables).
    pub fn open(url: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        match url {
            None => Self::local(&data_dir.join("evidence")),
            Some(u) if u.starts_with("file://") => Self::local(Path::new(u.trim_start_matches("file://"))),
            Some(u) if u.starts_with("s3://") => Self::s3(u, object_store::aws::AmazonS3Builder::from_env()),
            Some(u) => anyhow::bail!("MANDATE_EVIDENCE_URL must start with file:// or s3://, not {u}"),
        }
    }

    /// An S3-compatible store at `s3://bucket/prefix`, with the rest of its
    /// settings (endpoint, region, credentials) already in `builder`.
    pub fn s3(url: &str, builder: object_store::aws::AmazonS3Builder) -> anyhow::Result<Self> {
        let store = builder.with_url(url).build().with_context(|| format!("cannot use the evidence store {url}"))?;
        let prefix = url.trim_start_matches("s3://").split_once('/').map(|(_, p)| p.trim_matches('/')).unwrap_or("");
        let inner: Arc<dyn ObjectStore> =
            if prefix.is_empty() { Arc::new(store) } else { Arc::new(object_store::prefix::PrefixStore::new(store, prefix)) };
        Ok(Self { inner, local_root: None, description: url.to_string() })
    }

    pub fn local(root: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(root).with_context(|| format!("cannot create the evidence folder {}", root.display()))?;
        let root = std::fs::canonicalize(root)?;
        let inner = Arc::new(LocalFileSystem::new_with_prefix(&root)?);
        Ok(Self { inner, local_root: Some(root.clone()), description: root.display().to_string() })
    }

    /// The key of a revision's file: server-made, never from the uploader.
    pub fn key_for(org_id: OrgId, revision_id: RevisionId) -> String {
        format!("orgs/{org_id}/{revision_id}")
    }

    /// Streams `body` to `key`, refusing it (and leaving nothing) when it is
    /// larger than `limit` or not an accepted type. `filename` is only used
    /// to refuse a name that contradicts the contents.
    pub async fn receive<S, E>(&self, key: &str, mut body: S, limit: u64, filename: &str) -> Result<Received, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let extension = sniff::extension(filename);
        let mut sniffer = Sniffer::new();
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let location = Key::from(key);
        let upload = self.inner.put_multipart(&location).await.map_err(UploadError::storage)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let outcome: Result<(), UploadError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|_| UploadError::Interrupted)?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(UploadError::TooLarge { limit });
                }
                let was_short = sniffer.head().len() < sniff::HEAD;
                sniffer.feed(&chunk);
                if was_short && sniffer.head().len() >= sniff::HEAD {
                    // Refuse what is plainly not allowed before storing more of it.
                    if let Some(r) = sniffer.early_refusal() {
                        return Err(UploadError::Refused(r));
                    }
                }
                hasher.update(&chunk);
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(UploadError::storage)?;
                writer.write(&chunk);
            }
            Ok(())
        }
        .await;
        let judged = outcome.and_then(|_| sniffer.judge(size, extension.as_deref()).map_err(UploadError::Refused));
        let file_type = match judged {
            Ok(t) => t,
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!("could not abort a refused upload to {key}: {abort}");
                }
                return Err(e);
            }
        };
        // `finish` removes what it wrote when it fails.
        writer.finish().await.map_err(UploadError::storage)?;
        Ok(Received { key: key.to_string(), size, sha256: hasher.finalize().to_vec(), file_type })
    }

    /// A writer that streams to `key` in parts; shutting it down completes
    /// the file. Dropped before that, it leaves no complete file behind.
    pub fn writer(&self, key: &str) -> object_store::buffered::BufWriter {
        object_store::buffered::BufWriter::with_capacity(self.inner.clone(), Key::from(key), PART).with_max_concurrency(PARTS_IN_FLIGHT)
    }

    /// A stored file, as a stream of bytes, and its size.
    pub async fn read(&self, key: &str) -> anyhow::Result<(u64, BoxStream<'static, Result<Bytes, std::io::Error>>)> {
        // A local store is read straight from the file in 1 MiB chunks
        // (object_store's local reads go 8 KiB at a time).
        if let Some(root) = &self.local_root {
            let file = tokio::fs::File::open(root.join(key)).await.with_context(|| format!("reading {key}"))?;
            let size = file.metadata().await?.len();
            return Ok((size, tokio_util::io::ReaderStream::with_capacity(file, 1 << 20).boxed()));
        }
        let got = self.inner.get(&Key::from(key)).await.with_context(|| format!("reading {key}"))?;
        let size = got.meta.size;
        let stream = got.into_stream().map_err(std::io::Error::other).boxed();
        Ok((size, stream))
    }

    /// Removes a file whose database row was never written.
    pub async fn discard(&self, key: &str) {
        if let Err(e) = self.inner.delete(&Key::from(key)).await {
            tracing::warn!("could not remove {key} from the evidence store: {e}");
        }
    }

    /// Removes what interrupted uploads left behind, if older than `age`:
    /// hidden partial files of a local store, completed files that no
    /// revision row refers to, and bundle files no finished job refers to. Safe while other processes upload: anything
    /// younger than `age` is left alone.
    pub async fn sweep(&self, db: &PgPool, now: DateTime<Utc>, age: Duration) -> anyhow::Result<Swept> {
        let cutoff = now - age;
        let mut swept = Swept::default();
        if let Some(root) = &self.local_root {
            swept.partial = sweep_partials(root, cutoff)?;
        }
        let mut candidates: Vec<(OrgId, RevisionId, String)> = Vec::new();
        let mut listing = self.inner.list(Some(&Key::from("orgs")));
        while let Some(meta) = listing.try_next().await? {
            if meta.last_modified > cutoff {
                continue;
            }
            let parts: Vec<&str> = meta.location.as_ref().split('/').collect();
            if let [_, org, rev] = parts.as_slice()
                && let (Ok(org), Ok(rev)) = (org.parse(), rev.parse())
            {
                candidates.push((org, rev, meta.location.to_string()));
            }
        }
        for batch in candidates.chunks(1000) {
            let orgs: Vec<Uuid> = batch.iter().map(|c| c.0.0).collect();
            let revs: Vec<Uuid> = batch.iter().map(|c| c.1.0).collect();
            let known = sqlx::query_scalar!(
                r#"SELECT r.id AS "id: RevisionId" FROM evidence_revisions r
                     JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(org_id, id) ON r.org_id = k.org_id AND r.id = k.id"#,
                &orgs,
                &revs,
            )
            .fetch_all(db)
            .await?;
            for (_, rev, key) in batch {
                if !known.contains(rev) {
                    self.discard(key).await;
                    swept.orphans += 1;
                }
            }
        }
        // Evidence bundles of attempts that never finished, or lost their job.
        let mut bundles: Vec<String> = Vec::new();
        let mut listing = self.inner.list(Some(&Key::from("bundles")));
        while let Some(meta) = listing.try_next().await? {
            if meta.last_modified <= cutoff {
                bundles.push(meta.location.to_string());
            }
        }
        for batch in bundles.chunks(1000) {
            let kept = sqlx::query_scalar!(r#"SELECT result_key AS "result_key!" FROM jobs WHERE result_key = ANY($1)"#, batch).fetch_all(db).await?;
            for key in batch.iter().filter(|k| !kept.contains(k)) {
                self.discard(key).await;
                swept.orphans += 1;
            }
        }
        Ok(swept)
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub partial: usize,
    pub orphans: usize,
}

/// A local store writes an upload to `<key>#<n>` and renames it on completion.
fn is_partial(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn sweep_partials(dir: &Path, cutoff: DateTime<Utc>) -> anyhow::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let meta = entry.metadata()?;
        if meta.is_dir() {
            removed += sweep_partials(&path, cutoff)?;
        } else if is_partial(&entry.file_name().to_string_lossy()) {
            let modified: DateTime<Utc> = meta.modified()?.into();
            if modified <= cutoff {
                std::fs::remove_file(&path)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_names() {
        assert!(is_partial("5f0c#1"));
        assert!(is_partial("5f0c#12"));
        assert!(!is_partial("5f0c"));
        assert!(!is_partial("a#b"));
    }
}
