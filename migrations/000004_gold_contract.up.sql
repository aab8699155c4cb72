-- Gold star schema: the tables dashboards, the API and exports read.
-- Table and column names are a contract; refresh logic lives in later
-- migrations (functions) and fills these tables.

CREATE TABLE gold.dim_item (
    item_id            text PRIMARY KEY,
    sku                text,
    name               text,
    category           text,
    familia            text,
    erp_product_codes  text[] NOT NULL DEFAULT '{}',
    in_item_master     boolean NOT NULL DEFAULT false,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE gold.dim_site (
    site_id   text PRIMARY KEY,
    deposito  text,
    region    text
);

CREATE TABLE gold.dim_time (
    date          date PRIMARY KEY,
    year          integer NOT NULL,
    quarter       integer NOT NULL,
    month         integer NOT NULL,
    day           integer NOT NULL,
    day_of_week   integer NOT NULL,
    iso_week      integer NOT NULL,
    is_weekend    boolean NOT NULL,
    is_holiday    boolean NOT NULL,
    holiday_name  text
);

CREATE TABLE gold.fact_forecast (
    date           date             NOT NULL,
    item_id        text             NOT NULL,
    site_id        text             NOT NULL,
    source         text             NOT NULL,
    forecast       double precision,
    actual         double precision,
    lower          double precision,
    upper          double precision,
    model_version  text             NOT NULL,
    generated_at   timestamptz      NOT NULL,
    dataset_id     text             NOT NULL,
    mape           double precision,
    load_id        bigint,
    created_at     timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (item_id, site_id, date, source)
);
CREATE INDEX fact_forecast_date_idx ON gold.fact_forecast (date);

CREATE TABLE gold.fact_inventory (
    date             date NOT NULL,
    item_id          text NOT NULL,
    site_id          text NOT NULL,
    current_stock    double precision,
    safety_stock     double precision,
    reorder_point    double precision,
    days_to_rupture  double precision,
    stock_status     text,
    PRIMARY KEY (item_id, site_id, date)
);
CREATE INDEX fact_inventory_date_idx ON gold.fact_inventory (date);

CREATE TABLE gold.agg_forecast_rolling (
    date                date             NOT NULL,
    item_id             text             NOT NULL,
    site_id             text             NOT NULL,
    source              text             NOT NULL,
    forecast            double precision,
    actual              double precision,
    forecast_avg_7d     double precision,
    actual_avg_7d       double precision,
    forecast_total_7d   double precision,
    actual_total_7d     double precision,
    mape_7d             double precision,
    forecast_avg_30d    double precision,
    actual_avg_30d      double precision,
    forecast_total_30d  double precision,
    actual_total_30d    double precision,
    mape_30d            double precision,
    PRIMARY KEY (item_id, site_id, date, source)
);
CREATE INDEX agg_forecast_rolling_date_idx ON gold.agg_forecast_rolling (date);

GRANT SELECT ON ALL TABLES IN SCHEMA gold TO novawh_reader;
