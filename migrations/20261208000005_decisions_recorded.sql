-- History from before Mandate: resource decisions taken before they were
-- entered (from old minutes, e-mails, budget papers). Each keeps the
-- account that entered it and when; one entered with past dates counts
-- from the day it was asked for (or decided), as views of past days show.
ALTER TABLE resource_decisions
    ADD COLUMN recorded_by uuid REFERENCES users (id),
    ADD COLUMN recorded_at timestamptz;
SELECT set_config('mandate.history', 'off', true);
UPDATE resource_decisions SET recorded_at = created_at;
ALTER TABLE resource_decisions ALTER COLUMN recorded_at SET NOT NULL;
