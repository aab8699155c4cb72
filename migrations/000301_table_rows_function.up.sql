-- One definition of "rows per table" (issue 14/15 follow-up): novawh status,
-- the web overview and the /metrics gauges all read monitor.table_rows(),
-- which replaces the two reltuples-only views of migration 000300 (they
-- showed 0 rows for a table that holds data until its first ANALYZE).

DROP VIEW monitor.gold_table_rows;
DROP VIEW monitor.table_rows;

CREATE FUNCTION monitor.table_rows(exact_bytes bigint DEFAULT 33554432,
                                   layers text[] DEFAULT ARRAY['bronze', 'silver', 'gold', 'meta'])
RETURNS TABLE (layer text, table_name text, kind text, bytes bigint, rows_estimate bigint, rows_exact bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER -- VOLATILE: EXPLAIN is refused in a STABLE function
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    plan jsonb;
BEGIN
    FOR r IN
        WITH RECURSIVE rel AS (
            SELECT c.oid, n.nspname::text AS layer, c.relname::text AS name, c.relkind::text AS relkind
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY (table_rows.layers) AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
        ), tree AS (
            SELECT rel.oid AS root, rel.oid FROM rel
            UNION ALL
            SELECT tree.root, i.inhrelid FROM tree JOIN pg_inherits i ON i.inhparent = tree.oid
        ), sized AS (
            SELECT tree.root,
                   sum(pg_relation_size(tree.oid))::bigint AS bytes,
                   sum(CASE WHEN coalesce(s.n_live_tup, 0) > 0 THEN s.n_live_tup
                            WHEN c.reltuples > 0 THEN c.reltuples::bigint ELSE 0 END)::bigint AS estimate,
                   -- a member holding data that neither the statistics nor
                   -- an ANALYZE have counted yet (reltuples -1: never
                   -- analyzed or vacuumed; stats not flushed yet)
                   bool_or(c.reltuples < 0 AND coalesce(s.n_live_tup, 0) = 0 AND pg_relation_size(tree.oid) > 0) AS uncounted
            FROM tree JOIN pg_class c ON c.oid = tree.oid LEFT JOIN pg_stat_all_tables s ON s.relid = tree.oid
            GROUP BY tree.root
        )
        SELECT rel.layer, rel.name, rel.relkind, z.bytes, z.estimate, z.uncounted
        FROM rel JOIN sized z ON z.root = rel.oid
        ORDER BY coalesce(array_position(table_rows.layers, rel.layer), 0), rel.name
    LOOP
        layer := r.layer;
        table_name := r.name;
        kind := CASE r.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view' ELSE 'materialized view' END;
        bytes := r.bytes;
        rows_estimate := NULL;
        rows_exact := NULL;
        IF r.relkind <> 'v' THEN
            rows_estimate := r.estimate;
            IF r.uncounted THEN
                -- The planner's own guess from the pages on disk (what it
                -- plans with before the first ANALYZE): no scan.
                EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM %I.%I', r.layer, r.name) INTO plan;
                rows_estimate := greatest(r.estimate, (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric::bigint);
            END IF;
            IF r.bytes <= table_rows.exact_bytes THEN
                EXECUTE format('SELECT count(*) FROM %I.%I', r.layer, r.name) INTO rows_exact;
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

COMMENT ON FUNCTION monitor.table_rows(bigint, text[]) IS
'Rows of every table, partitioned table, materialized view and view of the given layers (default bronze, silver, gold, meta), partitions and inheritance children (load stages) summed into their parent: bytes of data; rows_estimate from the statistics (live tuples, else pg_class.reltuples; before the first ANALYZE the planner''s estimate from the pages on disk); rows_exact = count(*) when the data is at most exact_bytes (default 32 MiB), else NULL. Views: bytes 0, no figures. Runs as its owner so that the read-only role sees every layer; read by novawh status, the web overview and /metrics.';

REVOKE ALL ON FUNCTION monitor.table_rows(bigint, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION monitor.table_rows(bigint, text[]) TO novawh_reader;
