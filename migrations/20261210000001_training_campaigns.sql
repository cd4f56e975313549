-- Training campaigns: a module's audience asked, through personal links
-- that need no account, to confirm they completed it. As with
-- acknowledgement campaigns, only the SHA-256 of each link's secret is kept,
-- the links go out through the outbox and can be downloaded once as a CSV.
CREATE TABLE training_campaigns (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organisations (id),
    module_id   uuid NOT NULL,
    due_on      date,
    created_by  uuid REFERENCES users (id),
    created_at  timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, module_id) REFERENCES training_modules (org_id, id)
);
CREATE INDEX training_campaigns_module_idx ON training_campaigns (org_id, module_id, created_at DESC);

-- One personal link per person and campaign.
CREATE TABLE training_requests (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organisations (id),
    campaign_id  uuid NOT NULL,
    person_id    uuid NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    expires_at   timestamptz NOT NULL,
    issued_at    timestamptz NOT NULL,
    UNIQUE (org_id, campaign_id, person_id),
    FOREIGN KEY (org_id, campaign_id) REFERENCES training_campaigns (org_id, id),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id)
);

-- A completion the person confirmed themselves, through their link: the
-- campaign, and where the confirmation came from (as acknowledgements keep).
ALTER TABLE training_records DROP CONSTRAINT training_records_source_check;
ALTER TABLE training_records ADD CONSTRAINT training_records_source_check CHECK (source IN ('manual', 'import', 'link'));
ALTER TABLE training_records ADD COLUMN campaign_id uuid;
ALTER TABLE training_records ADD COLUMN client_addr text;
ALTER TABLE training_records ADD COLUMN user_agent text;
ALTER TABLE training_records ADD CONSTRAINT training_records_campaign_fkey FOREIGN KEY (org_id, campaign_id) REFERENCES training_campaigns (org_id, id);
ALTER TABLE training_records ADD CONSTRAINT training_records_link_check CHECK ((source = 'link') = (campaign_id IS NOT NULL));

-- The outbox and the one-hour link exports serve both kinds of campaign.
ALTER TABLE outbox ADD COLUMN training_campaign_id uuid;
ALTER TABLE outbox ADD CONSTRAINT outbox_training_campaign_fkey FOREIGN KEY (org_id, training_campaign_id) REFERENCES training_campaigns (org_id, id);
ALTER TABLE outbox ADD CONSTRAINT outbox_one_campaign_check CHECK (campaign_id IS NULL OR training_campaign_id IS NULL);
CREATE INDEX outbox_training_campaign_idx ON outbox (org_id, training_campaign_id) WHERE training_campaign_id IS NOT NULL;

ALTER TABLE link_exports ALTER COLUMN campaign_id DROP NOT NULL;
ALTER TABLE link_exports ADD COLUMN training_campaign_id uuid;
ALTER TABLE link_exports ADD CONSTRAINT link_exports_training_campaign_fkey FOREIGN KEY (org_id, training_campaign_id) REFERENCES training_campaigns (org_id, id);
ALTER TABLE link_exports ADD CONSTRAINT link_exports_one_campaign_check CHECK (num_nonnulls(campaign_id, training_campaign_id) = 1);
