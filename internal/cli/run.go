package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	nightly "github.com/novacorrente/novawh/internal/run"
	"github.com/novacorrente/novawh/internal/runmetrics"
)

func newRunCmd(app *App) *cobra.Command {
	var (
		asJSON    bool
		opts      nightly.Options
		inputs    []string
		inputsDir string
		meta      nightly.Input
		// metricsFile receives the run's Prometheus series (textfile).
		metricsFile string
		// Settings of the run section: nightly.ResolveConfig reads them
		// from the flags (they beat the environment and the file).
		webhook, exportTo      string
		offline, full, warning bool
		wait                   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the whole nightly job: load, pull, refresh, check, export",
		Long: `Run the nightly job once, as cron, a systemd timer, a Kubernetes CronJob or
` + "`novawh serve --schedule`" + ` would:

  1. migrations  refuse to run unless the schema is exactly at this binary's
                 latest version (the fix, ` + "`novawh migrate up`" + `, is printed; exit 2)
  2. load        every file of every source listed under run.inputs in the
                 config, or given with --input / --inputs-dir (files already
                 loaded with the same content are skipped)
  3. pull        every API source (--offline skips them with a warning)
  4. refresh     silver and gold, incrementally (--full rebuilds)
  5. check       the data-quality checks
  6. export      gold to Parquet (default exports/; --skip-export skips it)

A failed file or API source does not stop the others, nor the refresh of
what did load; the run still ends failed. A failed refresh stops the run.
An error-level quality failure skips the export (the previous export stays
as it was) and ends the run with exit code 3.

Runs never overlap: each run holds a PostgreSQL advisory lock. A second run
exits at once with a message and exit code 0 (nothing to do: the running
one does the work), or, with --wait 10m, waits up to that long and fails
(exit 1) if the lock is still held.

One row per run is written to meta.runs and updated after every step; a
run that was killed is marked 'abandoned' by the next one.

Alerts: on failure (and, with --alert-on-warning, on warnings), a
Slack-compatible {"text": ...} message naming the run, the failed step and
the error is POSTed to --alert-webhook (default $NOVAWH_ALERT_WEBHOOK, then
run.alert.webhook), with retries. Passwords in URLs are never sent.

Exit codes: 0 ok (or skipped because another run is in progress), 1 failed,
2 usage, configuration or out-of-date schema, 3 data-quality failure.`,
		Example: `  novawh run
  novawh run --offline --json
  novawh run --offline --inputs-dir data/raw/samples
  novawh run --offline --input ml_forecasts=../shared/data/nova/data/outputs/nova_corrente/forecasts \
      --model-version v1 --generated-at 2025-11-11T00:00:00Z --ml-source nova-ml --dataset-id nova-2025-11
  novawh run --config /etc/novawh/novawh.yaml --alert-webhook https://hooks.slack.com/services/...
  NOVAWH_ALERT_WEBHOOK=https://chat.example/hook novawh run --wait 30m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			batchGC()
			if wait < 0 {
				return Usage(errors.New("--wait must not be negative"))
			}
			opts.Full = full
			given, err := nightly.CommandLineInputs(inputsDir, inputs, meta)
			if err != nil {
				return Usage(err)
			}
			job, err := newNightlyJob(app, jobSpec{Cmd: cmd, Trigger: "cli", Inputs: given})
			if err != nil {
				return err
			}
			job.Opts = opts
			if !asJSON {
				job.Progress = app.Progress()
			}
			return runOnce(cmd.Context(), app, job, asJSON, metricsFile)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the run report as JSON instead of a table")
	f.BoolVar(&offline, "offline", false, "skip every API pull with a warning (no network); files are still loaded")
	f.BoolVar(&opts.SkipPull, "skip-pull", false, "do not run the pull step at all")
	f.BoolVar(&opts.SkipExport, "skip-export", false, "do not export to Parquet")
	f.BoolVar(&full, "full", false, "full refresh of silver and gold and a full export (default: incremental)")
	f.StringVar(&exportTo, "export-to", "", "export target folder or s3://bucket/prefix (default run.export.to, else exports)")
	f.StringSlice("export-layers", nil, "layers to export: bronze, silver, gold (default run.export.layers, else the export section's, gold)")
	f.StringArrayVar(&inputs, "input", nil, "SOURCE=PATH[,PATH...]: load these files, folders or globs into SOURCE instead of run.inputs (repeatable)")
	f.StringVar(&inputsDir, "inputs-dir", "", "load every sub-folder of this folder into the source it is named after, instead of run.inputs (e.g. data/raw/samples)")
	f.StringVar(&meta.ModelVersion, "model-version", "", "ML metadata for --input files that lack it (as novawh load)")
	f.StringVar(&meta.GeneratedAt, "generated-at", "", "ML metadata for --input files that lack it, RFC 3339")
	f.StringVar(&meta.MLSource, "ml-source", "", "ML metadata for --input files that lack it")
	f.StringVar(&meta.DatasetID, "dataset-id", "", "ML metadata for --input files that lack it")
	f.StringVar(&webhook, "alert-webhook", "", "POST a Slack-compatible JSON alert here on failure (default $NOVAWH_ALERT_WEBHOOK, then run.alert.webhook)")
	f.BoolVar(&warning, "alert-on-warning", false, "also alert when the run succeeds with warnings (rejected rows, quality warnings, skipped pulls)")
	f.StringVar(&metricsFile, "metrics-file", "", "write the run's Prometheus metrics to this file (node-exporter textfile collector, e.g. /var/lib/node_exporter/novawh.prom), atomically")
	f.DurationVar(&wait, "wait", 0, "when another run is in progress, wait up to this long for it (0: exit at once with code 0)")
	return pipeline(cmd)
}

// runOnce executes job, prints its report and turns its outcome into the
// command's exit code.
// runOnce runs the job and prints its report; with metricsFile the run's
// Prometheus series are written there too (node-exporter textfile).
func runOnce(ctx context.Context, app *App, job *nightly.Job, asJSON bool, metricsFile string) error {
	pool, err := app.Pool(ctx)
	if err != nil {
		var se *nightly.StartError
		errors.As(job.StartFailed(ctx, err), &se)
		return &ExitError{Code: se.Code, Err: se.Err}
	}
	job.Pool = pool
	rep, err := job.Execute(ctx)
	if metricsFile != "" && err == nil {
		if werr := runmetrics.WriteTextfile(metricsFile, runmetrics.Run{Status: rep.Status, Trigger: rep.Trigger,
			StartedAt: rep.StartedAt, Duration: time.Duration(rep.DurationMS) * time.Millisecond}); werr != nil {
			app.Logger().Error("run metrics file", "err", werr)
		}
	}
	var se *nightly.StartError
	if errors.As(err, &se) {
		var be *nightly.BusyError
		if se.Code == nightly.ExitOK && errors.As(err, &be) {
			if asJSON {
				return runWriteSkipped(app, be)
			}
			fmt.Fprintf(app.Stdout, "novawh run: skipped: %s\n", be.Error())
			return nil
		}
		return &ExitError{Code: se.Code, Err: se.Err}
	}
	if err != nil {
		return err
	}
	if asJSON {
		err = nightly.WriteJSON(app.Stdout, rep)
	} else {
		err = nightly.WriteText(app.Stdout, rep)
	}
	if err != nil {
		return err
	}
	if rep.ExitCode != nightly.ExitOK {
		msg := fmt.Sprintf("run %d %s", rep.RunID, rep.Status)
		if rep.FailedStep != "" {
			msg += " at step " + rep.FailedStep
		}
		if rep.Error != "" {
			msg += ": " + rep.Error
		}
		return &ExitError{Code: rep.ExitCode, Err: errors.New(msg)}
	}
	return nil
}

// runWriteSkipped prints the --json answer of a run skipped because another
// one holds the lock.
func runWriteSkipped(app *App, be *nightly.BusyError) error {
	enc := json.NewEncoder(app.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"status": "skipped", "exit_code": 0, "reason": be.Error(), "running_run_id": be.RunID})
}
