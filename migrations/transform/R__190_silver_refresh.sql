-- Bronze -> silver entry point: silver.refresh(loads, full) brings every
-- silver table kept by refresh up to date with the given loads and returns
-- what changed, which gold.refresh reads to decide the dates to rewrite.

-- p_loads: the loaded loads not applied yet (meta.refresh_loads); p_full:
-- rebuild from every loaded load instead. Returns
--   {"erp_lines_added", "erp_lines_removed", "ml_keys_changed",
--    "erp_loads_added": the loads whose ERP lines were added, when none
--      were removed (else null: gold rereads every supplier),
--    "item_pass": the item resolution was recomputed,
--    "resolution_changed": an existing key resolves differently or vanished,
--    "item_map": {"added", "removed", "remapped"},
--    "demand_touched": the ERP dates whose lines changed,
--    "demand_relabeled": the dates of lines of a superseded export (their
--      figures may be unchanged, their load_id is the new export's),
--    "forecast_touched", "inventory_touched": spans (meta.span_json),
--    "coverage_before", "coverage": the ERP coverage before and after,
--    "external": an external series changed}.
CREATE OR REPLACE FUNCTION silver.refresh(p_loads bigint[], p_full boolean) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := meta.progress_start('silver.demand_lines');
    loads bigint[] := CASE WHEN p_full THEN NULL ELSE coalesce(p_loads, '{}') END;
    cov_before daterange := silver.demand_coverage();
    superseded bigint[];
    removed bigint := 0;
    added bigint := 0;
    touched daterange;
    relabeled daterange;
    summ jsonb;
    ml_changed bigint;
    item_pass boolean;
    im jsonb := '{"added": 0, "removed": 0, "remapped": 0}';
    resolution_changed boolean := false;
    fc daterange;
    inv daterange;
    ext boolean;
BEGIN
    PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
    PERFORM meta.analyze_if_stale(t) FROM unnest(ARRAY['bronze.erp_requisitions', 'bronze.erp_items', 'bronze.ml_forecasts',
        'bronze.inventory', 'meta.loads']::regclass[]) t;

    -- ERP lines: drop the lines of superseded exports, add the new ones.
    IF p_full THEN
        DELETE FROM silver.demand_lines;
        GET DIAGNOSTICS removed = ROW_COUNT;
        added := silver.add_demand_lines(NULL);
        ANALYZE silver.demand_lines;
        summ := silver.summarize_demand_lines(NULL);
        touched := '(,)';
        relabeled := '(,)';
    ELSE
        superseded := ARRAY(
            SELECT e.load_id FROM silver.erp_loads e
            WHERE e.superseded_by IS NOT NULL AND NOT (e.load_id = ANY (loads))
              AND EXISTS (SELECT 1 FROM silver.demand_lines d WHERE d.load_id = e.load_id));
        -- A re-export (a new load of the same file) repeats most of the old
        -- lines: the dates touched are those whose lines differ, compared
        -- per day by count and a hash of their contents.
        IF cardinality(superseded) > 0 THEN
            CREATE TEMP TABLE IF NOT EXISTS refresh_erp_days (date date PRIMARY KEY, lines bigint, hash numeric)
                ON COMMIT DROP;
            TRUNCATE refresh_erp_days;
            INSERT INTO refresh_erp_days
            SELECT date, count(*), sum(silver.demand_line_hash(d)) FROM silver.demand_lines d
            WHERE load_id = ANY (superseded) AND date IS NOT NULL AND quantity IS NOT NULL GROUP BY date;
            SELECT meta.span(min(date), max(date)) INTO relabeled FROM refresh_erp_days;
            DELETE FROM silver.demand_lines WHERE load_id = ANY (superseded);
            GET DIAGNOSTICS removed = ROW_COUNT;
        END IF;
        IF EXISTS (SELECT 1 FROM bronze.erp_requisitions WHERE _load_id = ANY (loads)) THEN
            added := silver.add_demand_lines(loads);
            IF added > greatest(1000, 0.1 * (SELECT reltuples FROM pg_class WHERE oid = 'silver.demand_lines'::regclass)) THEN
                ANALYZE silver.demand_lines;
            END IF;
        END IF;
        IF removed > 0 THEN
            SELECT meta.span(min(coalesce(o.date, n.date)), max(coalesce(o.date, n.date))) INTO touched
            FROM refresh_erp_days o
            FULL JOIN (SELECT date, count(*) AS lines, sum(silver.demand_line_hash(d)) AS hash FROM silver.demand_lines d
                       WHERE load_id = ANY (loads) AND date IS NOT NULL AND quantity IS NOT NULL GROUP BY date) n USING (date)
            WHERE (o.lines, o.hash) IS DISTINCT FROM (n.lines, n.hash);
        ELSIF added > 0 THEN
            SELECT meta.span(min(date), max(date)) INTO touched FROM silver.demand_lines
            WHERE load_id = ANY (loads) AND quantity IS NOT NULL;
        END IF;
        IF removed > 0 THEN
            summ := silver.summarize_demand_lines(NULL);
        ELSIF added > 0 THEN
            summ := silver.summarize_demand_lines(loads);
        ELSE
            summ := '{"item_keys": 0, "depots": 0}';
        END IF;
    END IF;
    PERFORM meta.progress('silver.demand_lines', added, t0);

    -- ML keys, then the item resolution when a load can change it: ERP keys
    -- or product codes, item master rows, or ML keys that are new or carry
    -- new attributes (a day of forecasts for known series skips it).
    t0 := meta.progress_start('silver.item_resolution');
    ml_changed := silver.sync_ml_keys(loads);
    item_pass := p_full OR ml_changed > 0 OR removed > 0 OR (summ->>'item_keys')::bigint > 0
        OR EXISTS (SELECT 1 FROM bronze.erp_items WHERE _load_id = ANY (loads))
        OR (NOT EXISTS (SELECT 1 FROM silver.item_map) AND EXISTS (SELECT 1 FROM silver.ml_keys));
    IF item_pass THEN
        im := silver.refresh_item_map();
        ANALYZE silver.item_map;
        IF NOT p_full THEN
            resolution_changed := (im->>'removed')::bigint + (im->>'remapped')::bigint > 0
                OR EXISTS (SELECT 1 FROM silver.series_map o JOIN silver.series_map_v n USING (item_raw, site_raw, series_raw)
                           WHERE (o.item_id, o.site_id) IS DISTINCT FROM (n.item_id, n.site_id));
        END IF;
        DELETE FROM silver.series_map;
        INSERT INTO silver.series_map SELECT item_raw, site_raw, series_raw, item_id, site_id FROM silver.series_map_v;
        ANALYZE silver.ml_keys, silver.series_map;
    END IF;
    -- Depots -> sites: small, taken every time (a new depot, a new ML site).
    DELETE FROM silver.site_map;
    INSERT INTO silver.site_map SELECT deposito, site_id, ml_site FROM silver.site_map_v;
    ANALYZE silver.site_map;
    PERFORM meta.progress('silver.item_resolution', (SELECT count(*) FROM silver.item_map), t0);

    -- Dates the other sources' new rows touch.
    IF p_full THEN
        fc := '(,)'; inv := '(,)'; ext := true;
    ELSE
        SELECT meta.span(min(date), max(date)) INTO fc FROM bronze.ml_forecasts WHERE _load_id = ANY (loads);
        SELECT meta.span(min(d), max(d)) INTO inv
        FROM (SELECT coalesce(date, (generated_at AT TIME ZONE silver.business_time_zone())::date) AS d
              FROM bronze.inventory WHERE _load_id = ANY (loads)) x;
        ext := EXISTS (SELECT 1 FROM bronze.economic_series WHERE _load_id = ANY (loads))
            OR EXISTS (SELECT 1 FROM bronze.fx_ptax WHERE _load_id = ANY (loads))
            OR EXISTS (SELECT 1 FROM bronze.weather_daily WHERE _load_id = ANY (loads))
            OR EXISTS (SELECT 1 FROM bronze.telecom_5g WHERE _load_id = ANY (loads));
    END IF;

    RETURN jsonb_build_object(
        'erp_lines_added', added, 'erp_lines_removed', removed, 'ml_keys_changed', ml_changed,
        'erp_loads_added', CASE WHEN NOT p_full AND removed = 0 AND added > 0 THEN
            (SELECT jsonb_agg(DISTINCT d.load_id) FROM silver.demand_lines d WHERE d.load_id = ANY (loads)) END,
        'item_pass', item_pass, 'resolution_changed', resolution_changed, 'item_map', im,
        'demand_touched', meta.span_json(touched), 'demand_relabeled', meta.span_json(relabeled),
        'forecast_touched', meta.span_json(fc),
        'inventory_touched', meta.span_json(inv), 'external', ext,
        'coverage_before', meta.span_json(cov_before), 'coverage', meta.span_json(silver.demand_coverage()));
END
$$;
COMMENT ON FUNCTION silver.refresh(bigint[], boolean) IS 'Bronze -> silver: applies the given loads (or, full, every loaded load) to the silver tables kept by refresh; returns what changed (see migrations/transform/R__190_silver_refresh.sql).';
