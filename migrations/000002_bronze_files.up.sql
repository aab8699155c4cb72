-- Bronze tables for file sources (ERP exports and precomputed ML results).
-- Columns are typed as in data/schema_registry.json; every row carries the
-- load that wrote it (_load_id) and its line in the input (_line).

CREATE TABLE bronze.erp_requisitions (
    deposito        text,
    product_code    text,
    material        text,
    familia         text,
    supplier_name   text,
    quantity        double precision,
    unit            text,
    requested_date  date,
    request_id      text,
    solicited_date  date,
    purchase_date   date,
    _load_id        bigint NOT NULL,
    _line           bigint NOT NULL
);
CREATE INDEX erp_requisitions_load_idx ON bronze.erp_requisitions (_load_id);
COMMENT ON TABLE bronze.erp_requisitions IS 'ERP procurement export (custo_de_material_e_servicos.csv): actual material demand.';

CREATE TABLE bronze.erp_items (
    item_id   text,
    sku       text,
    name      text,
    category  text,
    cost      double precision,
    date      date,
    _load_id  bigint NOT NULL,
    _line     bigint NOT NULL
);
CREATE INDEX erp_items_load_idx ON bronze.erp_items (_load_id);
COMMENT ON TABLE bronze.erp_items IS 'Item master: item_id, sku, name, category, cost, date.';

CREATE TABLE bronze.inventory (
    item_id           text,
    site_id           text,
    deposito          text,
    date              date,
    current_stock     double precision,
    safety_stock      double precision,
    reorder_point     double precision,
    avg_daily_demand  double precision,
    lead_time_days    double precision,
    days_to_rupture   double precision,
    stock_status      text,
    familia           text,
    category          text,
    region            text,
    series_key        text,
    model_version     text,
    generated_at      timestamptz,
    source            text,
    dataset_id        text,
    _load_id          bigint NOT NULL,
    _line             bigint NOT NULL
);
CREATE INDEX inventory_load_idx ON bronze.inventory (_load_id);
COMMENT ON TABLE bronze.inventory IS 'Inventory levels per item, site and date (prescriptions: current/safety stock, reorder point, days to rupture).';

CREATE TABLE bronze.ml_forecasts (
    item_id           text,
    site_id           text,
    deposito          text,
    series_key        text,
    date              date,
    forecast          double precision,
    lower             double precision,
    upper             double precision,
    actual            double precision,
    arima_forecast    double precision,
    xgboost_forecast  double precision,
    familia           text,
    category          text,
    region            text,
    model_version     text NOT NULL,
    generated_at      timestamptz NOT NULL,
    source            text NOT NULL,
    dataset_id        text NOT NULL,
    _load_id          bigint NOT NULL,
    _line             bigint NOT NULL
);
CREATE INDEX ml_forecasts_load_idx ON bronze.ml_forecasts (_load_id);
COMMENT ON TABLE bronze.ml_forecasts IS 'Precomputed ML forecasts (CSV or Parquet) with their ML metadata on every row.';
