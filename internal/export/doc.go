// Package export writes the gold layer to Parquet files in a local folder or
// an S3 bucket (AWS S3 or MinIO), partitioned by date, with a manifest per
// table, atomically and incrementally.
//
// Column names and types come from the schema registry
// (data/schema_registry.json); rows are streamed from PostgreSQL in binary
// format inside one repeatable-read snapshot, so memory stays flat whatever
// the table size. A local export builds the new version of a table in a
// temporary folder (unchanged partitions are hard links to the published
// files), writes the manifest last and swaps the folder in with one atomic
// rename; an S3 export uploads new part objects under fresh names, then the
// manifest, then deletes the objects the manifest no longer lists.
// meta.export_tables records, per target and table, the last
// meta.gold_changes change_id an export includes: the next run rewrites only
// the partitions whose dates changed since.
package export
