-- Values as they stood on a day. Records that are edited in place (a
-- person's end date and title, a requirement's owner and status, a role's
-- texts, its holders, a policy's audience, ...) keep every value they had:
-- each change appends the row as it was just before it, with the moment it
-- changed. An evaluation as of a day reads, for each such table, the row as
-- it stood at the end of that day (`<table>_on(org, cut)`).
--
-- When a change happened is the application's time, never the database's:
-- the `updated_at` the change stamps, or `mandate.now` when the write set it
-- (deletions, and tables without `updated_at`). A change that says neither
-- is bookkeeping (back-dating a record's creation, say) and keeps no
-- history. Seeding the demo or a generated organisation sets
-- `mandate.history = 'off'`: their records are as if they had always been so.
CREATE TABLE history (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organisations (id),
    tbl         text NOT NULL,
    -- The row's key as text (its columns joined by ':').
    row_key     text NOT NULL,
    changed_at  timestamptz NOT NULL,
    -- The row just before the change; NULL when the change created it.
    old         jsonb
);
CREATE INDEX history_row_idx ON history (org_id, tbl, row_key, changed_at);
CREATE INDEX history_time_idx ON history (org_id, tbl, changed_at);

CREATE FUNCTION history_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'history is append-only';
END;
$$;
CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON history
    FOR EACH ROW EXECUTE FUNCTION history_is_append_only();

-- Arguments: the key columns. Attached AFTER INSERT only to tables whose
-- rows carry no creation time (so "did not exist yet" needs recording).
CREATE FUNCTION keep_history() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    o jsonb;
    n jsonb;
    k text[] := '{}';
    c text;
    at timestamptz;
BEGIN
    IF current_setting('mandate.history', true) = 'off' THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN o := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN n := to_jsonb(NEW); END IF;
    IF TG_OP = 'UPDATE' AND (o - 'updated_at' - 'created_at') = (n - 'updated_at' - 'created_at') THEN
        RETURN NULL;
    END IF;
    at := NULLIF(current_setting('mandate.now', true), '')::timestamptz;
    IF at IS NULL AND TG_OP = 'INSERT' THEN
        at := (n ->> 'updated_at')::timestamptz;
    ELSIF at IS NULL AND TG_OP = 'UPDATE' AND (n -> 'updated_at') IS DISTINCT FROM (o -> 'updated_at') THEN
        at := (n ->> 'updated_at')::timestamptz;
    END IF;
    IF at IS NULL THEN
        RETURN NULL;
    END IF;
    FOREACH c IN ARRAY TG_ARGV LOOP
        k := k || (COALESCE(n, o) ->> c);
    END LOOP;
    INSERT INTO history (org_id, tbl, row_key, changed_at, old)
    VALUES ((COALESCE(n, o) ->> CASE WHEN TG_TABLE_NAME = 'organisations' THEN 'id' ELSE 'org_id' END)::uuid, TG_TABLE_NAME, array_to_string(k, ':'), at, o);
    RETURN NULL;
END;
$$;

-- The tracked tables, their key and whether creation is recorded; and for
-- each, `<table>_on(org, cut)`: its rows as they stood just before `cut`.
-- A row changed since then is read from the first change after `cut` (the
-- row as it was before that change); a row created by that change (an empty
-- `old`) did not exist yet. Every other row is read as it stands. A column
-- added after a change was kept reads as the row's current value (or NULL
-- for a row since deleted), so adding a column needs no rewrite of history.
DO $do$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('organisations', ARRAY['id'], 't.id::text', false),
        ('people', ARRAY['id'], 't.id::text', false),
        ('requirement_states', ARRAY['requirement_id'], 't.requirement_id::text', true),
        ('isms_roles', ARRAY['id'], 't.id::text', false),
        ('role_appointments', ARRAY['id'], 't.id::text', false),
        ('raci_activities', ARRAY['id'], 't.id::text', false),
        ('raci_cells', ARRAY['activity_id', 'role_id'], 't.activity_id::text || '':'' || t.role_id::text', true),
        ('policies', ARRAY['id'], 't.id::text', false),
        ('training_modules', ARRAY['id'], 't.id::text', false),
        ('meetings', ARRAY['id'], 't.id::text', false),
        ('objectives', ARRAY['id'], 't.id::text', false),
        ('action_items', ARRAY['id'], 't.id::text', false),
        ('leadership_asks', ARRAY['id'], 't.id::text', false),
        ('resource_decisions', ARRAY['id'], 't.id::text', false),
        ('communications', ARRAY['id'], 't.id::text', false),
        ('evidence_items', ARRAY['id'], 't.id::text', false),
        ('evidence_links', ARRAY['item_id', 'target_kind', 'target_id'],
            't.item_id::text || '':'' || t.target_kind || '':'' || t.target_id::text', false)
    ) AS v(tbl, keys, key_sql, inserts)
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON %I FOR EACH ROW EXECUTE FUNCTION keep_history(%s)',
                       t.tbl || '_history',
                       CASE WHEN t.inserts THEN 'INSERT OR UPDATE OR DELETE' ELSE 'UPDATE OR DELETE' END,
                       t.tbl,
                       (SELECT string_agg(quote_literal(x), ', ') FROM unnest(t.keys) x));
        EXECUTE format($f$
            CREATE FUNCTION %1$I(org uuid, cut timestamptz) RETURNS SETOF %2$I
            LANGUAGE sql STABLE AS $body$
                SELECT t.* FROM %2$I t
                 WHERE t.%5$I = org
                   AND NOT EXISTS (SELECT 1 FROM history h WHERE h.org_id = org AND h.tbl = %3$L AND h.row_key = %4$s AND h.changed_at >= cut)
                UNION ALL
                SELECT r.* FROM (SELECT DISTINCT ON (h.row_key) h.row_key, h.old FROM history h
                                  WHERE h.org_id = org AND h.tbl = %3$L AND h.changed_at >= cut
                                  ORDER BY h.row_key, h.changed_at, h.seq) f
                 LEFT JOIN %2$I t ON t.%5$I = org AND %4$s = f.row_key
                 CROSS JOIN LATERAL jsonb_populate_record(t, f.old) r
                 WHERE f.old IS NOT NULL
            $body$
            $f$, t.tbl || '_on', t.tbl, t.tbl, t.key_sql, CASE WHEN t.tbl = 'organisations' THEN 'id' ELSE 'org_id' END);
    END LOOP;
END;
$do$;
