-- History from before Mandate: appointments made with a letter on paper.
-- The appointer's signature on the letter (their confirmation) is recorded
-- by a member of top management signed in as themselves; the holder's
-- countersignature (their acceptance) by an owner or ISMS lead, or, for a
-- holder in top management, by a member of top management. Each keeps the
-- account that recorded it and when, and never looks like an act made in
-- Mandate: confirmed_by and accepted_by (the accounts that acted in
-- Mandate) stay empty, and the acceptance says it came on paper.
ALTER TABLE role_appointments
    ADD COLUMN confirmed_recorded_by uuid REFERENCES users (id),
    ADD COLUMN confirmed_recorded_at timestamptz,
    ADD COLUMN accepted_recorded_by uuid REFERENCES users (id),
    ADD COLUMN accepted_recorded_at timestamptz,
    DROP CONSTRAINT role_appointments_accepted_via_check,
    ADD CONSTRAINT role_appointments_accepted_via_check CHECK (accepted_via IN ('signed_in', 'link', 'paper')),
    ADD CONSTRAINT role_appointments_confirmed_paper CHECK (
        (confirmed_recorded_by IS NULL) = (confirmed_recorded_at IS NULL) AND (confirmed_recorded_by IS NULL OR confirmed_by IS NULL)),
    ADD CONSTRAINT role_appointments_accepted_paper CHECK (
        (accepted_recorded_by IS NULL) = (accepted_recorded_at IS NULL)
        AND (accepted_recorded_by IS NULL OR (accepted_by IS NULL AND accepted_via = 'paper'))
        AND (accepted_via IS DISTINCT FROM 'paper' OR accepted_recorded_by IS NOT NULL));

-- The appointments as they are known to have stood at `cut`: as
-- `role_appointments_on` reads them, except those with a paper record,
-- which read as recorded: the letter's dates decide what counted when.
CREATE FUNCTION role_appointments_known_on(org uuid, cut timestamptz) RETURNS SETOF role_appointments
LANGUAGE sql STABLE AS $$
    SELECT a.* FROM role_appointments_on(org, cut) a
     WHERE NOT EXISTS (SELECT 1 FROM role_appointments p WHERE p.org_id = org AND p.id = a.id
                          AND (p.confirmed_recorded_at IS NOT NULL OR p.accepted_recorded_at IS NOT NULL))
    UNION ALL
    SELECT p.* FROM role_appointments p
     WHERE p.org_id = org AND (p.confirmed_recorded_at IS NOT NULL OR p.accepted_recorded_at IS NOT NULL)
$$;
