-- An organisation's logo, shown on the pages staff open from a personal
-- link without signing in (acknowledging a policy) and on published
-- policies, so they know who is asking. Small (at most 256 KiB), PNG or
-- JPEG only (nothing a browser could run), kept in the database beside the
-- organisation it belongs to.
CREATE TABLE org_logos (
    org_id       uuid PRIMARY KEY REFERENCES organisations (id),
    content_type text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg')),
    bytes        bytea NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 262144),
    sha256       bytea NOT NULL,
    filename     text NOT NULL,
    uploaded_by  uuid REFERENCES users (id),
    uploaded_at  timestamptz NOT NULL
);
