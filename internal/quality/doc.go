// Package quality runs the warehouse's data-quality checks and records
// every result in meta.check_runs / meta.check_results.
//
//	rep, err := quality.New(pool, log, quality.Config{FreshnessMaxAge: 48 * time.Hour}).Run(ctx)
//	rep.WriteTable(os.Stdout)
//	if !rep.Passed() { ... } // an error-level check failed
//
// Checks (table by table): not-null keys, numeric column types and finite
// values, forecast >= 0 and actual >= 0, unique (item_id, site_id, date,
// source), row counts reconciled with meta.loads (bronze rows per load,
// rejected rows, silver -> gold), ML metadata on every fact row, key nulls
// below 1% of each source's rows (silver.dropped_rows), orphan keys against
// the dimensions, freshness of every source (latest business date within a
// configurable age), loads not yet refreshed, and informational counts
// (undated ERP demand, items unknown to the item master). Demand (issue
// 12): per item, gold demand equals the QUANTIDADE of its dated ERP lines in
// bronze; every ERP line is in gold demand or counted in
// silver.dropped_rows; no negative quantity or lead time; purchases dated
// before their request are a warning with their count.
//
// Runs are serialised by the check advisory lock; a run still 'running'
// when the next one takes it belongs to a dead process and is marked
// abandoned.
package quality
