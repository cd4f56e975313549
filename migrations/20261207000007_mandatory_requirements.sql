-- Clauses 4 to 10 of ISO/IEC 27001 (5.3(a) and (b) among them) are
-- mandatory for certification: they always apply. Only Annex A controls can
-- be excluded, and only through a statement-of-applicability entry: a
-- justification and the member of top management who approved it.

-- Whether a catalogue code is mandatory (anything but an Annex A control).
CREATE FUNCTION requirement_mandatory(code text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT code NOT LIKE 'A.%' $$;

-- Whether a requirement applies: a mandatory one always does, whatever an
-- older record says; another one unless the organisation excluded it.
CREATE FUNCTION requirement_applies(code text, applicable boolean)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT requirement_mandatory(code) OR COALESCE(applicable, true) $$;

ALTER TABLE requirement_states ADD COLUMN exclusion_approved_by uuid;
ALTER TABLE requirement_states ADD CONSTRAINT requirement_states_exclusion_approver_fk
    FOREIGN KEY (org_id, exclusion_approved_by) REFERENCES people (org_id, id);
-- New exclusions name who approved them (older ones are left as they were).
ALTER TABLE requirement_states ADD CONSTRAINT requirement_states_exclusion_approved
    CHECK (applicable OR exclusion_approved_by IS NOT NULL) NOT VALID;

-- A mandatory requirement cannot be excluded, whoever writes the row.
CREATE FUNCTION refuse_mandatory_exclusion() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c text;
BEGIN
    IF NOT NEW.applicable THEN
        SELECT code INTO c FROM requirements WHERE id = NEW.requirement_id;
        IF requirement_mandatory(c) THEN
            RAISE EXCEPTION USING ERRCODE = 'MF001',
                MESSAGE = format('%s is mandatory for certification: clauses 4 to 10 always apply and cannot be excluded.', c);
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER requirement_states_mandatory BEFORE INSERT OR UPDATE ON requirement_states
    FOR EACH ROW EXECUTE FUNCTION refuse_mandatory_exclusion();
