-- Acknowledgements given outside Mandate say how they were given (on paper,
-- by e-mail, in a learning platform), and which account entered them, when.
-- They count from their own day and stay distinct from those made in Mandate.
ALTER TABLE acknowledgements
    ADD COLUMN recorded_how text CHECK (recorded_how IN ('paper', 'email', 'lms', 'other')),
    ADD COLUMN recorded_by  uuid REFERENCES users (id),
    ADD COLUMN recorded_at  timestamptz;
UPDATE acknowledgements SET recorded_how = 'other' WHERE method = 'imported';
ALTER TABLE acknowledgements ADD CONSTRAINT acknowledgements_imported_say_how CHECK ((method = 'imported') = (recorded_how IS NOT NULL));
