package run

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/alert"
	"github.com/novacorrente/novawh/internal/config"
	"github.com/novacorrente/novawh/internal/logx"
	"github.com/novacorrente/novawh/internal/pgerr"
	"github.com/novacorrente/novawh/internal/progress"
	"github.com/novacorrente/novawh/internal/registry"
)

// Options are per-invocation switches that are not settings of the run
// section (those come through Config, resolved from flags, environment and
// file by ResolveConfig). The API's refresh job uses them to leave steps
// out and to force a full refresh.
type Options struct {
	SkipPull   bool `json:"skip_pull"`
	SkipExport bool `json:"skip_export"`
	Full       bool `json:"full"`
}

// Job is one execution of the nightly job with everything it needs.
type Job struct {
	Pool       *pgxpool.Pool
	ConnConfig *pgx.ConnConfig
	Registry   *registry.Registry
	File       *config.File
	Config     *Config
	Log        *slog.Logger
	Alert      *alert.Sender
	Trigger    string // cli, schedule or api (POST /api/v1/data/refresh)
	Opts       Options
	// Progress draws the steps' progress on a terminal (nil: none, as
	// under the scheduler and the API).
	Progress *progress.Reporter
}

// StartError: the run did not start (schema check, lock, database). Code
// is the exit code.
type StartError struct {
	Code int
	Err  error
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Execute checks the schema, then runs every step under the run lock. A
// run that cannot start returns a *StartError (a *BusyError inside when
// another run holds the lock) after alerting, except for BusyError without
// waiting, which is the normal "already running" case.
func (j *Job) Execute(ctx context.Context) (*Report, error) {
	log := j.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	started := time.Now()
	version, err := CheckSchema(ctx, j.ConnConfig)
	if err != nil {
		code := ExitFailed
		var se *SchemaError
		if errors.As(err, &se) {
			code = ExitUsage
		}
		return nil, j.startFailed(ctx, log, code, err, time.Since(started))
	}
	tasks, err := j.tasks()
	if err != nil {
		return nil, j.startFailed(ctx, log, ExitUsage, err, time.Since(started))
	}
	r := &Runner{
		Pool:           j.Pool,
		Log:            log,
		Alert:          j.Alert,
		Trigger:        j.Trigger,
		AlertOnWarning: j.Config.Alert.OnWarning,
		LockWait:       j.Config.LockWait,
		SchemaVersion:  version,
		Options:        j.recordedOptions(),
		Prelude: []Step{{Name: "migrations", Status: StepOK, StartedAt: started, DurationMS: time.Since(started).Milliseconds(),
			Counts: map[string]int64{"version": int64(version)}}},
	}
	rep, err := r.Run(ctx, tasks)
	if err != nil {
		var be *BusyError
		if errors.As(err, &be) && be.Waited == 0 {
			return nil, &StartError{Code: ExitOK, Err: err}
		}
		return nil, j.startFailed(ctx, log, ExitFailed, err, time.Since(started))
	}
	return rep, nil
}

func (j *Job) recordedOptions() map[string]any {
	return map[string]any{
		"offline":     j.offline(),
		"skip_pull":   j.Opts.SkipPull || !j.Config.PullEnabled(),
		"skip_export": j.Opts.SkipExport || !j.Config.ExportEnabled(),
		"full":        j.Opts.Full || j.Config.Refresh.Full,
		"export_to":   alert.Redact(j.exportTo()),
		"config":      j.File.Path,
		"inputs":      len(j.Config.Inputs),
	}
}

func (j *Job) offline() bool { return j.Config.Pull.Offline }

func (j *Job) exportTo() string { return j.Config.Export.To }

// startFailed alerts that the run could not start and wraps err.
func (j *Job) startFailed(ctx context.Context, log *slog.Logger, code int, err error, took time.Duration) error {
	err = pgerr.ExplainConn(err)
	log.Error("run could not start", "err", alert.Redact(err.Error()))
	if j.Alert.Enabled() {
		host, _ := os.Hostname()
		text := fmt.Sprintf(":x: novawh run on %s could not start (exit %d) after %s.\nError: %s",
			host, code, alert.FormatDuration(took), logx.OneLine(err.Error()))
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if aerr := j.Alert.Send(actx, text); aerr != nil {
			log.Error("alert not delivered", "err", aerr)
		}
	}
	return &StartError{Code: code, Err: err}
}

// StartFailed reports (and alerts) a failure before Execute could run,
// such as an unreachable database; it returns a *StartError (exit 1).
func (j *Job) StartFailed(ctx context.Context, err error) error {
	log := j.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return j.startFailed(ctx, log, ExitFailed, err, 0)
}
