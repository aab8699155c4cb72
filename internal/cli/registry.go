package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/internal/registry"
)

func newRegistryCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Inspect and check the schema registry (data/schema_registry.json)",
	}
	var offline bool
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the registry JSON and compare it with the live database catalog",
		Long: `Validate the schema registry (types, keys, ranges, ML metadata flags), then
compare it with the catalog of the migrated database: every missing table or
column, extra table or column, wrong type or nullability is reported and makes
the command fail. --offline only validates the JSON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := app.Registry()
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "registry valid: %d tables\n", len(r.Tables()))
			if offline {
				return nil
			}
			pool, err := app.Pool(cmd.Context())
			if err != nil {
				return err
			}
			drifts, err := registry.Check(cmd.Context(), pool, r)
			if err != nil {
				return err
			}
			for _, d := range drifts {
				fmt.Fprintln(app.Stdout, "drift:", d)
			}
			if len(drifts) > 0 {
				return fmt.Errorf("registry check: %d differences between data/schema_registry.json and the database, first: %s", len(drifts), drifts[0])
			}
			fmt.Fprintln(app.Stdout, "database matches the registry")
			return nil
		},
	}
	check.Flags().BoolVar(&offline, "offline", false, "only validate the JSON, do not connect")
	cmd.AddCommand(check)
	return cmd
}
