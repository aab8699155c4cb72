-- Gold documentation (COMMENT ON every table and column, issue 5); the
-- analyst views are in migrations/transform/R__300_gold_views.sql.

COMMENT ON TABLE gold.dim_item IS 'Items: one row per canonical item_id (the ML key FAMÍLIA_MATERIAL, e.g. ''ABRASIVOS_BATERIA 9V''), reconciling ERP product codes; items seen only in ML outputs have in_item_master = false.';
COMMENT ON COLUMN gold.dim_item.item_id IS 'Canonical item key: FAMÍLIA_MATERIAL as the ML outputs spell it (ERP familia || ''_'' || material when the ML outputs do not know the item).';
COMMENT ON COLUMN gold.dim_item.sku IS 'Item master SKU, else the lowest ERP product code of the item.';
COMMENT ON COLUMN gold.dim_item.name IS 'Item name: item master name, else ERP MATERIAL, else the key without its family prefix.';
COMMENT ON COLUMN gold.dim_item.category IS 'Item category: item master category, else the ML category, else the ERP FAMÍLIA.';
COMMENT ON COLUMN gold.dim_item.familia IS 'Material family (ERP FAMÍLIA, else the ML familia).';
COMMENT ON COLUMN gold.dim_item.erp_product_codes IS 'ERP product codes (PRODUTO/SERVIÇO, e.g. 010825) of the item; several codes can share one key.';
COMMENT ON COLUMN gold.dim_item.in_item_master IS 'True when the item master (bronze.erp_items) or the ERP export knows the item; false for keys seen only in ML outputs.';
COMMENT ON COLUMN gold.dim_item.updated_at IS 'When a refresh last changed this row.';

COMMENT ON TABLE gold.dim_site IS 'Sites of the ML outputs with their ERP depot code; site_id ''ALL'' is the item-level pseudo-site.';
COMMENT ON COLUMN gold.dim_site.site_id IS 'ML site id (e.g. ''176''); ''ALL'' for item-level rows.';
COMMENT ON COLUMN gold.dim_site.deposito IS 'ERP depot code (DEPÓSITO, e.g. ''STC'') whose demand is the site''s actual; NULL when unknown.';
COMMENT ON COLUMN gold.dim_site.region IS 'Region of the site when the ML outputs give one (''UNKNOWN'' is stored as NULL).';

COMMENT ON TABLE gold.dim_time IS 'Calendar: one row per day of every year that has facts, with Brazilian national holidays.';
COMMENT ON COLUMN gold.dim_time.date IS 'The day.';
COMMENT ON COLUMN gold.dim_time.year IS 'Calendar year.';
COMMENT ON COLUMN gold.dim_time.quarter IS 'Quarter 1-4.';
COMMENT ON COLUMN gold.dim_time.month IS 'Month 1-12.';
COMMENT ON COLUMN gold.dim_time.day IS 'Day of month 1-31.';
COMMENT ON COLUMN gold.dim_time.day_of_week IS 'ISO day of week: 1 = Monday ... 7 = Sunday.';
COMMENT ON COLUMN gold.dim_time.iso_week IS 'ISO 8601 week number.';
COMMENT ON COLUMN gold.dim_time.is_weekend IS 'Saturday or Sunday.';
COMMENT ON COLUMN gold.dim_time.is_holiday IS 'Brazilian national holiday (fixed dates, Carnaval Monday/Tuesday, Good Friday, Corpus Christi; Consciência Negra from 2024).';
COMMENT ON COLUMN gold.dim_time.holiday_name IS 'Holiday name in Portuguese, NULL on ordinary days.';

COMMENT ON TABLE gold.fact_forecast IS 'Forecast vs actual per (date, item_id, site_id, source): site rows as the ML outputs give them (actual = ERP demand at the site''s depot) and item-level rows with site_id = ''ALL'' (forecast summed over sites, actual = the item''s total ERP demand).';
COMMENT ON COLUMN gold.fact_forecast.date IS 'Forecast day.';
COMMENT ON COLUMN gold.fact_forecast.item_id IS 'Item (gold.dim_item.item_id).';
COMMENT ON COLUMN gold.fact_forecast.site_id IS 'Site (gold.dim_site.site_id); ''ALL'' = item level.';
COMMENT ON COLUMN gold.fact_forecast.source IS 'ML source of the forecast (e.g. prophet, ensemble), from the ML metadata.';
COMMENT ON COLUMN gold.fact_forecast.forecast IS 'Forecast quantity (ALL rows: summed over the item''s sites).';
COMMENT ON COLUMN gold.fact_forecast.actual IS 'Actual quantity: the file''s own actual when given, else ERP demand (DATA SOLICITADO) that day; 0 inside the ERP''s date coverage without demand, NULL outside it or for sites without a depot.';
COMMENT ON COLUMN gold.fact_forecast.lower IS 'Lower bound of the forecast interval.';
COMMENT ON COLUMN gold.fact_forecast.upper IS 'Upper bound of the forecast interval.';
COMMENT ON COLUMN gold.fact_forecast.model_version IS 'ML model version (ML metadata).';
COMMENT ON COLUMN gold.fact_forecast.generated_at IS 'When the ML job generated the forecast (ML metadata).';
COMMENT ON COLUMN gold.fact_forecast.dataset_id IS 'ML dataset id (ML metadata).';
COMMENT ON COLUMN gold.fact_forecast.mape IS 'Absolute percentage error as a fraction: |forecast - actual| / actual when actual > 0, else NULL.';
COMMENT ON COLUMN gold.fact_forecast.load_id IS 'meta.loads id of the bronze load the row came from (ALL rows: the newest of their site rows).';
COMMENT ON COLUMN gold.fact_forecast.created_at IS 'When the refresh wrote the row.';

COMMENT ON TABLE gold.fact_inventory IS 'Inventory levels per (date, item_id, site_id) from the ML prescriptions (files without a date use the day they were generated).';
COMMENT ON COLUMN gold.fact_inventory.date IS 'Day of the stock position.';
COMMENT ON COLUMN gold.fact_inventory.item_id IS 'Item (gold.dim_item.item_id).';
COMMENT ON COLUMN gold.fact_inventory.site_id IS 'Site (gold.dim_site.site_id).';
COMMENT ON COLUMN gold.fact_inventory.current_stock IS 'Stock on hand.';
COMMENT ON COLUMN gold.fact_inventory.safety_stock IS 'Safety stock.';
COMMENT ON COLUMN gold.fact_inventory.reorder_point IS 'Reorder point.';
COMMENT ON COLUMN gold.fact_inventory.days_to_rupture IS 'Days until stock runs out at the average daily demand.';
COMMENT ON COLUMN gold.fact_inventory.stock_status IS 'Stock status as the prescriptions give it (lower case, e.g. critical).';

COMMENT ON TABLE gold.agg_forecast_rolling IS 'Rolling 7- and 30-day figures per (date, item_id, site_id, source) over calendar windows ending on date (days without a row are not counted).';
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

COMMENT ON TABLE gold.fact_external_daily IS 'External factors by day: city = ''ALL'' rows carry the economic indicators (carried forward from their last observation) and national telecom counts; one row per (day, city) carries that city''s weather.';
COMMENT ON COLUMN gold.fact_external_daily.date IS 'The day.';
COMMENT ON COLUMN gold.fact_external_daily.city IS 'Weather city as pulled (lower case), or ''ALL'' for the national row.';
COMMENT ON COLUMN gold.fact_external_daily.selic_rate IS 'Selic rate, % a year (BCB SGS 432, else 1178, else 11), last known value.';
COMMENT ON COLUMN gold.fact_external_daily.ipca_monthly IS 'IPCA monthly variation, % (IBGE SIDRA 1737/63, else BCB SGS 433), last known value.';
COMMENT ON COLUMN gold.fact_external_daily.usd_brl_buy IS 'PTAX USD buy rate (closing bulletin), last known value.';
COMMENT ON COLUMN gold.fact_external_daily.usd_brl_sell IS 'PTAX USD sell rate (closing bulletin), last known value.';
COMMENT ON COLUMN gold.fact_external_daily.indicators IS 'Every economic series as {"source:series": value}, last known values (PTAX as bcb_ptax:<CUR>_buy/_sell).';
COMMENT ON COLUMN gold.fact_external_daily.temp_min IS 'Minimum temperature of the local day, °C.';
COMMENT ON COLUMN gold.fact_external_daily.temp_max IS 'Maximum temperature of the local day, °C.';
COMMENT ON COLUMN gold.fact_external_daily.temp_mean IS 'Mean temperature of the local day, °C.';
COMMENT ON COLUMN gold.fact_external_daily.precipitation_sum IS 'Precipitation of the local day, mm.';
COMMENT ON COLUMN gold.fact_external_daily.humidity_mean IS 'Mean relative humidity, %.';
COMMENT ON COLUMN gold.fact_external_daily.wind_max IS 'Maximum wind speed, km/h.';
COMMENT ON COLUMN gold.fact_external_daily.wind_mean IS 'Mean wind speed, km/h.';
COMMENT ON COLUMN gold.fact_external_daily.telecom_5g_count IS 'Telecom counts of 5G technologies that day (city rows: the matching municipality; ALL: every municipality).';
COMMENT ON COLUMN gold.fact_external_daily.telecom_count IS 'Telecom counts of every technology that day (same scope as telecom_5g_count).';
