-- Training records sent by a training system through the API (issue 24).
ALTER TABLE training_records DROP CONSTRAINT training_records_source_check;
ALTER TABLE training_records ADD CONSTRAINT training_records_source_check CHECK (source IN ('manual', 'import', 'link', 'api'));

-- When a training record last changed (an LMS correction), for the API's
-- `updated_since`; a new record's is when it was recorded.
ALTER TABLE training_records ADD COLUMN updated_at timestamptz;
UPDATE training_records SET updated_at = recorded_at;
ALTER TABLE training_records ALTER COLUMN updated_at SET NOT NULL;
CREATE FUNCTION training_records_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := COALESCE(NEW.updated_at, NEW.recorded_at);
    RETURN NEW;
END $$;
CREATE TRIGGER training_records_updated_at BEFORE INSERT ON training_records
    FOR EACH ROW EXECUTE FUNCTION training_records_updated_at();
DROP INDEX training_records_recorded_idx;
CREATE INDEX training_records_updated_idx ON training_records (org_id, updated_at, id);

