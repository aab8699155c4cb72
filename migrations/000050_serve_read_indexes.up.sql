-- Reads of the dashboard API (novawh serve) that span every item: the
-- forecast summary scans the item-level rows (site_id = 'ALL') of a date
-- range. Ordered by (date, item_id) with the summed columns included, the
-- scan is index-only (once vacuumed) and already in the order the summary's
-- DISTINCT ON (date, item_id) needs, so no big sort is made. Per-item reads
-- (timeseries, aggregates, inventory) use the primary keys.
CREATE INDEX IF NOT EXISTS fact_forecast_item_level_date_idx
    ON gold.fact_forecast (date, item_id)
    INCLUDE (source, generated_at, forecast, actual, model_version, dataset_id)
    WHERE site_id = 'ALL';
COMMENT ON INDEX gold.fact_forecast_item_level_date_idx IS 'Item-level (site_id = ''ALL'') rows by date, covering the API''s forecast summary (novawh serve).';
