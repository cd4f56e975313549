//! The ZIP's own structure, read from its raw bytes rather than through a
//! ZIP library: a file whose entries read correctly through the central
//! directory can still show other content to a tool that reads it another
//! way (a streaming unzip follows the local headers; some tools scan from
//! the front). So every local file header must agree with its central
//! directory entry (name, compression method, flags, CRC-32 and sizes, also
//! in the data descriptor), the central directory's offsets must point at
//! those headers, and every byte of the file must belong to exactly one
//! entry, the central directory or the end records: no gaps, no overlaps,
//! nothing after the end record but the comment it declares.
//!
//! The file is read with seeks: the end records, the central directory (a
//! few dozen bytes per entry, kept in memory) and each local header with its
//! data descriptor; never the entries' data, so a bundle of any size is
//! checked in little memory. (The data itself, and its CRC-32, are checked
//! while `manifest::verify` hashes it.)
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const DESCRIPTOR: u32 = 0x0807_4b50;
/// A 32-bit field whose value is in the ZIP64 extra field.
const SEE_ZIP64: u32 = u32::MAX;
const ZIP64_EXTRA: u16 = 0x0001;
const END_LEN: u64 = 22;
const LOCATOR_LEN: u64 = 20;
const LOCAL_LEN: u64 = 30;
const CENTRAL_LEN: usize = 46;
/// Past this many, further problems are counted, not listed.
const MAX_PROBLEMS: usize = 100;

/// One entry as the central directory gives it.
struct Central {
    name: Vec<u8>,
    flags: u16,
    method: u16,
    crc: u32,
    /// The 32-bit size fields as written (`SEE_ZIP64` when in the extra field).
    compressed32: u32,
    uncompressed32: u32,
    compressed: u64,
    uncompressed: u64,
    offset: u64,
}

impl Central {
    fn label(&self) -> String {
        label(&self.name)
    }
}

/// An entry name in quotes, with anything unprintable escaped.
fn label(name: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(name))
}

fn method(m: u16) -> String {
    match m {
        0 => "stored (0)".into(),
        8 => "deflate (8)".into(),
        other => format!("method {other}"),
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// The sub-fields of an extra field, or None if they do not exactly fill it.
fn extra_fields(extra: &[u8]) -> Option<Vec<(u16, &[u8])>> {
    let mut out = Vec::new();
    let mut rest = extra;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return None;
        }
        let (id, len) = (u16_at(rest, 0), u16_at(rest, 2) as usize);
        if rest.len() < 4 + len {
            return None;
        }
        out.push((id, &rest[4..4 + len]));
        rest = &rest[4 + len..];
    }
    Some(out)
}

#[derive(Default)]
struct Problems {
    list: Vec<String>,
    more: usize,
}

impl Problems {
    fn add(&mut self, p: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(p);
        } else {
            self.more += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.more > 0 {
            self.list.push(format!("and {} more problems of the ZIP structure", self.more));
        }
        self.list
    }
}

/// Reads up to `len` bytes at `at` (fewer at the end of the file).
fn read_at(file: &mut File, at: u64, len: usize) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(at))?;
    let mut buf = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Where the central directory is, as the end records give it.
struct Directory {
    offset: u64,
    size: u64,
    entries: u64,
    /// Where the central directory must end: the ZIP64 end record, or the end record.
    end: u64,
}

/// Checks the ZIP structure of the file at `path`; returns the problems
/// found, each in plain words naming the entry concerned (none: the
/// structure is sound). An error only when the file cannot be read.
pub fn check(path: &Path) -> io::Result<Vec<String>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut p = Problems::default();
    if let Some(dir) = end_records(&mut file, len, &mut p)?
        && let Some(entries) = central_directory(&mut file, &dir, &mut p)?
    {
        layout(&mut file, len, &dir, entries, &mut p)?;
    }
    Ok(p.finish())
}

/// Finds the end-of-central-directory record (and the ZIP64 end record, if
/// located), checks that they account for every byte after the central
/// directory, and returns where the central directory is.
fn end_records(file: &mut File, len: u64, p: &mut Problems) -> io::Result<Option<Directory>> {
    // The end record is the last 22 bytes but for a comment of at most 65,535 bytes.
    let tail_start = len.saturating_sub(END_LEN + u16::MAX as u64);
    let tail = read_at(file, tail_start, (len - tail_start) as usize)?;
    let candidates: Vec<usize> = (0..tail.len().saturating_sub(END_LEN as usize - 1)).rev().filter(|&i| u32_at(&tail, i) == END).collect();
    // The one whose declared comment reaches exactly the end of the file, as
    // a ZIP tool searching from the end would take it; else the last one.
    let exact = candidates.iter().copied().find(|&i| i + END_LEN as usize + u16_at(&tail, i + 20) as usize == tail.len());
    let Some(at) = exact.or(candidates.first().copied()) else {
        p.add("no end-of-central-directory record in the last 64 KiB of the file: it is not a ZIP file, was cut short, or has bytes appended".into());
        return Ok(None);
    };
    let eocd = &tail[at..at + END_LEN as usize];
    let eocd_at = tail_start + at as u64;
    let comment = u16_at(eocd, 20) as u64;
    let after = len - eocd_at - END_LEN;
    if after > comment {
        p.add(format!(
            "{} bytes follow the end-of-central-directory record at offset {eocd_at}, which declares {}: they belong to nothing in the ZIP",
            after - comment,
            if comment == 0 { "no comment".to_string() } else { format!("a comment of {comment} bytes") }
        ));
    } else if after < comment {
        p.add(format!("the end-of-central-directory record declares a comment of {comment} bytes, but only {after} bytes follow it"));
    }
    let (disk, cd_disk) = (u16_at(eocd, 4), u16_at(eocd, 6));
    let (entries_here, entries16) = (u16_at(eocd, 8), u16_at(eocd, 10));
    let (size32, offset32) = (u32_at(eocd, 12), u32_at(eocd, 16));
    if (disk, cd_disk) != (0, 0) && (disk, cd_disk) != (u16::MAX, u16::MAX) {
        p.add(format!("the end-of-central-directory record says the ZIP spans several disks (disk {disk}, central directory on disk {cd_disk})"));
    }
    if entries_here != entries16 {
        p.add(format!("the end-of-central-directory record gives {entries16} entries in all but {entries_here} on this disk"));
    }

    let locator = if eocd_at >= LOCATOR_LEN { read_at(file, eocd_at - LOCATOR_LEN, LOCATOR_LEN as usize)? } else { Vec::new() };
    let dir = if locator.len() == LOCATOR_LEN as usize && u32_at(&locator, 0) == ZIP64_LOCATOR {
        let locator_at = eocd_at - LOCATOR_LEN;
        let (z_disk, z_at, disks) = (u32_at(&locator, 4), u64_at(&locator, 8), u32_at(&locator, 16));
        if z_disk != 0 || disks != 1 {
            p.add(format!("the ZIP64 end locator says the ZIP spans several disks ({disks} disks, ZIP64 end record on disk {z_disk})"));
        }
        let record = if z_at.checked_add(56).is_some_and(|e| e <= locator_at) { read_at(file, z_at, 56)? } else { Vec::new() };
        if record.len() < 56 || u32_at(&record, 0) != ZIP64_END {
            p.add(format!("the ZIP64 end locator points at offset {z_at}, where there is no ZIP64 end-of-central-directory record"));
            return Ok(None);
        }
        let record_end = z_at.checked_add(12).and_then(|e| e.checked_add(u64_at(&record, 4)));
        if record_end != Some(locator_at) {
            p.add(format!(
                "the ZIP64 end record at offset {z_at} declares a length that {} the ZIP64 end locator at offset {locator_at}",
                if record_end.is_some_and(|e| e < locator_at) { "stops short of" } else { "runs past" }
            ));
        }
        let (z_disk, z_cd_disk) = (u32_at(&record, 16), u32_at(&record, 20));
        let (z_here, entries, size, offset) = (u64_at(&record, 24), u64_at(&record, 32), u64_at(&record, 40), u64_at(&record, 48));
        if (z_disk, z_cd_disk) != (0, 0) {
            p.add(format!("the ZIP64 end record says the ZIP spans several disks (disk {z_disk}, central directory on disk {z_cd_disk})"));
        }
        if z_here != entries {
            p.add(format!("the ZIP64 end record gives {entries} entries in all but {z_here} on this disk"));
        }
        // Where the plain end record gives a value rather than "see ZIP64", the two must agree.
        if entries16 != u16::MAX && entries16 as u64 != entries {
            p.add(format!("the end-of-central-directory record gives {entries16} entries, the ZIP64 end record {entries}"));
        }
        if size32 != SEE_ZIP64 && size32 as u64 != size {
            p.add(format!("the end-of-central-directory record gives a central directory of {size32} bytes, the ZIP64 end record {size}"));
        }
        if offset32 != SEE_ZIP64 && offset32 as u64 != offset {
            p.add(format!("the end-of-central-directory record puts the central directory at offset {offset32}, the ZIP64 end record at {offset}"));
        }
        Directory { offset, size, entries, end: z_at }
    } else {
        Directory { offset: offset32 as u64, size: size32 as u64, entries: entries16 as u64, end: eocd_at }
    };
    match dir.offset.checked_add(dir.size) {
        Some(e) if e == dir.end => {}
        Some(e) if e < dir.end => {
            p.add(format!("{} bytes at offset {e}, between the central directory and the end records, belong to nothing in the ZIP", dir.end - e))
        }
        _ => {
            p.add(format!("the central directory (offset {}, {} bytes) runs past the end records at offset {}", dir.offset, dir.size, dir.end));
            return Ok(None);
        }
    }
    Ok(Some(dir))
}

/// Reads every central directory entry; None when it cannot be read at all.
fn central_directory(file: &mut File, dir: &Directory, p: &mut Problems) -> io::Result<Option<Vec<Central>>> {
    file.seek(SeekFrom::Start(dir.offset))?;
    let mut r = BufReader::new(file.take(dir.size));
    let mut out = Vec::new();
    let mut read = 0u64;
    for n in 0..dir.entries {
        let mut head = [0u8; CENTRAL_LEN];
        if r.read_exact(&mut head).is_err() || u32_at(&head, 0) != CENTRAL_HEADER {
            p.add(format!(
                "the central directory holds {n} readable entries where its end record declares {}; entry {} is {}",
                dir.entries,
                n + 1,
                if read + CENTRAL_LEN as u64 > dir.size { "missing" } else { "not a central directory entry" }
            ));
            return Ok(None);
        }
        let (name_len, extra_len, comment_len) = (u16_at(&head, 28) as usize, u16_at(&head, 30) as usize, u16_at(&head, 32) as usize);
        let mut rest = vec![0u8; name_len + extra_len + comment_len];
        if r.read_exact(&mut rest).is_err() {
            p.add(format!("central directory entry {} runs past the end of the central directory", n + 1));
            return Ok(None);
        }
        read += (CENTRAL_LEN + rest.len()) as u64;
        let name = rest[..name_len].to_vec();
        let extra = &rest[name_len..name_len + extra_len];
        let (compressed32, uncompressed32, offset32, disk16) = (u32_at(&head, 20), u32_at(&head, 24), u32_at(&head, 42), u16_at(&head, 34));
        let Some(fields) = extra_fields(extra) else {
            p.add(format!("entry {}: the extra field of its central directory entry is malformed", label(&name)));
            return Ok(None);
        };
        // The ZIP64 field holds, in order, each value whose 32-bit field says "see ZIP64".
        let zip64 = fields.iter().find(|(id, _)| *id == ZIP64_EXTRA).map(|(_, d)| *d).unwrap_or(&[]);
        let mut at = 0usize;
        let mut wide = |short: u32| -> Option<u64> {
            if short != SEE_ZIP64 {
                return Some(short as u64);
            }
            let v = zip64.get(at..at + 8).map(|b| u64_at(b, 0));
            at += 8;
            v
        };
        let (uncompressed, compressed, offset) = (wide(uncompressed32), wide(compressed32), wide(offset32));
        let (Some(uncompressed), Some(compressed), Some(offset)) = (uncompressed, compressed, offset) else {
            p.add(format!("entry {}: its central directory entry says its sizes or offset are in a ZIP64 extra field, which is missing or too short", label(&name)));
            return Ok(None);
        };
        if disk16 != 0 {
            p.add(format!("entry {}: the central directory puts it on disk {disk16}, but the ZIP is one file", label(&name)));
        }
        out.push(Central { name, flags: u16_at(&head, 8), method: u16_at(&head, 10), crc: u32_at(&head, 16), compressed32, uncompressed32, compressed, uncompressed, offset });
    }
    if read < dir.size {
        p.add(format!("{} bytes at the end of the central directory belong to no entry", dir.size - read));
    }
    Ok(Some(out))
}

/// Checks each entry's local header and data descriptor, and that the
/// entries, in file order, fill the file from its first byte up to the
/// central directory without gap or overlap.
fn layout(file: &mut File, len: u64, dir: &Directory, mut entries: Vec<Central>, p: &mut Problems) -> io::Result<()> {
    entries.sort_by_key(|e| e.offset);
    // Where the next entry must start, and the entry that ends there; None
    // once an entry's extent cannot be told (already reported).
    let mut pos: Option<u64> = Some(0);
    let mut prev: Option<usize> = None;
    for (k, e) in entries.iter().enumerate() {
        let next_start = entries.get(k + 1).map(|n| n.offset).unwrap_or(dir.offset);
        if let Some(at) = pos {
            let before = match prev {
                Some(i) => format!("between entry {} and entry {}", entries[i].label(), e.label()),
                None => format!("at the start of the file, before entry {}", e.label()),
            };
            if e.offset > at {
                p.add(format!("{} bytes at offset {at}, {before}, belong to no entry", e.offset - at));
            } else if e.offset < at
                && let Some(i) = prev
            {
                p.add(format!("entry {} (its local header at offset {}) overlaps entry {}, which runs to offset {at}", e.label(), e.offset, entries[i].label()));
            }
        }
        let end = entry(file, len, e, next_start, p)?;
        pos = match (pos, end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        prev = Some(k);
    }
    if let Some(at) = pos {
        let last = prev.map(|i| entries[i].label());
        if at < dir.offset {
            let after = last.map(|l| format!(", after entry {l},")).unwrap_or_default();
            p.add(format!("{} bytes at offset {at}{after} before the central directory belong to no entry", dir.offset - at));
        } else if at > dir.offset
            && let Some(l) = last
        {
            p.add(format!("entry {l} runs to offset {at}, into the central directory at offset {}", dir.offset));
        }
    }
    Ok(())
}

/// Checks one entry's local header (and data descriptor) against its
/// central directory entry; returns where the entry's bytes end, if that
/// can be told.
fn entry(file: &mut File, len: u64, e: &Central, next_start: u64, p: &mut Problems) -> io::Result<Option<u64>> {
    let name = e.label();
    let head = if e.offset.checked_add(LOCAL_LEN).is_some_and(|end| end <= len) { read_at(file, e.offset, LOCAL_LEN as usize)? } else { Vec::new() };
    if head.len() < LOCAL_LEN as usize || u32_at(&head, 0) != LOCAL_HEADER {
        p.add(format!("entry {name}: the central directory points at offset {}, where there is no local file header", e.offset));
        return Ok(None);
    }
    let (flags, method, crc) = (u16_at(&head, 6), u16_at(&head, 8), u32_at(&head, 14));
    let (compressed32, uncompressed32) = (u32_at(&head, 18), u32_at(&head, 22));
    let (name_len, extra_len) = (u16_at(&head, 26) as usize, u16_at(&head, 28) as usize);
    let rest = read_at(file, e.offset + LOCAL_LEN, name_len + extra_len)?;
    if rest.len() < name_len + extra_len {
        p.add(format!("entry {name}: its local header runs past the end of the file"));
        return Ok(None);
    }
    let (local_name, extra) = rest.split_at(name_len);
    if local_name != e.name.as_slice() {
        p.add(format!(
            "entry {name}: its local header names it {} (a tool that reads local headers would show that name instead)",
            label(local_name)
        ));
    }
    if method != e.method {
        p.add(format!("entry {name}: its local header gives compression {}, the central directory {}", self::method(method), self::method(e.method)));
    }
    if flags != e.flags {
        p.add(format!("entry {name}: its local header's general-purpose flags are {flags:#06x}, the central directory's {:#06x}", e.flags));
    }
    if (flags | e.flags) & 1 != 0 {
        p.add(format!("entry {name} is marked encrypted, which a bundle never is"));
    }
    // Sizes: from the ZIP64 field when a 32-bit field says "see ZIP64"
    // (a local ZIP64 field holds both sizes, uncompressed first).
    let mut sizes = Some((compressed32 as u64, uncompressed32 as u64));
    if compressed32 == SEE_ZIP64 || uncompressed32 == SEE_ZIP64 {
        let zip64 = extra_fields(extra).and_then(|f| f.into_iter().find(|(id, _)| *id == ZIP64_EXTRA)).map(|(_, d)| d).filter(|d| d.len() >= 16);
        sizes = zip64.map(|d| {
            let (u, c) = (u64_at(d, 0), u64_at(d, 8));
            (if compressed32 == SEE_ZIP64 { c } else { compressed32 as u64 }, if uncompressed32 == SEE_ZIP64 { u } else { uncompressed32 as u64 })
        });
        if sizes.is_none() {
            p.add(format!("entry {name}: its local header says its sizes are in a ZIP64 extra field, which is missing or too short"));
        }
    } else if extra_fields(extra).is_none() {
        p.add(format!("entry {name}: the extra field of its local header is malformed"));
    }
    // With a data descriptor (flag bit 3) the local header may leave CRC-32
    // and sizes at 0: they follow the data. Otherwise they must be the central directory's.
    let deferred = flags & 8 != 0;
    let agrees = |local: u64, central: u64| local == central || (deferred && local == 0);
    if !agrees(crc as u64, e.crc as u64) {
        p.add(format!("entry {name}: its local header gives CRC-32 {crc:08x}, the central directory {:08x}", e.crc));
    }
    if let Some((c, u)) = sizes {
        if !agrees(c, e.compressed) {
            p.add(format!("entry {name}: its local header gives a compressed size of {c} bytes, the central directory {}", e.compressed));
        }
        if !agrees(u, e.uncompressed) {
            p.add(format!("entry {name}: its local header gives a size of {u} bytes (uncompressed), the central directory {}", e.uncompressed));
        }
    }
    let Some(data_end) = (e.offset + LOCAL_LEN + rest.len() as u64).checked_add(e.compressed) else {
        p.add(format!("entry {name}: its compressed size of {} bytes runs past any file", e.compressed));
        return Ok(None);
    };
    if data_end > len {
        p.add(format!("entry {name}: its data ({} bytes) runs past the end of the file", e.compressed));
        return Ok(None);
    }
    if !deferred {
        return Ok(Some(data_end));
    }
    descriptor(file, e, data_end, next_start, p)
}

/// Checks the data descriptor after an entry's data: an optional signature,
/// the CRC-32, then both sizes in 4 or 8 bytes each. 4-byte sizes must be the
/// central directory's 32-bit fields (async_zip writes "see ZIP64" there for
/// a ZIP64 entry) or its sizes. Of the readings whose values agree, the one
/// that ends where the next record starts is taken; returns its end.
fn descriptor(file: &mut File, e: &Central, at: u64, next_start: u64, p: &mut Problems) -> io::Result<Option<u64>> {
    let name = e.label();
    let b = read_at(file, at, 24)?;
    let base = if b.len() >= 4 && u32_at(&b, 0) == DESCRIPTOR { 4 } else { 0 };
    if b.len() < base + 12 {
        p.add(format!("entry {name}: its data descriptor is cut short by the end of the file"));
        return Ok(None);
    }
    let crc = u32_at(&b, base);
    let short = (u32_at(&b, base + 4), u32_at(&b, base + 8));
    let short_ok = short == (e.compressed32, e.uncompressed32) || (short.0 as u64, short.1 as u64) == (e.compressed, e.uncompressed);
    let mut readings = vec![(short_ok, at + base as u64 + 12, (short.0 as u64, short.1 as u64))];
    if b.len() >= base + 20 {
        let long = (u64_at(&b, base + 4), u64_at(&b, base + 12));
        readings.push((long == (e.compressed, e.uncompressed), at + base as u64 + 20, long));
    }
    let chosen = readings
        .iter()
        .find(|r| r.0 && r.1 == next_start)
        .or_else(|| readings.iter().find(|r| r.0))
        .unwrap_or(&readings[0]);
    if crc != e.crc {
        p.add(format!("entry {name}: its data descriptor gives CRC-32 {crc:08x}, the central directory {:08x}", e.crc));
    }
    if !chosen.0 {
        let (c, u) = chosen.2;
        p.add(format!(
            "entry {name}: its data descriptor gives a compressed size of {c} and a size of {u} bytes, the central directory {} and {}",
            e.compressed, e.uncompressed
        ));
    }
    Ok(Some(chosen.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("mandate-structure-{}.zip", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn a_file_that_is_not_a_zip_is_named_as_such() {
        for bytes in [&b""[..], b"just some text, no ZIP at all"] {
            let path = temp(bytes);
            let problems = check(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            assert!(problems.len() == 1 && problems[0].starts_with("no end-of-central-directory record"), "{problems:?}");
        }
    }

    #[test]
    fn an_empty_zip_is_sound_and_a_prefix_is_not() {
        // No entries: the end record alone, its central directory empty at offset 0.
        let mut empty = b"PK\x05\x06".to_vec();
        empty.extend_from_slice(&[0u8; 18]);
        let path = temp(&empty);
        assert_eq!(check(&path).unwrap(), Vec::<String>::new());
        std::fs::remove_file(&path).unwrap();
        // Bytes before the (empty) central directory, which the end record places after them.
        let mut prefixed = b"hidden".to_vec();
        prefixed.extend_from_slice(&empty);
        prefixed[6 + 16] = 6;
        let path = temp(&prefixed);
        let problems = check(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(problems, vec!["6 bytes at offset 0 before the central directory belong to no entry".to_string()]);
    }
}
