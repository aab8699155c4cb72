-- Silver -> gold: forecasts against actual demand. Same conventions as the
-- demand writers (gold.write_*(p_suffix, p_lo, p_hi), see
-- R__220_gold_demand.sql).

-- Forecast fact: site rows as the ML files give them, actual = the demand
-- of the site in gold.fact_demand (the site's depot; the blank-depot site
-- its lines without DEPÓSITO), summed over units; plus one item-level row
-- per (date, item, source) with site_id = 'ALL' (actual = the item's total).
-- Inside the ERP coverage a day without demand has actual 0; outside it, or
-- for a site without a depot, NULL. The file's own actual wins when given.
-- Item-level sums are exact (numeric), so they do not depend on the order
-- in which a plan meets the site rows.
CREATE OR REPLACE FUNCTION gold.write_fact_forecast(p_suffix text, p_lo date, p_hi date) RETURNS bigint
LANGUAGE plpgsql
-- Bulk joins only: hash joins whatever the estimates of the silver views
-- (their multi-column key joins are estimated at a row or two).
SET enable_nestloop = off AS $$
DECLARE
    n bigint;
    cov daterange := silver.demand_coverage();
BEGIN
    EXECUTE format($q$
    INSERT INTO gold.%I
        (date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at,
         dataset_id, mape, load_id)
    WITH f AS MATERIALIZED (
        SELECT date, item_id, site_id, source, forecast, lower, upper, actual, model_version, generated_at,
               dataset_id, load_id
        FROM silver.stg_forecasts WHERE date BETWEEN $1 AND $2
    ), dem AS MATERIALIZED (
        SELECT date, item_id, site_id, sum(quantity::numeric)::float8 AS q
        FROM gold.%I WHERE date BETWEEN $1 AND $2
        GROUP BY date, item_id, site_id
    ), fsite AS MATERIALIZED (
        -- the demand site of each forecast site
        SELECT s.site_id, CASE WHEN s.site_id = silver.blank_depot_site() THEN s.site_id
                               WHEN s.deposito IS NOT NULL THEN m.site_id END AS demand_site
        FROM gold.dim_site s LEFT JOIN silver.site_map m ON m.deposito = s.deposito
    ), site_rows AS (
        SELECT f.date, f.item_id, f.site_id, f.source, f.forecast,
               coalesce(f.actual, ds.q,
                        CASE WHEN fs.demand_site IS NOT NULL AND f.date <@ $3 THEN 0 END) AS actual,
               f.lower, f.upper, f.model_version, f.generated_at, f.dataset_id, f.load_id
        FROM f
        LEFT JOIN fsite fs ON fs.site_id = f.site_id
        LEFT JOIN dem ds ON ds.date = f.date AND ds.item_id = f.item_id AND ds.site_id = fs.demand_site
        WHERE f.site_id <> 'ALL'
    ), grouped AS (
        SELECT date, item_id, source, bool_or(site_id = 'ALL') AS given,
               sum(forecast::numeric) FILTER (WHERE site_id = 'ALL')::float8 AS fa,
               sum(forecast::numeric) FILTER (WHERE site_id <> 'ALL')::float8 AS fs,
               sum(lower::numeric) FILTER (WHERE site_id = 'ALL')::float8 AS la,
               sum(lower::numeric) FILTER (WHERE site_id <> 'ALL')::float8 AS ls,
               sum(upper::numeric) FILTER (WHERE site_id = 'ALL')::float8 AS ua,
               sum(upper::numeric) FILTER (WHERE site_id <> 'ALL')::float8 AS us,
               sum(actual::numeric) FILTER (WHERE site_id = 'ALL')::float8 AS aa,
               sum(actual::numeric) FILTER (WHERE site_id <> 'ALL')::float8 AS as_,
               max(model_version) AS model_version, max(generated_at) AS generated_at,
               max(dataset_id) AS dataset_id, max(load_id) AS load_id
        FROM f GROUP BY date, item_id, source
    ), all_rows AS (
        SELECT g.date, g.item_id, 'ALL'::text AS site_id, g.source,
               CASE WHEN g.given THEN g.fa ELSE g.fs END AS forecast,
               coalesce(CASE WHEN g.given THEN g.aa ELSE g.as_ END, di.q,
                        CASE WHEN g.date <@ $3 THEN 0 END) AS actual,
               CASE WHEN g.given THEN g.la ELSE g.ls END AS lower,
               CASE WHEN g.given THEN g.ua ELSE g.us END AS upper,
               g.model_version, g.generated_at, g.dataset_id, g.load_id
        FROM grouped g
        LEFT JOIN dem di ON di.date = g.date AND di.item_id = g.item_id AND di.site_id = 'ALL'
    )
    SELECT date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at, dataset_id,
           CASE WHEN actual > 0 AND forecast IS NOT NULL THEN abs(forecast - actual) / actual END, load_id
    FROM (SELECT * FROM site_rows UNION ALL SELECT * FROM all_rows) r
    ORDER BY item_id COLLATE "C", site_id COLLATE "C", date, source COLLATE "C"
    $q$, 'fact_forecast' || p_suffix, 'fact_demand' || p_suffix)
    USING coalesce(p_lo, '-infinity'::date), coalesce(p_hi, 'infinity'::date), coalesce(cov, 'empty'::daterange);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.write_fact_forecast(text, date, date) IS 'Inserts gold.fact_forecast rows of the dates p_lo..p_hi (NULLs: all) from silver.stg_forecasts, actuals from gold.fact_demand || p_suffix, into gold.fact_forecast || p_suffix.';

-- Rolling aggregates for the dates p_lo..p_hi (NULLs: all), reading the 29
-- days before p_lo from gold.fact_forecast || p_suffix. Windows are calendar
-- windows (RANGE over the date), so gaps in a series are not counted as
-- days. Sums are double precision added in date order: a float8 sum has no
-- inverse transition, so PostgreSQL sums each frame from its first day, and
-- the daily path below sums ORDER BY date: every way of computing a window
-- adds the same values in the same order, so a window recomputed from
-- p_lo - 29 equals the full build bit for bit (numeric moving sums were
-- exact too, at twice the cost). Every average is sum / count. A bounded
-- window reads each series (item_id, site_id) through the primary key,
-- date-bounded, instead of the date index: fact rows are stored in key
-- order, so one series' days share heap pages while one date's rows do not.
CREATE OR REPLACE FUNCTION gold.write_agg_forecast_rolling(p_suffix text, p_lo date, p_hi date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    lb integer := gold.lookback_days();
    src text := 'fact_forecast' || p_suffix;
    dst text := 'agg_forecast_rolling' || p_suffix;
    small boolean;
BEGIN
    IF p_lo IS NULL THEN
        EXECUTE format($q$
        INSERT INTO gold.%I
        SELECT date, item_id, site_id, source, forecast, actual,
               (sf7 / nf7)::float8, (sa7 / na7)::float8, sf7::float8, sa7::float8, (sm7 / nm7)::float8,
               (sf30 / nf30)::float8, (sa30 / na30)::float8, sf30::float8, sa30::float8, (sm30 / nm30)::float8
        FROM (
            SELECT date, item_id, site_id, source, forecast, actual,
                   sum(fn) OVER w7 AS sf7, count(fn) OVER w7 AS nf7, sum(an) OVER w7 AS sa7, count(an) OVER w7 AS na7,
                   sum(mn) OVER w7 AS sm7, count(mn) OVER w7 AS nm7,
                   sum(fn) OVER w30 AS sf30, count(fn) OVER w30 AS nf30, sum(an) OVER w30 AS sa30, count(an) OVER w30 AS na30,
                   sum(mn) OVER w30 AS sm30, count(mn) OVER w30 AS nm30
            FROM (SELECT date, item_id, site_id, source, forecast, actual,
                         forecast AS fn, actual AS an, mape AS mn
                  FROM gold.%I) f
            WINDOW w7 AS (PARTITION BY item_id COLLATE "C", site_id COLLATE "C", source COLLATE "C" ORDER BY date
                          RANGE BETWEEN interval '6 days' PRECEDING AND CURRENT ROW),
                   w30 AS (PARTITION BY item_id COLLATE "C", site_id COLLATE "C", source COLLATE "C" ORDER BY date
                           RANGE BETWEEN make_interval(days => $1) PRECEDING AND CURRENT ROW)
        ) r
        $q$, dst, src) USING lb;
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN n;
    END IF;
    -- The daily case (rows on a few dates, e.g. the new day at the end of
    -- the history): aggregate the 30 days before each target row, so that
    -- only the target rows pay for the sums. Each sum adds its days in date
    -- order, as the windowed builds do, so the figures equal theirs.
    EXECUTE format($q$ SELECT least($1, (SELECT max(date) FROM gold.%I)) - $2 < 3 $q$, src) INTO small USING p_hi, p_lo;
    IF small THEN
        EXECUTE format($q$
        INSERT INTO gold.%I
        SELECT t.date, t.item_id, t.site_id, t.source, t.forecast, t.actual,
               (a.sf7 / a.nf7)::float8, (a.sa7 / a.na7)::float8, a.sf7::float8, a.sa7::float8, (a.sm7 / a.nm7)::float8,
               (a.sf30 / a.nf30)::float8, (a.sa30 / a.na30)::float8, a.sf30::float8, a.sa30::float8, (a.sm30 / a.nm30)::float8
        FROM (SELECT DISTINCT item_id, site_id FROM silver.series_map
              WHERE item_id IS NOT NULL AND site_id IS NOT NULL AND site_id <> ''
              UNION
              SELECT DISTINCT item_id, 'ALL' FROM silver.series_map WHERE item_id IS NOT NULL) k
        CROSS JOIN LATERAL (
            SELECT x.date, x.item_id, x.site_id, x.source, x.forecast, x.actual FROM gold.%2$I x
            WHERE x.item_id = k.item_id AND x.site_id = k.site_id AND x.date BETWEEN $1 AND $2
            OFFSET 0) t
        CROSS JOIN LATERAL (
            SELECT sum(fn ORDER BY w.date) FILTER (WHERE w.date >= t.date - 6) AS sf7, count(fn) FILTER (WHERE w.date >= t.date - 6) AS nf7,
                   sum(an ORDER BY w.date) FILTER (WHERE w.date >= t.date - 6) AS sa7, count(an) FILTER (WHERE w.date >= t.date - 6) AS na7,
                   sum(mn ORDER BY w.date) FILTER (WHERE w.date >= t.date - 6) AS sm7, count(mn) FILTER (WHERE w.date >= t.date - 6) AS nm7,
                   sum(fn ORDER BY w.date) AS sf30, count(fn) AS nf30, sum(an ORDER BY w.date) AS sa30, count(an) AS na30,
                   sum(mn ORDER BY w.date) AS sm30, count(mn) AS nm30
            FROM (SELECT y.date, y.forecast AS fn, y.actual AS an, y.mape AS mn
                  FROM gold.%2$I y
                  WHERE y.item_id = t.item_id AND y.site_id = t.site_id AND y.source = t.source
                    AND y.date BETWEEN t.date - $3 AND t.date) w) a
        $q$, dst, src) USING p_lo, p_hi, lb;
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN n;
    END IF;
    EXECUTE format($q$
    INSERT INTO gold.%I
    SELECT date, item_id, site_id, source, forecast, actual,
           (sf7 / nf7)::float8, (sa7 / na7)::float8, sf7::float8, sa7::float8, (sm7 / nm7)::float8,
           (sf30 / nf30)::float8, (sa30 / na30)::float8, sf30::float8, sa30::float8, (sm30 / nm30)::float8
    FROM (
        SELECT date, item_id, site_id, source, forecast, actual,
               sum(fn) OVER w7 AS sf7, count(fn) OVER w7 AS nf7, sum(an) OVER w7 AS sa7, count(an) OVER w7 AS na7,
               sum(mn) OVER w7 AS sm7, count(mn) OVER w7 AS nm7,
               sum(fn) OVER w30 AS sf30, count(fn) OVER w30 AS nf30, sum(an) OVER w30 AS sa30, count(an) OVER w30 AS na30,
               sum(mn) OVER w30 AS sm30, count(mn) OVER w30 AS nm30
        FROM (SELECT k.item_id, k.site_id, f.date, f.source, f.forecast, f.actual,
                     f.forecast AS fn, f.actual AS an, f.mape AS mn
              FROM (SELECT DISTINCT item_id, site_id FROM silver.series_map
                    WHERE item_id IS NOT NULL AND site_id IS NOT NULL AND site_id <> ''
                    UNION
                    SELECT DISTINCT item_id, 'ALL' FROM silver.series_map WHERE item_id IS NOT NULL) k
              CROSS JOIN LATERAL (
                  SELECT x.date, x.source, x.forecast, x.actual, x.mape FROM gold.%2$I x
                  WHERE x.item_id = k.item_id AND x.site_id = k.site_id AND x.date BETWEEN $1 - $3 AND $2
                  OFFSET 0) f) f
        WINDOW w7 AS (PARTITION BY item_id, site_id, source ORDER BY date
                      RANGE BETWEEN interval '6 days' PRECEDING AND CURRENT ROW),
               w30 AS (PARTITION BY item_id, site_id, source ORDER BY date
                       RANGE BETWEEN make_interval(days => $3) PRECEDING AND CURRENT ROW)
    ) r
    WHERE r.date BETWEEN $1 AND $2
    $q$, dst, src) USING p_lo, p_hi, lb;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.write_agg_forecast_rolling(text, date, date) IS 'Inserts gold.agg_forecast_rolling rows of the dates p_lo..p_hi (NULLs: all) computed from gold.fact_forecast || p_suffix (reading from p_lo - 29) into gold.agg_forecast_rolling || p_suffix.';
