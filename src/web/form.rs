//! Field-level form errors, shown next to the field they belong to, and the
//! parsers that turn raw form values into checked ones.
use chrono::NaiveDate;

#[derive(Debug, Default, Clone)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn messages(&self) -> impl Iterator<Item = &(&'static str, String)> {
        self.0.iter()
    }
}

/// Trims and lower-cases an e-mail address, or explains what is wrong with it.
pub fn parse_email(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err("Enter an e-mail address.");
    }
    if email.len() > 254 {
        return Err("This e-mail address is too long.");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err("Enter an e-mail address like name@example.com.");
    };
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'));
    if ok { Ok(email) } else { Err("Enter an e-mail address like name@example.com.") }
}

/// A required one-line text field of bounded length.
pub fn parse_text(raw: &str, what: &str, max: usize) -> Result<String, String> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(format!("Enter {what}."));
    }
    if v.chars().count() > max {
        return Err(format!("Keep {what} under {max} characters."));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(format!("Remove control characters from {what}."));
    }
    Ok(v.to_string())
}

/// An optional free-text field of bounded length (line breaks allowed when `multiline`).
pub fn parse_optional(raw: &str, what: &str, max: usize, multiline: bool) -> Result<String, String> {
    let v = raw.trim();
    if v.chars().count() > max {
        return Err(format!("Keep {what} under {max} characters."));
    }
    if v.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
        return Err(format!("Remove control characters from {what}."));
    }
    Ok(v.replace("\r\n", "\n"))
}

/// An optional date in the form browsers and spreadsheets send: YYYY-MM-DD.
pub fn parse_date(raw: &str, what: &str) -> Result<Option<NaiveDate>, String> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("Enter {what} as a date like 2026-03-31 (year-month-day)."))
}

/// An optional id chosen from a list (any id type of `crate::ids`, or a
/// bare UUID); anything unreadable counts as "none chosen".
pub fn parse_choice<T: std::str::FromStr>(raw: &str) -> Option<T> {
    raw.trim().parse().ok()
}

/// A checkbox: browsers send the field only when ticked.
pub fn ticked(raw: &Option<String>) -> bool {
    raw.as_deref().is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// An uploaded file's name as safe metadata: the last path component only,
/// without control or direction-changing characters (a right-to-left
/// override can disguise `exe.pdf` as `fdp.exe`), at most 200 bytes with
/// the extension kept.
pub fn display_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let invisible = |c: char| {
        c.is_control() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
    };
    let clean: String = last.chars().filter(|c| !invisible(*c)).collect();
    let clean = clean.trim().trim_start_matches('.').trim().to_string();
    if clean.is_empty() {
        return "upload".into();
    }
    const MAX: usize = 200;
    if clean.len() <= MAX {
        return clean;
    }
    let (stem, ext) = match clean.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && e.len() <= 10 => (s, format!(".{e}")),
        _ => (clean.as_str(), String::new()),
    };
    let mut cut = MAX - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(parse_email("  Priya@Acme.Example "), Ok("priya@acme.example".into()));
        for bad in ["", "no-at", "a@b", "a b@c.d", "@c.d", "a@.c", "a@c.d."] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filenames_lose_paths_and_control_characters() {
        assert_eq!(display_filename("C:\\Users\\x\\staff.csv"), "staff.csv");
        assert_eq!(display_filename("../../etc/passwd"), "passwd");
        assert_eq!(display_filename("a\u{0}b\nc.csv"), "abc.csv");
        assert_eq!(display_filename("minutes\r\nSet-Cookie: x.pdf"), "minutesSet-Cookie: x.pdf");
        assert_eq!(display_filename(".."), "upload");
        assert_eq!(display_filename("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        let long = format!("{}.pdf", "é".repeat(150));
        let short = display_filename(&long);
        assert!(short.len() <= 200 && short.ends_with(".pdf"), "{short}");
    }
}
