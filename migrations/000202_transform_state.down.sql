-- The views and functions of migrations/transform are dropped by
-- `novawh migrate down` before this runs; the next `migrate up` re-applies
-- them (the versions before this migration lived in 000031-000033).
DROP TABLE IF EXISTS silver.supplier_lead_days, silver.supplier_items, silver.supplier_spellings,
    silver.erp_depots, silver.erp_codes, silver.erp_keys, silver.demand_lines;
CREATE TABLE silver.demand_daily (
    date      date             NOT NULL,
    item_id   text             NOT NULL,
    deposito  text,
    quantity  double precision NOT NULL
);
CREATE INDEX demand_daily_date_idx ON silver.demand_daily (date, item_id);
COMMENT ON TABLE silver.demand_daily IS 'silver.stg_demand summed per (date, item_id) (deposito NULL) and per (date, item_id, deposito); kept by refresh.';
ALTER TABLE meta.refreshes DROP COLUMN IF EXISTS table_rows;
DROP TABLE IF EXISTS meta.repeatable_migrations;
COMMENT ON TABLE gold.dim_site IS 'Sites of the ML outputs with their ERP depot code; site_id ''ALL'' is the item-level pseudo-site.';
COMMENT ON COLUMN gold.dim_site.site_id IS 'ML site id (e.g. ''176''); ''ALL'' for item-level rows.';
COMMENT ON COLUMN gold.fact_forecast.actual IS 'Actual quantity: the file''s own actual when given, else ERP demand (DATA SOLICITADO) that day; 0 inside the ERP''s date coverage without demand, NULL outside it or for sites without a depot.';
