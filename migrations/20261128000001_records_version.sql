-- A second counter beside each audit chain's head: it grows only with rows
-- that change the organisation's records, not with sign-ins or bundle runs.
-- Cached gap evaluations are keyed by it, so signing in does not throw the
-- dashboards' work away.
ALTER TABLE audit_heads ADD COLUMN records_seq bigint NOT NULL DEFAULT 0;
UPDATE audit_heads SET records_seq = seq;
