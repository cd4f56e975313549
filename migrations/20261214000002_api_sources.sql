-- Training records sent by a training system through the API (issue 24).
ALTER TABLE training_records DROP CONSTRAINT training_records_source_check;
ALTER TABLE training_records ADD CONSTRAINT training_records_source_check CHECK (source IN ('manual', 'import', 'link', 'api'));
