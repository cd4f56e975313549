//! The kinds of Mandate record a catalogue can name as evidence of a
//! requirement (`records` in catalogues/*.toml). Where each is found, and
//! when it counts, is `gaps::derived`.

crate::text_enum! {
    /// A kind of record that can count as evidence of a requirement.
    pub enum Source {
        IsPolicy = "is_policy" => "Information security policy signed by top management",
        PolicyPurpose = "policy_purpose" => "The signed policy shows how it suits the organisation (5.2(a))",
        PolicyObjectives = "policy_objectives" => "The signed policy sets objectives or how they are set (5.2(b))",
        PolicyObligations = "policy_obligations" => "The signed policy commits to meeting requirements (5.2(c))",
        PolicyImprovement = "policy_improvement" => "The signed policy commits to continual improvement (5.2(d))",
        PolicyAcknowledged = "policy_acknowledged" => "Acknowledgements of the information security policy",
        PolicyPublic = "policy_public" => "The information security policy's public page",
        Objectives = "objectives" => "Security objectives with a measure and an owner",
        ManagementReview = "management_review" => "A management review held with top management, with minutes",
        ResourceDecision = "resource_decision" => "A resource decision by top management",
        LeadershipMessage = "leadership_message" => "A message from top management to staff",
        ManagementStatement = "management_statement" => "Management's statement, signed by top management",
        AnsweredAsks = "answered_asks" => "Asks to top management that were answered",
        ManagersLead = "managers_lead" => "Line managers who do what they require of their staff",
        Raci = "raci" => "The RACI matrix, one accountable role per activity",
        Appointments = "appointments" => "Roles appointed by top management and accepted by their holders",
        ConformanceHolder = "conformance_holder" => "An accepted appointment to the role carrying 5.3(a)",
        ReportingHolder = "reporting_holder" => "An accepted appointment to the role carrying 5.3(b)",
        AwarenessTraining = "awareness_training" => "Awareness training completions",
        TrainingPlan = "training_plan" => "An approved training plan",
        DisciplinaryProcess = "disciplinary_process" => "A signed disciplinary process",
        ContractClauses = "contract_clauses" => "Every contract carries the security clause",
    }
}
