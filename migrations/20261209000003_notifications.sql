-- Reminders and digests. Each member says how often they hear from Mandate
-- (a digest daily, weekly or never; reminders before things fall due, or
-- not); every message carries a link that stops them in one click.
CREATE TABLE notification_settings (
    org_id             uuid NOT NULL REFERENCES organisations (id),
    user_id            uuid NOT NULL REFERENCES users (id),
    digest             text NOT NULL CHECK (digest IN ('daily', 'weekly', 'off')),
    reminders          boolean NOT NULL,
    -- The secret of the member's unsubscribe link (it only turns e-mail off).
    unsubscribe_token  text NOT NULL UNIQUE,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (org_id, user_id),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id)
);

-- The transactional outbox: a message is written once (its key makes a
-- second write a no-op, whichever process plans it), then sent by any app
-- process. Without SMTP it is held here for owners to read; a failed send
-- is retried with back-off, and given up after eight attempts; one whose
-- sending was interrupted is never sent again (it may have gone out) and
-- shows as uncertain.
CREATE TABLE outbox (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES organisations (id),
    user_id          uuid NOT NULL REFERENCES users (id),
    to_email         text NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('digest', 'reminder')),
    dedupe_key       text NOT NULL,
    subject          text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'held', 'uncertain', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    claimed_at       timestamptz,
    sent_at          timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL,
    UNIQUE (org_id, dedupe_key),
    UNIQUE (org_id, id)
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX outbox_org_idx ON outbox (org_id, created_at DESC);
