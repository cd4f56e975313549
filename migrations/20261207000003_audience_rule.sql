-- Who a policy or a training module is for, stated once: every query that
-- asks whether a person is in an audience calls this function (the planner
-- inlines it, so it costs what the condition written out cost). Its Rust
-- twin, for one person at a time, is `people::audience::Audience::includes`;
-- a test runs both on every kind of audience and person and finds them equal.
CREATE FUNCTION in_audience(audience text, departments text[], kind text, line_manager boolean, department text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE audience WHEN 'all_staff' THEN true
                         WHEN 'employees' THEN kind = 'employee'
                         WHEN 'contractors' THEN kind = 'contractor'
                         WHEN 'managers' THEN line_manager
                         WHEN 'departments' THEN department = ANY(departments)
                         ELSE false END
$$;
