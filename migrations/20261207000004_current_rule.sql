-- Who is current staff on a day, stated once: started by then (or no start
-- date recorded) and not yet left (the end date is the first day they no
-- longer work here). Queries call it instead of writing the condition out;
-- the planner inlines it. Its Rust twin is `people::model::is_current`; a test
-- checks both agree.
CREATE FUNCTION is_current_on(start_on date, end_on date, day date)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (start_on IS NULL OR start_on <= day) AND (end_on IS NULL OR end_on > day)
$$;
