-- When a record came to exist is read as it is recorded now, in every
-- `<table>_on(org, cut)`. A record's `created_at` changes only to date it
-- back (a signature given on paper before Mandate makes its policy, role,
-- meeting or appointment exist from the day it was signed), and such a
-- change keeps no history; so the row as it stood at `cut` takes its
-- creation time from the row as it is, except a row since deleted, which
-- keeps its own. Everything else is read as before.
DO $do$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('organisations', 't.id::text'),
        ('people', 't.id::text'),
        ('requirement_states', 't.requirement_id::text'),
        ('isms_roles', 't.id::text'),
        ('role_appointments', 't.id::text'),
        ('raci_activities', 't.id::text'),
        ('raci_cells', 't.activity_id::text || '':'' || t.role_id::text'),
        ('policies', 't.id::text'),
        ('training_modules', 't.id::text'),
        ('meetings', 't.id::text'),
        ('objectives', 't.id::text'),
        ('action_items', 't.id::text'),
        ('leadership_asks', 't.id::text'),
        ('resource_decisions', 't.id::text'),
        ('communications', 't.id::text'),
        ('evidence_items', 't.id::text'),
        ('evidence_links', 't.item_id::text || '':'' || t.target_kind || '':'' || t.target_id::text')
    ) AS v(tbl, key_sql)
    LOOP
        EXECUTE format($f$
            CREATE OR REPLACE FUNCTION %1$I(org uuid, cut timestamptz) RETURNS SETOF %2$I
            LANGUAGE sql STABLE AS $body$
                SELECT t.* FROM %2$I t
                 WHERE t.%5$I = org
                   AND NOT EXISTS (SELECT 1 FROM history h WHERE h.org_id = org AND h.tbl = %3$L AND h.row_key = %4$s AND h.changed_at >= cut)
                UNION ALL
                SELECT r.* FROM (SELECT DISTINCT ON (h.row_key) h.row_key, h.old FROM history h
                                  WHERE h.org_id = org AND h.tbl = %3$L AND h.changed_at >= cut
                                  ORDER BY h.row_key, h.changed_at, h.seq) f
                 LEFT JOIN %2$I t ON t.%5$I = org AND %4$s = f.row_key
                 CROSS JOIN LATERAL jsonb_populate_record(t, CASE WHEN (%4$s) IS NULL THEN f.old ELSE f.old - 'created_at' END) r
                 WHERE f.old IS NOT NULL
            $body$
            $f$, t.tbl || '_on', t.tbl, t.tbl, t.key_sql, CASE WHEN t.tbl = 'organisations' THEN 'id' ELSE 'org_id' END);
    END LOOP;
END;
$do$;
