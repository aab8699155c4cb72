-- Issue 13.2: transformation logic moves to the repeatable SQL files of
-- migrations/transform (views and functions, applied by `novawh migrate up`
-- after the versioned migrations, re-applied when a file changes; their
-- checksums are kept in meta.repeatable_migrations). This migration drops
-- the views and functions earlier migrations created (databases migrated
-- before this change still have them) and adds the silver tables the new
-- refresh keeps (issue 12: ERP demand lines and their summaries).

CREATE TABLE meta.repeatable_migrations (
    name        text        PRIMARY KEY,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE meta.repeatable_migrations IS 'The repeatable SQL files of migrations/transform (views and functions) as last applied by novawh migrate up: name and sha256; cleared by migrate down.';

ALTER TABLE meta.refreshes ADD COLUMN table_rows jsonb NOT NULL DEFAULT '{}';
COMMENT ON COLUMN meta.refreshes.table_rows IS 'Rows of every gold table after the refresh, e.g. {"gold.fact_forecast": 13150000}: the previous count adjusted by the rows deleted and written (exact, kept by refresh; read by novawh status).';

DROP VIEW IF EXISTS gold.v_items_unmatched, gold.v_inventory_latest, gold.v_forecast_by_site, gold.v_forecast_accuracy;
DROP VIEW IF EXISTS silver.dropped_rows, silver.stg_telecom, silver.stg_weather, silver.stg_fx, silver.stg_economic,
    silver.stg_inventory, silver.stg_forecasts, silver.stg_demand, silver.stg_sites, silver.stg_items,
    silver.series_map_v, silver.item_map_v, silver.erp_codes, silver.item_master, silver.erp_lines;
DROP FUNCTION IF EXISTS gold.refresh_fact_external(), gold.refresh_fact_inventory(date, date),
    gold.refresh_agg_forecast_rolling(date, date), gold.refresh_fact_forecast(date, date), gold.refresh_dim_site(),
    gold.refresh_dim_item(), gold.fill_dim_time(date, date), gold.br_holidays(integer), gold.easter(integer),
    silver.refresh_demand_daily(), silver.refresh_item_map(), silver.sync_ml_keys(bigint[]), silver.norm_key(text);
DROP TABLE IF EXISTS silver.demand_daily;

-- One row per line of the current ERP exports that names an item.
CREATE TABLE silver.demand_lines (
    load_id         bigint           NOT NULL,
    line            bigint           NOT NULL,
    date            date,
    ml_key          text             NOT NULL,
    item_norm       text             NOT NULL,
    product_code    text,
    familia         text,
    material        text,
    deposito        text             NOT NULL,
    unit            text             NOT NULL,
    quantity        double precision,
    request_id      text,
    supplier        text,
    supplier_name   text,
    purchase_date   date,
    lead_time_days  integer,
    PRIMARY KEY (load_id, line)
);
CREATE INDEX demand_lines_date_idx ON silver.demand_lines (date);
COMMENT ON TABLE silver.demand_lines IS 'ERP requisition lines of the current exports (silver.erp_lines) that name an item, kept by refresh: lines of a new export added, of a superseded one removed. Gold demand is built from it.';
COMMENT ON COLUMN silver.demand_lines.date IS 'DATA SOLICITADO (NULL: undated, left out of gold demand and counted in silver.dropped_rows).';
COMMENT ON COLUMN silver.demand_lines.item_norm IS 'silver.norm_key(ml_key): the key of silver.item_map.';
COMMENT ON COLUMN silver.demand_lines.deposito IS 'DEPÓSITO trimmed, '''' when blank (key of silver.site_map).';
COMMENT ON COLUMN silver.demand_lines.unit IS 'U.M. trimmed, '''' when blank.';
COMMENT ON COLUMN silver.demand_lines.supplier IS 'silver.supplier_key(NOME FORNEC.): the supplier''s matching form.';
COMMENT ON COLUMN silver.demand_lines.lead_time_days IS 'DATA DE COMPRA - DATA SOLICITADO in days when both are given (negative: purchase before the request).';

-- Summaries of silver.demand_lines, kept with it (added to for a new
-- export, rebuilt when an export is superseded).
CREATE TABLE silver.erp_keys (
    ml_key     text PRIMARY KEY,
    item_norm  text NOT NULL
);
COMMENT ON TABLE silver.erp_keys IS 'Distinct ERP item keys (FAMÍLIA_MATERIAL) of the current exports with their matching form: the ERP candidates of silver.item_map_v.';

CREATE TABLE silver.erp_codes (
    product_code  text   PRIMARY KEY,
    ml_key        text   NOT NULL,
    familia       text,
    material      text,
    load_id       bigint NOT NULL,
    line          bigint NOT NULL
);
COMMENT ON TABLE silver.erp_codes IS 'ERP product code (PRODUTO/SERVIÇO) to ML item key (FAMÍLIA_MATERIAL): the latest line of each code in the current exports.';

CREATE TABLE silver.erp_depots (
    deposito  text PRIMARY KEY
);
COMMENT ON TABLE silver.erp_depots IS 'Distinct depots (DEPÓSITO, '''' = blank) of the current ERP exports.';

CREATE TABLE silver.supplier_spellings (
    supplier        text    NOT NULL,
    supplier_name   text    NOT NULL,
    lines           bigint  NOT NULL,
    quantity        numeric NOT NULL,
    first_purchase  date,
    last_purchase   date,
    last_load_id    bigint  NOT NULL,
    last_line       bigint  NOT NULL,
    PRIMARY KEY (supplier, supplier_name)
);
COMMENT ON TABLE silver.supplier_spellings IS 'Per supplier key and spelling of NOME FORNEC.: lines, quantity (exact), first and last purchase and the latest line.';

CREATE TABLE silver.supplier_items (
    supplier   text NOT NULL,
    item_norm  text NOT NULL,
    PRIMARY KEY (supplier, item_norm)
);
COMMENT ON TABLE silver.supplier_items IS 'Items (matching form) each supplier supplied.';

CREATE TABLE silver.supplier_lead_days (
    supplier   text    NOT NULL,
    lead_days  integer NOT NULL,
    lines      bigint  NOT NULL,
    PRIMARY KEY (supplier, lead_days)
);
COMMENT ON TABLE silver.supplier_lead_days IS 'Histogram of lead times per supplier: lines per lead time in days (DATA DE COMPRA - DATA SOLICITADO); medians and percentiles of gold.dim_supplier are computed from it.';

-- Gold comments that the demand facts change.
COMMENT ON TABLE gold.dim_site IS 'Sites: the ML sites with their ERP depot code, every other ERP depot (site_id = the depot code), the blank depot (site_id ''-1'', the ML outputs'' own id for it) and ''ALL'', the item-level pseudo-site.';
COMMENT ON COLUMN gold.dim_site.site_id IS 'ML site id (e.g. ''176''), else the ERP depot code (e.g. ''ESCRITÓRIO''); ''-1'' for lines with a blank DEPÓSITO; ''ALL'' for item-level rows.';
COMMENT ON COLUMN gold.fact_forecast.actual IS 'Actual quantity: the file''s own actual when given, else the demand of the site (gold.fact_demand, summed over units; ALL rows: the item''s total) that day; 0 inside the ERP''s date coverage without demand, NULL outside it or for sites without a depot.';
