package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/internal/dbconn"
	"github.com/novacorrente/novawh/internal/migrate"
)

func newMigrateCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply or roll back the embedded schema migrations",
		Long: `Apply or roll back the golang-migrate files embedded in the binary
(the migrations/ folder). Every version has a working down migration.`,
	}
	open := func(cmd *cobra.Command) (*migrate.Migrator, error) {
		cfg, err := dbconn.ParseConfig(app.DSN())
		if err != nil {
			return nil, err
		}
		m, err := migrate.New(cmd.Context(), cfg.ConnConfig)
		if err != nil {
			return nil, fmt.Errorf("%w (server %s)", err, dbconn.Describe(cfg.ConnConfig))
		}
		return m, nil
	}
	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := open(cmd)
			if err != nil {
				return err
			}
			defer m.Close()
			if err := m.Up(); err != nil {
				return err
			}
			v, _, err := m.Version()
			if err != nil {
				return err
			}
			app.Logger().Info("migrations applied", "version", v)
			fmt.Fprintf(app.Stdout, "schema at version %d\n", v)
			return nil
		},
	}
	var all, yes bool
	down := &cobra.Command{
		Use:   "down N | --all",
		Short: "Roll back N migrations, or all of them (every schema and all data) with --all",
		Long: `Roll back the last N migrations. Without N every migration is rolled back,
which drops the bronze, silver, gold and meta schemas and all their data: like
the stock golang-migrate CLI, novawh then asks "Are you sure you want to apply
all down migrations? [y/N]" on a terminal, and refuses (exit 2) when stdin is
not a terminal unless --all (or -y) is given.`,
		Example: `  novawh migrate down 1
  novawh migrate down --all`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 0
			if len(args) == 1 {
				if all {
					return Usage(fmt.Errorf("give N or --all, not both"))
				}
				v, err := strconv.Atoi(args[0])
				if err != nil || v < 1 {
					return Usage(fmt.Errorf("N must be a positive integer, not %q", args[0]))
				}
				n = v
			} else if err := app.confirm("Are you sure you want to apply all down migrations?",
				"give --all (or -y) to drop every schema and all data, or N to roll back N migrations",
				"not applying all down migrations", all || yes); err != nil {
				return err
			}
			m, err := open(cmd)
			if err != nil {
				return err
			}
			defer m.Close()
			if err := m.Down(n); err != nil {
				return err
			}
			v, _, err := m.Version()
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "schema at version %d\n", v)
			return nil
		},
	}
	down.Flags().BoolVar(&all, "all", false, "roll back every migration (drops every schema and all data) without asking")
	down.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	version := &cobra.Command{
		Use:   "version",
		Short: "Print the applied and the latest available schema version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := open(cmd)
			if err != nil {
				return err
			}
			defer m.Close()
			v, dirty, err := m.Version()
			if err != nil {
				return err
			}
			latest, err := migrate.Latest()
			if err != nil {
				return err
			}
			state := "clean"
			if dirty {
				state = "dirty (a migration failed half-way: fix it, then `novawh migrate force V`)"
			}
			fmt.Fprintf(app.Stdout, "version %d, latest %d, %s\n", v, latest, state)
			return nil
		},
	}
	force := &cobra.Command{
		Use:   "force V",
		Short: "Record version V as applied without running anything (after a manual repair)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := strconv.Atoi(args[0])
			if err != nil || v < -1 {
				return Usage(fmt.Errorf("V must be an integer >= -1, not %q", args[0]))
			}
			m, err := open(cmd)
			if err != nil {
				return err
			}
			defer m.Close()
			if err := m.Force(v); err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "schema forced to version %d\n", v)
			return nil
		},
	}
	cmd.AddCommand(up, down, version, force)
	return cmd
}
