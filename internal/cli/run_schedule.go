package cli

import (
	"context"
	"errors"
	"sync"

	"github.com/spf13/cobra"

	nightly "github.com/novacorrente/novawh/internal/run"
	"github.com/novacorrente/novawh/internal/schedule"
	"github.com/novacorrente/novawh/internal/serve"
)

// startRunSchedule starts the nightly job's in-process scheduler for
// `novawh serve --schedule`: the schedule and its zone are run.schedule and
// run.schedule_tz, which --schedule and --schedule-tz of cmd beat; with no
// schedule at all it does nothing. The returned wait function blocks until
// the scheduler (and a job it is running, which is cancelled with ctx) has
// stopped.
//
// Each run goes through through (serve's job runner: a panic becomes a
// failed job, the run is listed with the API's refresh jobs).
func startRunSchedule(ctx context.Context, app *App, cmd *cobra.Command, through func(context.Context, func(context.Context) (any, error)) error) (wait func(), err error) {
	noop := func() {}
	log := app.Logger().With("component", "schedule")
	tmpl, err := newNightlyJob(app, jobSpec{Cmd: cmd, Trigger: "schedule", Log: log})
	if err != nil {
		return noop, err
	}
	spec, tz := tmpl.Config.Schedule, tmpl.Config.ScheduleTZ
	if spec == "" {
		return noop, nil
	}
	run := func(ctx context.Context) (any, error) {
		j := *tmpl
		pool, err := app.Pool(ctx)
		if err != nil {
			_ = j.StartFailed(ctx, err)
			return nil, err
		}
		j.Pool = pool
		rep, err := j.Execute(ctx)
		var be *nightly.BusyError
		switch {
		case errors.As(err, &be):
			log.Warn("scheduled run skipped", "reason", be.Error())
		case err != nil:
			log.Error("scheduled run did not start", "err", err)
		default:
			log.Info("scheduled run done", "run_id", rep.RunID, "status", rep.Status, "exit_code", rep.ExitCode)
		}
		return serve.JobResult(rep, err)
	}
	job := func(ctx context.Context) {
		if err := through(ctx, run); err != nil {
			log.Warn("scheduled run not started", "err", err)
		}
	}
	s, err := schedule.New(spec, tz, job, log)
	if err != nil {
		return noop, Usage(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = s.Run(ctx)
	}()
	return wg.Wait, nil
}
