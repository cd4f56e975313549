-- Completions given outside Mandate say how they were given (on paper, by
-- e-mail, in a learning platform); who entered them and when was already
-- kept (recorded_by, recorded_at). Recorded by hand: not said.
ALTER TABLE training_records
    ADD COLUMN recorded_how text CHECK (recorded_how IN ('paper', 'email', 'lms', 'other'));
UPDATE training_records SET recorded_how = 'other' WHERE source = 'import';
