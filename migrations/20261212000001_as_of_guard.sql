-- Every `<table>_on(org, cut)` reads a table's rows as they stood at
-- `cut`: the rows unchanged since, plus the older values of rows changed
-- since, from `history`. The second part now runs only when the table has
-- history after `cut` at all (an uncorrelated condition PostgreSQL checks
-- once), so reading the records as they are today (`cut` at the end of the
-- day) costs nothing beyond the rows asked for. Before, PostgreSQL scanned
-- the whole table to match it against no history at all, and did so again
-- for every row of a correlated subquery (a policy's approver, an evidence
-- item's requirements): seconds for a 50,000-person organisation. The
-- results are the same.
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
                   AND EXISTS (SELECT 1 FROM history h WHERE h.org_id = org AND h.tbl = %3$L AND h.changed_at >= cut)
            $body$
            $f$, t.tbl || '_on', t.tbl, t.tbl, t.key_sql, CASE WHEN t.tbl = 'organisations' THEN 'id' ELSE 'org_id' END);
    END LOOP;
END;
$do$;
