package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/novacorrente/novawh/internal/alert"
	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/dbconn"
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

func init() { NewServeRefresher = newServeRefresher }

// newServeRefresher wires the API's refresh endpoint to the nightly job.
func newServeRefresher(app *App, configPath string) (serve.Refresher, error) {
	file, err := config.Load(configPath)
	if err != nil {
		return nil, Usage(err)
	}
	cfg, err := nightly.LoadConfig(file)
	if err != nil {
		return nil, Usage(err)
	}
	reg, err := app.Registry()
	if err != nil {
		return nil, err
	}
	pcfg, err := dbconn.ParseConfig(app.DSN())
	if err != nil {
		return nil, Usage(err)
	}
	webhook := os.Getenv(alert.EnvWebhook)
	if webhook == "" {
		webhook = cfg.Alert.Webhook
	}
	log := app.Logger().With("component", "api-refresh")
	sender := alert.New(webhook, log)
	sender.Attempts, sender.Backoff = cfg.Alert.Attempts, cfg.Alert.Backoff
	return serve.RefresherFunc(func(ctx context.Context, source string, force bool) (any, error) {
		opts := nightly.Options{SkipExport: true, Full: force, Offline: os.Getenv("NOVAWH_OFFLINE") != ""}
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
		j := &nightly.Job{Pool: pool, ConnConfig: pcfg.ConnConfig, Registry: reg, File: file, Config: cfg,
			Log: log, Alert: sender, Trigger: "api", Opts: opts}
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
