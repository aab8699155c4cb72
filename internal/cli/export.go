package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/export"
)

func init() { register(newExportCmd) }

func newExportCmd(app *App) *cobra.Command {
	var (
		asJSON  bool
		opts    export.Options
		buckets []string
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export the lake (gold; with --layers also bronze and silver) to Parquet in a folder or S3/MinIO",
		Long: `Write the tables of each layer (--layers, default gold) as Parquet:

  <to>/<layer>/_manifest.json            the layer manifest: names every table's manifest;
                                          written last, it is the file readers must trust
  <to>/<layer>/<table>/_manifest.json    the table's files with rows, bytes, sha256, checksums
  <to>/<layer>/<table>/_SUCCESS          the folder holds one complete version
  <to>/gold/<table>/date=YYYY-MM-DD/part-NNNNN.parquet      day partitions (date only in the folder)
  <to>/gold/<table>/month=YYYY-MM/part-NNNNN.parquet        month partitions
  <to>/gold/<table>/part-NNNNN.parquet                      unpartitioned (dimensions, small tables)
  <to>/silver/<table>/...                                   the same, by the business date
  <to>/bronze/<table>/year=YYYY/month=MM/day=DD/...         by the day the rows were loaded,
                                                            with _load_id and _line; plus
                                                            loads/ and rejected_rows/ (meta)

--partition-by auto (default) picks day, month or none per table so that a
file holds at least --min-rows-per-file rows (10000) or the whole table.
Files are snappy- (or zstd-) compressed, with row groups of about 128k rows,
column statistics and the registry's column names and types.

Each layer is published atomically: a local layer folder is rebuilt beside
the old one (unchanged files are hard links) and swapped in with one rename;
on S3 new objects get new names, the layer manifest is replaced in one PUT,
then objects no manifest names are deleted. A failed or killed export leaves
the previous export of every table intact.

Incremental by default: gold rewrites the partitions meta.gold_changes lists
since the last export to the same target, bronze the partitions with new
loads, silver the partitions whose content checksum changed; --full rewrites
everything.

S3 (--to s3://bucket/prefix; s3:// alone means one bucket per layer:
nova-bronze, nova-silver, nova-gold, or --bucket LAYER=NAME) reads
AWS_ENDPOINT_URL (MinIO: http://127.0.0.1:9000), AWS_REGION,
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; buckets are created when
missing. With bronze, the retention (--bronze-retention-days, 90) drops
older loads from the lake, sets a lifecycle rule on the bronze bucket and
prunes raw API bodies and rejected-row texts from PostgreSQL once a verified
export holds them. Defaults come from the export section of novawh.yaml;
flags win.

Exit status: 0 done, 1 failed (the previous export is intact), 2 usage.`,
		Example: `  novawh export
  novawh export --layers bronze,silver,gold
  novawh export --to /srv/parquet --tables fact_forecast,dim_item --full
  AWS_ENDPOINT_URL=http://127.0.0.1:9000 novawh export --to s3:// --layers bronze,silver,gold --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := config.Load(app.ConfigPath)
			if err != nil {
				return Usage(err)
			}
			var c export.Config
			if err := f.Decode("export", &c); err != nil {
				return Usage(err)
			}
			fromFile := c.Options()
			fl := cmd.Flags()
			if !fl.Changed("to") && fromFile.To != "" {
				opts.To = fromFile.To
			}
			if !fl.Changed("tables") {
				opts.Tables = fromFile.Tables
			}
			if !fl.Changed("layers") {
				opts.Layers = fromFile.Layers
			}
			if !fl.Changed("min-rows-per-file") && fromFile.MinRowsPerFile != 0 {
				opts.MinRowsPerFile = fromFile.MinRowsPerFile
			}
			if !fl.Changed("bronze-retention-days") && fromFile.BronzeRetentionDays != 0 {
				opts.BronzeRetentionDays = fromFile.BronzeRetentionDays
			}
			opts.Buckets = map[string]string{}
			for k, v := range fromFile.Buckets {
				opts.Buckets[k] = v
			}
			for _, b := range buckets {
				layer, name, ok := strings.Cut(b, "=")
				if !ok {
					return Usage(fmt.Errorf("--bucket %q: want LAYER=NAME", b))
				}
				opts.Buckets[strings.TrimSpace(layer)] = strings.TrimSpace(name)
			}
			if !fl.Changed("partition-by") && fromFile.PartitionBy != "" {
				opts.PartitionBy = fromFile.PartitionBy
			}
			if !fl.Changed("compression") && fromFile.Compression != "" {
				opts.Compression = fromFile.Compression
			}
			if !fl.Changed("row-group-rows") && fromFile.RowGroupRows != 0 {
				opts.RowGroupRows = fromFile.RowGroupRows
			}
			if !fl.Changed("max-rows-per-file") && fromFile.MaxRowsPerFile != 0 {
				opts.MaxRowsPerFile = fromFile.MaxRowsPerFile
			}
			if !fl.Changed("workers") && fromFile.Workers != 0 {
				opts.Workers = fromFile.Workers
			}
			reg, err := app.Registry()
			if err != nil {
				return err
			}
			if err := export.Validate(reg, opts); err != nil {
				return Usage(err)
			}
			pool, err := app.Pool(cmd.Context())
			if err != nil {
				return err
			}
			res, err := export.New(pool, reg, app.Logger()).Run(cmd.Context(), opts)
			if err != nil {
				if errors.Is(err, export.ErrBusy) {
					return &ExitError{Code: ExitFailed, Err: err}
				}
				return err
			}
			if asJSON {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			for _, t := range res.Tables {
				extra := ""
				if t.Reason != "" {
					extra = " (" + t.Reason + ")"
				}
				fmt.Fprintf(app.Stdout, "%-28s %-11s %-5s %4d files written, %4d kept, %4d removed, %9d rows written%s\n",
					t.Table, t.Mode, t.PartitionBy, t.FilesWritten, t.FilesKept, t.FilesRemoved, t.RowsWritten, extra)
			}
			for _, l := range res.Layers {
				state := "unchanged"
				if l.Published {
					state = "published"
				}
				fmt.Fprintf(app.Stdout, "%-6s %s: %s\n", l.Layer, state, l.Manifest)
			}
			if r := res.Retention; r != nil {
				fmt.Fprintf(app.Stdout, "bronze retention %d days (before %s): %d loads verified, %d pruned (%d raw responses deleted, %d rejected-row texts cleared), %d kept unverified",
					r.Days, r.Cutoff, r.LoadsVerified, r.LoadsPruned, r.RawResponsesDeleted, r.RejectedRowsCleared, r.LoadsKept)
				if r.Skipped != "" {
					fmt.Fprintf(app.Stdout, "; prune skipped: %s", r.Skipped)
				}
				fmt.Fprintln(app.Stdout)
			}
			fmt.Fprintf(app.Stdout, "exported to %s in %s: %d files, %d rows, %d bytes written\n",
				res.Target, res.Duration.Round(1e6), res.FilesWritten, res.RowsWritten, res.BytesWritten)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.To, "to", export.DefaultTo, "target: a folder, or s3://bucket/prefix (s3:// alone: one bucket per layer)")
	fl.StringSliceVar(&opts.Layers, "layers", nil, "layers to export, comma-separated: bronze, silver, gold (default gold)")
	fl.StringSliceVar(&opts.Tables, "tables", nil, "tables to export, comma-separated, e.g. fact_forecast or bronze.ml_forecasts (default: every table of the layers)")
	fl.BoolVar(&opts.Full, "full", false, "rewrite every partition, not only those changed since the last export")
	fl.StringVar(&opts.PartitionBy, "partition-by", export.DefaultPartitionBy, "auto (file-size rule), day, month or none")
	fl.Int64Var(&opts.MinRowsPerFile, "min-rows-per-file", export.DefaultMinRowsPerFile, "auto partitioning: the finest grain whose partitions average at least this many rows")
	fl.StringArrayVar(&buckets, "bucket", nil, "LAYER=NAME: the bucket of a layer for --to s3:// (repeatable; default nova-<layer>)")
	fl.IntVar(&opts.BronzeRetentionDays, "bronze-retention-days", export.DefaultBronzeRetentionDays, "days bronze loads stay in the lake and raw data in PostgreSQL (negative: keep everything)")
	fl.StringVar(&opts.Compression, "compression", export.DefaultCompression, "Parquet compression: snappy or zstd")
	fl.IntVar(&opts.RowGroupRows, "row-group-rows", export.DefaultRowGroupRows, "rows per Parquet row group")
	fl.Int64Var(&opts.MaxRowsPerFile, "max-rows-per-file", export.DefaultMaxRowsPerFile, "start a new part file in a partition after this many rows")
	fl.IntVar(&opts.Workers, "workers", export.DefaultWorkers, "partitions read and written at once (one database connection each)")
	fl.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
