-- From how many occurrences the same lapse is repeated rather than isolated
-- (docs/RULES.md, "Grading"): a review held without minutes, an action left
-- overdue, an ask left unanswered... once is a minor nonconformity; this
-- many times, a major one.
ALTER TABLE organisations
    ADD COLUMN repeated_from integer NOT NULL DEFAULT 3 CHECK (repeated_from BETWEEN 2 AND 50);
