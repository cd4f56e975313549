//! The starting set offered to a new organisation: the roles a small or
//! medium-sized company usually needs, and the activities of its RACI
//! matrix with a sensible first split of who does what. Everything can be
//! edited afterwards.
use super::model::Letters;

pub struct StarterRole {
    pub name: &'static str,
    pub responsibilities: &'static str,
    pub authorities: &'static str,
    pub conformance: bool,
    pub reporting: bool,
}

pub const ROLES: [StarterRole; 7] = [
    StarterRole {
        name: "Top-management sponsor",
        responsibilities: "Answers for the ISMS on behalf of top management. Sets the direction and the security objectives with \
the leadership team, chairs the management review, and makes sure the ISMS has the people, time and money it needs.",
        authorities: "Approves the information security policy and the objectives. Approves the ISMS budget and staffing. \
Accepts residual risks above the level other managers may accept. Makes the clause 5.3 appointments.",
        conformance: false,
        reporting: false,
    },
    StarterRole {
        name: "ISMS lead",
        responsibilities: "Runs the ISMS day to day and keeps it in line with ISO/IEC 27001. Coordinates the risk assessment, \
internal audits and corrective actions, keeps the evidence in order, and reports how the ISMS performs to top \
management, at least at every management review.",
        authorities: "Asks any department for the information and records the ISMS needs. Raises nonconformities and sets \
deadlines for corrective actions. Stops or escalates practices that break the security policies. Schedules internal audits.",
        conformance: true,
        reporting: true,
    },
    StarterRole {
        name: "IT manager",
        responsibilities: "Operates the IT systems securely: access control, backups, patching, logging and the technical \
side of incident handling. Keeps the asset inventory up to date.",
        authorities: "Grants and removes system access. Makes emergency changes and isolates systems that may be compromised.",
        conformance: false,
        reporting: false,
    },
    StarterRole {
        name: "HR manager",
        responsibilities: "Screens new staff, makes sure contracts carry the security clause, runs onboarding before access is \
given, keeps awareness training records, runs the disciplinary process and the leaver checklist.",
        authorities: "Holds back system access until onboarding is complete. Starts the disciplinary process.",
        conformance: false,
        reporting: false,
    },
    StarterRole {
        name: "Risk owner",
        responsibilities: "Answers for the risks of their area: agrees the treatment plan, follows it up, and reviews the risks \
when the business changes.",
        authorities: "Approves risk treatment within their area and budget. Accepts residual risk up to the level top \
management has set.",
        conformance: false,
        reporting: false,
    },
    StarterRole {
        name: "Internal auditor",
        responsibilities: "Plans and carries out internal audits of the ISMS without auditing their own work, and reports \
findings to the ISMS lead and top management.",
        authorities: "Sees every record and talks to anyone within the audit scope. Reports directly to top management.",
        conformance: false,
        reporting: false,
    },
    StarterRole {
        name: "Departmental contact",
        responsibilities: "The security point of contact in their department: passes policies and briefings on, collects \
evidence for the ISMS lead, and reports incidents and concerns.",
        authorities: "Asks colleagues in the department for evidence. Escalates concerns to the ISMS lead directly.",
        conformance: false,
        reporting: false,
    },
];

/// Starting activities, each with (starter role name, letters).
pub const ACTIVITIES: [(&str, &[(&str, Letters)]); 7] = [
    (
        "Approve the information security policy",
        &[("Top-management sponsor", Letters::A), ("ISMS lead", Letters::R), ("IT manager", Letters::C), ("HR manager", Letters::C), ("Departmental contact", Letters::I)],
    ),
    (
        "Manage the risk register",
        &[("ISMS lead", Letters::A), ("Risk owner", Letters::R), ("IT manager", Letters::C), ("Top-management sponsor", Letters::I)],
    ),
    (
        "Run internal audits",
        &[("Top-management sponsor", Letters::A), ("Internal auditor", Letters::R), ("ISMS lead", Letters::C), ("Departmental contact", Letters::C)],
    ),
    (
        "Run the management review",
        &[("Top-management sponsor", Letters::A), ("ISMS lead", Letters::R), ("IT manager", Letters::C), ("HR manager", Letters::C), ("Internal auditor", Letters::C), ("Risk owner", Letters::C)],
    ),
    (
        "Tell top management how the ISMS is doing (5.3 b)",
        &[("ISMS lead", Letters::AR), ("Internal auditor", Letters::C), ("Top-management sponsor", Letters::I)],
    ),
    (
        "Keep the ISMS in line with ISO/IEC 27001 (5.3 a)",
        &[("ISMS lead", Letters::AR), ("Internal auditor", Letters::C), ("Top-management sponsor", Letters::I), ("Departmental contact", Letters::I)],
    ),
    (
        "Respond to information security incidents",
        &[("ISMS lead", Letters::A), ("IT manager", Letters::R), ("HR manager", Letters::C), ("Top-management sponsor", Letters::I), ("Departmental contact", Letters::I)],
    ),
];

/// The starting activity that stands for a 5.3 assignment, if any.
pub fn assignment_of(activity: &str) -> Option<super::model::Assignment> {
    match activity {
        "Keep the ISMS in line with ISO/IEC 27001 (5.3 a)" => Some(super::model::Assignment::Conformance),
        "Tell top management how the ISMS is doing (5.3 b)" => Some(super::model::Assignment::Reporting),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starting_set_carries_both_mandatory_assignments() {
        assert!(ROLES.iter().any(|r| r.conformance));
        assert!(ROLES.iter().any(|r| r.reporting));
        assert!(ROLES.iter().all(|r| !r.authorities.is_empty() && !r.responsibilities.is_empty()));
    }

    #[test]
    fn both_assignments_have_a_starting_activity_accountable_to_their_role() {
        for a in super::super::model::Assignment::ALL {
            let (name, cells) = ACTIVITIES.iter().find(|(n, _)| assignment_of(n) == Some(a)).expect("an activity per assignment");
            let (role, _) = cells.iter().find(|(_, l)| l.is_accountable()).unwrap();
            let r = ROLES.iter().find(|r| r.name == *role).unwrap();
            let carries = match a {
                super::super::model::Assignment::Conformance => r.conformance,
                super::super::model::Assignment::Reporting => r.reporting,
            };
            assert!(carries, "{name}: the accountable role {role} carries {}", a.code());
        }
    }

    #[test]
    fn the_starting_matrix_names_known_roles_and_one_a_per_activity() {
        for (activity, cells) in ACTIVITIES {
            assert!(cells.iter().all(|(role, _)| ROLES.iter().any(|r| r.name == *role)), "{activity}");
            assert_eq!(cells.iter().filter(|(_, l)| l.is_accountable()).count(), 1, "{activity}");
        }
    }
}
