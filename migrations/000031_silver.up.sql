-- Silver (issue 5): the tables refresh keeps in silver. The cleaning views
-- and the functions that fill these tables are defined by the repeatable
-- files of migrations/transform (applied by `novawh migrate up` after the
-- versioned migrations; see docs/ARCHITECTURE.md).

-- Bronze stays append-only; silver reads a date window of the forecasts.
CREATE INDEX IF NOT EXISTS ml_forecasts_date_idx ON bronze.ml_forecasts (date);
CREATE INDEX IF NOT EXISTS inventory_date_idx ON bronze.inventory (date);

CREATE TABLE silver.ml_keys (
    item_raw      text   NOT NULL,
    site_raw      text   NOT NULL,
    series_raw    text   NOT NULL,
    deposito      text,
    region        text,
    familia       text,
    category      text,
    last_load_id  bigint NOT NULL,
    PRIMARY KEY (item_raw, site_raw, series_raw)
);

COMMENT ON TABLE silver.ml_keys IS 'Distinct (item_id, site_id, series_key) triples of ML outputs (blank = absent) with their latest depot, region, familia and category.';

CREATE TABLE silver.item_map (
    norm     text    PRIMARY KEY,
    item_id  text    NOT NULL,
    rank     integer NOT NULL
);

CREATE INDEX item_map_item_idx ON silver.item_map (item_id);

COMMENT ON TABLE silver.item_map IS 'Canonical item_id per matching key (silver.norm_key); rank 1 = ML item id, 2 = ERP FAMÍLIA_MATERIAL, 3 = item master id, 4 = series key only. Snapshot of silver.item_map_v kept by refresh.';

CREATE TABLE silver.series_map (
    item_raw    text NOT NULL,
    site_raw    text NOT NULL,
    series_raw  text NOT NULL,
    item_id     text,
    site_id     text,
    PRIMARY KEY (item_raw, site_raw, series_raw)
);

COMMENT ON TABLE silver.series_map IS 'Snapshot of silver.series_map_v taken by each refresh; facts join it. A changed resolution makes the refresh recompute every date.';

CREATE TABLE silver.demand_daily (
    date      date             NOT NULL,
    item_id   text             NOT NULL,
    deposito  text,
    quantity  double precision NOT NULL
);

CREATE INDEX demand_daily_date_idx ON silver.demand_daily (date, item_id);

COMMENT ON TABLE silver.demand_daily IS 'silver.stg_demand summed per (date, item_id) (deposito NULL) and per (date, item_id, deposito); kept by refresh.';
