-- Requirements catalogue, per-organisation requirement status, the people
-- directory (with CSV imports), ISMS roles and appointments (5.3), and the
-- RACI matrix. Tenant tables carry org_id, and references between tenant
-- rows go through (org_id, id) so a row can never point into another tenant.

-- ---------- catalogue (shared by every organisation; loaded from catalogues/) ----------

CREATE TABLE frameworks (
    key          text PRIMARY KEY,
    title        text NOT NULL,
    version      integer NOT NULL,
    -- SHA-256 of the catalogue file last loaded: an unchanged file is not reloaded.
    content_hash bytea NOT NULL,
    loaded_at    timestamptz NOT NULL
);

CREATE TABLE catalogue_clauses (
    framework text NOT NULL REFERENCES frameworks (key),
    code      text NOT NULL,
    title     text NOT NULL,
    summary   text NOT NULL,
    position  integer NOT NULL,
    PRIMARY KEY (framework, code)
);

CREATE TABLE requirements (
    -- UUID v5 of "<framework>/<code>": the same id on every installation.
    id                uuid PRIMARY KEY,
    framework         text NOT NULL REFERENCES frameworks (key),
    code              text NOT NULL,
    clause            text NOT NULL,
    title             text NOT NULL,
    summary           text NOT NULL,
    auditor_looks_for text NOT NULL,
    evidence          text[] NOT NULL,
    position          integer NOT NULL,
    -- Set when a later catalogue version drops the item; history stays.
    retired_at        timestamptz,
    UNIQUE (framework, code),
    FOREIGN KEY (framework, clause) REFERENCES catalogue_clauses (framework, code)
);

-- ---------- people directory ----------

CREATE TABLE people (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES organisations (id),
    name            text NOT NULL,
    email           text NOT NULL,
    job_title       text NOT NULL DEFAULT '',
    department      text NOT NULL DEFAULT '',
    manager_id      uuid,
    kind            text NOT NULL CHECK (kind IN ('employee', 'contractor')),
    start_date      date,
    end_date        date,
    top_management  boolean NOT NULL DEFAULT false,
    line_manager    boolean NOT NULL DEFAULT false,
    security_clause boolean NOT NULL DEFAULT false,
    user_id         uuid REFERENCES users (id),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, manager_id) REFERENCES people (org_id, id),
    CHECK (manager_id IS NULL OR manager_id <> id),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
);
CREATE UNIQUE INDEX people_email_key ON people (org_id, lower(email));
CREATE UNIQUE INDEX people_user_key ON people (org_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX people_org_name_idx ON people (org_id, name);
CREATE INDEX people_manager_idx ON people (org_id, manager_id);

-- An uploaded CSV, parsed and checked, waiting for the user to apply it.
CREATE TABLE people_imports (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organisations (id),
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL,
    filename    text NOT NULL,
    file_sha256 bytea NOT NULL,
    -- The columns the file has: columns it lacks are left alone on apply.
    columns     text[] NOT NULL,
    rows        jsonb NOT NULL,
    problems    jsonb NOT NULL,
    applied_at  timestamptz,
    summary     jsonb,
    UNIQUE (org_id, id)
);
CREATE INDEX people_imports_org_idx ON people_imports (org_id, created_at DESC);

-- ---------- requirement status per organisation ----------

-- A requirement without a row here is applicable, not started and unowned.
CREATE TABLE requirement_states (
    org_id           uuid NOT NULL REFERENCES organisations (id),
    requirement_id   uuid NOT NULL REFERENCES requirements (id),
    applicable       boolean NOT NULL DEFAULT true,
    exclusion_reason text NOT NULL DEFAULT '',
    owner_id         uuid,
    status           text NOT NULL DEFAULT 'not_started' CHECK (status IN ('not_started', 'in_progress', 'implemented')),
    notes            text NOT NULL DEFAULT '',
    updated_at       timestamptz NOT NULL,
    updated_by       uuid REFERENCES users (id),
    PRIMARY KEY (org_id, requirement_id),
    FOREIGN KEY (org_id, owner_id) REFERENCES people (org_id, id),
    CHECK (applicable OR exclusion_reason <> '')
);
CREATE INDEX requirement_states_owner_idx ON requirement_states (org_id, owner_id);

-- ---------- ISMS roles and appointments (5.3) ----------

CREATE TABLE isms_roles (
    id                  uuid PRIMARY KEY,
    org_id              uuid NOT NULL REFERENCES organisations (id),
    name                text NOT NULL,
    responsibilities    text NOT NULL DEFAULT '',
    authorities         text NOT NULL DEFAULT '',
    -- 5.3(a): ensuring the ISMS conforms to the standard.
    carries_conformance boolean NOT NULL DEFAULT false,
    -- 5.3(b): reporting ISMS performance to top management.
    carries_reporting   boolean NOT NULL DEFAULT false,
    position            integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    retired_at          timestamptz,
    UNIQUE (org_id, id)
);
CREATE UNIQUE INDEX isms_roles_name_key ON isms_roles (org_id, lower(name)) WHERE retired_at IS NULL;

CREATE TABLE role_appointments (
    id                      uuid PRIMARY KEY,
    org_id                  uuid NOT NULL REFERENCES organisations (id),
    role_id                 uuid NOT NULL,
    person_id               uuid NOT NULL,
    capacity                text NOT NULL CHECK (capacity IN ('holder', 'deputy')),
    -- The person who made the appointment; it should be top management.
    appointed_by            uuid,
    appointed_on            date,
    -- The appointer confirmed it in the app (signed in as themselves).
    confirmed_at            timestamptz,
    -- "Which hat when": for a holder who is also top management.
    hats_note               text NOT NULL DEFAULT '',
    -- Personal acceptance link: only the SHA-256 of its secret is kept.
    accept_token_hash       bytea UNIQUE,
    accept_token_expires_at timestamptz,
    accepted_at             timestamptz,
    accepted_via            text CHECK (accepted_via IN ('signed_in', 'link')),
    accepted_from           text,
    accepted_agent          text,
    ended_on                date,
    ended_reason            text NOT NULL DEFAULT '',
    recorded_by             uuid REFERENCES users (id),
    created_at              timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, role_id) REFERENCES isms_roles (org_id, id),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, appointed_by) REFERENCES people (org_id, id)
);
CREATE INDEX role_appointments_role_idx ON role_appointments (org_id, role_id);
CREATE INDEX role_appointments_person_idx ON role_appointments (org_id, person_id);

-- ---------- RACI matrix ----------

CREATE TABLE raci_activities (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organisations (id),
    name        text NOT NULL,
    position    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz,
    UNIQUE (org_id, id)
);
CREATE UNIQUE INDEX raci_activities_name_key ON raci_activities (org_id, lower(name)) WHERE retired_at IS NULL;

CREATE TABLE raci_cells (
    org_id      uuid NOT NULL REFERENCES organisations (id),
    activity_id uuid NOT NULL,
    role_id     uuid NOT NULL,
    -- R, A, C, I, or AR (accountable and doing the work).
    letters     text NOT NULL CHECK (letters IN ('R', 'A', 'C', 'I', 'AR')),
    PRIMARY KEY (org_id, activity_id, role_id),
    FOREIGN KEY (org_id, activity_id) REFERENCES raci_activities (org_id, id),
    FOREIGN KEY (org_id, role_id) REFERENCES isms_roles (org_id, id)
);

-- Record pages show their history from the audit log.
CREATE INDEX audit_log_entity_idx ON audit_log (org_id, entity, entity_id, id DESC);
