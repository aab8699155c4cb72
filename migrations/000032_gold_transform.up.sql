-- Gold logic (issue 5): Brazilian holidays, the external-factors fact, and
-- the windowed refresh functions that rewrite gold from silver. Go
-- (internal/refresh) decides the windows, takes the advisory lock, calls
-- these functions in one transaction and records the refresh in meta.

-- Date of Easter Sunday (anonymous Gregorian algorithm).
CREATE FUNCTION gold.easter(y integer) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    a int := y % 19; b int := y / 100; c int := y % 100; d int := b / 4; e int := b % 4;
    f int := (b + 8) / 25; g int := (b - f + 1) / 3; h int := (19 * a + b - d - g + 15) % 30;
    i int := c / 4; k int := c % 4; l int := (32 + 2 * e + 2 * i - h - k) % 7;
    m int := (a + 11 * h + 22 * l) / 451;
BEGIN
    RETURN make_date(y, (h + l - 7 * m + 114) / 31, ((h + l - 7 * m + 114) % 31) + 1);
END
$$;
COMMENT ON FUNCTION gold.easter(integer) IS 'Easter Sunday of year y (Gregorian calendar).';

-- Brazilian national holidays of year y: fixed dates and the Easter-based
-- Carnaval (Monday, Tuesday), Sexta-feira Santa and Corpus Christi.
CREATE FUNCTION gold.br_holidays(y integer) RETURNS TABLE (date date, name text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT make_date(y, 1, 1), 'Confraternização Universal'
    UNION ALL SELECT gold.easter(y) - 48, 'Carnaval (segunda-feira)'
    UNION ALL SELECT gold.easter(y) - 47, 'Carnaval (terça-feira)'
    UNION ALL SELECT gold.easter(y) - 2, 'Sexta-feira Santa'
    UNION ALL SELECT make_date(y, 4, 21), 'Tiradentes'
    UNION ALL SELECT make_date(y, 5, 1), 'Dia do Trabalho'
    UNION ALL SELECT gold.easter(y) + 60, 'Corpus Christi'
    UNION ALL SELECT make_date(y, 9, 7), 'Independência do Brasil'
    UNION ALL SELECT make_date(y, 10, 12), 'Nossa Senhora Aparecida'
    UNION ALL SELECT make_date(y, 11, 2), 'Finados'
    UNION ALL SELECT make_date(y, 11, 15), 'Proclamação da República'
    UNION ALL SELECT make_date(y, 11, 20), 'Dia Nacional de Zumbi e da Consciência Negra' WHERE y >= 2024
    UNION ALL SELECT make_date(y, 12, 25), 'Natal'
$$;
COMMENT ON FUNCTION gold.br_holidays(integer) IS 'Brazilian national holidays of a year (Consciência Negra from 2024, Law 14.759/2023).';

-- Adds the missing days of whole years lo..hi to gold.dim_time.
CREATE FUNCTION gold.fill_dim_time(lo date, hi date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    IF lo IS NULL OR hi IS NULL THEN
        RETURN 0;
    END IF;
    INSERT INTO gold.dim_time (date, year, quarter, month, day, day_of_week, iso_week, is_weekend, is_holiday, holiday_name)
    SELECT d, extract(year FROM d)::int, extract(quarter FROM d)::int, extract(month FROM d)::int,
           extract(day FROM d)::int, extract(isodow FROM d)::int, extract(week FROM d)::int,
           extract(isodow FROM d) IN (6, 7), h.name IS NOT NULL, h.name
    FROM generate_series(make_date(extract(year FROM lo)::int, 1, 1),
                         make_date(extract(year FROM hi)::int, 12, 31), interval '1 day') AS g(ts)
    CROSS JOIN LATERAL (SELECT g.ts::date AS d) x
    LEFT JOIN LATERAL (SELECT string_agg(b.name, ' / ') AS name
                       FROM gold.br_holidays(extract(year FROM x.d)::int) b WHERE b.date = x.d) h ON true
    ON CONFLICT (date) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.fill_dim_time(date, date) IS 'Inserts the missing days of the whole years from lo to hi into gold.dim_time, with Brazilian holidays.';

-- Dimensions: upserts from silver, deletes what silver no longer has.
-- Returns the rows changed.
CREATE FUNCTION gold.refresh_dim_item() RETURNS bigint
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

CREATE FUNCTION gold.refresh_dim_site() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint; m bigint;
BEGIN
    INSERT INTO gold.dim_site AS d (site_id, deposito, region)
    SELECT site_id, deposito, region FROM silver.stg_sites WHERE site_id <> 'ALL'
    UNION ALL SELECT 'ALL', NULL, NULL
    ON CONFLICT (site_id) DO UPDATE SET deposito = excluded.deposito, region = excluded.region
    WHERE (d.deposito, d.region) IS DISTINCT FROM (excluded.deposito, excluded.region);
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM gold.dim_site d
    WHERE d.site_id <> 'ALL' AND NOT EXISTS (SELECT 1 FROM silver.stg_sites s WHERE s.site_id = d.site_id);
    GET DIAGNOSTICS m = ROW_COUNT;
    RETURN n + m;
END
$$;

-- Forecast fact for the dates d0..d1 (NULLs: every date): site rows as the
-- ML files give them, actual = ERP demand at the site's depot; plus one
-- item-level row per (date, item, source) with site_id = 'ALL'. Inside the
-- ERP's date coverage a day without demand has actual 0; outside, NULL.
CREATE FUNCTION gold.refresh_fact_forecast(d0 date, d1 date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    lo date := coalesce(d0, '-infinity'::date);
    hi date := coalesce(d1, 'infinity'::date);
    cov_from date; cov_to date;
BEGIN
    SELECT min(date), max(date) INTO cov_from, cov_to FROM silver.demand_daily;
    IF d0 IS NULL THEN
        DELETE FROM gold.fact_forecast;
    ELSE
        DELETE FROM gold.fact_forecast WHERE date BETWEEN d0 AND d1;
    END IF;
    INSERT INTO gold.fact_forecast
        (date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at,
         dataset_id, mape, load_id)
    WITH f AS MATERIALIZED (
        SELECT date, item_id, site_id, source, forecast, lower, upper, actual, model_version, generated_at,
               dataset_id, load_id
        FROM silver.stg_forecasts WHERE date BETWEEN lo AND hi
    ), dem_item AS MATERIALIZED (
        SELECT date, item_id, quantity AS q
        FROM silver.demand_daily WHERE date BETWEEN lo AND hi AND deposito IS NULL
    ), dem_site AS MATERIALIZED (
        SELECT date, item_id, deposito, quantity AS q
        FROM silver.demand_daily WHERE date BETWEEN lo AND hi AND deposito IS NOT NULL
    ), site_rows AS (
        SELECT f.date, f.item_id, f.site_id, f.source, f.forecast,
               coalesce(f.actual, ds.q,
                        CASE WHEN s.deposito IS NOT NULL AND f.date BETWEEN cov_from AND cov_to THEN 0 END) AS actual,
               f.lower, f.upper, f.model_version, f.generated_at, f.dataset_id, f.load_id
        FROM f
        LEFT JOIN gold.dim_site s ON s.site_id = f.site_id
        LEFT JOIN dem_site ds ON ds.date = f.date AND ds.item_id = f.item_id AND ds.deposito = s.deposito
        WHERE f.site_id <> 'ALL'
    ), grouped AS (
        SELECT date, item_id, source, bool_or(site_id = 'ALL') AS given,
               sum(forecast) FILTER (WHERE site_id = 'ALL') AS fa, sum(forecast) FILTER (WHERE site_id <> 'ALL') AS fs,
               sum(lower) FILTER (WHERE site_id = 'ALL') AS la, sum(lower) FILTER (WHERE site_id <> 'ALL') AS ls,
               sum(upper) FILTER (WHERE site_id = 'ALL') AS ua, sum(upper) FILTER (WHERE site_id <> 'ALL') AS us,
               sum(actual) FILTER (WHERE site_id = 'ALL') AS aa, sum(actual) FILTER (WHERE site_id <> 'ALL') AS as_,
               max(model_version) AS model_version, max(generated_at) AS generated_at,
               max(dataset_id) AS dataset_id, max(load_id) AS load_id
        FROM f GROUP BY date, item_id, source
    ), all_rows AS (
        SELECT g.date, g.item_id, 'ALL'::text AS site_id, g.source,
               CASE WHEN g.given THEN g.fa ELSE g.fs END AS forecast,
               coalesce(CASE WHEN g.given THEN g.aa ELSE g.as_ END, di.q,
                        CASE WHEN g.date BETWEEN cov_from AND cov_to THEN 0 END) AS actual,
               CASE WHEN g.given THEN g.la ELSE g.ls END AS lower,
               CASE WHEN g.given THEN g.ua ELSE g.us END AS upper,
               g.model_version, g.generated_at, g.dataset_id, g.load_id
        FROM grouped g
        LEFT JOIN dem_item di ON di.date = g.date AND di.item_id = g.item_id
    )
    SELECT date, item_id, site_id, source, forecast, actual, lower, upper, model_version, generated_at, dataset_id,
           CASE WHEN actual > 0 AND forecast IS NOT NULL THEN abs(forecast - actual) / actual END, load_id
    FROM (SELECT * FROM site_rows UNION ALL SELECT * FROM all_rows) r
    -- Primary key order ("C" sorts fast and, for UTF-8 text, like C.UTF-8):
    -- index appends stay sequential and each series' days share heap pages,
    -- which the rolling aggregates and the per-item API reads rely on.
    ORDER BY item_id COLLATE "C", site_id COLLATE "C", date, source COLLATE "C";
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.refresh_fact_forecast(date, date) IS 'Rewrites gold.fact_forecast for dates d0..d1 (NULLs: all) from silver.stg_forecasts and silver.demand_daily (silver.stg_demand summed).';

-- Rolling aggregates for the dates d0..d1 (NULLs: all), reading the 29
-- days before d0 from gold.fact_forecast. Windows are calendar windows
-- (RANGE over the date), so gaps in a series are not counted as days. Sums
-- are exact (numeric, with inverse transitions: moving frames cost O(1) per
-- row) so that a window recomputed from d0 - 29 equals the full build; each
-- value is cast to numeric once and every average is sum / count.
-- A bounded window reads each series (item_id, site_id) through the primary
-- key, date-bounded, instead of the date index: fact rows are stored in key
-- order, so one series' days share heap pages while one date's rows do not.
CREATE FUNCTION gold.refresh_agg_forecast_rolling(d0 date, d1 date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    rlo date := d0 - 29;
BEGIN
    IF d0 IS NULL THEN
        DELETE FROM gold.agg_forecast_rolling;
        INSERT INTO gold.agg_forecast_rolling
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
                         forecast::numeric AS fn, actual::numeric AS an, mape::numeric AS mn
                  FROM gold.fact_forecast) f
            WINDOW w7 AS (PARTITION BY item_id COLLATE "C", site_id COLLATE "C", source COLLATE "C" ORDER BY date
                          RANGE BETWEEN '6 days' PRECEDING AND CURRENT ROW),
                   w30 AS (PARTITION BY item_id COLLATE "C", site_id COLLATE "C", source COLLATE "C" ORDER BY date
                           RANGE BETWEEN '29 days' PRECEDING AND CURRENT ROW)
        ) r;
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN n;
    END IF;
    DELETE FROM gold.agg_forecast_rolling WHERE date BETWEEN d0 AND d1;
    -- The daily case (rows on a few dates, e.g. the new day at the end of
    -- the history): aggregate the 30 days before each target row, so that
    -- only the target rows pay for the numeric sums. Sums are exact, so the
    -- figures equal the windowed build below.
    IF least(d1, (SELECT max(date) FROM gold.fact_forecast)) - d0 < 3 THEN
        INSERT INTO gold.agg_forecast_rolling
        SELECT t.date, t.item_id, t.site_id, t.source, t.forecast, t.actual,
               (a.sf7 / a.nf7)::float8, (a.sa7 / a.na7)::float8, a.sf7::float8, a.sa7::float8, (a.sm7 / a.nm7)::float8,
               (a.sf30 / a.nf30)::float8, (a.sa30 / a.na30)::float8, a.sf30::float8, a.sa30::float8, (a.sm30 / a.nm30)::float8
        FROM (SELECT DISTINCT item_id, site_id FROM silver.series_map
              WHERE item_id IS NOT NULL AND site_id IS NOT NULL AND site_id <> ''
              UNION
              SELECT DISTINCT item_id, 'ALL' FROM silver.series_map WHERE item_id IS NOT NULL) k
        CROSS JOIN LATERAL (
            SELECT x.date, x.item_id, x.site_id, x.source, x.forecast, x.actual FROM gold.fact_forecast x
            WHERE x.item_id = k.item_id AND x.site_id = k.site_id AND x.date BETWEEN d0 AND d1
            OFFSET 0) t
        CROSS JOIN LATERAL (
            SELECT sum(fn) FILTER (WHERE w.date >= t.date - 6) AS sf7, count(fn) FILTER (WHERE w.date >= t.date - 6) AS nf7,
                   sum(an) FILTER (WHERE w.date >= t.date - 6) AS sa7, count(an) FILTER (WHERE w.date >= t.date - 6) AS na7,
                   sum(mn) FILTER (WHERE w.date >= t.date - 6) AS sm7, count(mn) FILTER (WHERE w.date >= t.date - 6) AS nm7,
                   sum(fn) AS sf30, count(fn) AS nf30, sum(an) AS sa30, count(an) AS na30, sum(mn) AS sm30, count(mn) AS nm30
            FROM (SELECT y.date, y.forecast::numeric AS fn, y.actual::numeric AS an, y.mape::numeric AS mn
                  FROM gold.fact_forecast y
                  WHERE y.item_id = t.item_id AND y.site_id = t.site_id AND y.source = t.source
                    AND y.date BETWEEN t.date - 29 AND t.date) w) a;
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN n;
    END IF;
    INSERT INTO gold.agg_forecast_rolling
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
                     f.forecast::numeric AS fn, f.actual::numeric AS an, f.mape::numeric AS mn
              FROM (SELECT DISTINCT item_id, site_id FROM silver.series_map
                    WHERE item_id IS NOT NULL AND site_id IS NOT NULL AND site_id <> ''
                    UNION
                    SELECT DISTINCT item_id, 'ALL' FROM silver.series_map WHERE item_id IS NOT NULL) k
              CROSS JOIN LATERAL (
                  SELECT x.date, x.source, x.forecast, x.actual, x.mape FROM gold.fact_forecast x
                  WHERE x.item_id = k.item_id AND x.site_id = k.site_id AND x.date BETWEEN rlo AND d1
                  OFFSET 0) f) f
        WINDOW w7 AS (PARTITION BY item_id, site_id, source ORDER BY date RANGE BETWEEN '6 days' PRECEDING AND CURRENT ROW),
               w30 AS (PARTITION BY item_id, site_id, source ORDER BY date RANGE BETWEEN '29 days' PRECEDING AND CURRENT ROW)
    ) r
    WHERE r.date BETWEEN d0 AND d1;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.refresh_agg_forecast_rolling(date, date) IS 'Rewrites gold.agg_forecast_rolling for dates d0..d1 (NULLs: all), reading gold.fact_forecast from d0 - 29.';

CREATE FUNCTION gold.refresh_fact_inventory(d0 date, d1 date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    IF d0 IS NULL THEN
        DELETE FROM gold.fact_inventory;
    ELSE
        DELETE FROM gold.fact_inventory WHERE date BETWEEN d0 AND d1;
    END IF;
    INSERT INTO gold.fact_inventory (date, item_id, site_id, current_stock, safety_stock, reorder_point, days_to_rupture, stock_status)
    SELECT date, item_id, site_id, current_stock, safety_stock, reorder_point, days_to_rupture, stock_status
    FROM silver.stg_inventory
    WHERE date BETWEEN coalesce(d0, '-infinity'::date) AND coalesce(d1, 'infinity'::date);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.refresh_fact_inventory(date, date) IS 'Rewrites gold.fact_inventory for dates d0..d1 (NULLs: all) from silver.stg_inventory.';

-- Daily external factors: one national row per day (city = 'ALL') with the
-- economic indicators (each carried forward from its last observation) and
-- national telecom counts, plus one row per (day, city) with weather.
CREATE TABLE gold.fact_external_daily (
    date               date             NOT NULL,
    city               text             NOT NULL,
    selic_rate         double precision,
    ipca_monthly       double precision,
    usd_brl_buy        double precision,
    usd_brl_sell       double precision,
    indicators         jsonb            NOT NULL DEFAULT '{}',
    temp_min           double precision,
    temp_max           double precision,
    temp_mean          double precision,
    precipitation_sum  double precision,
    humidity_mean      double precision,
    wind_max           double precision,
    wind_mean          double precision,
    telecom_5g_count   bigint,
    telecom_count      bigint,
    PRIMARY KEY (date, city)
);
CREATE INDEX fact_external_daily_city_idx ON gold.fact_external_daily (city, date);
GRANT SELECT ON gold.fact_external_daily TO novawh_reader;

CREATE FUNCTION gold.refresh_fact_external() RETURNS bigint
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
