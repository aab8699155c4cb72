DROP INDEX IF EXISTS gold.fact_forecast_item_level_date_idx;
