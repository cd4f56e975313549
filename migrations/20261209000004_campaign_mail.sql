-- Acknowledgement links go out through the outbox too, so a campaign to
-- thousands of people returns at once and its page shows how many were
-- e-mailed. Their recipients are people, most without an account.
ALTER TABLE outbox ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN campaign_id uuid;
ALTER TABLE outbox ADD CONSTRAINT outbox_campaign_fkey FOREIGN KEY (org_id, campaign_id) REFERENCES ack_campaigns (org_id, id);
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('digest', 'reminder', 'link'));
ALTER TABLE outbox ADD CONSTRAINT outbox_recipient_check CHECK (kind = 'link' OR user_id IS NOT NULL);
CREATE INDEX outbox_campaign_idx ON outbox (org_id, campaign_id) WHERE campaign_id IS NOT NULL;

-- Personal links as issued, kept for one download within the hour by the
-- member who issued them (the links page shows only the first ones when
-- there are many); deleted when downloaded or expired.
CREATE TABLE link_exports (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organisations (id),
    created_by  uuid NOT NULL REFERENCES users (id),
    campaign_id uuid NOT NULL,
    filename    text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, campaign_id) REFERENCES ack_campaigns (org_id, id)
);
