-- Back to gold.agg_forecast_rolling as a table of its own, filled from the
-- rolling columns of gold.fact_forecast, which are dropped.
DROP VIEW gold.agg_forecast_rolling;
CREATE TABLE gold.agg_forecast_rolling (
    date                date             NOT NULL,
    item_id             text             NOT NULL,
    site_id             text             NOT NULL,
    source              text             NOT NULL,
    forecast            double precision,
    actual              double precision,
    forecast_avg_7d     double precision,
    actual_avg_7d       double precision,
    forecast_total_7d   double precision,
    actual_total_7d     double precision,
    mape_7d             double precision,
    forecast_avg_30d    double precision,
    actual_avg_30d      double precision,
    forecast_total_30d  double precision,
    actual_total_30d    double precision,
    mape_30d            double precision,
    PRIMARY KEY (item_id, site_id, date, source)
);
INSERT INTO gold.agg_forecast_rolling
SELECT date, item_id, site_id, source, forecast, actual,
       forecast_avg_7d, actual_avg_7d, forecast_total_7d, actual_total_7d, mape_7d,
       forecast_avg_30d, actual_avg_30d, forecast_total_30d, actual_total_30d, mape_30d
FROM gold.fact_forecast;
CREATE INDEX agg_forecast_rolling_date_idx ON gold.agg_forecast_rolling (date);
GRANT SELECT ON gold.agg_forecast_rolling TO novawh_reader;
COMMENT ON TABLE gold.agg_forecast_rolling IS 'Rolling 7- and 30-day figures per (date, item_id, site_id, source) over calendar windows ending on date (days without a row are not counted).';
ALTER TABLE gold.fact_forecast
    DROP COLUMN forecast_avg_7d,
    DROP COLUMN actual_avg_7d,
    DROP COLUMN forecast_total_7d,
    DROP COLUMN actual_total_7d,
    DROP COLUMN mape_7d,
    DROP COLUMN forecast_avg_30d,
    DROP COLUMN actual_avg_30d,
    DROP COLUMN forecast_total_30d,
    DROP COLUMN actual_total_30d,
    DROP COLUMN mape_30d;
