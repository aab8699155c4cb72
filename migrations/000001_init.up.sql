-- Layers, roles and the load ledger.
CREATE SCHEMA IF NOT EXISTS bronze;
CREATE SCHEMA IF NOT EXISTS silver;
CREATE SCHEMA IF NOT EXISTS gold;
CREATE SCHEMA IF NOT EXISTS meta;

COMMENT ON SCHEMA bronze IS 'Raw, typed, append-only copies of every input; one _load_id per input file or pull window.';
COMMENT ON SCHEMA silver IS 'Cleaned, de-duplicated (latest load wins) views of bronze.';
COMMENT ON SCHEMA gold IS 'Star schema and precomputed aggregates read by dashboards, analysts and exports.';
COMMENT ON SCHEMA meta IS 'Bookkeeping: loads, rejected rows, watermarks, refreshes, checks, exports and runs.';

-- Roles are cluster-wide: create them only when missing so that several
-- databases of one cluster (tests, demo) can all be migrated, even at the
-- same moment (a concurrent creation raises duplicate_object or
-- unique_violation, which means the role exists).
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['novawh_loader', 'novawh_reader'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$$;

GRANT USAGE, CREATE ON SCHEMA bronze, silver, gold, meta TO novawh_loader;
GRANT USAGE ON SCHEMA gold TO novawh_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA bronze, silver, gold, meta GRANT ALL ON TABLES TO novawh_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA bronze, silver, gold, meta GRANT ALL ON SEQUENCES TO novawh_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA bronze, silver, gold, meta GRANT EXECUTE ON FUNCTIONS TO novawh_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA gold GRANT SELECT ON TABLES TO novawh_reader;

-- One row per input: a file, or one window of an HTTP pull.
CREATE TABLE meta.loads (
    load_id        bigserial PRIMARY KEY,
    source         text        NOT NULL,
    file_name      text        NOT NULL,
    file_sha256    text        NOT NULL,
    file_bytes     bigint,
    status         text        NOT NULL DEFAULT 'running'
                   CHECK (status IN ('running', 'loaded', 'failed', 'skipped')),
    rows_read      bigint      NOT NULL DEFAULT 0,
    rows_loaded    bigint      NOT NULL DEFAULT 0,
    rows_rejected  bigint      NOT NULL DEFAULT 0,
    min_date       date,
    max_date       date,
    target_table   text,
    model_version  text,
    generated_at   timestamptz,
    ml_source      text,
    dataset_id     text,
    error          text,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    CONSTRAINT loads_rows_balance CHECK (status <> 'loaded' OR rows_read = rows_loaded + rows_rejected)
);
CREATE INDEX loads_source_sha_idx ON meta.loads (source, file_sha256) WHERE status = 'loaded';
CREATE INDEX loads_finished_idx ON meta.loads (finished_at);
COMMENT ON TABLE meta.loads IS 'Ledger: one row per input file or pull window, with row accounting (rows_read = rows_loaded + rows_rejected).';

-- Rows that failed validation: nothing is dropped silently.
CREATE TABLE meta.rejected_rows (
    load_id      bigint NOT NULL REFERENCES meta.loads (load_id) ON DELETE CASCADE,
    line         bigint NOT NULL,
    column_name  text,
    reason       text   NOT NULL,
    raw          text   NOT NULL,
    PRIMARY KEY (load_id, line)
);
COMMENT ON TABLE meta.rejected_rows IS 'Rows rejected by validation, with their line number, raw text and a reason naming the column.';
