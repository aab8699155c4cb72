-- Parquet exports of gold (novawh export): one row per run, and per target
-- and table the state the next incremental export starts from.
CREATE TABLE meta.export_runs (
    run_id          bigserial   PRIMARY KEY,
    target          text        NOT NULL,            -- absolute folder or s3://bucket/prefix
    full_export     boolean     NOT NULL,
    partition_by    text        NOT NULL CHECK (partition_by IN ('day', 'month')),
    compression     text        NOT NULL CHECK (compression IN ('snappy', 'zstd')),
    tables          text[]      NOT NULL DEFAULT '{}',
    status          text        NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'succeeded', 'failed')),
    files_written   bigint      NOT NULL DEFAULT 0,
    files_removed   bigint      NOT NULL DEFAULT 0,
    rows_written    bigint      NOT NULL DEFAULT 0,
    bytes_written   bigint      NOT NULL DEFAULT 0,
    error           text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX export_runs_target_idx ON meta.export_runs (target, run_id);
COMMENT ON TABLE meta.export_runs IS 'One row per novawh export run: target, options, files and rows written, outcome.';

CREATE TABLE meta.export_tables (
    target           text        NOT NULL,
    table_name       text        NOT NULL,           -- e.g. 'gold.fact_forecast'
    last_change_id   bigint      NOT NULL DEFAULT 0, -- highest meta.gold_changes.change_id the files include
    last_load_id     bigint,                         -- newest loaded meta.loads row visible to the export
    partition_by     text        NOT NULL,           -- day, month or none (dimensions)
    compression      text        NOT NULL,
    schema_sha256    text        NOT NULL,
    manifest_sha256  text        NOT NULL,
    files            integer     NOT NULL DEFAULT 0,
    rows             bigint      NOT NULL DEFAULT 0,
    bytes            bigint      NOT NULL DEFAULT 0,
    run_id           bigint      NOT NULL REFERENCES meta.export_runs (run_id),
    exported_at      timestamptz NOT NULL,
    PRIMARY KEY (target, table_name)
);
COMMENT ON TABLE meta.export_tables IS 'Per export target and gold table: the change_id and manifest of the last published export (incremental exports start there).';
