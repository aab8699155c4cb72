package fault

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/testbin"
)

// A panic in any step of `novawh run` is that step's failure: recorded in
// meta.runs with the reason (and the input, for a load), the inputs and
// steps the job design lets go on do, and the exit code is 1 (failed),
// never Go's 2 with a crash.
func TestPanicIsAStepFailure(t *testing.T) {
	t.Parallel()
	cases := []struct {
		point      string
		failedStep string
		errParts   []string
		steps      map[string]string // status of each step after
		loaded     int               // meta.loads rows loaded
	}{
		// The second input (ml_forecasts) panics: ERP and inventory still load,
		// and refresh, check and export run on them.
		{"load.input#2", "load", []string{"load of input ml_forecasts (inbound/ml_forecasts) panicked", "injected panic at load.input"},
			map[string]string{"load": "failed", "refresh": "ok", "export": "ok"}, 3},
		{"pull", "pull", []string{"step pull panicked", "injected panic at pull"},
			map[string]string{"load": "ok", "pull": "failed", "refresh": "ok", "export": "ok"}, 9},
		{"refresh", "refresh", []string{"step refresh panicked"},
			map[string]string{"refresh": "failed", "check": "skipped", "export": "skipped"}, 9},
		{"check", "check", []string{"step check panicked"},
			map[string]string{"refresh": "ok", "check": "failed", "export": "skipped"}, 9},
		{"export", "export", []string{"step export panicked"},
			map[string]string{"refresh": "ok", "export": "failed"}, 9},
	}
	for _, tc := range cases {
		t.Run(tc.point, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := pgtest.New(t)
			w := newWorkdir(t, nil)
			p := start(t, w, db.URL, []string{"NOVAWH_FAULT_PANIC_AT=" + tc.point}, "run", "--json")
			if code := p.wait(t); code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, p.Stderr())
			}
			if strings.Contains(p.Stderr(), "goroutine 1 [running]") && !strings.Contains(p.Stderr(), "panicked (a bug") {
				t.Fatalf("the process crashed:\n%s", p.Stderr())
			}
			var status, failedStep, errText string
			var stepsJSON []byte
			if err := db.Pool.QueryRow(ctx, `SELECT status, coalesce(failed_step, ''), coalesce(error, ''), steps FROM meta.runs WHERE run_id = 1`).
				Scan(&status, &failedStep, &errText, &stepsJSON); err != nil {
				t.Fatal(err)
			}
			if status != "failed" || failedStep != tc.failedStep {
				t.Fatalf("meta.runs: status %s, failed_step %s (want failed, %s); error %s", status, failedStep, tc.failedStep, errText)
			}
			for _, part := range tc.errParts {
				if !strings.Contains(errText, part) {
					t.Errorf("meta.runs.error %q lacks %q", errText, part)
				}
			}
			var steps []struct{ Name, Status, Error string }
			if err := json.Unmarshal(stepsJSON, &steps); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, s := range steps {
				got[s.Name] = s.Status
			}
			for name, want := range tc.steps {
				if got[name] != want {
					t.Errorf("step %s is %q, want %q (steps %v)", name, got[name], want, got)
				}
			}
			var loaded int
			if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM meta.loads WHERE status = 'loaded'`).Scan(&loaded); err != nil || loaded != tc.loaded {
				t.Errorf("%d inputs loaded (%v), want %d", loaded, err, tc.loaded)
			}
			// The next run, without the hook, completes.
			runOK(t, w, db.URL)
		})
	}
}

// The production binary has no fault hook: built without -tags
// faultinject, it contains neither the variables' names nor the hook's
// messages, and a pause point set in the environment is ignored.
func TestProductionBuildHasNoHook(t *testing.T) {
	t.Parallel()
	prod, err := testbin.Build()
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{prod: false, binPath: true} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"NOVAWH_FAULT_PAUSE_AT", "NOVAWH_FAULT_PANIC_AT", "novawh-fault: paused at"} {
			if got := bytes.Contains(b, []byte(s)); got != want {
				t.Errorf("%s contains %q: %v, want %v", path, s, got, want)
			}
		}
	}
	db := pgtest.New(t)
	w := newWorkdir(t, nil)
	p := startBin(t, prod, w, db.URL, []string{"NOVAWH_FAULT_PAUSE_AT=run.locked", "NOVAWH_FAULT_PANIC_AT=refresh"}, "run")
	if code := p.wait(t); code != 0 || strings.Contains(p.Stderr(), "novawh-fault") {
		t.Fatalf("production binary with the hook's variables: exit %d\n%s", code, p.Stderr())
	}
}
