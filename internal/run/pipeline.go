package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/novacorrente/novawh/internal/alert"
	"github.com/novacorrente/novawh/internal/export"
	"github.com/novacorrente/novawh/internal/load"
	"github.com/novacorrente/novawh/internal/pull"
	"github.com/novacorrente/novawh/internal/quality"
	"github.com/novacorrente/novawh/internal/refresh"
	"github.com/novacorrente/novawh/internal/run/fault"
)

// tasks builds the steps of the nightly job from the configuration. Every
// configuration error surfaces here, before the run lock is taken.
func (j *Job) tasks() ([]Task, error) {
	loadTask, err := j.loadTask()
	if err != nil {
		return nil, err
	}
	pullTask, err := j.pullTask()
	if err != nil {
		return nil, err
	}
	refreshTask, err := j.refreshTask()
	if err != nil {
		return nil, err
	}
	checkTask, err := j.checkTask()
	if err != nil {
		return nil, err
	}
	exportTask, err := j.exportTask()
	if err != nil {
		return nil, err
	}
	return []Task{loadTask, pullTask, refreshTask, checkTask, exportTask}, nil
}

func (j *Job) loadTask() (Task, error) {
	t := Task{Name: "load", Continue: true}
	cfg, err := load.LoadConfig(j.File)
	if err != nil {
		return t, err
	}
	for _, in := range j.Config.Inputs {
		if _, ok := cfg.Sources[in.Source]; !ok {
			return t, fmt.Errorf("%s: run.inputs: source %q is not configured under sources: (configured: %s)",
				j.File.Path, in.Source, strings.Join(cfg.Names(), ", "))
		}
	}
	t.Run = func(ctx context.Context, s *Step) error {
		if len(j.Config.Inputs) == 0 {
			s.Status, s.Note = StepSkipped, "no input configured (run.inputs)"
			return nil
		}
		l := load.New(j.Pool, j.Registry, cfg, s.Log)
		var results []load.Result
		sourceErrs := 0
		for _, in := range j.Config.Inputs {
			fault.Pause(ctx, "load.source")
			paths := in.Paths
			if in.Optional {
				paths = existing(paths)
				if len(paths) == 0 {
					s.Count("inputs_empty", 1)
					continue
				}
			}
			opts := load.Options{Meta: load.MLMeta{ModelVersion: in.ModelVersion, Source: in.MLSource, DatasetID: in.DatasetID},
				Progress: j.Progress}
			if in.GeneratedAt != "" {
				ts, _ := time.Parse(time.RFC3339, in.GeneratedAt) // validated by LoadConfig
				opts.Meta.GeneratedAt = &ts
			}
			rs, err := loadInput(ctx, l, in, paths, opts, s)
			results = append(results, rs...)
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				sourceErrs++
				s.Problems = append(s.Problems, fmt.Sprintf("source %s: %v", in.Source, err))
			}
		}
		fault.Pause(ctx, "load.done")
		return loadOutcome(s, results, sourceErrs)
	}
	return t, nil
}

// loadOutcome records the load results in the step (counts, problems,
// detail) and says whether the step failed: a failed file or an input that
// could not be read (sourceErrs, already in the problems) fails it; rejected
// rows are a warning.
func loadOutcome(s *Step, results []load.Result, sourceErrs int) error {
	s.Detail = results
	failed := 0
	for _, r := range results {
		s.Count("files", 1)
		s.Count("files_"+r.Status, 1)
		s.Count("rows_read", r.RowsRead)
		s.Count("rows_loaded", r.RowsLoaded)
		s.Count("rows_rejected", r.RowsRejected)
		if r.Status == "failed" {
			failed++
			s.Problems = append(s.Problems, fmt.Sprintf("%s (%s): %s", r.File, r.Source, r.Error))
		}
	}
	switch {
	case failed > 0 || sourceErrs > 0:
		first := ""
		if len(s.Problems) > 0 {
			first = ", first: " + s.Problems[0]
		}
		return fmt.Errorf("%d of %d file(s) failed to load and %d source(s) could not be read%s",
			failed, len(results), sourceErrs, first)
	case s.Counts["rows_rejected"] > 0:
		s.Status = StepWarning
		s.Note = fmt.Sprintf("%d row(s) rejected: see meta.rejected_rows", s.Counts["rows_rejected"])
	}
	return nil
}

// loadInput loads one configured input; a panic while loading it is that
// input's failure, and the other inputs go on.
func loadInput(ctx context.Context, l *load.Loader, in Input, paths []string, opts load.Options, s *Step) (rs []load.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Recovered(s.Log, fmt.Sprintf("load of input %s (%s)", in.Source, strings.Join(in.Paths, ", ")), p)
		}
	}()
	fault.Panic("load.input")
	return l.LoadPaths(ctx, in.Source, paths, opts)
}

// existing keeps the paths that name something to load: an existing file,
// a folder with at least one visible regular file, a glob with a match.
func existing(paths []string) []string {
	var out []string
	for _, p := range paths {
		if strings.ContainsAny(p, "*?[") {
			if m, _ := filepath.Glob(p); len(m) > 0 {
				out = append(out, p)
			}
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && !strings.HasSuffix(e.Name(), ".meta.json") {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func (j *Job) pullTask() (Task, error) {
	t := Task{Name: "pull", Continue: true}
	if j.Opts.SkipPull || !j.Config.PullEnabled() {
		t.Run = func(ctx context.Context, s *Step) error {
			s.Status, s.Note = StepSkipped, "disabled (--skip-pull or run.pull.enabled: false)"
			return nil
		}
		return t, nil
	}
	cfg, err := pull.LoadConfig(j.File)
	if err != nil {
		return t, err
	}
	for _, src := range j.Config.Pull.Sources {
		if !pull.KnownSource(src) {
			return t, fmt.Errorf("%s: run.pull.sources: unknown source %q (known: %s)", j.File.Path, src, strings.Join(pull.SourceNames, ", "))
		}
	}
	t.Run = func(ctx context.Context, s *Step) error {
		lcfg, err := load.LoadConfig(j.File)
		if err != nil {
			return err
		}
		p, err := pull.New(j.Pool, j.Registry, cfg, s.Log, pull.WithCSVLoader(load.New(j.Pool, j.Registry, lcfg, s.Log)))
		if err != nil {
			return err
		}
		results, err := p.Pull(ctx, j.Config.Pull.Sources, pull.Options{Offline: j.offline()})
		s.Detail = results
		skipped := 0
		for _, r := range results {
			s.Count("series", 1)
			s.Count("windows", int64(r.Windows))
			s.Count("rows_loaded", r.RowsLoaded)
			s.Count("rows_rejected", r.RowsRejected)
			switch r.Status {
			case pull.StatusFailed:
				s.Count("failed", 1)
				s.Problems = append(s.Problems, fmt.Sprintf("%s %s: %s", r.Source, r.Series, r.Error))
			case pull.StatusSkipped:
				skipped++
			}
		}
		if err != nil {
			return err
		}
		if n := pull.Failed(results); n > 0 {
			return fmt.Errorf("%d of %d series failed to pull, first: %s", n, len(results), s.Problems[0])
		}
		if j.offline() {
			s.Status, s.Note = StepSkipped, fmt.Sprintf("offline: %d series not pulled", skipped)
		} else if skipped > 0 {
			s.Note = fmt.Sprintf("%d series skipped (not configured)", skipped)
		}
		return nil
	}
	return t, nil
}

func (j *Job) refreshTask() (Task, error) {
	full := j.Opts.Full || j.Config.Refresh.Full
	return Task{Name: "refresh", Run: func(ctx context.Context, s *Step) error {
		res, err := refresh.New(j.Pool, s.Log).Run(ctx, refresh.Options{Full: full, Progress: j.Progress})
		if err != nil {
			return err
		}
		s.Detail = res
		s.Count("loads_applied", int64(len(res.LoadsApplied)))
		for table, n := range res.Rows {
			s.Count("rows_"+strings.TrimPrefix(table, "gold."), n)
		}
		s.Note = res.Mode
		if res.Status == "noop" {
			s.Note += ": nothing new to apply"
		} else if res.Forecast != nil {
			s.Note += ", forecasts " + res.Forecast.String()
		}
		return nil
	}}, nil
}

func (j *Job) exportTask() (Task, error) {
	t := Task{Name: "export"}
	if j.Opts.SkipExport || !j.Config.ExportEnabled() {
		t.Run = func(ctx context.Context, s *Step) error {
			s.Status, s.Note = StepSkipped, "disabled (--skip-export or run.export.enabled: false)"
			return nil
		}
		return t, nil
	}
	to := j.exportTo()
	// The export section of the file (buckets, retention, partitioning),
	// with the run's target, layers and --full.
	ec := export.DefaultConfig()
	if err := j.File.Decode("export", &ec); err != nil {
		return t, err
	}
	opts := ec.Options()
	opts.To, opts.Full, opts.Progress = to, j.Opts.Full || j.Config.Export.Full, j.Progress
	if len(j.Config.Export.Layers) > 0 {
		opts.Layers = j.Config.Export.Layers
	}
	opts.Tables = nil // every table of the layers
	if err := export.Validate(j.Registry, opts); err != nil {
		return t, fmt.Errorf("%s: run.export: %w", j.File.Path, err)
	}
	t.Run = func(ctx context.Context, s *Step) error {
		res, err := export.New(j.Pool, j.Registry, s.Log).Run(ctx, opts)
		if err != nil {
			return fmt.Errorf("export to %s: %w (the previous export is left as it was)", alert.Redact(to), err)
		}
		fault.Pause(ctx, "export.done")
		s.Detail = res
		s.Count("tables", int64(len(res.Tables)))
		s.Count("files_written", int64(res.FilesWritten))
		s.Count("files_kept", int64(res.FilesKept))
		s.Count("files_removed", int64(res.FilesRemoved))
		s.Count("rows_written", res.RowsWritten)
		s.Count("bytes_written", res.BytesWritten)
		s.Note = "to " + alert.Redact(res.Target)
		return nil
	}
	return t, nil
}

func (j *Job) checkTask() (Task, error) {
	c := j.Config.Check
	cfg := quality.Config{FreshnessMaxAge: c.FreshnessMaxAge, FreshnessLevel: c.FreshnessLevel, MaxKeyNullRatio: c.MaxKeyNullRatio}
	if err := cfg.Validate(); err != nil {
		return Task{}, fmt.Errorf("%s: run.check: %w", j.File.Path, err)
	}
	return Task{Name: "check", Run: func(ctx context.Context, s *Step) error {
		rep, err := quality.New(j.Pool, s.Log, cfg).Run(ctx)
		if err != nil {
			return err
		}
		s.Detail = rep
		s.Count("checks", int64(len(rep.Results)))
		s.Count("errors", int64(rep.Errors))
		s.Count("warnings", int64(rep.Warnings))
		for _, r := range rep.Results {
			if !r.Passed && r.Level != quality.LevelInfo {
				s.Problems = append(s.Problems, fmt.Sprintf("%s %s on %s: observed %s, threshold %s %s",
					r.Level, r.Check, r.Table, strconv.FormatFloat(r.Observed, 'g', -1, 64), r.Threshold, r.Detail))
			}
		}
		if rep.Errors > 0 {
			return fmt.Errorf("%d error-level check(s) failed (see meta.check_results, check run %d): %w", rep.Errors, rep.RunID, ErrQuality)
		}
		if rep.Warnings > 0 {
			s.Status = StepWarning
			s.Note = fmt.Sprintf("%d warning(s)", rep.Warnings)
		}
		return nil
	}}, nil
}
