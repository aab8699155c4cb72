-- The demand anchor of issue 17: bare CREATE TABLE AS statements of the rows
-- of gold.fact_demand (per depot and item level, per unit), the supplier
-- bridge and gold.agg_demand_rolling (7- and 30-day totals over zero-filled
-- calendar days and the 30 days one year earlier, keeping the days whose
-- windows hold demand), each with its primary-key index.
CREATE TABLE public.bench_anchor_demand AS
SELECT solicited_date AS date, familia || '_' || material AS item_id,
       CASE WHEN grouping(deposito) = 1 THEN 'ALL' ELSE coalesce(deposito, '') END AS site_id, coalesce(unit, '') AS unit,
       sum(quantity) AS quantity, count(*) AS lines, count(DISTINCT request_id) AS requests,
       count(DISTINCT supplier_name) AS suppliers,
       avg(purchase_date - solicited_date) FILTER (WHERE purchase_date >= solicited_date) AS lead_time_days_avg,
       max(purchase_date - solicited_date) FILTER (WHERE purchase_date >= solicited_date) AS lead_time_days_max
FROM bronze.erp_requisitions
WHERE solicited_date IS NOT NULL AND quantity IS NOT NULL
GROUP BY GROUPING SETS ((solicited_date, familia, material, deposito, unit), (solicited_date, familia, material, unit));
CREATE UNIQUE INDEX ON public.bench_anchor_demand (item_id, site_id, date, unit);
CREATE TABLE public.bench_anchor_demand_supplier AS
SELECT solicited_date AS date, familia || '_' || material AS item_id, coalesce(deposito, '') AS site_id,
       coalesce(unit, '') AS unit, supplier_name AS supplier,
       sum(quantity) AS quantity, count(*) AS lines, count(DISTINCT request_id) AS requests,
       avg(purchase_date - solicited_date) FILTER (WHERE purchase_date >= solicited_date) AS lead_time_days_avg,
       max(purchase_date - solicited_date) FILTER (WHERE purchase_date >= solicited_date) AS lead_time_days_max
FROM bronze.erp_requisitions
WHERE solicited_date IS NOT NULL AND quantity IS NOT NULL AND supplier_name IS NOT NULL
GROUP BY solicited_date, familia, material, deposito, unit, supplier_name;
CREATE UNIQUE INDEX ON public.bench_anchor_demand_supplier (item_id, site_id, date, unit, supplier);
CREATE TABLE public.bench_anchor_demand_rolling AS
SELECT date, item_id, site_id, unit, quantity, t7 AS quantity_total_7d, t7 / 7 AS quantity_avg_7d,
       t30 AS quantity_total_30d, t30 / 30 AS quantity_avg_30d, ty AS quantity_total_30d_prev_year
FROM (SELECT date, item_id, site_id, unit, grid, coalesce(sum(quantity) OVER wd, 0) AS quantity,
             coalesce(sum(quantity) OVER w7, 0) AS t7, coalesce(sum(quantity) OVER w30, 0) AS t30,
             count(quantity) OVER w30 AS n30, sum(quantity) OVER wy AS ty, count(quantity) OVER wy AS ny
      FROM (SELECT item_id, site_id, unit, date, quantity, false AS grid FROM public.bench_anchor_demand
            UNION ALL
            SELECT s.item_id, s.site_id, s.unit, d::date, NULL, true
            FROM (SELECT item_id, site_id, unit, min(date) AS first FROM public.bench_anchor_demand GROUP BY 1, 2, 3) s
            CROSS JOIN LATERAL generate_series(s.first, (SELECT max(date) FROM public.bench_anchor_demand), interval '1 day') d) g
      WINDOW wd AS (PARTITION BY item_id, site_id, unit ORDER BY date RANGE BETWEEN CURRENT ROW AND CURRENT ROW),
             w7 AS (PARTITION BY item_id, site_id, unit ORDER BY date RANGE BETWEEN '6 days' PRECEDING AND CURRENT ROW),
             w30 AS (PARTITION BY item_id, site_id, unit ORDER BY date RANGE BETWEEN '29 days' PRECEDING AND CURRENT ROW),
             wy AS (PARTITION BY item_id, site_id, unit ORDER BY date
                    RANGE BETWEEN '1 year 29 days' PRECEDING AND '1 year' PRECEDING)) r
WHERE grid AND (n30 > 0 OR ny > 0);
CREATE UNIQUE INDEX ON public.bench_anchor_demand_rolling (item_id, site_id, date, unit);
