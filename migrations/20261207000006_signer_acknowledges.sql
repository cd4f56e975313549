-- Whoever signs a policy version has read it: signing records their
-- acknowledgement of that version too, with the method 'signed'.
ALTER TABLE acknowledgements DROP CONSTRAINT acknowledgements_method_check;
ALTER TABLE acknowledgements ADD CONSTRAINT acknowledgements_method_check CHECK (method IN ('link', 'signed_in', 'imported', 'signed'));
