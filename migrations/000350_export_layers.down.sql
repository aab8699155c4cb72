ALTER TABLE meta.rejected_rows DROP COLUMN IF EXISTS raw_pruned_at;
DROP TABLE IF EXISTS meta.export_loads;
ALTER TABLE meta.export_runs
    DROP COLUMN IF EXISTS layers,
    DROP COLUMN IF EXISTS raw_responses_pruned,
    DROP COLUMN IF EXISTS rejected_rows_pruned;
ALTER TABLE meta.export_runs DROP CONSTRAINT IF EXISTS export_runs_partition_by_check;
UPDATE meta.export_runs SET partition_by = 'day' WHERE partition_by NOT IN ('day', 'month');
ALTER TABLE meta.export_runs ADD CONSTRAINT export_runs_partition_by_check CHECK (partition_by IN ('day', 'month'));
