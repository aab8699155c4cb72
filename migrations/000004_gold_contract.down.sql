DROP TABLE IF EXISTS gold.agg_forecast_rolling;
DROP TABLE IF EXISTS gold.fact_inventory;
DROP TABLE IF EXISTS gold.fact_forecast;
DROP TABLE IF EXISTS gold.dim_time;
DROP TABLE IF EXISTS gold.dim_site;
DROP TABLE IF EXISTS gold.dim_item;
