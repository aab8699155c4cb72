-- Silver -> gold: dimensions. Each is upserted from silver (rows that
-- silver no longer has are deleted) and returns the rows changed.

CREATE OR REPLACE FUNCTION gold.refresh_dim_item() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint; m bigint;
BEGIN
    INSERT INTO gold.dim_item AS d (item_id, sku, name, category, familia, erp_product_codes, in_item_master, updated_at)
    SELECT item_id, sku, name, category, familia, erp_product_codes, in_item_master, now()
    FROM silver.stg_items
    ON CONFLICT (item_id) DO UPDATE SET
        sku = excluded.sku, name = excluded.name, category = excluded.category, familia = excluded.familia,
        erp_product_codes = excluded.erp_product_codes, in_item_master = excluded.in_item_master, updated_at = now()
    WHERE (d.sku, d.name, d.category, d.familia, d.erp_product_codes, d.in_item_master)
          IS DISTINCT FROM (excluded.sku, excluded.name, excluded.category, excluded.familia,
                            excluded.erp_product_codes, excluded.in_item_master);
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM gold.dim_item d WHERE NOT EXISTS (SELECT 1 FROM silver.stg_items s WHERE s.item_id = d.item_id);
    GET DIAGNOSTICS m = ROW_COUNT;
    RETURN n + m;
END
$$;
COMMENT ON FUNCTION gold.refresh_dim_item() IS 'Upserts gold.dim_item from silver.stg_items; returns the rows changed.';

-- Sites: the ML sites, every ERP depot (silver.sites) and 'ALL'.
CREATE OR REPLACE FUNCTION gold.refresh_dim_site() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint; m bigint;
BEGIN
    INSERT INTO gold.dim_site AS d (site_id, deposito, region)
    SELECT site_id, deposito, region FROM silver.sites
    UNION ALL SELECT 'ALL', NULL, NULL
    ON CONFLICT (site_id) DO UPDATE SET deposito = excluded.deposito, region = excluded.region
    WHERE (d.deposito, d.region) IS DISTINCT FROM (excluded.deposito, excluded.region);
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM gold.dim_site d
    WHERE d.site_id <> 'ALL' AND NOT EXISTS (SELECT 1 FROM silver.sites s WHERE s.site_id = d.site_id);
    GET DIAGNOSTICS m = ROW_COUNT;
    RETURN n + m;
END
$$;
COMMENT ON FUNCTION gold.refresh_dim_site() IS 'Upserts gold.dim_site from silver.sites plus the item-level pseudo-site ''ALL''; returns the rows changed.';

-- Suppliers from the silver supplier summaries: totals, the most frequent
-- spelling, items, and the median and p90 of the lead times (continuous
-- percentiles, as percentile_cont, computed from the per-day histogram).
-- p_loads: only the suppliers of the lines of these loads (the daily case,
-- lines added and none removed: no other supplier's summary changed);
-- NULL: every supplier, and those without lines any more are deleted.
DROP FUNCTION IF EXISTS gold.refresh_dim_supplier();
CREATE OR REPLACE FUNCTION gold.refresh_dim_supplier(p_loads bigint[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n_up bigint; n_del bigint := 0;
BEGIN
    INSERT INTO gold.dim_supplier AS d (supplier, supplier_name, lines, items, quantity, first_purchase, last_purchase,
                                        lead_time_lines, lead_time_days_median, lead_time_days_p90, negative_lead_time_lines)
    WITH sup AS MATERIALIZED (
        SELECT DISTINCT supplier FROM silver.demand_lines WHERE load_id = ANY (p_loads) AND supplier IS NOT NULL
    ), tot AS (
        SELECT supplier, sum(lines)::int AS lines, sum(quantity)::float8 AS quantity,
               min(first_purchase) AS first_purchase, max(last_purchase) AS last_purchase
        FROM silver.supplier_spellings WHERE p_loads IS NULL OR supplier IN (SELECT supplier FROM sup) GROUP BY supplier
    ), name AS (
        SELECT DISTINCT ON (supplier) supplier, supplier_name FROM silver.supplier_spellings
        WHERE p_loads IS NULL OR supplier IN (SELECT supplier FROM sup)
        ORDER BY supplier, lines DESC, last_load_id DESC, last_line DESC
    ), items AS (
        SELECT supplier, count(*)::int AS items FROM silver.supplier_items
        WHERE p_loads IS NULL OR supplier IN (SELECT supplier FROM sup) GROUP BY supplier
    ), hist AS (
        -- integer running counts (a bigint sum would be numeric), a
        -- supplier's histogram in its primary-key order
        SELECT supplier, lead_days AS v,
               sum(lines::int4) OVER (PARTITION BY supplier COLLATE "C" ORDER BY lead_days) AS cum,
               sum(lines::int4) OVER (PARTITION BY supplier COLLATE "C") AS n
        FROM silver.supplier_lead_days WHERE lead_days >= 0 AND (p_loads IS NULL OR supplier IN (SELECT supplier FROM sup))
    ), lead_times AS (
        -- percentile_cont(p): rank r = p * (n - 1) among the sorted values (0-based),
        -- interpolated between the values at floor(r) and ceil(r); both
        -- percentiles in one pass over each supplier's histogram, floor
        -- and ceil in integer arithmetic (ceil((n - 1) / 2) = n / 2,
        -- ceil(9 (n - 1) / 10) = (9 (n - 1) + 9) / 10).
        SELECT supplier, n::int AS lines,
               lo5 + (hi5 - lo5) * (r5 - floor(r5)) AS median, lo9 + (hi9 - lo9) * (r9 - floor(r9)) AS p90
        FROM (SELECT supplier, n, 0.5 * (n - 1) AS r5, 0.9 * (n - 1) AS r9,
                     min(v) FILTER (WHERE cum > (n - 1) / 2) AS lo5,
                     min(v) FILTER (WHERE cum > n / 2) AS hi5,
                     min(v) FILTER (WHERE cum > (9 * (n - 1)) / 10) AS lo9,
                     min(v) FILTER (WHERE cum > (9 * (n - 1) + 9) / 10) AS hi9
              FROM hist GROUP BY supplier, n) x
    ), neg AS (
        SELECT supplier, sum(lines)::int AS lines FROM silver.supplier_lead_days
        WHERE lead_days < 0 AND (p_loads IS NULL OR supplier IN (SELECT supplier FROM sup)) GROUP BY supplier
    )
    SELECT t.supplier, nm.supplier_name, t.lines, coalesce(i.items, 0), t.quantity, t.first_purchase, t.last_purchase,
           coalesce(l.lines, 0), l.median::float8, l.p90::float8, coalesce(g.lines, 0)
    FROM tot t
    JOIN name nm USING (supplier)
    LEFT JOIN items i USING (supplier)
    LEFT JOIN lead_times l USING (supplier)
    LEFT JOIN neg g USING (supplier)
    ON CONFLICT (supplier) DO UPDATE SET
        supplier_name = excluded.supplier_name, lines = excluded.lines, items = excluded.items,
        quantity = excluded.quantity, first_purchase = excluded.first_purchase, last_purchase = excluded.last_purchase,
        lead_time_lines = excluded.lead_time_lines, lead_time_days_median = excluded.lead_time_days_median,
        lead_time_days_p90 = excluded.lead_time_days_p90, negative_lead_time_lines = excluded.negative_lead_time_lines
    WHERE (d.supplier_name, d.lines, d.items, d.quantity, d.first_purchase, d.last_purchase, d.lead_time_lines,
           d.lead_time_days_median, d.lead_time_days_p90, d.negative_lead_time_lines)
          IS DISTINCT FROM (excluded.supplier_name, excluded.lines, excluded.items, excluded.quantity,
                            excluded.first_purchase, excluded.last_purchase, excluded.lead_time_lines,
                            excluded.lead_time_days_median, excluded.lead_time_days_p90,
                            excluded.negative_lead_time_lines);
    GET DIAGNOSTICS n_up = ROW_COUNT;
    IF p_loads IS NULL THEN
        DELETE FROM gold.dim_supplier d WHERE NOT EXISTS (SELECT 1 FROM silver.supplier_spellings s WHERE s.supplier = d.supplier);
        GET DIAGNOSTICS n_del = ROW_COUNT;
    END IF;
    RETURN n_up + n_del;
END
$$;
COMMENT ON FUNCTION gold.refresh_dim_supplier(bigint[]) IS 'Upserts gold.dim_supplier from silver.supplier_spellings, supplier_items and supplier_lead_days, for the suppliers of the lines of p_loads (NULL: all, deleting suppliers without lines); returns the rows changed.';
