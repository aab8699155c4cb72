package cli

import (
	"context"
	"errors"
	"fmt"

	nightly "github.com/novacorrente/novawh/internal/run"
	"github.com/novacorrente/novawh/internal/serve"
)

// Sources accepted by POST /api/v1/data/refresh and what each runs. Every
// job is the nightly job (recorded in meta.runs, under its lock) without
// the export: load the configured inputs, refresh silver and gold, check.
const (
	RefreshSourceML       = "ml_results" // file inputs (ML results, ERP, inventory), no HTTP pulls
	RefreshSourceExternal = "external"   // also pull the HTTP series (skipped when offline)
	RefreshSourceAll      = "all"        // same as external
)

// newServeRefresher wires the API's refresh endpoint to the nightly job.
func newServeRefresher(app *App) (serve.Refresher, error) {
	tmpl, err := newNightlyJob(app, jobSpec{Trigger: "api",
		Log: app.Logger().With("component", "api-refresh")})
	if err != nil {
		return nil, err
	}
	return serve.RefresherFunc(func(ctx context.Context, source string, force bool) (any, error) {
		// Offline comes from the run configuration (NOVAWH_OFFLINE, run.pull.offline).
		opts := nightly.Options{SkipExport: true, Full: force}
		switch source {
		case "", RefreshSourceML:
			opts.SkipPull = true
		case RefreshSourceExternal, RefreshSourceAll:
		default:
			return nil, fmt.Errorf("unknown refresh source %q (known: %s, %s, %s)", source, RefreshSourceML, RefreshSourceExternal, RefreshSourceAll)
		}
		// The API's own pool is read-only (novawh_reader): the job writes
		// through the command's writer pool.
		pool, err := app.Pool(ctx)
		if err != nil {
			return nil, err
		}
		j := *tmpl
		j.Pool, j.Opts = pool, opts
		rep, err := j.Execute(ctx)
		if err != nil {
			var be *nightly.BusyError
			if errors.As(err, &be) {
				return nil, fmt.Errorf("another run is in progress: %w", err)
			}
			return nil, err
		}
		if rep.ExitCode != 0 {
			return rep, fmt.Errorf("run %d %s at step %s: %s", rep.RunID, rep.Status, rep.FailedStep, rep.Error)
		}
		return rep, nil
	}), nil
}
