-- The forecast anchor of issue 17 (make bench's BenchmarkRefresh and make
-- bench-scale): one bare CREATE TABLE AS of the rows gold.fact_forecast and
-- gold.agg_forecast_rolling hold (the site rows and the item-level rows)
-- with their 7- and 30-day calendar windows, straight from bronze, plus its
-- index. Plain PostgreSQL: what a full refresh of the forecast tables is
-- compared with.
CREATE TABLE public.bench_anchor AS
SELECT date, item_id, site_id, source, forecast, actual,
       avg(forecast) OVER w7 AS forecast_avg_7d, avg(actual) OVER w7 AS actual_avg_7d,
       sum(forecast) OVER w7 AS forecast_total_7d, sum(actual) OVER w7 AS actual_total_7d,
       avg(forecast) OVER w30 AS forecast_avg_30d, avg(actual) OVER w30 AS actual_avg_30d,
       sum(forecast) OVER w30 AS forecast_total_30d, sum(actual) OVER w30 AS actual_total_30d
FROM (SELECT date, item_id, site_id, source, forecast, actual FROM bronze.ml_forecasts
      UNION ALL
      SELECT date, item_id, 'ALL', source, sum(forecast), sum(actual) FROM bronze.ml_forecasts GROUP BY 1, 2, 4) f
WINDOW w7 AS (PARTITION BY item_id, site_id, source ORDER BY date RANGE BETWEEN '6 days' PRECEDING AND CURRENT ROW),
       w30 AS (PARTITION BY item_id, site_id, source ORDER BY date RANGE BETWEEN '29 days' PRECEDING AND CURRENT ROW);
CREATE INDEX ON public.bench_anchor (item_id, site_id, date, source);
