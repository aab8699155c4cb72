-- Demand and procurement reads (gold.fact_demand, gold.dim_supplier),
-- issue 12. Item-level rows have site_id = 'ALL'; a demand row's unit
-- (U.M.) is part of its key.

-- name: ListItemDemand :many
-- The item's daily demand rows at one site between two dates, every unit
-- (one range scan of gold.fact_demand's primary key). store.DemandSeriesOf
-- turns them into the zero-filled series with its 7- and 30-day totals.
SELECT date, unit, quantity, lines
FROM gold.fact_demand
WHERE item_id = sqlc.arg(item_id) AND site_id = sqlc.arg(site_id)
  AND date BETWEEN sqlc.arg(from_date)::date AND sqlc.arg(to_date)::date
ORDER BY date, unit;

-- name: TopDemand :many
-- Materials ranked by item-level demand in start..end (every unit summed),
-- optionally of one category: their share of the period's total (0..1),
-- the 30 days ending at end and the 30 days before those, and the last
-- day with demand on or before end.
WITH period AS (
    SELECT f.item_id, sum(f.quantity) AS quantity
    FROM gold.fact_demand f
    JOIN gold.dim_item i ON i.item_id = f.item_id
    WHERE f.site_id = 'ALL' AND f.date BETWEEN sqlc.arg(start_date)::date AND sqlc.arg(end_date)::date
      AND (sqlc.narg(category)::text IS NULL OR i.category = sqlc.narg(category)::text)
    GROUP BY f.item_id
), total AS (
    SELECT sum(p.quantity) AS total FROM period p
), top AS (
    SELECT p.item_id, p.quantity FROM period p
    ORDER BY p.quantity DESC, p.item_id
    LIMIT sqlc.arg(top_limit)::int
)
SELECT t.item_id, i.name, i.category, t.quantity::double precision AS quantity,
       coalesce(t.quantity / nullif((SELECT total.total FROM total), 0), 0)::double precision AS share,
       (SELECT coalesce(sum(x.quantity), 0) FROM gold.fact_demand x
        WHERE x.item_id = t.item_id AND x.site_id = 'ALL'
          AND x.date BETWEEN sqlc.arg(end_date)::date - 59 AND sqlc.arg(end_date)::date - 30)::double precision AS previous_30d,
       (SELECT coalesce(sum(x.quantity), 0) FROM gold.fact_demand x
        WHERE x.item_id = t.item_id AND x.site_id = 'ALL'
          AND x.date BETWEEN sqlc.arg(end_date)::date - 29 AND sqlc.arg(end_date)::date)::double precision AS last_30d,
       (SELECT max(x.date) FROM gold.fact_demand x
        WHERE x.item_id = t.item_id AND x.site_id = 'ALL' AND x.date <= sqlc.arg(end_date)::date)::date AS last_demand_date
FROM top t
JOIN gold.dim_item i ON i.item_id = t.item_id
ORDER BY t.quantity DESC, t.item_id;

-- name: ListSuppliers :many
-- Suppliers (gold.dim_supplier, all their items) whose name contains the
-- pattern (ILIKE; NULL: all) and, when item_id is given, that served that
-- item; most ERP lines first.
SELECT s.supplier_name AS supplier, s.lines, s.items, s.quantity,
       s.lead_time_days_median, s.lead_time_days_p90, s.first_purchase, s.last_purchase
FROM gold.dim_supplier s
WHERE (sqlc.narg(pattern)::text IS NULL OR s.supplier_name ILIKE sqlc.narg(pattern)::text OR s.supplier ILIKE sqlc.narg(pattern)::text)
  AND (sqlc.narg(item_id)::text IS NULL OR EXISTS (
        SELECT 1 FROM gold.fact_demand_supplier b
        WHERE b.supplier = s.supplier AND b.item_id = sqlc.narg(item_id)::text))
ORDER BY s.lines DESC, s.supplier
LIMIT sqlc.arg(max_rows)::int;
