//! The gap rules: one small function per rule, each reading a snapshot of
//! the organisation as of a day and returning the gaps it finds. No
//! database here, so every rule is tested on plain data.
use super::model::{Affected, Gap, Severity};
use super::snapshot::{Appointment, Role, Snapshot};
use crate::leadership::meetings::next_review_due;
use crate::policies::onboarding::Timing;
use crate::policies::versions::model::{PolicyKind, review_due};
use chrono::{Months, NaiveDate};
use std::collections::BTreeSet;

/// A rule: what it is called, what it touches, how serious it is, why an
/// auditor cares, where it is fixed, and the check itself.
pub struct Rule {
    pub key: &'static str,
    pub name: &'static str,
    pub requirements: &'static [&'static str],
    pub severity: Severity,
    /// Why the rule's findings have their grade, in one sentence.
    pub grade: &'static str,
    pub why: &'static str,
    pub fix_label: &'static str,
    pub check: fn(&Snapshot, &Rule) -> Vec<Gap>,
}

impl Rule {
    /// A gap of this rule. Its list keeps the first `SAMPLE` affected items
    /// (the snapshot's lists are as long); `total` counts them all.
    fn gap(&self, title: impl Into<String>, mut affected: Vec<Affected>, total: usize, fix_href: impl Into<String>) -> Gap {
        affected.truncate(super::snapshot::SAMPLE as usize);
        Gap {
            rule: self.key,
            subject: String::new(),
            title: title.into(),
            requirements: self.requirements.iter().map(|r| r.to_string()).collect(),
            severity: self.severity,
            grade: self.grade.to_string(),
            why: self.why,
            affected,
            affected_total: total,
            fix_href: fix_href.into(),
            fix_label: self.fix_label,
            list_href: None,
        }
    }

    /// A gap over a group of people (`missing` of `population`): a minor
    /// nonconformity while isolated, a major one from the share the
    /// organisation counts as widespread (`Grading::widespread_percent`).
    fn share_gap(&self, s: &Snapshot, title: impl Into<String>, affected: Vec<Affected>, missing: i64, population: i64, fix_href: impl Into<String>) -> Gap {
        let mut g = self.gap(title, affected, usize::try_from(missing).unwrap_or(0), fix_href);
        let (share, widespread) = (percent(missing, population), i64::from(s.grading.widespread_percent));
        if share >= widespread {
            g.severity = Severity::Major;
            g.grade = format!("{share}% of the {population} people concerned, at or above the {widespread}% this organisation counts as widespread.");
        } else {
            g.severity = Severity::Minor;
            g.grade = format!("{missing} of {population} people ({share}%), below the {widespread}% this organisation counts as widespread: an isolated lapse.");
        }
        g
    }

    /// A gap listing occurrences of one lapse: minor while isolated, major
    /// from the number of occurrences the organisation counts as repeated
    /// (`Grading::repeated_from`); the finding names that number either way.
    fn repeated(&self, s: &Snapshot, mut g: Gap) -> Gap {
        let (n, from) = (g.affected_total, s.grading.repeated_from);
        if g.severity != Severity::Minor {
            return g;
        }
        if i64::try_from(n).unwrap_or(i64::MAX) >= i64::from(from) {
            g.severity = Severity::Major;
            g.grade = format!("The same lapse {n} times, at or above the {from} this organisation counts as repeated: a lapse that keeps recurring is a breakdown, not a slip.");
        } else {
            g.grade = format!("{}, and isolated: {}, below the {from} this organisation counts as repeated.", g.grade.trim_end_matches('.'), crate::web::count(n, "occurrence", "occurrences"));
        }
        g
    }

    /// [`Rule::listing`], graded by how often the lapse repeats.
    fn repeat_listing(&self, s: &Snapshot, title: impl Into<String>, affected: Vec<Affected>, fix_href: impl Into<String>) -> Vec<Gap> {
        self.listing(title, affected, fix_href).into_iter().map(|g| self.repeated(s, g)).collect()
    }

    /// A gap of the affected items given, its total counting them all.
    fn listing(&self, title: impl Into<String>, affected: Vec<Affected>, fix_href: impl Into<String>) -> Vec<Gap> {
        if affected.is_empty() {
            return Vec::new();
        }
        let total = affected.len();
        vec![self.gap(title, affected, total, fix_href)]
    }
}

fn months_before(day: NaiveDate, months: u32) -> NaiveDate {
    day.checked_sub_months(Months::new(months)).unwrap_or(NaiveDate::MIN)
}

fn percent(part: i64, whole: i64) -> i64 {
    (part * 100).checked_div(whole).unwrap_or(0)
}

fn role_href(a: &Appointment) -> Option<String> {
    Some(format!("/roles/{}", a.role_id))
}

/// A member of top management to propose where the fix needs one (an
/// appointer, a decider, a sender): the first on the roster by name.
fn a_leader(s: &Snapshot) -> String {
    s.leaders.iter().filter(|l| l.top_management).min_by(|a, b| a.name.cmp(&b.name)).map(|l| l.id.to_string()).unwrap_or_default()
}

// ---------- 5.3 roles ----------

fn unassigned(s: &Snapshot, rule: &Rule, carries: fn(&super::snapshot::Role) -> bool, label: &str) -> Vec<Gap> {
    let roles: Vec<_> = s.roles.iter().filter(|r| carries(r)).collect();
    let held = s.appointments.iter().any(|a| a.is_holder() && a.person_current && roles.iter().any(|r| r.id == a.role_id));
    if held {
        return Vec::new();
    }
    let affected: Vec<Affected> = roles.iter().map(|r| Affected::new(&r.name, "vacant: no current holder", Some(format!("/roles/{}", r.id)))).collect();
    let title = if roles.is_empty() { format!("No role carries {label}") } else { format!("Nobody currently holds {label}") };
    let total = affected.len();
    // The fix: the appointment form of a role that carries it, a leader proposed as appointer;
    // with no such role, the form that defines one, the assignment ticked.
    let fix = match roles.first() {
        Some(r) => format!("/roles/{}?appointer={}#appoint", r.id, a_leader(s)),
        None => format!("/roles?carries={}#new-role", if label.starts_with("5.3(a)") { "conformance" } else { "reporting" }),
    };
    vec![rule.gap(title, affected, total, fix)]
}

fn conformance_unassigned(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    unassigned(s, rule, |r| r.carries_conformance, "5.3(a), keeping the ISMS conformant")
}

fn reporting_unassigned(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    unassigned(s, rule, |r| r.carries_reporting, "5.3(b), telling top management how the ISMS is doing")
}

fn appointer_not_top_management(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let affected = s
        .appointments
        .iter()
        .filter(|a| a.person_current)
        .filter_map(|a| {
            let why = match (&a.appointer_name, a.appointer_top, a.appointed_on) {
                (None, _, _) => "no appointer recorded".to_string(),
                (Some(n), Some(false) | None, _) => format!("appointed by {n}, who is not top management"),
                // Recorded in a leader's name: it stands only once that leader confirms it.
                (Some(n), Some(true), _) if !a.confirmed => format!("{n} is named as appointer but has not confirmed it"),
                (Some(_), Some(true), None) => "no appointment date".to_string(),
                (Some(_), Some(true), Some(_)) => return None,
            };
            Some(Affected::new(format!("{}: {}", a.role_name, a.person_name), why, role_href(a)))
        })
        .collect::<Vec<_>>();
    // Top management is named and only a date or the appointer's own
    // confirmation is missing: nothing in 5.3 is shown broken, only unproven.
    let only_unproven = affected.iter().all(|a| a.detail == "no appointment date" || a.detail.ends_with("has not confirmed it"));
    let mut gaps = rule.repeat_listing(s, "Appointments not made by top management, unconfirmed or undated", affected, "/roles");
    for g in gaps.iter_mut().filter(|_| only_unproven) {
        g.severity = Severity::Improvement;
        g.grade = "Top management is named for the appointments; what is missing is the appointer's confirmation or the date, which an auditor would ask for but not raise.".into();
    }
    gaps
}

fn holder_not_accepted(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let affected =
        s.appointments.iter().filter(|a| a.person_current && !a.accepted).map(|a| Affected::new(format!("{}: {}", a.role_name, a.person_name), format!("{} has not accepted", a.capacity), role_href(a))).collect();
    rule.listing("Role holders who have not accepted their role", affected, "/roles")
}

fn role_without_authority(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let affected = s
        .roles
        .iter()
        .filter(|r| r.has_responsibilities && !r.has_authorities)
        .map(|r| Affected::new(&r.name, "responsibilities but no authorities", Some(format!("/roles/{}", r.id))))
        .collect::<Vec<_>>();
    let fix = first_edit(&affected, "/roles");
    rule.repeat_listing(s, "Roles with responsibilities but no authority", affected, fix)
}

fn only_mandatory_pair(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    if s.roles.is_empty() || s.roles.iter().any(|r| !r.carries_conformance && !r.carries_reporting) {
        return Vec::new();
    }
    vec![rule.gap("Only the two mandatory assignments are defined", Vec::new(), 0, "/roles#new-role")]
}

fn hats_not_documented(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let affected = s
        .appointments
        .iter()
        .filter(|a| a.is_holder() && a.person_current && a.person_top && a.no_hats_note)
        .filter(|a| s.roles.iter().any(|r| r.id == a.role_id && (r.carries_conformance || r.carries_reporting)))
        .map(|a| Affected::new(format!("{}: {}", a.role_name, a.person_name), "top management holding a mandatory role, no note on which hat when", role_href(a)))
        .collect();
    rule.listing("Top management wears two hats without saying when", affected, "/roles")
}

fn raci_incomplete(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let mut affected: Vec<Affected> = s
        .raci
        .iter()
        .filter(|a| a.accountable != 1)
        .map(|a| Affected::new(&a.name, format!("{} accountable roles (needs exactly one)", a.accountable), Some("/raci".into())))
        .collect();
    for r in &s.roles {
        if !s.appointments.iter().any(|a| a.role_id == r.id && a.is_holder() && a.person_current) {
            affected.push(Affected::new(&r.name, "role with no current holder", Some(format!("/roles/{}", r.id))));
        }
    }
    rule.listing("The RACI matrix has gaps", affected, "/raci")
}

/// An activity standing for 5.3(a) or (b) must be accountable to a role that
/// carries that assignment: the RACI and the 5.3 roles tell one story.
fn raci_disagrees_with_roles(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let affected = s
        .raci
        .iter()
        .filter_map(|a| {
            let code = a.assignment.as_deref()?;
            let carries = |r: &Role| if code == "5.3(a)" { r.carries_conformance } else { r.carries_reporting };
            // No role carries it at all: the 5.3 finding says so; this one would count it twice.
            if !s.roles.iter().any(carries) {
                return None;
            }
            let wrong: Vec<&str> =
                a.accountable_roles.iter().filter_map(|id| s.roles.iter().find(|r| r.id == *id)).filter(|r| !carries(r)).map(|r| r.name.as_str()).collect();
            (!wrong.is_empty()).then(|| Affected::new(&a.name, format!("accountable: {}, which does not carry {code}", wrong.join(", ")), Some("/raci".into())))
        })
        .collect();
    rule.listing("The RACI matrix and the 5.3 roles disagree", affected, "/raci")
}

// ---------- 5.2 policy ----------

fn is_policies(s: &Snapshot) -> impl Iterator<Item = &super::snapshot::Policy> {
    s.policies.iter().filter(|p| p.kind == PolicyKind::IsPolicy && p.version_id.is_some())
}

fn no_is_policy(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    if is_policies(s).next().is_some() {
        return Vec::new();
    }
    vec![rule.gap("No signed information security policy", Vec::new(), 0, "/policies")]
}

fn is_policy_not_top_signed(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let affected = is_policies(s)
        .filter(|p| p.approver_top != Some(true))
        .map(|p| {
            Affected::new(
                format!("{} v{}", p.title, p.number().unwrap_or_default()),
                format!("signed by {}, who is not top management", p.approver_name.as_deref().unwrap_or("someone")),
                Some(format!("/policies/{}", p.id)),
            )
        })
        .collect::<Vec<_>>();
    let fix = new_version_for_a_leader(s, &affected);
    rule.listing("The information security policy is not signed by top management", affected, fix)
}

/// The fix for a policy a leader must sign (again): the first affected
/// policy's new-version form, asking a member of top management to sign.
fn new_version_for_a_leader(s: &Snapshot, affected: &[Affected]) -> String {
    match affected.first().and_then(|a| a.href.as_deref()) {
        Some(h) => format!("{h}?signer={}#new-version", a_leader(s)),
        None => "/policies".into(),
    }
}

fn approver_left(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let affected = is_policies(s)
        .filter(|p| p.approver_top == Some(true) && p.approver_left == Some(true))
        .map(|p| {
            Affected::new(
                format!("{} v{}", p.title, p.number().unwrap_or_default()),
                format!("signed by {}, who has since left", p.approver_name.as_deref().unwrap_or("someone")),
                Some(format!("/policies/{}", p.id)),
            )
        })
        .collect::<Vec<_>>();
    let fix = new_version_for_a_leader(s, &affected);
    rule.listing("The information security policy was approved by someone who has since left", affected, fix)
}

fn policy_review_overdue(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let affected = s
        .policies
        .iter()
        .filter_map(|p| {
            let due = review_due(p.approved_at?, p.review_months)?;
            (due < s.as_of).then(|| Affected::new(format!("{} v{}", p.title, p.number().unwrap_or_default()), format!("review was due {due}"), Some(format!("/policies/{}", p.id))))
        })
        .collect::<Vec<_>>();
    let fix = new_version_for_a_leader(s, &affected);
    rule.repeat_listing(s, "Policies past their review date", affected, fix)
}

fn policy_content_incomplete(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let codes = ["5.2(a)", "5.2(b)", "5.2(c)", "5.2(d)"];
    let mut out = Vec::new();
    for p in is_policies(s) {
        let missing: Vec<&str> = p.checks.iter().zip(codes).filter(|(met, _)| !**met).map(|(_, c)| c).collect();
        if missing.is_empty() {
            continue;
        }
        let mut g = rule.gap(
            format!("{} v{} does not show where it meets {}", p.title, p.number().unwrap_or_default(), missing.join(", ")),
            Vec::new(),
            0,
            format!("/policies/versions/{}", p.version_id.unwrap_or(crate::ids::VersionId::nil())),
        );
        g.requirements = missing.iter().map(|c| c.to_string()).collect();
        g.subject = p.id.to_string();
        out.push(g);
    }
    out
}

fn policy_not_communicated(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let mut out = Vec::new();
    for f in s.figures.iter().filter(|f| f.acknowledged < f.audience) {
        let Some(p) = s.policies.iter().find(|p| p.id == f.policy_id) else { continue };
        let missing = f.audience - f.acknowledged;
        let affected = f.missing.0.iter().map(|m| Affected::new(&m.name, "has not acknowledged", Some(format!("/people/{}", m.id)))).collect();
        let title = format!("{} v{}: {missing} of {} people ({}%) have not acknowledged it", p.title, p.number().unwrap_or_default(), f.audience, percent(missing, f.audience));
        let href = format!("/policies/{}", p.id);
        let mut g = rule.share_gap(s, title.clone(), affected, missing, f.audience, href.clone());
        g.list_href = Some(format!("/people?unacknowledged={}", p.id));
        // A fresh version: people are still within the days given to acknowledge it,
        // unless they had not acknowledged the previous version either.
        let grace = i64::from(s.grading.ack_grace_days);
        if let Some(since) = p.major_since.map(|t| t.date_naive())
            && (s.as_of - since).num_days() <= grace
        {
            if f.stale > 0 {
                let late = rule.share_gap(s, title, Vec::new(), f.stale, f.audience, href);
                let reason = late.grade.get(..1).map(str::to_lowercase).unwrap_or_default() + late.grade.get(1..).unwrap_or_default();
                g.severity = late.severity;
                g.grade = format!("The grace days for the new version do not cover the {} who had not acknowledged the previous one either: {reason}", f.stale);
            } else {
                g.severity = Severity::Improvement;
                g.grade = format!("Version {} was signed on {since}, within the {grace} days this organisation gives to acknowledge a new version.", p.major.unwrap_or_default());
            }
        }
        g.subject = p.id.to_string();
        out.push(g);
    }
    out
}

fn leaders_exempt(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let affected = s
        .leaders
        .iter()
        .filter_map(|l| {
            let mut why = Vec::new();
            if !l.unacknowledged.is_empty() {
                why.push(format!("has not acknowledged {}", l.unacknowledged.join(", ")));
            }
            if !l.trained {
                why.push("has no current awareness training".into());
            }
            let role = if l.top_management { "top management" } else { "line manager" };
            (!why.is_empty()).then(|| Affected::new(&l.name, format!("{role}: {}", why.join("; ")), Some(format!("/people/{}", l.id))))
        })
        .collect::<Vec<_>>();
    let top = affected.iter().any(|a| a.detail.starts_with("top management:"));
    let mut gaps = rule.listing("Leaders who skipped what they require of everyone else", affected, "/training");
    for g in gaps.iter_mut().filter(|_| !top) {
        g.severity = Severity::Minor;
        g.grade = "Top management does what it requires; the lapse is in line managers who do not, which weakens but does not void the example.".into();
    }
    gaps
}

fn approved_within(s: &Snapshot, kind: PolicyKind, top_only: bool, months: u32) -> bool {
    let since = months_before(s.as_of, months);
    s.policies.iter().filter(|p| p.kind == kind).any(|p| {
        let at = if top_only { p.last_top_approval } else { p.last_approval };
        at.is_some_and(|t| t.date_naive() > since)
    })
}

fn no_management_statement(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    if approved_within(s, PolicyKind::ManagementStatement, true, 12) {
        return Vec::new();
    }
    vec![rule.gap("No senior management statement signed in the last 12 months", Vec::new(), 0, "/policies")]
}

fn training_plan_not_approved(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    if approved_within(s, PolicyKind::TrainingPlan, false, 12) {
        return Vec::new();
    }
    vec![rule.gap("No training plan approved in the last 12 months", Vec::new(), 0, "/policies")]
}

fn training_overdue(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    s.modules
        .iter()
        .filter(|m| m.overdue > 0)
        .map(|m| {
            let affected = m.missing.0.iter().map(|p| Affected::new(&p.name, "not current", Some(format!("/people/{}", p.id)))).collect();
            let mut g = rule.share_gap(
                s,
                format!("{}: {} of {} people ({}%) are not current", m.title, m.overdue, m.audience, percent(m.overdue, m.audience)),
                affected,
                m.overdue,
                m.audience,
                format!("/training/modules/{}", m.id),
            );
            g.subject = m.id.to_string();
            g.list_href = Some(format!("/training/modules/{}", m.id));
            g
        })
        .collect()
}

fn onboarding_after_access(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let grace = s.grading.onboarding_grace_days;
    let affected = s
        .starters
        .iter()
        .filter_map(|st| {
            let detail = match st.timing(grace) {
                Timing::OnTime => return None,
                Timing::Late(_) => format!("started {}, acknowledged {}", st.start_date, st.first_ack?.date_naive()),
                // Not yet acknowledged: a finding once the grace days are over.
                Timing::Missing if (s.as_of - st.start_date).num_days() > i64::from(grace) => format!("started {}, has not acknowledged", st.start_date),
                Timing::Missing => return None,
            };
            Some(Affected::new(&st.name, detail, Some(format!("/people/{}", st.id))))
        })
        .collect();
    rule.listing(format!("Starters who acknowledged the policy only after they started (more than {} after), or not at all", crate::web::count(grace, "day", "days")), affected, "/onboarding")
}

fn contract_clause_missing(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    if s.staff.no_clause == 0 {
        return Vec::new();
    }
    let affected = s.staff.no_clause_sample.iter().map(|p| Affected::new(&p.name, "contract has no security clause", Some(format!("/people/{}", p.id)))).collect();
    let mut g = rule.gap(
        format!("{} of {} people have no security clause in their contract", s.staff.no_clause, s.staff.total),
        affected,
        usize::try_from(s.staff.no_clause).unwrap_or(0),
        "/people",
    );
    g.list_href = Some("/people?flag=no_clause".into());
    vec![g]
}

fn no_disciplinary_process(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    if s.policies.iter().any(|p| p.kind == PolicyKind::DisciplinaryProcess && p.version_id.is_some()) {
        return Vec::new();
    }
    vec![rule.gap("No signed disciplinary process", Vec::new(), 0, "/policies")]
}

// ---------- 5.1 leadership ----------

fn no_management_review(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let last = s.meetings.iter().filter(|m| m.is_review()).filter_map(|m| m.held_by(s.as_of)).max();
    let due = next_review_due(last, s.cadence_months, s.as_of);
    match last {
        Some(_) if due >= s.as_of => Vec::new(),
        Some(d) => vec![rule.gap(format!("No management review since {d}: one was due by {due} (every {} months)", s.cadence_months), Vec::new(), 0, review_form(s))],
        None => vec![rule.gap("No management review has been held", Vec::new(), 0, review_form(s))],
    }
}

/// The form for a management review, chaired by a member of top management.
fn review_form(s: &Snapshot) -> String {
    format!("/meetings/new?kind=management_review&chair={}", a_leader(s))
}

/// Where a listing's fix is: the first affected record's edit form when
/// there is one, else the list.
fn first_edit(affected: &[Affected], list: &str) -> String {
    affected.first().and_then(|a| a.href.clone()).map(|h| format!("{h}#edit")).unwrap_or_else(|| list.to_string())
}

fn held_reviews(s: &Snapshot) -> impl Iterator<Item = &super::snapshot::Meeting> {
    s.meetings.iter().filter(|m| m.is_review() && m.held_by(s.as_of).is_some())
}

/// Reviews held in the window an auditor looks at: the last twelve months,
/// or the review cadence when it is longer.
fn recent_reviews(s: &Snapshot) -> impl Iterator<Item = &super::snapshot::Meeting> {
    let since = months_before(s.as_of, u32::try_from(s.cadence_months.max(12)).unwrap_or(12));
    held_reviews(s).filter(move |m| m.held_on.is_some_and(|d| d > since))
}

/// A lapse in some reviews of the window: major when no review in the
/// window is free of it (nothing shows the review took place as it should),
/// otherwise minor, or major when repeated.
fn review_lapse(s: &Snapshot, rule: &Rule, title: String, considered: usize, affected: Vec<Affected>, all: &str) -> Vec<Gap> {
    let lapsed = affected.len();
    let fix = first_edit(&affected, "/meetings");
    let mut gaps = rule.listing(title, affected, fix);
    for g in &mut gaps {
        if lapsed >= considered {
            g.severity = Severity::Major;
            g.grade = format!("{all}, so no review in the period can be shown as the standard asks.");
        } else {
            g.severity = Severity::Minor;
            g.grade = format!("Other reviews in the period meet it; the lapse is in {lapsed} of {considered}.");
            *g = rule.repeated(s, g.clone());
        }
    }
    gaps
}

fn review_without_minutes(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let grace = i64::from(s.grading.minutes_grace_days);
    let due: Vec<_> = recent_reviews(s).filter(|m| m.held_on.is_some_and(|d| (s.as_of - d).num_days() > grace)).collect();
    let affected = due
        .iter()
        .filter(|m| !m.has_minutes)
        .map(|m| Affected::new(&m.title, format!("held {}, no minutes", m.held_on.map(|d| d.to_string()).unwrap_or_default()), Some(format!("/meetings/{}", m.id))))
        .collect();
    let all = "None of the reviews held in the period has minutes";
    review_lapse(s, rule, format!("Management reviews without minutes more than {} after they were held", crate::web::count(grace, "day", "days")), due.len(), affected, all)
}

/// The latest held review with minutes should have considered every input
/// of 9.3.2 (one without minutes is a finding of its own).
fn review_inputs_incomplete(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let Some(last) = held_reviews(s).filter(|m| m.has_minutes).max_by_key(|m| m.held_on) else { return Vec::new() };
    let missing: Vec<&str> = crate::leadership::meetings::INPUTS.iter().filter(|(k, _)| !last.inputs.iter().any(|i| i == k)).map(|(_, label)| *label).collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let affected = missing.iter().map(|m| Affected::new(*m, "not recorded as considered", Some(format!("/meetings/{}", last.id)))).collect();
    vec![rule.gap(format!("The last management review ({}) left out {} of the inputs clause 9.3.2 lists", last.title, missing.len()), affected, missing.len(), format!("/meetings/{}", last.id))]
}

fn review_without_top_management(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let held: Vec<_> = recent_reviews(s).collect();
    let affected = held
        .iter()
        .filter(|m| !m.top_present)
        .map(|m| Affected::new(&m.title, "no top-management attendee recorded", Some(format!("/meetings/{}", m.id))))
        .collect();
    let all = "Top management attended none of the reviews held in the period";
    review_lapse(s, rule, "Management reviews without top management".into(), held.len(), affected, all)
}

fn overdue_actions(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let affected = s
        .actions
        .iter()
        .filter(|a| a.due_on.is_some_and(|d| d < s.as_of))
        .map(|a| {
            let mut detail = format!("due {}", a.due_on.map(|d| d.to_string()).unwrap_or_default());
            if let Some(o) = &a.owner_name {
                detail.push_str(&format!(", {o}"));
            }
            Affected::new(&a.title, detail, Some(format!("/actions/{}", a.id)))
        })
        .collect::<Vec<_>>();
    let fix = first_edit(&affected, "/actions");
    rule.repeat_listing(s, "Review actions past their due date", affected, fix)
}

fn no_resource_decision(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let since = months_before(s.as_of, 12);
    let decided = |d: &&super::snapshot::Decision| d.decision != "pending" && d.decider_top == Some(true);
    if s.decisions.iter().filter(decided).any(|d| d.decided_on.is_some_and(|on| on > since)) {
        return Vec::new();
    }
    let title = match s.decisions.iter().filter(decided).filter_map(|d| d.decided_on).max() {
        Some(last) => format!("No resource decision by top management since {last}"),
        None => "No resource decision by top management recorded".into(),
    };
    vec![rule.gap(title, Vec::new(), 0, format!("/decisions/new?decided_by={}", a_leader(s)))]
}

fn silent_leadership(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let since = months_before(s.as_of, 6);
    let by_top = |c: &&super::snapshot::Communication| c.from_top == Some(true);
    if s.communications.iter().filter(by_top).any(|c| c.sent_on > since) {
        return Vec::new();
    }
    let title = match s.communications.iter().filter(by_top).map(|c| c.sent_on).max() {
        Some(last) => format!("Top management has not spoken to staff about security since {last}"),
        None => "No communication from top management about security recorded".into(),
    };
    vec![rule.gap(title, Vec::new(), 0, format!("/communications/new?from={}", a_leader(s)))]
}

fn no_objectives(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    if s.objectives.iter().any(|o| o.is_current()) {
        return Vec::new();
    }
    let affected = s
        .objectives
        .iter()
        .filter(|o| o.is_open())
        .map(|o| {
            let why = if o.measure.trim().is_empty() { "no measure" } else { "no owner" };
            Affected::new(&o.title, why, Some(format!("/objectives/{}", o.id)))
        })
        .collect::<Vec<_>>();
    let total = affected.len();
    let fix = if affected.is_empty() { "/objectives/new".to_string() } else { first_edit(&affected, "/objectives") };
    let mut g = rule.gap("No current security objective with a measure and an owner", affected, total, fix);
    if total > 0 {
        g.severity = Severity::Minor;
        g.grade = "Objectives are set; the lapse is that none has both a measure and an owner yet.".into();
    }
    vec![g]
}

/// Objectives still open after their due date: nobody closed, re-planned or
/// dropped them, so their monitoring has lapsed.
fn objective_past_due(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let affected = s
        .objectives
        .iter()
        .filter(|o| o.is_open() && o.due_on.is_some_and(|d| d < s.as_of))
        .map(|o| Affected::new(&o.title, format!("due {}, still {}", o.due_on.map(|d| d.to_string()).unwrap_or_default(), o.status.label().to_lowercase()), Some(format!("/objectives/{}", o.id))))
        .collect::<Vec<_>>();
    let fix = first_edit(&affected, "/objectives");
    rule.repeat_listing(s, "Security objectives still open after their due date", affected, fix)
}

fn unanswered_asks(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let affected = s
        .asks
        .iter()
        .filter(|a| a.responded_on.is_none() && a.due_on.is_some_and(|d| d < s.as_of))
        .map(|a| Affected::new(&a.what, format!("asked of {} on {}, wanted by {}", a.asked_of_name, a.asked_on, a.due_on.map(|d| d.to_string()).unwrap_or_default()), Some(format!("/asks/{}", a.id))))
        .collect::<Vec<_>>();
    // The answer form, for the leader asked (an ask is answered by them alone).
    let fix = affected.first().and_then(|a| a.href.clone()).map(|h| format!("{h}#respond")).unwrap_or_else(|| "/asks".into());
    rule.listing("Asks to top management left unanswered", affected, fix)
}

// ---------- every requirement ----------

/// "Without evidence" and "without an owner" leave out requirements a
/// nonconformity names already: that finding says what is missing and who
/// must act, and one lapse is one finding.
const PER_REQUIREMENT: [&str; 2] = ["requirement_without_owner", "requirement_without_evidence"];

fn per_requirement(s: &Snapshot, rule: &Rule, named: &BTreeSet<String>) -> Vec<Gap> {
    match rule.key {
        // Owned by someone named, or by the holder of the role the catalogue names for it.
        "requirement_without_owner" => by_requirement(s, rule, "without an owner", "no owner named, and no holder of the role that owns it", |r| {
            r.owner_name.is_none() && super::derived::owner_by_role(s, r).is_none()
        }, named),
        // Uploaded evidence, or a record of Mandate that counts for it.
        _ => by_requirement(s, rule, "without current evidence", "no current evidence, uploaded or in Mandate's records", |r| {
            r.evidence == 0 && super::derived::counting(s, r) == 0
        }, named),
    }
}

fn by_requirement(
    s: &Snapshot,
    rule: &Rule,
    title: &str,
    detail: &str,
    pick: impl Fn(&super::snapshot::Requirement) -> bool,
    named: &BTreeSet<String>,
) -> Vec<Gap> {
    let hit: Vec<_> = s.requirements.iter().filter(|r| r.applicable && pick(r) && !named.contains(&r.code)).collect();
    if hit.is_empty() {
        return Vec::new();
    }
    let affected = hit.iter().map(|r| Affected::new(format!("{} {}", r.code, r.title), detail, Some(format!("/requirements/{}", r.id)))).collect();
    let mut g = rule.gap(format!("{} {title}", crate::web::count(hit.len(), "requirement", "requirements")), affected, hit.len(), "/requirements");
    g.requirements = hit.iter().map(|r| r.code.clone()).collect();
    vec![g]
}

fn requirement_without_owner(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    per_requirement(s, rule, &BTreeSet::new())
}

fn requirement_without_evidence(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    per_requirement(s, rule, &BTreeSet::new())
}

fn evidence_expired(s: &Snapshot, rule: &Rule) -> Vec<Gap> {
    let Some(first) = s.expired.first() else { return Vec::new() };
    let affected = s.expired.iter().map(|i| Affected::new(&i.title, format!("expired {}", i.expires), Some(format!("/evidence/{}", i.id)))).collect();
    let codes: BTreeSet<&String> = s.expired.iter().flat_map(|i| i.codes.iter()).collect();
    let total = usize::try_from(first.total).unwrap_or(0);
    let mut g = rule.gap(format!("{} expired", crate::web::count(total, "linked evidence item has", "linked evidence items have")), affected, total, "/evidence?status=expired");
    g.list_href = Some("/evidence?status=expired".into());
    if !codes.is_empty() {
        g.requirements = codes.into_iter().cloned().collect();
    }
    vec![g]
}

/// Every rule, in the order the gap list shows them within a severity.
pub const RULES: [Rule; 35] = [
    Rule {
        key: "conformance_unassigned",
        name: "5.3(a) unassigned",
        requirements: &["5.3(a)"],
        severity: Severity::Major,
        grade: "5.3(a) is not met at all while nobody holds it.",
        why: "The standard names two assignments top management must make. Without a holder for keeping the ISMS conformant, nobody answers for it when the auditor asks.",
        fix_label: "Appoint a holder",
        check: conformance_unassigned,
    },
    Rule {
        key: "reporting_unassigned",
        name: "5.3(b) unassigned",
        requirements: &["5.3(b)"],
        severity: Severity::Major,
        grade: "5.3(b) is not met at all while nobody holds it.",
        why: "Someone must report how the ISMS performs to top management. Without that role, leadership decides blind and the auditor sees no reporting line.",
        fix_label: "Appoint a holder",
        check: reporting_unassigned,
    },
    Rule {
        key: "appointer_not_top_management",
        name: "Role not appointed by top management",
        requirements: &["5.3"],
        severity: Severity::Minor,
        grade: "The role is assigned; the lapse is in who assigned it.",
        why: "Clause 5.3 puts the assignment of roles on top management. An appointment made by someone else, or without a date, does not show leadership assigning it.",
        fix_label: "Record who appointed them",
        check: appointer_not_top_management,
    },
    Rule {
        key: "holder_not_accepted",
        name: "Holder has not accepted",
        requirements: &["5.3"],
        severity: Severity::Improvement,
        grade: "Acceptance is Mandate's good practice for showing a role was communicated; its absence alone does not show 5.3 is unmet.",
        why: "A responsibility is only communicated when the holder knows about it. Auditors ask holders what their role is; a surprised answer is a finding.",
        fix_label: "Send the acceptance link",
        check: holder_not_accepted,
    },
    Rule {
        key: "role_without_authority",
        name: "Role without authority",
        requirements: &["5.3"],
        severity: Severity::Minor,
        grade: "The role exists; the lapse is the authority it lacks.",
        why: "Clause 5.3 assigns authorities as well as responsibilities. A role that must act but may decide nothing cannot do its job.",
        fix_label: "Write down its authorities",
        check: role_without_authority,
    },
    Rule {
        key: "only_mandatory_pair",
        name: "Only the mandatory pair",
        requirements: &["5.3"],
        severity: Severity::Improvement,
        grade: "5.3 is met with the two roles it requires; more roles would make the ISMS stronger, nothing is broken.",
        why: "5.3(a) and (b) are the floor, not the ceiling. Most organisations also need risk owners, an incident lead and the like, each with clear authority.",
        fix_label: "Add the roles you rely on",
        check: only_mandatory_pair,
    },
    Rule {
        key: "hats_not_documented",
        name: "Hats not documented",
        requirements: &["5.3"],
        severity: Severity::Improvement,
        grade: "Nothing is broken; writing down how one person keeps two roles apart answers the question before the auditor asks it.",
        why: "When a director also runs the ISMS, the auditor asks how they keep the roles apart, for example who reports to whom at the management review.",
        fix_label: "Add a \"which hat when\" note",
        check: hats_not_documented,
    },
    Rule {
        key: "raci_incomplete",
        name: "RACI incomplete",
        requirements: &["5.3"],
        severity: Severity::Minor,
        grade: "Roles are assigned; the lapse is in the accountability of some activities.",
        why: "Every activity needs exactly one accountable role, and every role a holder; otherwise accountability is shared by nobody.",
        fix_label: "Complete the matrix",
        check: raci_incomplete,
    },
    Rule {
        key: "raci_disagrees_with_roles",
        name: "RACI and 5.3 roles disagree",
        requirements: &["5.3(a)", "5.3(b)"],
        severity: Severity::Minor,
        grade: "Both assignments are made; the lapse is that the matrix names a different role as accountable for one of them.",
        why: "When the RACI says one role answers for conformity or for reporting and the appointments say another, the auditor asks who really does, and both records lose credibility.",
        fix_label: "Open the RACI matrix",
        check: raci_disagrees_with_roles,
    },
    Rule {
        key: "no_is_policy",
        name: "No approved IS policy",
        requirements: &["5.2(a)", "5.2(e)"],
        severity: Severity::Major,
        grade: "Without a signed policy, 5.2 is not met at all.",
        why: "Clause 5.2 requires an information security policy established by top management. Without a signed version there is no policy in force.",
        fix_label: "Write and sign the policy",
        check: no_is_policy,
    },
    Rule {
        key: "is_policy_not_top_signed",
        name: "Policy not signed by top management",
        requirements: &["5.2(e)", "5.1(a)"],
        severity: Severity::Major,
        grade: "A policy not established by top management does not meet 5.2, whatever its text says.",
        why: "The policy must come from top management. A signature from someone outside it is among the first things an auditor checks.",
        fix_label: "Have top management sign it",
        check: is_policy_not_top_signed,
    },
    Rule {
        key: "approver_left",
        name: "Approver has left",
        requirements: &["5.2(e)", "5.1(a)"],
        severity: Severity::Improvement,
        grade: "The policy stays approved when its approver leaves; a fresh signature from current top management shows it is still theirs.",
        why: "Auditors accept an approval by someone who has since left, then ask whether today's leadership stands behind the policy.",
        fix_label: "Open the policy",
        check: approver_left,
    },
    Rule {
        key: "policy_review_overdue",
        name: "Policy review overdue",
        requirements: &["5.2(e)"],
        severity: Severity::Minor,
        grade: "The policy is in force; the lapse is its overdue review.",
        why: "A policy left past its review date suggests nobody checks it still fits the organisation.",
        fix_label: "Review and sign a new version",
        check: policy_review_overdue,
    },
    Rule {
        key: "policy_content_incomplete",
        name: "Policy content incomplete",
        requirements: &["5.2(a)", "5.2(b)", "5.2(c)", "5.2(d)"],
        severity: Severity::Minor,
        grade: "The policy exists; the lapse is in part of what 5.2 asks it to say.",
        why: "Clause 5.2 lists what the policy must contain. The auditor will look for each point in the text.",
        fix_label: "Note where each point is met",
        check: policy_content_incomplete,
    },
    Rule {
        key: "policy_not_communicated",
        name: "Policy not communicated",
        requirements: &["5.2(f)", "A.5.4"],
        severity: Severity::Minor,
        grade: "Graded by how widespread it is: see the share on the finding.",
        why: "A policy must be communicated, and management must require staff to apply it. Acknowledgements are the usual proof.",
        fix_label: "Send for acknowledgement",
        check: policy_not_communicated,
    },
    Rule {
        key: "leaders_exempt",
        name: "Executives exempt",
        requirements: &["5.1(d)", "A.5.4"],
        severity: Severity::Major,
        grade: "Leaders exempting themselves puts in doubt that management requires anything of anyone, which is the point of 5.1 and A.5.4.",
        why: "Leaders who skip the policy and training they require of others are the most common finding under A.5.4: leading by example is the point of the control.",
        fix_label: "See training and acknowledgements",
        check: leaders_exempt,
    },
    Rule {
        key: "no_management_statement",
        name: "No senior management statement",
        requirements: &["A.5.4"],
        severity: Severity::Improvement,
        grade: "The standard does not ask for a separate statement; it is the plainest proof that management requires security, and worth having.",
        why: "A short statement from top management on why security matters is the simplest proof that management requires it of staff.",
        fix_label: "Sign a statement",
        check: no_management_statement,
    },
    Rule {
        key: "training_plan_not_approved",
        name: "Training plan not approved",
        requirements: &["A.5.4"],
        severity: Severity::Improvement,
        grade: "Training may well run without an approved plan; the standard does not ask for one, but an auditor will want to see how needs were decided.",
        why: "Management responsibilities include making sure staff are trained; an approved plan shows they decided how.",
        fix_label: "Approve the training plan",
        check: training_plan_not_approved,
    },
    Rule {
        key: "training_overdue",
        name: "Training overdue",
        requirements: &["A.5.4"],
        severity: Severity::Minor,
        grade: "Graded by how widespread it is: see the share on the finding.",
        why: "Staff whose awareness training has lapsed are not being required to keep up with the rules.",
        fix_label: "See who is overdue",
        check: training_overdue,
    },
    Rule {
        key: "onboarding_after_access",
        name: "Onboarding after access",
        requirements: &["A.5.4"],
        severity: Severity::Minor,
        grade: "The organisation asks starters to acknowledge; the lapse is in some doing it late or not yet.",
        why: "People should know the rules before they get access. Acknowledging weeks after the first day means they worked without them.",
        fix_label: "See onboarding",
        check: onboarding_after_access,
    },
    Rule {
        key: "contract_clause_missing",
        name: "Contract clause missing",
        requirements: &["A.5.4", "A.6.2"],
        severity: Severity::Improvement,
        grade: "Terms of employment are control A.6.2 in their own right; a missing clause alone does not break A.5.4.",
        why: "Contracts are where the organisation formally requires staff and contractors to follow its security rules.",
        fix_label: "Update the contracts",
        check: contract_clause_missing,
    },
    Rule {
        key: "no_disciplinary_process",
        name: "No disciplinary process",
        requirements: &["A.5.4", "A.6.4"],
        severity: Severity::Improvement,
        grade: "The disciplinary process is control A.6.4 in its own right; its absence alone does not break A.5.4.",
        why: "Requiring people to follow the rules needs a known consequence when they do not.",
        fix_label: "Add the disciplinary process",
        check: no_disciplinary_process,
    },
    Rule {
        key: "no_management_review",
        name: "No management review",
        requirements: &["5.1(e)", "5.1(g)"],
        severity: Severity::Major,
        grade: "Without a review in the planned interval, top management's direction of the ISMS is not shown at all.",
        why: "The management review is where top management shows it directs the ISMS. None within the planned interval is a nonconformity.",
        fix_label: "Plan the review",
        check: no_management_review,
    },
    Rule {
        key: "review_without_minutes",
        name: "Review without minutes",
        requirements: &["5.1(e)"],
        severity: Severity::Major,
        grade: "A review's results must be kept as documented information; without minutes it cannot be shown to have happened.",
        why: "A review without minutes did not happen as far as the auditor is concerned: the results must be kept as documented information.",
        fix_label: "Add the minutes",
        check: review_without_minutes,
    },
    Rule {
        key: "review_without_top_management",
        name: "Review without top management",
        requirements: &["5.1(e)"],
        severity: Severity::Major,
        grade: "A review that top management did not attend is not a management review.",
        why: "A management review that top management did not attend is not a management review.",
        fix_label: "Record who attended",
        check: review_without_top_management,
    },
    Rule {
        key: "review_inputs_incomplete",
        name: "Review inputs incomplete",
        requirements: &["5.1(e)"],
        severity: Severity::Minor,
        grade: "The review took place; the lapse is in what it considered.",
        why: "Clause 9.3.2 lists what a management review must consider, including changes in what interested parties need. Auditors read the minutes against that list.",
        fix_label: "Open the review",
        check: review_inputs_incomplete,
    },
    Rule {
        key: "overdue_actions",
        name: "Overdue review actions",
        requirements: &["5.1(g)"],
        severity: Severity::Minor,
        grade: "Reviews take place; the lapse is in following up some of their decisions.",
        why: "Decisions that are never followed up show reviews without effect; the next review must look at them.",
        fix_label: "Follow up",
        check: overdue_actions,
    },
    Rule {
        key: "no_resource_decision",
        name: "No resource decision",
        requirements: &["5.1(c)"],
        severity: Severity::Improvement,
        grade: "Resources may well be provided; without a recorded decision the auditor will ask leaders to show it another way.",
        why: "Top management must make the resources available. A year without a recorded decision leaves nothing to show.",
        fix_label: "Record a decision",
        check: no_resource_decision,
    },
    Rule {
        key: "silent_leadership",
        name: "Silent leadership",
        requirements: &["5.1(d)"],
        severity: Severity::Improvement,
        grade: "Leadership may well speak in ways Mandate does not record; a recorded message is the easiest way to show 5.1(d).",
        why: "Leaders must communicate why security matters. Six months of silence makes that hard to show.",
        fix_label: "Record a communication",
        check: silent_leadership,
    },
    Rule {
        key: "no_objectives",
        name: "No objectives",
        requirements: &["5.1(a)"],
        severity: Severity::Major,
        grade: "Without measurable objectives with owners, 5.1(a) is not met at all.",
        why: "Top management must make sure security objectives exist and fit the strategy. Without a measure and an owner, an objective is a wish.",
        fix_label: "Set an objective",
        check: no_objectives,
    },
    Rule {
        key: "objective_past_due",
        name: "Objective past due",
        requirements: &["5.1(e)"],
        severity: Severity::Minor,
        grade: "Objectives are set; the lapse is that some were left open past their date instead of being met, re-planned or dropped.",
        why: "An objective still open after its date shows nobody is checking progress, and the ISMS cannot show it achieves what it set out to.",
        fix_label: "Update the objectives",
        check: objective_past_due,
    },
    Rule {
        key: "unanswered_asks",
        name: "Unanswered asks",
        requirements: &["5.1(f)"],
        severity: Severity::Improvement,
        grade: "An unanswered request is Mandate's signal that support is slow, not a requirement of the standard left unmet.",
        why: "When the ISMS team asks leadership for something and hears nothing, support is missing where the standard expects it.",
        fix_label: "Answer the ask",
        check: unanswered_asks,
    },
    Rule {
        key: "requirement_without_owner",
        name: "Requirement without owner",
        requirements: &[],
        severity: Severity::Improvement,
        grade: "An owner per requirement is how Mandate keeps the work moving; the standard does not ask for one, so nothing is broken yet.",
        why: "A requirement nobody owns is a requirement nobody works on.",
        fix_label: "Assign owners",
        check: requirement_without_owner,
    },
    Rule {
        key: "requirement_without_evidence",
        name: "Requirement without evidence",
        requirements: &[],
        severity: Severity::Minor,
        grade: "The requirement may well be met; the lapse is that nothing current shows it.",
        why: "Auditors work from evidence. A requirement with nothing current to show will be questioned.",
        fix_label: "Link evidence",
        check: requirement_without_evidence,
    },
    Rule {
        key: "evidence_expired",
        name: "Evidence expired",
        requirements: &[],
        severity: Severity::Improvement,
        grade: "The evidence existed; refreshing or unlinking it keeps the record honest, while a requirement left with no current evidence is its own finding.",
        why: "Evidence past its validity no longer proves anything; the auditor will ask for the current version.",
        fix_label: "Upload current evidence",
        check: evidence_expired,
    },
];

/// All gaps of a snapshot, most serious first.
pub fn evaluate(s: &Snapshot) -> Vec<Gap> {
    let generic = |r: &&Rule| PER_REQUIREMENT.contains(&r.key);
    let mut gaps: Vec<(usize, Gap)> =
        RULES.iter().enumerate().filter(|(_, r)| !generic(r)).flat_map(|(i, r)| (r.check)(s, r).into_iter().map(move |g| (i, g))).collect();
    // Named by a nonconformity (an opportunity does not say the requirement is unmet).
    let named: BTreeSet<String> = gaps.iter().filter(|(_, g)| g.severity <= Severity::Minor).flat_map(|(_, g)| g.requirements.iter().cloned()).collect();
    for (i, r) in RULES.iter().enumerate().filter(|(_, r)| generic(r)) {
        gaps.extend(per_requirement(s, r, &named).into_iter().map(|g| (i, g)));
    }
    gaps.sort_by(|(ia, a), (ib, b)| a.severity.cmp(&b.severity).then(ia.cmp(ib)).then_with(|| a.title.cmp(&b.title)));
    gaps.into_iter().map(|(_, g)| g).collect()
}

pub fn rule(key: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.key == key)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::gaps::snapshot::*;
    use crate::leadership::objectives::model::ObjectiveStatus;
    use crate::ids::*;
    use chrono::{TimeZone, Utc};
    use sqlx::types::Json;
    use uuid::Uuid;

    pub(crate) fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_gap_lists_its_first_affected_items_and_counts_them_all() {
        let many: Vec<Affected> = (0..5_000).map(|n| Affected::new(format!("Person {n}"), "missing", None)).collect();
        let g = RULES[0].listing("Many", many, "/x").pop().unwrap();
        assert_eq!((g.affected.len(), g.affected_total, g.more_than(usize::MAX)), (SAMPLE as usize, 5_000, 5_000 - SAMPLE as usize));
        assert_eq!(g.affected[0].label, "Person 0", "the first ones, in the rule's order");
        assert_eq!((g.more_than(5), g.more_than(500)), (4_995, 5_000 - SAMPLE as usize), "the gap list shows 5, a finding's page all it keeps");
    }

    pub(crate) fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    pub(crate) fn at(s: &str) -> chrono::DateTime<Utc> {
        Utc.from_utc_datetime(&d(s).and_hms_opt(10, 0, 0).unwrap())
    }

    fn policy(n: u128, kind: PolicyKind, approved: &str) -> Policy {
        Policy {
            id: PolicyId(id(n)),
            title: format!("Policy {kind}"),
            kind,
            review_months: 12,
            version_id: Some(VersionId(id(n + 1000))),
            major: Some(1),
            minor: Some(0),
            approved_at: Some(at(approved)),
            approver_name: Some("Chief".into()),
            approver_top: Some(true),
            approver_left: Some(false),
            checks: vec![true; 4],
            last_top_approval: Some(at(approved)),
            last_approval: Some(at(approved)),
            major_since: Some(at(approved)),
            drafts: 0,
            public: false,
        }
    }

    fn appointment(n: u128, role: u128, person_top: bool) -> Appointment {
        Appointment {
            id: AppointmentId(id(n)),
            role_id: RoleId(id(role)),
            role_name: format!("Role {role}"),
            capacity: "holder".into(),
            person_id: PersonId(id(n + 500)),
            person_name: format!("Person {n}"),
            person_top,
            person_current: true,
            appointer_name: Some("Chief".into()),
            appointer_top: Some(true),
            appointed_on: Some(d("2026-01-10")),
            confirmed: true,
            accepted: true,
            no_hats_note: false,
        }
    }

    /// An organisation that does everything right on 2026-11-02.
    pub(crate) fn healthy() -> Snapshot {
        let role = |n: u128, a: bool, b: bool| Role { id: RoleId(id(n)), name: format!("Role {n}"), has_responsibilities: true, has_authorities: true, carries_conformance: a, carries_reporting: b };
        Snapshot {
            as_of: d("2026-11-02"),
            cadence_months: 12,
            grading: Default::default(),
            staff: Staff { total: 10, no_clause: 0, no_clause_sample: Vec::new() },
            requirements: vec![Requirement {
                id: RequirementId(id(1)),
                code: "5.1(a)".into(),
                clause: "5.1".into(),
                title: "Policy and objectives".into(),
                applicable: true,
                owner_id: Some(PersonId(id(2))),
                owner_name: Some("Chief".into()),
                status: "implemented".into(),
                evidence: 1,
                records: Vec::new(),
                owner_assignment: None,
            }],
            roles: vec![role(10, true, false), role(11, false, true), role(12, false, false)],
            appointments: vec![appointment(20, 10, false), appointment(21, 11, false), appointment(22, 12, false)],
            raci: vec![RaciActivity { id: RaciActivityId(id(30)), name: "Run the review".into(), accountable: 1, assignment: None, accountable_roles: Vec::new() }],
            policies: vec![
                policy(40, PolicyKind::IsPolicy, "2026-03-01"),
                policy(41, PolicyKind::ManagementStatement, "2026-03-01"),
                policy(42, PolicyKind::TrainingPlan, "2026-03-01"),
                policy(43, PolicyKind::DisciplinaryProcess, "2026-03-01"),
            ],
            figures: vec![PolicyFigures { policy_id: PolicyId(id(40)), audience: 10, acknowledged: 10, missing: Json(Vec::new()), stale: 0 }],
            modules: vec![Module { id: ModuleId(id(50)), title: "Awareness".into(), kind: "awareness".into(), audience: 10, overdue: 0, missing: Json(Vec::new()) }],
            leaders: vec![Leader { id: PersonId(id(60)), name: "Chief".into(), top_management: true, line_manager: true, unacknowledged: Vec::new(), trained: true }],
            starters: vec![Starter { id: PersonId(id(70)), name: "New Starter".into(), start_date: d("2026-09-01"), first_ack: Some(at("2026-08-28")) }],
            expired: Vec::new(),
            meetings: vec![Meeting {
                id: MeetingId(id(80)),
                title: "Review".into(),
                kind: "management_review".into(),
                planned_on: None,
                held_on: Some(d("2026-06-01")),
                chair_name: Some("Chief".into()),
                has_minutes: true,
                top_present: true,
                signed: true,
                on_paper: false,
                decisions: "Fund it".into(),
                inputs: crate::leadership::meetings::INPUTS.iter().map(|(k, _)| k.to_string()).collect(),
            }],
            actions: vec![Action { id: ActionItemId(id(90)), title: "Patch".into(), meeting_title: None, owner_name: None, due_on: Some(d("2026-12-01")) }],
            decisions: vec![Decision {
                id: DecisionId(id(100)),
                title: "Budget".into(),
                decision: "approved".into(),
                decided_on: Some(d("2026-02-01")),
                decider_name: Some("Chief".into()),
                decider_top: Some(true),
                amount: Some(rust_decimal::Decimal::from(1000)),
                currency: Some("EUR".into()),
            }],
            communications: vec![Communication { id: CommunicationId(id(110)), subject: "Why".into(), sent_on: d("2026-08-01"), from_name: Some("Chief".into()), from_top: Some(true) }],
            objectives: vec![Objective {
                id: ObjectiveId(id(120)),
                title: "Fewer clicks".into(),
                status: ObjectiveStatus::OnTrack,
                measure: "Click rate".into(),
                target: "5 %".into(),
                owner_name: Some("Chief".into()),
                due_on: None,
                created_at: at("2026-01-10"),
            }],
            asks: vec![Ask { id: AskId(id(130)), what: "Sign".into(), asked_of_name: "Chief".into(), asked_on: d("2026-10-01"), due_on: Some(d("2026-10-15")), responded_on: Some(d("2026-10-10")) }],
        }
    }

    pub(crate) fn keys(s: &Snapshot) -> Vec<&'static str> {
        evaluate(s).iter().map(|g| g.rule).collect()
    }

    #[test]
    fn a_healthy_organisation_clears_every_rule() {
        assert_eq!(keys(&healthy()), Vec::<&str>::new());
    }

    /// A rule's key and a change to the healthy organisation that must make it fire.
    type Breaker = (&'static str, fn(&mut Snapshot));

    fn breakers() -> Vec<Breaker> {
        vec![
            ("conformance_unassigned", |s| s.appointments[0].person_current = false),
            ("conformance_unassigned", |s| s.roles[0].carries_conformance = false),
            ("reporting_unassigned", |s| s.appointments[1].capacity = "deputy".into()),
            ("appointer_not_top_management", |s| s.appointments[2].appointer_top = Some(false)),
            ("appointer_not_top_management", |s| s.appointments[2].appointed_on = None),
            ("appointer_not_top_management", |s| s.appointments[2].appointer_name = None),
            ("appointer_not_top_management", |s| s.appointments[2].confirmed = false),
            ("holder_not_accepted", |s| s.appointments[1].accepted = false),
            ("role_without_authority", |s| s.roles[2].has_authorities = false),
            ("only_mandatory_pair", |s| {
                s.roles.pop();
                s.appointments.pop();
            }),
            ("hats_not_documented", |s| {
                s.appointments[0].person_top = true;
                s.appointments[0].no_hats_note = true;
            }),
            ("raci_disagrees_with_roles", |s| {
                s.raci[0].assignment = Some("5.3(b)".into());
                s.raci[0].accountable_roles = vec![s.roles[0].id];
            }),
            ("raci_incomplete", |s| s.raci[0].accountable = 2),
            ("raci_incomplete", |s| s.raci[0].accountable = 0),
            ("raci_incomplete", |s| {
                s.appointments.pop();
            }),
            ("no_is_policy", |s| s.policies[0].version_id = None),
            ("is_policy_not_top_signed", |s| s.policies[0].approver_top = Some(false)),
            ("approver_left", |s| s.policies[0].approver_left = Some(true)),
            ("policy_review_overdue", |s| s.policies[0].approved_at = Some(at("2025-10-01"))),
            ("policy_content_incomplete", |s| s.policies[0].checks[3] = false),
            ("policy_not_communicated", |s| s.figures[0].acknowledged = 7),
            ("leaders_exempt", |s| s.leaders[0].trained = false),
            ("leaders_exempt", |s| s.leaders[0].unacknowledged = vec!["Acceptable use policy".into()]),
            ("no_management_statement", |s| s.policies[1].last_top_approval = Some(at("2025-11-01"))),
            ("training_plan_not_approved", |s| s.policies.retain(|p| p.kind != PolicyKind::TrainingPlan)),
            ("training_overdue", |s| s.modules[0].overdue = 3),
            ("onboarding_after_access", |s| s.starters[0].first_ack = Some(at("2026-09-15"))),
            ("contract_clause_missing", |s| s.staff.no_clause = 2),
            ("no_disciplinary_process", |s| s.policies[3].version_id = None),
            ("no_management_review", |s| s.meetings[0].held_on = Some(d("2025-10-31"))),
            ("no_management_review", |s| s.meetings[0].kind = "steering".into()),
            ("no_management_review", |s| s.cadence_months = 3),
            ("review_without_minutes", |s| s.meetings[0].has_minutes = false),
            ("review_without_top_management", |s| s.meetings[0].top_present = false),
            ("review_inputs_incomplete", |s| {
                s.meetings[0].inputs.retain(|i| i != "interested_parties");
            }),
            ("overdue_actions", |s| s.actions[0].due_on = Some(d("2026-11-01"))),
            ("no_resource_decision", |s| s.decisions[0].decided_on = Some(d("2025-11-02"))),
            ("no_resource_decision", |s| s.decisions[0].decider_top = Some(false)),
            ("no_resource_decision", |s| s.decisions[0].decision = "pending".into()),
            ("silent_leadership", |s| s.communications[0].sent_on = d("2026-05-02")),
            ("silent_leadership", |s| s.communications[0].from_top = Some(false)),
            ("no_objectives", |s| s.objectives[0].measure = " ".into()),
            ("no_objectives", |s| s.objectives[0].status = ObjectiveStatus::Achieved),
            ("objective_past_due", |s| s.objectives[0].due_on = Some(d("2026-10-31"))),
            ("unanswered_asks", |s| s.asks[0].responded_on = None),
            ("requirement_without_owner", |s| s.requirements[0].owner_name = None),
            ("requirement_without_evidence", |s| s.requirements[0].evidence = 0),
            ("evidence_expired", |s| {
                s.expired.push(ExpiredItem { id: EvidenceId(id(140)), title: "Old plan".into(), expires: d("2026-10-01"), codes: vec!["A.5.4".into()], total: 1 })
            }),
        ]
    }

    #[test]
    fn every_rule_fires_when_its_condition_holds() {
        for (key, breaks) in breakers() {
            let mut s = healthy();
            breaks(&mut s);
            assert!(keys(&s).contains(&key), "{key} did not fire: {:?}", keys(&s));
        }
        let covered: BTreeSet<&str> = breakers().iter().map(|(k, _)| *k).collect();
        let all: BTreeSet<&str> = RULES.iter().map(|r| r.key).collect();
        assert_eq!(covered, all, "every rule has a case that makes it fire");
    }

    /// A finding is tracked by its rule and subject (`findings::model::plan`):
    /// with every condition at once, no two gaps share both, and a rule that
    /// reports more than one gap names each one's subject.
    #[test]
    fn every_gap_has_an_identity_of_its_own() {
        let unique = |s: &Snapshot| {
            let gaps = evaluate(s);
            let mut seen = BTreeSet::new();
            for g in &gaps {
                assert!(seen.insert((g.rule, g.subject.clone())), "two gaps for {} {:?}", g.rule, g.subject);
            }
            gaps
        };
        for (_, breaks) in breakers() {
            let mut s = healthy();
            breaks(&mut s);
            unique(&s);
        }
        // Two policies and two modules that break at once: per-record rules report twice.
        let mut s = healthy();
        s.figures.push(s.figures[0].clone());
        s.figures[1].policy_id = s.policies[1].id;
        s.figures[0].acknowledged = 7;
        s.figures[1].acknowledged = 7;
        s.modules.push(s.modules[0].clone());
        s.modules[1].id = ModuleId(id(199));
        s.modules[0].overdue = 3;
        s.modules[1].overdue = 3;
        let gaps = unique(&s);
        assert_eq!(gaps.iter().filter(|g| g.rule == "training_overdue").count(), 2, "the case covers a rule reporting per record");
        assert_eq!(gaps.iter().filter(|g| g.rule == "policy_not_communicated").count(), 2);
    }

    /// docs/RULES.md lists every rule with its grade and its reason, as the code has them.
    #[test]
    fn the_rules_document_lists_every_rule_as_graded() {
        let doc = include_str!("../../docs/RULES.md");
        for r in &RULES {
            let row = doc.lines().find(|l| l.starts_with(&format!("| `{}` |", r.key))).unwrap_or_else(|| panic!("docs/RULES.md has no row for {}", r.key));
            assert!(row.contains(r.grade), "docs/RULES.md's row for {} does not give its grade reason", r.key);
            assert!(row.contains(r.severity.label()) || row.contains("Minor, or major when"), "docs/RULES.md's row for {} does not give its grade", r.key);
        }
    }

    /// docs/RULES.md names, for each calibration, the tests that make its
    /// finding fire and clear: each must exist.
    #[test]
    fn the_calibration_table_names_tests_that_exist() {
        let doc = include_str!("../../docs/RULES.md");
        let section = &doc[doc.find("## Each calibration and the tests that hold it").unwrap()..doc.find("## The demo organisation's gap list").unwrap()];
        let mut sources = String::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs = vec![root.join("src"), root.join("tests")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    sources.push_str(&std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| Calibration") && !l.starts_with("| ---")).collect();
        assert!(rows.len() >= 15, "the table lists the calibrations");
        for row in rows {
            let cells: Vec<&str> = row.split(" | ").collect();
            for cell in &cells[1..] {
                let names: Vec<&str> = cell.split('`').skip(1).step_by(2).collect();
                assert!(!names.is_empty(), "a test is named in every column: {row}");
                for name in names {
                    assert!(sources.contains(&format!("fn {name}(")), "docs/RULES.md names a test that does not exist: {name}");
                }
            }
        }
    }

    /// docs/COVERAGE.md: its summary counts its own rows, and every rule it
    /// names exists.
    #[test]
    fn the_coverage_document_counts_its_rows_and_names_real_rules() {
        let doc = include_str!("../../docs/COVERAGE.md");
        let (body, summary) = doc.split_once("## Summary").unwrap();
        let mut totals = [0usize; 3];
        for section in body.split("\n## ").skip(1) {
            let seed = &section[..3];
            let mut counts = [0usize; 3];
            for row in section.lines().filter(|l| l.split(" | ").next().is_some_and(|c| c.trim_start_matches("| ").parse::<u32>().is_ok())) {
                let status = row.trim_end_matches(" |").rsplit(" | ").next().unwrap();
                let k = ["covered", "partly", "left out"].iter().position(|p| status.starts_with(p)).unwrap_or_else(|| panic!("no status: {row}"));
                counts[k] += 1;
                for name in row.split('`').skip(1).step_by(2).filter(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_') && n.contains('_')) {
                    assert!(rule(name).is_some(), "docs/COVERAGE.md names a rule that does not exist: {name}");
                }
            }
            let line = summary.lines().find(|l| l.starts_with(&format!("| {seed} "))).unwrap_or_else(|| panic!("no summary line for seed {seed}"));
            let n = counts.iter().sum::<usize>();
            assert!(line.ends_with(&format!("| {} | {} | {} | {n} |", counts[0], counts[1], counts[2])), "seed {seed}: the rows count {counts:?}, the summary says {line}");
            for (t, c) in totals.iter_mut().zip(counts) {
                *t += c;
            }
        }
        let n = totals.iter().sum::<usize>();
        assert!(summary.contains(&format!("| **Total** | **{}** | **{}** | **{}** | **{n}** |", totals[0], totals[1], totals[2])), "totals {totals:?}");
    }

    #[test]
    fn every_finding_says_why_it_has_its_grade() {
        for (key, breaks) in breakers() {
            let mut s = healthy();
            breaks(&mut s);
            for g in evaluate(&s) {
                assert!(g.grade.len() > 20 && g.grade.ends_with('.'), "{key}: {:?}", g.grade);
            }
        }
        for r in &RULES {
            assert!(!r.grade.is_empty(), "{} has no grade reason", r.key);
        }
    }

    /// A lapse among a few people is a minor nonconformity; from the
    /// organisation's widespread share it is a major one, and the finding
    /// names the share and the setting.
    #[test]
    fn widespread_lapses_are_major_and_isolated_ones_minor() {
        let grade = |acknowledged: i64, widespread: i32| {
            let mut s = healthy();
            s.grading.widespread_percent = widespread;
            s.figures[0].acknowledged = acknowledged;
            evaluate(&s).into_iter().find(|g| g.rule == "policy_not_communicated").map(|g| (g.severity, g.grade))
        };
        let audience = healthy().figures[0].audience;
        let (few, reason) = grade(audience - 1, 50).unwrap();
        assert_eq!(few, Severity::Minor);
        assert!(reason.contains("below the 50%") && reason.contains("isolated"), "{reason}");
        let (most, reason) = grade(0, 50).unwrap();
        assert_eq!(most, Severity::Major);
        assert!(reason.contains("100% of the") && reason.contains("at or above the 50%"), "{reason}");
        // Exactly on the threshold counts as widespread; the setting moves it.
        assert_eq!(grade(audience / 2, 50).unwrap().0, Severity::Major, "half of {audience}");
        assert_eq!(grade(audience / 2, 60).unwrap().0, Severity::Minor);
        let mut s = healthy();
        s.modules[0].overdue = s.modules[0].audience;
        assert_eq!(evaluate(&s).iter().find(|g| g.rule == "training_overdue").unwrap().severity, Severity::Major);
        assert_eq!(grade(audience, 50), None, "everyone acknowledged: no finding");
    }

    /// The same lapse once or twice is a minor nonconformity; from the
    /// number the organisation counts as repeated it is a major one, and the
    /// finding names that number either way.
    #[test]
    fn repeated_lapses_are_major_and_isolated_ones_minor() {
        let grade = |overdue: usize, from: i32| {
            let mut s = healthy();
            s.grading.repeated_from = from;
            let first = s.actions[0].clone();
            s.actions = (0..overdue).map(|n| Action { title: format!("Action {n}"), due_on: Some(d("2026-10-01")), ..first.clone() }).collect();
            evaluate(&s).into_iter().find(|g| g.rule == "overdue_actions").map(|g| (g.severity, g.grade))
        };
        assert_eq!(grade(0, 3), None);
        let (once, reason) = grade(1, 3).unwrap();
        assert_eq!(once, Severity::Minor);
        assert!(reason.ends_with(", and isolated: 1 occurrence, below the 3 this organisation counts as repeated."), "{reason}");
        assert_eq!(grade(2, 3).unwrap().0, Severity::Minor);
        let (thrice, reason) = grade(3, 3).unwrap();
        assert_eq!(thrice, Severity::Major, "exactly on the setting counts as repeated");
        assert!(reason.contains("3 times, at or above the 3"), "{reason}");
        assert_eq!(grade(3, 4).unwrap().0, Severity::Minor, "the setting moves the line");
    }

    fn grade_of(s: &Snapshot, key: &str) -> Option<(Severity, String)> {
        evaluate(s).into_iter().find(|g| g.rule == key).map(|g| (g.severity, g.grade))
    }

    /// A review lapse is major only when no review of the period is free of
    /// it; one review in two is minor. Reviews older than the period do not count.
    #[test]
    fn review_lapses_are_graded_against_the_other_reviews_of_the_period() {
        let mut s = healthy();
        s.meetings[0].has_minutes = false;
        assert_eq!(grade_of(&s, "review_without_minutes").unwrap().0, Severity::Major, "the only review has no minutes");
        let mut second = s.meetings[0].clone();
        second.id = MeetingId(id(81));
        second.held_on = Some(d("2026-02-01"));
        second.has_minutes = true;
        s.meetings.push(second.clone());
        let (grade, reason) = grade_of(&s, "review_without_minutes").unwrap();
        assert_eq!(grade, Severity::Minor);
        assert!(reason.contains("1 of 2") && reason.contains("isolated"), "{reason}");
        // A review without minutes two years ago is history, not a finding.
        let mut s = healthy();
        let mut old = s.meetings[0].clone();
        old.id = MeetingId(id(82));
        old.held_on = Some(d("2024-09-01"));
        old.has_minutes = false;
        old.top_present = false;
        s.meetings.push(old);
        assert_eq!(grade_of(&s, "review_without_minutes"), None);
        assert_eq!(grade_of(&s, "review_without_top_management"), None);
        // Top management at one review in two: minor.
        let mut s = healthy();
        second.top_present = false;
        s.meetings.push(second);
        assert_eq!(grade_of(&s, "review_without_top_management").unwrap().0, Severity::Minor);
        s.meetings[0].top_present = false;
        assert_eq!(grade_of(&s, "review_without_top_management").unwrap().0, Severity::Major);
    }

    /// Top management skipping what it requires is major; line managers alone, minor.
    #[test]
    fn leaders_exempt_is_major_for_top_management_and_minor_for_line_managers() {
        let mut s = healthy();
        let mut manager = s.leaders[0].clone();
        manager.id = PersonId(id(61));
        manager.top_management = false;
        manager.trained = false;
        s.leaders.push(manager);
        assert_eq!(grade_of(&s, "leaders_exempt").unwrap().0, Severity::Minor);
        s.leaders[0].unacknowledged = vec!["Acceptable use".into()];
        assert_eq!(grade_of(&s, "leaders_exempt").unwrap().0, Severity::Major);
    }

    /// The grace of a new version does not cover people who had not
    /// acknowledged the previous version either.
    #[test]
    fn grace_does_not_cover_those_late_with_the_previous_version() {
        let mut s = healthy();
        s.policies[0].major = Some(2);
        s.policies[0].major_since = Some(at("2026-10-20"));
        s.figures[0].acknowledged = 2;
        assert_eq!(grade_of(&s, "policy_not_communicated").unwrap().0, Severity::Improvement, "all eight are within the grace");
        s.figures[0].stale = 1;
        let (grade, reason) = grade_of(&s, "policy_not_communicated").unwrap();
        assert_eq!(grade, Severity::Minor);
        assert!(reason.starts_with("The grace days for the new version do not cover the 1 who"), "{reason}");
        s.figures[0].stale = 6;
        assert_eq!(grade_of(&s, "policy_not_communicated").unwrap().0, Severity::Major, "60% were already late");
    }

    /// Objectives without a measure or owner are minor; none at all, major.
    /// Appointments naming top management that only lack a date or the
    /// appointer's confirmation are an opportunity; one made by someone else is minor.
    #[test]
    fn partial_records_are_graded_below_missing_ones() {
        let mut s = healthy();
        s.objectives[0].owner_name = None;
        assert_eq!(grade_of(&s, "no_objectives").unwrap().0, Severity::Minor);
        s.objectives[0].status = ObjectiveStatus::Dropped;
        assert_eq!(grade_of(&s, "no_objectives").unwrap().0, Severity::Major);
        let mut s = healthy();
        s.appointments[0].appointed_on = None;
        assert_eq!(grade_of(&s, "appointer_not_top_management").unwrap().0, Severity::Improvement);
        s.appointments[2].confirmed = false;
        let (severity, reason) = grade_of(&s, "appointer_not_top_management").unwrap();
        assert_eq!(severity, Severity::Improvement, "{reason}");
        assert!(reason.contains("confirmation"), "{reason}");
        s.appointments[2].confirmed = true;
        s.appointments[1].appointer_top = Some(false);
        assert_eq!(grade_of(&s, "appointer_not_top_management").unwrap().0, Severity::Minor);
    }

    /// A requirement another finding names is not named again as without an
    /// owner or evidence; an activity tagged 5.3(a) that agrees with its role clears.
    #[test]
    fn requirements_are_not_named_twice_and_agreeing_assignments_clear() {
        let mut s = healthy();
        s.requirements[0].owner_name = None;
        s.requirements[0].evidence = 0;
        let found = keys(&s);
        assert!(found.contains(&"requirement_without_owner") && found.contains(&"requirement_without_evidence"), "{found:?}");
        s.objectives.clear();
        let found = keys(&s);
        assert!(found.contains(&"no_objectives"), "{found:?}");
        assert!(!found.contains(&"requirement_without_owner") && !found.contains(&"requirement_without_evidence"), "5.1(a) is named by no_objectives: {found:?}");
        let mut s = healthy();
        s.raci[0].assignment = Some("5.3(a)".into());
        s.raci[0].accountable_roles = vec![s.roles[0].id];
        assert!(!keys(&s).contains(&"raci_disagrees_with_roles"), "the accountable role carries 5.3(a)");
        s.raci[0].accountable_roles = vec![s.roles[1].id];
        assert!(keys(&s).contains(&"raci_disagrees_with_roles"));
    }

    /// Repetition raises a minor only: an opportunity stays an opportunity.
    #[test]
    fn repetition_never_raises_an_opportunity() {
        let mut s = healthy();
        s.grading.repeated_from = 2;
        for n in 0..3 {
            s.asks.push(Ask { id: AskId(id(200 + n)), responded_on: None, ..s.asks[0].clone() });
        }
        assert_eq!(grade_of(&s, "unanswered_asks").unwrap().0, Severity::Improvement);
    }

    /// Evidence of A.5.4 that is another Annex A control in its own right
    /// is an opportunity for improvement naming that control.
    #[test]
    fn other_controls_missing_alone_are_opportunities_naming_them() {
        for (key, control, breaks) in [
            ("no_disciplinary_process", "A.6.4", (|s| s.policies[3].version_id = None) as fn(&mut Snapshot)),
            ("contract_clause_missing", "A.6.2", |s| s.staff.no_clause = 2),
        ] {
            let mut s = healthy();
            breaks(&mut s);
            let g = evaluate(&s).into_iter().find(|g| g.rule == key).unwrap();
            assert_eq!(g.severity, Severity::Improvement, "{key}");
            assert!(g.requirements.iter().any(|r| r == control) && g.grade.contains(control), "{key}: {:?} {}", g.requirements, g.grade);
        }
    }

    /// Each grace period clears its finding on its last day and lets it fire
    /// the day after, and the setting moves it.
    #[test]
    fn grace_periods_hold_findings_back_until_they_end() {
        let fires = |key: &str, change: &dyn Fn(&mut Snapshot)| {
            let mut s = healthy();
            change(&mut s);
            evaluate(&s).into_iter().find(|g| g.rule == key)
        };
        // Minutes: 30 days after the meeting by default.
        let minutes = |held: &'static str, grace: i32| {
            fires("review_without_minutes", &move |s: &mut Snapshot| {
                s.grading.minutes_grace_days = grace;
                s.meetings[0].held_on = Some(d(held));
                s.meetings[0].has_minutes = false;
            })
        };
        assert!(minutes("2026-10-03", 30).is_none(), "day 30 is still within the grace");
        assert!(minutes("2026-10-02", 30).is_some(), "day 31 is not");
        assert!(minutes("2026-10-20", 0).is_some(), "no grace when the setting says none");

        // Starters: a few days after the first day, and those who never acknowledged are not skipped.
        let starter = |first_ack: Option<&'static str>, grace: i32, start: &'static str| {
            fires("onboarding_after_access", &move |s: &mut Snapshot| {
                s.grading.onboarding_grace_days = grace;
                s.starters[0].start_date = d(start);
                s.starters[0].first_ack = first_ack.map(at);
            })
        };
        assert!(starter(Some("2026-09-04"), 3, "2026-09-01").is_none(), "three days after is within a grace of three");
        assert!(starter(Some("2026-09-05"), 3, "2026-09-01").is_some());
        let never = starter(None, 3, "2026-09-01").expect("a starter who never acknowledged is a finding");
        assert!(never.affected[0].detail.contains("has not acknowledged"), "{:?}", never.affected);
        assert!(starter(None, 3, "2026-10-31").is_none(), "started two days ago: still within the grace");

        // A fresh version: missing acknowledgements are an opportunity for improvement while people still have time.
        let fresh = |signed: &'static str| {
            fires("policy_not_communicated", &move |s: &mut Snapshot| {
                s.figures[0].acknowledged = 2;
                s.policies[0].major_since = Some(at(signed));
            })
            .map(|g| (g.severity, g.grade))
        };
        let (grade, why) = fresh("2026-10-10").unwrap();
        assert_eq!(grade, Severity::Improvement);
        assert!(why.contains("within the 30 days"), "{why}");
        assert_eq!(fresh("2026-09-01").unwrap().0, Severity::Major, "after the grace, 80% missing is widespread");
    }

    /// One lapse, one finding: what another rule already raises is not counted twice.
    #[test]
    fn findings_are_not_counted_twice() {
        // The RACI names 5.3(b), but no role carries 5.3(b) at all: only the 5.3(b) finding.
        let mut s = healthy();
        s.raci[0].assignment = Some("5.3(b)".into());
        s.raci[0].accountable_roles = vec![s.roles[0].id];
        for r in &mut s.roles {
            r.carries_reporting = false;
        }
        let found = keys(&s);
        assert!(found.contains(&"reporting_unassigned") && !found.contains(&"raci_disagrees_with_roles"), "{found:?}");
        // A review without minutes is not also a review with missing inputs.
        let mut s = healthy();
        s.meetings[0].has_minutes = false;
        s.meetings[0].held_on = Some(d("2026-09-01"));
        s.meetings[0].inputs.clear();
        let found = keys(&s);
        assert!(found.contains(&"review_without_minutes") && !found.contains(&"review_inputs_incomplete"), "{found:?}");
    }

    #[test]
    fn thresholds_sit_exactly_on_their_boundaries() {
        // Review due 12 months after the last one: on the day it is not yet late.
        let mut s = healthy();
        s.meetings[0].held_on = Some(d("2025-11-02"));
        assert!(!keys(&s).contains(&"no_management_review"));
        s.meetings[0].held_on = Some(d("2025-11-01"));
        assert!(keys(&s).contains(&"no_management_review"));
        // A meeting held after the day does not count yet.
        s.meetings[0].held_on = Some(d("2026-11-03"));
        assert!(keys(&s).contains(&"no_management_review"));
        // Resource decisions: within the last twelve months.
        let mut s = healthy();
        s.decisions[0].decided_on = Some(d("2025-11-03"));
        assert!(!keys(&s).contains(&"no_resource_decision"));
        // Communications: within the last six months.
        let mut s = healthy();
        s.communications[0].sent_on = d("2026-05-03");
        assert!(!keys(&s).contains(&"silent_leadership"));
        // An action due today is not overdue yet; an ask answered late still counts as answered.
        let mut s = healthy();
        s.actions[0].due_on = Some(d("2026-11-02"));
        s.asks[0].responded_on = Some(d("2026-10-30"));
        assert!(keys(&s).is_empty());
        // Onboarding on the first day is in time.
        let mut s = healthy();
        s.starters[0].first_ack = Some(at("2026-09-01"));
        assert!(keys(&s).is_empty());
    }

    #[test]
    fn gaps_come_most_serious_first_and_name_their_clauses() {
        let mut s = healthy();
        s.requirements[0].owner_name = None;
        s.policies[0].approver_top = Some(false);
        s.roles[0].carries_conformance = false;
        let gaps = evaluate(&s);
        let sev: Vec<Severity> = gaps.iter().map(|g| g.severity).collect();
        let mut sorted = sev.clone();
        sorted.sort();
        assert_eq!(sev, sorted);
        let signed = gaps.iter().find(|g| g.rule == "is_policy_not_top_signed").unwrap();
        assert_eq!(signed.clauses(), vec!["5.1", "5.2"]);
        assert_eq!(signed.affected[0].detail, "signed by Chief, who is not top management");
        assert!(gaps.iter().all(|g| g.rule != "requirement_without_owner"), "5.1(a) is named by the signature finding already");
    }
}
