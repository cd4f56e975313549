//! Who may do what: the one place where roles meet actions.
//! Every route declares its [`Access`] where it is added (`web::routes`),
//! and the route itself enforces it before the handler runs; handlers ask
//! only the finer questions (`may_edit_evidence`, the person asked, …).
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    IsmsLead,
    Executive,
    Contributor,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Owner, Role::IsmsLead, Role::Executive, Role::Contributor, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::IsmsLead => "isms_lead",
            Role::Executive => "executive",
            Role::Contributor => "contributor",
            Role::Auditor => "auditor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::IsmsLead => "ISMS lead",
            Role::Executive => "Executive",
            Role::Contributor => "Contributor",
            Role::Auditor => "Auditor",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Role::Owner => "Administers the organisation: members, roles and everything an ISMS lead can do.",
            Role::IsmsLead => "Keeps the register of owners, evidence, policies, roles and meetings; invites colleagues.",
            Role::Executive => "Top management: reads the leadership dashboard, signs, appoints, approves and chairs.",
            Role::Contributor => "Uploads evidence and updates the items they own.",
            Role::Auditor => "Read-only access to requirements, owners and evidence.",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role: {s}"))
    }
}

/// Stored as text in `memberships.role` (CHECK constraint): read it with
/// `role as "role: Role"` in a compile-checked query, bind `role.as_str()`.
impl sqlx::Type<sqlx::Postgres> for Role {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <&str as sqlx::Type<sqlx::Postgres>>::type_info()
    }
    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Postgres> for Role {
    fn encode_by_ref(&self, buf: &mut sqlx::postgres::PgArgumentBuffer) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Role {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let s = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Ok(s.parse::<Role>()?)
    }
}

/// What a route demands before its handler runs, declared beside the route
/// (`routes.get("/people", Can(ViewPeople), list_page)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not: sign-in pages, health checks, and links
    /// that carry their own secret token.
    Public,
    /// A signed-in account, with or without an organisation selected.
    SignedIn,
    /// An active member of the selected organisation, in any role; the
    /// handler decides the rest (only the person asked answers an ask).
    Member,
    /// A member whose role allows the action.
    Can(Action),
    /// The JSON API: a personal access token (never a cookie) of a member
    /// whose role allows the action, with the scope the route needs. A
    /// token acts as its member, never more.
    Token(Action, Scope),
}

/// What a personal access token may be used for (`api_tokens.scopes`):
/// reading everything its member may read, or writing one area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "people:write")]
    WritePeople,
    #[serde(rename = "training:write")]
    WriteTraining,
    #[serde(rename = "evidence:write")]
    WriteEvidence,
    #[serde(rename = "acknowledgements:write")]
    WriteAcknowledgements,
    #[serde(rename = "findings:write")]
    WriteFindings,
}

impl Scope {
    pub const ALL: [Scope; 6] = [Scope::Read, Scope::WritePeople, Scope::WriteTraining, Scope::WriteEvidence, Scope::WriteAcknowledgements, Scope::WriteFindings];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::WritePeople => "people:write",
            Scope::WriteTraining => "training:write",
            Scope::WriteEvidence => "evidence:write",
            Scope::WriteAcknowledgements => "acknowledgements:write",
            Scope::WriteFindings => "findings:write",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scope::Read => "Read everything the member can read",
            Scope::WritePeople => "Write people (the directory, HR sync)",
            Scope::WriteTraining => "Write training records (LMS sync)",
            Scope::WriteEvidence => "Upload evidence",
            Scope::WriteAcknowledgements => "Import policy acknowledgements",
            Scope::WriteFindings => "Write corrective actions",
        }
    }

    /// The scope in a few words, for lists.
    pub fn short(self) -> &'static str {
        match self {
            Scope::Read => "reads everything",
            Scope::WritePeople => "writes people",
            Scope::WriteTraining => "writes training records",
            Scope::WriteEvidence => "uploads evidence",
            Scope::WriteAcknowledgements => "imports acknowledgements",
            Scope::WriteFindings => "writes corrective actions",
        }
    }

    /// The action a member's role must allow for the scope to be worth
    /// giving: a token never carries a scope its member could not use.
    pub fn needs(self) -> Action {
        match self {
            Scope::Read => Action::ViewHome,
            Scope::WritePeople => Action::ManagePeople,
            Scope::WriteTraining => Action::ManageTraining,
            Scope::WriteEvidence => Action::UploadEvidence,
            Scope::WriteAcknowledgements => Action::ManagePolicies,
            Scope::WriteFindings => Action::ViewGaps,
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| format!("unknown scope: {s}"))
    }
}

/// The scopes a member in `role` may give a token: those whose area the
/// role may act in (auditors read only).
pub fn scopes_for(role: Role) -> Vec<Scope> {
    Scope::ALL.into_iter().filter(|s| allows(role, s.needs()) && (*s == Scope::Read || role != Role::Auditor)).collect()
}

/// Everything a member can try to do inside an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ViewHome,
    ViewMembers,
    InviteMember,
    RevokeInvitation,
    /// Set the days in which an auditor has access.
    SetAccessWindow,
    ChangeMemberRole,
    DisableMember,
    ViewAuditLog,
    ViewRequirements,
    /// Applicability, owner, status and notes of any requirement.
    EditRequirements,
    ViewPeople,
    /// Add, edit, import people and mark leavers.
    ManagePeople,
    ViewRoles,
    /// Define ISMS roles, record appointments, edit the RACI matrix.
    ManageRoles,
    ViewEvidence,
    /// Add evidence, and revise and link the items one owns or added.
    UploadEvidence,
    /// Revise and link any evidence item.
    ManageEvidence,
    ViewPolicies,
    /// Create policies and drafts, run acknowledgement campaigns.
    ManagePolicies,
    /// Sign (approve) a policy version: what only executives do.
    SignPolicies,
    ViewTraining,
    /// Define modules, record and import completions.
    ManageTraining,
    ViewLeadership,
    /// Record meetings, actions, decisions, communications, objectives and asks.
    ManageLeadership,
    /// The gap list and the leadership dashboard, as of any date.
    ViewGaps,
    ViewEvidenceRequests,
    /// Ask for evidence against a requirement, and close or reopen the request.
    RaiseEvidenceRequests,
    /// Answer an auditor's request with a note and linked evidence.
    AnswerEvidenceRequests,
    /// Make and download evidence bundles (everything, as of a date).
    ExportBundles,
    /// Propose adding someone to, or removing them from, the top-management
    /// roster. It takes effect only when a leader confirms (see
    /// `may_decide_roster_change`).
    ProposeRosterChange,
    /// Read the security log (sign-ins, failures, lock-outs, role, roster and invitation changes).
    ViewSecurityLog,
    /// Change how findings are graded (the widespread share, the grace periods).
    ChangeSettings,
    /// Set any finding's owner, due date, cause and action taken (a
    /// finding's owner writes theirs too: `may_edit_finding`).
    ManageFindings,
    /// Set the organisation's sign-in rules: a second factor required, how
    /// recent a proof sensitive changes need.
    SetSignInRules,
    /// Read the outbox: the digests and reminders written to members (held
    /// there when no mail server is configured).
    ReadOutbox,
    /// Make personal access tokens for integrations (an HR or training
    /// system), acting as oneself, and revoke anyone's.
    ManageIntegrations,
}

/// The role x action table.
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        ViewHome | ViewMembers | ViewRequirements | ViewPeople | ViewRoles | ViewEvidence | ViewPolicies | ViewTraining | ViewLeadership | ViewGaps
        | ViewEvidenceRequests => true,
        // The one thing an auditor writes: what they want to see.
        RaiseEvidenceRequests => matches!(role, Owner | IsmsLead | Auditor),
        AnswerEvidenceRequests => matches!(role, Owner | IsmsLead),
        ExportBundles => matches!(role, Owner | IsmsLead | Auditor),
        SignPolicies => matches!(role, Owner | Executive),
        UploadEvidence => role != Auditor,
        InviteMember | RevokeInvitation | SetAccessWindow | ViewAuditLog | ChangeSettings => matches!(role, Owner | IsmsLead),
        EditRequirements | ManagePeople | ManageRoles | ManageEvidence | ManagePolicies | ManageTraining | ManageLeadership | ManageFindings => {
            matches!(role, Owner | IsmsLead)
        }
        ChangeMemberRole | DisableMember | ProposeRosterChange | ViewSecurityLog | ReadOutbox | SetSignInRules | ManageIntegrations => role == Owner,
    }
}

/// The roles an organisation's "require a second factor" applies to: those
/// who administer, keep the register, or sign for the organisation.
pub fn needs_second_factor(role: Role) -> bool {
    matches!(role, Role::Owner | Role::IsmsLead | Role::Executive)
}

/// Contributors update the requirements they own; owners and ISMS leads any.
pub fn may_edit_requirement(role: Role, owns_it: bool) -> bool {
    allows(role, Action::EditRequirements) || (role == Role::Contributor && owns_it)
}

/// Owners and ISMS leads change any evidence; other uploaders what they own or added.
pub fn may_edit_evidence(role: Role, theirs: bool) -> bool {
    allows(role, Action::ManageEvidence) || (allows(role, Action::UploadEvidence) && theirs)
}

/// Acts only a named person can take for themselves, signed in as that
/// person: an appointer confirming their appointment, a holder accepting a
/// role. Auditors change nothing, even about themselves.
pub fn may_act_as_person(role: Role, is_that_person: bool) -> bool {
    is_that_person && role != Role::Auditor
}

/// Recording a leader's signature given on paper before Mandate (a policy
/// approval, minutes signed off): a member of top management vouches for
/// it, signed in as themselves; nobody else makes a record count as signed
/// by top management.
pub fn may_record_paper_signature(role: Role, is_top_management: bool) -> bool {
    may_act_as_person(role, is_top_management)
}

/// Recording that a role holder accepted their appointment on paper: those
/// who record appointments (owners, ISMS leads) or a member of top
/// management; when the holder is in top management, it is a leader's
/// signature, recorded only as `may_record_paper_signature` says.
pub fn may_record_paper_acceptance(role: Role, is_top_management: bool, holder_is_top_management: bool) -> bool {
    may_record_paper_signature(role, is_top_management) || (!holder_is_top_management && allows(role, Action::ManageRoles))
}

/// Owners and ISMS leads write any corrective action; the member who owns
/// one writes its cause and action taken (auditors never).
pub fn may_edit_finding(role: Role, owns_it: bool) -> bool {
    allows(role, Action::ManageFindings) || may_act_as_person(role, owns_it)
}

/// Accepting a finding as a risk (or ending that acceptance) is top
/// management's decision alone: a member of the top-management roster,
/// signed in as themselves, in a role that signs for the organisation.
/// An ISMS lead or an owner outside the roster cannot accept in a leader's name.
pub fn may_accept_risk(role: Role, is_top_management: bool) -> bool {
    allows(role, Action::SignPolicies) && may_act_as_person(role, is_top_management)
}

/// Linking evidence to a record: answering an auditor's request is for
/// those who answer requests; any other record takes what editing the item takes.
pub fn may_link_to(role: Role, kind_is_request: bool) -> bool {
    !kind_is_request || allows(role, Action::AnswerEvidenceRequests)
}

/// Closing or reopening an evidence request is the asker's verdict: the
/// one who raised it, or an auditor of the organisation.
pub fn may_close_request(role: Role, raised_it: bool) -> bool {
    allows(role, Action::RaiseEvidenceRequests) && (raised_it || role == Role::Auditor)
}

/// A signed record that takes addenda.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedRecord {
    /// A meeting whose minutes the chair signed off.
    Meeting,
    /// A policy version an executive signed.
    PolicyVersion,
}

/// Who may add an addendum (a dated, attributed correction) to a signed
/// record: those who keep such records (owners and ISMS leads), and the
/// one who signed it (the chair, the signer), acting as themselves.
/// Auditors never.
pub fn may_add_addendum(role: Role, record: SignedRecord, signed_it: bool) -> bool {
    let keeps_them = match record {
        SignedRecord::Meeting => allows(role, Action::ManageLeadership),
        SignedRecord::PolicyVersion => allows(role, Action::ManagePolicies),
    };
    keeps_them || may_act_as_person(role, signed_it)
}

/// Which roles `actor` may hand out in an invitation: only owners grant
/// the owner and executive roles; ISMS leads bring in contributors and auditors.
pub fn may_grant(actor: Role, target: Role) -> bool {
    match actor {
        Role::Owner => true,
        Role::IsmsLead => matches!(target, Role::Contributor | Role::Auditor),
        _ => false,
    }
}

/// Who may confirm or refuse a proposed change to the top-management roster.
/// `decider_leads`: the deciding account acts for someone on the roster.
/// `other_leaders`: someone other than the proposer acts as top management.
/// `decider_is_subject`: the deciding account is the one the change names.
///
/// A leader other than the proposer decides; where the proposer is the only
/// leader, the person the change names decides with their own account.
/// Nobody decides their own proposal, and auditors decide nothing.
pub fn may_decide_roster_change(role: Role, decider_is_proposer: bool, decider_leads: bool, other_leaders: bool, decider_is_subject: bool) -> bool {
    if role == Role::Auditor || decider_is_proposer {
        return false;
    }
    decider_leads || (!other_leaders && decider_is_subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_top_management_accepts_a_risk() {
        for role in Role::ALL {
            assert!(!may_accept_risk(role, false), "{role:?} outside the roster");
        }
        assert!(may_accept_risk(Role::Executive, true));
        assert!(may_accept_risk(Role::Owner, true));
        assert!(!may_accept_risk(Role::IsmsLead, true), "an ISMS lead does not sign for the organisation");
        assert!(!may_accept_risk(Role::Auditor, true));
    }

    #[test]
    fn a_findings_owner_writes_it_and_auditors_never() {
        assert!(may_edit_finding(Role::Contributor, true));
        assert!(!may_edit_finding(Role::Contributor, false));
        assert!(may_edit_finding(Role::IsmsLead, false));
        assert!(!may_edit_finding(Role::Auditor, true));
    }

    #[test]
    fn only_top_management_vouches_for_a_leaders_paper_signature() {
        for role in Role::ALL {
            // A member of top management, signed in as themselves, whatever their membership (an auditor never acts).
            assert_eq!(may_record_paper_signature(role, true), role != Role::Auditor, "{role:?}");
            assert!(!may_record_paper_signature(role, false), "{role:?} outside top management");
            // A holder's acceptance on paper: also those who record appointments, unless the holder is a leader.
            assert_eq!(may_record_paper_acceptance(role, false, false), matches!(role, Role::Owner | Role::IsmsLead), "{role:?}");
            assert!(!may_record_paper_acceptance(role, false, true), "{role:?} for a leader's acceptance");
            assert_eq!(may_record_paper_acceptance(role, true, true), role != Role::Auditor, "{role:?}");
        }
    }

    #[test]
    fn only_owners_manage_members() {
        for role in Role::ALL {
            assert_eq!(allows(role, Action::ChangeMemberRole), role == Role::Owner);
            assert_eq!(allows(role, Action::DisableMember), role == Role::Owner);
        }
    }

    #[test]
    fn auditors_change_nothing() {
        for action in [
            Action::EditRequirements,
            Action::ManagePeople,
            Action::ManageRoles,
            Action::InviteMember,
            Action::UploadEvidence,
            Action::ManagePolicies,
            Action::SignPolicies,
            Action::ManageTraining,
            Action::ManageLeadership,
            Action::SetAccessWindow,
            Action::AnswerEvidenceRequests,
        ] {
            assert!(!allows(Role::Auditor, action), "{action:?}");
        }
        // The one thing they write: what they want to see.
        assert!(allows(Role::Auditor, Action::RaiseEvidenceRequests));
        assert!(!may_edit_requirement(Role::Auditor, true));
        assert!(!may_act_as_person(Role::Auditor, true));
        assert!(!may_edit_evidence(Role::Auditor, true));
    }

    #[test]
    fn the_asker_closes_requests_and_the_isms_side_answers_them() {
        assert!(may_close_request(Role::Auditor, false), "any auditor of the organisation");
        assert!(may_close_request(Role::IsmsLead, true), "an ISMS lead who asked");
        assert!(!may_close_request(Role::IsmsLead, false), "not the one who answers");
        assert!(!may_close_request(Role::Contributor, true));
        assert!(may_link_to(Role::Contributor, false));
        assert!(!may_link_to(Role::Contributor, true));
        assert!(!may_link_to(Role::Auditor, true));
        assert!(may_link_to(Role::IsmsLead, true));
    }

    #[test]
    fn only_executives_and_owners_sign() {
        for role in Role::ALL {
            assert_eq!(allows(role, Action::SignPolicies), matches!(role, Role::Executive | Role::Owner), "{role:?}");
        }
    }

    #[test]
    fn contributors_edit_only_what_they_own() {
        assert!(may_edit_requirement(Role::Contributor, true));
        assert!(!may_edit_requirement(Role::Contributor, false));
        assert!(may_edit_requirement(Role::IsmsLead, false));
        assert!(!may_edit_requirement(Role::Executive, false));
    }

    #[test]
    fn only_owners_touch_the_roster_and_grant_leadership_roles() {
        for role in Role::ALL {
            assert_eq!(allows(role, Action::ProposeRosterChange), role == Role::Owner, "{role:?}");
            assert_eq!(allows(role, Action::ViewSecurityLog), role == Role::Owner, "{role:?}");
        }
        assert!(!may_grant(Role::IsmsLead, Role::Executive), "an ISMS lead cannot invite top management");
        assert!(may_grant(Role::IsmsLead, Role::Contributor));
        assert!(may_grant(Role::Owner, Role::Executive));
    }

    #[test]
    fn roster_changes_are_decided_by_another_leader_or_the_named_person() {
        // A leader other than the proposer.
        assert!(may_decide_roster_change(Role::Executive, false, true, true, false));
        // Never one's own proposal, even as a leader.
        assert!(!may_decide_roster_change(Role::Owner, true, true, true, false));
        assert!(!may_decide_roster_change(Role::Owner, true, true, false, true));
        // A non-leader who is not the person named.
        assert!(!may_decide_roster_change(Role::IsmsLead, false, false, true, false));
        assert!(!may_decide_roster_change(Role::IsmsLead, false, false, false, false));
        // The person named decides only when the proposer is the only leader.
        assert!(may_decide_roster_change(Role::Executive, false, false, false, true));
        assert!(!may_decide_roster_change(Role::Executive, false, false, true, true));
        // Auditors decide nothing.
        assert!(!may_decide_roster_change(Role::Auditor, false, true, true, true));
    }

    #[test]
    fn addenda_come_from_the_record_keepers_and_the_signer() {
        for record in [SignedRecord::Meeting, SignedRecord::PolicyVersion] {
            for role in [Role::Owner, Role::IsmsLead] {
                assert!(may_add_addendum(role, record, false), "{role:?} keeps {record:?}s");
            }
            // The chair or signer, whatever their role, as themselves.
            assert!(may_add_addendum(Role::Executive, record, true));
            assert!(may_add_addendum(Role::Contributor, record, true));
            // Anyone else is not.
            assert!(!may_add_addendum(Role::Executive, record, false));
            assert!(!may_add_addendum(Role::Contributor, record, false));
            // Auditors add nothing, even to what they signed.
            assert!(!may_add_addendum(Role::Auditor, record, false));
            assert!(!may_add_addendum(Role::Auditor, record, true));
        }
    }

    #[test]
    fn isms_leads_cannot_make_owners() {
        assert!(!may_grant(Role::IsmsLead, Role::Owner));
        assert!(may_grant(Role::IsmsLead, Role::Auditor));
        assert!(may_grant(Role::Owner, Role::Owner));
        assert!(!may_grant(Role::Executive, Role::Contributor));
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("admin".parse::<Role>().is_err());
    }
}
