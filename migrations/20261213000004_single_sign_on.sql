-- Single sign-on through OpenID Connect, one provider per organisation
-- (issue 23): set by owners; sign-in by e-mail domain routes to it.
CREATE TABLE sso_providers (
    org_id         uuid PRIMARY KEY REFERENCES organisations (id),
    issuer         text NOT NULL,
    client_id      text NOT NULL,
    client_secret  text NOT NULL,
    -- The e-mail domains whose people sign in here (lower case, no '@').
    domains        text[] NOT NULL,
    -- People not invited may join, in this role (never executive or owner).
    join_role      text CHECK (join_role IN ('contributor', 'auditor', 'isms_lead')),
    -- Members sign in through the provider only; owners keep their password
    -- (and second factor) as the break-glass path.
    required       boolean NOT NULL DEFAULT false,
    updated_at     timestamptz NOT NULL
);
-- A domain routes to one organisation.
CREATE TABLE sso_domains (
    domain  text PRIMARY KEY,
    org_id  uuid NOT NULL REFERENCES organisations (id)
);

-- A sign-in sent to the provider and not yet back: the cookie holds a random
-- token, the row its SHA-256 with the state, nonce and PKCE verifier.
CREATE TABLE sso_requests (
    id_hash        bytea PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES organisations (id),
    state          text NOT NULL,
    nonce          text NOT NULL,
    pkce_verifier  text NOT NULL,
    next           text NOT NULL,
    created_at     timestamptz NOT NULL
);

-- Which account a provider's subject signs in as. An account is linked when
-- the provider first creates it, or when its holder, signed in as usual,
-- starts single sign-on: never by a matching e-mail address alone, so no
-- provider can sign anyone into an account it did not create.
CREATE TABLE sso_identities (
    issuer      text NOT NULL,
    subject     text NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id),
    org_id      uuid NOT NULL REFERENCES organisations (id),
    linked_at   timestamptz NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX sso_identities_user_idx ON sso_identities (user_id);
