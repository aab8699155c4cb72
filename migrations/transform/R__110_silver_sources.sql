-- Bronze -> silver: cleaned, typed, de-duplicated views of each bronze
-- source. Only rows of loads whose meta.loads status is 'loaded' count.
-- Latest load wins on every natural key (ties: newest generated_at, then
-- highest load, then the last line).

DROP VIEW IF EXISTS silver.erp_loads, silver.erp_lines, silver.item_master, silver.stg_forecasts,
    silver.stg_inventory, silver.stg_economic, silver.stg_fx, silver.stg_weather, silver.stg_telecom CASCADE;

-- Matching form of an item key: lower case, Portuguese accents folded, every
-- run of other characters as one '_' ('ABRASIVOS_BATERIA 9V' and the series
-- key part 'ABRASIVOS_BATERIA_9V' both give 'abrasivos_bateria_9v').
CREATE OR REPLACE FUNCTION silver.norm_key(k text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(btrim(regexp_replace(lower(translate(k,
        'ÁÀÂÃÄÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑáàâãäéèêëíìîïóòôõöúùûüçñ',
        'AAAAAEEEEIIIIOOOOOUUUUCNaaaaaeeeeiiiiooooouuuucn')), '[^a-z0-9]+', '_', 'g'), '_'), '')
$$;
COMMENT ON FUNCTION silver.norm_key(text) IS 'Matching form of an item key: lower case, accents folded, other characters collapsed to _.';

-- Matching form of a supplier name (NOME FORNEC.): trimmed, runs of white
-- space as one space, case-folded (Portuguese capitals folded whatever the
-- database locale); NULL when blank.
CREATE OR REPLACE FUNCTION silver.supplier_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(lower(translate(regexp_replace(btrim(name), '\s+', ' ', 'g'),
        'ÁÀÂÃÄÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑ', 'áàâãäéèêëíìîïóòôõöúùûüçñ')), '')
$$;
COMMENT ON FUNCTION silver.supplier_key(text) IS 'Matching form of a supplier name: trimmed, white space collapsed, case-folded.';

-- ERP exports: the ERP file is a snapshot, so a later loaded load of the
-- same (source, file_name) with ERP rows supersedes an earlier one.
CREATE VIEW silver.erp_loads AS
SELECT l.load_id, l.source, l.file_name,
       (SELECT max(n.load_id) FROM meta.loads n
        WHERE n.status = 'loaded' AND n.source = l.source AND n.file_name = l.file_name
          AND n.load_id > l.load_id
          AND EXISTS (SELECT 1 FROM bronze.erp_requisitions x WHERE x._load_id = n.load_id)) AS superseded_by
FROM meta.loads l
WHERE l.status = 'loaded' AND EXISTS (SELECT 1 FROM bronze.erp_requisitions b WHERE b._load_id = l.load_id);
COMMENT ON VIEW silver.erp_loads IS 'Loaded ERP exports (loads with bronze.erp_requisitions rows) and the later export of the same (source, file_name) that supersedes each, if any.';

CREATE VIEW silver.erp_lines AS
SELECT b._load_id                                   AS load_id,
       b._line                                      AS line,
       nullif(btrim(b.deposito), '')                AS deposito,
       nullif(btrim(b.product_code), '')            AS product_code,
       nullif(btrim(b.familia), '')                 AS familia,
       nullif(btrim(b.material), '')                AS material,
       CASE WHEN nullif(btrim(b.familia), '') IS NOT NULL OR nullif(btrim(b.material), '') IS NOT NULL
            THEN coalesce(btrim(b.familia), '') || '_' || coalesce(btrim(b.material), '') END AS ml_key,
       b.quantity,
       nullif(btrim(b.unit), '')                    AS unit,
       b.solicited_date                             AS date,
       b.requested_date,
       b.purchase_date,
       nullif(btrim(b.request_id), '')              AS request_id,
       nullif(btrim(b.supplier_name), '')           AS supplier_name
FROM bronze.erp_requisitions b
JOIN silver.erp_loads e ON e.load_id = b._load_id AND e.superseded_by IS NULL;
COMMENT ON VIEW silver.erp_lines IS 'ERP requisition lines of the latest export per (source, file_name), trimmed, with the ML item key familia_material.';

-- The item master (bronze.erp_items), latest load wins per item_id.
CREATE VIEW silver.item_master AS
SELECT DISTINCT ON (btrim(b.item_id))
       btrim(b.item_id) AS raw_id, nullif(btrim(b.sku), '') AS sku, nullif(btrim(b.name), '') AS name,
       nullif(btrim(b.category), '') AS category, b.cost, b.date, b._load_id AS load_id
FROM bronze.erp_items b
JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'
WHERE nullif(btrim(b.item_id), '') IS NOT NULL
ORDER BY btrim(b.item_id), b._load_id DESC, b._line DESC;
COMMENT ON VIEW silver.item_master IS 'Item master rows (bronze.erp_items), one per item_id, latest load wins.';

-- Forecasts: one row per (item_id, site_id, date, source), newest wins.
CREATE VIEW silver.stg_forecasts AS
SELECT DISTINCT ON (m.item_id, m.site_id, b.date, btrim(b.source))
       b.date, m.item_id, m.site_id, btrim(b.source) AS source,
       b.forecast, b.lower, b.upper, b.actual, b.arima_forecast, b.xgboost_forecast,
       btrim(b.model_version) AS model_version, b.generated_at, btrim(b.dataset_id) AS dataset_id,
       nullif(btrim(b.deposito), '') AS deposito, b.series_key, b._load_id AS load_id, b._line AS line
FROM bronze.ml_forecasts b
JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'
JOIN silver.series_map m
  ON m.item_raw = coalesce(btrim(b.item_id), '') AND m.site_raw = coalesce(btrim(b.site_id), '')
 AND m.series_raw = coalesce(btrim(b.series_key), '')
WHERE b.date IS NOT NULL AND m.item_id IS NOT NULL AND m.site_id IS NOT NULL AND m.site_id <> ''
ORDER BY m.item_id, m.site_id, b.date, btrim(b.source), b.generated_at DESC, b._load_id DESC, b._line DESC;
COMMENT ON VIEW silver.stg_forecasts IS 'ML forecasts, one row per (item_id, site_id, date, source), newest generated_at / load wins, ML metadata kept.';

-- Inventory: one row per (item_id, site_id, date); files without a date use
-- the day they were generated in the business time zone.
CREATE VIEW silver.stg_inventory AS
SELECT DISTINCT ON (m.item_id, m.site_id, coalesce(b.date, (b.generated_at AT TIME ZONE silver.business_time_zone())::date))
       coalesce(b.date, (b.generated_at AT TIME ZONE silver.business_time_zone())::date) AS date,
       m.item_id, m.site_id, b.current_stock, b.safety_stock, b.reorder_point, b.avg_daily_demand,
       b.lead_time_days, b.days_to_rupture, nullif(lower(btrim(b.stock_status)), '') AS stock_status,
       btrim(b.model_version) AS model_version, b.generated_at, btrim(b.source) AS source,
       btrim(b.dataset_id) AS dataset_id, b._load_id AS load_id, b._line AS line
FROM bronze.inventory b
JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'
JOIN silver.series_map m
  ON m.item_raw = coalesce(btrim(b.item_id), '') AND m.site_raw = coalesce(btrim(b.site_id), '')
 AND m.series_raw = coalesce(btrim(b.series_key), '')
WHERE coalesce(b.date, (b.generated_at AT TIME ZONE silver.business_time_zone())::date) IS NOT NULL
  AND m.item_id IS NOT NULL AND m.site_id IS NOT NULL AND m.site_id <> ''
ORDER BY m.item_id, m.site_id, coalesce(b.date, (b.generated_at AT TIME ZONE silver.business_time_zone())::date),
         b.generated_at DESC NULLS LAST, b._load_id DESC, b._line DESC;
COMMENT ON VIEW silver.stg_inventory IS 'Inventory levels, one row per (item_id, site_id, date), latest load wins.';

-- External series.
CREATE VIEW silver.stg_economic AS
SELECT DISTINCT ON (b.source, b.series, b.date)
       btrim(b.source) AS source, btrim(b.series) AS series, b.date, b.value, b.period_code, b._load_id AS load_id
FROM bronze.economic_series b
JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'
ORDER BY b.source, b.series, b.date, b._load_id DESC, b._line DESC;
COMMENT ON VIEW silver.stg_economic IS 'BCB SGS / IBGE SIDRA observations, one per (source, series, date), latest load wins.';

CREATE VIEW silver.stg_fx AS
SELECT DISTINCT ON (upper(btrim(b.currency)), b.date)
       upper(btrim(b.currency)) AS currency, b.date, b.quoted_at, b.bulletin_type, b.buy_rate, b.sell_rate,
       b._load_id AS load_id
FROM bronze.fx_ptax b
JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'
ORDER BY upper(btrim(b.currency)), b.date, (b.bulletin_type ILIKE 'fechamento%') DESC, b.quoted_at DESC,
         b._load_id DESC, b._line DESC;
COMMENT ON VIEW silver.stg_fx IS 'PTAX rate per currency and day: the closing bulletin (else the last one), latest load wins.';

CREATE VIEW silver.stg_weather AS
SELECT DISTINCT ON (lower(btrim(b.city)), b.date)
       lower(btrim(b.city)) AS city, b.date, b.latitude, b.longitude, b.temp_min, b.temp_max, b.temp_mean,
       b.precipitation_sum, b.humidity_mean, b.wind_max, b.wind_mean, b.hours, b._load_id AS load_id
FROM bronze.weather_daily b
JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'
ORDER BY lower(btrim(b.city)), b.date, b._load_id DESC, b._line DESC;
COMMENT ON VIEW silver.stg_weather IS 'Daily weather per city (lower-cased), latest load wins.';

CREATE VIEW silver.stg_telecom AS
SELECT DISTINCT ON (btrim(b.ibge_code), b.date, btrim(b.operator), btrim(b.technology))
       btrim(b.ibge_code) AS ibge_code, btrim(b.municipality) AS municipality, upper(btrim(b.uf)) AS uf, b.date,
       btrim(b.operator) AS operator, btrim(b.technology) AS technology, b.count, b._load_id AS load_id
FROM bronze.telecom_5g b
JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'
WHERE nullif(btrim(b.ibge_code), '') IS NOT NULL AND b.date IS NOT NULL
ORDER BY btrim(b.ibge_code), b.date, btrim(b.operator), btrim(b.technology), b._load_id DESC, b._line DESC;
COMMENT ON VIEW silver.stg_telecom IS 'Telecom / 5G counts per municipality, date, operator and technology, latest load wins.';
