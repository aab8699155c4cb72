-- meta.runs: one row per nightly run (internal/run).

-- name: InsertRun :one
INSERT INTO meta.runs (trigger, schema_version, options, host, pid)
VALUES (@trigger, @schema_version, @options, @host, @pid)
RETURNING run_id, started_at;

-- name: MarkAbandonedRuns :execrows
-- Called under the run lock: a row still 'running', other than this run's,
-- belongs to a process that died.
UPDATE meta.runs SET status = 'abandoned', finished_at = clock_timestamp(),
    error = coalesce(error, 'the process ended before finishing (killed, crashed or lost its database connection)')
WHERE status = 'running' AND run_id <> @run_id;

-- name: SaveRunSteps :exec
UPDATE meta.runs SET steps = @steps WHERE run_id = @run_id;

-- name: FinishRun :execrows
UPDATE meta.runs SET status = @status, exit_code = @exit_code, failed_step = nullif(@failed_step::text, ''),
    error = nullif(@error::text, ''), steps = @steps, finished_at = clock_timestamp()
WHERE run_id = @run_id AND status = 'running';

-- name: RunningRun :one
SELECT run_id, started_at, coalesce(host, '')::text AS host, coalesce(pid, 0)::integer AS pid
FROM meta.runs WHERE status = 'running' ORDER BY run_id DESC LIMIT 1;
