-- novawh refresh / novawh check (issue 5): bookkeeping of refreshes, of the
-- loads each refresh applied, and of data-quality check results.

CREATE TABLE meta.refreshes (
    refresh_id       bigserial   PRIMARY KEY,
    mode             text        NOT NULL CHECK (mode IN ('full', 'incremental')),
    status           text        NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'ok', 'noop', 'failed')),
    started_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at      timestamptz,
    duration_ms      bigint,
    loads_applied    jsonb       NOT NULL DEFAULT '[]',
    forecast_from    date,
    forecast_to      date,
    inventory_from   date,
    inventory_to     date,
    external_rebuilt boolean     NOT NULL DEFAULT false,
    demand_from      date,
    demand_to        date,
    rows             jsonb       NOT NULL DEFAULT '{}',
    error            text
);
COMMENT ON TABLE meta.refreshes IS 'One row per novawh refresh: mode, loads applied, date windows recomputed, rows written per gold table, duration, outcome.';
COMMENT ON COLUMN meta.refreshes.forecast_from IS 'First fact date recomputed in gold.fact_forecast (agg_forecast_rolling: up to forecast_to + 29 days); NULL with status ok and mode full: everything.';
COMMENT ON COLUMN meta.refreshes.demand_from IS 'First date covered by ERP demand after this refresh (days inside demand_from..demand_to without demand have actual = 0).';
COMMENT ON COLUMN meta.refreshes.rows IS 'Rows written per gold table, e.g. {"gold.fact_forecast": 1234}.';

CREATE TABLE meta.refresh_loads (
    load_id     bigint      PRIMARY KEY REFERENCES meta.loads (load_id) ON DELETE CASCADE,
    refresh_id  bigint      NOT NULL REFERENCES meta.refreshes (refresh_id) ON DELETE CASCADE,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_loads_refresh_idx ON meta.refresh_loads (refresh_id);
COMMENT ON TABLE meta.refresh_loads IS 'Loads already applied to silver and gold, with the refresh that applied them (incremental refreshes apply the others).';

CREATE TABLE meta.check_runs (
    run_id       bigserial   PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    passed       boolean,
    errors       integer     NOT NULL DEFAULT 0,
    warnings     integer     NOT NULL DEFAULT 0
);
COMMENT ON TABLE meta.check_runs IS 'One row per novawh check run; passed = no error-level check failed.';

CREATE TABLE meta.check_results (
    run_id      bigint           NOT NULL REFERENCES meta.check_runs (run_id) ON DELETE CASCADE,
    check_name  text             NOT NULL,
    table_name  text             NOT NULL,
    level       text             NOT NULL CHECK (level IN ('error', 'warn', 'info')),
    observed    double precision NOT NULL,
    threshold   text             NOT NULL,
    passed      boolean          NOT NULL,
    detail      text,
    checked_at  timestamptz      NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (run_id, check_name, table_name)
);
COMMENT ON TABLE meta.check_results IS 'Every data-quality check result: check, table, observed value, threshold, pass/fail and level.';
