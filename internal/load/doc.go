// Package load streams CSV and Parquet files into bronze tables: each
// source (novawh.yaml `sources:`) maps file headers to the columns of a
// table in the schema registry, which supplies types, nullability and
// ranges. Rows are parsed and validated on one goroutine and sent as
// binary COPY data on another, in one transaction per input that also
// writes its meta.loads row and its rejected rows (meta.rejected_rows).
// See docs/load.md.
package load
