-- The top-management roster: who counts as top management changes only
-- through an owner's proposal and a leader's confirmation (or, in an
-- organisation with no leader yet, the owner's recorded bootstrap).
-- Every change is kept, so "who was top management on that day" has an answer.

-- The account confirmed to act for a top-management person. A person's
-- account link alone is not enough to act as top management: the roster
-- confirmation names the account too.
ALTER TABLE people ADD COLUMN leader_account_id uuid REFERENCES users (id);
-- The account that acts as this person: their linked account, unless they
-- are top management and the roster confirmed another (or none). Every
-- "as oneself" act (sign, confirm, accept, answer, sign off) matches on this.
ALTER TABLE people ADD COLUMN acting_user_id uuid
    GENERATED ALWAYS AS (CASE WHEN NOT top_management OR leader_account_id = user_id THEN user_id END) STORED;
CREATE INDEX people_acting_user_idx ON people (org_id, acting_user_id) WHERE acting_user_id IS NOT NULL;

CREATE TABLE roster_changes (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES organisations (id),
    person_id       uuid NOT NULL,
    change          text NOT NULL CHECK (change IN ('add', 'remove')),
    -- For an addition: the account that will act for the person (their
    -- linked account when proposed); none if they have no account yet.
    account_id      uuid REFERENCES users (id),
    reason          text NOT NULL DEFAULT '',
    proposed_by     uuid REFERENCES users (id),
    proposed_at     timestamptz NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'confirmed', 'refused', 'withdrawn')),
    -- Who decided, with which account, as which person (if any).
    decided_by      uuid REFERENCES users (id),
    decided_as      uuid,
    decided_at      timestamptz,
    -- Taken into effect without a leader's confirmation: the organisation had no leader yet.
    bootstrap       boolean NOT NULL DEFAULT false,
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, decided_as) REFERENCES people (org_id, id),
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK (NOT bootstrap OR status = 'confirmed')
);
CREATE INDEX roster_changes_org_idx ON roster_changes (org_id, proposed_at DESC);
CREATE INDEX roster_changes_person_idx ON roster_changes (org_id, person_id, decided_at);
-- One open proposal per person at a time.
CREATE UNIQUE INDEX roster_changes_one_pending ON roster_changes (org_id, person_id) WHERE status = 'pending';

-- Decisions are final: a decided change is never edited or removed.
CREATE FUNCTION roster_changes_are_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'roster change % is decided and cannot change', OLD.id;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER roster_changes_final
    BEFORE UPDATE OR DELETE ON roster_changes
    FOR EACH ROW EXECUTE FUNCTION roster_changes_are_final();

-- Who was top management at the end of `cut`: the people whose last
-- confirmed change by then was an addition.
CREATE FUNCTION top_management_as_of(org uuid, cut timestamptz) RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    SELECT person_id FROM (
        SELECT DISTINCT ON (person_id) person_id, change
          FROM roster_changes
         WHERE org_id = org AND status = 'confirmed' AND decided_at < cut
         ORDER BY person_id, decided_at DESC, proposed_at DESC
    ) last WHERE change = 'add'
$$;

-- People flagged before the roster existed: recorded as a bootstrap on the
-- day they were added, acting with the account they were linked to.
INSERT INTO roster_changes (id, org_id, person_id, change, account_id, reason, proposed_by, proposed_at, status,
                            decided_by, decided_at, bootstrap)
SELECT gen_random_uuid(), p.org_id, p.id, 'add', p.user_id, 'Recorded as top management before the roster existed.', NULL,
       p.created_at, 'confirmed', NULL, p.created_at, true
  FROM people p WHERE p.top_management;
UPDATE people SET leader_account_id = user_id WHERE top_management;
