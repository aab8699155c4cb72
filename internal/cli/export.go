package cli

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/export"
)

func newExportCmd(app *App) *cobra.Command {
	var (
		asJSON bool
		full   bool
		c      = export.DefaultConfig() // flags, then the export section
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export the gold tables to Parquet in a folder or an S3/MinIO bucket",
		Long: `Write every gold table of the schema registry (or --tables) as Parquet:

  <to>/gold/<table>/date=YYYY-MM-DD/part-NNNNN.parquet   facts and aggregates (--partition-by day)
  <to>/gold/<table>/month=YYYY-MM/part-NNNNN.parquet     with --partition-by month
  <to>/gold/<table>/part-NNNNN.parquet                    dimensions (dim_*)
  <to>/gold/<table>/_manifest.json                        every file with rows, bytes, sha256 and
                                                          min/max date; schema; export time; the
                                                          last change_id and load_id included

Files are snappy- (or zstd-) compressed, with row groups of about 128k rows,
column statistics and the registry's column names and types. Each table is
published atomically: a local table folder is swapped in with one rename; on
S3 the new parts are uploaded first, then the manifest, then stale parts are
deleted. A failed or killed export leaves the previous export intact.

Incremental by default: only the partitions whose dates meta.gold_changes
lists since the table's last export to the same target are rewritten, and
partitions whose rows disappeared are removed; --full rewrites everything.

S3 (--to s3://bucket/prefix, or s3:// for bucket nova-gold) reads
AWS_ENDPOINT_URL (MinIO: http://127.0.0.1:9000), AWS_REGION,
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; the bucket is created when
missing. Defaults come from the export section of novawh.yaml; flags win.

Exit status: 0 done, 1 failed (the previous export is intact), 2 usage.`,
		Example: `  novawh export
  novawh export --to /srv/parquet --tables fact_forecast,dim_item --full
  AWS_ENDPOINT_URL=http://127.0.0.1:9000 novawh export --to s3://nova-gold/warehouse --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := app.Resolver(cmd)
			if err != nil {
				return err
			}
			if err := r.Resolve("export", &c,
				config.Bind(&c.To, "to", ""),
				config.Bind(&c.Tables, "tables", ""),
				config.Bind(&c.PartitionBy, "partition-by", ""),
				config.Bind(&c.Compression, "compression", ""),
				config.Bind(&c.RowGroupRows, "row-group-rows", ""),
				config.Bind(&c.MaxRowsPerFile, "max-rows-per-file", ""),
				config.Bind(&c.Workers, "workers", "")); err != nil {
				return Usage(err)
			}
			opts := c.Options()
			opts.Full = full
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
				fmt.Fprintf(app.Stdout, "%-28s %-11s %4d files written, %4d kept, %4d removed, %9d rows written%s\n",
					t.Table, t.Mode, t.FilesWritten, t.FilesKept, t.FilesRemoved, t.RowsWritten, extra)
			}
			fmt.Fprintf(app.Stdout, "exported to %s in %s: %d files, %d rows, %d bytes written\n",
				res.Target, res.Duration.Round(1e6), res.FilesWritten, res.RowsWritten, res.BytesWritten)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&c.To, "to", c.To, "target: a folder, or s3://bucket/prefix (s3:// alone: bucket nova-gold)")
	fl.StringSliceVar(&c.Tables, "tables", nil, "gold tables to export, comma-separated (default: every gold table of the registry)")
	fl.BoolVar(&full, "full", false, "rewrite every partition, not only those changed since the last export")
	fl.StringVar(&c.PartitionBy, "partition-by", c.PartitionBy, "partition facts and aggregates by day or month")
	fl.StringVar(&c.Compression, "compression", c.Compression, "Parquet compression: snappy or zstd")
	fl.IntVar(&c.RowGroupRows, "row-group-rows", c.RowGroupRows, "rows per Parquet row group")
	fl.Int64Var(&c.MaxRowsPerFile, "max-rows-per-file", c.MaxRowsPerFile, "start a new part file in a partition after this many rows")
	fl.IntVar(&c.Workers, "workers", c.Workers, "partitions read and written at once (one database connection each)")
	fl.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return pipeline(cmd)
}
