// Package store is the warehouse's query layer for Go code: the
// sqlc-generated reads (pgx/v5) over gold, and the read rules the
// dashboards' HTTP API (package api) applies to them, so that a backend
// calling store gets the same answers as the API.
//
// The SQL lives in queries/*.sql, the schema is read from migrations/, and
// `make generate` (sqlc generate) rewrites the generated files of this
// package (db.go, models.go, *.sql.go: never edit them by hand; `make
// verify` fails when they are stale). doc.go and rules.go are written by
// hand.
//
//	q := store.New(pool) // *pgxpool.Pool, *pgx.Conn or pgx.Tx
//	rows, err := q.GetTimeseries(ctx, store.GetTimeseriesParams{ItemID: id, StartDate: start, EndDate: end})
//
// Gold reads:
//
//   - ListItems / CountItems / GetItem / ListUnknownItems: gold.dim_item
//   - GetTimeseries(item_id, start, end[, source]): item-level
//     (site_id = 'ALL') rows of gold.fact_forecast; NewestGenerated picks
//     the row whose model_version, dataset_id and generated_at describe
//     the series
//   - ForecastSummary(start, end[, item_ids][, source]): totals and MAPE,
//     the row generated last per item and day
//   - GetAggregate(item_ids, start, end[, source]): the precomputed 7- and
//     30-day figures of gold.agg_forecast_rolling; GetAggregateRow.Window
//     keeps one window
//   - GetInventory(item_id, as_of): each site's latest gold.fact_inventory
//     snapshot on or before as_of; ItemInventory / InventoryOf apply the
//     rule (the item-level snapshot, else the sum of the sites' latest)
//
// Ledger reads (queries/loads.sql): GetLoad, ListRecentLoads,
// FindLoadedFile, ListRejectedRows (they need a role that reads meta; the
// read-only role novawh_reader reads gold only).
package store
