package fault

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pglocal"
	"github.com/novacorrente/novawh/internal/pgtest"
)

// An uninterrupted run twice on a fresh database equals the reference
// (the second run loads nothing new) and `novawh status` reports it.
func TestRerunIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	w := newWorkdir(t, nil)
	runOK(t, w, db.URL)
	p := runOK(t, w, db.URL, "--json")
	var rep struct {
		Status string `json:"status"`
		Steps  []struct {
			Name   string           `json:"name"`
			Counts map[string]int64 `json:"counts"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(p.stdout.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, p.stdout.String())
	}
	for _, s := range rep.Steps {
		if s.Name == "load" && (s.Counts["files_skipped"] != s.Counts["files"] || s.Counts["files"] == 0) {
			t.Fatalf("second run loaded again: %v", s.Counts)
		}
	}
	compare(t, ctx, db.Pool, w.Export)
	st := start(t, w, db.URL, nil, "status")
	if code := st.wait(t); code != 0 || !strings.Contains(st.stdout.String(), "LAST RUNS") || !strings.Contains(st.stdout.String(), "ml_forecasts") {
		t.Fatalf("status: exit %d\n%s%s", code, st.stdout.String(), st.Stderr())
	}
}

// kill -9 at named points and at timed moments inside load, refresh and
// export; the next run converges to the reference.
func TestKillAndRerun(t *testing.T) {
	t.Parallel()
	getReference(t)
	cases := []struct {
		name  string
		point string
		after time.Duration // < 0: kill while paused; else resume, then kill after this long
	}{
		{"before the second load source", "load.source#2", -1},
		{"after every load", "load.done", -1},
		{"before refresh", "refresh", -1},
		{"before export", "export", -1},
		{"after export", "export.done", -1},
		{"before recording the outcome", "run.finish", -1},
		{"inside the first load source", "load.source#1", 15 * time.Millisecond},
		{"inside the third load source", "load.source#3", 5 * time.Millisecond},
		{"early in refresh", "refresh", 2 * time.Millisecond},
		{"later in refresh", "refresh", 25 * time.Millisecond},
		{"early in export", "export", 5 * time.Millisecond},
		{"later in export", "export", 40 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := pgtest.New(t)
			w := newWorkdir(t, nil)
			p := start(t, w, db.URL, []string{"NOVAWH_FAULT_PAUSE_AT=" + tc.point}, "run")
			p.waitPaused(t, strings.Split(tc.point, "#")[0])
			if tc.after >= 0 {
				p.resume()
				time.Sleep(tc.after)
			}
			p.kill(t)
			runOK(t, w, db.URL)
			compare(t, ctx, db.Pool, w.Export)
			var running, abandoned int
			if err := db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'running'), count(*) FILTER (WHERE status = 'abandoned') FROM meta.runs`).Scan(&running, &abandoned); err != nil {
				t.Fatal(err)
			}
			// The killed run (every kill point is after its meta.runs row) is marked
			// abandoned by the rerun.
			if running != 0 || abandoned != 1 {
				t.Fatalf("meta.runs: %d running, %d abandoned", running, abandoned)
			}
		})
	}
}

// PostgreSQL restarted while a run is paused before refresh: that run
// fails with one clear line, the next one completes.
func TestPostgresRestartMidRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := pglocal.New(pglocal.Options{Dir: dir})
	if err != nil {
		t.Skipf("no local PostgreSQL: %v", err)
	}
	if err := srv.Start(ctx, false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Remove(context.Background()) })
	url := srv.URL("postgres")
	w := newWorkdir(t, nil)
	mig := start(t, w, url, nil, "migrate", "up")
	if code := mig.wait(t); code != 0 {
		t.Fatalf("migrate up: %d %s", code, mig.Stderr())
	}
	p := start(t, w, url, []string{"NOVAWH_FAULT_PAUSE_AT=refresh"}, "run")
	p.waitPaused(t, "refresh")
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx, false); err != nil {
		t.Fatal(err)
	}
	p.resume()
	if code := p.wait(t); code != 1 {
		t.Fatalf("exit %d after a restart, want 1; stderr:\n%s", code, p.Stderr())
	}
	last := lastLine(p.Stderr())
	if !strings.HasPrefix(last, "novawh: error: run 1 failed at step refresh: lost the database connection") {
		t.Fatalf("last line %q", last)
	}
	runOK(t, w, url)
	pool := openPool(t, url)
	compare(t, ctx, pool, w.Export)
	var status string
	if err := pool.QueryRow(ctx, "SELECT status FROM meta.runs WHERE run_id = 1").Scan(&status); err != nil || (status != "failed" && status != "abandoned") {
		t.Fatalf("run 1 is %q (%v)", status, err)
	}
}

// Two runs at once: the second exits at once with code 0 and a message;
// a third with --wait runs after the first; nothing is duplicated.
func TestConcurrentRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	w := newWorkdir(t, nil)
	first := start(t, w, db.URL, []string{"NOVAWH_FAULT_PAUSE_AT=load.source#2"}, "run")
	first.waitPaused(t, "load.source")
	second := start(t, w, db.URL, nil, "run")
	if code := second.wait(t); code != 0 || !strings.Contains(second.stdout.String(), "skipped: run 1 (started") {
		t.Fatalf("second run: exit %d, stdout %q, stderr %s", code, second.stdout.String(), second.Stderr())
	}
	third := start(t, w, db.URL, nil, "run", "--wait", "2m")
	time.Sleep(700 * time.Millisecond)
	select {
	case <-third.done:
		t.Fatalf("the waiting run did not wait: exit %d\n%s", third.code, third.Stderr())
	default:
	}
	first.resume()
	if code := first.wait(t); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, first.Stderr())
	}
	if code := third.wait(t); code != 0 {
		t.Fatalf("third run: exit %d\n%s", code, third.Stderr())
	}
	compare(t, ctx, db.Pool, w.Export)
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM meta.runs WHERE status = 'ok'").Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d ok runs (%v), want 2", n, err)
	}
}

// A corrupt file among good ones: the good ones load, the bad one is
// reported, the exit code is 1, and the alert reaches the webhook.
func TestCorruptFileAlerts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	var mu sync.Mutex
	var bodies []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &m) != nil {
			http.Error(rw, "want JSON", http.StatusBadRequest)
			return
		}
		mu.Lock()
		bodies = append(bodies, m)
		mu.Unlock()
	}))
	defer hook.Close()
	w := newWorkdir(t, func(dir string) {
		// Not a CSV: binary garbage with a .csv name, next to good forecasts.
		bad := []byte("\x00\x01PK\x03\x04\xff\xfe garbage \x00 not,a\"csv\n\x00\x00")
		if err := os.WriteFile(filepath.Join(dir, "inbound/ml_forecasts/itemZZ_CORRUPT_site9.csv"), bad, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	p := start(t, w, db.URL, []string{"NOVAWH_ALERT_WEBHOOK=" + hook.URL + "/services/T0/B0/tok"}, "run", "--export-to", w.Export)
	code := p.wait(t)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, p.Stderr())
	}
	last := lastLine(p.Stderr())
	if !strings.Contains(last, "failed at step load") || !strings.Contains(last, "itemZZ_CORRUPT_site9.csv") {
		t.Fatalf("last stderr line %q", last)
	}
	var loaded, failed int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'loaded'), count(*) FILTER (WHERE status = 'failed' AND file_name LIKE '%CORRUPT%')
		FROM meta.loads`).Scan(&loaded, &failed); err != nil {
		t.Fatal(err)
	}
	if loaded != 9 || failed != 1 {
		t.Fatalf("meta.loads: %d loaded (want 9: 2 ERP + 6 forecasts + 1 inventory), %d corrupt failed (want 1)", loaded, failed)
	}
	// The good data still reached gold and the export, as in the reference.
	compare(t, ctx, db.Pool, w.Export)
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 {
		t.Fatalf("%d alerts, want 1", len(bodies))
	}
	text, _ := bodies[0]["text"].(string)
	for _, want := range []string{"novawh run 1", "FAILED (exit 1) at step load", "itemZZ_CORRUPT_site9.csv"} {
		if !strings.Contains(text, want) {
			t.Errorf("alert text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "tok") && strings.Contains(text, "/services/") {
		t.Errorf("alert leaks the webhook: %s", text)
	}
}

// The export folder fills up: the run fails with a clear error and the
// previous export stays as it was. A tiny tmpfs is used when it can be
// mounted (root with CAP_SYS_ADMIN, as in CI); otherwise a folder made
// read-only (effective for non-root users). When neither works (root
// without CAP_SYS_ADMIN), the export target is a path below a regular file
// (ENOTDIR) and only the clear error is checked.
func TestExportDiskFull(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	w := newWorkdir(t, nil)
	exp := filepath.Join(t.TempDir(), "exp")
	if err := os.MkdirAll(exp, 0o755); err != nil {
		t.Fatal(err)
	}
	mode := "tmpfs"
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", exp).CombinedOutput(); err != nil {
		mode = "read-only"
		if os.Geteuid() == 0 {
			mode = "enotdir"
		}
		t.Logf("tmpfs not mountable (%v: %s): using %s", err, strings.TrimSpace(string(out)), mode)
	} else {
		t.Cleanup(func() { _ = exec.Command("umount", "-l", exp).Run() })
	}
	runOK(t, w, db.URL, "--export-to", exp)
	before := exportSums(t, exp)
	target := exp
	switch mode {
	case "tmpfs":
		// Leave a few KiB free.
		var st syscall.Statfs_t
		if err := syscall.Statfs(exp, &st); err != nil {
			t.Fatal(err)
		}
		free := int64(st.Bavail)*int64(st.Bsize) - 8<<10
		f, err := os.Create(filepath.Join(exp, "filler"))
		if err != nil {
			t.Fatal(err)
		}
		_, werr := f.Write(make([]byte, free))
		f.Close()
		if werr != nil {
			t.Fatalf("filling the tmpfs: %v", werr)
		}
		before = exportSums(t, exp)
	case "read-only":
		filepath.Walk(exp, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.IsDir() {
				_ = os.Chmod(p, 0o555)
			}
			return nil
		})
		t.Cleanup(func() {
			filepath.Walk(exp, func(p string, info os.FileInfo, err error) error {
				if err == nil && info.IsDir() {
					_ = os.Chmod(p, 0o755)
				}
				return nil
			})
		})
	case "enotdir":
		blocker := filepath.Join(w.Dir, "blocker")
		if err := os.WriteFile(blocker, []byte("a file, not a folder"), 0o644); err != nil {
			t.Fatal(err)
		}
		target = filepath.Join(blocker, "exports")
	}
	p := start(t, w, db.URL, nil, "run", "--export-to", target, "--full")
	if code := p.wait(t); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, p.Stderr())
	}
	last := lastLine(p.Stderr())
	wantErr := map[string]string{"tmpfs": "no space left on device", "read-only": "permission denied", "enotdir": "not a directory"}[mode]
	if !strings.HasPrefix(last, "novawh: error: run 2 failed at step export: export to") || !strings.Contains(last, wantErr) {
		t.Fatalf("last line %q, want the export step's error with %q", last, wantErr)
	}
	if mode != "enotdir" {
		diffMaps(t, "export after a failed export", before, exportSums(t, exp))
	}
	if mode == "tmpfs" {
		// Space again: the next run publishes the same export as before.
		if err := os.Remove(filepath.Join(exp, "filler")); err != nil {
			t.Fatal(err)
		}
		runOK(t, w, db.URL, "--export-to", exp, "--full")
		got := exportSums(t, exp)
		delete(before, "(files)")
		delete(got, "(files)")
		diffMaps(t, "export after space was freed", before, got)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
