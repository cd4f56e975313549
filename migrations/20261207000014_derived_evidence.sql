-- What Mandate itself holds counts as evidence (docs/RULES.md, "Records as
-- evidence"): each requirement of a catalogue names the kinds of record that
-- show it (a signed policy, a held review with minutes, an accepted
-- appointment...), and the 5.3 assignment whose holder owns it when nobody
-- is named as its owner.
ALTER TABLE requirements
    ADD COLUMN records          text[] NOT NULL DEFAULT '{}',
    ADD COLUMN owner_assignment text CHECK (owner_assignment IN ('5.3(a)', '5.3(b)'));
