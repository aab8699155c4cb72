-- novawh: example reads of the gold layer for analysts (psql, DBeaver, ...).
--
-- Connect as the read-only role, e.g.
--   psql "$DATABASE_URL" -c 'SET ROLE novawh_reader' -f docs/data/example_queries.sql
-- These are the same reads the API and the Go backend make through sqlc
-- (queries/*.sql); a test (internal/refresh/examples_test.go) refreshes gold
-- from a small seeded bronze, runs every statement of this file as
-- novawh_reader and requires each to return rows, so the examples cannot rot.
--
-- Item ids are the ML keys FAMÍLIA_MATERIAL, with spaces and slashes; quote
-- them as SQL strings. Item-level figures are the rows with site_id = 'ALL'.

-- 1. Find items by name (what GET /api/v1/items?q=disco does).
SELECT item_id, name, category, sku
FROM gold.dim_item
WHERE name ILIKE '%disco%' OR item_id ILIKE '%disco%'
ORDER BY item_id
LIMIT 50;

-- 2. The daily item-level forecast and actual of one item over 30 days
--    (GET /api/v1/items/{id}/timeseries).
SELECT date, source, forecast, actual, lower, upper, mape, model_version, generated_at
FROM gold.fact_forecast
WHERE item_id = 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36'
  AND site_id = 'ALL'
  AND date BETWEEN DATE '2025-04-09' AND DATE '2025-05-08'
ORDER BY date, source;

-- 3. The same item per site, with the site's depot.
SELECT f.date, f.site_id, s.deposito, f.forecast, f.actual
FROM gold.fact_forecast f
LEFT JOIN gold.dim_site s USING (site_id)
WHERE f.item_id = 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36'
  AND f.site_id <> 'ALL'
  AND f.date BETWEEN DATE '2025-04-09' AND DATE '2025-05-08'
ORDER BY f.date, f.site_id;

-- 4. Forecast summary of a period (GET /api/v1/forecasts/summary): one row
--    per item and day (the source generated last wins), totals and MAPE as
--    a fraction (0.12 = 12 %). Ordered by (date, item_id), it reads the index
--    fact_forecast_item_level_date_idx without sorting.
WITH latest AS (
    SELECT DISTINCT ON (date, item_id) item_id, date, forecast, actual, model_version, dataset_id
    FROM gold.fact_forecast
    WHERE site_id = 'ALL' AND date BETWEEN DATE '2025-04-09' AND DATE '2025-05-08'
    ORDER BY date, item_id, generated_at DESC, source
)
SELECT sum(forecast) AS total_forecast,
       sum(actual) AS total_actual,
       avg(abs(forecast - actual) / actual) FILTER (WHERE actual > 0) AS mape,
       count(DISTINCT item_id) AS items_count
FROM latest;

-- 5. Accuracy by category over a period, worst first.
SELECT i.category,
       count(DISTINCT f.item_id) AS items,
       round(avg(f.mape)::numeric, 4) AS mape,
       sum(f.forecast) AS total_forecast,
       sum(f.actual) AS total_actual
FROM gold.fact_forecast f
JOIN gold.dim_item i USING (item_id)
WHERE f.site_id = 'ALL' AND f.source = 'ensemble'
  AND f.date BETWEEN DATE '2025-04-09' AND DATE '2025-05-08'
GROUP BY i.category
ORDER BY mape DESC NULLS LAST;

-- 6. The precomputed 7- and 30-day rolling figures of some items
--    (GET /api/v1/aggregates).
SELECT item_id, date, source,
       forecast_avg_7d, actual_avg_7d, mape_7d,
       forecast_total_30d, actual_total_30d, mape_30d
FROM gold.agg_forecast_rolling
WHERE item_id = ANY (ARRAY['ABRASIVOS_DISCO DE LIXA 4.1/2 G36', 'ABRASIVOS_BATERIA 9V'])
  AND site_id = 'ALL'
  AND date BETWEEN DATE '2025-05-01' AND DATE '2025-05-08'
ORDER BY item_id, date, source;

-- 7. The latest inventory snapshot of each site of an item on or before a
--    date (GET /api/v1/inventory/{id}?date=).
SELECT DISTINCT ON (site_id) site_id, date, current_stock, safety_stock, reorder_point, days_to_rupture, stock_status
FROM gold.fact_inventory
WHERE item_id = 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36'
  AND date <= DATE '2025-05-08'
ORDER BY site_id, date DESC;

-- 8. Items at risk today: the latest snapshot per item and site whose stock
--    is at or below the reorder point.
SELECT *
FROM (
    SELECT DISTINCT ON (item_id, site_id) item_id, site_id, date, current_stock, reorder_point, days_to_rupture, stock_status
    FROM gold.fact_inventory
    ORDER BY item_id, site_id, date DESC
) latest
WHERE current_stock <= reorder_point
ORDER BY days_to_rupture NULLS LAST, item_id;

-- 9. Demand on weekdays, weekends and holidays (calendar dimension).
SELECT t.is_weekend, t.is_holiday, count(*) AS days, sum(f.actual) AS actual, avg(f.actual) AS actual_per_item_day
FROM gold.fact_forecast f
JOIN gold.dim_time t USING (date)
WHERE f.site_id = 'ALL' AND f.source = 'ensemble'
GROUP BY t.is_weekend, t.is_holiday
ORDER BY t.is_weekend, t.is_holiday;

-- 10. Monthly forecast vs actual per item (for a chart).
SELECT item_id, date_trunc('month', date)::date AS month, sum(forecast) AS forecast, sum(actual) AS actual
FROM gold.fact_forecast
WHERE site_id = 'ALL' AND source = 'ensemble'
GROUP BY item_id, month
ORDER BY item_id, month;

-- 11. Freshness: the newest forecast generation per source and model.
SELECT source, model_version, dataset_id, max(generated_at) AS generated_at, max(date) AS last_date, count(*) AS rows
FROM gold.fact_forecast
GROUP BY source, model_version, dataset_id
ORDER BY generated_at DESC;
