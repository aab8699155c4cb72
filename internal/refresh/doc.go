// Package refresh brings silver and gold up to date with bronze.
//
// The transformation logic is SQL created by migrations 000030-000033
// (silver views, gold.refresh_* functions); this package orchestrates it:
//
//	r := refresh.New(pool, log)
//	res, err := r.Run(ctx, refresh.Options{Full: false})
//
// A run takes a session advisory lock (two refreshes never apply the same
// loads; the second waits, or returns Status "busy" with NoWait), finds the
// loaded loads not yet applied (meta.refresh_loads), derives the date
// windows they touch, and rewrites in ONE repeatable-read transaction only
// those windows of gold (delete + insert; the rolling aggregates also the 29
// following days, reading 29 days back). The item resolution (silver.item_map,
// silver.series_map, silver.demand_daily, gold.dim_item) is recomputed only
// when a pending load brings ERP lines, item master rows or new ML keys.
// Dimension or key-resolution changes widen the window to every date. Each rewrite appends its window
// to meta.gold_changes in the same transaction, and the run is recorded in
// meta.refreshes. Readers are never blocked: no TRUNCATE, no ACCESS
// EXCLUSIVE lock, no materialized views.
package refresh
