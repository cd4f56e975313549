-- History from before Mandate: a policy version approved on paper on a past
-- day, by a named person, with the scan as its document. It is entered by an
-- account (recorded_by, recorded_at) and never looks like a signature made in
-- Mandate: approved_by (the account that signed in Mandate) stays empty.
ALTER TABLE policy_versions
    ADD COLUMN recorded_by uuid REFERENCES users (id),
    ADD COLUMN recorded_at timestamptz,
    ADD CONSTRAINT policy_versions_paper_or_signed CHECK (recorded_by IS NULL OR approved_by IS NULL),
    ADD CONSTRAINT policy_versions_paper_recorded CHECK ((recorded_by IS NULL) = (recorded_at IS NULL));
