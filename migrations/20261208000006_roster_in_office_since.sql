-- History from before Mandate: who was in top management before the
-- roster was kept here. An addition to the roster may state the day the
-- person took office (proposed by an owner and confirmed by a leader like
-- any roster change, or the first leader's set-up); views of past days
-- count them from that day. A removal takes effect when it is decided.
ALTER TABLE roster_changes
    ADD COLUMN in_office_since date,
    ADD CONSTRAINT roster_changes_since_only_for_additions CHECK (in_office_since IS NULL OR change = 'add');

CREATE OR REPLACE FUNCTION top_management_as_of(org uuid, cut timestamptz) RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    SELECT person_id FROM (
        SELECT DISTINCT ON (person_id) person_id, change
          FROM (SELECT person_id, change, proposed_at,
                       CASE WHEN in_office_since IS NOT NULL THEN LEAST(decided_at, in_office_since::timestamptz) ELSE decided_at END AS effective_at
                  FROM roster_changes
                 WHERE org_id = org AND status = 'confirmed') c
         WHERE effective_at < cut
         ORDER BY person_id, effective_at DESC, proposed_at DESC
    ) last WHERE change = 'add'
$$;
