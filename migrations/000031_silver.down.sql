DROP TABLE IF EXISTS silver.demand_daily;
DROP TABLE IF EXISTS silver.series_map;
DROP TABLE IF EXISTS silver.item_map;
DROP TABLE IF EXISTS silver.ml_keys;
DROP INDEX IF EXISTS bronze.inventory_date_idx;
DROP INDEX IF EXISTS bronze.ml_forecasts_date_idx;
