-- silver.site_map becomes a table kept by refresh (a snapshot of the view
-- silver.site_map_v, like series_map): fact builds join a small table with
-- statistics instead of re-evaluating the depot resolution per row.
DROP VIEW IF EXISTS silver.site_map CASCADE;
CREATE TABLE silver.site_map (
    deposito  text    PRIMARY KEY,
    site_id   text    NOT NULL,
    ml_site   boolean NOT NULL
);
COMMENT ON TABLE silver.site_map IS 'Every depot (ERP DEPÓSITO, '''' = blank, and ML depots) with the gold site_id its demand belongs to; snapshot of silver.site_map_v taken by each refresh.';
