-- The warehouse's own state for GET /metrics, read through the monitor
-- views (migration 000300) the read-only role may select.

-- name: ListSourceFreshness :many
SELECT source, last_success_at, last_failure_at, loads
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
