-- The security log owners read: sign-ins, failures, lock-outs, password
-- changes, role and roster changes, invitations, each with time, account and
-- client address. Account-level events (org_id NULL) show to the owners of
-- every organisation the account belongs to. Append-only.
CREATE TABLE security_events (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    org_id      uuid REFERENCES organisations (id),
    user_id     uuid REFERENCES users (id),
    -- The account as typed or known (a failed sign-in may name no account).
    email       text NOT NULL,
    client_addr text NOT NULL,
    kind        text NOT NULL,
    detail      text NOT NULL DEFAULT ''
);
CREATE INDEX security_events_org_idx ON security_events (org_id, at DESC) WHERE org_id IS NOT NULL;
CREATE INDEX security_events_user_idx ON security_events (user_id, at DESC) WHERE org_id IS NULL;
CREATE INDEX security_events_email_idx ON security_events (lower(email), at DESC) WHERE org_id IS NULL;

CREATE FUNCTION security_events_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'security_events is append-only: % refused', TG_OP;
END;
$$;
CREATE TRIGGER security_events_no_update_delete
    BEFORE UPDATE OR DELETE ON security_events
    FOR EACH ROW EXECUTE FUNCTION security_events_are_append_only();
