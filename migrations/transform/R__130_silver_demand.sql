-- Silver: ERP demand. silver.demand_lines holds the lines of the current
-- ERP exports that name an item (one row per line, kept by refresh: lines
-- of new exports are added, lines of superseded exports removed), and small
-- summary tables kept from it let gold resolve items, sites and suppliers
-- without reading every line again.

DROP VIEW IF EXISTS silver.stg_demand, silver.dropped_rows CASCADE;

-- First and last demand date (DATA SOLICITADO of lines with an item and a
-- quantity): the ERP coverage. NULL when there is no such line.
CREATE OR REPLACE FUNCTION silver.demand_coverage() RETURNS daterange
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN lo IS NOT NULL THEN daterange(lo, hi, '[]') END
    FROM (SELECT min(date) AS lo, max(date) AS hi FROM silver.demand_lines
          WHERE date IS NOT NULL AND quantity IS NOT NULL) c
$$;
COMMENT ON FUNCTION silver.demand_coverage() IS 'The ERP coverage: first to last demand date of silver.demand_lines (lines with a quantity), NULL when none.';

-- Fingerprint of what a demand line says (everything but its load and
-- line): a re-export's lines are compared day by day with the old ones.
CREATE OR REPLACE FUNCTION silver.demand_line_hash(l silver.demand_lines) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtextextended(concat_ws(E'\x1f', l.date, l.ml_key, l.product_code, l.deposito, l.unit, l.quantity,
                                      l.request_id, l.supplier_name, l.purchase_date), 0)::numeric
$$;
COMMENT ON FUNCTION silver.demand_line_hash(silver.demand_lines) IS 'Hash of a demand line''s contents (not its load or line number); summed per day to find the days a re-export changes.';

-- Adds the current lines (silver.erp_lines) of the given loads (NULL: of
-- every current export) to silver.demand_lines; returns the lines added.
-- Keys are folded once per distinct spelling, not once per line.
CREATE OR REPLACE FUNCTION silver.add_demand_lines(p_loads bigint[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    WITH l AS MATERIALIZED (
        SELECT * FROM silver.erp_lines
        WHERE ml_key IS NOT NULL AND (p_loads IS NULL OR load_id = ANY (p_loads))
    ), k AS (
        SELECT ml_key, silver.norm_key(ml_key) AS norm FROM (SELECT DISTINCT ml_key FROM l) d
    ), s AS (
        SELECT supplier_name, silver.supplier_key(supplier_name) AS supplier
        FROM (SELECT DISTINCT supplier_name FROM l WHERE supplier_name IS NOT NULL) d
    )
    INSERT INTO silver.demand_lines (load_id, line, date, ml_key, item_norm, product_code, familia, material,
                                     deposito, unit, quantity, request_id, supplier, supplier_name,
                                     purchase_date, lead_time_days)
    SELECT l.load_id, l.line, l.date, l.ml_key, k.norm, l.product_code, l.familia, l.material,
           coalesce(l.deposito, ''), coalesce(l.unit, ''), l.quantity, l.request_id, s.supplier, l.supplier_name,
           l.purchase_date, l.purchase_date - l.date
    FROM l
    JOIN k ON k.ml_key = l.ml_key AND k.norm IS NOT NULL
    LEFT JOIN s ON s.supplier_name = l.supplier_name;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION silver.add_demand_lines(bigint[]) IS 'Adds the current ERP lines of the given loads (NULL: every current export) that name an item to silver.demand_lines; returns the lines added.';

-- Adds the lines of the given loads (NULL: rebuilds from every line) of
-- silver.demand_lines to the summaries silver.erp_keys, silver.erp_codes,
-- silver.erp_depots and silver.supplier_*; returns {"item_keys": new ERP
-- keys + product codes new or mapped differently, "depots": new depots}.
-- Sums are numeric, so adding loads one by one equals a rebuild exactly.
CREATE OR REPLACE FUNCTION silver.summarize_demand_lines(p_loads bigint[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE nk bigint; nc bigint; nd bigint;
BEGIN
    IF p_loads IS NULL THEN
        DELETE FROM silver.erp_keys;
        DELETE FROM silver.erp_codes;
        DELETE FROM silver.erp_depots;
        DELETE FROM silver.supplier_spellings;
        DELETE FROM silver.supplier_items;
        DELETE FROM silver.supplier_lead_days;
    END IF;
    WITH ins AS (
        INSERT INTO silver.erp_keys (ml_key, item_norm)
        SELECT DISTINCT ml_key, item_norm FROM silver.demand_lines b_ WHERE p_loads IS NULL OR b_.load_id = ANY (p_loads)
        ON CONFLICT (ml_key) DO NOTHING RETURNING 1)
    SELECT count(*) INTO nk FROM ins;

    WITH latest AS (
        SELECT DISTINCT ON (product_code) product_code, ml_key, familia, material, load_id, line
        FROM silver.demand_lines b_ WHERE (p_loads IS NULL OR b_.load_id = ANY (p_loads)) AND product_code IS NOT NULL
        ORDER BY product_code, load_id DESC, line DESC
    ), up AS (
        INSERT INTO silver.erp_codes AS c (product_code, ml_key, familia, material, load_id, line)
        SELECT * FROM latest
        ON CONFLICT (product_code) DO UPDATE SET ml_key = excluded.ml_key, familia = excluded.familia,
            material = excluded.material, load_id = excluded.load_id, line = excluded.line
        WHERE (excluded.load_id, excluded.line) > (c.load_id, c.line)
          AND (c.ml_key, c.familia, c.material) IS DISTINCT FROM (excluded.ml_key, excluded.familia, excluded.material)
        RETURNING 1)
    SELECT count(*) INTO nc FROM up;

    WITH ins AS (
        INSERT INTO silver.erp_depots (deposito)
        SELECT DISTINCT deposito FROM silver.demand_lines b_ WHERE p_loads IS NULL OR b_.load_id = ANY (p_loads)
        ON CONFLICT (deposito) DO NOTHING RETURNING 1)
    SELECT count(*) INTO nd FROM ins;

    INSERT INTO silver.supplier_spellings AS s (supplier, supplier_name, lines, quantity, first_purchase, last_purchase,
                                                last_load_id, last_line)
    SELECT DISTINCT ON (supplier, supplier_name) supplier, supplier_name,
           count(*) OVER w, sum(coalesce(quantity, 0)::numeric) OVER w, min(purchase_date) OVER w,
           max(purchase_date) OVER w, load_id, line
    FROM silver.demand_lines b_ WHERE (p_loads IS NULL OR b_.load_id = ANY (p_loads)) AND supplier IS NOT NULL
    WINDOW w AS (PARTITION BY supplier, supplier_name)
    ORDER BY supplier, supplier_name, load_id DESC, line DESC
    ON CONFLICT (supplier, supplier_name) DO UPDATE SET
        lines = s.lines + excluded.lines, quantity = s.quantity + excluded.quantity,
        first_purchase = least(s.first_purchase, excluded.first_purchase),
        last_purchase = greatest(s.last_purchase, excluded.last_purchase),
        last_load_id = CASE WHEN (excluded.last_load_id, excluded.last_line) > (s.last_load_id, s.last_line)
                            THEN excluded.last_load_id ELSE s.last_load_id END,
        last_line = CASE WHEN (excluded.last_load_id, excluded.last_line) > (s.last_load_id, s.last_line)
                         THEN excluded.last_line ELSE s.last_line END;

    INSERT INTO silver.supplier_items (supplier, item_norm)
    SELECT DISTINCT supplier, item_norm FROM silver.demand_lines b_ WHERE (p_loads IS NULL OR b_.load_id = ANY (p_loads)) AND supplier IS NOT NULL
    ON CONFLICT DO NOTHING;

    INSERT INTO silver.supplier_lead_days AS d (supplier, lead_days, lines)
    SELECT supplier, lead_time_days, count(*) FROM silver.demand_lines b_
    WHERE (p_loads IS NULL OR b_.load_id = ANY (p_loads)) AND supplier IS NOT NULL AND lead_time_days IS NOT NULL
    GROUP BY 1, 2
    ON CONFLICT (supplier, lead_days) DO UPDATE SET lines = d.lines + excluded.lines;

    RETURN jsonb_build_object('item_keys', nk + nc, 'depots', nd);
END
$$;
COMMENT ON FUNCTION silver.summarize_demand_lines(bigint[]) IS 'Adds the silver.demand_lines of the given loads to the ERP and supplier summaries (NULL: rebuilds them); returns {"item_keys", "depots"} counts of new or changed keys.';

-- Actual demand: dated ERP lines with a quantity, their canonical item and
-- their site (silver.site_map).
CREATE VIEW silver.stg_demand AS
SELECT l.date, im.item_id, sm.site_id, nullif(l.deposito, '') AS deposito, l.unit, l.quantity, l.product_code,
       l.request_id, l.supplier, l.supplier_name, l.purchase_date, l.lead_time_days, l.load_id, l.line
FROM silver.demand_lines l
JOIN silver.item_map im ON im.norm = l.item_norm
JOIN silver.site_map sm ON sm.deposito = l.deposito
WHERE l.date IS NOT NULL AND l.quantity IS NOT NULL;
COMMENT ON VIEW silver.stg_demand IS 'Actual demand: ERP lines with date = DATA SOLICITADO and a quantity, with the canonical item_id and the gold site_id of their depot (lines without a date are counted in silver.dropped_rows).';

-- Rows silver leaves out because a key is missing: counted, never silent.
CREATE VIEW silver.dropped_rows AS
SELECT 'bronze.erp_requisitions'::text AS table_name, 'no DATA SOLICITADO (solicited_date)'::text AS reason,
       count(*) AS rows, coalesce(sum(quantity), 0)::double precision AS quantity
FROM silver.erp_lines WHERE date IS NULL
UNION ALL
SELECT 'bronze.erp_requisitions', 'no item (familia and material blank) or no quantity', count(*),
       coalesce(sum(quantity), 0)::double precision
FROM silver.erp_lines WHERE date IS NOT NULL AND (ml_key IS NULL OR silver.norm_key(ml_key) IS NULL OR quantity IS NULL)
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
WHERE coalesce(b.date, (b.generated_at AT TIME ZONE silver.business_time_zone())::date) IS NULL
   OR m.item_id IS NULL OR m.site_id IS NULL OR m.site_id = '';
COMMENT ON VIEW silver.dropped_rows IS 'Bronze rows that silver leaves out for a missing key, with their count and summed quantity (checked by novawh check).';
