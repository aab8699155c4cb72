-- Inventory reads (gold.fact_inventory).

-- name: GetInventory :many
-- The latest inventory snapshot on or before as_of of every site holding
-- the item (one row per site; an item-level row has site_id = 'ALL').
SELECT DISTINCT ON (site_id)
       site_id, date, current_stock, safety_stock, reorder_point, days_to_rupture, stock_status
FROM gold.fact_inventory
WHERE item_id = sqlc.arg(item_id)
  AND date <= sqlc.arg(as_of)::date
ORDER BY site_id, date DESC;
