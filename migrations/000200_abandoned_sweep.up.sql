-- Issue 11.10: a refresh or a check run whose process dies (killed, crashed,
-- lost its connection) leaves its meta row 'running'. The next refresh (or
-- check run) holds the same advisory lock, so no other one can be alive:
-- it marks such rows 'abandoned', with a reason and finished_at.

ALTER TABLE meta.refreshes DROP CONSTRAINT refreshes_status_check;
ALTER TABLE meta.refreshes ADD CONSTRAINT refreshes_status_check
    CHECK (status IN ('running', 'ok', 'noop', 'failed', 'abandoned'));
COMMENT ON COLUMN meta.refreshes.status IS 'running, ok, noop (nothing to apply), failed (error recorded), abandoned (the process died; marked by the next refresh).';

-- Check runs get the same life cycle: running -> finished | failed | abandoned.
ALTER TABLE meta.check_runs
    ADD COLUMN status text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'finished', 'failed', 'abandoned')),
    ADD COLUMN error text;
UPDATE meta.check_runs SET status = 'finished' WHERE finished_at IS NOT NULL;
CREATE INDEX check_runs_running_idx ON meta.check_runs (run_id) WHERE status = 'running';
CREATE INDEX refreshes_running_idx ON meta.refreshes (refresh_id) WHERE status = 'running';
COMMENT ON COLUMN meta.check_runs.status IS 'running, finished (every check ran: see passed), failed (the run stopped on an error, see error), abandoned (the process died; marked by the next check run).';
COMMENT ON COLUMN meta.check_runs.error IS 'Why the run failed or was abandoned.';
