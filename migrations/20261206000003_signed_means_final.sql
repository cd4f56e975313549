-- Signed means final. A signed-off management review and a signed policy
-- version keep the exact evidence revisions they were signed with, refuse
-- new or removed evidence links, take corrections only as append-only
-- addenda, and every signature, sign-off, confirmation, acceptance and
-- answer records both the account that made it and the person it stands for.
--
-- Refusals raised here carry SQLSTATE MF001 and a sentence meant for the
-- person who tried: the application answers them 409 with that sentence.

-- ---------- refusals in plain words ----------

CREATE OR REPLACE FUNCTION meetings_signed_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Meetings are never deleted.' USING ERRCODE = 'MF001';
    END IF;
    IF OLD.signed_off_at IS NOT NULL THEN
        RAISE EXCEPTION 'This meeting is signed off and its record is final. Add an addendum to correct it, or record follow-up as action items.'
            USING ERRCODE = 'MF001';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION policy_versions_signed_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'Policy versions are never deleted.' USING ERRCODE = 'MF001';
    END IF;
    IF OLD.approved_at IS NOT NULL THEN
        RAISE EXCEPTION 'This policy version is signed and can no longer change. Make a new version for the change, or add an addendum to this one.'
            USING ERRCODE = 'MF001';
    END IF;
    RETURN NEW;
END;
$$;

-- Why evidence cannot be linked to or unlinked from a record, if it is a
-- signed one; NULL otherwise. Locks the record's row (FOR SHARE), so a link
-- waits for a sign-off under way and then sees it, and a sign-off waits for
-- a link under way and then pins it.
CREATE FUNCTION signed_record_refusal(kind text, org uuid, target uuid) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    signed boolean;
BEGIN
    IF kind = 'meeting' THEN
        SELECT signed_off_at IS NOT NULL INTO signed FROM meetings WHERE org_id = org AND id = target FOR SHARE;
        IF signed THEN
            RETURN 'This meeting is signed off: the evidence it was signed with is final. Attach follow-up to its action items, or add an addendum to the meeting.';
        END IF;
    ELSIF kind = 'policy_version' THEN
        SELECT approved_at IS NOT NULL INTO signed FROM policy_versions WHERE org_id = org AND id = target FOR SHARE;
        IF signed THEN
            RETURN 'This policy version is signed: the evidence it was signed with is final. Make a new version, or add an addendum to this one.';
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION evidence_links_of_signed_records_are_final() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    why text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        why := signed_record_refusal(OLD.target_kind, OLD.org_id, OLD.target_id);
        IF why IS NOT NULL THEN
            RAISE EXCEPTION '%', why USING ERRCODE = 'MF001';
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        why := signed_record_refusal(NEW.target_kind, NEW.org_id, NEW.target_id);
        IF why IS NOT NULL THEN
            RAISE EXCEPTION '%', why USING ERRCODE = 'MF001';
        END IF;
        RETURN NEW;
    END IF;
    RETURN OLD;
END;
$$;
CREATE TRIGGER evidence_links_signed_final
    BEFORE INSERT OR UPDATE OR DELETE ON evidence_links
    FOR EACH ROW EXECUTE FUNCTION evidence_links_of_signed_records_are_final();

-- ---------- pinned evidence ----------

-- Lets a pin name a revision of exactly its item and organisation.
CREATE UNIQUE INDEX evidence_revisions_org_item_id_key ON evidence_revisions (org_id, item_id, id);

-- The evidence a record was signed with: for every item linked when the
-- meeting was signed off (or the policy version signed), the revision that
-- was current then (none for an item kept elsewhere, without a file) and
-- the item's title then. Written with the signature; never changed.
CREATE TABLE evidence_pins (
    org_id       uuid NOT NULL REFERENCES organisations (id),
    target_kind  text NOT NULL CHECK (target_kind IN ('meeting', 'policy_version')),
    target_id    uuid NOT NULL,
    item_id      uuid NOT NULL,
    revision_id  uuid,
    item_title   text NOT NULL,
    pinned_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, target_kind, target_id, item_id),
    FOREIGN KEY (org_id, item_id) REFERENCES evidence_items (org_id, id),
    FOREIGN KEY (org_id, item_id, revision_id) REFERENCES evidence_revisions (org_id, item_id, id)
);

CREATE FUNCTION evidence_pins_are_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'The evidence a signed record was signed with cannot change.' USING ERRCODE = 'MF001';
END;
$$;
CREATE TRIGGER evidence_pins_final
    BEFORE UPDATE OR DELETE ON evidence_pins
    FOR EACH ROW EXECUTE FUNCTION evidence_pins_are_final();
CREATE TRIGGER evidence_pins_no_truncate
    BEFORE TRUNCATE ON evidence_pins
    FOR EACH STATEMENT EXECUTE FUNCTION evidence_pins_are_final();

-- Records signed before pins existed: the items linked by the signature's
-- time, each at its newest revision uploaded by then.
INSERT INTO evidence_pins (org_id, target_kind, target_id, item_id, revision_id, item_title, pinned_at)
SELECT l.org_id, l.target_kind, l.target_id, l.item_id,
       (SELECT r.id FROM evidence_revisions r WHERE r.org_id = l.org_id AND r.item_id = l.item_id AND r.uploaded_at <= s.signed_at
         ORDER BY r.number DESC LIMIT 1),
       i.title, s.signed_at
  FROM evidence_links l
  JOIN evidence_items i ON i.org_id = l.org_id AND i.id = l.item_id
  JOIN (SELECT org_id, 'meeting' AS kind, id, signed_off_at AS signed_at FROM meetings WHERE signed_off_at IS NOT NULL
        UNION ALL
        SELECT org_id, 'policy_version', id, approved_at FROM policy_versions WHERE approved_at IS NOT NULL) s
    ON s.org_id = l.org_id AND s.kind = l.target_kind AND s.id = l.target_id
 WHERE l.linked_at <= s.signed_at;

-- ---------- addenda ----------

-- A correction to a signed record: a dated, attributed note, never changed
-- or removed. `written_by` is the account; `written_as` the person in the
-- directory it acted as (none for an account with no directory entry);
-- the name and title are as they stood when it was written.
CREATE TABLE addenda (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organisations (id),
    target_kind   text NOT NULL CHECK (target_kind IN ('meeting', 'policy_version')),
    target_id     uuid NOT NULL,
    body          text NOT NULL CHECK (btrim(body) <> ''),
    written_by    uuid NOT NULL REFERENCES users (id),
    written_as    uuid,
    author_name   text NOT NULL,
    author_title  text NOT NULL DEFAULT '',
    written_at    timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, written_as) REFERENCES people (org_id, id)
);
CREATE INDEX addenda_target_idx ON addenda (org_id, target_kind, target_id, written_at);

CREATE FUNCTION addenda_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    signed boolean;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'An addendum is never changed or removed. Add another addendum to correct it.' USING ERRCODE = 'MF001';
    END IF;
    IF NEW.target_kind = 'meeting' THEN
        SELECT signed_off_at IS NOT NULL INTO signed FROM meetings WHERE org_id = NEW.org_id AND id = NEW.target_id;
    ELSE
        SELECT approved_at IS NOT NULL INTO signed FROM policy_versions WHERE org_id = NEW.org_id AND id = NEW.target_id;
    END IF;
    IF signed IS NULL THEN
        RAISE EXCEPTION 'An addendum needs a record of the same organisation.' USING ERRCODE = 'MF001';
    END IF;
    IF NOT signed THEN
        RAISE EXCEPTION 'Only a signed record takes addenda. Until it is signed, change the record itself.' USING ERRCODE = 'MF001';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER addenda_append_only
    BEFORE INSERT OR UPDATE OR DELETE ON addenda
    FOR EACH ROW EXECUTE FUNCTION addenda_are_append_only();
CREATE TRIGGER addenda_no_truncate
    BEFORE TRUNCATE ON addenda
    FOR EACH STATEMENT EXECUTE FUNCTION addenda_are_append_only();

-- ---------- who acted, as whom ----------

-- The chair's sign-off: the person it stands for and their title then
-- (signed_off_by already names the account, signed_off_name the name).
ALTER TABLE meetings ADD COLUMN signed_off_as uuid, ADD COLUMN signed_off_title text,
    ADD CONSTRAINT meetings_signed_off_as_fkey FOREIGN KEY (org_id, signed_off_as) REFERENCES people (org_id, id);

-- A policy signature: the signer's title then (approved_by names the
-- account, approver_person_id the person, approver_name the name).
ALTER TABLE policy_versions ADD COLUMN approver_title text;

-- The appointer's confirmation and the holder's acceptance: the account
-- (none when accepted through the personal link: accepted_from holds the
-- address it came from), the person, and their title then.
ALTER TABLE role_appointments
    ADD COLUMN confirmed_by uuid REFERENCES users (id), ADD COLUMN confirmed_as uuid, ADD COLUMN confirmed_title text,
    ADD COLUMN accepted_by uuid REFERENCES users (id), ADD COLUMN accepted_as uuid, ADD COLUMN accepted_title text,
    ADD CONSTRAINT role_appointments_confirmed_as_fkey FOREIGN KEY (org_id, confirmed_as) REFERENCES people (org_id, id),
    ADD CONSTRAINT role_appointments_accepted_as_fkey FOREIGN KEY (org_id, accepted_as) REFERENCES people (org_id, id);

-- An ask's answer: the account that entered it, and the person it acted as
-- (the person asked, answering themselves; none when someone recorded an
-- answer given another way), with their title then.
ALTER TABLE leadership_asks
    ADD COLUMN answered_by uuid REFERENCES users (id), ADD COLUMN answered_as uuid, ADD COLUMN answered_title text,
    ADD CONSTRAINT leadership_asks_answered_as_fkey FOREIGN KEY (org_id, answered_as) REFERENCES people (org_id, id);
