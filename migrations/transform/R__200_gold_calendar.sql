-- Silver -> gold: the calendar dimension with Brazilian national holidays.

-- Date of Easter Sunday (anonymous Gregorian algorithm).
CREATE OR REPLACE FUNCTION gold.easter(y integer) RETURNS date
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
CREATE OR REPLACE FUNCTION gold.br_holidays(y integer) RETURNS TABLE (date date, name text)
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

-- Adds the missing days of whole years lo..hi to gold.dim_time. When every
-- day of those years is there (every refresh but the first of a year), one
-- count on the primary key says so: generating the years' days and their
-- holidays to insert none cost 6 ms of a 0.13 s daily refresh.
CREATE OR REPLACE FUNCTION gold.fill_dim_time(lo date, hi date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    first date;
    last date;
BEGIN
    IF lo IS NULL OR hi IS NULL THEN
        RETURN 0;
    END IF;
    first := make_date(extract(year FROM lo)::int, 1, 1);
    last := make_date(extract(year FROM hi)::int, 12, 31);
    IF (SELECT count(*) FROM gold.dim_time WHERE date BETWEEN first AND last) = last - first + 1 THEN
        RETURN 0;
    END IF;
    INSERT INTO gold.dim_time (date, year, quarter, month, day, day_of_week, iso_week, is_weekend, is_holiday, holiday_name)
    SELECT d, extract(year FROM d)::int, extract(quarter FROM d)::int, extract(month FROM d)::int,
           extract(day FROM d)::int, extract(isodow FROM d)::int, extract(week FROM d)::int,
           extract(isodow FROM d) IN (6, 7), h.name IS NOT NULL, h.name
    FROM generate_series(first, last, interval '1 day') AS g(ts)
    CROSS JOIN LATERAL (SELECT g.ts::date AS d) x
    LEFT JOIN LATERAL (SELECT string_agg(b.name, ' / ') AS name
                       FROM gold.br_holidays(extract(year FROM x.d)::int) b WHERE b.date = x.d) h ON true
    ON CONFLICT (date) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION gold.fill_dim_time(date, date) IS 'Inserts the missing days of the whole years from lo to hi into gold.dim_time, with Brazilian holidays.';
