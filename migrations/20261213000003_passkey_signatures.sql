-- A signature bound to the signer's passkey (auth::assertion::BoundSignature
-- as JSON: the statement, the authenticator's answer, the public key),
-- kept with the record it signs. Set in the statement that signs; a signed
-- record never changes afterwards (the immutability triggers).
ALTER TABLE policy_versions ADD COLUMN passkey_signature jsonb;
