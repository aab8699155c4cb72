// Package store is the sqlc-generated query layer (pgx/v5) over the
// warehouse: the SQL lives in queries/*.sql, the schema is read from
// migrations/, and `make generate` (sqlc generate) rewrites every other file
// of this package. Never edit them by hand; `make verify` fails when they
// are stale.
//
// Gold reads for the dashboards and any Go backend (see docs/data/README_DATA.md):
//
//   - ListItems / CountItems / GetItem / ListUnknownItems: gold.dim_item
//   - GetTimeseries(item_id, start, end[, source]): item-level
//     (site_id = 'ALL') rows of gold.fact_forecast
//   - ForecastSummary(start, end[, item_ids][, source]): totals and MAPE,
//     the row generated last per item and day
//   - GetAggregate(item_ids, start, end[, source]): the precomputed 7- and
//     30-day figures of gold.agg_forecast_rolling (the caller keeps the
//     window it needs)
//   - GetInventory(item_id, as_of): each site's latest gold.fact_inventory
//     snapshot on or before as_of
//
// Ledger reads (queries/loads.sql): GetLoad, ListRecentLoads,
// FindLoadedFile, ListRejectedRows.
package store
