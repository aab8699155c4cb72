package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/alert"
	"github.com/novacorrente/novawh/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// webhook records alert bodies.
type webhook struct {
	mu    sync.Mutex
	texts []string
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m alert.Message
	if err := json.Unmarshal(b, &m); err != nil {
		http.Error(rw, "bad json", 400)
		return
	}
	w.mu.Lock()
	w.texts = append(w.texts, m.Text)
	w.mu.Unlock()
}

func (w *webhook) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.texts...)
}

// task builds a step from a name, its Continue flag and its function.
func task(name string, cont bool, f func(ctx context.Context, s *Step) error) Task {
	return Task{Name: name, Continue: cont, Run: f}
}

func TestRunnerOutcomes(t *testing.T) {
	t.Parallel()
	ok := func(ctx context.Context, s *Step) error { s.Count("rows", 3); return nil }
	warn := func(ctx context.Context, s *Step) error {
		s.Status = StepWarning
		s.Note = "2 rows rejected"
		return nil
	}
	boom := func(ctx context.Context, s *Step) error {
		s.Problems = append(s.Problems, "data/raw/bad.csv: line 2, column quantity: not a number")
		return errors.New("1 of 3 files failed (password=hunter2)")
	}
	bad := func(ctx context.Context, s *Step) error {
		return fmt.Errorf("2 error-level checks failed: %w", ErrQuality)
	}
	panics := func(ctx context.Context, s *Step) error { panic("nil map") }
	cases := []struct {
		name       string
		tasks      []Task
		onWarning  bool
		status     string
		exit       int
		failedStep string
		steps      string // name:status ...
		alerts     int
		alertHas   []string
	}{
		{name: "all ok", tasks: []Task{task("load", true, ok), task("refresh", false, ok)},
			status: RunOK, exit: 0, steps: "load:ok refresh:ok"},
		{name: "warning without alert", tasks: []Task{task("load", true, warn), task("refresh", false, ok)},
			status: RunOK, exit: 0, steps: "load:warning refresh:ok"},
		{name: "warning with alert", onWarning: true, tasks: []Task{task("load", true, warn)},
			status: RunOK, exit: 0, steps: "load:warning", alerts: 1, alertHas: []string{"succeeded with warnings", "2 rows rejected"}},
		{name: "continue after a failed load", tasks: []Task{task("load", true, boom), task("refresh", false, ok), task("export", false, ok)},
			status: RunFailed, exit: 1, failedStep: "load", steps: "load:failed refresh:ok export:ok", alerts: 1,
			alertHas: []string{"FAILED (exit 1) at step load", "1 of 3 files failed", "bad.csv: line 2"}},
		{name: "stop after a failed refresh", tasks: []Task{task("load", true, ok), task("refresh", false, boom), task("export", false, ok)},
			status: RunFailed, exit: 1, failedStep: "refresh", steps: "load:ok refresh:failed export:skipped", alerts: 1},
		{name: "quality failure skips export", tasks: []Task{task("refresh", false, ok), task("check", false, bad), task("export", false, ok)},
			status: RunQualityFailed, exit: 3, failedStep: "check", steps: "refresh:ok check:failed export:skipped", alerts: 1,
			alertHas: []string{"data-quality"}},
		{name: "load failure beats quality", tasks: []Task{task("load", true, boom), task("check", false, bad)},
			status: RunFailed, exit: 1, failedStep: "load", steps: "load:failed check:failed", alerts: 1},
		{name: "panic is a failure", tasks: []Task{task("refresh", false, panics), task("export", false, ok)},
			status: RunFailed, exit: 1, failedStep: "refresh", steps: "refresh:failed export:skipped", alerts: 1,
			alertHas: []string{"panicked: nil map"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			hook := &webhook{}
			srv := httptest.NewServer(hook)
			defer srv.Close()
			r := &Runner{Pool: db.Pool, Alert: alert.New(srv.URL, nil), AlertOnWarning: tc.onWarning, Options: map[string]any{"offline": true}}
			rep, err := r.Run(context.Background(), tc.tasks)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status != tc.status || rep.ExitCode != tc.exit || rep.FailedStep != tc.failedStep {
				t.Fatalf("status %s exit %d failed step %q, want %s %d %q", rep.Status, rep.ExitCode, rep.FailedStep, tc.status, tc.exit, tc.failedStep)
			}
			var got []string
			for _, s := range rep.Steps {
				got = append(got, s.Name+":"+s.Status)
			}
			if strings.Join(got, " ") != tc.steps {
				t.Fatalf("steps %v, want %s", got, tc.steps)
			}
			if !rep.Recorded {
				t.Fatal("outcome not recorded")
			}
			// The row in meta.runs says the same.
			var status, steps string
			var exit *int
			var failed *string
			if err := db.Pool.QueryRow(context.Background(), `SELECT status, exit_code, failed_step,
				(SELECT string_agg(s->>'name' || ':' || (s->>'status'), ' ' ORDER BY o) FROM jsonb_array_elements(steps) WITH ORDINALITY AS x(s, o))
				FROM meta.runs WHERE run_id = $1`, rep.RunID).Scan(&status, &exit, &failed, &steps); err != nil {
				t.Fatal(err)
			}
			if status != tc.status || exit == nil || *exit != tc.exit || steps != tc.steps {
				t.Fatalf("meta.runs: %s %v %q, want %s %d %q", status, exit, steps, tc.status, tc.exit, tc.steps)
			}
			if (failed == nil) != (tc.failedStep == "") {
				t.Fatalf("meta.runs.failed_step = %v", failed)
			}
			texts := hook.all()
			if len(texts) != tc.alerts {
				t.Fatalf("%d alerts, want %d: %q", len(texts), tc.alerts, texts)
			}
			for _, want := range tc.alertHas {
				if !strings.Contains(texts[0], want) {
					t.Errorf("alert %q does not contain %q", texts[0], want)
				}
			}
			for _, txt := range texts {
				if !strings.Contains(txt, fmt.Sprintf("run %d", rep.RunID)) {
					t.Errorf("alert does not name the run: %q", txt)
				}
				if strings.Contains(txt, "hunter2") {
					t.Errorf("alert leaks a password: %q", txt)
				}
			}
			if tc.alerts > 0 != rep.AlertSent {
				t.Fatalf("AlertSent = %v", rep.AlertSent)
			}
			var buf strings.Builder
			if err := WriteText(&buf, rep); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), fmt.Sprintf("novawh run %d:", rep.RunID)) {
				t.Fatalf("summary: %s", buf.String())
			}
		})
	}
}

func TestRunnerLock(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	hold := make(chan struct{})
	entered := make(chan struct{})
	first := &Runner{Pool: db.Pool}
	var wg sync.WaitGroup
	wg.Add(1)
	var firstRep *Report
	go func() {
		defer wg.Done()
		var err error
		firstRep, err = first.Run(ctx, []Task{task("load", false, func(ctx context.Context, s *Step) error {
			close(entered)
			<-hold
			return nil
		})})
		if err != nil {
			t.Error(err)
		}
	}()
	<-entered

	// No waiting: a BusyError naming the running run, and no row written.
	ran := false
	second := &Runner{Pool: db.Pool}
	_, err := second.Run(ctx, []Task{task("load", false, func(context.Context, *Step) error { ran = true; return nil })})
	var be *BusyError
	if !errors.As(err, &be) || be.RunID == 0 || be.Waited != 0 {
		t.Fatalf("second run: %v", err)
	}
	if !strings.Contains(be.Error(), fmt.Sprintf("run %d", be.RunID)) {
		t.Fatalf("message %q", be.Error())
	}
	// Waiting a little: still busy, with the wait in the message.
	third := &Runner{Pool: db.Pool, LockWait: 600 * time.Millisecond}
	start := time.Now()
	_, err = third.Run(ctx, []Task{task("load", false, func(context.Context, *Step) error { ran = true; return nil })})
	if !errors.As(err, &be) || be.Waited == 0 || time.Since(start) < 500*time.Millisecond {
		t.Fatalf("third run: %v after %s", err, time.Since(start))
	}
	if ran {
		t.Fatal("a task ran while another run held the lock")
	}
	// A wait shorter than a second still counts as waiting (it used to
	// round to zero and pass for "did not wait").
	short := &Runner{Pool: db.Pool, LockWait: 200 * time.Millisecond}
	if _, err = short.Run(ctx, []Task{task("load", false, func(context.Context, *Step) error { ran = true; return nil })}); !errors.As(err, &be) || be.Waited < 200*time.Millisecond {
		t.Fatalf("short wait: %v (waited %s)", err, be.Waited)
	}
	// Waiting long enough: runs once the first finishes.
	fourth := &Runner{Pool: db.Pool, LockWait: 30 * time.Second}
	go func() { time.Sleep(300 * time.Millisecond); close(hold) }()
	rep, err := fourth.Run(ctx, []Task{task("load", false, func(context.Context, *Step) error { ran = true; return nil })})
	if err != nil || !ran || rep.Status != RunOK {
		t.Fatalf("fourth run: %v ran=%v", err, ran)
	}
	wg.Wait()
	if firstRep == nil || firstRep.Status != RunOK {
		t.Fatalf("first run: %+v", firstRep)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM meta.runs").Scan(&n); err != nil || n != 2 {
		t.Fatalf("meta.runs has %d rows (%v), want 2", n, err)
	}
}

func TestRunnerMarksAbandoned(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	var dead int64
	if err := db.Pool.QueryRow(ctx, `INSERT INTO meta.runs (pid, steps) VALUES (999999, '[{"name":"load","status":"ok"}]') RETURNING run_id`).Scan(&dead); err != nil {
		t.Fatal(err)
	}
	rep, err := (&Runner{Pool: db.Pool}).Run(ctx, nil)
	if err != nil || rep.Status != RunOK {
		t.Fatalf("%v %+v", err, rep)
	}
	var status, msg string
	if err := db.Pool.QueryRow(ctx, "SELECT status, error FROM meta.runs WHERE run_id = $1", dead).Scan(&status, &msg); err != nil {
		t.Fatal(err)
	}
	if status != RunAbandoned || !strings.Contains(msg, "killed") {
		t.Fatalf("dead run: %s %q", status, msg)
	}
}
