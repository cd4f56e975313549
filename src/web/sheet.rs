//! Reading spreadsheet exports (CSV) for imports: the encoding, the
//! delimiter Excel chose, headings under the names people actually use, and
//! line numbers that match what the user sees in their editor.
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

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

/// One line of the file, by column name. Cells the export defused against
/// formulas (a leading apostrophe) are read back as they were.
#[derive(Debug)]
pub struct Line {
    pub line: u64,
    cells: HashMap<&'static str, String>,
}

impl Line {
    pub fn get(&self, column: &str) -> &str {
        self.cells.get(column).map(String::as_str).unwrap_or("")
    }
}

#[derive(Debug, Default)]
pub struct Sheet {
    /// The known columns the file has, in the order of `columns` given to `read`.
    pub columns: Vec<&'static str>,
    pub lines: Vec<Line>,
    pub problems: Vec<Problem>,
}

fn normalise(heading: &str) -> String {
    let h: String = heading.trim().to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect();
    h.trim_matches('_').to_string()
}

/// Excel in many European locales saves with semicolons.
fn delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or("");
    [b',', b';', b'\t'].into_iter().max_by_key(|d| first.matches(*d as char).count()).unwrap_or(b',')
}

/// Reads a CSV file. Heading problems stop the reading (no lines); a line
/// that cannot be read is reported and skipped. `ignored` headings are
/// allowed and skipped; blank lines are skipped; more than `max_rows` lines
/// is a problem.
pub fn read(bytes: &[u8], columns: &[Column], required: &[&str], ignored: &[&str], max_rows: usize) -> Sheet {
    let mut out = Sheet::default();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(text) = std::str::from_utf8(bytes) else {
        out.problems.push(Problem::new(1, "", "The file is not UTF-8 text. In your spreadsheet choose Save as → \"CSV UTF-8\" and upload that."));
        return out;
    };
    if text.contains('\0') {
        out.problems.push(Problem::new(1, "", "This is not a CSV file. Save the sheet as CSV (comma-separated values) and upload that."));
        return out;
    }
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter(text)).flexible(true).from_reader(text.as_bytes());
    let headings = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            out.problems.push(Problem::new(1, "", format!("The first line (the column headings) cannot be read: {e}.")));
            return out;
        }
    };
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, heading) in headings.iter().enumerate() {
        let key = normalise(heading);
        if key.is_empty() || ignored.contains(&key.as_str()) {
            continue;
        }
        match columns.iter().find(|c| c.name == key || c.aliases.contains(&key.as_str())) {
            Some(c) if index.contains_key(c.name) => out.problems.push(Problem::new(1, heading, format!("Two columns mean \"{}\"; keep one.", c.name))),
            Some(c) => {
                index.insert(c.name, i);
            }
            None => {
                let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
                out.problems.push(Problem::new(1, heading, format!("Unknown column \"{}\". The columns are: {}.", heading.trim(), names.join(", "))));
            }
        }
    }
    for r in required {
        if !index.contains_key(r) {
            out.problems.push(Problem::new(1, r, format!("The file needs a \"{r}\" column.")));
        }
    }
    out.columns = columns.iter().map(|c| c.name).filter(|c| index.contains_key(c)).collect();
    if !out.problems.is_empty() {
        return out;
    }
    // Line numbers are counted from byte offsets: the reader's own count
    // skips blank lines, which would send users to the wrong line.
    let mut counted = (0usize, 1u64);
    let mut line_at = |byte: u64| {
        let mut byte = (byte as usize).min(text.len());
        // A record's position can fall on blank lines before it.
        while byte < text.len() && matches!(text.as_bytes()[byte], b'\n' | b'\r') {
            byte += 1;
        }
        if byte >= counted.0 {
            counted.1 += text.as_bytes()[counted.0..byte].iter().filter(|b| **b == b'\n').count() as u64;
            counted.0 = byte;
        }
        counted.1
    };
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| line_at(p.byte())).unwrap_or(0);
                out.problems.push(Problem::new(line, "", format!("This line cannot be read: {e}.")));
                continue;
            }
        };
        let line = record.position().map(|p| line_at(p.byte())).unwrap_or(0);
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        if out.lines.len() >= max_rows {
            out.problems.push(Problem::new(line, "", format!("The file has more than {max_rows} lines; split it into smaller files.")));
            break;
        }
        let cells = index.iter().map(|(name, i)| (*name, crate::web::csv::undefuse(record.get(*i).unwrap_or("")).into_owned())).collect();
        out.lines.push(Line { line, cells });
    }
    if out.lines.is_empty() && out.problems.is_empty() {
        out.problems.push(Problem::new(2, "", "The file has headings but no lines."));
    }
    out
}

/// Yes or no as spreadsheets write it (an empty cell is no).
pub fn yes_no(raw: &str) -> Option<bool> {
    match raw.trim().to_lowercase().as_str() {
        "" | "no" | "n" | "false" | "0" => Some(false),
        "yes" | "y" | "true" | "1" | "x" => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [Column; 2] = [Column { name: "email", aliases: &["e_mail"] }, Column { name: "score", aliases: &["result"] }];

    #[test]
    fn headings_aliases_and_line_numbers() {
        let s = read("\u{feff}E-mail;Result\na@x;'=1\n\n\"b\nc\";2\nd@x;3\n".as_bytes(), &COLUMNS, &["email"], &[], 10);
        assert_eq!(s.problems, vec![]);
        assert_eq!(s.columns, vec!["email", "score"]);
        let lines: Vec<u64> = s.lines.iter().map(|l| l.line).collect();
        assert_eq!(lines, vec![2, 4, 6]);
        assert_eq!(s.lines[0].get("score"), "=1", "defused cells read back");
        assert_eq!(s.lines[1].get("email"), "b\nc");
    }

    #[test]
    fn heading_problems_stop_reading() {
        let s = read(b"name,salary\nA,1\n", &COLUMNS, &["email"], &["name"], 10);
        assert_eq!(s.problems.len(), 2);
        assert!(s.lines.is_empty());
        assert!(read(b"email\n", &COLUMNS, &["email"], &[], 10).problems[0].message.contains("no lines"));
        assert!(read(b"email\na\nb\nc\n", &COLUMNS, &["email"], &[], 2).problems[0].message.contains("more than 2"));
    }
}
