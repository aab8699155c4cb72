-- The refresh ledger (meta.refreshes, meta.refresh_loads): static SQL read
-- and written by internal/refresh through sqlc (package refreshdb).

-- name: SweepAbandonedRefreshes :execrows
-- The caller holds the refresh lock: a refresh still running belongs to a
-- dead process.
UPDATE meta.refreshes SET status = 'abandoned', finished_at = clock_timestamp(),
    duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::bigint,
    error = coalesce(error, sqlc.arg(reason)::text)
WHERE status = 'running';

-- name: StartRefresh :one
INSERT INTO meta.refreshes (mode) VALUES (sqlc.arg(mode)) RETURNING refresh_id;

-- name: PendingLoads :many
-- Loaded loads no refresh has applied yet.
SELECT load_id FROM meta.loads l
WHERE status = 'loaded' AND NOT EXISTS (SELECT 1 FROM meta.refresh_loads a WHERE a.load_id = l.load_id)
ORDER BY load_id;

-- name: RecordAppliedLoads :exec
INSERT INTO meta.refresh_loads (load_id, refresh_id)
SELECT unnest(sqlc.arg(load_ids)::bigint[]), sqlc.arg(refresh_id)::bigint
ON CONFLICT (load_id) DO NOTHING;

-- name: FinishRefresh :exec
UPDATE meta.refreshes SET status = sqlc.arg(status), finished_at = clock_timestamp(),
    duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::bigint,
    loads_applied = sqlc.arg(loads_applied), forecast_from = sqlc.narg(forecast_from), forecast_to = sqlc.narg(forecast_to),
    inventory_from = sqlc.narg(inventory_from), inventory_to = sqlc.narg(inventory_to),
    external_rebuilt = sqlc.arg(external_rebuilt), demand_from = sqlc.narg(demand_from), demand_to = sqlc.narg(demand_to),
    rows = sqlc.arg(rows), table_rows = sqlc.arg(table_rows)
WHERE refresh_id = sqlc.arg(refresh_id);

-- name: FailRefresh :exec
UPDATE meta.refreshes SET status = 'failed', error = sqlc.arg(error), finished_at = clock_timestamp(),
    duration_ms = (extract(epoch FROM clock_timestamp() - started_at) * 1000)::bigint
WHERE refresh_id = sqlc.arg(refresh_id) AND status = 'running';

-- name: SetRefreshMemory :exec
-- Sorts and hashes of a rebuild spill less with more memory; index builds
-- after the data use maintenance_work_mem. JIT off: the refresh's
-- statements are either small (the daily case, where compiling a plan the
-- planner costs high, e.g. from a row estimate of a whole table, took 0.8 s
-- of a 10 ms write) or bulk writes that measured no faster with it. All
-- last for the transaction.
SELECT set_config('work_mem', sqlc.arg(sort_mem)::text, true), set_config('maintenance_work_mem', sqlc.arg(index_mem)::text, true),
       set_config('jit', 'off', true);

-- name: RefreshSilver :one
-- Bronze -> silver (migrations/transform/R__190_silver_refresh.sql).
SELECT silver.refresh(sqlc.narg(loads)::bigint[], sqlc.arg(rebuild)::boolean)::jsonb AS changes;

-- name: RefreshGold :one
-- Silver -> gold (migrations/transform/R__290_gold_refresh.sql).
SELECT gold.refresh(sqlc.arg(changes)::jsonb, sqlc.arg(rebuild)::boolean)::jsonb AS result;
