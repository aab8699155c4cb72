package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/internal/refresh"
)

func newRefreshCmd(app *App) *cobra.Command {
	var opts refresh.Options
	cmd := &cobra.Command{
		Use:   "refresh",
		Short: "Bring silver and gold up to date with the loads not yet applied",
		Long: `Apply to silver and gold every load of meta.loads (status loaded) that no
refresh has applied yet. Only the dates those loads touch are recomputed:
gold.fact_demand and gold.fact_demand_supplier for the ERP dates touched,
gold.fact_forecast and gold.fact_inventory for their touched windows (the
forecast's actual is the demand, so ERP dates count for it too), the rolling
tables for the window and the 29 days after it (reading 29 days back;
gold.agg_demand_rolling also the same days one year later), in one
transaction with delete + insert, so dashboards keep reading the previous
figures until it commits. A change in how items or sites resolve (new ML key
spelling, new depot of a site) recomputes every date.

--full rebuilds silver and every gold table from all of bronze: each large
table is built anew, indexed after its data and swapped in for the old one
in the same transaction (readers wait only for the swap itself).

Two refreshes never apply the same loads: the second waits for the first
(advisory lock), or with --no-wait exits at once with status busy.
Each run is recorded in meta.refreshes (mode, loads applied, windows, rows
written and rows of every gold table after the run, duration) and every
rewritten window in meta.gold_changes. On a terminal a spinner shows the
running step, the rows written and the elapsed time.`,
		Example: `  novawh refresh
  novawh refresh --full
  novawh refresh --no-wait --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pool, err := app.Pool(cmd.Context())
			if err != nil {
				return err
			}
			opts.Progress = app.Progress()
			res, err := refresh.New(pool, app.Logger()).Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			w := app.Stdout
			fmt.Fprintf(w, "refresh %d: %s, status %s, %d loads applied, %s\n", res.RefreshID, res.Mode, res.Status,
				len(res.LoadsApplied), res.Duration.Round(1e6))
			if res.Status != "ok" {
				return nil
			}
			fmt.Fprintf(w, "  demand window: %s; forecast window: %s; inventory window: %s; external rebuilt: %v\n",
				res.Demand.String(), res.Forecast.String(), res.Inventory.String(), res.External)
			if len(res.Rebuilt) > 0 {
				fmt.Fprintf(w, "  rebuilt and swapped in: %s\n", strings.Join(res.Rebuilt, ", "))
			}
			tables := make([]string, 0, len(res.Rows))
			for t := range res.Rows {
				tables = append(tables, t)
			}
			sort.Strings(tables)
			parts := make([]string, 0, len(tables))
			for _, t := range tables {
				parts = append(parts, fmt.Sprintf("%s=%d", t, res.Rows[t]))
			}
			fmt.Fprintf(w, "  rows: %s\n", strings.Join(parts, " "))
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.Full, "full", false, "rebuild silver keys and every gold table from all of bronze")
	cmd.Flags().BoolVar(&opts.NoWait, "no-wait", false, "exit at once (status busy) when another refresh is running instead of waiting")
	return pipeline(cmd)
}
