-- History from before Mandate: management review minutes signed off on
-- paper. The chair's sign-off is recorded with its own day by a member of
-- top management signed in as themselves (signed_off_recorded_by, _at),
-- and never looks like a sign-off made in Mandate: signed_off_by (the
-- account that signed in Mandate) stays empty.
ALTER TABLE meetings
    ADD COLUMN signed_off_recorded_by uuid REFERENCES users (id),
    ADD COLUMN signed_off_recorded_at timestamptz,
    ADD CONSTRAINT meetings_paper_or_signed CHECK (signed_off_recorded_by IS NULL OR signed_off_by IS NULL),
    ADD CONSTRAINT meetings_paper_recorded CHECK ((signed_off_recorded_by IS NULL) = (signed_off_recorded_at IS NULL));

-- The meetings as they are known to have stood at `cut`: as `meetings_on`
-- reads them, except those whose minutes were signed off on paper, which
-- read as recorded. Such a record is final from its sign-off and describes
-- the past (held on its day, minutes signed on theirs, created no later
-- than the meeting), so its own dates decide what counts on each day.
CREATE FUNCTION meetings_known_on(org uuid, cut timestamptz) RETURNS SETOF meetings
LANGUAGE sql STABLE AS $$
    SELECT m.* FROM meetings_on(org, cut) m
     WHERE NOT EXISTS (SELECT 1 FROM meetings p WHERE p.org_id = org AND p.id = m.id AND p.signed_off_recorded_at IS NOT NULL)
    UNION ALL
    SELECT p.* FROM meetings p WHERE p.org_id = org AND p.signed_off_recorded_at IS NOT NULL
$$;
