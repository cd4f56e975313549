//! What a file really is, judged by its bytes and never by its name.
//! Only an allow-list of document types is accepted; everything a browser
//! could run (HTML, SVG, scripts) is refused. The check reads the first and
//! last few kilobytes of a stream, so it costs nothing on large files.
use std::fmt;

/// How much of the start of a file the checks look at.
pub const HEAD: usize = 8 * 1024;
/// How much of the end: enough for a ZIP central directory of an office file.
pub const TAIL: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Png,
    Jpeg,
    /// Word, Excel or PowerPoint (Office Open XML).
    OfficeOpenXml(&'static str),
    /// Word, Excel or PowerPoint before 2007 (OLE compound file).
    OfficeLegacy,
    OpenDocument(&'static str),
    PlainText,
    Csv,
    Markdown,
    Email,
}

impl FileType {
    /// What downloads declare.
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
            FileType::OfficeOpenXml("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            FileType::OfficeOpenXml("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileType::OfficeOpenXml(_) => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            FileType::OfficeLegacy => "application/x-ole-storage",
            FileType::OpenDocument("odt") => "application/vnd.oasis.opendocument.text",
            FileType::OpenDocument("ods") => "application/vnd.oasis.opendocument.spreadsheet",
            FileType::OpenDocument(_) => "application/vnd.oasis.opendocument.presentation",
            // Text is always served as plain text, never as anything a browser renders.
            FileType::PlainText | FileType::Markdown => "text/plain; charset=utf-8",
            FileType::Csv => "text/csv; charset=utf-8",
            FileType::Email => "message/rfc822",
        }
    }

    /// The file name extensions that fit this type.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            FileType::Pdf => &["pdf"],
            FileType::Png => &["png"],
            FileType::Jpeg => &["jpg", "jpeg"],
            FileType::OfficeOpenXml("docx") => &["docx", "dotx"],
            FileType::OfficeOpenXml("xlsx") => &["xlsx", "xltx"],
            FileType::OfficeOpenXml(_) => &["pptx", "potx"],
            FileType::OfficeLegacy => &["doc", "xls", "ppt", "msg"],
            FileType::OpenDocument("odt") => &["odt"],
            FileType::OpenDocument("ods") => &["ods"],
            FileType::OpenDocument(_) => &["odp"],
            FileType::PlainText => &["txt", "text", "log"],
            FileType::Csv => &["csv"],
            FileType::Markdown => &["md", "markdown"],
            FileType::Email => &["eml"],
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FileType::Pdf => "PDF",
            FileType::Png => "PNG image",
            FileType::Jpeg => "JPEG image",
            FileType::OfficeOpenXml("docx") => "Word document",
            FileType::OfficeOpenXml("xlsx") => "Excel workbook",
            FileType::OfficeOpenXml(_) => "PowerPoint presentation",
            FileType::OfficeLegacy => "Office document",
            FileType::OpenDocument("odt") => "OpenDocument text",
            FileType::OpenDocument("ods") => "OpenDocument spreadsheet",
            FileType::OpenDocument(_) => "OpenDocument presentation",
            FileType::PlainText => "text",
            FileType::Csv => "CSV",
            FileType::Markdown => "Markdown",
            FileType::Email => "e-mail",
        }
    }

    fn is_text(self) -> bool {
        matches!(self, FileType::PlainText | FileType::Csv | FileType::Markdown | FileType::Email)
    }
}

/// Why a file is refused, in words for the person who uploaded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    NotAllowed(&'static str),
    Truncated(&'static str),
    NameMismatch { found: &'static str, extension: String },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Empty => f.write_str("The file is empty."),
            Refusal::NotAllowed(what) => write!(
                f,
                "This file is {what}, which is not accepted as evidence. Upload a PDF, an image (PNG or JPEG), an Office or \
                 OpenDocument file, plain text, CSV, Markdown or an e-mail (.eml)."
            ),
            Refusal::Truncated(what) => write!(f, "This {what} is incomplete or damaged: its end is missing. Export or save it again."),
            Refusal::NameMismatch { found, extension } => {
                write!(f, "The file's name ends in .{extension}, but its contents are {found}. Rename it or upload the right file.")
            }
        }
    }
}

fn starts_with(head: &[u8], magic: &[u8]) -> bool {
    head.len() >= magic.len() && &head[..magic.len()] == magic
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn ends_with_trimmed(tail: &[u8], marker: &[u8]) -> bool {
    let end = tail.iter().rposition(|b| !b.is_ascii_whitespace() && *b != 0).map(|i| i + 1).unwrap_or(0);
    tail[..end].ends_with(marker)
}

/// Text that a browser would treat as a page or a picture.
fn looks_like_markup(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(2048)]).to_lowercase();
    let start = text.trim_start_matches('\u{feff}').trim_start();
    start.starts_with('<')
        && ["<html", "<!doctype", "<svg", "<?xml", "<script", "<head", "<body", "<iframe", "<object"]
            .iter()
            .any(|tag| text.contains(tag))
}

fn looks_like_email(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let headers: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
    let has = |name: &str| headers.iter().any(|l| l.to_ascii_lowercase().starts_with(name));
    has("from:") && (has("date:") || has("received:") || has("message-id:") || has("mime-version:")) && has("subject:")
}

/// Decides what a file is from its start and end. `is_utf8` says whether
/// the whole stream was valid UTF-8 without NUL bytes; `extension` is the
/// (untrusted) extension of its name, used only to refuse mismatches.
pub fn judge(head: &[u8], tail: &[u8], size: u64, is_utf8: bool, extension: Option<&str>) -> Result<FileType, Refusal> {
    if size == 0 {
        return Err(Refusal::Empty);
    }
    let found = if starts_with(head, b"%PDF-") {
        if !ends_with_trimmed(tail, b"%%EOF") {
            return Err(Refusal::Truncated("PDF"));
        }
        FileType::Pdf
    } else if starts_with(head, b"\x89PNG\r\n\x1a\n") {
        if !contains(&tail[tail.len().saturating_sub(16)..], b"IEND") {
            return Err(Refusal::Truncated("PNG image"));
        }
        FileType::Png
    } else if starts_with(head, b"\xFF\xD8\xFF") {
        if !contains(&tail[tail.len().saturating_sub(1024)..], b"\xFF\xD9") {
            return Err(Refusal::Truncated("JPEG image"));
        }
        FileType::Jpeg
    } else if starts_with(head, b"PK\x03\x04") {
        // Every ZIP ends with an end-of-central-directory record.
        if !contains(tail, b"PK\x05\x06") {
            return Err(Refusal::Truncated("ZIP-based document"));
        }
        if head.len() > 38 && &head[30..38] == b"mimetype" {
            let mime = String::from_utf8_lossy(&head[38..head.len().min(38 + 60)]).to_string();
            match mime {
                m if m.starts_with("application/vnd.oasis.opendocument.text") => FileType::OpenDocument("odt"),
                m if m.starts_with("application/vnd.oasis.opendocument.spreadsheet") => FileType::OpenDocument("ods"),
                m if m.starts_with("application/vnd.oasis.opendocument.presentation") => FileType::OpenDocument("odp"),
                _ => return Err(Refusal::NotAllowed("an OpenDocument file of a kind not accepted")),
            }
        } else if contains(tail, b"[Content_Types].xml") || contains(head, b"[Content_Types].xml") {
            // Macros run code when the file is opened: evidence does not need them.
            if contains(tail, b"vbaProject.bin") || contains(head, b"vbaProject.bin") {
                return Err(Refusal::NotAllowed("an Office file with macros"));
            }
            if contains(tail, b"word/") {
                FileType::OfficeOpenXml("docx")
            } else if contains(tail, b"xl/") {
                FileType::OfficeOpenXml("xlsx")
            } else if contains(tail, b"ppt/") {
                FileType::OfficeOpenXml("pptx")
            } else {
                return Err(Refusal::NotAllowed("an Office package of a kind not accepted"));
            }
        } else {
            return Err(Refusal::NotAllowed("a ZIP archive"));
        }
    } else if starts_with(head, b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        // Installers share this container: only a document's name lets it through.
        if !extension.is_some_and(|e| FileType::OfficeLegacy.extensions().contains(&e)) {
            return Err(Refusal::NotAllowed("a compound file that is not named as an Office document"));
        }
        FileType::OfficeLegacy
    } else if is_utf8 {
        if looks_like_markup(head) {
            return Err(Refusal::NotAllowed("a web page or image in markup (HTML, SVG or XML)"));
        }
        match extension {
            Some("csv") => FileType::Csv,
            Some("md" | "markdown") => FileType::Markdown,
            Some("eml") if looks_like_email(head) => FileType::Email,
            _ if looks_like_email(head) => FileType::Email,
            _ => FileType::PlainText,
        }
    } else {
        return Err(Refusal::NotAllowed("a binary file of an unknown kind"));
    };
    if let Some(ext) = extension {
        let fits = found.extensions().contains(&ext) || (found.is_text() && matches!(ext, "txt" | "text" | "log" | "csv" | "md" | "markdown" | "eml"));
        if !fits {
            return Err(Refusal::NameMismatch { found: found.label(), extension: ext.to_string() });
        }
    }
    Ok(found)
}

/// The lower-case extension of a file name, if it has a plausible one.
pub fn extension(filename: &str) -> Option<String> {
    let (stem, ext) = filename.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty() && ext.len() <= 10 && ext.chars().all(|c| c.is_ascii_alphanumeric())).then(|| ext.to_ascii_lowercase())
}

/// Follows a stream chunk by chunk, keeping what `judge` needs: the first
/// `HEAD` bytes, the last `TAIL` bytes, and whether it is all UTF-8 text.
#[derive(Debug, Default)]
pub struct Sniffer {
    head: Vec<u8>,
    tail: Vec<u8>,
    /// Bytes of a UTF-8 character split across chunks.
    pending: Vec<u8>,
    utf8: bool,
    started: bool,
}

impl Sniffer {
    pub fn new() -> Self {
        Sniffer { utf8: true, ..Default::default() }
    }

    pub fn head(&self) -> &[u8] {
        &self.head
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        self.started = true;
        if self.head.len() < HEAD {
            let take = (HEAD - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.tail.extend_from_slice(chunk);
        if self.tail.len() > TAIL {
            let cut = self.tail.len() - TAIL;
            self.tail.drain(..cut);
        }
        if self.utf8 {
            if chunk.contains(&0) {
                self.utf8 = false;
                return;
            }
            self.pending.extend_from_slice(chunk);
            match std::str::from_utf8(&self.pending) {
                Ok(_) => self.pending.clear(),
                Err(e) if e.error_len().is_none() => {
                    // An incomplete character at the end: keep it for the next chunk.
                    let rest = self.pending.split_off(e.valid_up_to());
                    self.pending = rest;
                }
                Err(_) => self.utf8 = false,
            }
        }
    }

    /// A refusal that the first `HEAD` bytes already justify: a type that is
    /// never accepted, whatever follows.
    pub fn early_refusal(&self) -> Option<Refusal> {
        const MAGIC: [&[u8]; 5] = [b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xFF\xD8\xFF", b"PK\x03\x04", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"];
        if MAGIC.iter().any(|m| starts_with(&self.head, m)) {
            return None;
        }
        if !self.utf8 {
            return Some(Refusal::NotAllowed("a binary file of an unknown kind"));
        }
        looks_like_markup(&self.head).then_some(Refusal::NotAllowed("a web page or image in markup (HTML, SVG or XML)"))
    }

    pub fn judge(&self, size: u64, extension: Option<&str>) -> Result<FileType, Refusal> {
        let utf8 = self.utf8 && self.pending.is_empty();
        judge(&self.head, &self.tail, size, utf8, extension)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(bytes: &[u8], name: &str) -> Result<FileType, Refusal> {
        let mut s = Sniffer::new();
        // Feed in odd-sized chunks to exercise the boundaries.
        for chunk in bytes.chunks(7) {
            s.feed(chunk);
        }
        s.judge(bytes.len() as u64, extension(name).as_deref())
    }

    pub fn pdf() -> Vec<u8> {
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec()
    }

    #[test]
    fn accepted_types() {
        assert_eq!(check(&pdf(), "policy.pdf"), Ok(FileType::Pdf));
        assert_eq!(check(b"\x89PNG\r\n\x1a\n....IEND\xaeB`\x82", "shot.png"), Ok(FileType::Png));
        assert_eq!(check(b"\xFF\xD8\xFF\xE0 jfif data \xFF\xD9", "photo.JPG"), Ok(FileType::Jpeg));
        assert_eq!(check("name,email\nÄda,a@x\n".as_bytes(), "people.csv"), Ok(FileType::Csv));
        assert_eq!(check(b"# Minutes\n\n- agreed", "minutes.md"), Ok(FileType::Markdown));
        assert_eq!(check(b"plain words", "notes"), Ok(FileType::PlainText));
        let eml = b"From: ceo@acme.example\r\nTo: all@acme.example\r\nSubject: Security matters\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\n\r\nHello";
        assert_eq!(check(eml, "message.eml"), Ok(FileType::Email));
        let mut odt = b"PK\x03\x04".to_vec();
        odt.extend_from_slice(&[0; 26]);
        odt.extend_from_slice(b"mimetypeapplication/vnd.oasis.opendocument.textPK\x05\x06");
        assert_eq!(check(&odt, "policy.odt"), Ok(FileType::OpenDocument("odt")));
        let docx = b"PK\x03\x04....[Content_Types].xml....word/document.xml....PK\x05\x06....";
        assert_eq!(check(docx, "policy.docx"), Ok(FileType::OfficeOpenXml("docx")));
    }

    #[test]
    fn markup_renamed_to_pdf_is_refused() {
        assert!(matches!(check(b"<!DOCTYPE html><html><script>alert(1)</script>", "policy.pdf"), Err(Refusal::NotAllowed(_))));
        assert!(matches!(check(b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "logo.pdf"), Err(Refusal::NotAllowed(_))));
        assert!(matches!(check(b"  \n<?xml version='1.0'?><svg/>", "x.txt"), Err(Refusal::NotAllowed(_))));
    }

    #[test]
    fn empty_truncated_and_mismatched_files_are_refused() {
        assert_eq!(check(b"", "empty.pdf"), Err(Refusal::Empty));
        let truncated = &pdf()[..20];
        assert_eq!(check(truncated, "cut.pdf"), Err(Refusal::Truncated("PDF")));
        assert!(matches!(check(&pdf(), "policy.docx"), Err(Refusal::NameMismatch { .. })));
        assert!(matches!(check(b"just text", "report.pdf"), Err(Refusal::NameMismatch { .. })));
        assert!(matches!(check(b"MZ\x90\x00\x03\x00\x00\x00", "setup.exe"), Err(Refusal::NotAllowed(_))));
        assert!(matches!(check(b"PK\x03\x04 plain zip PK\x05\x06", "a.zip"), Err(Refusal::NotAllowed(_))));
        let macros = b"PK\x03\x04....[Content_Types].xml....word/document.xml....word/vbaProject.bin....PK\x05\x06";
        assert!(matches!(check(macros, "policy.docx"), Err(Refusal::NotAllowed(_))));
        let ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 compound";
        assert_eq!(check(ole, "minutes.doc"), Ok(FileType::OfficeLegacy));
        assert!(matches!(check(ole, "setup.msi"), Err(Refusal::NotAllowed(_))));
        assert!(matches!(check(ole, "noname"), Err(Refusal::NotAllowed(_))));
    }

    #[test]
    fn utf8_split_across_chunks_is_still_text() {
        let text = "é".repeat(100);
        assert_eq!(check(text.as_bytes(), "a.txt"), Ok(FileType::PlainText));
        let mut bad = text.into_bytes();
        bad.push(0xff);
        assert!(check(&bad, "a.txt").is_err());
    }

    #[test]
    fn extensions_are_read_carefully() {
        assert_eq!(extension("a.PDF").as_deref(), Some("pdf"));
        assert_eq!(extension(".bashrc"), None);
        assert_eq!(extension("noext"), None);
        assert_eq!(extension("x.p d f"), None);
    }
}
