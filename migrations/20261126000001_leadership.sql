-- Leadership records (clause 5.1): management reviews with action items,
-- resource decisions, leadership communications, security objectives and
-- the asks made of top management.

-- How often management reviews are due, in months (at least yearly).
ALTER TABLE organisations ADD COLUMN review_cadence_months integer NOT NULL DEFAULT 12
    CHECK (review_cadence_months BETWEEN 1 AND 12);

CREATE TABLE objectives (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES organisations (id),
    title          text NOT NULL,
    measure        text NOT NULL DEFAULT '',
    target         text NOT NULL DEFAULT '',
    owner_id       uuid,
    due_on         date,
    status         text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'on_track', 'at_risk', 'achieved', 'dropped')),
    -- How it supports the organisation's strategic direction.
    strategy_link  text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, owner_id) REFERENCES people (org_id, id)
);

CREATE TABLE meetings (
    id                  uuid PRIMARY KEY,
    org_id              uuid NOT NULL REFERENCES organisations (id),
    kind                text NOT NULL CHECK (kind IN ('management_review', 'steering', 'other')),
    title               text NOT NULL,
    planned_on          date,
    held_on             date,
    chair_id            uuid,
    -- People present (directory ids, checked by the application).
    attendee_ids        uuid[] NOT NULL DEFAULT '{}',
    -- Which of the review inputs were covered (keys, see the application).
    inputs              text[] NOT NULL DEFAULT '{}',
    -- Objectives reviewed at the meeting.
    objective_ids       uuid[] NOT NULL DEFAULT '{}',
    minutes             text NOT NULL DEFAULT '',
    decisions           text NOT NULL DEFAULT '',
    created_by          uuid REFERENCES users (id),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    -- The chair's sign-off, at the server's time: the record is final from then on.
    signed_off_by       uuid REFERENCES users (id),
    signed_off_name     text,
    signed_off_at       timestamptz,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, chair_id) REFERENCES people (org_id, id)
);
CREATE INDEX meetings_org_idx ON meetings (org_id, held_on DESC NULLS FIRST);

CREATE FUNCTION meetings_signed_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'meetings are never deleted';
    END IF;
    IF OLD.signed_off_at IS NOT NULL THEN
        RAISE EXCEPTION 'meeting % is signed off and cannot be changed', OLD.id;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER meetings_immutable
    BEFORE UPDATE OR DELETE ON meetings
    FOR EACH ROW EXECUTE FUNCTION meetings_signed_are_immutable();

CREATE TABLE action_items (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organisations (id),
    meeting_id    uuid,
    title         text NOT NULL,
    owner_id      uuid,
    due_on        date,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'dropped')),
    closing_note  text NOT NULL DEFAULT '',
    closed_at     timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, meeting_id) REFERENCES meetings (org_id, id),
    FOREIGN KEY (org_id, owner_id) REFERENCES people (org_id, id)
);
CREATE INDEX action_items_org_idx ON action_items (org_id, status, due_on);

CREATE TABLE resource_decisions (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES organisations (id),
    what            text NOT NULL CHECK (what IN ('budget', 'headcount', 'tooling', 'time')),
    title           text NOT NULL,
    amount          numeric(14, 2),
    currency        text,
    reason          text NOT NULL DEFAULT '',
    objective_id    uuid,
    requirement_id  uuid REFERENCES requirements (id),
    asked_by        uuid,
    asked_on        date,
    decided_by      uuid,
    decision        text NOT NULL DEFAULT 'pending' CHECK (decision IN ('pending', 'approved', 'rejected', 'deferred')),
    decided_on      date,
    meeting_id      uuid,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, objective_id) REFERENCES objectives (org_id, id),
    FOREIGN KEY (org_id, asked_by) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, decided_by) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, meeting_id) REFERENCES meetings (org_id, id),
    CHECK ((decision = 'pending') = (decided_on IS NULL))
);

CREATE TABLE communications (
    id                 uuid PRIMARY KEY,
    org_id             uuid NOT NULL REFERENCES organisations (id),
    sent_on            date NOT NULL,
    from_id            uuid,
    channel            text NOT NULL CHECK (channel IN ('all_hands', 'email', 'intranet', 'video', 'handbook', 'onboarding_pack')),
    audience           text NOT NULL DEFAULT '',
    reach              integer CHECK (reach IS NULL OR reach >= 0),
    subject            text NOT NULL,
    summary            text NOT NULL DEFAULT '',
    -- A senior management statement sent out: the signed version it carried.
    policy_version_id  uuid,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, from_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, policy_version_id) REFERENCES policy_versions (org_id, id)
);

CREATE TABLE leadership_asks (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organisations (id),
    asked_of      uuid NOT NULL,
    asked_by      uuid REFERENCES users (id),
    what          text NOT NULL,
    asked_on      date NOT NULL,
    due_on        date,
    response      text NOT NULL DEFAULT '',
    responded_on  date,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, asked_of) REFERENCES people (org_id, id),
    CHECK ((response = '') = (responded_on IS NULL))
);
