package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/novacorrente/novawh/internal/alert"
	"github.com/novacorrente/novawh/internal/logx"
	"github.com/novacorrente/novawh/internal/pgerr"
	"github.com/novacorrente/novawh/internal/pglock"
	"github.com/novacorrente/novawh/internal/run/fault"
	"github.com/novacorrente/novawh/internal/run/rundb"
)

// Step statuses.
const (
	StepOK      = "ok"
	StepWarning = "warning" // finished, with something to look at (rejected rows, quality warnings)
	StepFailed  = "failed"
	StepSkipped = "skipped" // not run: disabled, offline, or an earlier step stopped the run
)

// Run statuses (meta.runs.status).
const (
	RunRunning       = "running"
	RunOK            = "ok"
	RunFailed        = "failed"
	RunQualityFailed = "quality_failed"
	RunAbandoned     = "abandoned"
)

// Exit codes (the CLI contract).
const (
	ExitOK      = 0
	ExitFailed  = 1
	ExitUsage   = 2
	ExitQuality = 3
)

// ErrQuality marks an error-level data-quality failure (exit code 3). A
// task returns an error wrapping it.
var ErrQuality = errors.New("data-quality check failed")

// Step is one step's record, stored in meta.runs.steps and printed.
type Step struct {
	Name       string           `json:"name"`
	Status     string           `json:"status"`
	StartedAt  time.Time        `json:"started_at"`
	DurationMS int64            `json:"duration_ms"`
	Counts     map[string]int64 `json:"counts,omitempty"`
	Note       string           `json:"note,omitempty"`
	Error      string           `json:"error,omitempty"`
	// Problems lists per-item failures (a file that failed, a check that
	// failed) even when the step as a whole continued.
	Problems []string `json:"problems,omitempty"`
	// Detail is the step's own machine-readable result (load results,
	// quality report, export summary).
	Detail any `json:"detail,omitempty"`
	// Log is the run's logger for this step (run_id and step on every
	// line): the task hands it to the loader, puller, refresher, checker
	// and exporter it builds.
	Log *slog.Logger `json:"-"`
}

// Count adds n to counter k.
func (s *Step) Count(k string, n int64) {
	if s.Counts == nil {
		s.Counts = map[string]int64{}
	}
	s.Counts[k] += n
}

// Task is a named step of the job.
type Task struct {
	Name string
	// Run executes the step. It fills the step's counts, note, problems and
	// detail, may set Status to StepWarning or StepSkipped, and returns an
	// error when the step failed.
	Run func(ctx context.Context, s *Step) error
	// Continue lets the following tasks run after this one failed (the run
	// still ends failed). Used for load and pull: one bad file or one
	// unreachable API must not keep the good data out of gold.
	Continue bool
}

// Report is the outcome of one run (printed, --json, and meta.runs).
type Report struct {
	RunID         int64     `json:"run_id"`
	Status        string    `json:"status"`
	ExitCode      int       `json:"exit_code"`
	FailedStep    string    `json:"failed_step,omitempty"`
	Error         string    `json:"error,omitempty"`
	Trigger       string    `json:"trigger"`
	SchemaVersion uint      `json:"schema_version"`
	StartedAt     time.Time `json:"started_at"`
	FinishedAt    time.Time `json:"finished_at"`
	DurationMS    int64     `json:"duration_ms"`
	Steps         []Step    `json:"steps"`
	// Recorded is false when the outcome could not be written to meta.runs
	// (database gone): the row then stays 'running' until the next run
	// marks it abandoned.
	Recorded  bool   `json:"recorded"`
	AlertSent bool   `json:"alert_sent"`
	AlertErr  string `json:"alert_error,omitempty"`
}

// Warnings counts steps that finished with warnings.
func (r *Report) Warnings() int {
	n := 0
	for _, s := range r.Steps {
		if s.Status == StepWarning {
			n++
		}
	}
	return n
}

// BusyError: another run holds the run lock.
type BusyError struct {
	RunID     int64
	StartedAt time.Time
	Host      string
	PID       int
	Waited    time.Duration
}

func (e *BusyError) Error() string {
	who := "another novawh run"
	if e.RunID > 0 {
		who = fmt.Sprintf("run %d (started %s on %s, pid %d)", e.RunID, e.StartedAt.Format(time.RFC3339), e.Host, e.PID)
	}
	if e.Waited > 0 {
		return fmt.Sprintf("%s still holds the run lock after waiting %s", who, e.Waited.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s is in progress: not starting a second one (use --wait to wait for it)", who)
}

// Runner runs tasks under the run lock and records them.
type Runner struct {
	Pool    *pgxpool.Pool
	Log     *slog.Logger
	Alert   *alert.Sender
	Trigger string // "cli", "schedule" or "api"
	// AlertOnWarning also alerts when the run succeeds with warnings.
	AlertOnWarning bool
	// LockWait is how long to wait for a running job; 0 fails at once
	// with a *BusyError.
	LockWait time.Duration
	// Options are recorded in meta.runs.options.
	Options map[string]any
	// SchemaVersion is recorded (checked by the caller with CheckSchema).
	SchemaVersion uint
	// Prelude are steps done before the lock (the schema check), recorded
	// first.
	Prelude []Step
}

// Run takes the lock, records the run and executes tasks in order. The
// returned error is non-nil only when the run could not start (lock busy,
// database unreachable); step failures are in the report.
func (r *Runner) Run(ctx context.Context, tasks []Task) (*Report, error) {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	held, err := r.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer held.Release(ctx)
	fault.Pause(ctx, "run.locked")
	rep, log, err := r.start(ctx, log, len(tasks))
	if err != nil {
		return nil, err
	}
	var out outcome
	for _, t := range tasks {
		r.step(ctx, t, rep, held.Conn(), &out, log)
	}
	fault.Pause(ctx, "run.finish")
	r.conclude(ctx, rep, out, log)
	return rep, nil
}

// outcome is what the steps so far decide about the run.
type outcome struct {
	firstErr error // the first failure; its step is Report.FailedStep
	stopped  bool  // a step that stops the run failed: the rest are skipped
	quality  bool  // a step failed because of data quality
}

// start records the run in meta.runs (under the lock) and marks the rows
// dead processes left 'running' abandoned. The returned logger carries the
// run's id.
func (r *Runner) start(ctx context.Context, log *slog.Logger, steps int) (*Report, *slog.Logger, error) {
	trigger := r.Trigger
	if trigger == "" {
		trigger = "cli"
	}
	host, _ := os.Hostname()
	opts, _ := json.Marshal(r.Options)
	if r.Options == nil {
		opts = []byte("{}")
	}
	rep := &Report{Trigger: trigger, SchemaVersion: r.SchemaVersion, Steps: append([]Step{}, r.Prelude...)}
	q := rundb.New(r.Pool)
	version, pid := int32(r.SchemaVersion), int32(os.Getpid())
	row, err := q.InsertRun(ctx, rundb.InsertRunParams{Trigger: trigger, SchemaVersion: &version, Options: opts, Host: &host, Pid: &pid})
	if err != nil {
		return nil, nil, fmt.Errorf("run: record start in meta.runs: %w", pgerr.ExplainConn(err))
	}
	rep.RunID, rep.StartedAt = row.RunID, row.StartedAt.Time
	// Every line of this run carries its id, the steps' too.
	log = log.With("run_id", rep.RunID)
	log.Info("run started", "trigger", trigger, "steps", steps)

	// We hold the lock: any other row still 'running' belongs to a dead process.
	abandoned, err := q.MarkAbandonedRuns(ctx, rep.RunID)
	if err != nil {
		err = fmt.Errorf("run: mark abandoned runs: %w", pgerr.ExplainConn(err))
		rep.Status, rep.ExitCode, rep.Error = RunFailed, ExitFailed, logx.OneLine(err.Error())
		_ = r.finish(ctx, rep)
		return nil, nil, err
	}
	if abandoned > 0 {
		log.Warn("earlier runs did not finish: marked abandoned", "runs", abandoned)
	}
	return rep, log, nil
}

// step runs task t (or records it skipped), appends its record to rep,
// saves the steps in meta.runs and updates out.
func (r *Runner) step(ctx context.Context, t Task, rep *Report, lockConn *pgxpool.Conn, out *outcome, log *slog.Logger) {
	st := Step{Name: t.Name, StartedAt: time.Now(), Log: log.With("step", t.Name)}
	if out.stopped {
		st.Status, st.Note = StepSkipped, "not run: an earlier step failed"
		rep.Steps = append(rep.Steps, st)
		return
	}
	if err := ctx.Err(); err != nil {
		st.Status, st.Note = StepSkipped, "not run: the run was interrupted"
		rep.Steps = append(rep.Steps, st)
		out.stopped = true
		if out.firstErr == nil {
			out.firstErr, rep.FailedStep = fmt.Errorf("interrupted: %w", err), t.Name
		}
		return
	}
	fault.Pause(ctx, t.Name)
	log.Info("step started", "step", t.Name)
	// The run lock lives in its session: if that connection died (server
	// restart), another run could start, so this one must stop.
	err := lockAlive(ctx, lockConn)
	if err == nil {
		err = runTask(ctx, t, &st)
	} else {
		t.Continue = false
	}
	st.DurationMS = time.Since(st.StartedAt).Milliseconds()
	if err != nil {
		err = pgerr.ExplainConn(err)
		st.Status = StepFailed
		st.Error = logx.OneLine(alert.Redact(err.Error()))
		out.quality = out.quality || errors.Is(err, ErrQuality)
		if out.firstErr == nil {
			out.firstErr, rep.FailedStep = err, t.Name
		}
		out.stopped = out.stopped || !t.Continue
		log.Error("step failed", "step", t.Name, "err", st.Error, "duration_ms", st.DurationMS)
	} else {
		if st.Status == "" {
			st.Status = StepOK
		}
		log.Info("step finished", "step", t.Name, "status", st.Status, "duration_ms", st.DurationMS, "counts", st.Counts)
	}
	rep.Steps = append(rep.Steps, st)
	if err := r.saveSteps(ctx, rep); err != nil {
		log.Warn("could not record the step in meta.runs", "step", t.Name, "err", err)
	}
}

// conclude sets the run's status and exit code from out, records them in
// meta.runs and alerts.
func (r *Runner) conclude(ctx context.Context, rep *Report, out outcome, log *slog.Logger) {
	rep.FinishedAt = time.Now()
	rep.DurationMS = rep.FinishedAt.Sub(rep.StartedAt).Milliseconds()
	switch {
	case out.firstErr == nil:
		rep.Status, rep.ExitCode = RunOK, ExitOK
	case out.quality && onlyQuality(rep):
		rep.Status, rep.ExitCode = RunQualityFailed, ExitQuality
	default:
		rep.Status, rep.ExitCode = RunFailed, ExitFailed
	}
	if out.firstErr != nil {
		rep.Error = logx.OneLine(alert.Redact(out.firstErr.Error()))
	}
	if err := r.finish(ctx, rep); err != nil {
		log.Error("could not record the run's outcome in meta.runs (the next run marks it abandoned)", "err", err)
	} else {
		rep.Recorded = true
	}
	if rep.Status != RunOK || (r.AlertOnWarning && rep.Warnings() > 0) {
		r.sendAlert(ctx, rep, log)
	}
	log.Info("run finished", "status", rep.Status, "exit_code", rep.ExitCode, "duration_ms", rep.DurationMS)
}

// lockAlive checks the session holding the run lock still answers.
func lockAlive(ctx context.Context, conn *pgxpool.Conn) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := conn.Exec(cctx, "SELECT 1"); err != nil {
		return fmt.Errorf("%w: the session holding the run lock is gone, so the run stops here: %w", pgerr.ErrConnLost, err)
	}
	return nil
}

// runTask runs t, turning a panic on the step's goroutine into the step's
// failure (recorded in meta.runs like any other; the stack goes to the
// log). Goroutines a step starts recover their own panics (the loader,
// the exporter).
func runTask(ctx context.Context, t Task, st *Step) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Recovered(st.Log, "step "+t.Name, p)
		}
	}()
	fault.Panic(t.Name)
	return t.Run(ctx, st)
}

// Recovered is the error of a recovered panic of what (a step, an input):
// its value in one line; the stack is logged at error level.
func Recovered(log *slog.Logger, what string, p any) error {
	if log != nil {
		log.Error(what+" panicked (a bug: please report it with this line)", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	}
	return fmt.Errorf("%s panicked: %v", what, p)
}

// onlyQuality: every failed step failed because of data quality.
func onlyQuality(rep *Report) bool {
	for _, s := range rep.Steps {
		if s.Status == StepFailed && s.Name != "check" {
			return false
		}
	}
	return true
}

// lock takes the run lock (pglock.Run) on a dedicated session, waiting up
// to LockWait; a busy lock is a *BusyError naming the running run.
func (r *Runner) lock(ctx context.Context) (*pglock.Held, error) {
	start := time.Now()
	held, err := pglock.Acquire(ctx, r.Pool, pglock.Run, pglock.Wait{For: r.LockWait})
	if errors.Is(err, pglock.ErrBusy) {
		be := &BusyError{}
		if r.LockWait > 0 {
			be.Waited = time.Since(start)
		}
		if row, err := rundb.New(r.Pool).RunningRun(ctx); err == nil {
			be.RunID, be.StartedAt, be.Host, be.PID = row.RunID, row.StartedAt.Time, row.Host, int(row.Pid)
		}
		return nil, be
	}
	if err != nil {
		return nil, fmt.Errorf("run: take the run lock: %w", pgerr.ExplainConn(err))
	}
	return held, nil
}

func (r *Runner) saveSteps(ctx context.Context, rep *Report) error {
	steps, err := json.Marshal(rep.Steps)
	if err != nil {
		return err
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return rundb.New(r.Pool).SaveRunSteps(uctx, rundb.SaveRunStepsParams{RunID: rep.RunID, Steps: steps})
}

func (r *Runner) finish(ctx context.Context, rep *Report) error {
	steps, err := json.Marshal(rep.Steps)
	if err != nil {
		return err
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	code := int32(rep.ExitCode)
	n, err := rundb.New(r.Pool).FinishRun(uctx, rundb.FinishRunParams{RunID: rep.RunID, Status: rep.Status, ExitCode: &code,
		FailedStep: rep.FailedStep, Error: rep.Error, Steps: steps})
	if err != nil {
		return pgerr.ExplainConn(err)
	}
	if n != 1 {
		return errors.New("the run's row is no longer 'running' (another run marked it abandoned after this one lost its lock)")
	}
	return nil
}

func (r *Runner) sendAlert(ctx context.Context, rep *Report, log *slog.Logger) {
	if !r.Alert.Enabled() {
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	sender := *r.Alert
	sender.Log = log
	if err := sender.Send(actx, AlertText(rep)); err != nil {
		rep.AlertErr = err.Error()
		log.Error("alert not delivered", "err", err)
		return
	}
	rep.AlertSent = true
}

// AlertText is the webhook message for rep: run id, status, failed step,
// error, and the per-item problems (capped).
func AlertText(rep *Report) string {
	host, _ := os.Hostname()
	var b strings.Builder
	switch rep.Status {
	case RunOK:
		fmt.Fprintf(&b, ":warning: novawh run %d on %s succeeded with warnings", rep.RunID, host)
	case RunQualityFailed:
		fmt.Fprintf(&b, ":x: novawh run %d on %s FAILED data-quality checks (exit %d)", rep.RunID, host, rep.ExitCode)
	default:
		fmt.Fprintf(&b, ":x: novawh run %d on %s FAILED (exit %d)", rep.RunID, host, rep.ExitCode)
	}
	if rep.FailedStep != "" {
		fmt.Fprintf(&b, " at step %s", rep.FailedStep)
	}
	fmt.Fprintf(&b, " after %s.", alert.FormatDuration(time.Duration(rep.DurationMS)*time.Millisecond))
	if rep.Error != "" {
		fmt.Fprintf(&b, "\nError: %s", rep.Error)
	}
	shown := 0
	for _, s := range rep.Steps {
		if s.Status == StepOK || s.Status == StepSkipped && s.Error == "" && len(s.Problems) == 0 && s.Note == "" {
			continue
		}
		line := fmt.Sprintf("\n• %s: %s", s.Name, s.Status)
		if s.Error != "" && s.Name != rep.FailedStep {
			line += " - " + s.Error
		} else if s.Note != "" {
			line += " - " + s.Note
		}
		b.WriteString(line)
		for _, p := range s.Problems {
			if shown == 10 {
				fmt.Fprintf(&b, "\n  … more in `novawh status` / meta.runs run_id=%d", rep.RunID)
				shown++
				break
			}
			if shown > 10 {
				break
			}
			fmt.Fprintf(&b, "\n  - %s", p)
			shown++
		}
	}
	return alert.Redact(b.String())
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
