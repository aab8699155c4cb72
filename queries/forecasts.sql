-- Forecast reads (gold.fact_forecast). Item-level endpoints read the
-- site_id = 'ALL' rows: forecast summed over the item's sites and actual =
-- the item's total ERP demand that day, which is where forecasts and demand
-- overlap in the real data.

-- name: GetTimeseries :many
-- Daily item-level forecast rows of one item between start and end
-- (inclusive), every source unless source is given.
SELECT date, source, forecast, actual, lower, upper, mape, model_version, dataset_id, generated_at
FROM gold.fact_forecast
WHERE item_id = sqlc.arg(item_id)
  AND site_id = 'ALL'
  AND date BETWEEN sqlc.arg(start_date)::date AND sqlc.arg(end_date)::date
  AND (sqlc.narg(source)::text IS NULL OR source = sqlc.narg(source)::text)
ORDER BY date, source;

-- name: ForecastSummary :one
-- Totals and accuracy over a period for some items (NULL item_ids: all
-- items). When several sources forecast the same item and day, the row
-- generated last wins so that no day is counted twice. mape is the mean of
-- |forecast - actual| / actual over the days with actual > 0 (a fraction:
-- 0.12 = 12 %), the same unit as gold.fact_forecast.mape. items_count counts
-- the items of gold.dim_item with at least one row in the period; the
-- metadata is that of a row generated last. One pass over the index
-- fact_forecast_item_level_date_idx (date, item_id) (migration 000050).
WITH latest AS (
    SELECT DISTINCT ON (f.date, f.item_id)
           f.forecast, f.actual, f.generated_at
    FROM gold.fact_forecast f
    WHERE f.site_id = 'ALL'
      AND f.date BETWEEN sqlc.arg(start_date)::date AND sqlc.arg(end_date)::date
      AND (sqlc.narg(item_ids)::text[] IS NULL OR f.item_id = ANY (sqlc.narg(item_ids)::text[]))
      AND (sqlc.narg(source)::text IS NULL OR f.source = sqlc.narg(source)::text)
    ORDER BY f.date, f.item_id, f.generated_at DESC, f.source
), totals AS (
    SELECT coalesce(sum(l.forecast), 0)::double precision AS total_forecast,
           coalesce(sum(l.actual), 0)::double precision   AS total_actual,
           (avg(abs(l.forecast - l.actual) / l.actual) FILTER (WHERE l.actual > 0 AND l.forecast IS NOT NULL))::double precision AS mape,
           count(*)::bigint                                AS rows_count,
           max(l.generated_at)                             AS newest_at
    FROM latest l
), accuracy AS (
    SELECT t.mape FROM totals t WHERE t.mape IS NOT NULL
), items AS (
    SELECT count(*)::bigint AS items_count
    FROM gold.dim_item d
    WHERE (sqlc.narg(item_ids)::text[] IS NULL OR d.item_id = ANY (sqlc.narg(item_ids)::text[]))
      AND EXISTS (SELECT 1 FROM gold.fact_forecast e
                  WHERE e.item_id = d.item_id AND e.site_id = 'ALL'
                    AND e.date BETWEEN sqlc.arg(start_date)::date AND sqlc.arg(end_date)::date
                    AND (sqlc.narg(source)::text IS NULL OR e.source = sqlc.narg(source)::text))
), newest AS (
    SELECT n.model_version, n.dataset_id
    FROM gold.fact_forecast n
    WHERE n.site_id = 'ALL'
      AND n.date BETWEEN sqlc.arg(start_date)::date AND sqlc.arg(end_date)::date
      AND (sqlc.narg(item_ids)::text[] IS NULL OR n.item_id = ANY (sqlc.narg(item_ids)::text[]))
      AND (sqlc.narg(source)::text IS NULL OR n.source = sqlc.narg(source)::text)
      AND n.generated_at = (SELECT t.newest_at FROM totals t)
    LIMIT 1
)
SELECT t.total_forecast, t.total_actual, a.mape, i.items_count, t.rows_count, w.model_version, w.dataset_id
FROM totals t
CROSS JOIN items i
LEFT JOIN accuracy a ON true
LEFT JOIN newest w ON true;
