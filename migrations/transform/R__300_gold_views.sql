-- Gold: friendly views for analysts in psql (read as novawh_reader).

DROP VIEW IF EXISTS gold.v_forecast_accuracy, gold.v_forecast_by_site, gold.v_inventory_latest,
    gold.v_items_unmatched CASCADE;

CREATE VIEW gold.v_forecast_accuracy AS
SELECT f.date, f.item_id, i.name AS item_name, i.category, i.familia, f.source,
       f.forecast, f.actual, f.mape, f.mape_7d, f.mape_30d,
       f.forecast_total_30d, f.actual_total_30d,
       t.day_of_week, t.is_weekend, t.is_holiday, t.holiday_name,
       f.model_version, f.dataset_id, f.generated_at
FROM gold.fact_forecast f
LEFT JOIN gold.dim_item i USING (item_id)
LEFT JOIN gold.dim_time t USING (date)
WHERE f.site_id = 'ALL';
COMMENT ON VIEW gold.v_forecast_accuracy IS 'Item-level forecast accuracy per day and source, with item names, rolling MAPE and calendar flags.';
COMMENT ON COLUMN gold.v_forecast_accuracy.date IS 'Forecast day.';
COMMENT ON COLUMN gold.v_forecast_accuracy.item_id IS 'Item.';
COMMENT ON COLUMN gold.v_forecast_accuracy.item_name IS 'Item name (gold.dim_item.name).';
COMMENT ON COLUMN gold.v_forecast_accuracy.category IS 'Item category.';
COMMENT ON COLUMN gold.v_forecast_accuracy.familia IS 'Material family.';
COMMENT ON COLUMN gold.v_forecast_accuracy.source IS 'ML source.';
COMMENT ON COLUMN gold.v_forecast_accuracy.forecast IS 'Item-level forecast.';
COMMENT ON COLUMN gold.v_forecast_accuracy.actual IS 'Item-level actual demand.';
COMMENT ON COLUMN gold.v_forecast_accuracy.mape IS 'Daily absolute percentage error (fraction).';
COMMENT ON COLUMN gold.v_forecast_accuracy.mape_7d IS 'Mean daily mape over 7 days.';
COMMENT ON COLUMN gold.v_forecast_accuracy.mape_30d IS 'Mean daily mape over 30 days.';
COMMENT ON COLUMN gold.v_forecast_accuracy.forecast_total_30d IS 'Forecast total over 30 days.';
COMMENT ON COLUMN gold.v_forecast_accuracy.actual_total_30d IS 'Actual total over 30 days.';
COMMENT ON COLUMN gold.v_forecast_accuracy.day_of_week IS 'ISO day of week (1 = Monday).';
COMMENT ON COLUMN gold.v_forecast_accuracy.is_weekend IS 'Saturday or Sunday.';
COMMENT ON COLUMN gold.v_forecast_accuracy.is_holiday IS 'Brazilian national holiday.';
COMMENT ON COLUMN gold.v_forecast_accuracy.holiday_name IS 'Holiday name.';
COMMENT ON COLUMN gold.v_forecast_accuracy.model_version IS 'ML model version.';
COMMENT ON COLUMN gold.v_forecast_accuracy.dataset_id IS 'ML dataset id.';
COMMENT ON COLUMN gold.v_forecast_accuracy.generated_at IS 'When the forecast was generated.';

CREATE VIEW gold.v_forecast_by_site AS
SELECT f.date, f.item_id, i.name AS item_name, f.site_id, s.deposito, s.region, f.source,
       f.forecast, f.lower, f.upper, f.actual, f.mape, f.model_version, f.generated_at
FROM gold.fact_forecast f
LEFT JOIN gold.dim_item i USING (item_id)
LEFT JOIN gold.dim_site s USING (site_id)
WHERE f.site_id <> 'ALL';
COMMENT ON VIEW gold.v_forecast_by_site IS 'Site-level forecasts with item names and the site''s ERP depot.';
COMMENT ON COLUMN gold.v_forecast_by_site.date IS 'Forecast day.';
COMMENT ON COLUMN gold.v_forecast_by_site.item_id IS 'Item.';
COMMENT ON COLUMN gold.v_forecast_by_site.item_name IS 'Item name.';
COMMENT ON COLUMN gold.v_forecast_by_site.site_id IS 'ML site id.';
COMMENT ON COLUMN gold.v_forecast_by_site.deposito IS 'ERP depot of the site.';
COMMENT ON COLUMN gold.v_forecast_by_site.region IS 'Region of the site.';
COMMENT ON COLUMN gold.v_forecast_by_site.source IS 'ML source.';
COMMENT ON COLUMN gold.v_forecast_by_site.forecast IS 'Forecast quantity.';
COMMENT ON COLUMN gold.v_forecast_by_site.lower IS 'Lower bound.';
COMMENT ON COLUMN gold.v_forecast_by_site.upper IS 'Upper bound.';
COMMENT ON COLUMN gold.v_forecast_by_site.actual IS 'ERP demand at the site''s depot.';
COMMENT ON COLUMN gold.v_forecast_by_site.mape IS 'Daily absolute percentage error (fraction).';
COMMENT ON COLUMN gold.v_forecast_by_site.model_version IS 'ML model version.';
COMMENT ON COLUMN gold.v_forecast_by_site.generated_at IS 'When the forecast was generated.';

CREATE VIEW gold.v_inventory_latest AS
SELECT DISTINCT ON (v.item_id, v.site_id)
       v.item_id, i.name AS item_name, v.site_id, s.deposito, v.date, v.current_stock, v.safety_stock,
       v.reorder_point, v.days_to_rupture, v.stock_status, (v.current_stock <= v.reorder_point) AS below_reorder_point
FROM gold.fact_inventory v
LEFT JOIN gold.dim_item i USING (item_id)
LEFT JOIN gold.dim_site s USING (site_id)
ORDER BY v.item_id, v.site_id, v.date DESC;
COMMENT ON VIEW gold.v_inventory_latest IS 'Latest stock position per item and site, with names and whether stock is at or below the reorder point.';
COMMENT ON COLUMN gold.v_inventory_latest.item_id IS 'Item.';
COMMENT ON COLUMN gold.v_inventory_latest.item_name IS 'Item name.';
COMMENT ON COLUMN gold.v_inventory_latest.site_id IS 'Site.';
COMMENT ON COLUMN gold.v_inventory_latest.deposito IS 'ERP depot of the site.';
COMMENT ON COLUMN gold.v_inventory_latest.date IS 'Day of the stock position.';
COMMENT ON COLUMN gold.v_inventory_latest.current_stock IS 'Stock on hand.';
COMMENT ON COLUMN gold.v_inventory_latest.safety_stock IS 'Safety stock.';
COMMENT ON COLUMN gold.v_inventory_latest.reorder_point IS 'Reorder point.';
COMMENT ON COLUMN gold.v_inventory_latest.days_to_rupture IS 'Days until stock runs out.';
COMMENT ON COLUMN gold.v_inventory_latest.stock_status IS 'Stock status.';
COMMENT ON COLUMN gold.v_inventory_latest.below_reorder_point IS 'current_stock <= reorder_point.';

CREATE VIEW gold.v_items_unmatched AS
SELECT item_id, name, category, familia
FROM gold.dim_item
WHERE NOT in_item_master;
COMMENT ON VIEW gold.v_items_unmatched IS 'Items seen in ML outputs that neither the item master nor the ERP export knows.';
COMMENT ON COLUMN gold.v_items_unmatched.item_id IS 'Item key as the ML outputs give it.';
COMMENT ON COLUMN gold.v_items_unmatched.name IS 'Name derived from the key.';
COMMENT ON COLUMN gold.v_items_unmatched.category IS 'ML category.';
COMMENT ON COLUMN gold.v_items_unmatched.familia IS 'ML familia.';

GRANT SELECT ON ALL TABLES IN SCHEMA gold TO novawh_reader;
