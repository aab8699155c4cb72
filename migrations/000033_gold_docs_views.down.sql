DROP VIEW IF EXISTS gold.v_items_unmatched;
DROP VIEW IF EXISTS gold.v_inventory_latest;
DROP VIEW IF EXISTS gold.v_forecast_by_site;
DROP VIEW IF EXISTS gold.v_forecast_accuracy;
-- Comments on the 000004 tables are documentation only and stay.
