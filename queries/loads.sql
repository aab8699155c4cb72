-- name: GetLoad :one
SELECT * FROM meta.loads WHERE load_id = $1;

-- name: ListRecentLoads :many
SELECT load_id, source, file_name, status, rows_read, rows_loaded, rows_rejected, started_at, finished_at, error
FROM meta.loads
ORDER BY load_id DESC
LIMIT $1;

-- name: ListRejectedRows :many
SELECT line, column_name, reason, raw FROM meta.rejected_rows
WHERE load_id = $1
ORDER BY line;
