-- The nightly job: one row per `novawh run` (command line or scheduler),
-- updated after every step so that a run killed half-way still shows how
-- far it got. The next run marks such rows 'abandoned' (it holds the run
-- lock, so no other run can be alive).
CREATE TABLE meta.runs (
    run_id          bigserial   PRIMARY KEY,
    trigger         text        NOT NULL DEFAULT 'cli'
                    CHECK (trigger IN ('cli', 'schedule', 'api')),
    status          text        NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'ok', 'failed', 'quality_failed', 'abandoned')),
    exit_code       integer,
    failed_step     text,
    error           text,
    schema_version  integer,
    options         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    steps           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    host            text,
    pid             integer,
    started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at     timestamptz,
    CHECK ((status = 'running') = (finished_at IS NULL)),
    CHECK (jsonb_typeof(steps) = 'array')
);
CREATE INDEX runs_started_idx ON meta.runs (started_at DESC);
CREATE INDEX runs_running_idx ON meta.runs (run_id) WHERE status = 'running';
COMMENT ON TABLE meta.runs IS 'One row per novawh run: status, exit code, and each step''s status, counts and duration (steps jsonb array).';
COMMENT ON COLUMN meta.runs.steps IS 'Array of {"name","status","started_at","duration_ms","counts":{...},"error","detail"} in execution order.';
