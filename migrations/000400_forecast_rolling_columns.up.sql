-- The rolling 7- and 30-day figures become columns of gold.fact_forecast,
-- written by the same statement as the rows, and gold.agg_forecast_rolling
-- becomes a view of them with the columns it always had: a full refresh
-- writes the forecast rows once (one table, its indexes) instead of twice
-- (issue 17). Existing figures are carried over.
ALTER TABLE gold.fact_forecast
    ADD COLUMN forecast_avg_7d    double precision,
    ADD COLUMN actual_avg_7d      double precision,
    ADD COLUMN forecast_total_7d  double precision,
    ADD COLUMN actual_total_7d    double precision,
    ADD COLUMN mape_7d            double precision,
    ADD COLUMN forecast_avg_30d   double precision,
    ADD COLUMN actual_avg_30d     double precision,
    ADD COLUMN forecast_total_30d double precision,
    ADD COLUMN actual_total_30d   double precision,
    ADD COLUMN mape_30d           double precision;

UPDATE gold.fact_forecast f
SET forecast_avg_7d = a.forecast_avg_7d, actual_avg_7d = a.actual_avg_7d,
    forecast_total_7d = a.forecast_total_7d, actual_total_7d = a.actual_total_7d, mape_7d = a.mape_7d,
    forecast_avg_30d = a.forecast_avg_30d, actual_avg_30d = a.actual_avg_30d,
    forecast_total_30d = a.forecast_total_30d, actual_total_30d = a.actual_total_30d, mape_30d = a.mape_30d
FROM gold.agg_forecast_rolling a
WHERE a.item_id = f.item_id AND a.site_id = f.site_id AND a.date = f.date AND a.source = f.source;

-- The repeatable files' views reading it are created again after this.
DROP TABLE gold.agg_forecast_rolling CASCADE;

CREATE VIEW gold.agg_forecast_rolling AS
SELECT date, item_id, site_id, source, forecast, actual,
       forecast_avg_7d, actual_avg_7d, forecast_total_7d, actual_total_7d, mape_7d,
       forecast_avg_30d, actual_avg_30d, forecast_total_30d, actual_total_30d, mape_30d
FROM gold.fact_forecast;
GRANT SELECT ON gold.agg_forecast_rolling TO novawh_reader;

COMMENT ON VIEW gold.agg_forecast_rolling IS 'Rolling 7- and 30-day figures per (date, item_id, site_id, source) over calendar windows ending on date (days without a row are not counted): the rolling columns of gold.fact_forecast.';
COMMENT ON COLUMN gold.agg_forecast_rolling.date IS 'Last day of the windows.';
COMMENT ON COLUMN gold.agg_forecast_rolling.item_id IS 'Item (gold.dim_item.item_id).';
COMMENT ON COLUMN gold.agg_forecast_rolling.site_id IS 'Site; ''ALL'' = item level.';
COMMENT ON COLUMN gold.agg_forecast_rolling.source IS 'ML source.';
COMMENT ON COLUMN gold.agg_forecast_rolling.forecast IS 'The day''s forecast (gold.fact_forecast.forecast).';
COMMENT ON COLUMN gold.agg_forecast_rolling.actual IS 'The day''s actual (gold.fact_forecast.actual).';
COMMENT ON COLUMN gold.agg_forecast_rolling.forecast_avg_7d IS 'Mean forecast over date - 6 .. date.';
COMMENT ON COLUMN gold.agg_forecast_rolling.actual_avg_7d IS 'Mean of the non-NULL actuals over date - 6 .. date.';
COMMENT ON COLUMN gold.agg_forecast_rolling.forecast_total_7d IS 'Sum of forecasts over date - 6 .. date.';
COMMENT ON COLUMN gold.agg_forecast_rolling.actual_total_7d IS 'Sum of actuals over date - 6 .. date (NULL when none is known).';
COMMENT ON COLUMN gold.agg_forecast_rolling.mape_7d IS 'Mean of the daily mape (fraction) over date - 6 .. date, days with actual > 0 only.';
COMMENT ON COLUMN gold.agg_forecast_rolling.forecast_avg_30d IS 'Mean forecast over date - 29 .. date.';
COMMENT ON COLUMN gold.agg_forecast_rolling.actual_avg_30d IS 'Mean of the non-NULL actuals over date - 29 .. date.';
COMMENT ON COLUMN gold.agg_forecast_rolling.forecast_total_30d IS 'Sum of forecasts over date - 29 .. date.';
COMMENT ON COLUMN gold.agg_forecast_rolling.actual_total_30d IS 'Sum of actuals over date - 29 .. date (NULL when none is known).';
COMMENT ON COLUMN gold.agg_forecast_rolling.mape_30d IS 'Mean of the daily mape (fraction) over date - 29 .. date, days with actual > 0 only.';
COMMENT ON COLUMN gold.fact_forecast.forecast_avg_7d IS 'Mean forecast over date - 6 .. date.';
COMMENT ON COLUMN gold.fact_forecast.actual_avg_7d IS 'Mean of the non-NULL actuals over date - 6 .. date.';
COMMENT ON COLUMN gold.fact_forecast.forecast_total_7d IS 'Sum of forecasts over date - 6 .. date.';
COMMENT ON COLUMN gold.fact_forecast.actual_total_7d IS 'Sum of actuals over date - 6 .. date (NULL when none is known).';
COMMENT ON COLUMN gold.fact_forecast.mape_7d IS 'Mean of the daily mape (fraction) over date - 6 .. date, days with actual > 0 only.';
COMMENT ON COLUMN gold.fact_forecast.forecast_avg_30d IS 'Mean forecast over date - 29 .. date.';
COMMENT ON COLUMN gold.fact_forecast.actual_avg_30d IS 'Mean of the non-NULL actuals over date - 29 .. date.';
COMMENT ON COLUMN gold.fact_forecast.forecast_total_30d IS 'Sum of forecasts over date - 29 .. date.';
COMMENT ON COLUMN gold.fact_forecast.actual_total_30d IS 'Sum of actuals over date - 29 .. date (NULL when none is known).';
COMMENT ON COLUMN gold.fact_forecast.mape_30d IS 'Mean of the daily mape (fraction) over date - 29 .. date, days with actual > 0 only.';
