//! The leadership dashboard's content: where each clause stands in plain
//! words, the next management review, and a card to prepare for the audit
//! interview (the page itself is in `routes`, what waits for the signed-in
//! executive in `model::mine`).
use super::Evaluation;
use super::model::{CLAUSES, Gap, Severity};
use super::snapshot::{Decision, Meeting, Objective};
use crate::ids::MeetingId;
use crate::leadership::meetings;
use chrono::NaiveDate;

/// One clause in a sentence.
pub struct ClauseStatus {
    pub code: &'static str,
    pub title: &'static str,
    pub status: &'static str,
    pub class: &'static str,
    pub sentence: String,
}

fn all_good(code: &str) -> &'static str {
    match code {
        "5.1" => "Reviews, resource decisions, objectives and communication are on record.",
        "5.2" => "The policy is signed by top management, current and acknowledged.",
        "5.3" => "The mandatory roles are held, appointed by top management and accepted.",
        _ => "Leaders and staff have acknowledged the policy and are trained.",
    }
}

pub fn clause_statuses(gaps: &[Gap]) -> Vec<ClauseStatus> {
    CLAUSES
        .iter()
        .map(|(code, title)| {
            let mine: Vec<&Gap> = gaps.iter().filter(|g| g.touches(code) && g.severity != Severity::Improvement).collect();
            let (status, class) = match mine.first().map(|g| g.severity) {
                Some(Severity::Major) => ("At risk", "at-risk"),
                Some(_) => ("Needs attention", "attention"),
                None => ("On track", "on-track"),
            };
            let sentence = match mine.as_slice() {
                [] => all_good(code).to_string(),
                [only] => format!("{}.", only.title),
                [first, rest @ ..] => format!("{}, and {} more.", first.title, crate::web::count(rest.len(), "issue", "issues")),
            };
            ClauseStatus { code, title, status, class, sentence }
        })
        .collect()
}

/// The facts an executive should have at hand in the audit interview.
pub struct Prep {
    pub objectives: Vec<Objective>,
    pub last_review: Option<Meeting>,
    pub last_decision: Option<Decision>,
    pub top_gaps: Vec<Gap>,
    pub conformance: Vec<String>,
    pub reporting: Vec<String>,
}

pub fn prep(e: &Evaluation) -> Prep {
    let s = &e.snapshot;
    let holders = |carries: fn(&super::snapshot::Role) -> bool| -> Vec<String> {
        let mut v: Vec<String> = s
            .appointments
            .iter()
            .filter(|a| a.is_holder() && a.person_current && s.roles.iter().any(|r| r.id == a.role_id && carries(r)))
            .map(|a| format!("{} ({})", a.person_name, a.role_name))
            .collect();
        v.dedup();
        v
    };
    Prep {
        objectives: s.objectives.iter().filter(|o| o.is_current()).cloned().collect(),
        last_review: s.meetings.iter().filter(|m| m.is_review() && m.held_by(s.as_of).is_some()).max_by_key(|m| m.held_on).cloned(),
        last_decision: s.decisions.iter().filter(|d| d.decision != "pending" && d.decided_on.is_some()).max_by_key(|d| d.decided_on).cloned(),
        top_gaps: e.gaps.iter().filter(|g| g.severity != Severity::Improvement).take(3).cloned().collect(),
        conformance: holders(|r| r.carries_conformance),
        reporting: holders(|r| r.carries_reporting),
    }
}

/// The next management review: one planned, and when one is due at the latest.
pub struct NextReview {
    pub planned: Option<(MeetingId, String, NaiveDate)>,
    pub due: NaiveDate,
    pub overdue: bool,
}

pub fn next_review(e: &Evaluation) -> NextReview {
    let s = &e.snapshot;
    let last = s.meetings.iter().filter(|m| m.is_review()).filter_map(|m| m.held_by(s.as_of)).max();
    let due = meetings::next_review_due(last, s.cadence_months, s.as_of);
    let planned = s
        .meetings
        .iter()
        .filter(|m| m.is_review() && m.held_by(s.as_of).is_none())
        .filter_map(|m| Some((m.id, m.title.clone(), m.planned_on.filter(|d| *d >= s.as_of)?)))
        .min_by_key(|(_, _, d)| *d);
    NextReview { planned, due, overdue: last.is_some() && due < s.as_of }
}


/// One thing only the signed-in leader can do, with where it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// What to do: "Sign", "Confirm", "Answer"...
    pub verb: &'static str,
    /// The record it is done on.
    pub title: String,
    pub href: String,
    /// What follows the record's name ("3 drafts awaiting a signature").
    pub note: String,
    /// A warning beside it ("overdue").
    pub warn: Option<&'static str>,
    /// The button that opens it.
    pub button: &'static str,
}

/// What only the signed-in member can do, in the order it matters: versions
/// to sign, appointments to confirm, minutes to sign off, asks to answer,
/// then their own acknowledgements and training. `drafts`: policies with
/// versions this member may sign as top management (`model::to_sign`).
/// `invite_leader`: drafts wait while no leader has an account, and this
/// member invites people: their task is to bring a leader in.
pub fn tasks(mine: Option<&super::model::Mine>, drafts: &[(crate::ids::PolicyId, String, i64)], invite_leader: bool, today: NaiveDate) -> Vec<Task> {
    let task = |verb, title: &str, href: String, note: String, warn, button| Task { verb, title: title.to_string(), href, note, warn, button };
    let mut out: Vec<Task> = Vec::new();
    if invite_leader {
        out.push(task(
            "Invite",
            "a member of top management",
            "/members?role=executive#invite".into(),
            ": policy drafts wait for a signature, and no leader has an account to sign with".into(),
            None,
            "Invite a leader",
        ));
    }
    out.extend(drafts.iter().map(|(id, title, n)| {
        task("Sign", title, format!("/policies/{id}"), format!(" ({} awaiting your signature)", crate::web::count(n, "draft", "drafts")), None, "Review and sign")
    }));
    let Some(m) = mine else { return out };
    for c in &m.confirm {
        out.push(task("Confirm that you appointed", &format!("{} as {}", c.person_name, c.role_name), format!("/roles/{}#appointment-{}", c.role_id, c.id), String::new(), None, "Review and confirm"));
    }
    for mt in &m.sign_offs {
        let warn = (!mt.has_minutes()).then_some("minutes not written yet");
        out.push(task("Sign off the minutes of", &mt.title, format!("/meetings/{}", mt.id), String::new(), warn, "Read and sign off"));
    }
    for a in &m.asks {
        let note = a.due_on.map(|d| format!(", wanted by {d}")).unwrap_or_default();
        out.push(task("Answer", &a.what, format!("/asks/{}", a.id), note, a.overdue(today).then_some("overdue"), "Answer"));
    }
    for k in &m.acknowledge {
        out.push(task("Acknowledge", &format!("{} v{}.{}", k.title, k.major, k.minor), format!("/policies/versions/{}", k.version_id), String::new(), None, "Read and acknowledge"));
    }
    for t in &m.train {
        let note = match t.last {
            Some(d) => format!(" (last done {d})"),
            None => " (never done)".into(),
        };
        out.push(task("Complete", &t.title, format!("/training/modules/{}", t.id), note, None, "Open the module"));
    }
    out
}

/// The day's verdict in one sentence: what an auditor would raise in the
/// leadership clauses today, and the most serious of it.
pub fn verdict(gaps: &[Gap]) -> String {
    let counts = super::model::Counts::of(gaps);
    let raised = match (counts.major, counts.minor) {
        (0, 0) => return "Today an auditor would raise no nonconformity in the leadership clauses.".into(),
        (major, 0) => crate::web::count(major, "major nonconformity", "major nonconformities"),
        (0, minor) => crate::web::count(minor, "minor nonconformity", "minor nonconformities"),
        (major, minor) => format!("{} and {}", crate::web::count(major, "major", "major"), crate::web::count(minor, "minor nonconformity", "minor nonconformities")),
    };
    let first = gaps.iter().find(|g| g.severity != Severity::Improvement).map(|g| g.title.trim_end_matches('.').to_string()).unwrap_or_default();
    format!("Today an auditor would raise {raised} in the leadership clauses; the most serious: {first}.")
}

#[cfg(test)]
mod verdict_tests {
    use super::*;

    fn gap(severity: Severity, title: &str) -> Gap {
        Gap::example("x", severity, title)
    }

    #[test]
    fn the_verdict_counts_and_names_the_most_serious() {
        assert_eq!(verdict(&[gap(Severity::Improvement, "Opportunity")]), "Today an auditor would raise no nonconformity in the leadership clauses.");
        assert_eq!(
            verdict(&[gap(Severity::Major, "Nobody holds 5.3(b)"), gap(Severity::Minor, "A"), gap(Severity::Minor, "B")]),
            "Today an auditor would raise 1 major and 2 minor nonconformities in the leadership clauses; the most serious: Nobody holds 5.3(b)."
        );
        assert_eq!(verdict(&[gap(Severity::Minor, "Late review.")]), "Today an auditor would raise 1 minor nonconformity in the leadership clauses; the most serious: Late review.");
    }
}
