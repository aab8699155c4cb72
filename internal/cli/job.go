package cli

import (
	"log/slog"
	"os"

	"github.com/novacorrente/novawh/internal/alert"
	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/dbconn"
	nightly "github.com/novacorrente/novawh/internal/run"
)

// jobSpec is what differs between the callers of the nightly job: the
// command line (`novawh run`), the scheduler (`serve --schedule`) and the
// API's refresh endpoint.
type jobSpec struct {
	Webhook string // "" falls back to NOVAWH_ALERT_WEBHOOK, then run.alert.webhook
	Trigger string // cli, schedule or api
	Log     *slog.Logger
	// Edit, when set, adjusts the run configuration before it is used
	// (inputs given on the command line).
	Edit func(*nightly.Config) error
}

// newNightlyJob builds the nightly job from the configuration file (--config), the
// global flags and the alert settings. The caller sets Pool and Opts.
// Configuration problems are usage errors (exit 2).
func newNightlyJob(app *App, spec jobSpec) (*nightly.Job, error) {
	file, err := config.Load(app.ConfigPath)
	if err != nil {
		return nil, Usage(err)
	}
	cfg, err := nightly.LoadConfig(file)
	if err != nil {
		return nil, Usage(err)
	}
	if spec.Edit != nil {
		if err := spec.Edit(cfg); err != nil {
			return nil, Usage(err)
		}
	}
	webhook := spec.Webhook
	if webhook == "" {
		webhook = os.Getenv(alert.EnvWebhook)
	}
	if webhook == "" {
		webhook = cfg.Alert.Webhook
	}
	if err := alert.Validate(webhook); err != nil {
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
	log := spec.Log
	if log == nil {
		log = app.Logger()
	}
	sender := alert.New(webhook, log)
	sender.Attempts, sender.Backoff = cfg.Alert.Attempts, cfg.Alert.Backoff
	return &nightly.Job{ConnConfig: pcfg.ConnConfig, Registry: reg, File: file, Config: cfg,
		Log: log, Alert: sender, Trigger: spec.Trigger}, nil
}
