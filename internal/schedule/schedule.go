package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
	_ "time/tzdata" // time zones in minimal containers

	"github.com/robfig/cron/v3"
)

// Job is what the scheduler runs; ctx ends when the scheduler stops.
type Job func(ctx context.Context)

// Scheduler fires Job on a cron schedule.
type Scheduler struct {
	Spec     string
	Location *time.Location
	sched    cron.Schedule
	job      Job
	log      *slog.Logger

	mu      sync.Mutex
	running bool
}

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// DefaultTZ is the default time zone of schedules (Nova Corrente is in
// Salvador, BA).
const DefaultTZ = "America/Sao_Paulo"

// Parse validates a cron spec (5 fields: minute hour day-of-month month
// day-of-week, or a descriptor such as @daily / @every 1h) and a time
// zone name (IANA, e.g. America/Sao_Paulo; "" means the default).
func Parse(spec, tz string) (cron.Schedule, *time.Location, error) {
	if tz == "" {
		tz = DefaultTZ
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, nil, fmt.Errorf("schedule time zone %q: %w", tz, err)
	}
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("schedule %q: %w (expected 5 cron fields such as \"0 2 * * *\", or @daily, @every 6h)", spec, err)
	}
	return s, loc, nil
}

// New prepares a scheduler; it does not start it.
func New(spec, tz string, job Job, log *slog.Logger) (*Scheduler, error) {
	s, loc, err := Parse(spec, tz)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{Spec: spec, Location: loc, sched: s, job: job, log: log}, nil
}

// Next is the next firing time after t, in the scheduler's zone.
func (s *Scheduler) Next(t time.Time) time.Time { return s.sched.Next(t.In(s.Location)) }

// Run fires the job until ctx ends, then cancels a running job and waits
// for it to return.
func (s *Scheduler) Run(ctx context.Context) error {
	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := cron.New(cron.WithLocation(s.Location), cron.WithParser(parser),
		cron.WithLogger(cronLogger{s.log}),
		cron.WithChain(cron.Recover(cronLogger{s.log}), cron.SkipIfStillRunning(cronLogger{s.log})))
	c.Schedule(s.sched, cron.FuncJob(func() {
		s.setRunning(true)
		defer s.setRunning(false)
		s.log.Info("scheduled run starting", "schedule", s.Spec, "tz", s.Location.String())
		s.job(jobCtx)
		s.log.Info("scheduled run done", "next", s.Next(time.Now()).Format(time.RFC3339))
	}))
	s.log.Info("scheduler started", "schedule", s.Spec, "tz", s.Location.String(), "next", s.Next(time.Now()).Format(time.RFC3339))
	c.Start()
	<-ctx.Done()
	cancel()
	<-c.Stop().Done()
	s.log.Info("scheduler stopped")
	return nil
}

// Running reports whether a scheduled job is executing now.
func (s *Scheduler) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

func (s *Scheduler) setRunning(v bool) {
	s.mu.Lock()
	s.running = v
	s.mu.Unlock()
}

// cronLogger adapts slog to cron.Logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append([]any{"err", err}, kv...)...)
}
