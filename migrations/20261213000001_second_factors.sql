-- Second factors (issue 23): an authenticator app (TOTP), recovery codes,
-- the pending second step of a sign-in, when a session last proved who it
-- is (step-up), and an organisation's demands.

-- One authenticator app per account. Unconfirmed until a first code from it
-- is typed; `last_step` is the 30-second step of the last code accepted, so
-- no code is accepted twice.
CREATE TABLE totp_factors (
    user_id       uuid PRIMARY KEY REFERENCES users (id),
    secret        bytea NOT NULL CHECK (length(secret) = 20),
    created_at    timestamptz NOT NULL,
    confirmed_at  timestamptz,
    last_step     bigint
);

-- Ten single-use codes for when the authenticator is lost, Argon2id-hashed.
CREATE TABLE recovery_codes (
    id          bigserial PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    code_hash   text NOT NULL,
    created_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id) WHERE used_at IS NULL;

-- A sign-in whose password was right and whose second factor is still to
-- come. The cookie holds a random token; this table only its SHA-256.
CREATE TABLE sign_in_challenges (
    id_hash     bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    next        text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX sign_in_challenges_user_idx ON sign_in_challenges (user_id);

-- When the session last proved who it is (signing in, a second factor, or
-- the password again): what step-up measures.
ALTER TABLE sessions ADD COLUMN proved_at timestamptz;
UPDATE sessions SET proved_at = created_at;
ALTER TABLE sessions ALTER COLUMN proved_at SET NOT NULL;

-- An owner's demands: a second factor for owners, ISMS leads and
-- executives; and how recent a proof signing, appointing and the like need.
ALTER TABLE organisations
    ADD COLUMN require_second_factor boolean NOT NULL DEFAULT false,
    ADD COLUMN step_up_minutes integer NOT NULL DEFAULT 10 CHECK (step_up_minutes BETWEEN 1 AND 120);
