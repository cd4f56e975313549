-- Management's statement on security is communicated, not signed for by
-- every person: like the training plan and the disciplinary process, it may
-- be published without a reason being given (docs/RULES.md, "Calibrations").
-- Statements already in the register keep the audience they were given.
CREATE OR REPLACE FUNCTION policy_audience(kind text, audience text, reason text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN audience = 'all_staff' THEN 'all_staff'
                WHEN btrim(reason) <> '' THEN audience
                WHEN audience = 'published' AND kind IN ('training_plan', 'disciplinary_process', 'management_statement') THEN 'published'
                ELSE 'all_staff' END
$$;
