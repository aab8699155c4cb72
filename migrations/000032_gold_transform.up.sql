-- Gold (issue 5): the daily external-factors fact. The functions that fill
-- gold are defined by the repeatable files of migrations/transform.

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
