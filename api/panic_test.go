package api_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/novacorrente/novawh/api"
	"github.com/novacorrente/novawh/internal/pgtest"
)

// TestPanickingRefreshJob: a refresh job that panics (the Refresher is the
// injection point the CLI fills with the nightly job) becomes a failed job
// with the panic as its error and a logged stack; the server keeps
// answering and the next job runs.
func TestPanickingRefreshJob(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	logs := newLogBuffer()
	e := newEnv(t, func(o *api.Options, db *pgtest.DB) {
		o.APIToken, o.Logger = "tok", slog.New(slog.NewJSONHandler(logs, nil))
		o.Refresher = api.RefresherFunc(func(ctx context.Context, source string, force bool) (any, error) {
			if calls.Add(1) == 1 {
				var m map[string]int
				m["boom"]++ // a real runtime panic: assignment to entry in nil map
			}
			return map[string]string{"source": source}, nil
		})
	})
	tok := map[string]string{"X-API-Key": "tok"}
	acc := e.do(t, http.MethodPost, "/api/v1/data/refresh", tok, `{"source":"ml_results"}`)
	if acc.status != http.StatusAccepted {
		t.Fatalf("refresh: %d %s", acc.status, acc.body)
	}
	job := waitJob(t, e, acc.json.(map[string]any)["job_id"].(string), "tok")
	if job["status"] != api.JobFailed || !strings.Contains(job["error"].(string), "panicked") ||
		!strings.Contains(job["error"].(string), "nil map") || job["trigger"] != api.TriggerAPI || job["finished_at"] == nil {
		t.Fatalf("panicking job: %v", job)
	}
	if !strings.Contains(logs.String(), "refresh job panicked") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("no panic with its stack in the log: %s", logs.String())
	}
	// The server goes on: reads answer, the next job runs and succeeds.
	if r := e.get(t, "/api/v1/items?limit=1"); r.status != 200 {
		t.Fatalf("items after the panic: %d %s", r.status, r.body)
	}
	acc = e.do(t, http.MethodPost, "/api/v1/data/refresh", tok, `{}`)
	if acc.status != http.StatusAccepted {
		t.Fatalf("second refresh: %d %s", acc.status, acc.body)
	}
	if job := waitJob(t, e, acc.json.(map[string]any)["job_id"].(string), "tok"); job["status"] != api.JobSucceeded {
		t.Fatalf("second job: %v", job)
	}
}

// TestPanickingScheduledJob: a job run through Server.RunJob (what
// `serve --schedule` does for the nightly job) that panics is a failed job,
// listed with the others; the server keeps answering.
func TestPanickingScheduledJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *api.Options, _ *pgtest.DB) { o.APIToken = "tok" })
	job, err := e.srv.RunJob(context.Background(), "nightly", func(context.Context) (any, error) {
		panic(errors.New("step exploded"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != api.JobFailed || job.Trigger != api.TriggerSchedule || job.Error == nil || !strings.Contains(*job.Error, "step exploded") {
		t.Fatalf("scheduled job %+v", job)
	}
	ok, err := e.srv.RunJob(context.Background(), "nightly", func(context.Context) (any, error) { return "done", nil })
	if err != nil || ok.Status != api.JobSucceeded {
		t.Fatalf("next scheduled job %+v %v", ok, err)
	}
	r := e.do(t, http.MethodGet, "/api/v1/data/refresh", map[string]string{"X-API-Key": "tok"}, "")
	jobs := r.json.(map[string]any)["jobs"].([]any)
	if r.status != 200 || len(jobs) != 2 || jobs[0].(map[string]any)["job_id"] != ok.JobID || jobs[1].(map[string]any)["status"] != api.JobFailed {
		t.Fatalf("job list: %d %s", r.status, r.body)
	}
	if st := e.do(t, http.MethodGet, "/api/v1/data/refresh/"+job.JobID, map[string]string{"X-API-Key": "tok"}, ""); st.json.(map[string]any)["status"] != api.JobFailed {
		t.Fatalf("job state: %s", st.body)
	}
	if r := e.get(t, "/health"); r.status != 200 {
		t.Fatalf("health after the panic: %d %s", r.status, r.body)
	}
}

// TestHandlerPanicIsJSON500: a panic while serving a request (injected
// through Options.Now, which the inventory endpoint calls for its default
// date) answers the JSON internal error, is logged with its stack, and the
// server keeps serving, with the cache on and off.
func TestHandlerPanicIsJSON500(t *testing.T) {
	t.Parallel()
	for _, cacheOff := range []bool{false, true} {
		var armed atomic.Bool
		logs := newLogBuffer()
		e := newEnv(t, func(o *api.Options, _ *pgtest.DB) {
			o.CacheDisabled, o.Logger = cacheOff, slog.New(slog.NewJSONHandler(logs, nil))
			o.Now = func() time.Time {
				if armed.Load() {
					panic("clock broke")
				}
				return time.Date(2025, 5, 8, 12, 0, 0, 0, time.UTC)
			}
		})
		armed.Store(true)
		r := e.get(t, "/api/v1/inventory/"+itemPath(itemDisco))
		if r.status != http.StatusInternalServerError || r.json.(map[string]any)["error"].(map[string]any)["code"] != api.CodeInternal {
			t.Fatalf("cache off %v: %d %s", cacheOff, r.status, r.body)
		}
		if strings.Contains(string(r.body), "clock broke") {
			t.Errorf("the panic value reached the client: %s", r.body)
		}
		if !strings.Contains(logs.String(), "panic serving request") || !strings.Contains(logs.String(), "goroutine") {
			t.Errorf("panic not logged with its stack: %s", logs.String())
		}
		armed.Store(false)
		if r := e.get(t, "/api/v1/inventory/"+itemPath(itemDisco)); r.status != 200 {
			t.Fatalf("after the panic: %d %s", r.status, r.body)
		}
	}
}
