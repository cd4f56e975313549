//! The ZIP a bundle is written into: every entry is hashed and counted as
//! it streams through, and so is the whole file; the manifest's lines wait
//! in a temporary file until the end.
use super::manifest::FileEntry;
use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipDateTime, ZipEntryBuilder};
use futures_util::{AsyncWriteExt, StreamExt};
use sha2::{Digest, Sha256};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tokio_util::compat::Compat;

pub(super) fn compresses(content_type: &str) -> bool {
    content_type.starts_with("text/") || matches!(content_type, "application/json" | "message/rfc822")
}

/// Counts and hashes what passes through to the destination.
pub(super) struct Hashing<W> {
    pub(super) inner: W,
    pub(super) hasher: Sha256,
    pub(super) size: u64,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Hashing<W> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.hasher.update(&buf[..n]);
                this.size += n as u64;
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

pub(super) type Zip<W> = ZipFileWriter<Compat<Hashing<W>>>;

/// The ZIP being written, and the manifest lines kept on disk meanwhile.
pub(super) struct Writer<W: AsyncWrite + Unpin> {
    pub(super) zip: Zip<W>,
    pub(super) stamp: ZipDateTime,
    pub(super) manifest_lines: tokio::io::BufWriter<tokio::fs::File>,
    pub(super) manifest_path: std::path::PathBuf,
    pub(super) files: usize,
}

/// An entry being written: what goes in is hashed and counted.
pub struct Entry<'a, W: AsyncWrite + Unpin> {
    inner: async_zip::base::write::EntryStreamWriter<'a, Compat<Hashing<W>>>,
    hasher: Sha256,
    size: u64,
}

impl<W: AsyncWrite + Unpin> Entry<'_, W> {
    pub async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        self.inner.write_all(bytes).await?;
        Ok(())
    }

    pub async fn finish(self) -> anyhow::Result<(Vec<u8>, u64)> {
        self.inner.close().await?;
        Ok((self.hasher.finalize().to_vec(), self.size))
    }
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    pub(super) async fn start(&mut self, name: &str, compress: bool) -> anyhow::Result<Entry<'_, W>> {
        let entry = ZipEntryBuilder::new(name.to_string().into(), if compress { Compression::Deflate } else { Compression::Stored })
            .last_modification_date(self.stamp)
            .unix_permissions(0o644);
        Ok(Entry { inner: self.zip.write_entry_stream(entry).await?, hasher: Sha256::new(), size: 0 })
    }

    /// Adds one entry from a stream of chunks; returns its SHA-256 and size.
    pub(super) async fn add<S>(&mut self, name: &str, compress: bool, mut chunks: S) -> anyhow::Result<(Vec<u8>, u64)>
    where
        S: futures_util::Stream<Item = anyhow::Result<bytes::Bytes>> + Unpin,
    {
        let mut entry = self.start(name, compress).await?;
        while let Some(chunk) = chunks.next().await {
            entry.write(&chunk?).await?;
        }
        entry.finish().await
    }

    pub(super) async fn list(&mut self, entry: FileEntry) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(&entry)?;
        line.push(b'\n');
        self.manifest_lines.write_all(&line).await?;
        self.files += 1;
        Ok(())
    }

    /// Adds a text entry built in memory (small: the index head, a gap list).
    pub(super) async fn add_text(&mut self, name: &str, kind: &str, text: String) -> anyhow::Result<()> {
        let (sha, size) = self.add(name, true, futures_util::stream::iter([Ok(bytes::Bytes::from(text))])).await?;
        self.list(FileEntry { path: name.into(), sha256: hex::encode(sha), size, kind: kind.into(), ..blank() }).await
    }
}


pub(super) fn blank() -> FileEntry {
    FileEntry {
        path: String::new(),
        sha256: String::new(),
        size: 0,
        kind: String::new(),
        evidence_item: None,
        title: None,
        revision: None,
        evidence_date: None,
        requirements: Vec::new(),
        records: Vec::new(),
    }
}
