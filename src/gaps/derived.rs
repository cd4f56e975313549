//! What Mandate already holds counts as evidence. Each requirement of the
//! catalogue names the kinds of record that show it (`records` in
//! catalogues/*.toml); this module finds those records in a snapshot, as of
//! its day, with the day each was made and the day it stops counting, the
//! same way uploaded evidence has a date and a validity. Plain functions on
//! plain data, like the rules.
use super::snapshot::{Appointment, Policy, Requirement, Snapshot};
use crate::policies::versions::model::{PolicyKind, review_due};
use crate::roles::model::Assignment;
use chrono::{Months, NaiveDate};

pub use crate::requirements::records::Source;

/// One record that counts (or once counted) as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    pub source: Source,
    /// The record in words: what it is, who made it.
    pub title: String,
    /// The day the record was made (or, for figures, the day they are read).
    pub on: NaiveDate,
    /// The last day it counts; `None`: as long as the record stands.
    pub valid_until: Option<NaiveDate>,
    /// Where the record is.
    pub href: String,
}

impl Derived {
    /// Counts on `day`: made by then and not past its validity.
    pub fn counts_on(&self, day: NaiveDate) -> bool {
        self.on <= day && self.valid_until.is_none_or(|u| u >= day)
    }
}

fn months_after(day: NaiveDate, months: u32) -> Option<NaiveDate> {
    day.checked_add_months(Months::new(months))
}

/// The current version of the organisation's policy of `kind`, signed by
/// top management (the first, if there are several).
fn signed_by_top(s: &Snapshot, kind: PolicyKind) -> Option<&Policy> {
    s.policies.iter().find(|p| p.kind == kind && p.version_id.is_some() && p.approver_top == Some(true))
}

fn policy_item(source: Source, p: &Policy, what: &str) -> Option<Derived> {
    let at = p.approved_at?;
    Some(Derived {
        source,
        title: format!("{} v{}{what}, signed by {}", p.title, p.number().unwrap_or_default(), p.approver_name.as_deref().unwrap_or("top management")),
        on: at.date_naive(),
        valid_until: review_due(at, p.review_months),
        href: format!("/policies/{}", p.id),
    })
}

fn accepted_holder(s: &Snapshot, a: Assignment) -> Option<&Appointment> {
    s.appointments.iter().find(|ap| ap.person_current && ap.accepted && ap.confirmed && ap.appointer_top == Some(true) && carries(s, ap, a))
}

fn carries(s: &Snapshot, ap: &Appointment, a: Assignment) -> bool {
    s.roles.iter().any(|r| r.id == ap.role_id && if a == Assignment::Conformance { r.carries_conformance } else { r.carries_reporting })
}

fn holder_item(source: Source, s: &Snapshot, a: Assignment) -> Option<Derived> {
    let ap = accepted_holder(s, a)?;
    Some(Derived {
        source,
        title: format!("{} holds {} ({}), appointed by {}, accepted", ap.person_name, ap.role_name, a.code(), ap.appointer_name.as_deref().unwrap_or("top management")),
        on: ap.appointed_on?,
        valid_until: None,
        href: format!("/roles/{}", ap.role_id),
    })
}

/// The record of one kind that counts, or counted, as of the snapshot's day
/// (the newest, or the figures of the day).
pub fn of_source(s: &Snapshot, source: Source) -> Option<Derived> {
    let day = s.as_of;
    let is = signed_by_top(s, PolicyKind::IsPolicy);
    let check = |i: usize, what: &str| is.filter(|p| p.checks.get(i).copied().unwrap_or(false)).and_then(|p| policy_item(source, p, what));
    match source {
        Source::IsPolicy => is.and_then(|p| policy_item(source, p, "")),
        Source::PolicyPurpose => check(0, ", which notes how it suits the organisation"),
        Source::PolicyObjectives => check(1, ", which notes its objectives"),
        Source::PolicyObligations => check(2, ", which notes its commitment to requirements"),
        Source::PolicyImprovement => check(3, ", which notes its commitment to improvement"),
        Source::PolicyAcknowledged => is.and_then(|p| {
            let f = s.figures.iter().find(|f| f.policy_id == p.id && f.acknowledged > 0)?;
            Some(Derived {
                source,
                title: format!("{} v{}: acknowledged by {} of {} people concerned", p.title, p.number().unwrap_or_default(), f.acknowledged, f.audience),
                on: day,
                valid_until: None,
                href: format!("/policies/{}", p.id),
            })
        }),
        Source::PolicyPublic => is.filter(|p| p.public).and_then(|p| policy_item(source, p, ", published on its public page")),
        Source::ManagementStatement => signed_by_top(s, PolicyKind::ManagementStatement).and_then(|p| policy_item(source, p, "")),
        Source::DisciplinaryProcess => signed_by_top(s, PolicyKind::DisciplinaryProcess).and_then(|p| policy_item(source, p, "")),
        Source::TrainingPlan => s.policies.iter().find(|p| p.kind == PolicyKind::TrainingPlan && p.version_id.is_some()).and_then(|p| policy_item(source, p, "")),
        Source::Objectives => {
            let current: Vec<_> = s.objectives.iter().filter(|o| o.is_current()).collect();
            let first = current.iter().map(|o| o.created_at.date_naive()).min();
            first.map(|on| Derived {
                source,
                title: format!("{} with a measure and an owner: {}", crate::web::count(current.len(), "current objective", "current objectives"), current.iter().map(|o| o.title.as_str()).collect::<Vec<_>>().join("; ")),
                on,
                valid_until: None,
                href: "/objectives".into(),
            })
        }
        Source::ManagementReview => {
            let m = s.meetings.iter().filter(|m| m.is_review() && m.has_minutes && m.top_present).filter(|m| m.held_by(day).is_some()).max_by_key(|m| m.held_on)?;
            let held = m.held_on?;
            Some(Derived {
                source,
                title: format!("{}, held {held} with top management{}", m.title, match (m.signed, m.on_paper) {
                    (true, true) => ", minutes signed off on paper",
                    (true, false) => ", minutes signed off",
                    _ => ", with minutes",
                }),
                on: held,
                valid_until: Some(crate::leadership::meetings::next_review_due(Some(held), s.cadence_months, day)),
                href: format!("/meetings/{}", m.id),
            })
        }
        Source::ResourceDecision => {
            let d = s.decisions.iter().filter(|d| d.decision != "pending" && d.decider_top == Some(true)).filter_map(|d| Some((d.decided_on?, d))).max_by_key(|(on, _)| *on);
            d.map(|(on, d)| Derived {
                source,
                title: format!("{}: {} by {}", d.title, d.decision, d.decider_name.as_deref().unwrap_or("top management")),
                on,
                valid_until: months_after(on, 12),
                href: format!("/decisions/{}", d.id),
            })
        }
        Source::LeadershipMessage => s.communications.iter().filter(|c| c.from_top == Some(true)).max_by_key(|c| c.sent_on).map(|c| Derived {
            source,
            title: format!("\"{}\", from {}", c.subject, c.from_name.as_deref().unwrap_or("top management")),
            on: c.sent_on,
            valid_until: months_after(c.sent_on, 6),
            href: format!("/communications/{}", c.id),
        }),
        Source::AnsweredAsks => s.asks.iter().filter_map(|a| Some((a.responded_on?, a))).max_by_key(|(on, _)| *on).map(|(on, a)| Derived {
            source,
            title: format!("\"{}\", answered by {}", a.what, a.asked_of_name),
            on,
            valid_until: months_after(on, 12),
            href: format!("/asks/{}", a.id),
        }),
        Source::ManagersLead => {
            let managers: Vec<_> = s.leaders.iter().filter(|l| l.line_manager && !l.top_management).collect();
            (!managers.is_empty() && managers.iter().all(|l| l.trained && l.unacknowledged.is_empty())).then(|| Derived {
                source,
                title: format!("All {} line managers are trained and have acknowledged the policies that ask them", managers.len()),
                on: day,
                valid_until: None,
                href: "/people".into(),
            })
        }
        Source::Raci => (!s.raci.is_empty() && s.raci.iter().all(|a| a.accountable == 1)).then(|| Derived {
            source,
            title: format!("{} activities, each with one accountable role", s.raci.len()),
            on: day,
            valid_until: None,
            href: "/raci".into(),
        }),
        Source::Appointments => {
            let accepted: Vec<_> = s.appointments.iter().filter(|a| a.person_current && a.accepted && a.confirmed && a.appointer_top == Some(true)).collect();
            let first = accepted.iter().filter_map(|a| a.appointed_on).min();
            first.map(|on| Derived {
                source,
                title: format!("{} held, appointed by top management and accepted", crate::web::count(accepted.len(), "role", "roles")),
                on,
                valid_until: None,
                href: "/roles".into(),
            })
        }
        Source::ConformanceHolder => holder_item(source, s, Assignment::Conformance),
        Source::ReportingHolder => holder_item(source, s, Assignment::Reporting),
        Source::AwarenessTraining => s.modules.iter().filter(|m| m.kind == "awareness" && m.audience > m.overdue).max_by_key(|m| m.audience - m.overdue).map(|m| Derived {
            source,
            title: format!("{}: {} of {} people current", m.title, m.audience - m.overdue, m.audience),
            on: day,
            valid_until: None,
            href: format!("/training/modules/{}", m.id),
        }),
        Source::ContractClauses => (s.staff.total > 0 && s.staff.no_clause == 0).then(|| Derived {
            source,
            title: format!("All {} people's contracts carry the security clause", s.staff.total),
            on: day,
            valid_until: None,
            href: "/people".into(),
        }),
    }
}

/// Each requirement's records that count, or counted, as its evidence, by code.
pub type ByCode = std::collections::BTreeMap<String, Vec<Derived>>;

/// Every requirement's records (those with any), by code.
pub fn by_code(s: &Snapshot) -> ByCode {
    s.requirements.iter().map(|r| (r.code.clone(), for_requirement(s, r))).filter(|(_, d)| !d.is_empty()).collect()
}

/// The records that count, or counted, as evidence of a requirement.
pub fn for_requirement(s: &Snapshot, r: &Requirement) -> Vec<Derived> {
    r.records.iter().filter_map(|src| of_source(s, *src)).collect()
}

/// How many of them count on the snapshot's day.
pub fn counting(s: &Snapshot, r: &Requirement) -> usize {
    for_requirement(s, r).iter().filter(|d| d.counts_on(s.as_of)).count()
}

/// Who owns a requirement nobody is named for: the current holder of the
/// role carrying the assignment the catalogue names for it.
pub fn owner_by_role<'a>(s: &'a Snapshot, r: &Requirement) -> Option<&'a Appointment> {
    let a = r.owner_assignment.as_deref().and_then(Assignment::from_code)?;
    s.appointments.iter().find(|ap| ap.person_current && carries(s, ap, a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gaps::rules::tests::{at, d, healthy, keys};

    fn with_records(records: &[Source]) -> Snapshot {
        let mut s = healthy();
        s.requirements[0].evidence = 0;
        s.requirements[0].records = records.to_vec();
        // A code no other rule names, so "without evidence" is the only finding about it.
        s.requirements[0].code = "5.1(f)".into();
        s
    }

    /// A declared record counts when its condition holds, not when it does
    /// not, and stops counting when it expires, as uploaded evidence does.
    #[test]
    fn declared_records_count_when_their_condition_holds_until_they_expire() {
        let s = with_records(&[Source::IsPolicy]);
        let items = for_requirement(&s, &s.requirements[0]);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].valid_until, Some(d("2027-03-01")), "the policy's review date");
        assert!(items[0].title.contains("signed by Chief"), "{}", items[0].title);
        assert!(!keys(&s).contains(&"requirement_without_evidence"), "the signed policy is the evidence");
        // Condition unmet: signed by someone outside top management.
        let mut unsigned = s.clone();
        unsigned.policies[0].approver_top = Some(false);
        assert!(for_requirement(&unsigned, &unsigned.requirements[0]).is_empty());
        assert!(keys(&unsigned).contains(&"requirement_without_evidence"));
        // Expired: the review date has passed.
        let mut late = s.clone();
        late.policies[0].approved_at = Some(at("2025-06-01"));
        let items = for_requirement(&late, &late.requirements[0]);
        assert!(!items[0].counts_on(late.as_of), "listed, but no longer counting");
        assert!(keys(&late).contains(&"requirement_without_evidence"));
        // A record the requirement does not declare does not count for it.
        assert!(!keys(&with_records(&[Source::ResourceDecision, Source::ContractClauses])).contains(&"requirement_without_evidence"));
        let mut s = with_records(&[Source::ResourceDecision]);
        s.decisions.clear();
        assert!(keys(&s).contains(&"requirement_without_evidence"));
    }

    /// Every kind of record is found in a healthy organisation, and each has
    /// a condition that removes it.
    #[test]
    fn every_kind_of_record_has_a_condition() {
        let mut s = healthy();
        s.roles[0].carries_conformance = true;
        s.policies[0].public = true;
        s.modules[0].overdue = 2;
        s.raci[0].accountable = 1;
        s.leaders.push(crate::gaps::snapshot::Leader { line_manager: true, top_management: false, ..s.leaders[0].clone() });
        for source in Source::ALL {
            assert!(of_source(&s, *source).is_some_and(|r| r.counts_on(s.as_of)), "{source:?} is found in a healthy organisation");
        }
        type Breaker = (Source, fn(&mut Snapshot));
        let breakers: Vec<Breaker> = vec![
            (Source::IsPolicy, |s| s.policies[0].version_id = None),
            (Source::PolicyPurpose, |s| s.policies[0].checks[0] = false),
            (Source::PolicyObjectives, |s| s.policies[0].checks[1] = false),
            (Source::PolicyObligations, |s| s.policies[0].checks[2] = false),
            (Source::PolicyImprovement, |s| s.policies[0].checks[3] = false),
            (Source::PolicyAcknowledged, |s| s.figures[0].acknowledged = 0),
            (Source::PolicyPublic, |s| s.policies[0].public = false),
            (Source::Objectives, |s| s.objectives[0].measure.clear()),
            (Source::ManagementReview, |s| s.meetings[0].has_minutes = false),
            (Source::ResourceDecision, |s| s.decisions[0].decider_top = Some(false)),
            (Source::LeadershipMessage, |s| s.communications[0].from_top = Some(false)),
            (Source::ManagementStatement, |s| s.policies[1].approver_top = Some(false)),
            (Source::AnsweredAsks, |s| s.asks[0].responded_on = None),
            (Source::ManagersLead, |s| s.leaders[1].trained = false),
            (Source::Raci, |s| s.raci[0].accountable = 2),
            (Source::Appointments, |s| s.appointments.iter_mut().for_each(|a| a.accepted = false)),
            (Source::ConformanceHolder, |s| s.appointments.iter_mut().for_each(|a| a.appointer_top = Some(false))),
            (Source::ReportingHolder, |s| s.appointments[1].person_current = false),
            (Source::AwarenessTraining, |s| s.modules[0].overdue = s.modules[0].audience),
            (Source::TrainingPlan, |s| s.policies[2].version_id = None),
            (Source::DisciplinaryProcess, |s| s.policies[3].approver_top = None),
            (Source::ContractClauses, |s| s.staff.no_clause = 1),
        ];
        assert_eq!(breakers.len(), Source::ALL.len(), "every kind has a breaker");
        for (source, brk) in breakers {
            let mut broken = s.clone();
            brk(&mut broken);
            assert_eq!(of_source(&broken, source), None, "{source:?}");
        }
    }

    /// docs/RULES.md lists every kind of record, and the catalogue names
    /// only kinds that exist (serde refuses others) and uses every one.
    #[test]
    fn every_kind_of_record_is_documented_and_used() {
        let doc = include_str!("../../docs/RULES.md");
        let section = &doc[doc.find("## Records as evidence").unwrap()..doc.find("## Settings that grading reads").unwrap()];
        let catalogue = include_str!("../../catalogues/iso27001-2022-leadership.toml");
        for source in Source::ALL {
            assert!(section.contains(&format!("`{}`", source.as_str())), "docs/RULES.md does not describe {source:?}");
            assert!(catalogue.contains(&format!("\"{}\"", source.as_str())), "no requirement counts {source:?}");
        }
    }

    /// A requirement nobody is named for is owned by the holder of the role
    /// carrying the assignment the catalogue names for it.
    #[test]
    fn an_unnamed_owner_is_the_holder_of_the_role_the_catalogue_names() {
        let mut s = healthy();
        s.requirements[0].owner_name = None;
        assert!(keys(&s).contains(&"requirement_without_owner"));
        s.requirements[0].owner_assignment = Some("5.3(b)".into());
        assert_eq!(owner_by_role(&s, &s.requirements[0]).map(|a| a.person_name.as_str()), Some("Person 21"));
        assert!(!keys(&s).contains(&"requirement_without_owner"));
        s.appointments[1].person_current = false;
        assert!(keys(&s).contains(&"requirement_without_owner"), "the holder left: nobody owns it");
    }
}
