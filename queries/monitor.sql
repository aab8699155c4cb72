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
SELECT table_name, rows_estimate
FROM monitor.gold_table_rows
ORDER BY table_name;

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
SELECT layer, table_name, rows_estimate
FROM monitor.table_rows
ORDER BY CASE layer WHEN 'bronze' THEN 0 WHEN 'silver' THEN 1 ELSE 2 END, table_name;

-- name: ListUnmatchedItems :many
-- Item keys of the inputs that match no gold.dim_item row (a sample).
SELECT *
FROM gold.v_items_unmatched
LIMIT sqlc.arg(max_rows)::int;
