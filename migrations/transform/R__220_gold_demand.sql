-- Silver -> gold: actual demand (issue 12). Each gold.write_* function
-- inserts the rows of its table for the dates p_lo..p_hi (NULLs: every date)
-- into gold.<table><p_suffix> and returns the rows written: p_suffix is ''
-- for the live table (an incremental refresh deleted the dates first) or
-- '__next' for the table a rebuild swaps in (gold.swap_staged); tables the
-- function reads from gold carry the same suffix. Rows are inserted in
-- primary-key order ("C" sorts fast and, for UTF-8 text, like C.UTF-8):
-- index appends stay sequential and one series' days share heap pages.

CREATE OR REPLACE FUNCTION gold.write_fact_demand(p_suffix text, p_lo date, p_hi date) RETURNS bigint
LANGUAGE plpgsql
-- Bulk joins only: hash joins whatever the estimates of the silver views
-- (their multi-column key joins are estimated at a row or two).
SET enable_nestloop = off AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format($q$
        INSERT INTO gold.%I (date, item_id, site_id, unit, quantity, lines, requests, suppliers,
                             lead_time_lines, lead_time_days_avg, lead_time_days_max, load_id)
        SELECT * FROM (
        SELECT l.date, im.item_id, CASE WHEN grouping(sm.site_id) = 1 THEN 'ALL' ELSE sm.site_id END AS site_id, l.unit,
               sum(l.quantity::numeric)::float8, count(*)::int, count(DISTINCT l.request_id)::int,
               count(DISTINCT l.supplier)::int,
               count(*) FILTER (WHERE l.lead_time_days >= 0)::int,
               (sum(l.lead_time_days) FILTER (WHERE l.lead_time_days >= 0))::float8
                   / nullif(count(*) FILTER (WHERE l.lead_time_days >= 0), 0),
               max(l.lead_time_days) FILTER (WHERE l.lead_time_days >= 0),
               max(l.load_id)
        FROM silver.demand_lines l
        JOIN silver.item_map im ON im.norm = l.item_norm
        JOIN silver.site_map sm ON sm.deposito = l.deposito
        WHERE l.date BETWEEN $1 AND $2 AND l.quantity IS NOT NULL
        GROUP BY GROUPING SETS ((l.date, im.item_id, sm.site_id, l.unit), (l.date, im.item_id, l.unit))
        ) x
        ORDER BY x.item_id COLLATE "C", x.site_id COLLATE "C", x.date, x.unit COLLATE "C"
        $q$, 'fact_demand' || p_suffix)
    USING coalesce(p_lo, '-infinity'::date), coalesce(p_hi, 'infinity'::date);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.write_fact_demand(text, date, date) IS 'Inserts gold.fact_demand rows (site rows and site_id ''ALL'') of the dates p_lo..p_hi (NULLs: all) from silver.demand_lines into gold.fact_demand || p_suffix.';

CREATE OR REPLACE FUNCTION gold.write_fact_demand_supplier(p_suffix text, p_lo date, p_hi date) RETURNS bigint
LANGUAGE plpgsql
-- Bulk joins only: hash joins whatever the estimates of the silver views
-- (their multi-column key joins are estimated at a row or two).
SET enable_nestloop = off AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format($q$
        INSERT INTO gold.%I (date, item_id, site_id, unit, supplier, quantity, lines, requests,
                             lead_time_lines, lead_time_days_avg, lead_time_days_max, load_id)
        SELECT l.date, im.item_id, sm.site_id, l.unit, l.supplier,
               sum(l.quantity::numeric)::float8, count(*)::int, count(DISTINCT l.request_id)::int,
               count(*) FILTER (WHERE l.lead_time_days >= 0)::int,
               (sum(l.lead_time_days) FILTER (WHERE l.lead_time_days >= 0))::float8
                   / nullif(count(*) FILTER (WHERE l.lead_time_days >= 0), 0),
               max(l.lead_time_days) FILTER (WHERE l.lead_time_days >= 0),
               max(l.load_id)
        FROM silver.demand_lines l
        JOIN silver.item_map im ON im.norm = l.item_norm
        JOIN silver.site_map sm ON sm.deposito = l.deposito
        WHERE l.date BETWEEN $1 AND $2 AND l.quantity IS NOT NULL AND l.supplier IS NOT NULL
        GROUP BY l.date, im.item_id, sm.site_id, l.unit, l.supplier
        ORDER BY im.item_id COLLATE "C", sm.site_id COLLATE "C", l.date, l.unit COLLATE "C", l.supplier COLLATE "C"
        $q$, 'fact_demand_supplier' || p_suffix)
    USING coalesce(p_lo, '-infinity'::date), coalesce(p_hi, 'infinity'::date);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.write_fact_demand_supplier(text, date, date) IS 'Inserts gold.fact_demand_supplier rows of the dates p_lo..p_hi (NULLs: all) from silver.demand_lines into gold.fact_demand_supplier || p_suffix.';

-- Days of the window of width days ending on t that lie inside the ERP
-- coverage starting on cov_lo (the averages' divisor).
CREATE OR REPLACE FUNCTION gold.window_days(t date, width integer, cov_lo date) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT t - greatest(t - (width - 1), cov_lo) + 1 $$;
COMMENT ON FUNCTION gold.window_days(date, integer, date) IS 'Days of t - (width - 1) .. t on or after cov_lo.';

-- Rolling demand for the dates p_lo..p_hi (NULLs: all), read from
-- gold.fact_demand || p_suffix: a row for each (series, day) up to the end
-- of the ERP coverage whose 30-day window, or the 30-day window ending one
-- year earlier, holds demand lines. Totals are exact numeric sums (each
-- value cast once), averages total / days inside the coverage, so the two
-- ways of computing them below give the same figures.
CREATE OR REPLACE FUNCTION gold.write_agg_demand_rolling(p_suffix text, p_lo date, p_hi date) RETURNS bigint
LANGUAGE plpgsql
-- The grid's join to the facts as a hash join (a merge join on three of
-- its four keys compares every day of a series with every fact of it).
SET enable_mergejoin = off AS $$
DECLARE
    n bigint;
    cov daterange := silver.demand_coverage();
    lb integer := gold.lookback_days();
    t0 date;
    t1 date;
BEGIN
    IF cov IS NULL THEN
        RETURN 0;
    END IF;
    t0 := greatest(coalesce(p_lo, lower(cov)), lower(cov));
    t1 := least(coalesce(p_hi, upper(cov) - 1), upper(cov) - 1);
    IF t0 > t1 THEN
        RETURN 0;
    END IF;
    IF t1 - t0 < 3 THEN
        -- A few days (the daily case: a new day at the end of the history):
        -- aggregate each target day's two windows straight from the facts,
        -- found through the date index, instead of a calendar grid.
        EXECUTE format($q$
            INSERT INTO gold.%I (date, item_id, site_id, unit, quantity, quantity_total_7d, quantity_avg_7d,
                                 quantity_total_30d, quantity_avg_30d, quantity_total_30d_prev_year)
            SELECT x.t, x.item_id, x.site_id, x.unit, coalesce(x.q, 0),
                   coalesce(x.t7, 0)::float8, coalesce(x.t7, 0)::float8 / gold.window_days(x.t, 7, $3),
                   coalesce(x.t30, 0)::float8, coalesce(x.t30, 0)::float8 / gold.window_days(x.t, $4 + 1, $3),
                   CASE WHEN (x.t - interval '1 year')::date - $4 >= $3 THEN coalesce(x.ty, 0)::float8 END
            FROM (
                SELECT t.t, f.item_id, f.site_id, f.unit,
                       max(f.quantity) FILTER (WHERE f.date = t.t) AS q,
                       sum(f.qn) FILTER (WHERE f.date > t.t - 7) AS t7,
                       sum(f.qn) FILTER (WHERE f.date >= t.t - $4) AS t30,
                       sum(f.qn) FILTER (WHERE f.date <= (t.t - interval '1 year')::date) AS ty
                FROM (SELECT g::date AS t FROM generate_series($1, $2, interval '1 day') g) t
                -- quantity as numeric once per fact, not once per sum
                JOIN (SELECT *, quantity::numeric AS qn FROM gold.%I
                      WHERE date BETWEEN $1 - $4 AND $2
                         OR date BETWEEN ($1 - interval '1 year')::date - $4 AND ($2 - interval '1 year')::date) f
                  ON f.date BETWEEN t.t - $4 AND t.t
                  OR f.date BETWEEN (t.t - interval '1 year')::date - $4 AND (t.t - interval '1 year')::date
                GROUP BY 1, 2, 3, 4
            ) x
            ORDER BY x.item_id COLLATE "C", x.site_id COLLATE "C", x.t, x.unit COLLATE "C"
            $q$, 'agg_demand_rolling' || p_suffix, 'fact_demand' || p_suffix)
        USING t0, t1, lower(cov), lb;
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN n;
    END IF;
    -- Every calendar day of each series (a grid without gaps) from its
    -- first fact since a year and 29 days before t0 to a year and 31 days
    -- after its last one (or t1), with the day's fact (a hash join: one
    -- sort of the grid, no sorted merge the planner could choose on three
    -- of the four keys). Running numeric totals of quantity and lines, then
    -- every window is the difference of two running totals a fixed number
    -- of rows (days) apart: 7, 30, and the days back to the same date one
    -- year earlier (365 or 366) and 30 more. Numeric sums are exact, so the
    -- differences equal the sums of the windows (and the daily path above):
    -- one running sum per row instead of a moving frame per window.
    EXECUTE format($q$
        INSERT INTO gold.%I (date, item_id, site_id, unit, quantity, quantity_total_7d, quantity_avg_7d,
                             quantity_total_30d, quantity_avg_30d, quantity_total_30d_prev_year)
        WITH f AS MATERIALIZED (
            SELECT item_id, site_id, unit, date, quantity, lines FROM gold.%I
            WHERE date BETWEEN ($1 - interval '1 year')::date - $4 AND $2
        ), g AS (
            SELECT s.item_id, s.site_id, s.unit, d.date, f.quantity, f.quantity::numeric AS qn, coalesce(f.lines, 0) AS lines
            FROM (SELECT item_id, site_id, unit, min(date) AS first, max(date) AS last FROM f GROUP BY 1, 2, 3) s
            CROSS JOIN LATERAL (
                SELECT generate_series(s.first, least((s.last + interval '1 year')::date + $4 + 2, $2),
                                       interval '1 day')::date AS date) d
            LEFT JOIN f ON f.item_id = s.item_id AND f.site_id = s.site_id AND f.unit = s.unit AND f.date = d.date
        ), c AS (
            SELECT date, item_id, site_id, unit, quantity,
                   sum(qn) OVER w AS cq, sum(lines) OVER w AS cn,
                   date - (date - interval '1 year')::date AS ky
            FROM g
            WINDOW w AS (PARTITION BY item_id COLLATE "C", site_id COLLATE "C", unit COLLATE "C" ORDER BY date
                         ROWS UNBOUNDED PRECEDING)
        ), w AS (
            SELECT date, item_id, site_id, unit, quantity,
                   cq - lag(cq, 7, 0) OVER w AS t7,
                   cq - lag(cq, $4 + 1, 0) OVER w AS t30, cn - lag(cn, $4 + 1, 0) OVER w AS n30,
                   lag(cq, ky, 0) OVER w - lag(cq, ky + $4 + 1, 0) OVER w AS ty,
                   lag(cn, ky, 0) OVER w - lag(cn, ky + $4 + 1, 0) OVER w AS ny
            FROM c
            WINDOW w AS (PARTITION BY item_id COLLATE "C", site_id COLLATE "C", unit COLLATE "C" ORDER BY date)
        )
        SELECT date, item_id, site_id, unit, coalesce(quantity, 0),
               t7::float8, t7::float8 / gold.window_days(date, 7, $3),
               t30::float8, t30::float8 / gold.window_days(date, $4 + 1, $3),
               CASE WHEN (date - interval '1 year')::date - $4 >= $3 THEN ty::float8 END
        FROM w
        WHERE date >= $1 AND (n30 > 0 OR ny > 0)
        $q$, 'agg_demand_rolling' || p_suffix, 'fact_demand' || p_suffix)
    USING t0, t1, lower(cov), lb;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.write_agg_demand_rolling(text, date, date) IS 'Inserts gold.agg_demand_rolling rows of the dates p_lo..p_hi (NULLs: all) computed from gold.fact_demand || p_suffix into gold.agg_demand_rolling || p_suffix.';
