package serve

import (
	"context"
	"errors"
	"fmt"

	"github.com/novacorrente/novawh/api"
	nightly "github.com/novacorrente/novawh/internal/run"
)

// Sources accepted by POST /api/v1/data/refresh and what each runs. Every
// job is the nightly job (recorded in meta.runs, under its lock) without
// the export: load the configured inputs, refresh silver and gold, check.
const (
	RefreshSourceML       = "ml_results" // file inputs (ML results, ERP, inventory), no HTTP pulls
	RefreshSourceExternal = "external"   // also pull the HTTP series (skipped when offline)
	RefreshSourceAll      = "all"        // same as external
)

// RefreshRunOptions is the refresh-source policy: the nightly job's
// options for a refresh of source ("" is ml_results). Whether the pulls
// run offline is the run configuration's (NOVAWH_OFFLINE, run.pull.offline).
func RefreshRunOptions(source string, force bool) (nightly.Options, error) {
	opts := nightly.Options{SkipExport: true, Full: force}
	switch source {
	case "", RefreshSourceML:
		opts.SkipPull = true
	case RefreshSourceExternal, RefreshSourceAll:
	default:
		return nightly.Options{}, fmt.Errorf("unknown refresh source %q (known: %s, %s, %s)", source, RefreshSourceML, RefreshSourceExternal, RefreshSourceAll)
	}
	return opts, nil
}

// Executor runs the nightly job with the given options (the CLI builds it
// from the configuration and the writer pool, never the API's read-only
// pool).
type Executor func(ctx context.Context, opts nightly.Options) (*nightly.Report, error)

// NightlyRefresher is the API's refresh job: the nightly job with the
// options of RefreshRunOptions, run by exec.
func NightlyRefresher(exec Executor) api.Refresher {
	return api.RefresherFunc(func(ctx context.Context, source string, force bool) (any, error) {
		opts, err := RefreshRunOptions(source, force)
		if err != nil {
			return nil, err
		}
		return JobResult(exec(ctx, opts))
	})
}

// JobResult turns a nightly run's outcome into a job's summary and error:
// a run that did not succeed (non-zero exit code) is a failed job whose
// summary is still the report.
func JobResult(rep *nightly.Report, err error) (any, error) {
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
}
