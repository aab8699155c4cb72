-- Silver -> gold entry point: gold.refresh(changes, full) rewrites the dates
-- of every gold table that silver.refresh's changes touch, logs each rewrite
-- in meta.gold_changes (read by incremental exports) and returns what it did.
--
-- Windows: the demand facts are rewritten for the ERP dates touched (lines
-- added, removed or changed) and, after a re-export, the dates of the
-- superseded lines (their load_id changes); the forecast fact for its own new dates, the demand
-- dates and the days whose membership of the ERP coverage changed (actual 0
-- inside, NULL outside); the rolling figures for their fact's dates and the
-- 29 days after (agg_demand_rolling also the same days one year later, for
-- its year-earlier totals; the forecast's are columns of fact_forecast, shown
-- by the view agg_forecast_rolling, updated in place unless fact_forecast is
-- rebuilt, whose full build computes them). A changed key resolution or site, or a full refresh,
-- rewrites every date: those tables are rebuilt and swapped in
-- (R__280_gold_rebuild.sql). Dimensions are upserted in place.
--
-- Returns {"rows": {table: rows written}, "deleted": {table: rows deleted},
-- "windows": {table: [span, ...]}, "table_rows": {table: rows after},
-- "rebuilt": [tables], "sites_changed", "forecast", "inventory", "demand":
-- spans, "external", "swap_attempts"}.
CREATE OR REPLACE FUNCTION gold.refresh(p_changes jsonb, p_full boolean) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    lb integer := gold.lookback_days();
    cov daterange := meta.json_span(p_changes->'coverage');
    cov0 daterange := meta.json_span(p_changes->'coverage_before');
    item_pass boolean := p_full OR coalesce((p_changes->>'item_pass')::boolean, false);
    erp_changed boolean := p_full OR coalesce((p_changes->>'erp_lines_added')::bigint, 0)
                                   + coalesce((p_changes->>'erp_lines_removed')::bigint, 0) > 0;
    ext boolean := p_full OR coalesce((p_changes->>'external')::boolean, false);
    all_dates boolean := p_full OR coalesce((p_changes->>'resolution_changed')::boolean, false);
    sites_changed boolean := false;
    covd datemultirange;
    dem daterange;
    relabel daterange;
    dh daterange;
    fc daterange;
    inv daterange;
    facts text[] := ARRAY['fact_demand', 'fact_demand_supplier', 'fact_forecast', 'agg_forecast_rolling',
                          'agg_demand_rolling', 'fact_inventory'];
    windows jsonb := '{}';
    w datemultirange;
    r daterange;
    tbl text;
    suffix text;
    staged text[] := '{}';
    written jsonb := '{}';
    deleted jsonb := '{}';
    n bigint;
    m bigint;
    k bigint;
    t0 timestamptz;
    lo date;
    hi date;
    prev jsonb;
    totals jsonb := '{}';
    attempts integer := 0;
BEGIN
    PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
    SELECT table_rows INTO prev FROM meta.refreshes
    WHERE status = 'ok' AND table_rows <> '{}' ORDER BY refresh_id DESC LIMIT 1;

    -- A depot that moves to another site, a site or an item that
    -- disappears: facts of every date change.
    IF NOT all_dates THEN
        sites_changed := EXISTS (
            SELECT 1 FROM gold.dim_site d LEFT JOIN silver.sites s USING (site_id)
            WHERE d.site_id <> 'ALL' AND (s.site_id IS NULL OR d.deposito IS DISTINCT FROM s.deposito));
        all_dates := sites_changed OR (item_pass AND EXISTS (
            SELECT 1 FROM gold.dim_item d WHERE NOT EXISTS (SELECT 1 FROM silver.stg_items s WHERE s.item_id = d.item_id)));
    END IF;

    -- Dimensions.
    t0 := meta.progress_start('gold.dim_item');
    n := CASE WHEN item_pass THEN gold.refresh_dim_item() ELSE 0 END;
    written := written || jsonb_build_object('gold.dim_item', n);
    IF n > 0 OR p_full THEN windows := windows || '{"gold.dim_item": [{"all": true}]}'; END IF;
    PERFORM meta.progress('gold.dim_item', n, t0);
    t0 := meta.progress_start('gold.dim_site');
    n := gold.refresh_dim_site();
    written := written || jsonb_build_object('gold.dim_site', n);
    IF n > 0 OR p_full THEN windows := windows || '{"gold.dim_site": [{"all": true}]}'; END IF;
    PERFORM meta.progress('gold.dim_site', n, t0);
    IF erp_changed THEN
        t0 := meta.progress_start('gold.dim_supplier');
        -- lines only added (the daily case): the suppliers of those loads
        n := gold.refresh_dim_supplier(CASE WHEN NOT p_full AND coalesce((p_changes->>'erp_lines_removed')::bigint, 0) = 0
                                                 AND jsonb_typeof(p_changes->'erp_loads_added') = 'array'
                                            THEN ARRAY(SELECT jsonb_array_elements_text(p_changes->'erp_loads_added')::bigint) END);
        written := written || jsonb_build_object('gold.dim_supplier', n);
        IF n > 0 OR p_full THEN windows := windows || '{"gold.dim_supplier": [{"all": true}]}'; END IF;
        PERFORM meta.progress('gold.dim_supplier', n, t0);
    END IF;

    -- Date windows.
    IF all_dates THEN
        dem := '(,)'; relabel := '(,)'; dh := '(,)'; fc := '(,)'; inv := '(,)';
    ELSE
        dem := meta.json_span(p_changes->'demand_touched');
        relabel := meta.hull(dem, meta.json_span(p_changes->'demand_relabeled'));
        covd := (coalesce(datemultirange(cov0), '{}') - coalesce(datemultirange(cov), '{}'))
              + (coalesce(datemultirange(cov), '{}') - coalesce(datemultirange(cov0), '{}'));
        dh := meta.hull(dem, range_merge(covd));
        fc := meta.hull(meta.json_span(p_changes->'forecast_touched'), dh);
        inv := meta.json_span(p_changes->'inventory_touched');
    END IF;
    -- Every date of a fact that others read: rebuild them all together, so
    -- that each reads the rebuilt rows of its source.
    IF coalesce(upper_inf(fc), false) OR coalesce(upper_inf(dh), false) OR coalesce(upper_inf(relabel), false) THEN
        dem := '(,)'; relabel := '(,)'; dh := '(,)'; fc := '(,)';
    END IF;

    FOREACH tbl IN ARRAY facts LOOP
        w := CASE tbl
            WHEN 'fact_demand' THEN datemultirange(relabel)
            WHEN 'fact_demand_supplier' THEN datemultirange(relabel)
            WHEN 'fact_forecast' THEN datemultirange(fc)
            WHEN 'agg_forecast_rolling' THEN
                CASE WHEN fc IS NULL THEN NULL WHEN upper_inf(fc) THEN '{(,)}' ELSE datemultirange(daterange(lower(fc), upper(fc) + lb)) END
            WHEN 'agg_demand_rolling' THEN
                CASE WHEN dh IS NULL THEN NULL WHEN upper_inf(dh) THEN '{(,)}'
                     ELSE datemultirange(daterange(lower(dh), upper(dh) + lb))
                        + datemultirange(daterange((lower(dh) + interval '1 year')::date,
                                                   (upper(dh) - 1 + interval '1 year')::date + lb + 2)) END
            WHEN 'fact_inventory' THEN datemultirange(inv)
        END;
        IF w IS NULL OR isempty(w) THEN
            CONTINUE;
        END IF;
        t0 := meta.progress_start('gold.' || tbl);
        IF tbl = 'agg_forecast_rolling' THEN
            -- A view of the rolling columns of gold.fact_forecast, whose
            -- write computed them for its dates (all of them when rebuilt)
            -- unless gold.forecast_rolling_inline says the daily case; the
            -- rest of the window (the 29 days after, whose windows read the
            -- rewritten days) is recomputed here, rows of gold.fact_forecast
            -- that change too (logged for incremental exports).
            IF upper_inf(w) THEN
                n := (written->>'gold.fact_forecast')::bigint;
                windows := windows || jsonb_build_object('gold.' || tbl, '[{"all": true}]'::jsonb);
            ELSE
                n := 0;
                FOR r IN SELECT unnest(w) LOOP
                    windows := jsonb_set(windows, ARRAY['gold.' || tbl],
                                         coalesce(windows->('gold.' || tbl), '[]') || jsonb_build_array(meta.span_json(r)));
                END LOOP;
                IF gold.forecast_rolling_inline(lower(fc), upper(fc) - 1) THEN
                    w := w - datemultirange(fc);
                END IF;
                FOR r IN SELECT unnest(w) LOOP
                    EXECUTE 'SELECT gold.write_agg_forecast_rolling($1, $2, $3)' INTO k USING '', lower(r), upper(r) - 1;
                    n := n + k;
                    windows := jsonb_set(windows, '{gold.fact_forecast}',
                                         coalesce(windows->'gold.fact_forecast', '[]') || jsonb_build_array(meta.span_json(r)));
                END LOOP;
            END IF;
            written := written || jsonb_build_object('gold.' || tbl, n);
            PERFORM meta.progress('gold.' || tbl, n, t0);
            CONTINUE;
        END IF;
        IF upper_inf(w) THEN
            -- Every date: build a new table, swapped in below.
            PERFORM gold.stage(tbl);
            EXECUTE format('SELECT gold.write_%s($1, NULL, NULL)', tbl) INTO n USING '__next';
            PERFORM gold.index_staged(tbl);
            staged := staged || tbl;
            windows := windows || jsonb_build_object('gold.' || tbl, '[{"all": true}]'::jsonb);
            m := NULL;
        ELSE
            n := 0; m := 0;
            FOR r IN SELECT unnest(w) LOOP
                lo := lower(r); hi := upper(r) - 1;
                EXECUTE format('DELETE FROM gold.%I WHERE date BETWEEN $1 AND $2', tbl) USING lo, hi;
                GET DIAGNOSTICS k = ROW_COUNT;
                m := m + k;
            END LOOP;
            FOR r IN SELECT unnest(w) LOOP
                EXECUTE format('SELECT gold.write_%s($1, $2, $3)', tbl) INTO k USING '', lower(r), upper(r) - 1;
                n := n + k;
                windows := jsonb_set(windows, ARRAY['gold.' || tbl],
                                     coalesce(windows->('gold.' || tbl), '[]') || jsonb_build_array(meta.span_json(r)));
            END LOOP;
            -- Fresh statistics when the rewrite is a good part of the table
            -- (a first load, a long backfill): later steps read it.
            IF n >= 1000 AND (prev IS NULL OR NOT prev ? ('gold.' || tbl)
                              OR n * 5 > (prev->>('gold.' || tbl))::bigint) THEN
                EXECUTE format('ANALYZE gold.%I', tbl);
            END IF;
        END IF;
        written := written || jsonb_build_object('gold.' || tbl, n);
        IF m IS NOT NULL THEN
            deleted := deleted || jsonb_build_object('gold.' || tbl, m);
        END IF;
        PERFORM meta.progress('gold.' || tbl, n, t0);
    END LOOP;

    IF ext THEN
        t0 := meta.progress_start('gold.fact_external_daily');
        n := gold.refresh_fact_external();
        written := written || jsonb_build_object('gold.fact_external_daily', n);
        windows := windows || '{"gold.fact_external_daily": [{"all": true}]}';
        PERFORM meta.progress('gold.fact_external_daily', n, t0);
    END IF;

    -- Calendar: every year with facts.
    SELECT min(a), max(b) INTO lo, hi FROM (
        SELECT lower(cov) AS a, upper(cov) - 1 AS b
        UNION ALL SELECT min(date), max(date) FROM gold.fact_external_daily) x;
    FOREACH tbl IN ARRAY ARRAY['fact_forecast', 'fact_inventory'] LOOP
        suffix := CASE WHEN tbl = ANY (staged) THEN '__next' ELSE '' END;
        EXECUTE format('SELECT least($1, min(date)), greatest($2, max(date)) FROM gold.%I', tbl || suffix)
            INTO lo, hi USING lo, hi;
    END LOOP;
    n := gold.fill_dim_time(lo, hi);
    written := written || jsonb_build_object('gold.dim_time', n);
    IF n > 0 THEN windows := windows || '{"gold.dim_time": [{"all": true}]}'; END IF;

    -- Change log for incremental exports, in the same transaction (and
    -- before the swap: an export snapshot then either precedes this
    -- refresh or follows its commit).
    INSERT INTO meta.gold_changes (table_name, date_from, date_to)
    SELECT t.key, (s->>'from')::date, (s->>'to')::date
    FROM jsonb_each(windows) t, jsonb_array_elements(t.value) s
    ORDER BY t.key, (s->>'from')::date NULLS FIRST;

    -- Rows of every gold table after this refresh (for novawh status):
    -- the previous count adjusted by what this refresh deleted and wrote.
    FOREACH tbl IN ARRAY facts || ARRAY['fact_external_daily', 'dim_item', 'dim_site', 'dim_time', 'dim_supplier'] LOOP
        IF tbl = 'agg_forecast_rolling' THEN
            n := (totals->>'gold.fact_forecast')::bigint;
        ELSIF tbl = ANY (staged) THEN
            n := (written->>('gold.' || tbl))::bigint;
        ELSIF tbl = ANY (facts) AND prev ? ('gold.' || tbl) THEN
            n := (prev->>('gold.' || tbl))::bigint - coalesce((deleted->>('gold.' || tbl))::bigint, 0)
                 + coalesce((written->>('gold.' || tbl))::bigint, 0);
        ELSE
            EXECUTE format('SELECT count(*) FROM gold.%I', tbl) INTO n;
        END IF;
        totals := totals || jsonb_build_object('gold.' || tbl, n);
    END LOOP;

    IF cardinality(staged) > 0 THEN
        t0 := meta.progress_start('gold swap');
        attempts := gold.swap_staged(staged);
        PERFORM meta.progress('gold swap', cardinality(staged), t0);
    END IF;

    RETURN jsonb_build_object(
        'rows', written, 'deleted', deleted, 'windows', windows, 'table_rows', totals, 'rebuilt', to_jsonb(staged),
        'sites_changed', sites_changed, 'forecast', meta.span_json(fc), 'inventory', meta.span_json(inv),
        'demand', meta.span_json(relabel), 'demand_changed', meta.span_json(dem), 'external', ext, 'swap_attempts', attempts,
        'coverage', meta.span_json(cov));
END
$$;
COMMENT ON FUNCTION gold.refresh(jsonb, boolean) IS 'Silver -> gold: rewrites the dates of gold that silver.refresh''s changes touch (every date when full), logs them in meta.gold_changes and returns what it did (see migrations/transform/R__290_gold_refresh.sql).';
