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

func newExportCmd(app *App) *cobra.Command {
	var (
		asJSON  bool
		full    bool
		buckets []string
		c       = export.DefaultConfig() // flags, then the export section
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
			batchGC()
			r, err := app.Resolver(cmd)
			if err != nil {
				return err
			}
			if err := r.Resolve("export", &c,
				config.Bind(&c.To, "to", ""),
				config.Bind(&c.Layers, "layers", ""),
				config.Bind(&c.Tables, "tables", ""),
				config.Bind(&c.PartitionBy, "partition-by", ""),
				config.Bind(&c.MinRowsPerFile, "min-rows-per-file", ""),
				config.Bind(&c.BronzeRetentionDays, "bronze-retention-days", ""),
				config.Bind(&c.Compression, "compression", ""),
				config.Bind(&c.RowGroupRows, "row-group-rows", ""),
				config.Bind(&c.MaxRowsPerFile, "max-rows-per-file", ""),
				config.Bind(&c.Workers, "workers", "")); err != nil {
				return Usage(err)
			}
			for _, b := range buckets {
				layer, name, ok := strings.Cut(b, "=")
				if !ok {
					return Usage(fmt.Errorf("--bucket %q: want LAYER=NAME", b))
				}
				if c.Buckets == nil {
					c.Buckets = map[string]string{}
				}
				c.Buckets[strings.TrimSpace(layer)] = strings.TrimSpace(name)
			}
			opts := c.Options()
			opts.Full = full
			opts.Progress = app.Progress()
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
	fl.StringVar(&c.To, "to", c.To, "target: a folder, or s3://bucket/prefix (s3:// alone: one bucket per layer)")
	fl.StringSliceVar(&c.Layers, "layers", nil, "layers to export, comma-separated: bronze, silver, gold (default gold)")
	fl.StringSliceVar(&c.Tables, "tables", nil, "tables to export, comma-separated, e.g. fact_forecast or bronze.ml_forecasts (default: every table of the layers)")
	fl.BoolVar(&full, "full", false, "rewrite every partition, not only those changed since the last export")
	fl.StringVar(&c.PartitionBy, "partition-by", c.PartitionBy, "auto (file-size rule), day, month or none")
	fl.Int64Var(&c.MinRowsPerFile, "min-rows-per-file", c.MinRowsPerFile, "auto partitioning: the finest grain whose partitions average at least this many rows")
	fl.StringArrayVar(&buckets, "bucket", nil, "LAYER=NAME: the bucket of a layer for --to s3:// (repeatable; default nova-<layer>)")
	fl.IntVar(&c.BronzeRetentionDays, "bronze-retention-days", c.BronzeRetentionDays, "days bronze loads stay in the lake and raw data in PostgreSQL (negative: keep everything)")
	fl.StringVar(&c.Compression, "compression", c.Compression, "Parquet compression: snappy or zstd")
	fl.IntVar(&c.RowGroupRows, "row-group-rows", c.RowGroupRows, "rows per Parquet row group")
	fl.Int64Var(&c.MaxRowsPerFile, "max-rows-per-file", c.MaxRowsPerFile, "start a new part file in a partition after this many rows")
	fl.IntVar(&c.Workers, "workers", c.Workers, "partitions read and written at once (one database connection each)")
	fl.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return pipeline(cmd)
}
