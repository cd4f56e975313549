-- Passkeys (issue 23): several per account, named, revocable; and the
-- WebAuthn ceremonies in flight (registration, sign-in, step-up, signing).

CREATE TABLE passkeys (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The authenticator's id for the credential; unique across accounts.
    credential_id  bytea NOT NULL UNIQUE,
    -- webauthn-rs's Passkey (public key, counter, backup flags), as JSON.
    passkey        jsonb NOT NULL,
    -- The public key as a JWK (RFC 7517), what signatures bound to this
    -- passkey carry so anyone can check them without Mandate.
    public_jwk     jsonb NOT NULL,
    created_at     timestamptz NOT NULL,
    last_used_at   timestamptz
);
CREATE INDEX passkeys_user_idx ON passkeys (user_id);

-- A ceremony started by the server and finished by the browser, used once.
-- `statement` is what a signature ceremony asks the authenticator to sign.
CREATE TABLE webauthn_ceremonies (
    id          uuid PRIMARY KEY,
    user_id     uuid REFERENCES users (id),
    purpose     text NOT NULL CHECK (purpose IN ('register', 'sign_in', 'second_step', 'step_up', 'signature')),
    state       jsonb NOT NULL,
    statement   text,
    created_at  timestamptz NOT NULL
);
CREATE INDEX webauthn_ceremonies_created_idx ON webauthn_ceremonies (created_at);
