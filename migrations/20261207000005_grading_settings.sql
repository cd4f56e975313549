-- How the organisation wants findings graded (docs/RULES.md): from what share
-- of the people concerned a lapse counts as widespread (and is a major
-- nonconformity rather than a minor one), and the grace periods before a
-- missing acknowledgement of a fresh version, missing minutes after a
-- meeting, or a starter's late acknowledgement count as findings.
ALTER TABLE organisations
    ADD COLUMN widespread_percent    integer NOT NULL DEFAULT 50 CHECK (widespread_percent BETWEEN 1 AND 100),
    ADD COLUMN ack_grace_days        integer NOT NULL DEFAULT 30 CHECK (ack_grace_days BETWEEN 0 AND 180),
    ADD COLUMN minutes_grace_days    integer NOT NULL DEFAULT 30 CHECK (minutes_grace_days BETWEEN 0 AND 180),
    ADD COLUMN onboarding_grace_days integer NOT NULL DEFAULT 3 CHECK (onboarding_grace_days BETWEEN 0 AND 60);
