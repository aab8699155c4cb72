DROP INDEX IF EXISTS meta.refreshes_running_idx;
DROP INDEX IF EXISTS meta.check_runs_running_idx;
ALTER TABLE meta.check_runs DROP COLUMN IF EXISTS error, DROP COLUMN IF EXISTS status;
UPDATE meta.refreshes SET status = 'failed' WHERE status = 'abandoned';
ALTER TABLE meta.refreshes DROP CONSTRAINT refreshes_status_check;
ALTER TABLE meta.refreshes ADD CONSTRAINT refreshes_status_check
    CHECK (status IN ('running', 'ok', 'noop', 'failed'));
COMMENT ON COLUMN meta.refreshes.status IS NULL;
