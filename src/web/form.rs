//! Field-level form errors, shown next to the field they belong to.

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
}
