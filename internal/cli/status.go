package cli

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/internal/status"
)

func newStatusCmd(app *App) *cobra.Command {
	var (
		asJSON       bool
		exact        bool
		runs         int
		countTimeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the last runs, source freshness, rows per layer and the last export",
		Long: `Show the state of the warehouse in one screen:

  LAST RUNS       the last --runs rows of meta.runs: status, exit code,
                  duration, each step's status and the error of failed runs
  SOURCES         per source (meta.loads, meta.watermarks): inputs loaded,
                  rows loaded and rejected, when it was last loaded and how
                  long ago, the latest business date, the pull watermark and
                  the status of its last input
  ROWS PER LAYER  rows of every table of bronze, silver, gold and meta:
                  count(*) for tables up to 32 MiB, the table statistics'
                  estimate (shown ~N) for larger ones, so status answers in
                  well under a second on a large warehouse; views are not
                  counted. --exact counts every table and view with
                  count(*), each bounded by --count-timeout
  LAST EXPORT     the last Parquet export (meta.export_runs)

--json prints the same data as a JSON document.`,
		Example: `  novawh status
  novawh status --json | jq '.runs[0].status'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runs < 1 {
				return Usage(errors.New("--runs must be at least 1"))
			}
			pool, err := app.Pool(cmd.Context())
			if err != nil {
				return err
			}
			st, err := status.Collect(cmd.Context(), pool, status.Options{Runs: runs, Exact: exact, CountTimeout: countTimeout, Log: app.Logger()})
			if err != nil {
				return err
			}
			if asJSON {
				return status.WriteJSON(app.Stdout, st)
			}
			return status.WriteText(app.Stdout, st)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	cmd.Flags().IntVar(&runs, "runs", 10, "how many of the last runs to show")
	cmd.Flags().BoolVar(&exact, "exact", false, "count every table and view with count(*) instead of estimating large tables and skipping views")
	cmd.Flags().DurationVar(&countTimeout, "count-timeout", 5*time.Second, "with --exact: give up counting one table or view after this long (the estimate is shown)")
	return cmd
}
