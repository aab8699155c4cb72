package cli

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/novacorrente/novawh/internal/dbconn"
	nightly "github.com/novacorrente/novawh/internal/run"
)

// jobSpec is what differs between the callers of the nightly job: the
// command line (`novawh run`), the scheduler (`serve --schedule`) and the
// API's refresh endpoint.
type jobSpec struct {
	// Cmd is the command whose flags take part in the run configuration
	// (nil: none, as for the API's jobs).
	Cmd     *cobra.Command
	Trigger string // cli, schedule or api
	Log     *slog.Logger
	// Inputs, when not nil, replace run.inputs (given on the command line).
	Inputs []nightly.Input
}

// newNightlyJob builds the nightly job from the run configuration (flags,
// environment, the file of --config: nightly.ResolveConfig) and the global
// flags. The caller sets Pool and Opts. Configuration problems are usage
// errors (exit 2).
func newNightlyJob(app *App, spec jobSpec) (*nightly.Job, error) {
	r, err := app.Resolver(spec.Cmd)
	if err != nil {
		return nil, err
	}
	cfg, err := nightly.ResolveConfig(r)
	if err != nil {
		return nil, Usage(err)
	}
	if spec.Inputs != nil {
		cfg.Inputs = spec.Inputs
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
	return &nightly.Job{ConnConfig: pcfg.ConnConfig, Registry: reg, File: r.File, Config: cfg,
		Log: log, Alert: cfg.NewAlert(log), Trigger: spec.Trigger}, nil
}
