-- Sign-up by e-mail: the form never says whether an address already has an
-- account. A new address gets a link that finishes the sign-up; an address
-- with an account gets a note instead. Only the link's SHA-256 is kept.
CREATE TABLE signups (
    id              uuid PRIMARY KEY,
    token_hash      bytea NOT NULL UNIQUE,
    email           text NOT NULL,
    name            text NOT NULL,
    org_name        text NOT NULL,
    password_hash   text NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX signups_expiry_idx ON signups (expires_at);
