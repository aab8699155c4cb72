-- The warehouse's own state for GET /metrics, read through the monitor
-- views (migration 000300) the read-only role may select.

-- name: ListSourceFreshness :many
SELECT source, last_success_at, last_failure_at, loads, last_status, last_rows_loaded, last_rows_rejected
FROM monitor.source_freshness
ORDER BY source;

-- name: GetLastRun :one
SELECT run_id, trigger, status, exit_code, failed_step, started_at, finished_at, duration_seconds
FROM monitor.last_run;

-- name: ListExportFreshness :many
SELECT target, last_success_at, last_failure_at
FROM monitor.export_freshness
ORDER BY target;

-- name: ListGoldTableRows :many
-- Rows of every gold table by the one definition of rows per table,
-- monitor.table_rows() (migration 000301): counted exactly when the table
-- is small (estimated false), else the statistics' estimate.
SELECT t.table_name::text AS table_name, coalesce(t.rows_exact, t.rows_estimate, 0)::bigint AS row_count, (t.rows_exact IS NULL)::boolean AS estimated
FROM monitor.table_rows(layers => ARRAY['gold']::text[]) AS t(layer, table_name, kind, bytes, rows_estimate, rows_exact)
WHERE t.kind <> 'view'
ORDER BY t.table_name;

-- name: ListRuns :many
SELECT run_id, trigger, status, exit_code, failed_step, error, started_at, finished_at, duration_seconds
FROM monitor.runs
ORDER BY run_id DESC
LIMIT sqlc.arg(max_rows)::int;

-- name: GetRun :one
SELECT run_id, trigger, status, exit_code, failed_step, error, started_at, finished_at, duration_seconds
FROM monitor.runs
WHERE run_id = sqlc.arg(run_id);

-- name: ListRunSteps :many
-- The steps of some runs, in order.
SELECT run_id, step_no, name, status, duration_ms, counts, note, error
FROM monitor.run_steps
WHERE run_id = ANY (sqlc.arg(run_ids)::bigint[])
ORDER BY run_id DESC, step_no;

-- name: ListRunRejectedRows :many
-- A sample of the rows rejected by the inputs a run loaded (those started
-- while it ran), by input and line.
SELECT load_id, source, file_name, line, column_name, reason, raw
FROM monitor.rejected_rows
WHERE started_at >= sqlc.arg(run_started)::timestamptz
  AND started_at <= coalesce(sqlc.narg(run_finished)::timestamptz, 'infinity')
ORDER BY load_id, line
LIMIT sqlc.arg(max_rows)::int;

-- name: ListLatestChecks :many
-- The newest check run's results, failing errors first.
SELECT check_name, table_name, level, observed, threshold, passed, detail
FROM monitor.latest_checks
ORDER BY passed, CASE level WHEN 'error' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END, check_name, table_name;

-- name: ListTableRows :many
-- Rows of every bronze, silver and gold table (monitor.table_rows(),
-- migration 000301): exact when small, else the statistics' estimate.
SELECT t.layer::text AS layer, t.table_name::text AS table_name, t.kind::text AS kind, t.bytes::bigint AS bytes,
       coalesce(t.rows_exact, t.rows_estimate, 0)::bigint AS row_count, (t.rows_exact IS NULL)::boolean AS estimated
FROM monitor.table_rows(layers => ARRAY['bronze', 'silver', 'gold']::text[]) AS t(layer, table_name, kind, bytes, rows_estimate, rows_exact)
WHERE t.kind <> 'view';

-- name: ListUnmatchedItems :many
-- Item keys of the inputs that match no gold.dim_item row (a sample).
SELECT *
FROM gold.v_items_unmatched
LIMIT sqlc.arg(max_rows)::int;
