-- Silver -> gold: forecasts against actual demand. Same conventions as the
-- demand writers (gold.write_*(p_suffix, p_lo, p_hi), see
-- R__220_gold_demand.sql).

-- Whether gold.write_fact_forecast computes the rolling figures of the
-- rows it writes for the dates p_lo..p_hi (NULLs: all): for every date, for
-- spans of a few days or more (a first load, a backfill: windows over the
-- span and the 29 days before it) and for one day (the daily case: each new
-- row sums its own 30 days through the primary key); not for a span of two
-- or three days, left to gold.write_agg_forecast_rolling.
CREATE OR REPLACE FUNCTION gold.forecast_rolling_inline(p_lo date, p_hi date) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT p_lo IS NULL OR p_hi IS NULL OR p_hi - p_lo >= 3 OR p_hi = p_lo $$;

-- The rows of silver.stg_forecasts of the dates p_lo..p_hi, for
-- gold.write_fact_forecast. A function with a row estimate: the planner
-- estimates the view at a dozen rows (its join on three trimmed raw keys),
-- and would hash every forecast row to probe it with the demand instead of
-- the other way round; with an estimate of the right order it hashes the
-- demand (measured 12-15 % faster on the whole write at 0.5M rows).
CREATE OR REPLACE FUNCTION gold.forecast_input(p_lo date, p_hi date)
RETURNS TABLE (date date, item_id text, site_id text, source text, forecast double precision,
               lower double precision, upper double precision, actual double precision, model_version text,
               generated_at timestamptz, dataset_id text, load_id bigint)
LANGUAGE plpgsql STABLE ROWS 1000000 AS $$
BEGIN
    RETURN QUERY
    SELECT s.date, s.item_id, s.site_id, s.source, s.forecast, s.lower, s.upper, s.actual, s.model_version,
           s.generated_at, s.dataset_id, s.load_id
    FROM silver.stg_forecasts s WHERE s.date BETWEEN p_lo AND p_hi
    -- the view's own order (no sort of its own), which the item-level sums
    -- of gold.write_fact_forecast rely on
    ORDER BY s.item_id, s.site_id, s.date, s.source;
END
$$;

-- Forecast fact: site rows as the ML files give them, actual = the demand
-- of the site in gold.fact_demand (the site's depot; the blank-depot site
-- its lines without DEPÓSITO), summed over units; plus one item-level row
-- per (date, item, source) with site_id = 'ALL' (actual = the item's total).
-- Inside the ERP coverage a day without demand has actual 0; outside it, or
-- for a site without a depot, NULL. The file's own actual wins when given.
-- Item-level sums add the site rows' float8 values in site_id order: the
-- rows come from gold.forecast_input in (item, site, date, source) order
-- and a hash aggregate adds them in the order it reads them, so a day
-- rewritten alone sums exactly as the full build (TestItemLevelSumInSiteOrder
-- and the incremental = full tests hold it). The planner hashes here: the
-- input's estimate is fixed (gold.forecast_input, ROWS 1000000) and its
-- groups fit the refresh's work_mem (256MB, 1GB for --full); a sort-based
-- grouping, whose sort is not stable, would not keep the site order.
-- Numeric sums did that whatever the order, at 1.7x the cost of the whole
-- item-level pass (float8 -> numeric conversions); a sort by the full key
-- before the aggregate at 1.3x.
--
-- Rolling figures (the columns gold.agg_forecast_rolling shows): computed
-- in the same statement, over the rows it writes (and, for a span of
-- dates, the rows of the 29 days before it already in the table), so each
-- row is written once, unless gold.forecast_rolling_inline says otherwise:
-- then they are left NULL. gold.write_agg_forecast_rolling computes them
-- for the days after the span whose windows read it (and for the span
-- itself when left NULL).
CREATE OR REPLACE FUNCTION gold.write_fact_forecast(p_suffix text, p_lo date, p_hi date) RETURNS bigint
LANGUAGE plpgsql
-- Bulk joins only: hash joins whatever the estimates of the silver views
-- (their multi-column key joins are estimated at a row or two), and no
-- merge join either, whose sort of every forecast row by (date, item,
-- site) spills at scale where hashing the demand does not.
SET enable_nestloop = off SET enable_mergejoin = off AS $$
DECLARE
    n bigint;
    cov daterange := silver.demand_coverage();
    lb integer := gold.lookback_days();
    tail text;
BEGIN
    IF p_lo = p_hi THEN
        -- One day (the daily case): each new row sums the days of its
        -- series in the 29 days before it (through the primary key) and
        -- itself, in date order (the aggregates read a sorted subquery:
        -- one sort per row where sum(... ORDER BY) sorted once per sum), as
        -- the windows below do.
        tail := format($t$
        SELECT r.date, r.item_id, r.site_id, r.source, r.forecast, r.actual, r.lower, r.upper, r.model_version,
               r.generated_at, r.dataset_id, r.mape, r.load_id,
               (a.sf7 / a.nf7)::float8, (a.sa7 / a.na7)::float8, a.sf7, a.sa7, (a.sm7 / a.nm7)::float8,
               (a.sf30 / a.nf30)::float8, (a.sa30 / a.na30)::float8, a.sf30, a.sa30, (a.sm30 / a.nm30)::float8
        FROM rows r
        CROSS JOIN LATERAL (
            SELECT sum(fn) FILTER (WHERE d >= r.date - 6) AS sf7, count(fn) FILTER (WHERE d >= r.date - 6) AS nf7,
                   sum(an) FILTER (WHERE d >= r.date - 6) AS sa7, count(an) FILTER (WHERE d >= r.date - 6) AS na7,
                   sum(mn) FILTER (WHERE d >= r.date - 6) AS sm7, count(mn) FILTER (WHERE d >= r.date - 6) AS nm7,
                   sum(fn) AS sf30, count(fn) AS nf30, sum(an) AS sa30, count(an) AS na30,
                   sum(mn) AS sm30, count(mn) AS nm30
            FROM (SELECT y.date AS d, y.forecast AS fn, y.actual AS an, y.mape AS mn
                  FROM gold.%1$I y
                  WHERE y.item_id = r.item_id AND y.site_id = r.site_id AND y.source = r.source
                    AND y.date BETWEEN r.date - %2$s AND r.date - 1
                  UNION ALL
                  SELECT r.date, r.forecast, r.actual, r.mape
                  ORDER BY 1) w) a
        ORDER BY r.item_id COLLATE "C", r.site_id COLLATE "C", r.source COLLATE "C", r.date
        $t$, 'fact_forecast' || p_suffix, lb);
    ELSIF gold.forecast_rolling_inline(p_lo, p_hi) THEN
        -- Windows are calendar windows (RANGE over the date): gaps in a
        -- series are not counted as days. Sums are float8 added in date
        -- order (a float8 sum has no inverse transition, so PostgreSQL
        -- sums each frame from its first day), as every other way of
        -- computing them here does (gold.write_agg_forecast_rolling), so
        -- that a window recomputed later equals the full build bit for bit.
        -- Every average is sum / count. Rows go in in the windows' order,
        -- which keeps each series' days together.
        -- For a span, the days before it that its windows read come from
        -- the table (the refresh leaves them as they are), flagged old.
        tail := format($t$
        SELECT date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at, dataset_id,
               mape, load_id,
               (sf7 / nf7)::float8, (sa7 / na7)::float8, sf7, sa7, (sm7 / nm7)::float8,
               (sf30 / nf30)::float8, (sa30 / na30)::float8, sf30, sa30, (sm30 / nm30)::float8
        FROM (SELECT *,
                     sum(forecast) OVER w7 AS sf7, count(forecast) OVER w7 AS nf7,
                     sum(actual) OVER w7 AS sa7, count(actual) OVER w7 AS na7,
                     sum(mape) OVER w7 AS sm7, count(mape) OVER w7 AS nm7,
                     sum(forecast) OVER w30 AS sf30, count(forecast) OVER w30 AS nf30,
                     sum(actual) OVER w30 AS sa30, count(actual) OVER w30 AS na30,
                     sum(mape) OVER w30 AS sm30, count(mape) OVER w30 AS nm30
              FROM (SELECT *, false AS old FROM rows
                    UNION ALL
                    SELECT date, item_id, site_id, source, forecast, actual, NULL, NULL, NULL, NULL, NULL, mape, NULL, true
                    FROM gold.%1$I
                    WHERE $1 > '-infinity' AND date BETWEEN $1 - %2$s AND $1 - 1) u
              WINDOW w7 AS (PARTITION BY item_id COLLATE "C", site_id COLLATE "C", source COLLATE "C" ORDER BY date
                            RANGE BETWEEN interval '6 days' PRECEDING AND CURRENT ROW),
                     w30 AS (PARTITION BY item_id COLLATE "C", site_id COLLATE "C", source COLLATE "C" ORDER BY date
                             RANGE BETWEEN interval '%2$s days' PRECEDING AND CURRENT ROW)) w
        WHERE NOT old
        $t$, 'fact_forecast' || p_suffix, lb);
    ELSE
        tail := $t$
        SELECT date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at, dataset_id,
               mape, load_id, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8,
               NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::float8
        FROM rows
        ORDER BY item_id COLLATE "C", site_id COLLATE "C", source COLLATE "C", date
        $t$;
    END IF;
    EXECUTE format($q$
    INSERT INTO gold.%I
        (date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at,
         dataset_id, mape, load_id,
         forecast_avg_7d, actual_avg_7d, forecast_total_7d, actual_total_7d, mape_7d,
         forecast_avg_30d, actual_avg_30d, forecast_total_30d, actual_total_30d, mape_30d)
    WITH f AS MATERIALIZED (
        SELECT * FROM gold.forecast_input($1, $2)
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
               sum(forecast) FILTER (WHERE site_id = 'ALL') AS fa,
               sum(forecast) FILTER (WHERE site_id <> 'ALL') AS fs,
               sum(lower) FILTER (WHERE site_id = 'ALL') AS la,
               sum(lower) FILTER (WHERE site_id <> 'ALL') AS ls,
               sum(upper) FILTER (WHERE site_id = 'ALL') AS ua,
               sum(upper) FILTER (WHERE site_id <> 'ALL') AS us,
               sum(actual) FILTER (WHERE site_id = 'ALL') AS aa,
               sum(actual) FILTER (WHERE site_id <> 'ALL') AS as_,
               max(model_version) AS model_version, max(generated_at) AS generated_at,
               max(dataset_id) AS dataset_id, max(load_id) AS load_id
        -- f is in gold.forecast_input's order (item, site, date, source):
        -- the hash aggregate adds each item's sites in site order
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
    ), rows AS (
        SELECT date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at, dataset_id,
               CASE WHEN actual > 0 AND forecast IS NOT NULL THEN abs(forecast - actual) / actual END AS mape, load_id
        FROM (SELECT * FROM site_rows UNION ALL SELECT * FROM all_rows) r
    )
    %s
    $q$, 'fact_forecast' || p_suffix, 'fact_demand' || p_suffix, tail)
    USING coalesce(p_lo, '-infinity'::date), coalesce(p_hi, 'infinity'::date), coalesce(cov, 'empty'::daterange);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.write_fact_forecast(text, date, date) IS 'Inserts gold.fact_forecast rows of the dates p_lo..p_hi (NULLs: all) from silver.stg_forecasts, actuals from gold.fact_demand || p_suffix, into gold.fact_forecast || p_suffix, with their rolling figures unless gold.forecast_rolling_inline(p_lo, p_hi) is false (then NULL, for gold.write_agg_forecast_rolling).';

-- Rolling figures of the rows of the dates p_lo..p_hi (NULLs: all) of
-- gold.fact_forecast || p_suffix, recomputed from its rows (reading from
-- p_lo - 29) and written where they differ (gold.agg_forecast_rolling is
-- the view of them). Same sums as the full build of
-- gold.write_fact_forecast: float8 added in date order, average = sum /
-- count, so a window recomputed from p_lo - 29 equals the full build bit
-- for bit (numeric moving sums were exact too, at twice the cost). A
-- bounded window reads each series (item_id, site_id) through the primary
-- key, date-bounded, instead of the date index: fact rows are stored in key
-- order, so one series' days share heap pages while one date's rows do not.
-- Returns the rows updated.
CREATE OR REPLACE FUNCTION gold.write_agg_forecast_rolling(p_suffix text, p_lo date, p_hi date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    lb integer := gold.lookback_days();
    tbl text := 'fact_forecast' || p_suffix;
    small boolean;
    span integer;
    src text;
    series constant text := $s$
        (SELECT DISTINCT item_id, site_id FROM silver.series_map
         WHERE item_id IS NOT NULL AND site_id IS NOT NULL AND site_id <> ''
         UNION
         SELECT DISTINCT item_id, 'ALL' FROM silver.series_map WHERE item_id IS NOT NULL) k $s$;
BEGIN
    IF p_lo IS NULL THEN
        src := format($q$
        SELECT date, item_id, site_id, source,
               sum(forecast) OVER w7 AS sf7, count(forecast) OVER w7 AS nf7, sum(actual) OVER w7 AS sa7, count(actual) OVER w7 AS na7,
               sum(mape) OVER w7 AS sm7, count(mape) OVER w7 AS nm7,
               sum(forecast) OVER w30 AS sf30, count(forecast) OVER w30 AS nf30, sum(actual) OVER w30 AS sa30, count(actual) OVER w30 AS na30,
               sum(mape) OVER w30 AS sm30, count(mape) OVER w30 AS nm30
        FROM gold.%I
        WINDOW w7 AS (PARTITION BY item_id COLLATE "C", site_id COLLATE "C", source COLLATE "C" ORDER BY date
                      RANGE BETWEEN interval '6 days' PRECEDING AND CURRENT ROW),
               w30 AS (PARTITION BY item_id COLLATE "C", site_id COLLATE "C", source COLLATE "C" ORDER BY date
                       RANGE BETWEEN make_interval(days => $3) PRECEDING AND CURRENT ROW)
        $q$, tbl);
    ELSE
        EXECUTE format($q$ SELECT least($1, (SELECT max(date) FROM gold.%I)) - $2 $q$, tbl) INTO span USING p_hi, p_lo;
        IF span IS NULL OR span < 0 THEN
            RETURN 0; -- no row on or after p_lo (e.g. the 29 days after a new last day)
        END IF;
        small := span < 3;
        IF small THEN
            -- The daily case (rows on a few dates, e.g. the new day at the
            -- end of the history): aggregate the 30 days before each target
            -- row, so that only the target rows pay for the sums. Each sum
            -- adds its days in date order (a sorted subquery), as the
            -- windows do.
            src := format($q$
            SELECT t.date, t.item_id, t.site_id, t.source, a.*
            FROM %1$s
            CROSS JOIN LATERAL (
                SELECT x.date, x.item_id, x.site_id, x.source FROM gold.%2$I x
                WHERE x.item_id = k.item_id AND x.site_id = k.site_id AND x.date BETWEEN $1 AND $2
                OFFSET 0) t
            CROSS JOIN LATERAL (
                SELECT sum(fn) FILTER (WHERE w.date >= t.date - 6) AS sf7, count(fn) FILTER (WHERE w.date >= t.date - 6) AS nf7,
                       sum(an) FILTER (WHERE w.date >= t.date - 6) AS sa7, count(an) FILTER (WHERE w.date >= t.date - 6) AS na7,
                       sum(mn) FILTER (WHERE w.date >= t.date - 6) AS sm7, count(mn) FILTER (WHERE w.date >= t.date - 6) AS nm7,
                       sum(fn) AS sf30, count(fn) AS nf30, sum(an) AS sa30, count(an) AS na30,
                       sum(mn) AS sm30, count(mn) AS nm30
                FROM (SELECT y.date, y.forecast AS fn, y.actual AS an, y.mape AS mn
                      FROM gold.%2$I y
                      WHERE y.item_id = t.item_id AND y.site_id = t.site_id AND y.source = t.source
                        AND y.date BETWEEN t.date - $3 AND t.date
                      ORDER BY y.date) w) a
            $q$, series, tbl);
        ELSE
            src := format($q$
            SELECT * FROM (
                SELECT date, item_id, site_id, source,
                       sum(fn) OVER w7 AS sf7, count(fn) OVER w7 AS nf7, sum(an) OVER w7 AS sa7, count(an) OVER w7 AS na7,
                       sum(mn) OVER w7 AS sm7, count(mn) OVER w7 AS nm7,
                       sum(fn) OVER w30 AS sf30, count(fn) OVER w30 AS nf30, sum(an) OVER w30 AS sa30, count(an) OVER w30 AS na30,
                       sum(mn) OVER w30 AS sm30, count(mn) OVER w30 AS nm30
                FROM (SELECT k.item_id, k.site_id, f.date, f.source, f.forecast AS fn, f.actual AS an, f.mape AS mn
                      FROM %1$s
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
            $q$, series, tbl);
        END IF;
    END IF;
    EXECUTE format($q$
    UPDATE gold.%I t
    SET forecast_avg_7d = c.fa7, actual_avg_7d = c.aa7, forecast_total_7d = c.sf7, actual_total_7d = c.sa7, mape_7d = c.m7,
        forecast_avg_30d = c.fa30, actual_avg_30d = c.aa30, forecast_total_30d = c.sf30, actual_total_30d = c.sa30, mape_30d = c.m30
    FROM (SELECT date, item_id, site_id, source,
                 (sf7 / nf7)::float8 AS fa7, (sa7 / na7)::float8 AS aa7, sf7::float8 AS sf7, sa7::float8 AS sa7,
                 (sm7 / nm7)::float8 AS m7,
                 (sf30 / nf30)::float8 AS fa30, (sa30 / na30)::float8 AS aa30, sf30::float8 AS sf30, sa30::float8 AS sa30,
                 (sm30 / nm30)::float8 AS m30
          FROM (%s) s) c
    WHERE t.item_id = c.item_id AND t.site_id = c.site_id AND t.date = c.date AND t.source = c.source
      AND (t.forecast_avg_7d, t.actual_avg_7d, t.forecast_total_7d, t.actual_total_7d, t.mape_7d,
           t.forecast_avg_30d, t.actual_avg_30d, t.forecast_total_30d, t.actual_total_30d, t.mape_30d)
          IS DISTINCT FROM (c.fa7, c.aa7, c.sf7, c.sa7, c.m7, c.fa30, c.aa30, c.sf30, c.sa30, c.m30)
    $q$, tbl, src) USING p_lo, p_hi, lb;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.write_agg_forecast_rolling(text, date, date) IS 'Recomputes the rolling figures (the gold.agg_forecast_rolling view) of the gold.fact_forecast || p_suffix rows of the dates p_lo..p_hi (NULLs: all) from its rows (reading from p_lo - 29) and updates the rows whose figures differ; returns their number.';
