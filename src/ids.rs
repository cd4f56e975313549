//! One type per kind of record id, so that a person's id cannot be passed
//! where a policy's is expected, and no query can be written without the
//! organisation it belongs to (`OrgId`). Every id is a UUID underneath:
//! transparent to sqlx (a `uuid` column) and serde (a UUID string).
//!
//! In compile-checked queries, bind `id.0` and read a column back with an
//! override: `select id as "id: PersonId" from people where org_id = $1`.
//!
//! Ids have no `Default`: a default id would be the nil id, and
//! `unwrap_or_default()` where `unwrap_or_else(X::new)` was meant would give
//! new records an id no record may have. A new id is `X::new()`.

/// Declares an id type: `decl_id!(PersonId, "a person");`
macro_rules! decl_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        #[doc = concat!("The id of ", $what, ".")]
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        #[derive(serde::Serialize, serde::Deserialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A fresh random id for a new record.
            #[allow(clippy::new_without_default)] // no Default on purpose: see the module's docs
            pub fn new() -> Self {
                Self(uuid::Uuid::new_v4())
            }
            /// The id no record has: what a malformed id in a path becomes.
            pub const fn nil() -> Self {
                Self(uuid::Uuid::nil())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

decl_id!(OrgId, "an organisation (the tenant every record belongs to)");
decl_id!(UserId, "a user account");
decl_id!(MembershipId, "a membership of an account in an organisation");
decl_id!(InvitationId, "an invitation to join an organisation");
decl_id!(PersonId, "a person on the organisation's register");
decl_id!(ImportId, "an uploaded CSV file, checked and waiting to be applied (people, training or acknowledgements)");
decl_id!(RosterChangeId, "a proposed change to the top-management roster");
decl_id!(RoleId, "an ISMS role");
decl_id!(AppointmentId, "an appointment of a person to a role");
decl_id!(RaciActivityId, "an activity of the RACI matrix");
decl_id!(RequirementId, "a requirement of the catalogue");
decl_id!(EvidenceId, "an evidence item");
decl_id!(RevisionId, "a revision (one uploaded file) of an evidence item");
decl_id!(EvidenceRequestId, "an auditor's evidence request");
decl_id!(PolicyId, "a policy");
decl_id!(VersionId, "a version of a policy");
decl_id!(CampaignId, "an acknowledgement campaign");
decl_id!(AckRequestId, "a request to acknowledge a policy version");
decl_id!(AckId, "an acknowledgement of a policy version");
decl_id!(ModuleId, "a training module");
decl_id!(TrainingRecordId, "a training completion record");
decl_id!(TrainingCampaignId, "a training campaign");
decl_id!(MeetingId, "a management review meeting");
decl_id!(ActionItemId, "an action item of a meeting");
decl_id!(DecisionId, "a resource decision");
decl_id!(CommunicationId, "a leadership communication");
decl_id!(ObjectiveId, "an information security objective");
decl_id!(AskId, "a question asked of top management");
decl_id!(JobId, "a background job (an evidence bundle)");
decl_id!(AddendumId, "an addendum to a final record");
decl_id!(SignupId, "a pending sign-up");
decl_id!(FindingId, "a finding tracked as a corrective action");
decl_id!(ApiTokenId, "a personal access token of the JSON API");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_and_print_as_uuids() {
        let raw = uuid::Uuid::new_v4();
        let id: PersonId = raw.to_string().parse().unwrap();
        assert_eq!(id.0, raw);
        assert_eq!(id.to_string(), raw.to_string());
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{raw}\""));
        assert!("not-an-id".parse::<PolicyId>().is_err());
        assert_ne!(PersonId::new(), PersonId::new());
        assert_eq!(MeetingId::nil().0, uuid::Uuid::nil());
    }
}
