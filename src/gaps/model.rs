//! What the gap engine reports: a gap names its rule, the requirements it
//! touches, how serious it is, why an auditor cares, what is affected and
//! where it is fixed.
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Severity {
    /// An auditor would likely raise a nonconformity.
    Major,
    /// A weakness an auditor would note or probe.
    Minor,
    /// Good practice; not a finding on its own.
    Advice,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Major, Severity::Minor, Severity::Advice];
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Major => "major",
            Severity::Minor => "minor",
            Severity::Advice => "advice",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Severity::Major => "Major",
            Severity::Minor => "Minor",
            Severity::Advice => "Advice",
        }
    }
}

/// The four areas the dashboards group by.
pub const CLAUSES: [(&str, &str); 4] = [
    ("5.1", "Leadership and commitment"),
    ("5.2", "Policy"),
    ("5.3", "Roles, responsibilities and authorities"),
    ("A.5.4", "Management responsibilities"),
];

/// The clause a requirement code belongs to: "5.1(c)" → "5.1", "A.5.4" → "A.5.4".
pub fn clause_of(code: &str) -> &str {
    code.split('(').next().unwrap_or(code)
}

/// One record a gap is about, with where to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Affected {
    pub label: String,
    pub detail: String,
    pub href: Option<String>,
}

impl Affected {
    pub fn new(label: impl Into<String>, detail: impl Into<String>, href: Option<String>) -> Self {
        Affected { label: label.into(), detail: detail.into(), href }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// The rule's stable key, e.g. `policy_review_overdue`.
    pub rule: &'static str,
    pub title: String,
    pub requirements: Vec<String>,
    pub severity: Severity,
    /// Why an auditor cares, in plain words.
    pub why: &'static str,
    pub affected: Vec<Affected>,
    /// How many are affected in all (the list may be shortened).
    pub affected_total: usize,
    pub fix_href: String,
    pub fix_label: &'static str,
}

impl Gap {
    /// The clauses it touches, in dashboard order.
    pub fn clauses(&self) -> Vec<&'static str> {
        CLAUSES.iter().map(|(c, _)| *c).filter(|c| self.requirements.iter().any(|r| clause_of(r) == *c)).collect()
    }
    pub fn touches(&self, clause: &str) -> bool {
        self.requirements.iter().any(|r| clause_of(r) == clause)
    }
    /// Affected items left out of the list.
    pub fn more(&self) -> usize {
        self.affected_total.saturating_sub(self.affected.len())
    }
}

/// Gaps counted by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub major: usize,
    pub minor: usize,
    pub advice: usize,
}

impl Counts {
    pub fn of<'a>(gaps: impl IntoIterator<Item = &'a Gap>) -> Counts {
        let mut c = Counts::default();
        for g in gaps {
            match g.severity {
                Severity::Major => c.major += 1,
                Severity::Minor => c.minor += 1,
                Severity::Advice => c.advice += 1,
            }
        }
        c
    }
    pub fn total(&self) -> usize {
        self.major + self.minor + self.advice
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_belong_to_their_clause() {
        assert_eq!(clause_of("5.1(c)"), "5.1");
        assert_eq!(clause_of("5.3"), "5.3");
        assert_eq!(clause_of("A.5.4"), "A.5.4");
    }
}
