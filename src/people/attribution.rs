//! Who made an act, in words: the person it stands for, their title then,
//! and the account that made it (or the personal link it came through).
//! Pages, CSV exports and bundles all say it the same way.

use crate::ids::PersonId;

/// The person an act stands for, as the directory names them at the act.
/// (Their job title then is read from the directory in the act's own
/// statement: see `TITLE_SQL`.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signatory {
    pub person_id: Option<PersonId>,
    pub name: String,
}

impl Signatory {
    pub fn of(person: &super::model::Person) -> Self {
        Signatory { person_id: Some(person.id), name: person.name.clone() }
    }
}

/// The job title of person `{person}` of organisation `{org}` (SQL
/// expressions), NULL when none is recorded: acts store it as it stands then.
pub fn title_sql(org: &str, person: &str) -> String {
    format!("(SELECT NULLIF(btrim(t.job_title), '') FROM people t WHERE t.org_id = {org} AND t.id = {person})")
}

/// How an act reached Mandate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via<'a> {
    /// Signed in with this account (its e-mail address).
    SignedIn(&'a str),
    /// Through a personal link that needs no account, from this address.
    Link(&'a str),
    /// Given on paper before Mandate; recorded by this account (its e-mail).
    Paper(&'a str),
    /// Not recorded (acts made before Mandate recorded the account).
    Unknown,
}

impl<'a> Via<'a> {
    /// The account's e-mail if known, else the link's address if it came by link.
    pub fn from_parts(account: Option<&'a str>, link_from: Option<&'a str>) -> Self {
        match (account, link_from) {
            (Some(email), _) => Via::SignedIn(email),
            (None, Some(addr)) => Via::Link(addr),
            _ => Via::Unknown,
        }
    }

    /// A paper record's (entered by `recorded_by`), or as `from_parts` says.
    pub fn paper_or(recorded_by: Option<&'a str>, account: Option<&'a str>) -> Self {
        match recorded_by {
            Some(email) => Via::Paper(email),
            None => Via::from_parts(account, None),
        }
    }

    /// "signed in as <e-mail>", "by personal link from <address>", or nothing.
    pub fn words(self) -> String {
        match self {
            Via::SignedIn(email) => format!("signed in as {email}"),
            Via::Link("") => "by personal link".into(),
            Via::Link(addr) => format!("by personal link from {addr}"),
            Via::Paper(email) => format!("on paper, recorded in Mandate by {email}"),
            Via::Unknown => String::new(),
        }
    }
}

/// "Name, Title, signed in as e-mail": what is known of it, in that order.
pub fn byline(name: Option<&str>, title: Option<&str>, via: Via<'_>) -> String {
    let how = via.words();
    [name.unwrap_or(""), title.unwrap_or(""), how.as_str()].iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byline_says_what_is_known() {
        assert_eq!(byline(Some("Cee Eo"), Some("Chief Executive"), Via::SignedIn("ceo@acme.example")), "Cee Eo, Chief Executive, signed in as ceo@acme.example");
        assert_eq!(byline(Some("Rob Holder"), Some(""), Via::Link("192.0.2.10")), "Rob Holder, by personal link from 192.0.2.10");
        assert_eq!(byline(Some("Old Signer"), None, Via::Unknown), "Old Signer");
        assert_eq!(Via::from_parts(None, Some("192.0.2.1")), Via::Link("192.0.2.1"));
        assert_eq!(Via::from_parts(Some("a@b.example"), Some("192.0.2.1")), Via::SignedIn("a@b.example"));
    }
}
