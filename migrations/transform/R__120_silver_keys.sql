-- Silver: item and site identities. The ML key FAMÍLIA_MATERIAL is the
-- canonical item id; ERP product codes and forecast series keys map onto it.
-- An ERP depot (DEPÓSITO) is a site: the ML site whose depot it is, else the
-- depot code itself; the blank depot is silver.blank_depot_site().

DROP VIEW IF EXISTS silver.item_map_v, silver.series_map_v, silver.stg_items, silver.stg_sites,
    silver.site_map_v, silver.sites CASCADE;

-- Raw item/site/series keys seen in ML outputs (forecasts and inventory) are
-- kept in silver.ml_keys; this adds the keys of the given loads (NULL:
-- rebuild from every loaded load) and returns the keys that are new or whose
-- depot, region, familia or category changed.
CREATE OR REPLACE FUNCTION silver.sync_ml_keys(p_loads bigint[]) RETURNS bigint
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

-- Canonical item id per matching key: ML item ids first, then ERP keys, then
-- item master ids, then the item part of series keys. refresh copies the
-- result into the table silver.item_map (silver.refresh_item_map).
CREATE VIEW silver.item_map_v AS
WITH candidates AS (
    -- An item id equal to its series key's item part was derived from a file
    -- name (spaces and '/' became '_'): it ranks like the series key.
    SELECT item_raw AS raw_key,
           CASE WHEN series_raw <> '' AND item_raw = substring(series_raw FROM '^item(.*)_site[^_]*$') THEN 4 ELSE 1 END AS rank
    FROM silver.ml_keys WHERE item_raw <> ''
    UNION
    SELECT ml_key, 2 FROM silver.erp_keys
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

-- Brings silver.item_map in line with silver.item_map_v; returns the keys
-- added, and the keys removed or mapped to another item_id (those change
-- facts of every date).
CREATE OR REPLACE FUNCTION silver.refresh_item_map() RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE r jsonb;
BEGIN
    -- One statement, one snapshot: the counts compare with the old table.
    WITH v AS MATERIALIZED (
        SELECT norm, item_id, rank FROM silver.item_map_v
    ), removed AS (
        DELETE FROM silver.item_map o WHERE NOT EXISTS (SELECT 1 FROM v WHERE v.norm = o.norm) RETURNING 1
    ), diff AS (
        SELECT count(*) FILTER (WHERE o.norm IS NULL) AS added,
               count(*) FILTER (WHERE o.norm IS NOT NULL AND o.item_id IS DISTINCT FROM v.item_id) AS remapped
        FROM v LEFT JOIN silver.item_map o USING (norm)
    ), upsert AS (
        INSERT INTO silver.item_map AS o (norm, item_id, rank)
        SELECT norm, item_id, rank FROM v
        ON CONFLICT (norm) DO UPDATE SET item_id = excluded.item_id, rank = excluded.rank
        WHERE (o.item_id, o.rank) IS DISTINCT FROM (excluded.item_id, excluded.rank)
        RETURNING 1
    )
    SELECT jsonb_build_object('added', d.added, 'remapped', d.remapped, 'removed', (SELECT count(*) FROM removed)) INTO r
    FROM diff d, (SELECT count(*) FROM upsert) u;
    RETURN r;
END
$$;
COMMENT ON FUNCTION silver.refresh_item_map() IS 'Brings silver.item_map in line with silver.item_map_v; returns {"added", "removed", "remapped"} key counts.';

-- Resolution of every ML key triple to (item_id, site_id): refresh keeps it
-- in the table silver.series_map so that fact builds join a small table.
CREATE VIEW silver.series_map_v AS
SELECT k.item_raw, k.site_raw, k.series_raw, im.item_id,
       coalesce(nullif(k.site_raw, ''), substring(k.series_raw FROM '_site([^_]*)$')) AS site_id
FROM silver.ml_keys k
LEFT JOIN silver.item_map im
       ON im.norm = silver.norm_key(coalesce(nullif(k.item_raw, ''), substring(k.series_raw FROM '^item(.*)_site[^_]*$')));
COMMENT ON VIEW silver.series_map_v IS 'ML key triples resolved to canonical item_id (through silver.item_map) and site_id (explicit, else parsed from the series key).';

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

-- ML sites with their depot (latest non-blank) and region.
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

-- Depot -> site: the ML site of the depot (the lowest id when several share
-- it), the blank depot '' -> silver.blank_depot_site(), any other ERP depot
-- -> its own code (prefixed 'DEP:' in the unlikely case the code is already
-- an ML site id, 'ALL' or the blank-depot id). refresh copies it into the
-- table silver.site_map.
CREATE VIEW silver.site_map_v AS
WITH ml AS (
    SELECT deposito, min(site_id COLLATE "C") AS site_id FROM silver.stg_sites
    WHERE deposito IS NOT NULL AND site_id <> 'ALL' GROUP BY deposito
), deps AS (
    SELECT deposito FROM silver.erp_depots UNION SELECT deposito FROM ml
)
SELECT d.deposito,
       CASE WHEN d.deposito = '' THEN silver.blank_depot_site()
            WHEN ml.site_id IS NOT NULL THEN ml.site_id
            WHEN d.deposito IN ('ALL', silver.blank_depot_site())
              OR EXISTS (SELECT 1 FROM silver.stg_sites s WHERE s.site_id = d.deposito) THEN 'DEP:' || d.deposito
            ELSE d.deposito END AS site_id,
       ml.site_id IS NOT NULL AS ml_site
FROM deps d LEFT JOIN ml USING (deposito);
COMMENT ON VIEW silver.site_map_v IS 'Every depot (ERP DEPÓSITO, '''' = blank, and ML depots) with the gold site_id its demand belongs to (refresh copies it into silver.site_map).';

-- Every gold site except 'ALL': the ML sites, the ERP depots without an ML
-- site, and the blank-depot site.
CREATE VIEW silver.sites AS
SELECT site_id, deposito, region FROM silver.stg_sites WHERE site_id <> 'ALL'
UNION ALL
SELECT m.site_id, nullif(m.deposito, ''), NULL::text
FROM silver.site_map m
WHERE NOT m.ml_site AND NOT EXISTS (SELECT 1 FROM silver.stg_sites s WHERE s.site_id = m.site_id);
COMMENT ON VIEW silver.sites IS 'Every site of gold.dim_site except ''ALL'': ML sites with their depot and region, ERP depots without an ML site (site_id = depot code) and the blank-depot site.';
