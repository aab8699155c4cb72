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
-- layers by the one definition of rows per table, monitor.table_rows()
-- (migration 000301; the web overview and /metrics read it too): rows of
-- tables and materialized views (their partitions and inheritance children
-- included) counted exactly when their data is at most @exact_bytes,
-- which is fast, else NULL and the statistics' estimate is the figure.
-- Views are not counted here.
SELECT t.layer::text AS layer, t.table_name::text AS name, t.kind::text AS kind, t.bytes::bigint AS bytes,
       coalesce(t.rows_exact, t.rows_estimate, 0)::bigint AS row_count, (t.rows_exact IS NULL)::boolean AS estimated
FROM monitor.table_rows(@exact_bytes::bigint) AS t(layer, table_name, kind, bytes, rows_estimate, rows_exact);

-- name: LastExport :one
SELECT r.run_id, r.target, r.status, r.full_export, r.files_written, r.files_removed, r.rows_written,
       r.bytes_written, coalesce(r.error, '')::text AS error, r.started_at, r.finished_at,
       (SELECT max(s.finished_at) FROM meta.export_runs s WHERE s.target = r.target AND s.status = 'succeeded')::timestamptz AS last_succeeded_at
FROM meta.export_runs r ORDER BY r.run_id DESC LIMIT 1;
