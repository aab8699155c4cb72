-- Silver (issue 5): cleaned, typed, de-duplicated views of bronze. Only rows
-- of loads whose meta.loads status is 'loaded' count. Latest load wins on
-- every natural key (ties: newest generated_at, then highest load, then the
-- last line). Item and site identities are resolved here: the ML key
-- FAMÍLIA_MATERIAL is the canonical item id, ERP product codes and forecast
-- series keys map onto it.

-- Bronze stays append-only; silver reads a date window of the forecasts.
CREATE INDEX IF NOT EXISTS ml_forecasts_date_idx ON bronze.ml_forecasts (date);
CREATE INDEX IF NOT EXISTS inventory_date_idx ON bronze.inventory (date);

-- Matching form of an item key: lower case, Portuguese accents folded, every
-- run of other characters as one '_' ('ABRASIVOS_BATERIA 9V' and the series
-- key part 'ABRASIVOS_BATERIA_9V' both give 'abrasivos_bateria_9v').
CREATE FUNCTION silver.norm_key(k text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(btrim(regexp_replace(lower(translate(k,
        'ÁÀÂÃÄÉÈÊËÍÌÎÏÓÒÔÕÖÚÙÛÜÇÑáàâãäéèêëíìîïóòôõöúùûüçñ',
        'AAAAAEEEEIIIIOOOOOUUUUCNaaaaaeeeeiiiiooooouuuucn')), '[^a-z0-9]+', '_', 'g'), '_'), '')
$$;
COMMENT ON FUNCTION silver.norm_key(text) IS 'Matching form of an item key: lower case, accents folded, other characters collapsed to _.';

-- ERP requisitions of the current export: the ERP file is a snapshot, so a
-- later loaded load of the same (source, file_name) supersedes earlier ones.
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
JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'
WHERE NOT EXISTS (
    SELECT 1 FROM meta.loads n
    WHERE n.status = 'loaded' AND n.source = l.source AND n.file_name = l.file_name
      AND n.load_id > l.load_id
      AND EXISTS (SELECT 1 FROM bronze.erp_requisitions x WHERE x._load_id = n.load_id));
COMMENT ON VIEW silver.erp_lines IS 'ERP requisition lines of the latest export per (source, file_name), trimmed, with the ML item key familia_material.';

-- Raw item/site/series keys seen in ML outputs (forecasts and inventory),
-- maintained incrementally by silver.sync_ml_keys so that refreshes never
-- rescan the whole forecast history to discover keys.
CREATE TABLE silver.ml_keys (
    item_raw      text   NOT NULL,
    site_raw      text   NOT NULL,
    series_raw    text   NOT NULL,
    deposito      text,
    region        text,
    familia       text,
    category      text,
    last_load_id  bigint NOT NULL,
    PRIMARY KEY (item_raw, site_raw, series_raw)
);
COMMENT ON TABLE silver.ml_keys IS 'Distinct (item_id, site_id, series_key) triples of ML outputs (blank = absent) with their latest depot, region, familia and category.';

CREATE FUNCTION silver.sync_ml_keys(p_loads bigint[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    IF p_loads IS NULL THEN
        DELETE FROM silver.ml_keys;
    END IF;
    WITH raw AS (
        SELECT item_id, site_id, series_key, deposito, region, familia, category, _load_id
        FROM bronze.ml_forecasts WHERE p_loads IS NULL OR _load_id = ANY (p_loads)
        UNION ALL
        SELECT item_id, site_id, series_key, deposito, region, familia, category, _load_id
        FROM bronze.inventory WHERE p_loads IS NULL OR _load_id = ANY (p_loads)
    ), per_load AS (
        SELECT coalesce(btrim(r.item_id), '') AS item_raw, coalesce(btrim(r.site_id), '') AS site_raw,
               coalesce(btrim(r.series_key), '') AS series_raw, r._load_id,
               max(nullif(btrim(r.deposito), '')) AS deposito,
               max(nullif(nullif(btrim(r.region), ''), 'UNKNOWN')) AS region,
               max(nullif(btrim(r.familia), '')) AS familia,
               max(nullif(btrim(r.category), '')) AS category
        FROM raw r JOIN meta.loads l ON l.load_id = r._load_id AND l.status = 'loaded'
        GROUP BY 1, 2, 3, 4
    ), per_key AS (
        SELECT item_raw, site_raw, series_raw,
               (array_agg(deposito ORDER BY _load_id DESC) FILTER (WHERE deposito IS NOT NULL))[1] AS deposito,
               (array_agg(region ORDER BY _load_id DESC) FILTER (WHERE region IS NOT NULL))[1] AS region,
               (array_agg(familia ORDER BY _load_id DESC) FILTER (WHERE familia IS NOT NULL))[1] AS familia,
               (array_agg(category ORDER BY _load_id DESC) FILTER (WHERE category IS NOT NULL))[1] AS category,
               max(_load_id) AS last_load_id
        FROM per_load
        WHERE item_raw <> '' OR series_raw <> ''
        GROUP BY 1, 2, 3
    ), changed AS (
        -- keys that are new or whose attributes change (last_load_id alone does not count)
        SELECT count(*) AS n FROM per_key p
        LEFT JOIN silver.ml_keys k USING (item_raw, site_raw, series_raw)
        WHERE k.item_raw IS NULL
           OR (k.deposito, k.region, k.familia, k.category)
              IS DISTINCT FROM (coalesce(p.deposito, k.deposito), coalesce(p.region, k.region),
                                coalesce(p.familia, k.familia), coalesce(p.category, k.category))
    ), upsert AS (
    INSERT INTO silver.ml_keys AS k (item_raw, site_raw, series_raw, deposito, region, familia, category, last_load_id)
    SELECT * FROM per_key
    ON CONFLICT (item_raw, site_raw, series_raw) DO UPDATE SET
        deposito = coalesce(excluded.deposito, k.deposito),
        region = coalesce(excluded.region, k.region),
        familia = coalesce(excluded.familia, k.familia),
        category = coalesce(excluded.category, k.category),
        last_load_id = greatest(excluded.last_load_id, k.last_load_id)
    WHERE (k.deposito, k.region, k.familia, k.category, k.last_load_id)
          IS DISTINCT FROM (coalesce(excluded.deposito, k.deposito), coalesce(excluded.region, k.region),
                            coalesce(excluded.familia, k.familia), coalesce(excluded.category, k.category),
                            greatest(excluded.last_load_id, k.last_load_id))
    RETURNING 1
    )
    SELECT c.n INTO n FROM changed c, (SELECT count(*) FROM upsert) u;
    RETURN n;
END
$$;
COMMENT ON FUNCTION silver.sync_ml_keys(bigint[]) IS 'Adds the ML keys of the given loads to silver.ml_keys (NULL: rebuild from every loaded load); returns the keys that are new or whose depot, region, familia or category changed.';

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

-- ERP product code -> ML key (the latest line of the code wins).
CREATE VIEW silver.erp_codes AS
SELECT DISTINCT ON (product_code) product_code, ml_key, familia, material
FROM silver.erp_lines
WHERE product_code IS NOT NULL AND ml_key IS NOT NULL
ORDER BY product_code, load_id DESC, line DESC;
COMMENT ON VIEW silver.erp_codes IS 'ERP product code to ML item key (FAMÍLIA_MATERIAL).';

-- Canonical item id per matching key: ML item ids first, then ERP keys, then
-- item master ids, then the item part of series keys. Computing it folds
-- every ERP line's key (silver.norm_key), so refresh keeps the result in the
-- table silver.item_map and recomputes it only when a load brings ERP lines,
-- item master rows or new ML keys (silver.refresh_item_map).
CREATE VIEW silver.item_map_v AS
WITH candidates AS (
    -- An item id equal to its series key's item part was derived from a file
    -- name (spaces and '/' became '_'): it ranks like the series key.
    SELECT item_raw AS raw_key,
           CASE WHEN series_raw <> '' AND item_raw = substring(series_raw FROM '^item(.*)_site[^_]*$') THEN 4 ELSE 1 END AS rank
    FROM silver.ml_keys WHERE item_raw <> ''
    UNION
    SELECT ml_key, 2 FROM silver.erp_lines WHERE ml_key IS NOT NULL
    UNION
    SELECT m.raw_id, 3 FROM silver.item_master m
    WHERE NOT EXISTS (SELECT 1 FROM silver.erp_codes c WHERE c.product_code = m.raw_id)
    UNION
    SELECT substring(series_raw FROM '^item(.*)_site[^_]*$'), 4 FROM silver.ml_keys
    WHERE item_raw = '' AND series_raw ~ '^item.+_site[^_]*$'
)
SELECT DISTINCT ON (silver.norm_key(raw_key)) silver.norm_key(raw_key) AS norm, raw_key AS item_id, rank
FROM candidates
WHERE silver.norm_key(raw_key) IS NOT NULL
ORDER BY silver.norm_key(raw_key), rank, raw_key COLLATE "C";
COMMENT ON VIEW silver.item_map_v IS 'Canonical item_id per matching key computed from silver (refresh copies it into silver.item_map).';

CREATE TABLE silver.item_map (
    norm     text    PRIMARY KEY,
    item_id  text    NOT NULL,
    rank     integer NOT NULL
);
CREATE INDEX item_map_item_idx ON silver.item_map (item_id);
COMMENT ON TABLE silver.item_map IS 'Canonical item_id per matching key (silver.norm_key); rank 1 = ML item id, 2 = ERP FAMÍLIA_MATERIAL, 3 = item master id, 4 = series key only. Snapshot of silver.item_map_v kept by refresh.';

-- Replaces silver.item_map with silver.item_map_v; returns the number of
-- matching keys added, removed or mapped to another item_id.
CREATE FUNCTION silver.refresh_item_map() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    -- One statement, one snapshot: the counts compare with the old table.
    WITH v AS MATERIALIZED (
        SELECT norm, item_id, rank FROM silver.item_map_v
    ), removed AS (
        DELETE FROM silver.item_map o WHERE NOT EXISTS (SELECT 1 FROM v WHERE v.norm = o.norm) RETURNING 1
    ), remapped AS (
        SELECT count(*) AS c FROM v LEFT JOIN silver.item_map o USING (norm)
        WHERE o.norm IS NULL OR o.item_id IS DISTINCT FROM v.item_id
    ), upsert AS (
        INSERT INTO silver.item_map AS o (norm, item_id, rank)
        SELECT norm, item_id, rank FROM v
        ON CONFLICT (norm) DO UPDATE SET item_id = excluded.item_id, rank = excluded.rank
        WHERE (o.item_id, o.rank) IS DISTINCT FROM (excluded.item_id, excluded.rank)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM removed) + (SELECT c FROM remapped) INTO n
    FROM (SELECT count(*) FROM upsert) u;
    RETURN n;
END
$$;
COMMENT ON FUNCTION silver.refresh_item_map() IS 'Brings silver.item_map in line with silver.item_map_v; returns the keys added, removed or remapped.';

-- Resolution of every ML key triple to (item_id, site_id): a table, filled
-- by refresh from silver.series_map_v, so that fact builds join a small table.
CREATE VIEW silver.series_map_v AS
SELECT k.item_raw, k.site_raw, k.series_raw, im.item_id,
       coalesce(nullif(k.site_raw, ''), substring(k.series_raw FROM '_site([^_]*)$')) AS site_id
FROM silver.ml_keys k
LEFT JOIN silver.item_map im
       ON im.norm = silver.norm_key(coalesce(nullif(k.item_raw, ''), substring(k.series_raw FROM '^item(.*)_site[^_]*$')));
COMMENT ON VIEW silver.series_map_v IS 'ML key triples resolved to canonical item_id (through silver.item_map) and site_id (explicit, else parsed from the series key).';

CREATE TABLE silver.series_map (
    item_raw    text NOT NULL,
    site_raw    text NOT NULL,
    series_raw  text NOT NULL,
    item_id     text,
    site_id     text,
    PRIMARY KEY (item_raw, site_raw, series_raw)
);
COMMENT ON TABLE silver.series_map IS 'Snapshot of silver.series_map_v taken by each refresh; facts join it. A changed resolution makes the refresh recompute every date.';

-- Items: one row per canonical item with the attributes of the item master,
-- the ERP and the ML outputs.
CREATE VIEW silver.stg_items AS
WITH master AS (
    SELECT coalesce(ic.item_id, im.item_id) AS item_id, max(m.sku) AS sku, max(m.name) AS name, max(m.category) AS category
    FROM silver.item_master m
    LEFT JOIN silver.erp_codes c ON c.product_code = m.raw_id
    LEFT JOIN silver.item_map ic ON ic.norm = silver.norm_key(c.ml_key)
    LEFT JOIN silver.item_map im ON im.norm = silver.norm_key(m.raw_id)
    GROUP BY 1
), erp AS (
    SELECT im.item_id, min(c.product_code) AS first_code, max(c.familia) AS familia, max(c.material) AS material,
           array_agg(DISTINCT c.product_code ORDER BY c.product_code) AS codes
    FROM silver.erp_codes c JOIN silver.item_map im ON im.norm = silver.norm_key(c.ml_key)
    GROUP BY im.item_id
), ml AS (
    SELECT im.item_id, max(k.familia) AS familia, max(k.category) AS category
    FROM silver.ml_keys k
    JOIN silver.item_map im
      ON im.norm = silver.norm_key(coalesce(nullif(k.item_raw, ''), substring(k.series_raw FROM '^item(.*)_site[^_]*$')))
    GROUP BY im.item_id
)
SELECT i.item_id,
       coalesce(m.sku, e.first_code) AS sku,
       coalesce(m.name, e.material, nullif(regexp_replace(i.item_id, '^[^_]*_', ''), '')) AS name,
       coalesce(m.category, ml.category, e.familia) AS category,
       coalesce(e.familia, ml.familia) AS familia,
       coalesce(e.codes, '{}') AS erp_product_codes,
       (m.item_id IS NOT NULL OR e.item_id IS NOT NULL) AS in_item_master
FROM (SELECT DISTINCT item_id FROM silver.item_map) i
LEFT JOIN master m ON m.item_id = i.item_id
LEFT JOIN erp e ON e.item_id = i.item_id
LEFT JOIN ml ON ml.item_id = i.item_id;
COMMENT ON VIEW silver.stg_items IS 'One row per canonical item: sku, name, category, familia, ERP product codes, and whether the item master (bronze.erp_items or the ERP export) knows it.';

-- Sites: ML site ids with their depot (latest non-blank) and region.
CREATE VIEW silver.stg_sites AS
SELECT x.site_id,
       (array_agg(x.deposito ORDER BY x.last_load_id DESC) FILTER (WHERE x.deposito IS NOT NULL))[1] AS deposito,
       (array_agg(x.region ORDER BY x.last_load_id DESC) FILTER (WHERE x.region IS NOT NULL))[1] AS region
FROM (SELECT coalesce(nullif(k.site_raw, ''), substring(k.series_raw FROM '_site([^_]*)$')) AS site_id,
             k.deposito, k.region, k.last_load_id
      FROM silver.ml_keys k) x
WHERE x.site_id IS NOT NULL AND x.site_id <> ''
GROUP BY x.site_id;
COMMENT ON VIEW silver.stg_sites IS 'ML site ids with their ERP depot code (deposito) and region.';

-- Demand: ERP lines with a requisition date (DATA SOLICITADO) and an item.
CREATE VIEW silver.stg_demand AS
SELECT e.date, im.item_id, e.product_code, e.deposito, e.quantity, e.unit, e.request_id,
       e.supplier_name, e.requested_date, e.purchase_date, e.load_id, e.line
FROM silver.erp_lines e
JOIN silver.item_map im ON im.norm = silver.norm_key(e.ml_key)
WHERE e.date IS NOT NULL AND e.quantity IS NOT NULL;
COMMENT ON VIEW silver.stg_demand IS 'Actual demand: ERP requisition lines with date = DATA SOLICITADO and the canonical item_id (rows without date are counted in silver.dropped_rows).';

-- Daily demand per item (deposito NULL) and per (item, depot), rebuilt by
-- refresh whenever the ERP lines or the item resolution change, so that fact
-- builds read a small indexed table instead of re-matching every ERP line.
CREATE TABLE silver.demand_daily (
    date      date             NOT NULL,
    item_id   text             NOT NULL,
    deposito  text,
    quantity  double precision NOT NULL
);
CREATE INDEX demand_daily_date_idx ON silver.demand_daily (date, item_id);
COMMENT ON TABLE silver.demand_daily IS 'silver.stg_demand summed per (date, item_id) (deposito NULL) and per (date, item_id, deposito); kept by refresh.';

CREATE FUNCTION silver.refresh_demand_daily() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    DELETE FROM silver.demand_daily;
    INSERT INTO silver.demand_daily (date, item_id, deposito, quantity)
    SELECT date, item_id, deposito, sum(quantity)
    FROM silver.stg_demand
    GROUP BY GROUPING SETS ((date, item_id), (date, item_id, deposito))
    HAVING grouping(deposito) = 1 OR deposito IS NOT NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    ANALYZE silver.demand_daily;
    RETURN n;
END
$$;
COMMENT ON FUNCTION silver.refresh_demand_daily() IS 'Rebuilds silver.demand_daily from silver.stg_demand.';

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
-- the day they were generated (America/Sao_Paulo).
CREATE VIEW silver.stg_inventory AS
SELECT DISTINCT ON (m.item_id, m.site_id, coalesce(b.date, (b.generated_at AT TIME ZONE 'America/Sao_Paulo')::date))
       coalesce(b.date, (b.generated_at AT TIME ZONE 'America/Sao_Paulo')::date) AS date,
       m.item_id, m.site_id, b.current_stock, b.safety_stock, b.reorder_point, b.avg_daily_demand,
       b.lead_time_days, b.days_to_rupture, nullif(lower(btrim(b.stock_status)), '') AS stock_status,
       btrim(b.model_version) AS model_version, b.generated_at, btrim(b.source) AS source,
       btrim(b.dataset_id) AS dataset_id, b._load_id AS load_id, b._line AS line
FROM bronze.inventory b
JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'
JOIN silver.series_map m
  ON m.item_raw = coalesce(btrim(b.item_id), '') AND m.site_raw = coalesce(btrim(b.site_id), '')
 AND m.series_raw = coalesce(btrim(b.series_key), '')
WHERE coalesce(b.date, (b.generated_at AT TIME ZONE 'America/Sao_Paulo')::date) IS NOT NULL
  AND m.item_id IS NOT NULL AND m.site_id IS NOT NULL AND m.site_id <> ''
ORDER BY m.item_id, m.site_id, coalesce(b.date, (b.generated_at AT TIME ZONE 'America/Sao_Paulo')::date),
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

-- Rows silver leaves out because a key is missing: counted, never silent.
CREATE VIEW silver.dropped_rows AS
SELECT 'bronze.erp_requisitions'::text AS table_name, 'no DATA SOLICITADO (solicited_date)'::text AS reason,
       count(*) AS rows, coalesce(sum(quantity), 0)::double precision AS quantity
FROM silver.erp_lines WHERE date IS NULL
UNION ALL
SELECT 'bronze.erp_requisitions', 'no item (familia and material blank) or no quantity', count(*),
       coalesce(sum(quantity), 0)::double precision
FROM silver.erp_lines WHERE date IS NOT NULL AND (ml_key IS NULL OR quantity IS NULL)
UNION ALL
SELECT 'bronze.ml_forecasts', 'no date, or item/site not resolvable', count(*), coalesce(sum(b.forecast), 0)
FROM bronze.ml_forecasts b
JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'
LEFT JOIN silver.series_map m
  ON m.item_raw = coalesce(btrim(b.item_id), '') AND m.site_raw = coalesce(btrim(b.site_id), '')
 AND m.series_raw = coalesce(btrim(b.series_key), '')
WHERE b.date IS NULL OR m.item_id IS NULL OR m.site_id IS NULL OR m.site_id = ''
UNION ALL
SELECT 'bronze.inventory', 'no date, or item/site not resolvable', count(*), coalesce(sum(b.current_stock), 0)
FROM bronze.inventory b
JOIN meta.loads l ON l.load_id = b._load_id AND l.status = 'loaded'
LEFT JOIN silver.series_map m
  ON m.item_raw = coalesce(btrim(b.item_id), '') AND m.site_raw = coalesce(btrim(b.site_id), '')
 AND m.series_raw = coalesce(btrim(b.series_key), '')
WHERE coalesce(b.date, (b.generated_at AT TIME ZONE 'America/Sao_Paulo')::date) IS NULL
   OR m.item_id IS NULL OR m.site_id IS NULL OR m.site_id = '';
COMMENT ON VIEW silver.dropped_rows IS 'Bronze rows that silver leaves out for a missing key, with their count and summed quantity (checked by novawh check).';
