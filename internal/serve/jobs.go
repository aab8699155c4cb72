package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
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

// Job is the state of one refresh job as GET /api/v1/data/refresh/{job_id}
// reports it.
type Job struct {
	JobID               string     `json:"job_id"`
	Status              string     `json:"status"`
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
		byID: map[string]*Job{}, ctx: ctx, cancel: cancel}
}

// errBusy is returned by start while a job runs.
type errBusy struct{ id string }

func (e errBusy) Error() string { return fmt.Sprintf("refresh job %s is still running", e.id) }

// start launches a job unless one is running.
func (j *jobs) start(source string, force bool) (Job, error) {
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
	job := &Job{JobID: newJobID(now), Status: JobRunning, Source: source, Force: force,
		SubmittedAt: now, StartedAt: now, EstimatedCompletion: now.Add(est).Truncate(time.Second)}
	j.byID[job.JobID] = job
	j.order = append(j.order, job.JobID)
	for len(j.order) > j.keep {
		delete(j.byID, j.order[0])
		j.order = j.order[1:]
	}
	j.running = job.JobID
	j.wg.Add(1)
	go j.run(job.JobID, source, force)
	return *job, nil
}

func (j *jobs) run(id, source string, force bool) {
	defer j.wg.Done()
	log := j.log.With("job_id", id, "source", source, "force", force)
	log.Info("refresh job started")
	summary, err := j.safeRefresh(source, force)
	j.mu.Lock()
	job := j.byID[id]
	fin := j.now().UTC()
	took := fin.Sub(job.StartedAt)
	secs := took.Seconds()
	job.FinishedAt, job.DurationSeconds = &fin, &secs
	switch {
	case err == nil:
		job.Status, job.Summary = JobSucceeded, summary
		j.lastTook = took
	case j.ctx.Err() != nil:
		msg := "canceled by server shutdown: " + err.Error()
		job.Status, job.Error = JobCanceled, &msg
	default:
		msg := err.Error()
		job.Status, job.Error = JobFailed, &msg
	}
	j.running = ""
	done := *job
	j.mu.Unlock()
	if err != nil {
		log.Error("refresh job failed", "status", done.Status, "err", err, "duration_ms", took.Milliseconds())
	} else {
		log.Info("refresh job finished", "duration_ms", took.Milliseconds())
	}
	if j.onDone != nil {
		j.onDone(done)
	}
}

// safeRefresh turns a panic of the refresher into a failed job.
func (j *jobs) safeRefresh(source string, force bool) (summary any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("refresh panicked: %v", p)
		}
	}()
	return j.refresher.Refresh(j.ctx, source, force)
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
