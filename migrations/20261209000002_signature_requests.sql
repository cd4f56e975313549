-- A draft policy version may name the member of top management asked to
-- sign it: the signature task then reaches that leader alone.
ALTER TABLE policy_versions ADD COLUMN signer_requested uuid;
ALTER TABLE policy_versions ADD CONSTRAINT policy_versions_signer_requested_fkey
    FOREIGN KEY (org_id, signer_requested) REFERENCES people (org_id, id);
