-- Signatures bound to a leader's passkey (auth::assertion::BoundSignature as
-- JSON: the statement, the authenticator's answer, the public key), one row
-- per act: a policy version signed, minutes signed off, an appointment
-- confirmed, a risk accepted. Written in the transaction of the act;
-- append-only, like the acts they bind.
CREATE TABLE passkey_signatures (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organisations (id),
    record_kind  text NOT NULL CHECK (record_kind IN ('policy_version', 'meeting', 'appointment', 'risk_acceptance')),
    record_id    uuid NOT NULL,
    user_id      uuid NOT NULL REFERENCES users (id),
    signature    jsonb NOT NULL,
    signed_at    timestamptz NOT NULL
);
CREATE INDEX passkey_signatures_record_idx ON passkey_signatures (org_id, record_kind, record_id);

CREATE FUNCTION passkey_signatures_are_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'A passkey signature is final: it is never changed or removed.' USING ERRCODE = 'MF001';
END;
$$;
CREATE TRIGGER passkey_signatures_final BEFORE UPDATE OR DELETE ON passkey_signatures
    FOR EACH ROW EXECUTE FUNCTION passkey_signatures_are_final();
