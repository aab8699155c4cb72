-- Precomputed rolling aggregates (gold.agg_forecast_rolling), item level
-- (site_id = 'ALL').

-- name: GetAggregate :many
-- The rolling figures of some items between start and end, read from the
-- precomputed table: both the 7-day and the 30-day columns come back and the
-- caller keeps the window it was asked for (sqlc types a CASE over them as
-- non-null, which the NULLs of the first days of a series would break).
SELECT item_id, date, source, forecast, actual,
       forecast_avg_7d, actual_avg_7d, forecast_total_7d, actual_total_7d, mape_7d,
       forecast_avg_30d, actual_avg_30d, forecast_total_30d, actual_total_30d, mape_30d
FROM gold.agg_forecast_rolling
WHERE item_id = ANY (sqlc.arg(item_ids)::text[])
  AND site_id = 'ALL'
  AND date BETWEEN sqlc.arg(start_date)::date AND sqlc.arg(end_date)::date
  AND (sqlc.narg(source)::text IS NULL OR source = sqlc.narg(source)::text)
ORDER BY item_id, date, source;
