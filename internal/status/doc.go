// Package status gathers what `novawh status` shows: the last runs of the
// nightly job (meta.runs), per-source freshness (meta.loads and
// meta.watermarks), row counts per layer (every table, materialized view
// and view of bronze, silver, gold and meta) and the last Parquet export
// (meta.export_runs), rendered for a terminal (text/tabwriter) or as JSON.
package status
