-- Policies and their signed versions, acknowledgement campaigns and
-- personal links, awareness training and its imports.

CREATE TABLE policies (
    id                   uuid PRIMARY KEY,
    org_id               uuid NOT NULL REFERENCES organisations (id),
    title                text NOT NULL,
    kind                 text NOT NULL CHECK (kind IN ('is_policy', 'topic_specific', 'acceptable_use', 'management_statement', 'disciplinary_process', 'training_plan')),
    owner_id             uuid,
    review_months        integer NOT NULL DEFAULT 12 CHECK (review_months BETWEEN 1 AND 60),
    -- Who must read and acknowledge it.
    audience             text NOT NULL DEFAULT 'all_staff' CHECK (audience IN ('all_staff', 'employees', 'contractors', 'managers', 'departments')),
    audience_departments text[] NOT NULL DEFAULT '{}',
    -- Available to interested parties: approved versions are shown at /p/<public_slug>.
    public_slug          text UNIQUE,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, owner_id) REFERENCES people (org_id, id)
);
CREATE INDEX policies_org_idx ON policies (org_id, kind);

CREATE TABLE policy_versions (
    id                   uuid PRIMARY KEY,
    org_id               uuid NOT NULL REFERENCES organisations (id),
    policy_id            uuid NOT NULL,
    major                integer NOT NULL CHECK (major >= 1),
    minor                integer NOT NULL CHECK (minor >= 0),
    change_summary       text NOT NULL DEFAULT '',
    -- The document: a Markdown body, or a file kept as evidence.
    body_markdown        text,
    evidence_revision_id uuid,
    -- The 5.2 content checks (IS policy): where in the document each is met; NULL = not met.
    check_purpose        text,
    check_objectives     text,
    check_requirements   text,
    check_improvement    text,
    created_by           uuid REFERENCES users (id),
    created_at           timestamptz NOT NULL,
    -- The signature: who, when, from where, and the SHA-256 of what was signed.
    approved_by          uuid REFERENCES users (id),
    approver_person_id   uuid,
    approver_name        text,
    approver_top_management boolean,
    approved_at          timestamptz,
    approved_from        text,
    approved_agent       text,
    approved_sha256      bytea,
    UNIQUE (org_id, id),
    UNIQUE (org_id, policy_id, major, minor),
    FOREIGN KEY (org_id, policy_id) REFERENCES policies (org_id, id),
    FOREIGN KEY (evidence_revision_id) REFERENCES evidence_revisions (id),
    FOREIGN KEY (org_id, approver_person_id) REFERENCES people (org_id, id),
    CHECK ((body_markdown IS NULL) <> (evidence_revision_id IS NULL)),
    CHECK ((approved_at IS NULL) = (approved_sha256 IS NULL))
);
CREATE INDEX policy_versions_policy_idx ON policy_versions (org_id, policy_id, major DESC, minor DESC);

-- A signed version is a record auditors rely on: the database refuses to
-- change or remove it. Drafts can be edited; nothing is ever deleted.
CREATE FUNCTION policy_versions_signed_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'policy versions are never deleted';
    END IF;
    IF OLD.approved_at IS NOT NULL THEN
        RAISE EXCEPTION 'policy version % is signed and cannot be changed', OLD.id;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER policy_versions_immutable
    BEFORE UPDATE OR DELETE ON policy_versions
    FOR EACH ROW EXECUTE FUNCTION policy_versions_signed_are_immutable();

CREATE TABLE ack_campaigns (
    id                uuid PRIMARY KEY,
    org_id            uuid NOT NULL REFERENCES organisations (id),
    policy_version_id uuid NOT NULL,
    due_on            date,
    created_by        uuid REFERENCES users (id),
    created_at        timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, policy_version_id) REFERENCES policy_versions (org_id, id)
);

-- One personal link per person and campaign; only the SHA-256 of its secret is kept.
CREATE TABLE ack_requests (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organisations (id),
    campaign_id  uuid NOT NULL,
    person_id    uuid NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    expires_at   timestamptz NOT NULL,
    issued_at    timestamptz NOT NULL,
    UNIQUE (org_id, campaign_id, person_id),
    FOREIGN KEY (org_id, campaign_id) REFERENCES ack_campaigns (org_id, id),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id)
);

CREATE TABLE acknowledgements (
    id                uuid PRIMARY KEY,
    org_id            uuid NOT NULL REFERENCES organisations (id),
    person_id         uuid NOT NULL,
    policy_version_id uuid NOT NULL,
    acknowledged_at   timestamptz NOT NULL,
    method            text NOT NULL CHECK (method IN ('link', 'signed_in', 'imported')),
    client_addr       text,
    user_agent        text,
    UNIQUE (org_id, person_id, policy_version_id),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, policy_version_id) REFERENCES policy_versions (org_id, id)
);
CREATE INDEX acknowledgements_version_idx ON acknowledgements (org_id, policy_version_id);

CREATE TABLE training_modules (
    id                   uuid PRIMARY KEY,
    org_id               uuid NOT NULL REFERENCES organisations (id),
    title                text NOT NULL,
    kind                 text NOT NULL CHECK (kind IN ('awareness', 'role_based')),
    description          text NOT NULL DEFAULT '',
    validity_months      integer NOT NULL DEFAULT 12 CHECK (validity_months BETWEEN 1 AND 60),
    audience             text NOT NULL DEFAULT 'all_staff' CHECK (audience IN ('all_staff', 'employees', 'contractors', 'managers', 'departments')),
    audience_departments text[] NOT NULL DEFAULT '{}',
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    UNIQUE (org_id, id)
);
CREATE UNIQUE INDEX training_modules_title_key ON training_modules (org_id, lower(title));

CREATE TABLE training_records (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organisations (id),
    module_id    uuid NOT NULL,
    person_id    uuid NOT NULL,
    completed_on date NOT NULL,
    score        numeric(5, 1) CHECK (score IS NULL OR score BETWEEN 0 AND 100),
    source       text NOT NULL CHECK (source IN ('manual', 'import')),
    recorded_by  uuid REFERENCES users (id),
    recorded_at  timestamptz NOT NULL,
    UNIQUE (org_id, module_id, person_id, completed_on),
    FOREIGN KEY (org_id, module_id) REFERENCES training_modules (org_id, id),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id)
);
CREATE INDEX training_records_person_idx ON training_records (org_id, person_id);

-- An uploaded training file, checked and waiting to be applied.
CREATE TABLE training_imports (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organisations (id),
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL,
    filename    text NOT NULL,
    file_sha256 bytea NOT NULL,
    rows        jsonb NOT NULL,
    problems    jsonb NOT NULL,
    applied_at  timestamptz,
    summary     jsonb,
    UNIQUE (org_id, id)
);
