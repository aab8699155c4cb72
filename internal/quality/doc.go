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
// (undated ERP demand, items unknown to the item master).
package quality
