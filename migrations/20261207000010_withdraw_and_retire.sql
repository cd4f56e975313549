-- A policy can be withdrawn and a training module retired: from then on they
-- produce no findings and ask nobody, and their history stays.
ALTER TABLE policies ADD COLUMN withdrawn_at timestamptz;
ALTER TABLE training_modules ADD COLUMN retired_at timestamptz;
