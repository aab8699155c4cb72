package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/testbin"
)

// writeForecastCSV writes n rows in the benchmark's 11-column shape and
// returns the file's size.
func writeForecastCSV(tb testing.TB, path string, n int, seed int) int64 {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "item_id,site_id,date,forecast,lower,upper,actual,model_version,generated_at,source,dataset_id")
	day0 := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	x := uint64(seed)*2654435761 + 1
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		fc := float64(x%100000) / 1000
		d := day0.AddDate(0, 0, (i/5000)%1095)
		fmt.Fprintf(w, "I%04d,%d,%s,%.2f,%.2f,%.2f,%.1f,v1.2,2025-11-01T00:00:00Z,arima,ds-2511\n",
			i%5000, i%200, d.Format(time.DateOnly), fc, fc*0.9, fc*1.1, fc*1.05)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	st, _ := f.Stat()
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return st.Size()
}

// TestKillMidFile SIGKILLs a `novawh load` while its COPY is running and
// checks that no row of the file is visible and no load is recorded as
// loaded; the next run loads the file completely and drops leftovers.
func TestKillMidFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and writes a 40 MB file")
	}
	t.Parallel()
	bin := testbin.Path(t)
	for _, streams := range []int{1, 2} {
		t.Run(fmt.Sprintf("streams=%d", streams), func(t *testing.T) {
			db := pgtest.New(t)
			ctx := context.Background()
			file := filepath.Join(t.TempDir(), "forecasts.csv")
			const rows = 500_000
			writeForecastCSV(t, file, rows, streams)
			args := []string{"--database-url", db.URL, "--log-file", "", "load", "--source", "ml_forecasts",
				"--streams", fmt.Sprint(streams), file}
			cmd := exec.Command(bin, args...)
			cmd.Dir = repoRoot(t)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// Generous bounds: a busy machine is slow, and these are not timings.
			deadline := time.Now().Add(5 * time.Minute)
			for {
				var copied int64
				if err := db.Pool.QueryRow(ctx, `SELECT coalesce(sum(tuples_processed), 0) FROM pg_stat_progress_copy WHERE datname = current_database()`).Scan(&copied); err != nil {
					t.Fatal(err)
				}
				if copied >= 20_000 {
					break
				}
				select {
				case err := <-exited:
					t.Fatalf("load finished before it could be killed (%v): %s", err, stderr.String())
				default:
				}
				if time.Now().After(deadline) {
					t.Fatal("COPY never started")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-exited
			// The server notices the dead client and aborts its transactions.
			for stop := time.Now().Add(2 * time.Minute); ; {
				var busy int64
				if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_progress_copy WHERE datname = current_database()`).Scan(&busy); err != nil {
					t.Fatal(err)
				}
				if busy == 0 {
					break
				}
				if time.Now().After(stop) {
					t.Fatal("COPY still running 2 minutes after the kill")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.ml_forecasts`); n != 0 {
				t.Errorf("%d rows visible in bronze after the kill", n)
			}
			if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM meta.loads WHERE status IN ('loaded', 'running')`); n != 0 {
				t.Errorf("%d loaded/running meta.loads rows after the kill", n)
			}
			// Run again: everything loads once, nothing is left over.
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("second run: %v\n%s", err, out)
			}
			if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM bronze.ml_forecasts`); n != rows {
				t.Errorf("%d rows after the second run, want %d", n, rows)
			}
			if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM meta.loads WHERE status = 'loaded' AND rows_loaded = $1`, rows); n != 1 {
				t.Errorf("%d loaded meta.loads rows, want 1", n)
			}
			if n := scalar[int64](t, db.Pool, `SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
				WHERE s.nspname = 'bronze_loads' AND c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)`); n != 0 {
				t.Errorf("%d unattached load stages left", n)
			}
		})
	}
}

// TestCLIJSON checks `novawh load --json`: the output shape, the exit
// status when a file fails, and that the help text documents the flags.
func TestCLIJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := testbin.Path(t)
	db := pgtest.New(t)
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, append([]string{"--database-url", db.URL, "--log-file", ""}, args...)...)
		cmd.Dir = repoRoot(t)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}
	meta := []string{"--model-version", "v9", "--generated-at", "2025-11-11T06:00:00Z", "--ml-source", "prophet", "--dataset-id", "d1"}
	out, stderr, code := run(append(append([]string{"load", "--json", "--source", "ml_forecasts"}, meta...),
		corpus(t, "good.csv"), corpus(t, "empty.csv"), corpus(t, "negative.csv"))...)
	if code != 1 {
		t.Errorf("exit %d with a failed file, want 1; stderr %s", code, stderr)
	}
	if !strings.Contains(stderr, "novawh: error: 1 of 3 files failed") {
		t.Errorf("stderr: %s", stderr)
	}
	var doc map[string][]map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	loads := doc["loads"]
	if len(doc) != 1 || len(loads) != 3 {
		t.Fatalf("JSON %s", out)
	}
	want := []string{"file", "load_id", "rows_loaded", "rows_read", "rows_rejected", "source", "status"}
	statuses := map[string]string{}
	for _, l := range loads {
		var keys []string
		for k := range l {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		exp := want
		if l["status"] == "failed" {
			exp = []string{"error", "file", "load_id", "rows_loaded", "rows_read", "rows_rejected", "source", "status"}
		}
		if strings.Join(keys, ",") != strings.Join(exp, ",") {
			t.Errorf("keys %v, want %v", keys, exp)
		}
		statuses[filepath.Base(l["file"].(string))] = l["status"].(string)
		if l["status"] == "loaded" && l["rows_read"].(float64) != l["rows_loaded"].(float64)+l["rows_rejected"].(float64) {
			t.Errorf("unbalanced: %v", l)
		}
	}
	if statuses["good.csv"] != "loaded" || statuses["empty.csv"] != "failed" || statuses["negative.csv"] != "loaded" {
		t.Errorf("statuses %v", statuses)
	}
	// Again: the loaded files are skipped, exit 0 when nothing fails.
	out, _, code = run(append(append([]string{"load", "--json", "--source", "ml_forecasts"}, meta...), corpus(t, "good.csv"))...)
	if code != 0 || !strings.Contains(out, `"status": "skipped"`) {
		t.Errorf("second load: exit %d %s", code, out)
	}
	_, stderr, code = run("load", "--source", "nope", corpus(t, "good.csv"))
	if code != 2 || !strings.Contains(stderr, `unknown source "nope"`) {
		t.Errorf("unknown source: exit %d %s", code, stderr)
	}
	help, _, code := run("load", "--help")
	for _, f := range []string{"--source", "--force", "--json", "--max-reject-ratio", "--model-version", "--generated-at", "--ml-source", "--dataset-id", "--as-of", "--streams", "meta.json"} {
		if !strings.Contains(help, f) {
			t.Errorf("help lacks %s (exit %d)", f, code)
		}
	}
}

// A panic on the producer goroutine of `novawh load` (injected in a
// -tags faultinject build) fails that file only: the command exits 1 (not
// Go's crash code 2), the other files load, and meta.loads says why.
func TestCLIPanicExitsOne(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := testbin.PathTags(t, testbin.TagFaultInject)
	db := pgtest.New(t)
	dir := t.TempDir()
	for i, name := range []string{"a.csv", "b.csv", "c.csv"} {
		writeSmallForecasts(t, filepath.Join(dir, name), i)
	}
	cmd := exec.Command(bin, "--database-url", db.URL, "--log-file", "", "load", "--json", "--source", "ml_forecasts",
		"--model-version", "v", "--generated-at", "2025-11-11T06:00:00Z", "--ml-source", "s", "--dataset-id", "d", dir)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "NOVAWH_FAULT_PANIC_AT=load.producer#2")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1; stderr:\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "goroutine ") && strings.Contains(stderr.String(), "[running]") {
		t.Fatalf("the process crashed:\n%s", stderr.String())
	}
	var doc struct {
		Loads []Result `json:"loads"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil || len(doc.Loads) != 3 {
		t.Fatalf("stdout %s: %v", stdout.String(), err)
	}
	var got []string
	for _, r := range doc.Loads {
		got = append(got, filepath.Base(r.File)+" "+r.Status)
	}
	if strings.Join(got, ", ") != "a.csv loaded, b.csv failed, c.csv loaded" {
		t.Fatalf("results %v", got)
	}
	msg := scalar[string](t, db.Pool, `SELECT error FROM meta.loads WHERE status = 'failed' AND file_name = $1`, filepath.Join(dir, "b.csv"))
	if !strings.Contains(msg, "internal error: panic in the csv reader: novawh-fault: injected panic at load.producer") {
		t.Fatalf("meta.loads error %q", msg)
	}
}
