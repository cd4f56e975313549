//! Reading spreadsheet exports (CSV) for imports: the encoding, the
//! delimiter Excel chose, headings under the names people actually use, and
//! line numbers that match what the user sees in their editor.
use serde::{Deserialize, Serialize};

/// Something wrong with one line (line 1 is the headings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl Problem {
    pub fn new(line: u64, column: &str, message: impl Into<String>) -> Self {
        Problem { line, column: column.into(), message: message.into() }
    }
}

/// A column an import understands, and the other headings that mean it.
pub struct Column {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
}

/// One line of the file, read by column name. Cells the export defused
/// against formulas (a leading apostrophe) are read back as they were.
#[derive(Debug)]
pub struct Line<'a> {
    pub line: u64,
    text: &'a str,
    ends: &'a [usize],
    index: &'a [(&'static str, usize)],
}

impl Line<'_> {
    pub fn get(&self, column: &str) -> std::borrow::Cow<'_, str> {
        self.index.iter().find(|(name, _)| *name == column).map(|(_, i)| crate::web::csv::undefuse(self.cell(*i))).unwrap_or_default()
    }

    fn cell(&self, i: usize) -> &str {
        let Some(end) = self.ends.get(i) else { return "" };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..*end).unwrap_or("")
    }

    fn is_blank(&self) -> bool {
        (0..self.ends.len()).all(|i| self.cell(i).trim().is_empty())
    }
}

/// What the reading found besides the lines.
#[derive(Debug, Default)]
pub struct Summary {
    /// The known columns the file has, in the order of `columns` given to `Reader::new`.
    pub columns: Vec<&'static str>,
    pub problems: Vec<Problem>,
    /// False when the file as a whole could not be read (not UTF-8 text, or
    /// not text at all): then `problems` says why, and the lines already
    /// handed out are to be thrown away.
    pub readable: bool,
}

/// The file has more data lines than the limit: reading stopped there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyRows {
    pub max: usize,
    /// The first line past the limit.
    pub line: u64,
}

impl TooManyRows {
    pub fn problem(&self) -> Problem {
        Problem::new(self.line, "", format!("The file has more than {} lines; split it into smaller files.", self.max))
    }
}

fn normalise(heading: &str) -> String {
    let h: String = heading.trim().to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect();
    h.trim_matches('_').to_string()
}

/// Excel in many European locales saves with semicolons.
fn delimiter(head: &[u8]) -> u8 {
    let first = head.split(|b| *b == b'\n').next().unwrap_or(b"");
    [b',', b';', b'\t'].into_iter().max_by_key(|d| first.iter().filter(|b| *b == d).count()).unwrap_or(b',')
}

/// The most of the file held back to choose the delimiter from its first line.
const HEAD: usize = 64 * 1024;

const NOT_UTF8: &str = "The file is not UTF-8 text. In your spreadsheet choose Save as → \"CSV UTF-8\" and upload that.";
const NOT_CSV: &str = "This is not a CSV file. Save the sheet as CSV (comma-separated values) and upload that.";

/// Checks that bytes fed in pieces are UTF-8, carrying a character split
/// between pieces over to the next.
#[derive(Default)]
struct Utf8 {
    carry: Vec<u8>,
    bad: bool,
}

impl Utf8 {
    fn feed(&mut self, mut bytes: &[u8]) -> bool {
        while !self.bad && !self.carry.is_empty() {
            let Some((first, rest)) = bytes.split_first() else { return true };
            self.carry.push(*first);
            bytes = rest;
            match std::str::from_utf8(&self.carry) {
                Ok(_) => self.carry.clear(),
                Err(e) if e.error_len().is_some() => self.bad = true,
                Err(_) => {}
            }
        }
        if self.bad {
            return false;
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            match e.error_len() {
                Some(_) => self.bad = true,
                None => self.carry.extend_from_slice(&bytes[e.valid_up_to()..]),
            }
        }
        !self.bad
    }

    fn finish(&mut self) -> bool {
        self.bad |= !self.carry.is_empty();
        !self.bad
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the first line, to choose the delimiter.
    Head,
    Headings,
    Lines,
    /// Heading problems or too many lines: the rest is not read.
    Stopped,
}

/// Reads a CSV file as it arrives, in pieces of any size, and hands each
/// non-blank line to the caller: the file itself is never held, only the
/// line being read. Heading problems stop the reading (no lines); more
/// than `max_rows` lines stops it with `TooManyRows`. Line numbers are those
/// an editor shows (blank lines and line breaks inside quoted cells count).
pub struct Reader {
    columns: &'static [Column],
    required: &'static [&'static str],
    ignored: &'static [&'static str],
    max_rows: usize,
    phase: Phase,
    head: Vec<u8>,
    utf8: Utf8,
    nul: bool,
    csv: csv_core::Reader,
    /// The record being read: its cells one after the other, and where each ends.
    out: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    /// Line breaks read so far, plus one: the line the reader is on.
    line: u64,
    at_record_start: bool,
    record_line: u64,
    index: Vec<(&'static str, usize)>,
    found: Vec<&'static str>,
    problems: Vec<Problem>,
    rows: usize,
}

impl Reader {
    pub fn new(columns: &'static [Column], required: &'static [&'static str], ignored: &'static [&'static str], max_rows: usize) -> Self {
        Reader {
            columns,
            required,
            ignored,
            max_rows,
            phase: Phase::Head,
            head: Vec::new(),
            utf8: Utf8::default(),
            nul: false,
            csv: csv_core::Reader::new(),
            out: vec![0; 1024],
            out_len: 0,
            ends: vec![0; 32],
            ends_len: 0,
            line: 1,
            at_record_start: true,
            record_line: 1,
            index: Vec::new(),
            found: Vec::new(),
            problems: Vec::new(),
            rows: 0,
        }
    }

    /// The next piece of the file.
    pub fn feed(&mut self, bytes: &[u8], on_line: &mut dyn FnMut(&Line<'_>)) -> Result<(), TooManyRows> {
        // The whole file must be text: keep checking even once lines are no longer read.
        if !self.utf8.feed(bytes) || self.nul {
            return Ok(());
        }
        if bytes.contains(&0) {
            self.nul = true;
            return Ok(());
        }
        match self.phase {
            Phase::Stopped => Ok(()),
            Phase::Head => {
                self.head.extend_from_slice(bytes);
                if self.head.len() >= HEAD || self.head.contains(&b'\n') { self.start(false, on_line) } else { Ok(()) }
            }
            Phase::Headings | Phase::Lines => self.parse(bytes, false, on_line),
        }
    }

    /// The end of the file.
    pub fn finish(mut self, on_line: &mut dyn FnMut(&Line<'_>)) -> Result<Summary, TooManyRows> {
        if !self.utf8.finish() {
            return Ok(Summary { columns: Vec::new(), problems: vec![Problem::new(1, "", NOT_UTF8)], readable: false });
        }
        if self.nul {
            return Ok(Summary { columns: Vec::new(), problems: vec![Problem::new(1, "", NOT_CSV)], readable: false });
        }
        match self.phase {
            Phase::Head => self.start(true, on_line)?,
            Phase::Headings | Phase::Lines => self.parse(&[], true, on_line)?,
            Phase::Stopped => {}
        }
        if self.phase == Phase::Headings {
            // Not even a line of headings.
            self.headings("", &[]);
        }
        if self.phase == Phase::Lines && self.rows == 0 {
            self.problems.push(Problem::new(2, "", "The file has headings but no lines."));
        }
        Ok(Summary { columns: self.found, problems: self.problems, readable: true })
    }

    /// Chooses the delimiter from the first line and reads what was held back.
    fn start(&mut self, eof: bool, on_line: &mut dyn FnMut(&Line<'_>)) -> Result<(), TooManyRows> {
        let head = std::mem::take(&mut self.head);
        let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
        self.csv = csv_core::ReaderBuilder::new().delimiter(delimiter(body)).build();
        self.phase = Phase::Headings;
        self.parse(body, eof, on_line)
    }

    fn parse(&mut self, mut input: &[u8], eof: bool, on_line: &mut dyn FnMut(&Line<'_>)) -> Result<(), TooManyRows> {
        loop {
            if self.phase == Phase::Stopped || (input.is_empty() && !eof) {
                return Ok(());
            }
            if self.at_record_start {
                // Blank lines before a record: counted, not read.
                let blank = input.iter().take_while(|b| matches!(b, b'\n' | b'\r')).count();
                self.line += input[..blank].iter().filter(|b| **b == b'\n').count() as u64;
                input = &input[blank..];
                if input.is_empty() && !eof {
                    return Ok(());
                }
                self.at_record_start = false;
                self.record_line = self.line;
            }
            let (result, read, written, ended) = self.csv.read_record(input, &mut self.out[self.out_len..], &mut self.ends[self.ends_len..]);
            self.line += input[..read].iter().filter(|b| **b == b'\n').count() as u64;
            input = &input[read..];
            self.out_len += written;
            self.ends_len += ended;
            match result {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => self.out.resize(self.out.len() * 2, 0),
                csv_core::ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                csv_core::ReadRecordResult::Record => {
                    let done = self.record(on_line);
                    self.out_len = 0;
                    self.ends_len = 0;
                    self.at_record_start = true;
                    done?;
                }
                csv_core::ReadRecordResult::End => return Ok(()),
            }
        }
    }

    fn record(&mut self, on_line: &mut dyn FnMut(&Line<'_>)) -> Result<(), TooManyRows> {
        if self.phase == Phase::Headings {
            let (out, ends) = (std::mem::take(&mut self.out), std::mem::take(&mut self.ends));
            self.headings(std::str::from_utf8(&out[..self.out_len]).unwrap_or_default(), &ends[..self.ends_len]);
            (self.out, self.ends) = (out, ends);
            return Ok(());
        }
        // Everything fed in was checked to be UTF-8, and cells end on character boundaries.
        let text = std::str::from_utf8(&self.out[..self.out_len]).unwrap_or_default();
        let line = Line { line: self.record_line, text, ends: &self.ends[..self.ends_len], index: &self.index };
        if line.is_blank() {
            return Ok(());
        }
        if self.rows >= self.max_rows {
            self.phase = Phase::Stopped;
            return Err(TooManyRows { max: self.max_rows, line: self.record_line });
        }
        self.rows += 1;
        on_line(&line);
        Ok(())
    }

    /// Maps the headings to the known columns; any problem stops the reading.
    fn headings(&mut self, text: &str, ends: &[usize]) {
        let headings = Line { line: 1, text, ends, index: &[] };
        for i in 0..ends.len() {
            let heading = headings.cell(i);
            let key = normalise(heading);
            if key.is_empty() || self.ignored.contains(&key.as_str()) {
                continue;
            }
            match self.columns.iter().find(|c| c.name == key || c.aliases.contains(&key.as_str())) {
                Some(c) if self.index.iter().any(|(n, _)| *n == c.name) => {
                    self.problems.push(Problem::new(1, heading, format!("Two columns mean \"{}\"; keep one.", c.name)))
                }
                Some(c) => self.index.push((c.name, i)),
                None => {
                    let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
                    self.problems.push(Problem::new(1, heading, format!("Unknown column \"{}\". The columns are: {}.", heading.trim(), names.join(", "))));
                }
            }
        }
        for r in self.required {
            if !self.index.iter().any(|(n, _)| n == r) {
                self.problems.push(Problem::new(1, r, format!("The file needs a \"{r}\" column.")));
            }
        }
        self.found = self.columns.iter().map(|c| c.name).filter(|c| self.index.iter().any(|(n, _)| n == c)).collect();
        self.phase = if self.problems.is_empty() { Phase::Lines } else { Phase::Stopped };
    }
}

/// Yes or no as spreadsheets write it (an empty cell is no).
pub fn yes_no(raw: &str) -> Option<bool> {
    match raw.trim().to_lowercase().as_str() {
        "" | "no" | "n" | "false" | "0" => Some(false),
        "yes" | "y" | "true" | "1" | "x" => Some(true),
        _ => None,
    }
}

/// Room for the multipart form around an uploaded file, on top of the file's own limit.
pub const FORM_ROOM: usize = 64 * 1024;

/// An uploaded file, read as it arrived.
#[derive(Debug)]
pub struct Upload {
    pub filename: String,
    pub size: usize,
    pub sha256: Vec<u8>,
}

/// Why an uploaded file was not taken.
#[derive(Debug)]
pub enum Refused {
    /// No file, or an empty one.
    Empty,
    TooLarge { max_bytes: usize },
    TooManyRows(TooManyRows),
    /// The body ended early or is not a multipart form.
    Interrupted,
}

impl Refused {
    /// The answer for an import form: the status and what to tell the user.
    pub fn answer(&self) -> (axum::http::StatusCode, String) {
        use axum::http::StatusCode;
        match self {
            Refused::Empty => (StatusCode::UNPROCESSABLE_ENTITY, "Choose a CSV file to upload.".into()),
            Refused::TooLarge { max_bytes } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "The file is larger than {} MiB, the most one import takes. Split it into smaller files; nothing was imported.",
                    max_bytes / (1024 * 1024)
                ),
            ),
            Refused::TooManyRows(t) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The file has more than {} lines, the most one import takes. Split it into smaller files; nothing was imported.", thousands(t.max)),
            ),
            Refused::Interrupted => (StatusCode::BAD_REQUEST, "The upload was interrupted or malformed. Try again.".into()),
        }
    }
}

/// 10000 as "10,000".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Reads the form's `file` field piece by piece into `feed` (which parses
/// it), hashing it on the way: the file is never held whole. A file over
/// `max_bytes`, or one `feed` refuses, is read to its end unparsed (so the
/// browser sees the answer rather than a broken connection) and refused.
pub async fn receive(
    multipart: &mut axum::extract::Multipart,
    default_name: &str,
    max_bytes: usize,
    mut feed: impl FnMut(&[u8]) -> Result<(), TooManyRows>,
) -> Result<Upload, Refused> {
    use sha2::Digest;
    let too_large = |e: &axum::extract::multipart::MultipartError| e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE;
    let mut found: Option<Upload> = None;
    let mut refused: Option<Refused> = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if too_large(&e) => return Err(Refused::TooLarge { max_bytes }),
            Err(_) => return Err(Refused::Interrupted),
        };
        // Other fields, and any second file, are skipped.
        if field.name() != Some("file") || found.is_some() {
            continue;
        }
        let filename = field.file_name().unwrap_or(default_name).to_string();
        let mut sha = sha2::Sha256::new();
        let mut size = 0usize;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len();
                    if refused.is_some() {
                        continue;
                    }
                    if size > max_bytes {
                        refused = Some(Refused::TooLarge { max_bytes });
                        continue;
                    }
                    sha.update(&chunk);
                    if let Err(t) = feed(&chunk) {
                        refused = Some(Refused::TooManyRows(t));
                    }
                }
                Ok(None) => break,
                Err(e) if too_large(&e) => return Err(Refused::TooLarge { max_bytes }),
                Err(_) => return Err(Refused::Interrupted),
            }
        }
        found = Some(Upload { filename, size, sha256: sha.finalize().to_vec() });
    }
    if let Some(r) = refused {
        return Err(r);
    }
    found.filter(|u| u.size > 0).ok_or(Refused::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Lines = Vec<(u64, Vec<(&'static str, String)>)>;

    /// Reads a whole file at once: the lines (number and cells by column),
    /// and what else was found.
    fn read_all(
        bytes: &[u8],
        columns: &'static [Column],
        required: &'static [&'static str],
        ignored: &'static [&'static str],
        max_rows: usize,
    ) -> Result<(Lines, Summary), TooManyRows> {
        let mut lines = Vec::new();
        let mut keep = |l: &Line<'_>| lines.push((l.line, columns.iter().map(|c| (c.name, l.get(c.name).to_string())).collect()));
        let mut reader = Reader::new(columns, required, ignored, max_rows);
        reader.feed(bytes, &mut keep)?;
        let summary = reader.finish(&mut keep)?;
        Ok((lines, summary))
    }

    const COLUMNS: [Column; 2] = [Column { name: "email", aliases: &["e_mail"] }, Column { name: "score", aliases: &["result"] }];

    fn cell<'a>(line: &'a (u64, Vec<(&'static str, String)>), column: &str) -> &'a str {
        line.1.iter().find(|(c, _)| *c == column).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    #[test]
    fn headings_aliases_and_line_numbers() {
        let (lines, s) = read_all("\u{feff}E-mail;Result\na@x;'=1\n\n\"b\nc\";2\nd@x;3\n".as_bytes(), &COLUMNS, &["email"], &[], 10).unwrap();
        assert_eq!(s.problems, vec![]);
        assert_eq!(s.columns, vec!["email", "score"]);
        let numbers: Vec<u64> = lines.iter().map(|l| l.0).collect();
        assert_eq!(numbers, vec![2, 4, 6]);
        assert_eq!(cell(&lines[0], "score"), "=1", "defused cells read back");
        assert_eq!(cell(&lines[1], "email"), "b\nc");
    }

    #[test]
    fn heading_problems_stop_reading() {
        let (lines, s) = read_all(b"name,salary\nA,1\n", &COLUMNS, &["email"], &["name"], 10).unwrap();
        assert_eq!(s.problems.len(), 2);
        assert!(lines.is_empty());
        assert!(read_all(b"email\n", &COLUMNS, &["email"], &[], 10).unwrap().1.problems[0].message.contains("no lines"));
        let too_many = read_all(b"email\na\n\nb\nc\n", &COLUMNS, &["email"], &[], 2).unwrap_err();
        assert_eq!(too_many, TooManyRows { max: 2, line: 5 });
        assert!(too_many.problem().message.contains("more than 2"));
    }

    #[test]
    fn files_that_are_not_text_are_named_as_such() {
        let (_, s) = read_all(b"email\na@x\n\xff\xfe\n", &COLUMNS, &["email"], &[], 10).unwrap();
        assert!(!s.readable && s.problems.len() == 1 && s.problems[0].message.contains("UTF-8"), "{s:?}");
        let (_, s) = read_all(b"email\na@x\0\n", &COLUMNS, &["email"], &[], 10).unwrap();
        assert!(!s.readable && s.problems[0].message.contains("not a CSV file"), "{s:?}");
        // A character cut at the very end is not UTF-8 either.
        let (_, s) = read_all("email\né".as_bytes().split_last().unwrap().1, &COLUMNS, &["email"], &[], 10).unwrap();
        assert!(!s.readable, "{s:?}");
    }

    /// However the file is cut into pieces, and wherever a character, a
    /// quoted cell, a line break or the byte-order mark is split, the lines
    /// and their numbers are the same as when it is read whole.
    #[test]
    fn pieces_of_any_size_read_like_the_whole_file() {
        let file = "\u{feff}E-mail;Result\r\nä@x;'=1\r\n\r\n\"b\r\nc\";2\n\n\n  ; \nd@x;\"3;\"\"4\"\"\"\r\ne@x".as_bytes();
        let whole = read_all(file, &COLUMNS, &["email"], &[], 10).unwrap();
        assert_eq!(whole.0.iter().map(|l| l.0).collect::<Vec<_>>(), vec![2, 4, 9, 10]);
        assert_eq!(cell(&whole.0[2], "score"), "3;\"4\"");
        for size in 1..file.len() {
            let mut lines = Vec::new();
            let mut keep = |l: &Line<'_>| lines.push((l.line, COLUMNS.iter().map(|c| (c.name, l.get(c.name).to_string())).collect::<Vec<_>>()));
            let mut reader = Reader::new(&COLUMNS, &["email"], &[], 10);
            for piece in file.chunks(size) {
                reader.feed(piece, &mut keep).unwrap();
            }
            let summary = reader.finish(&mut keep).unwrap();
            assert_eq!(lines, whole.0, "pieces of {size} bytes");
            assert_eq!((summary.columns, summary.problems), (whole.1.columns.clone(), whole.1.problems.clone()));
        }
    }
}
