-- Issue 12: actual demand and procurement are first-class gold, for every
-- material of the ERP export (not only the ones with an ML forecast).
-- Tables only; the refresh fills them (gold.fact_demand,
-- gold.fact_demand_supplier, gold.dim_supplier, gold.agg_demand_rolling).
--
-- Sites: a demand row's site_id is the gold.dim_site id of its ERP depot
-- (DEPÓSITO): the ML site whose depot it is, else the depot code itself;
-- lines with a blank DEPÓSITO go to site_id '-1' (the id the ML outputs give
-- the blank depot); site_id 'ALL' rows carry the item's total for the day.
-- Units: U.M. is part of the key, so an item requested in two units (one of
-- 874 in the real export: EPI_MASCARA DESCARTAVEL in UN and CX) has one row
-- per unit and never a sum of boxes and pieces.

CREATE TABLE gold.fact_demand (
    date                date             NOT NULL,
    item_id             text             NOT NULL,
    site_id             text             NOT NULL,
    unit                text             NOT NULL,
    quantity            double precision NOT NULL,
    lines               integer          NOT NULL,
    requests            integer          NOT NULL,
    suppliers           integer          NOT NULL,
    lead_time_lines     integer          NOT NULL,
    lead_time_days_avg  double precision,
    lead_time_days_max  integer,
    load_id             bigint           NOT NULL,
    PRIMARY KEY (item_id, site_id, date, unit)
);
CREATE INDEX fact_demand_date_idx ON gold.fact_demand (date);
COMMENT ON TABLE gold.fact_demand IS 'Actual demand: ERP requisition lines with a demand date (DATA SOLICITADO) summed per (date, item_id, site_id, unit); site_id ''ALL'' rows are the item''s total of the day. Lines without a demand date are counted in silver.dropped_rows.';
COMMENT ON COLUMN gold.fact_demand.date IS 'Demand day: DATA SOLICITADO of the ERP lines.';
COMMENT ON COLUMN gold.fact_demand.item_id IS 'Item (gold.dim_item.item_id): FAMÍLIA_MATERIAL.';
COMMENT ON COLUMN gold.fact_demand.site_id IS 'Site (gold.dim_site.site_id) of the line''s depot (DEPÓSITO): the ML site of the depot, else the depot code; ''-1'' for a blank DEPÓSITO; ''ALL'' = every site of the item.';
COMMENT ON COLUMN gold.fact_demand.unit IS 'Unit of measure (U.M., trimmed; '''' when the line has none). Part of the key: quantities of different units are never added.';
COMMENT ON COLUMN gold.fact_demand.quantity IS 'Sum of QUANTIDADE of the lines.';
COMMENT ON COLUMN gold.fact_demand.lines IS 'Number of ERP lines.';
COMMENT ON COLUMN gold.fact_demand.requests IS 'Distinct requisitions (SOLICITAÇÃO) among the lines.';
COMMENT ON COLUMN gold.fact_demand.suppliers IS 'Distinct suppliers (NOME FORNEC., normalised as gold.dim_supplier.supplier) among the lines.';
COMMENT ON COLUMN gold.fact_demand.lead_time_lines IS 'Lines with a lead time: both DATA SOLICITADO and DATA DE COMPRA, the purchase not before the request.';
COMMENT ON COLUMN gold.fact_demand.lead_time_days_avg IS 'Mean lead time in days (DATA DE COMPRA - DATA SOLICITADO) over lead_time_lines; NULL when there is none. Purchases dated before the request are left out (novawh check warns about them).';
COMMENT ON COLUMN gold.fact_demand.lead_time_days_max IS 'Longest lead time in days over lead_time_lines; NULL when there is none.';
COMMENT ON COLUMN gold.fact_demand.load_id IS 'meta.loads id of the ERP export the lines came from (the newest, when several exports contribute).';

CREATE TABLE gold.fact_demand_supplier (
    date                date             NOT NULL,
    item_id             text             NOT NULL,
    site_id             text             NOT NULL,
    unit                text             NOT NULL,
    supplier            text             NOT NULL,
    quantity            double precision NOT NULL,
    lines               integer          NOT NULL,
    requests            integer          NOT NULL,
    lead_time_lines     integer          NOT NULL,
    lead_time_days_avg  double precision,
    lead_time_days_max  integer,
    load_id             bigint           NOT NULL,
    PRIMARY KEY (item_id, site_id, date, unit, supplier)
);
CREATE INDEX fact_demand_supplier_date_idx ON gold.fact_demand_supplier (date);
CREATE INDEX fact_demand_supplier_supplier_idx ON gold.fact_demand_supplier (supplier, item_id);
COMMENT ON TABLE gold.fact_demand_supplier IS 'Bridge from gold.fact_demand site rows to gold.dim_supplier: the lines of each (date, item_id, site_id, unit) per supplier. Summed over suppliers it gives the fact''s quantity and lines (lines without a supplier excepted).';
COMMENT ON COLUMN gold.fact_demand_supplier.date IS 'Demand day (DATA SOLICITADO).';
COMMENT ON COLUMN gold.fact_demand_supplier.item_id IS 'Item (gold.dim_item.item_id).';
COMMENT ON COLUMN gold.fact_demand_supplier.site_id IS 'Site of the depot (as gold.fact_demand.site_id; never ''ALL'').';
COMMENT ON COLUMN gold.fact_demand_supplier.unit IS 'Unit of measure (as gold.fact_demand.unit).';
COMMENT ON COLUMN gold.fact_demand_supplier.supplier IS 'Supplier key (gold.dim_supplier.supplier).';
COMMENT ON COLUMN gold.fact_demand_supplier.quantity IS 'Sum of QUANTIDADE of the supplier''s lines.';
COMMENT ON COLUMN gold.fact_demand_supplier.lines IS 'Number of the supplier''s ERP lines.';
COMMENT ON COLUMN gold.fact_demand_supplier.requests IS 'Distinct requisitions (SOLICITAÇÃO) among them.';
COMMENT ON COLUMN gold.fact_demand_supplier.lead_time_lines IS 'Lines with a lead time (purchase not before the request).';
COMMENT ON COLUMN gold.fact_demand_supplier.lead_time_days_avg IS 'Mean lead time in days over lead_time_lines; NULL when there is none.';
COMMENT ON COLUMN gold.fact_demand_supplier.lead_time_days_max IS 'Longest lead time in days over lead_time_lines; NULL when there is none.';
COMMENT ON COLUMN gold.fact_demand_supplier.load_id IS 'meta.loads id of the ERP export the lines came from.';

CREATE TABLE gold.dim_supplier (
    supplier               text             PRIMARY KEY,
    supplier_name          text             NOT NULL,
    lines                  integer          NOT NULL,
    items                  integer          NOT NULL,
    quantity               double precision NOT NULL,
    first_purchase         date,
    last_purchase          date,
    lead_time_lines        integer          NOT NULL,
    lead_time_days_median  double precision,
    lead_time_days_p90     double precision,
    negative_lead_time_lines integer        NOT NULL
);
COMMENT ON TABLE gold.dim_supplier IS 'Suppliers (NOME FORNEC.) of the ERP export: one row per normalised name, with what they supplied and how fast. Counts every line of the export with an item, also the ones without a demand date.';
COMMENT ON COLUMN gold.dim_supplier.supplier IS 'Supplier key: the name trimmed, runs of spaces collapsed and lower-cased (the matching form).';
COMMENT ON COLUMN gold.dim_supplier.supplier_name IS 'The name as the ERP spells it (the most frequent spelling of the key, then the latest line''s).';
COMMENT ON COLUMN gold.dim_supplier.lines IS 'ERP lines of the supplier.';
COMMENT ON COLUMN gold.dim_supplier.items IS 'Distinct items (gold.dim_item.item_id) supplied.';
COMMENT ON COLUMN gold.dim_supplier.quantity IS 'Sum of QUANTIDADE over the lines (units of different items and U.M. added: a size, not a stock figure).';
COMMENT ON COLUMN gold.dim_supplier.first_purchase IS 'Earliest DATA DE COMPRA.';
COMMENT ON COLUMN gold.dim_supplier.last_purchase IS 'Latest DATA DE COMPRA.';
COMMENT ON COLUMN gold.dim_supplier.lead_time_lines IS 'Lines with a lead time: DATA SOLICITADO and DATA DE COMPRA both given, the purchase not before the request.';
COMMENT ON COLUMN gold.dim_supplier.lead_time_days_median IS 'Median lead time in days (DATA DE COMPRA - DATA SOLICITADO, continuous percentile) over lead_time_lines.';
COMMENT ON COLUMN gold.dim_supplier.lead_time_days_p90 IS '90th percentile of the lead time in days (continuous) over lead_time_lines.';
COMMENT ON COLUMN gold.dim_supplier.negative_lead_time_lines IS 'Lines whose DATA DE COMPRA is before DATA SOLICITADO (left out of the lead times).';

CREATE TABLE gold.agg_demand_rolling (
    date                          date             NOT NULL,
    item_id                       text             NOT NULL,
    site_id                       text             NOT NULL,
    unit                          text             NOT NULL,
    quantity                      double precision NOT NULL,
    quantity_total_7d             double precision NOT NULL,
    quantity_avg_7d               double precision NOT NULL,
    quantity_total_30d            double precision NOT NULL,
    quantity_avg_30d              double precision NOT NULL,
    quantity_total_30d_prev_year  double precision,
    PRIMARY KEY (item_id, site_id, date, unit)
);
CREATE INDEX agg_demand_rolling_date_idx ON gold.agg_demand_rolling (date);
COMMENT ON TABLE gold.agg_demand_rolling IS 'Rolling demand over calendar days per (date, item_id, site_id, unit), site rows and site_id ''ALL'': one row for every day, up to the last day of the ERP coverage, whose 30-day window or whose 30-day window one year earlier holds demand lines; a day without a row has no demand in either window.';
COMMENT ON COLUMN gold.agg_demand_rolling.date IS 'Last day of the windows.';
COMMENT ON COLUMN gold.agg_demand_rolling.item_id IS 'Item (gold.dim_item.item_id).';
COMMENT ON COLUMN gold.agg_demand_rolling.site_id IS 'Site (as gold.fact_demand.site_id); ''ALL'' = the item over every site.';
COMMENT ON COLUMN gold.agg_demand_rolling.unit IS 'Unit of measure (as gold.fact_demand.unit).';
COMMENT ON COLUMN gold.agg_demand_rolling.quantity IS 'The day''s demand (gold.fact_demand.quantity, 0 on a day without demand).';
COMMENT ON COLUMN gold.agg_demand_rolling.quantity_total_7d IS 'Demand over date - 6 .. date (days without demand count as 0).';
COMMENT ON COLUMN gold.agg_demand_rolling.quantity_avg_7d IS 'quantity_total_7d divided by the days of date - 6 .. date inside the ERP coverage (its first to last DATA SOLICITADO).';
COMMENT ON COLUMN gold.agg_demand_rolling.quantity_total_30d IS 'Demand over date - 29 .. date (days without demand count as 0).';
COMMENT ON COLUMN gold.agg_demand_rolling.quantity_avg_30d IS 'quantity_total_30d divided by the days of date - 29 .. date inside the ERP coverage.';
COMMENT ON COLUMN gold.agg_demand_rolling.quantity_total_30d_prev_year IS 'The 30-day total one year earlier (the window ending on date - 1 year); NULL when that window starts before the ERP coverage.';

GRANT SELECT ON gold.fact_demand, gold.fact_demand_supplier, gold.dim_supplier, gold.agg_demand_rolling TO novawh_reader;
