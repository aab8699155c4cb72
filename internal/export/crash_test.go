package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/novacorrente/novawh/internal/pgtest"
	"github.com/novacorrente/novawh/internal/testbin"
)

func novawhExport(bin, url string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, append([]string{"export", "--database-url", url, "--log-file", ""}, args...)...)
	cmd.Env = append(os.Environ(), "NOVAWH_LOG_FILE=")
	return cmd
}

// TestCrashSafety kills `novawh export` (SIGKILL) in the middle of an
// incremental export: the published export stays consistent the whole time,
// and a re-run produces exactly what an uninterrupted export produces.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	bin := testbin.Path(t)
	db := pgtest.New(t)
	seedGold(t, db.Pool, seed{day0: day0, days: 90, items: 60, sites: 10})
	root := filepath.Join(t.TempDir(), "exports")
	if out, err := novawhExport(bin, db.URL, "--to", root).CombinedOutput(); err != nil {
		t.Fatalf("first export: %v\n%s", err, out)
	}
	checkConsistent(t, root)
	before := snapshotFiles(t, filepath.Join(root, "gold"))

	// A refresh rewrites every day of the two large tables.
	last := day0.AddDate(0, 0, 89).Format(time.DateOnly)
	execSQL(t, db, `UPDATE gold.fact_forecast SET forecast = forecast + 0.5`)
	execSQL(t, db, `UPDATE gold.agg_forecast_rolling SET forecast_avg_7d = forecast_avg_7d + 0.25`)
	execSQL(t, db, `INSERT INTO meta.gold_changes (table_name, date_from, date_to) VALUES
		('gold.agg_forecast_rolling', $1, $2), ('gold.fact_forecast', $1, $2)`, day0.Format(time.DateOnly), last)

	// Kill the export once the first table is published and the next one is
	// being written, checking the published export while it runs.
	cmd := novawhExport(bin, db.URL, "--to", root)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	aggManifest := filepath.Join(root, "gold", "agg_forecast_rolling", ManifestName)
	oldAgg := before["agg_forecast_rolling/"+ManifestName].sha
	killed := false
	checks := 0
	deadline := time.Now().Add(2 * time.Minute)
	for !killed {
		select {
		case err := <-done:
			t.Fatalf("the export finished (%v) before it could be killed: make the seed larger\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("no moment to kill the export found")
		}
		if checks%20 == 0 {
			checkConsistent(t, root)
		}
		checks++
		published := fileSHA(t, aggManifest) != oldAgg
		if published && tmpParquet(t, root, "fact_forecast") {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
		time.Sleep(2 * time.Millisecond)
	}
	err := <-done
	if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("export was not killed: %v", err)
	}
	checkConsistent(t, root)
	after := snapshotFiles(t, filepath.Join(root, "gold"))
	for p, fi := range before {
		if strings.HasPrefix(p, "fact_forecast/") && after[p] != fi {
			t.Fatalf("%s changed although the export was killed before publishing fact_forecast", p)
		}
	}

	// Re-run, and export the same data uninterrupted into a fresh folder.
	if out, err := novawhExport(bin, db.URL, "--to", root, "--json").Output(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	} else {
		var res Result
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("--json output: %v\n%s", err, out)
		}
		if tr := tableResult(t, res, "gold.fact_forecast"); tr.Mode != "incremental" || tr.FilesWritten != 90 {
			t.Fatalf("re-run fact_forecast: %+v", tr)
		}
	}
	fresh := filepath.Join(t.TempDir(), "exports")
	if out, err := novawhExport(bin, db.URL, "--to", fresh).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted export: %v\n%s", err, out)
	}
	got, want := snapshotFiles(t, filepath.Join(root, "gold")), snapshotFiles(t, filepath.Join(fresh, "gold"))
	if len(got) != len(want) {
		t.Fatalf("%d files after the re-run, %d in an uninterrupted export", len(got), len(want))
	}
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			t.Fatalf("%s missing after the re-run", p)
		case strings.HasSuffix(p, ManifestName):
			if a, b := manifestWithoutTime(t, filepath.Join(root, "gold", p)), manifestWithoutTime(t, filepath.Join(fresh, "gold", p)); a != b {
				t.Fatalf("%s differs:\n%s\n%s", p, a, b)
			}
		case g.sha != w.sha:
			t.Fatalf("%s differs after the re-run", p)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(root, tmpDirName)); len(entries) != 0 {
		t.Fatalf("temporary folders left: %v", entries)
	}
	var interrupted int
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM meta.export_runs WHERE status = 'failed' AND error LIKE 'interrupted%'`).Scan(&interrupted); err != nil {
		t.Fatal(err)
	}
	if interrupted != 1 {
		t.Fatalf("%d runs marked interrupted, want 1", interrupted)
	}
	verifyExport(t, db.Pool, root, "day")
}

// checkConsistent is what a reader of the published export sees: every
// manifest's files exist with their size and sha256, and no other Parquet
// file sits in a table folder. A reader racing with a publish may read a
// manifest and then the files of the next version: like any reader it
// retries, and only a lasting inconsistency fails.
func checkConsistent(t testing.TB, root string) {
	t.Helper()
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = consistent(root); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal(err)
}

func consistent(root string) error {
	tables, err := os.ReadDir(filepath.Join(root, "gold"))
	if err != nil {
		return err
	}
	for _, e := range tables {
		dir := filepath.Join(root, "gold", e.Name())
		b, err := os.ReadFile(filepath.Join(dir, ManifestName))
		if err != nil {
			return err
		}
		m, err := ParseManifest(b, dir)
		if err != nil {
			return err
		}
		listed := map[string]bool{}
		for _, f := range m.Files {
			p := filepath.Join(dir, filepath.FromSlash(f.Path))
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if sha256Hex(b) != f.SHA256 {
				return fmt.Errorf("%s does not match its manifest", p)
			}
			listed[filepath.ToSlash(f.Path)] = true
		}
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() == ManifestName {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			if !listed[filepath.ToSlash(rel)] {
				return fmt.Errorf("%s is not in the manifest", p)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func fileSHA(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256Hex(b)
}

// tmpParquet reports whether a version of table is being written.
func tmpParquet(t testing.TB, root, table string) bool {
	entries, _ := os.ReadDir(filepath.Join(root, tmpDirName))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "gold."+table+".") {
			continue
		}
		found := false
		_ = filepath.WalkDir(filepath.Join(root, tmpDirName, e.Name()), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
				found = true
				return fs.SkipAll
			}
			return nil
		})
		if found {
			return true
		}
	}
	return false
}

func manifestWithoutTime(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "exported_at")
	out, _ := json.Marshal(m)
	return string(out)
}
