-- Silver -> gold: inventory levels and the daily external factors. Same
-- conventions as the demand writers (see R__220_gold_demand.sql).

CREATE OR REPLACE FUNCTION gold.write_fact_inventory(p_suffix text, p_lo date, p_hi date) RETURNS bigint
LANGUAGE plpgsql
-- Bulk joins only: hash joins whatever the estimates of the silver views
-- (their multi-column key joins are estimated at a row or two).
SET enable_nestloop = off AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format($q$
        INSERT INTO gold.%I (date, item_id, site_id, current_stock, safety_stock, reorder_point, days_to_rupture, stock_status)
        SELECT date, item_id, site_id, current_stock, safety_stock, reorder_point, days_to_rupture, stock_status
        FROM silver.stg_inventory
        WHERE date BETWEEN $1 AND $2
        ORDER BY item_id COLLATE "C", site_id COLLATE "C", date
        $q$, 'fact_inventory' || p_suffix)
    USING coalesce(p_lo, '-infinity'::date), coalesce(p_hi, 'infinity'::date);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.write_fact_inventory(text, date, date) IS 'Inserts gold.fact_inventory rows of the dates p_lo..p_hi (NULLs: all) from silver.stg_inventory into gold.fact_inventory || p_suffix.';

-- Daily external factors: one national row per day (city = 'ALL') with the
-- economic indicators (each carried forward from its last observation) and
-- national telecom counts, plus one row per (day, city) with weather.
CREATE OR REPLACE FUNCTION gold.refresh_fact_external() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint; lo date; hi date;
BEGIN
    DELETE FROM gold.fact_external_daily;
    SELECT min(a), max(b) INTO lo, hi FROM (
        SELECT min(date) AS a, max(date) AS b FROM silver.stg_economic
        UNION ALL SELECT min(date), max(date) FROM silver.stg_fx
        UNION ALL SELECT min(date), max(date) FROM silver.stg_weather
        UNION ALL SELECT min(date), max(date) FROM silver.stg_telecom) x;
    IF lo IS NULL THEN
        RETURN 0;
    END IF;
    INSERT INTO gold.fact_external_daily
    WITH obs AS (
        SELECT source || ':' || series AS k, date, value FROM silver.stg_economic WHERE value IS NOT NULL
        UNION ALL SELECT 'bcb_ptax:' || currency || '_buy', date, buy_rate FROM silver.stg_fx WHERE buy_rate IS NOT NULL
        UNION ALL SELECT 'bcb_ptax:' || currency || '_sell', date, sell_rate FROM silver.stg_fx WHERE sell_rate IS NOT NULL
    ), spans AS (
        SELECT k, date, value, lead(date) OVER (PARTITION BY k ORDER BY date) AS next FROM obs
    ), econ AS (
        SELECT g::date AS date, s.k, s.value
        FROM spans s CROSS JOIN LATERAL generate_series(s.date, coalesce(s.next - 1, hi), interval '1 day') g
    ), econ_day AS (
        SELECT date,
               coalesce(max(value) FILTER (WHERE k = 'bcb_sgs:432'), max(value) FILTER (WHERE k = 'bcb_sgs:1178'),
                        max(value) FILTER (WHERE k = 'bcb_sgs:11')) AS selic_rate,
               coalesce(max(value) FILTER (WHERE k = 'ibge_sidra:1737/63'), max(value) FILTER (WHERE k = 'bcb_sgs:433')) AS ipca_monthly,
               max(value) FILTER (WHERE k = 'bcb_ptax:USD_buy') AS usd_brl_buy,
               max(value) FILTER (WHERE k = 'bcb_ptax:USD_sell') AS usd_brl_sell,
               jsonb_object_agg(k, value) AS indicators
        FROM econ GROUP BY date
    ), tel AS (
        SELECT date, silver.norm_key(municipality) AS m1, silver.norm_key(municipality || '_' || coalesce(uf, '')) AS m2,
               sum(count) FILTER (WHERE technology ILIKE '%5g%') AS c5g, sum(count) AS ctot
        FROM silver.stg_telecom GROUP BY 1, 2, 3
    ), tel_all AS (
        SELECT date, sum(c5g)::bigint AS c5g, sum(ctot)::bigint AS ctot FROM tel GROUP BY date
    )
    SELECT d.date, 'ALL', e.selic_rate, e.ipca_monthly, e.usd_brl_buy, e.usd_brl_sell, coalesce(e.indicators, '{}'),
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, ta.c5g, ta.ctot
    FROM (SELECT g::date AS date FROM generate_series(lo, hi, interval '1 day') g) d
    LEFT JOIN econ_day e ON e.date = d.date
    LEFT JOIN tel_all ta ON ta.date = d.date
    UNION ALL
    SELECT w.date, w.city, e.selic_rate, e.ipca_monthly, e.usd_brl_buy, e.usd_brl_sell, coalesce(e.indicators, '{}'),
           w.temp_min, w.temp_max, w.temp_mean, w.precipitation_sum, w.humidity_mean, w.wind_max, w.wind_mean,
           t.c5g, t.ctot
    FROM silver.stg_weather w
    LEFT JOIN econ_day e ON e.date = w.date
    LEFT JOIN LATERAL (SELECT sum(c5g)::bigint AS c5g, sum(ctot)::bigint AS ctot FROM tel
                       WHERE tel.date = w.date AND silver.norm_key(w.city) IN (tel.m1, tel.m2)) t ON true
    WHERE w.city <> 'all';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.refresh_fact_external() IS 'Rebuilds gold.fact_external_daily from the silver external series.';
