-- A RACI activity may stand for one of the two assignments clause 5.3
-- makes mandatory; the role accountable for it must then be a role that
-- carries that assignment (the gap list checks). One activity per
-- assignment at a time.
ALTER TABLE raci_activities ADD COLUMN assignment text CHECK (assignment IN ('5.3(a)', '5.3(b)'));
CREATE UNIQUE INDEX raci_activities_assignment_key ON raci_activities (org_id, assignment) WHERE assignment IS NOT NULL AND retired_at IS NULL;
