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

-- 3. The same item per site and ML source, with the site's depot (each
--    source has its own row: without source the rows of two sources of one
--    day look duplicated).
SELECT f.date, f.site_id, s.deposito, f.source, f.forecast, f.actual
FROM gold.fact_forecast f
LEFT JOIN gold.dim_site s USING (site_id)
WHERE f.item_id = 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36'
  AND f.site_id <> 'ALL'
  AND f.date BETWEEN DATE '2025-04-09' AND DATE '2025-05-08'
ORDER BY f.date, f.site_id, f.source;

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
--    is at or below its reorder point. A reorder point of 0 means the
--    prescription sets no replenishment level (those rows say "normal" with
--    no stock): they are not at risk.
SELECT *
FROM (
    SELECT DISTINCT ON (item_id, site_id) item_id, site_id, date, current_stock, reorder_point, days_to_rupture, stock_status
    FROM gold.fact_inventory
    ORDER BY item_id, site_id, date DESC
) latest
WHERE reorder_point > 0 AND current_stock <= reorder_point
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

-- 12. The materials most in demand over a period (every material of the ERP
--     export, not only those with a forecast): item-level rows, their share
--     of the period's total (GET /api/v1/demand/top). Units are added here;
--     an item requested in two units has one row per unit in gold.
SELECT d.item_id, i.name, i.category, sum(d.quantity) AS quantity, sum(d.lines) AS lines,
       round((sum(d.quantity) / sum(sum(d.quantity)) OVER ())::numeric, 4) AS share
FROM gold.fact_demand d
JOIN gold.dim_item i USING (item_id)
WHERE d.site_id = 'ALL' AND d.date BETWEEN DATE '2025-04-01' AND DATE '2025-05-31'
GROUP BY d.item_id, i.name, i.category
ORDER BY quantity DESC, d.item_id
LIMIT 20;

-- 13. One material's demand trend: the day's demand and its 7- and 30-day
--     totals over calendar days, with the 30 days a year earlier where the
--     history has them (a day without a row has no demand in its windows).
SELECT date, unit, quantity, quantity_total_7d, quantity_avg_7d, quantity_total_30d, quantity_total_30d_prev_year
FROM gold.agg_demand_rolling
WHERE item_id = 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36' AND site_id = 'ALL'
  AND date BETWEEN DATE '2025-05-01' AND DATE '2025-05-08'
ORDER BY date, unit;

-- 14. Which suppliers served a material, how much and how fast (lead time =
--     DATA DE COMPRA - DATA SOLICITADO, purchases before the request left out).
SELECT s.supplier_name, sum(b.lines) AS lines, sum(b.quantity) AS quantity,
       round((sum(b.lead_time_days_avg * b.lead_time_lines) / nullif(sum(b.lead_time_lines), 0))::numeric, 1) AS lead_time_days_avg,
       max(b.lead_time_days_max) AS lead_time_days_max
FROM gold.fact_demand_supplier b
JOIN gold.dim_supplier s USING (supplier)
WHERE b.item_id = 'ABRASIVOS_DISCO DE LIXA 4.1/2 G36'
GROUP BY s.supplier_name
ORDER BY lines DESC, s.supplier_name;

-- 15. Suppliers by the time they take: median and 90th percentile of the
--     lead time in days, with how many lines were bought before their request.
SELECT supplier_name, lines, items, quantity, lead_time_lines, lead_time_days_median, lead_time_days_p90,
       negative_lead_time_lines, first_purchase, last_purchase
FROM gold.dim_supplier
ORDER BY lead_time_days_median DESC NULLS LAST, supplier_name;

-- 16. Demand per site (ERP depot) over a period: where the material goes.
SELECT d.site_id, s.deposito, sum(d.quantity) AS quantity, sum(d.lines) AS lines, count(DISTINCT d.item_id) AS items
FROM gold.fact_demand d
JOIN gold.dim_site s USING (site_id)
WHERE d.site_id <> 'ALL' AND d.date BETWEEN DATE '2025-04-01' AND DATE '2025-05-31'
GROUP BY d.site_id, s.deposito
ORDER BY quantity DESC, d.site_id;
