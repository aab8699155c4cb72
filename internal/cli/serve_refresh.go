package cli

import (
	"context"

	"github.com/novacorrente/novawh/api"
	nightly "github.com/novacorrente/novawh/internal/run"
	"github.com/novacorrente/novawh/internal/serve"
)

// newServeRefresher wires the API's refresh endpoint to the nightly job
// (the policy, which source runs what, is serve.NightlyRefresher's). The
// job writes through the command's writer pool, never the API's read-only
// one; offline comes from the run configuration (NOVAWH_OFFLINE,
// run.pull.offline).
func newServeRefresher(app *App) (api.Refresher, error) {
	tmpl, err := newNightlyJob(app, jobSpec{Trigger: "api",
		Log: app.Logger().With("component", "api-refresh")})
	if err != nil {
		return nil, err
	}
	return serve.NightlyRefresher(func(ctx context.Context, opts nightly.Options) (*nightly.Report, error) {
		pool, err := app.Pool(ctx)
		if err != nil {
			return nil, err
		}
		j := *tmpl
		j.Pool, j.Opts = pool, opts
		return j.Execute(ctx)
	}), nil
}
