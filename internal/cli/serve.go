package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/serve"
	"github.com/novacorrente/novawh/internal/webui"
)

// EnvAPIToken enables POST /api/v1/data/refresh with this token.
const EnvAPIToken = "NOVAWH_API_TOKEN"

// serveSettings binds the serve section's fields (serve.Config) to the
// command's flags and the environment.
func serveSettings(c *serve.Config) []config.Setting {
	return []config.Setting{
		config.Bind(&c.Addr, "addr", ""),
		config.Bind(&c.ReaderRole, "reader-role", ""),
		config.Bind(&c.StatementTimeout, "statement-timeout", ""),
		config.Bind(&c.RequestTimeout, "request-timeout", ""),
		config.Bind(&c.ShutdownTimeout, "shutdown-timeout", ""),
		config.Bind(&c.MaxSpanDays, "max-span-days", ""),
		config.Bind(&c.MaxItemIDs, "max-item-ids", ""),
		config.Bind(&c.MaxPageSize, "max-page-size", ""),
		config.Bind(&c.CacheTTL, "cache-ttl", ""),
		config.Bind(&c.CacheMaxEntries, "cache-max-entries", ""),
		config.Bind(&c.CacheMaxBytes, "cache-max-bytes", ""),
		config.Bind(&c.MaxConns, "max-conns", ""),
		config.Bind(&c.ParquetDir, "parquet-dir", ""),
		config.Bind(&c.APIToken, "", EnvAPIToken),
	}
}

func newServeCmd(app *App) *cobra.Command {
	c := serve.DefaultConfig()
	var schedSpec, schedTZ string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the dashboards' HTTP JSON API over the gold layer",
		Long: `Serve the read-only JSON API the dashboards use (see docs/api.md):

  GET  /api/v1/items?limit=&offset=&q=
  GET  /api/v1/items/{id}/timeseries?start=YYYY-MM-DD&end=YYYY-MM-DD[&source=]
  GET  /api/v1/forecasts/summary?start=&end=[&item_ids=a,b][&source=]
  GET  /api/v1/aggregates?item_ids=a,b&window=7|30&start=&end=[&source=]
  GET  /api/v1/inventory/{id}[?date=YYYY-MM-DD]
  POST /api/v1/data/refresh            (token: Authorization: Bearer or X-API-Key)
  GET  /api/v1/data/refresh[/{job_id}] (token)
  GET  /health                         (details with the token)

Item ids go percent-encoded in the path (a space is %20, a slash %2F).
Item-level endpoints read the site_id = 'ALL' rows of gold.

Settings come from flags, then the environment, then the serve: section of
novawh.yaml (--config). The refresh token is only read from NOVAWH_API_TOKEN;
without it the refresh endpoints answer 403 refresh_disabled. With
--reader-role the API runs SET ROLE on every connection (novawh_reader can only
SELECT from gold). Responses are cached in memory for --cache-ttl (0 turns the
cache off) and the cache is purged when a refresh job ends. SIGINT/SIGTERM
stop the server gracefully: running requests finish, a running refresh job is
canceled.

--schedule "0 2 * * *" also runs the nightly job (` + "`novawh run`" + `) in this process
on that cron schedule, in --schedule-tz (default America/Sao_Paulo); the
defaults come from run.schedule and run.schedule_tz (docs/operations.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := app.Resolver(cmd)
			if err != nil {
				return err
			}
			if err := r.Resolve("serve", &c, serveSettings(&c)...); err != nil {
				return Usage(err)
			}
			if err := c.Validate(); err != nil {
				return Usage(err)
			}

			log := app.Logger().With("component", "serve")
			ctx := cmd.Context()
			pool, err := api.OpenPool(ctx, app.DSN(), c.PoolOptions(), log)
			if err != nil {
				return err
			}
			defer pool.Close()
			// The refresh endpoint runs the nightly job through the
			// command's writer pool, never the API's read-only one.
			refresher, err := newServeRefresher(app)
			if err != nil {
				return err
			}
			opts := c.HandlerOptions()
			opts.Logger, opts.APIToken, opts.Refresher = log, c.APIToken, refresher
			srv, err := api.New(pool, opts)
			if err != nil {
				return err
			}
			ui, err := webui.New(pool, webui.Options{Logger: log, RequestTimeout: c.RequestTimeout})
			if err != nil {
				return err
			}
			waitSched, err := startRunSchedule(ctx, app, cmd, func(ctx context.Context, run func(context.Context) (any, error)) error {
				_, err := srv.RunJob(ctx, "nightly", run)
				return err
			})
			if err != nil {
				return err
			}
			defer waitSched()
			return serve.Run(ctx, c.Addr, srv, serve.ServeOptions{Log: log, RequestTimeout: c.RequestTimeout, ShutdownTimeout: c.ShutdownTimeout, UI: ui})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&c.Addr, "addr", c.Addr, "address to listen on (host:port)")
	fl.StringVar(&c.ReaderRole, "reader-role", c.ReaderRole, "role to SET ROLE to on every connection, e.g. novawh_reader (\"\" = the login user)")
	fl.DurationVar(&c.StatementTimeout, "statement-timeout", c.StatementTimeout, "PostgreSQL statement_timeout of the API's connections (0 = server default)")
	fl.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout, "limit on the database work of one request")
	fl.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "grace period for running requests and a refresh job on SIGTERM")
	fl.IntVar(&c.MaxSpanDays, "max-span-days", c.MaxSpanDays, "longest start..end period a request may ask for, in days (inclusive)")
	fl.IntVar(&c.MaxItemIDs, "max-item-ids", c.MaxItemIDs, "most item_ids one request may list")
	fl.IntVar(&c.MaxPageSize, "max-page-size", c.MaxPageSize, "largest limit of GET /api/v1/items")
	fl.DurationVar(&c.CacheTTL, "cache-ttl", c.CacheTTL, "life of a cached response (0 disables the cache)")
	fl.IntVar(&c.CacheMaxEntries, "cache-max-entries", c.CacheMaxEntries, "most responses kept in the cache")
	fl.Int64Var(&c.CacheMaxBytes, "cache-max-bytes", c.CacheMaxBytes, "most bytes the cache holds (a response over 1/8 of it is served, not cached)")
	fl.Int32Var(&c.MaxConns, "max-conns", c.MaxConns, "size of the API's connection pool")
	fl.StringVar(&c.ParquetDir, "parquet-dir", c.ParquetDir, "Parquet export folder checked by /health (\"\" = not checked)")
	fl.StringVar(&schedSpec, "schedule", "", "also run the nightly job on this cron schedule, e.g. \"0 2 * * *\" (default run.schedule; \"\" = none)")
	fl.StringVar(&schedTZ, "schedule-tz", "", "time zone of --schedule (default run.schedule_tz, else America/Sao_Paulo)")
	return pipeline(cmd)
}
