-- The ledger's SQL (internal/ledger, generated into internal/ledger/ledgerdb):
-- one row per input in meta.loads, its rejected rows in meta.rejected_rows.

-- name: BeginLoad :one
-- An input's row, status running, inserted in the input's own transaction.
INSERT INTO meta.loads
    (source, file_name, file_sha256, file_bytes, target_table, model_version, generated_at, ml_source, dataset_id)
VALUES (@source, @file_name, @file_sha256, @file_bytes, @target_table,
        nullif(@model_version::text, ''), sqlc.narg('generated_at'), nullif(@ml_source::text, ''), nullif(@dataset_id::text, ''))
RETURNING load_id;

-- name: SetLoadContent :exec
-- The sha256 and size of an input hashed while it loaded.
UPDATE meta.loads SET file_sha256 = @file_sha256, file_bytes = @file_bytes WHERE load_id = @load_id;

-- name: FinishLoad :exec
UPDATE meta.loads
SET status = 'loaded', rows_read = @rows_read, rows_loaded = @rows_loaded, rows_rejected = @rows_rejected,
    min_date = sqlc.narg('min_date'), max_date = sqlc.narg('max_date'), lines_read = sqlc.narg('lines_read'),
    finished_at = clock_timestamp()
WHERE load_id = @load_id;

-- name: RecordLoad :one
-- A failed or skipped input, written in its own transaction.
INSERT INTO meta.loads
    (source, file_name, file_sha256, file_bytes, target_table, status, rows_read, rows_loaded, rows_rejected,
     model_version, generated_at, ml_source, dataset_id, error, lines_read, finished_at)
VALUES (@source, @file_name, @file_sha256, @file_bytes, @target_table, @status, @rows_read, @rows_loaded, @rows_rejected,
        nullif(@model_version::text, ''), sqlc.narg('generated_at'), nullif(@ml_source::text, ''), nullif(@dataset_id::text, ''),
        @error, sqlc.narg('lines_read'), clock_timestamp())
RETURNING load_id;

-- name: FindLoadedInput :one
-- The latest successful load of the same content for the source; when
-- file_name is not empty, only one of that name (a pull window: same URL).
SELECT load_id FROM meta.loads
WHERE source = @source AND file_sha256 = @file_sha256 AND status = 'loaded'
  AND (@file_name::text = '' OR file_name = @file_name::text)
ORDER BY load_id DESC
LIMIT 1;
