-- Foundation: accounts, organisations, memberships, invitations, sessions,
-- sign-in throttling and the hash-chained audit log.

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    email           text NOT NULL,
    name            text NOT NULL,
    password_hash   text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE organisations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE memberships (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organisations (id),
    user_id     uuid NOT NULL REFERENCES users (id),
    role        text NOT NULL CHECK (role IN ('owner', 'isms_lead', 'executive', 'contributor', 'auditor')),
    disabled_at timestamptz,
    created_at  timestamptz NOT NULL,
    UNIQUE (org_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE invitations (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organisations (id),
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'isms_lead', 'executive', 'contributor', 'auditor')),
    -- SHA-256 of the secret in the link; the secret itself is never stored.
    token_hash  bytea NOT NULL UNIQUE,
    invited_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid REFERENCES users (id),
    revoked_at  timestamptz
);
CREATE INDEX invitations_org_idx ON invitations (org_id, created_at DESC);

CREATE TABLE sessions (
    -- SHA-256 of the cookie value; a leaked table does not reveal live cookies.
    id_hash         bytea PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id),
    current_org_id  uuid REFERENCES organisations (id),
    csrf_token      text NOT NULL,
    flash           text,
    created_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE login_failures (
    id          bigserial PRIMARY KEY,
    -- 'account:<email>' or 'address:<ip>'
    throttle_key text NOT NULL,
    failed_at   timestamptz NOT NULL
);
CREATE INDEX login_failures_key_idx ON login_failures (throttle_key, failed_at);

-- One chain per organisation (org_id NULL: account-level events, on the nil chain).
CREATE TABLE audit_heads (
    chain       uuid PRIMARY KEY,
    seq         bigint NOT NULL,
    hash        bytea NOT NULL
);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    chain       uuid NOT NULL,
    seq         bigint NOT NULL,
    -- No foreign keys: the log outlives and precedes the rows it describes.
    org_id      uuid,
    actor_id    uuid,
    actor_label text NOT NULL,
    action      text NOT NULL,
    entity      text NOT NULL,
    entity_id   text NOT NULL,
    at          timestamptz NOT NULL,
    request_id  text NOT NULL,
    -- Canonical JSON text, hashed exactly as stored.
    details     text NOT NULL,
    prev_hash   bytea NOT NULL,
    hash        bytea NOT NULL,
    UNIQUE (chain, seq)
);
CREATE INDEX audit_log_org_idx ON audit_log (org_id, at DESC);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
