-- The evidence vault: items, their file revisions, and links from items to
-- requirements and to records of other areas.

CREATE TABLE evidence_items (
    id                     uuid PRIMARY KEY,
    org_id                 uuid NOT NULL REFERENCES organisations (id),
    title                  text NOT NULL,
    description            text NOT NULL DEFAULT '',
    kind                   text NOT NULL CHECK (kind IN ('document', 'minutes', 'signed_statement', 'screenshot', 'record_export', 'external_link')),
    -- Only for external links: where the evidence lives.
    external_url           text,
    -- The date the evidence speaks for (a meeting's date, a signature's date).
    evidence_date          date,
    -- Either a fixed end of validity, or a review interval from the evidence date.
    valid_until            date,
    review_interval_months integer CHECK (review_interval_months IS NULL OR review_interval_months BETWEEN 1 AND 120),
    owner_id               uuid,
    created_by             uuid REFERENCES users (id),
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, owner_id) REFERENCES people (org_id, id),
    CHECK (kind <> 'external_link' OR external_url IS NOT NULL)
);
CREATE INDEX evidence_items_org_idx ON evidence_items (org_id, created_at DESC);

-- A file of an item. Revisions are never replaced or removed: a new file
-- makes a new revision, and older ones stay downloadable.
CREATE TABLE evidence_revisions (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organisations (id),
    item_id       uuid NOT NULL,
    number        integer NOT NULL,
    -- Where the bytes are in the evidence store; the name is ours, never the uploader's.
    object_key    text NOT NULL UNIQUE,
    -- The uploader's file name, cleaned, kept only to name downloads.
    filename      text NOT NULL,
    content_type  text NOT NULL,
    size          bigint NOT NULL CHECK (size > 0),
    sha256        bytea NOT NULL,
    uploaded_by   uuid REFERENCES users (id),
    uploaded_at   timestamptz NOT NULL,
    UNIQUE (org_id, item_id, number),
    FOREIGN KEY (org_id, item_id) REFERENCES evidence_items (org_id, id)
);

CREATE FUNCTION evidence_revisions_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'evidence revisions cannot be changed or removed: % refused', TG_OP;
END;
$$;
CREATE TRIGGER evidence_revisions_immutable
    BEFORE UPDATE OR DELETE ON evidence_revisions
    FOR EACH ROW EXECUTE FUNCTION evidence_revisions_are_immutable();

-- One linking mechanism for every area: an item supports a requirement or
-- a record (policy version, meeting, resource decision, communication,
-- role appointment). Targets are checked by the application, per tenant.
CREATE TABLE evidence_links (
    org_id      uuid NOT NULL REFERENCES organisations (id),
    item_id     uuid NOT NULL,
    target_kind text NOT NULL,
    target_id   uuid NOT NULL,
    linked_by   uuid REFERENCES users (id),
    linked_at   timestamptz NOT NULL,
    PRIMARY KEY (org_id, item_id, target_kind, target_id),
    FOREIGN KEY (org_id, item_id) REFERENCES evidence_items (org_id, id)
);
CREATE INDEX evidence_links_target_idx ON evidence_links (org_id, target_kind, target_id);
