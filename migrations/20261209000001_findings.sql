-- Findings as corrective actions (ISO/IEC 27001 clause 10.2). Each rule of
-- the gap engine that fires becomes a tracked finding of the organisation:
-- one row per rule (and record, for rules that report one gap per record), opened when the rule starts firing, resolved by itself
-- when it stops (with the change that cleared it), reopened when it fires
-- again. People add the owner, due date, cause and action taken; top
-- management may accept it as a risk until a day. The history is the audit
-- log (entity 'finding').
CREATE TABLE findings (
    id                 uuid PRIMARY KEY,
    org_id             uuid NOT NULL REFERENCES organisations (id),
    -- The gap engine's rule key, e.g. 'policy_not_signed_by_top_management'.
    rule               text NOT NULL,
    -- What it is about when the rule reports one gap per record (a policy's
    -- or a training module's id); empty for a rule's single gap.
    subject            text NOT NULL DEFAULT '',
    -- As the rule last reported them.
    title              text NOT NULL,
    severity           text NOT NULL CHECK (severity IN ('major', 'minor', 'improvement')),
    requirements       text[] NOT NULL DEFAULT '{}',
    status             text NOT NULL CHECK (status IN ('open', 'accepted', 'resolved')),
    -- The member who sees it through (an account of the organisation).
    owner_id           uuid,
    due_on             date,
    cause              text NOT NULL DEFAULT '',
    action_taken       text NOT NULL DEFAULT '',
    first_opened_at    timestamptz NOT NULL,
    -- When it was last opened (the first time, or the last reopening).
    opened_at          timestamptz NOT NULL,
    reopened_count     integer NOT NULL DEFAULT 0 CHECK (reopened_count >= 0),
    resolved_at        timestamptz,
    -- The audit row of the change after which the rule stopped firing, in words.
    resolved_by_seq    bigint,
    resolved_by        text,
    -- Risk acceptance: by a member of top management, with a reason, until a day.
    accepted_by        uuid,
    accepted_by_name   text,
    accepted_at        timestamptz,
    accepted_until     date,
    acceptance_reason  text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    UNIQUE (org_id, id),
    UNIQUE (org_id, rule, subject),
    FOREIGN KEY (org_id, owner_id) REFERENCES memberships (org_id, user_id),
    FOREIGN KEY (org_id, accepted_by) REFERENCES memberships (org_id, user_id),
    CHECK (status <> 'accepted' OR (accepted_until IS NOT NULL AND accepted_by IS NOT NULL AND accepted_at IS NOT NULL)),
    CHECK (status <> 'resolved' OR resolved_at IS NOT NULL)
);
CREATE INDEX findings_owner_idx ON findings (org_id, owner_id) WHERE status <> 'resolved';

-- How far each organisation's findings follow its records: the records
-- version evaluated (audit_heads.records_seq), the audit row reached (its
-- seq, where the next search for a clearing change starts) and the day
-- they were last brought up to date.
CREATE TABLE finding_syncs (
    org_id           uuid PRIMARY KEY REFERENCES organisations (id),
    synced_version   bigint NOT NULL,
    synced_audit_seq bigint NOT NULL,
    synced_on    date NOT NULL,
    synced_at    timestamptz NOT NULL
);
