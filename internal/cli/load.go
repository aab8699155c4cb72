package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/internal/load"
)

func newLoadCmd(app *App) *cobra.Command {
	var (
		source, generatedAt, asOf string
		asJSON, force             bool
		opts                      load.Options
	)
	cmd := &cobra.Command{
		Use:   "load --source NAME [flags] FILE|DIR|GLOB...",
		Short: "Load CSV/Parquet files into bronze, validated against the schema registry",
		Long: `Stream files of one source into its bronze table with COPY, validating every
row against data/schema_registry.json (types, NOT NULL, ranges such as
forecast >= 0). Sources (erp_requisitions, erp_items, inventory, ml_forecasts,
anatel_5g, ...) are defined in the sources: section of novawh.yaml: target
table, accepted header names per column, dialect (delimiter, decimal comma,
date layouts, encoding).

Each file is one transaction and one meta.loads row: rows_read = rows_loaded +
rows_rejected. Rejected rows go to meta.rejected_rows with their line, raw
text and a reason naming the column. A file-level problem (missing column,
bad encoding, not a CSV/Parquet, empty) or more rejects than
--max-reject-ratio fails that file and writes no row; the other files still
load. A file whose sha256 was already loaded is skipped unless --force.

ML results (ml_forecasts, inventory) need model_version, generated_at, source
and dataset_id on every row: from the file's columns, else from the flags
below, else from a sidecar <file>.meta.json. A file without them fails whole.

Exit status: 0 when every file loaded or was skipped, 1 when any failed,
2 on usage or configuration errors.`,
		Example: `  novawh load --source erp_requisitions custo_de_material_e_servicos.csv
  novawh load --source ml_forecasts --model-version arima-xgb-1.0 \
      --generated-at 2025-11-11T00:00:00Z --ml-source ensemble --dataset-id nova-2025-11 \
      'data/outputs/nova_corrente/forecasts/*.csv'
  novawh load --source inventory --json --as-of 2025-11-11 storytelling_prescriptions.csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if source == "" {
				return Usage(errors.New("--source is required"))
			}
			if len(args) == 0 {
				return Usage(errors.New("give at least one FILE, DIR or GLOB"))
			}
			if generatedAt != "" {
				t, err := parseTimeFlag(generatedAt)
				if err != nil {
					return Usage(fmt.Errorf("--generated-at %q: want RFC 3339 (2025-11-11T06:00:00Z) or a date", generatedAt))
				}
				opts.Meta.GeneratedAt = &t
			}
			if asOf != "" {
				t, err := time.Parse(time.DateOnly, asOf)
				if err != nil {
					return Usage(fmt.Errorf("--as-of %q: want a date (2025-11-11)", asOf))
				}
				opts.AsOf = &t
			}
			if opts.MaxRejectRatio < 0 || opts.MaxRejectRatio > 1 {
				return Usage(fmt.Errorf("--max-reject-ratio %v must be between 0 and 1", opts.MaxRejectRatio))
			}
			if opts.MaxRejectRatio == 0 && cmd.Flags().Changed("max-reject-ratio") {
				// 0 means "default" in Options: ask for no rejects at all.
				opts.MaxRejectRatio = 1e-12
			}
			opts.Force = force
			f, err := app.Config()
			if err != nil {
				return err
			}
			cfg, err := load.LoadConfig(f)
			if err != nil {
				return Usage(err)
			}
			if _, ok := cfg.Sources[source]; !ok {
				return Usage(fmt.Errorf("unknown source %q (configured in %s: %s)", source, f.Path, strings.Join(cfg.Names(), ", ")))
			}
			reg, err := app.Registry()
			if err != nil {
				return err
			}
			if err := cfg.Check(reg); err != nil {
				return Usage(fmt.Errorf("%s: %w", f.Path, err))
			}
			pool, err := app.Pool(cmd.Context())
			if err != nil {
				return err
			}
			if !asJSON {
				opts.Progress = app.Progress()
			}
			l := load.New(pool, reg, cfg, app.Logger())
			results, err := l.LoadPaths(cmd.Context(), source, args, opts)
			if err != nil {
				return err
			}
			failed := 0
			for _, r := range results {
				if r.Status == "failed" {
					failed++
				}
			}
			if asJSON {
				if results == nil {
					results = []load.Result{}
				}
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(struct {
					Loads []load.Result `json:"loads"`
				}{results}); err != nil {
					return err
				}
			} else {
				for _, r := range results {
					fmt.Fprintf(app.Stdout, "%-7s %s  load_id=%d read=%d loaded=%d rejected=%d\n",
						r.Status, r.File, r.LoadID, r.RowsRead, r.RowsLoaded, r.RowsRejected)
				}
			}
			if failed > 0 {
				first := ""
				for _, r := range results {
					if r.Status == "failed" {
						first = r.Error
						break
					}
				}
				return fmt.Errorf("%d of %d files failed; first: %s", failed, len(results), first)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&source, "source", "", "source name from the sources: section of novawh.yaml (required)")
	fl.BoolVar(&force, "force", false, "load files even when the same content (sha256) was already loaded; silver keeps the latest load")
	fl.BoolVar(&asJSON, "json", false, `print {"loads":[{"file","source","load_id","status","rows_read","rows_loaded","rows_rejected"}]} on stdout`)
	fl.Float64Var(&opts.MaxRejectRatio, "max-reject-ratio", load.DefaultMaxRejectRatio, "fail a file whose rejected rows exceed this share of its rows (0..1)")
	fl.StringVar(&opts.Meta.ModelVersion, "model-version", "", "ML metadata: model_version for files without that column")
	fl.StringVar(&generatedAt, "generated-at", "", "ML metadata: generated_at (RFC 3339) for files without that column")
	fl.StringVar(&opts.Meta.Source, "ml-source", "", "ML metadata: source (e.g. prophet, ensemble) for files without that column")
	fl.StringVar(&opts.Meta.DatasetID, "dataset-id", "", "ML metadata: dataset_id for files without that column")
	fl.IntVar(&opts.Streams, "streams", 0, "parallel COPY streams (0: 2 for CSV files of 32 MiB and more, else 1; at most 8)")
	fl.StringVar(&asOf, "as-of", "", "date (2006-01-02) for sources whose date column falls back to as_of (inventory snapshots)")
	return pipeline(cmd)
}

func parseTimeFlag(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}
