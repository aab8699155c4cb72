package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/internal/quality"
)

func newCheckCmd(app *App) *cobra.Command {
	var cfg quality.Config
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Run the data-quality checks, record them in meta and print a table",
		Long: `Run the warehouse's data-quality checks and record every result in
meta.check_runs / meta.check_results (check, table, observed, threshold,
pass/fail, level). Check runs are serialised (advisory lock); a run killed
half-way is marked abandoned by the next one:

  not_null_keys, numeric_types, finite_values      gold facts
  forecast_non_negative, actual_non_negative       gold.fact_forecast
  unique_grain (item_id, site_id, date, source)    gold.fact_forecast
  ml_metadata_present                              model_version, generated_at, source, dataset_id
  rows_loaded_match_bronze, rows_rejected_match_ledger, gold_matches_silver
                                                   row counts reconcile with meta.loads
  key_null_ratio                                   rows silver drops for a missing key < 1%
  orphan_items, orphan_sites, dates_in_dim_time    facts against the dimensions
  demand_matches_bronze                            per item, gold demand = QUANTIDADE of its dated ERP lines
  demand_lines_accounted                           ERP lines = lines in gold demand + silver.dropped_rows
  demand_non_negative, lead_time_non_negative      gold.fact_demand, fact_demand_supplier, dim_supplier
  orphan_suppliers                                 gold.fact_demand_supplier against gold.dim_supplier
  purchase_before_request (warn)                   ERP lines bought before they were requested, counted
  freshness                                        latest business date per source <= --max-age
  loads_not_refreshed, bronze_rows_of_unloaded_loads (warn)
  demand_without_date, items_unknown_to_master     (info: reported, never failing)

Exit status: 0 when every error-level check passes, 3 when one fails.`,
		Example: `  novawh check
  novawh check --max-age 72h --freshness-level error`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return Usage(err)
			}
			pool, err := app.Pool(cmd.Context())
			if err != nil {
				return err
			}
			rep, err := quality.New(pool, app.Logger(), cfg).Run(cmd.Context())
			if err != nil {
				return err
			}
			if err := rep.WriteTable(app.Stdout); err != nil {
				return err
			}
			if !rep.Passed() {
				return &ExitError{Code: ExitQuality, Err: fmt.Errorf("check run %d: %d error-level checks failed", rep.RunID, rep.Errors)}
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&cfg.FreshnessMaxAge, "max-age", 48*time.Hour, "freshness: largest age of a source's latest business date")
	cmd.Flags().StringVar(&cfg.FreshnessLevel, "freshness-level", quality.LevelWarn, "level of freshness failures: error, warn or info")
	cmd.Flags().Float64Var(&cfg.MaxKeyNullRatio, "max-key-null-ratio", 0.01, "largest share of a source's rows without a key")
	return pipeline(cmd)
}
