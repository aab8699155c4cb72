-- The lake: exports of bronze, silver and gold (novawh export --layers), the
-- file-size rule (partition_by auto or none), and the bronze retention.

ALTER TABLE meta.export_runs DROP CONSTRAINT IF EXISTS export_runs_partition_by_check;
ALTER TABLE meta.export_runs ADD CONSTRAINT export_runs_partition_by_check
    CHECK (partition_by IN ('auto', 'day', 'month', 'none'));
ALTER TABLE meta.export_runs
    ADD COLUMN layers               text[] NOT NULL DEFAULT '{gold}',
    ADD COLUMN raw_responses_pruned bigint NOT NULL DEFAULT 0,
    ADD COLUMN rejected_rows_pruned bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN meta.export_runs.layers IS 'Layers the run exported (bronze, silver, gold).';
COMMENT ON COLUMN meta.export_runs.raw_responses_pruned IS 'bronze.raw_responses rows the bronze retention deleted in this run.';
COMMENT ON COLUMN meta.export_runs.rejected_rows_pruned IS 'meta.rejected_rows texts the bronze retention cleared in this run.';
COMMENT ON COLUMN meta.export_tables.target IS 'The layer''s root: a folder (<to>/<layer>) or s3://bucket[/prefix].';

-- Per bronze export target, table and load: the rows and checksum of the
-- load as exported, and when the published files were read back and found
-- equal to their manifest. The retention prunes raw data only for verified
-- loads whose rows still match.
CREATE TABLE meta.export_loads (
    target       text        NOT NULL,  -- the bronze layer's root
    table_name   text        NOT NULL,  -- e.g. 'bronze.raw_responses'
    load_id      bigint      NOT NULL,
    day          date        NOT NULL,  -- the day (UTC) the load started: its bronze partition
    partition    text        NOT NULL,  -- key of the partition holding its rows
    rows         bigint      NOT NULL,
    checksum     text        NOT NULL,  -- rows:sum of hashtextextended(row::text, 0)
    run_id       bigint      NOT NULL REFERENCES meta.export_runs (run_id),
    exported_at  timestamptz NOT NULL,
    verified_at  timestamptz,
    pruned_at    timestamptz,
    PRIMARY KEY (target, table_name, load_id)
);
CREATE INDEX export_loads_unverified_idx ON meta.export_loads (target) WHERE verified_at IS NULL;
COMMENT ON TABLE meta.export_loads IS 'Per bronze export target, table and load: rows and checksum as exported, when the files were verified, when its raw data was pruned.';
COMMENT ON COLUMN meta.export_loads.verified_at IS 'When the published files holding the load were read back and matched their manifest.';
COMMENT ON COLUMN meta.export_loads.pruned_at IS 'When the bronze retention removed the load''s raw data from PostgreSQL.';

-- Rejected rows keep their line, column and reason; the retention clears
-- the raw text of old ones.
ALTER TABLE meta.rejected_rows ADD COLUMN raw_pruned_at timestamptz;
COMMENT ON COLUMN meta.rejected_rows.raw_pruned_at IS 'When the bronze retention cleared raw (then empty) after a verified export held it.';
