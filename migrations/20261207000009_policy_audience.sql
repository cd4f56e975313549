-- Who a policy asks to acknowledge it. Under A.5.4 personnel include
-- contractors: an audience narrower than all staff counts only when the
-- policy says why (audience_reason); otherwise everyone is asked. Some
-- documents are approved and published rather than acknowledged: a training
-- plan or a disciplinary process is "published" without a reason, any other
-- kind with one; then nobody is asked, and publication is the evidence.
ALTER TABLE policies DROP CONSTRAINT policies_audience_check;
ALTER TABLE policies ADD CONSTRAINT policies_audience_check
    CHECK (audience IN ('all_staff', 'employees', 'contractors', 'managers', 'departments', 'published'));
ALTER TABLE policies ADD COLUMN audience_reason text NOT NULL DEFAULT '';

-- The audience that counts (see above), for `in_audience`.
CREATE FUNCTION policy_audience(kind text, audience text, reason text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN audience = 'all_staff' THEN 'all_staff'
                WHEN btrim(reason) <> '' THEN audience
                WHEN audience = 'published' AND kind IN ('training_plan', 'disciplinary_process') THEN 'published'
                ELSE 'all_staff' END
$$;
