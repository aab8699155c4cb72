package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/internal/pglocal"
)

func newDBCmd(app *App) *cobra.Command {
	var name, dir string
	var port int
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Run a private local PostgreSQL for the demo and development",
		Long: `Manage a private PostgreSQL server built from the installed binaries
(pg_config --bindir, else /usr/lib/postgresql/*/bin). It listens on 127.0.0.1
with trust authentication and runs as the postgres user when started as root.
Its files live in a folder under the system temp dir named after --name and
the checkout (the same from any folder of it), or in --dir / NOVAWH_PGDIR.

When no --database-url, DATABASE_URL or PG* variable is set and the "demo"
server of this checkout is running (make demo starts it), every command uses
it (-v says so). ` + "`eval \"$(novawh db env)\"`" + ` sets DATABASE_URL and PG* for
other tools (psql).`,
		Example: `  novawh db start
  novawh db url
  eval "$(novawh db env)" && psql -c 'SELECT count(*) FROM gold.fact_forecast'
  novawh db stop
  novawh db stop --purge --yes`,
	}
	cmd.PersistentFlags().StringVar(&name, "name", pglocal.DemoName, "server name (one folder per name)")
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "server folder (default: a folder under the temp dir named after --name and this checkout)")
	server := func() (*pglocal.Server, error) {
		d := dir
		if d == "" {
			d = pglocal.DefaultDir(name)
		}
		return pglocal.New(pglocal.Options{Dir: d, Port: port, Logger: app.Logger()})
	}
	var durable bool
	start := &cobra.Command{
		Use:   "start",
		Short: "Start the server (initialising it the first time) and print its URL",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := server()
			if err != nil {
				return err
			}
			if err := s.Start(cmd.Context(), durable); err != nil {
				return err
			}
			fmt.Fprintln(app.Stdout, s.URL("postgres"))
			return nil
		},
	}
	start.Flags().IntVar(&port, "port", 0, "port to listen on (default: a free one, kept across restarts)")
	start.Flags().BoolVar(&durable, "durable", false, "fsync, synchronous_commit and full_page_writes on, as in production (default off: a scratch server for the demo and tests)")
	stop := &cobra.Command{
		Use:   "stop",
		Short: "Stop the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := server()
			if err != nil {
				return err
			}
			return s.Stop(cmd.Context())
		},
	}
	var purge, yes bool
	stop.Flags().BoolVar(&purge, "purge", false, "also delete the server's folder and all its data (asks first on a terminal; -y to confirm)")
	stop.Flags().BoolVarP(&yes, "yes", "y", false, "with --purge: do not ask for confirmation")
	stop.RunE = func(cmd *cobra.Command, _ []string) error {
		s, err := server()
		if err != nil {
			return err
		}
		if purge {
			if err := app.confirm(fmt.Sprintf("Are you sure you want to delete the local server %q and all its data (%s)?", name, s.Dir),
				"add -y (--yes) to delete it", "not deleting the local server", yes); err != nil {
				return err
			}
			return s.Remove(cmd.Context())
		}
		return s.Stop(cmd.Context())
	}
	// running is the server when it runs, else an error saying how to start it.
	running := func(ctx context.Context) (*pglocal.Server, error) {
		s, err := server()
		if err != nil {
			return nil, err
		}
		if !s.Running(ctx) {
			return nil, fmt.Errorf("local server %q is not running: start it with `novawh db start --name %s`", name, name)
		}
		return s, nil
	}
	url := &cobra.Command{
		Use:   "url",
		Short: "Print the server's URL (fails when it is not running)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := running(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintln(app.Stdout, s.URL("postgres"))
			return nil
		},
	}
	env := &cobra.Command{
		Use:   "env",
		Short: "Print shell exports (DATABASE_URL, PGHOST, PGPORT, PGUSER, PGDATABASE) for the running server",
		Long: `Print export lines for a POSIX shell: eval "$(novawh db env)" points psql and
novawh at the server. Fails when it is not running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := running(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "export DATABASE_URL='%s'\nexport PGHOST=127.0.0.1 PGPORT=%d PGUSER=postgres PGDATABASE=postgres\n", s.URL("postgres"), s.Port)
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Say whether the server runs, where and on which port",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := server()
			if err != nil {
				return err
			}
			if s.Running(cmd.Context()) {
				fmt.Fprintf(app.Stdout, "running: %s (data %s, log %s)\n", s.URL("postgres"), s.DataDir, s.LogFile)
			} else {
				fmt.Fprintf(app.Stdout, "stopped (data %s)\n", s.DataDir)
			}
			return nil
		},
	}
	cmd.AddCommand(start, stop, url, env, status)
	return cmd
}
