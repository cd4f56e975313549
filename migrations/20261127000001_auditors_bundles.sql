-- Auditor access: an optional window of days (inclusive) outside which a
-- membership gives no access. Set on the invitation, carried to the
-- membership when it is accepted, and changeable by owners and ISMS leads.
ALTER TABLE invitations
    ADD COLUMN access_from  date,
    ADD COLUMN access_until date,
    ADD CONSTRAINT invitations_window_check CHECK (access_from IS NULL OR access_until IS NULL OR access_from <= access_until);
ALTER TABLE memberships
    ADD COLUMN access_from  date,
    ADD COLUMN access_until date,
    ADD CONSTRAINT memberships_window_check CHECK (access_from IS NULL OR access_until IS NULL OR access_from <= access_until);

-- What an auditor asks to see, against a requirement, and how it was answered.
CREATE TABLE evidence_requests (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES organisations (id),
    requirement_id uuid NOT NULL REFERENCES requirements (id),
    question       text NOT NULL CHECK (length(btrim(question)) BETWEEN 1 AND 2000),
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
    asked_by       uuid NOT NULL REFERENCES users (id),
    asked_at       timestamptz NOT NULL,
    answer         text NOT NULL DEFAULT '' CHECK (length(answer) <= 4000),
    answered_by    uuid REFERENCES users (id),
    answered_at    timestamptz,
    closed_by      uuid REFERENCES users (id),
    closed_at      timestamptz,
    UNIQUE (org_id, id)
);
CREATE INDEX evidence_requests_org_idx ON evidence_requests (org_id, status, asked_at DESC);
CREATE INDEX evidence_requests_requirement_idx ON evidence_requests (org_id, requirement_id);

-- Background work recorded in PostgreSQL: any app process claims a queued
-- job (FOR UPDATE SKIP LOCKED), keeps a heartbeat while it works, and a job
-- whose heartbeat stopped (its process died) is claimed again and restarted.
CREATE TABLE jobs (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES organisations (id),
    kind           text NOT NULL CHECK (kind IN ('evidence_bundle')),
    params         jsonb NOT NULL,
    requested_by   uuid REFERENCES users (id),
    requested_at   timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts       integer NOT NULL DEFAULT 0,
    worker         text,
    heartbeat_at   timestamptz,
    progress_done  bigint NOT NULL DEFAULT 0,
    progress_total bigint NOT NULL DEFAULT 0,
    progress_note  text NOT NULL DEFAULT '',
    result_key     text,
    result_size    bigint,
    result_sha256  bytea,
    manifest_sha256 bytea,
    error          text,
    finished_at    timestamptz,
    UNIQUE (org_id, id)
);
CREATE INDEX jobs_org_idx ON jobs (org_id, requested_at DESC);
CREATE INDEX jobs_pending_idx ON jobs (requested_at) WHERE status IN ('queued', 'running');
