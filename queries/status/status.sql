-- novawh status (internal/status): every query is read-only.

-- name: DatabaseName :one
SELECT current_database()::text;

-- name: RelationExists :one
SELECT (to_regclass(@name::text) IS NOT NULL)::boolean AS exists;

-- name: LastRuns :many
SELECT run_id, trigger, status, exit_code, coalesce(failed_step, '')::text AS failed_step, coalesce(error, '')::text AS error,
       started_at, finished_at, steps
FROM meta.runs ORDER BY run_id DESC LIMIT @runs;

-- name: SourceFreshness :many
WITH l AS (
    SELECT source,
           count(*) FILTER (WHERE status = 'loaded') AS loads,
           coalesce(sum(rows_loaded) FILTER (WHERE status = 'loaded'), 0)::bigint AS rows_loaded,
           coalesce(sum(rows_rejected) FILTER (WHERE status = 'loaded'), 0)::bigint AS rows_rejected,
           max(finished_at) FILTER (WHERE status = 'loaded') AS last_loaded,
           max(max_date) FILTER (WHERE status = 'loaded') AS max_date,
           (array_agg(status ORDER BY load_id DESC))[1] AS last_status,
           (array_agg(coalesce(error, '') ORDER BY load_id DESC))[1] AS last_error
    FROM meta.loads GROUP BY source
), w AS (
    SELECT source, max(watermark) AS watermark FROM meta.watermarks GROUP BY source
)
SELECT coalesce(l.source, w.source)::text AS source, coalesce(l.loads, 0)::bigint AS loads,
       coalesce(l.rows_loaded, 0)::bigint AS rows_loaded, coalesce(l.rows_rejected, 0)::bigint AS rows_rejected,
       l.last_loaded::timestamptz AS last_loaded, l.max_date::date AS max_date, coalesce(l.last_status, '')::text AS last_status,
       coalesce(l.last_error, '')::text AS last_error, w.watermark::date AS watermark, now()::timestamptz AS checked_at
FROM l FULL JOIN w ON w.source = l.source
ORDER BY 1;

-- name: Relations :many
-- Every table, partitioned table, view and materialized view of the four
-- layers. Rows of tables and materialized views (their partitions and
-- inheritance children included) are counted exactly when their data is at
-- most @exact_bytes, which is fast; larger ones get the statistics'
-- estimate (live rows, else pg_class.reltuples): exact is then -1. Views
-- are not counted here (exact -1).
WITH RECURSIVE rel AS (
    SELECT c.oid, n.nspname::text AS layer, c.relname::text AS name, c.relkind::text AS relkind
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('bronze', 'silver', 'gold', 'meta') AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
), tree AS (
    SELECT rel.oid AS root, rel.oid FROM rel
    UNION ALL
    SELECT tree.root, i.inhrelid FROM tree JOIN pg_catalog.pg_inherits i ON i.inhparent = tree.oid
), sized AS (
    SELECT tree.root, sum(pg_relation_size(tree.oid))::bigint AS bytes,
           sum(CASE WHEN coalesce(s.n_live_tup, 0) > 0 THEN s.n_live_tup
                    WHEN c.reltuples > 0 THEN c.reltuples::bigint ELSE 0 END)::bigint AS estimate
    FROM tree JOIN pg_catalog.pg_class c ON c.oid = tree.oid LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = tree.oid
    GROUP BY tree.root
)
SELECT r.layer, r.name, r.relkind, z.bytes, z.estimate,
       coalesce(CASE WHEN r.relkind IN ('r', 'p', 'm') AND z.bytes <= @exact_bytes::bigint THEN
            (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', r.layer, r.name), false, true, '')))[1]::text::bigint
       END, -1)::bigint AS exact
FROM rel r JOIN sized z ON z.root = r.oid
ORDER BY array_position(ARRAY['bronze', 'silver', 'gold', 'meta'], r.layer), r.name;

-- name: LastExport :one
SELECT r.run_id, r.target, r.status, r.full_export, r.files_written, r.files_removed, r.rows_written,
       r.bytes_written, coalesce(r.error, '')::text AS error, r.started_at, r.finished_at,
       (SELECT max(s.finished_at) FROM meta.export_runs s WHERE s.target = r.target AND s.status = 'succeeded')::timestamptz AS last_succeeded_at
FROM meta.export_runs r ORDER BY r.run_id DESC LIMIT 1;
