-- The JSON API (issue 24): personal access tokens, and the ids HR and
-- training systems know their records by.

-- A token acts as the member who holds it (never more), limited to its
-- scopes. Only the SHA-256 of the secret is kept; the secret is shown once.
CREATE TABLE api_tokens (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES organisations (id),
    -- The member it acts as, and the account that made it (the same
    -- person, or an owner who made an integration token acting as themselves).
    membership_id   uuid NOT NULL REFERENCES memberships (id),
    created_by      uuid NOT NULL REFERENCES users (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- An integration's token (an HR or training system), made by an owner
    -- and listed to every owner; otherwise a member's own.
    integration     boolean NOT NULL DEFAULT false,
    scopes          text[] NOT NULL CHECK (cardinality(scopes) >= 1 AND scopes <@ ARRAY[
                        'read', 'people:write', 'training:write', 'evidence:write',
                        'acknowledgements:write', 'findings:write']::text[]),
    secret_hash     bytea NOT NULL UNIQUE,
    -- The first characters of the secret, shown in lists to tell tokens apart.
    prefix          text NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    last_used_at    timestamptz,
    last_used_from  text,
    revoked_at      timestamptz,
    revoked_by      uuid REFERENCES users (id),
    -- The rate limit: requests counted in the current minute.
    window_start    timestamptz,
    window_count    integer NOT NULL DEFAULT 0,
    CHECK (expires_at > created_at)
);
CREATE INDEX api_tokens_org_idx ON api_tokens (org_id, created_at);
CREATE INDEX api_tokens_membership_idx ON api_tokens (membership_id);

-- People as an HR system knows them; training records as the LMS does.
ALTER TABLE people ADD COLUMN external_id text CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX people_external_id_idx ON people (org_id, external_id) WHERE external_id IS NOT NULL;
ALTER TABLE training_records ADD COLUMN external_id text CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX training_records_external_id_idx ON training_records (org_id, external_id) WHERE external_id IS NOT NULL;

-- Lists the API pages through by (updated_at, id).
CREATE INDEX people_updated_idx ON people (org_id, updated_at, id);
CREATE INDEX training_records_recorded_idx ON training_records (org_id, recorded_at, id);
CREATE INDEX findings_updated_idx ON findings (org_id, updated_at, id);
CREATE INDEX evidence_items_updated_idx ON evidence_items (org_id, updated_at, id);
