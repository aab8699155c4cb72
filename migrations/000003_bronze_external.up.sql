-- Bronze tables for external HTTP series, their raw responses and the
-- per-series watermarks of incremental pulls.

CREATE TABLE bronze.economic_series (
    source       text NOT NULL,            -- bcb_sgs | ibge_sidra
    series       text NOT NULL,            -- SGS code ('432') or SIDRA 'table/variable' ('1737/63')
    date         date NOT NULL,            -- observation day; monthly series use the 1st of the month
    period_code  text,                     -- the API's own period code ('201501') when it has one
    value        double precision,         -- NULL when the API marks the value missing ('...', '-')
    _load_id     bigint NOT NULL,
    _line        bigint NOT NULL
);
CREATE INDEX economic_series_key_idx ON bronze.economic_series (source, series, date);
CREATE INDEX economic_series_load_idx ON bronze.economic_series (_load_id);
COMMENT ON TABLE bronze.economic_series IS 'BCB SGS and IBGE SIDRA observations, one row per series and period.';

CREATE TABLE bronze.fx_ptax (
    currency       text NOT NULL,
    quoted_at      timestamp NOT NULL,     -- dataHoraCotacao, Brasilia local time as sent
    date           date NOT NULL,
    bulletin_type  text,                   -- tipoBoletim: Abertura, Intermediário, Fechamento ...
    buy_rate       double precision,
    sell_rate      double precision,
    buy_parity     double precision,
    sell_parity    double precision,
    _load_id       bigint NOT NULL,
    _line          bigint NOT NULL
);
CREATE INDEX fx_ptax_key_idx ON bronze.fx_ptax (currency, date);
CREATE INDEX fx_ptax_load_idx ON bronze.fx_ptax (_load_id);
COMMENT ON TABLE bronze.fx_ptax IS 'BCB PTAX bulletins (several per day) per currency.';

CREATE TABLE bronze.weather_daily (
    city               text NOT NULL,
    date               date NOT NULL,      -- local date in the city's time zone
    latitude           double precision,
    longitude          double precision,
    timezone           text,
    temp_min           double precision,
    temp_max           double precision,
    temp_mean          double precision,
    precipitation_sum  double precision,
    humidity_mean      double precision,
    wind_max           double precision,
    hours              integer,            -- hourly observations aggregated into the day
    _load_id           bigint NOT NULL,
    _line              bigint NOT NULL
);
CREATE INDEX weather_daily_key_idx ON bronze.weather_daily (city, date);
CREATE INDEX weather_daily_load_idx ON bronze.weather_daily (_load_id);
COMMENT ON TABLE bronze.weather_daily IS 'Open-Meteo hourly history aggregated to local days per city.';

CREATE TABLE bronze.telecom_5g (
    municipality  text,
    ibge_code     text,
    uf            text,
    date          date,
    operator      text,
    technology    text,
    count         bigint,
    _load_id      bigint NOT NULL,
    _line         bigint NOT NULL
);
CREATE INDEX telecom_5g_load_idx ON bronze.telecom_5g (_load_id);
COMMENT ON TABLE bronze.telecom_5g IS 'Telecom / 5G open-data counts per municipality, date, operator and technology.';

-- Raw bytes of every HTTP response that produced bronze rows.
CREATE TABLE bronze.raw_responses (
    response_id   bigserial PRIMARY KEY,
    source        text        NOT NULL,
    series        text        NOT NULL,
    url           text        NOT NULL,
    status_code   integer     NOT NULL,
    content_type  text,
    fetched_at    timestamptz NOT NULL,
    sha256        text        NOT NULL,
    body          bytea       NOT NULL,
    _load_id      bigint      NOT NULL
);
CREATE INDEX raw_responses_load_idx ON bronze.raw_responses (_load_id);
COMMENT ON TABLE bronze.raw_responses IS 'Every HTTP response body that produced bronze rows, with URL, fetch time and sha256.';

CREATE TABLE meta.watermarks (
    source      text        NOT NULL,
    series      text        NOT NULL,
    watermark   date        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, series)
);
COMMENT ON TABLE meta.watermarks IS 'Last date pulled and committed per external source and series.';
