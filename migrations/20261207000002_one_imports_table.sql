-- One table for every CSV import (people, training completions, policy
-- acknowledgements): an uploaded file's checked rows and its problems, kept
-- until the file is applied (once). The two tables it replaces are moved
-- into it as they are.
CREATE TABLE imports (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organisations (id),
    kind        text NOT NULL CHECK (kind IN ('people', 'training', 'acknowledgements')),
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL,
    filename    text NOT NULL,
    file_sha256 bytea NOT NULL,
    -- The known columns the file has: columns it lacks are left alone on apply.
    columns     text[] NOT NULL DEFAULT '{}',
    rows        jsonb NOT NULL,
    problems    jsonb NOT NULL,
    applied_at  timestamptz,
    summary     jsonb,
    UNIQUE (org_id, id)
);
CREATE INDEX imports_org_idx ON imports (org_id, kind, created_at DESC);

INSERT INTO imports (id, org_id, kind, created_by, created_at, filename, file_sha256, columns, rows, problems, applied_at, summary)
SELECT id, org_id, 'people', created_by, created_at, filename, file_sha256, columns, rows, problems, applied_at, summary FROM people_imports;
INSERT INTO imports (id, org_id, kind, created_by, created_at, filename, file_sha256, columns, rows, problems, applied_at, summary)
SELECT id, org_id, 'training', created_by, created_at, filename, file_sha256, '{email,module,completed_on,score}', rows, problems, applied_at, summary FROM training_imports;

DROP TABLE people_imports;
DROP TABLE training_imports;
