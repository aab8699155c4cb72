package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Refresher runs one load+refresh for a source; the API runs it in the
// background for POST /api/v1/data/refresh. summary is reported as JSON in
// the job's state, so it must be JSON-encodable.
type Refresher interface {
	Refresh(ctx context.Context, source string, force bool) (summary any, err error)
}

// RefresherFunc adapts a function to Refresher.
type RefresherFunc func(ctx context.Context, source string, force bool) (any, error)

// Refresh calls f.
func (f RefresherFunc) Refresh(ctx context.Context, source string, force bool) (any, error) {
	return f(ctx, source, force)
}

// Job states.
const (
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
	JobCanceled  = "canceled"
)

// Job triggers.
const (
	TriggerAPI      = "api"      // POST /api/v1/data/refresh
	TriggerSchedule = "schedule" // Handler.RunJob from an in-process scheduler
)

// Job is the state of one refresh job as GET /api/v1/data/refresh/{job_id}
// reports it.
type Job struct {
	JobID               string     `json:"job_id"`
	Status              string     `json:"status"`
	Trigger             string     `json:"trigger"`
	Source              string     `json:"source"`
	Force               bool       `json:"force"`
	SubmittedAt         time.Time  `json:"submitted_at"`
	StartedAt           time.Time  `json:"started_at"`
	FinishedAt          *time.Time `json:"finished_at"`
	DurationSeconds     *float64   `json:"duration_seconds"`
	EstimatedCompletion time.Time  `json:"estimated_completion"`
	Summary             any        `json:"summary"`
	Error               *string    `json:"error"`
}

// jobs runs refresh jobs one at a time and remembers the last ones.
type jobs struct {
	refresher Refresher
	log       *slog.Logger
	now       func() time.Time
	onDone    func(Job)
	keep      int
	defEst    time.Duration

	mu       sync.Mutex
	byID     map[string]*Job
	done     map[string]chan struct{} // of running jobs, closed at their end
	order    []string
	running  string
	lastTook time.Duration
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func newJobs(r Refresher, log *slog.Logger, now func() time.Time, onDone func(Job)) *jobs {
	ctx, cancel := context.WithCancel(context.Background())
	return &jobs{refresher: r, log: log, now: now, onDone: onDone, keep: 100, defEst: 2 * time.Minute,
		byID: map[string]*Job{}, done: map[string]chan struct{}{}, ctx: ctx, cancel: cancel}
}

// errBusy is returned by start while a job runs.
type errBusy struct{ id string }

func (e errBusy) Error() string { return fmt.Sprintf("refresh job %s is still running", e.id) }

// JobFunc is the work of one job; its summary is reported as JSON.
type JobFunc func(ctx context.Context) (summary any, err error)

// start launches a refresh job of the Refresher unless one is running.
func (j *jobs) start(source string, force bool) (Job, error) {
	return j.startFunc(TriggerAPI, source, force, func(ctx context.Context) (any, error) {
		return j.refresher.Refresh(ctx, source, force)
	})
}

// startFunc launches fn as a job unless one is running. The job's context
// ends when the server closes.
func (j *jobs) startFunc(trigger, source string, force bool, fn JobFunc) (Job, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.running != "" {
		return Job{}, errBusy{id: j.running}
	}
	if j.ctx.Err() != nil {
		return Job{}, fmt.Errorf("server is shutting down")
	}
	est := j.defEst
	if j.lastTook > 0 {
		est = j.lastTook
	}
	now := j.now().UTC()
	job := &Job{JobID: newJobID(now), Status: JobRunning, Trigger: trigger, Source: source, Force: force,
		SubmittedAt: now, StartedAt: now, EstimatedCompletion: now.Add(est).Truncate(time.Second)}
	j.byID[job.JobID] = job
	j.order = append(j.order, job.JobID)
	for len(j.order) > j.keep {
		delete(j.byID, j.order[0])
		j.order = j.order[1:]
	}
	j.running = job.JobID
	j.done[job.JobID] = make(chan struct{})
	j.wg.Add(1)
	go j.run(job.JobID, trigger, source, force, fn)
	return *job, nil
}

func (j *jobs) run(id, trigger, source string, force bool, fn JobFunc) {
	defer j.wg.Done()
	log := j.log.With("job_id", id, "trigger", trigger, "source", source, "force", force)
	log.Info("refresh job started")
	summary, err := j.safely(log, fn)
	j.mu.Lock()
	final := *j.byID[id]
	canceled := j.ctx.Err() != nil
	j.mu.Unlock()
	fin := j.now().UTC()
	took := fin.Sub(final.StartedAt)
	secs := took.Seconds()
	final.FinishedAt, final.DurationSeconds, final.Summary = &fin, &secs, summary
	switch {
	case err == nil:
		final.Status = JobSucceeded
	case canceled:
		msg := "canceled by server shutdown: " + err.Error()
		final.Status, final.Error = JobCanceled, &msg
	default:
		msg := err.Error()
		final.Status, final.Error = JobFailed, &msg
	}
	if err != nil {
		log.Error("refresh job failed", "status", final.Status, "err", err, "duration_ms", took.Milliseconds())
	} else {
		log.Info("refresh job finished", "duration_ms", took.Milliseconds())
	}
	// The cache is purged before the job shows as ended, so that whoever
	// sees it ended reads the new data.
	if j.onDone != nil {
		j.onDone(final)
	}
	j.mu.Lock()
	*j.byID[id] = final
	if err == nil {
		j.lastTook = took
	}
	j.running = ""
	close(j.done[id])
	delete(j.done, id)
	j.mu.Unlock()
}

// safely runs fn and turns a panic into the job's error (logged with its
// stack): a panicking job fails, the server goes on.
func (j *jobs) safely(log *slog.Logger, fn JobFunc) (summary any, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("refresh job panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			summary, err = nil, fmt.Errorf("refresh panicked: %v", p)
		}
	}()
	return fn(j.ctx)
}

// wait blocks until job id has ended or ctx ends, and returns its state.
func (j *jobs) wait(ctx context.Context, id string) (Job, error) {
	j.mu.Lock()
	done := j.done[id]
	j.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			job, _ := j.get(id)
			return job, ctx.Err()
		}
	}
	job, ok := j.get(id)
	if !ok {
		return Job{}, fmt.Errorf("job %s is no longer known", id)
	}
	return job, nil
}

func (j *jobs) get(id string) (Job, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.byID[id]
	if !ok {
		return Job{}, false
	}
	return *job, true
}

// list returns the jobs kept, newest first.
func (j *jobs) list() []Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Job, 0, len(j.order))
	for i := len(j.order) - 1; i >= 0; i-- {
		out = append(out, *j.byID[j.order[i]])
	}
	return out
}

// close cancels a running job and waits for it (at most until ctx ends).
func (j *jobs) close(ctx context.Context) error {
	j.cancel()
	done := make(chan struct{})
	go func() { j.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("refresh job still running at shutdown: %w", ctx.Err())
	}
}

func newJobID(t time.Time) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "rf_" + t.Format("20060102T150405Z") + "_" + hex.EncodeToString(b)
}
